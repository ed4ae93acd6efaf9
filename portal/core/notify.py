"""Notifications: written to an outbox in the transaction that causes them, delivered by a job
after the commit, through a pluggable adapter (NOTIFY_ADAPTER): `log` in development, `smtp`
for e-mail (SMTP_* settings); a row with `sms_to` also goes out by SMS, through the SMS
gateway. A row is delivered once; a failure is kept with its error.

The job drains the outbox (every row neither sent nor failed, oldest first): one transaction
asks for it once however many rows it adds, and with Redis at most one drain waits in the queue
however many transactions ask, so a burst of signups costs the worker one job, not one each.
"""

from __future__ import annotations

import functools
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
        # The outbox's queue: the rows still to deliver, so a drain never scans the sent ones.
        sa.Index("ix_notifications_unsent", "id",
                 sqlite_where=sa.text("sent_at IS NULL AND error IS NULL"),
                 postgresql_where=sa.text("sent_at IS NULL AND error IS NULL")),
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
    # Also by SMS, to this verified number (call-outs), through the SMS gateway.
    sms_to: Mapped[str | None] = mapped_column(sa.String(20))


def queue_notification(user_id: int | None, kind: str, subject_key: str, title: str,
                       body: str, sms_to: str | None = None) -> int | None:
    """Add to the outbox (idempotent per kind and subject: one INSERT ... ON CONFLICT DO
    NOTHING) and deliver after the commit. The new row's id, or None if it was there."""
    connection = db.session.connection()  # a plain INSERT: no ORM objects to track
    note_id = connection.scalar(_insert_new(connection.dialect.name),
                                {**outbox_row(user_id, kind, subject_key, title, body),
                                 "sms_to": sms_to})
    if note_id is not None:
        deliver_after_commit()
    return note_id


def tell(user_id: int | None, kind: str, subject_key: str, heading, text,
         sms_to: str | None = None, **values) -> int | None:
    """A notification in its reader's language: `heading` and `text` are lazy strings
    (`lazy_gettext`), formatted with `values` under the user's locale. Once per kind and
    subject, like queue_notification."""
    from flask_babel import force_locale

    from portal.core.i18n import DEFAULT
    from portal.core.users import User

    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    with force_locale((user.locale if user else None) or DEFAULT):
        return queue_notification(user_id, kind, subject_key, str(heading).format(**values),
                                  str(text).format(**values), sms_to=sms_to)


def outbox_row(user_id: int | None, kind: str, subject_key, title: str, body: str) -> dict:
    """A notification's column values (for a statement that inserts the row itself: then call
    `deliver_after_commit`)."""
    return {"user_id": user_id, "kind": kind, "subject_key": subject_key, "title": title[:200],
            "body": body, "created_at": utcnow()}


def deliver_after_commit() -> None:
    """The outbox has a new row: drain it once this transaction commits."""
    from portal.core.jobs import after_commit

    after_commit(deliver_outbox, coalesce="deliver_outbox")


_INSERT_NEW: dict[str, sa.Insert] = {}


def _insert_new(dialect: str) -> sa.Insert:
    """INSERT ... ON CONFLICT (kind, subject_key) DO NOTHING RETURNING id, built once."""
    if dialect not in _INSERT_NEW:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        columns = ("user_id", "kind", "subject_key", "title", "body", "created_at", "sms_to")
        _INSERT_NEW[dialect] = (
            insert(Notification).values({c: sa.bindparam(c) for c in columns})
            .on_conflict_do_nothing(index_elements=["kind", "subject_key"])
            .returning(Notification.id))
    return _INSERT_NEW[dialect]


BATCH = 100


def deliver_outbox() -> dict:
    """Job: deliver every notification neither sent nor failed, oldest first, a batch per
    transaction. A batch is claimed by one statement that marks its rows sent and returns them
    (PostgreSQL: the rows are chosen FOR UPDATE SKIP LOCKED, so two drains share the work and
    never send a row twice); a row whose delivery fails gets its error instead. Nothing is
    kept if the job dies halfway: the transaction rolls back and the rows wait again."""
    counts = {"sent": 0, "failed": 0}
    adapter = ADAPTERS[current_app.config.get("NOTIFY_ADAPTER", "log")]
    while True:
        notes = sorted(db.session.execute(_claim_batch(), {"now": utcnow()}).all(),
                       key=lambda note: note.id)
        failed = []
        for note in notes:
            error = _attempt(note, adapter)
            if error:
                failed.append({"note_id": note.id, "error": error})
        if failed:
            db.session.execute(_MARK_FAILED, failed)
        counts["failed"] += len(failed)
        counts["sent"] += len(notes) - len(failed)
        db.session.commit()
        if len(notes) < BATCH:
            return counts


_TABLE = Notification.__table__
# Statements built once (each drain runs them; a statement reused skips its construction).
_MARK_FAILED = (_TABLE.update().where(_TABLE.c.id == sa.bindparam("note_id"))
                .values(sent_at=None, error=sa.bindparam("error")))


@functools.cache
def _claim_batch() -> sa.Update:
    unsent = (sa.select(_TABLE.c.id)
              .where(_TABLE.c.sent_at.is_(None), _TABLE.c.error.is_(None))
              .order_by(_TABLE.c.id).limit(BATCH).with_for_update(skip_locked=True))
    return (_TABLE.update().where(_TABLE.c.id.in_(unsent.scalar_subquery()))
            .values(sent_at=sa.bindparam("now"))
            .returning(_TABLE.c.id, _TABLE.c.user_id, _TABLE.c.kind, _TABLE.c.title,
                       _TABLE.c.body, _TABLE.c.sms_to))


def _attempt(note, adapter) -> str | None:
    """Hand one notification to the adapter: None, or why it failed."""
    from portal.core.sms_gateways import SmsUnavailable, gateway

    try:
        adapter(note)
        if note.sms_to and current_app.config.get("SMS_ADAPTER", "log") != "none":
            gateway().send(note.sms_to, "notice", {"text": f"{note.title}。{note.body}"[:300]})
    except (OSError, smtplib.SMTPException, SmsUnavailable) as exc:
        return f"{type(exc).__name__}: {exc}"[:1000]
    except Exception as exc:  # a bad row must not stop the drain behind it
        log.exception("notification %s could not be sent", note.id)
        return f"{type(exc).__name__}: {exc}"[:1000]
    return None


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
