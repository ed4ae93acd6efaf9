"""Uploaded files (organisations' documents, bids' attachments): PDF or images only, their type
read from their bytes, stored under UPLOAD_DIR (outside the web root) with a random name, and
removed again if the transaction that recorded them rolls back."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.core.db import UTCDateTime, utcnow
from portal.core.errors import TooLarge, ValidationFailed
from portal.extensions import db

SIGNATURES = {b"%PDF-": ("application/pdf", ".pdf"), b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
              b"\xff\xd8\xff": ("image/jpeg", ".jpg")}


def upload_dir() -> Path:
    path = Path(current_app.config.get("UPLOAD_DIR") or
                os.path.join(current_app.instance_path, "uploads"))
    path.mkdir(parents=True, exist_ok=True)
    return path


class StoredFileColumns:
    """The columns of a table that records stored files (a mixin for the model)."""

    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(50))
    size: Mapped[int] = mapped_column(sa.Integer)
    storage_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    uploaded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                  ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass
class Stored:
    storage_key: str
    filename: str
    content_type: str
    size: int


def check_upload(filename: str | None, content: bytes, limit_mb: int) -> tuple[str, str, str]:
    """(content_type, extension, safe file name), or 422/413 on the field `file`."""
    if not content:
        raise ValidationFailed.on("file", _("Choose a file."))
    if len(content) > limit_mb * 1024 * 1024:
        message = _("At most {n} MB.").format(n=limit_mb)
        raise TooLarge(message, {"file": [message]})
    detected = next((v for sig, v in SIGNATURES.items() if content.startswith(sig)), None)
    if detected is None:
        raise ValidationFailed.on("file", _("Only PDF, PNG or JPEG files."))
    safe_name = os.path.basename((filename or "document").replace("\\", "/"))[:200] \
        or "document"
    return detected[0], detected[1], safe_name


def store(filename: str | None, content: bytes, limit_mb: int) -> Stored:
    """Write the file; it is deleted again if the current transaction rolls back."""
    content_type, ext, safe_name = check_upload(filename, content, limit_mb)
    key = uuid.uuid4().hex + ext
    path = upload_dir() / key
    path.write_bytes(content)
    db.session.info.setdefault("files_to_remove_on_rollback", []).append(path)
    return Stored(key, safe_name, content_type, len(content))


def path_of(storage_key: str) -> Path:
    return upload_dir() / storage_key


@event.listens_for(Session, "after_rollback")
def _remove_orphan_files(session):
    if session.in_nested_transaction():
        return  # a SAVEPOINT rolled back: files stored before it may still be committed
    for path in session.info.pop("files_to_remove_on_rollback", []):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_commit")
def _keep_committed_files(session):
    if session.in_nested_transaction():
        return  # a SAVEPOINT released: the outer transaction may still roll back
    session.info.pop("files_to_remove_on_rollback", None)
