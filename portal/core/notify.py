"""Notifications: written to an outbox in the transaction that causes them, delivered by a job
after the commit, through a pluggable adapter (NOTIFY_ADAPTER): `log` in development, `smtp`
for e-mail (SMTP_* settings). A row is delivered once; a failure is kept with its error."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import UTCDateTime, utcnow
from portal.extensions import db

log = logging.getLogger("portal.notify")


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        # One notification of a kind per subject (a reminder is never sent twice).
        sa.UniqueConstraint("kind", "subject_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject_key: Mapped[str] = mapped_column(sa.String(80))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(sa.Text)


def queue_notification(user_id: int | None, kind: str, subject_key: str, title: str,
                       body: str) -> Notification | None:
    """Add to the outbox (idempotent per kind and subject) and deliver after the commit."""
    from portal.core.jobs import enqueue

    exists = db.session.scalar(sa.select(Notification.id).where(
        Notification.kind == kind, Notification.subject_key == subject_key))
    if exists is not None:
        return None
    note = Notification(user_id=user_id, kind=kind, subject_key=subject_key, title=title[:200],
                        body=body)
    db.session.add(note)
    db.session.flush()
    enqueue(deliver, note.id)
    return note


def deliver(notification_id: int) -> str:
    """Job: send one notification through the configured adapter (safe to run twice)."""
    note = db.session.get(Notification, notification_id)
    if note is None or note.sent_at is not None:
        return "skipped"
    adapter = ADAPTERS[current_app.config.get("NOTIFY_ADAPTER", "log")]
    try:
        adapter(note)
    except (OSError, smtplib.SMTPException) as exc:
        note.error = f"{type(exc).__name__}: {exc}"[:1000]
        return "failed"
    note.sent_at, note.error = utcnow(), None
    return "sent"


def _log_adapter(note: Notification) -> None:
    log.info("notification %s to user %s: %s", note.kind, note.user_id, note.title)


def _smtp_adapter(note: Notification) -> None:
    from portal.core.users import User

    cfg = current_app.config
    user = db.session.get(User, note.user_id) if note.user_id else None
    address = getattr(user, "email", None)
    if not address:
        raise OSError("no e-mail address for this user")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = cfg["SMTP_FROM"], address, note.title
    message.set_content(note.body)
    with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=20) as smtp:
        if cfg.get("SMTP_STARTTLS"):
            smtp.starttls()
        if cfg.get("SMTP_USER"):
            smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"])
        smtp.send_message(message)


ADAPTERS = {"log": _log_adapter, "smtp": _smtp_adapter}
