"""A call-out (应急动员) and the volunteers' answers to it.

The first `headcount` yes-answers are accepted and never more: every yes-answer and every
withdrawal takes the call-out's row lock (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the
IMMEDIATE transaction) and `accepted` is kept under a CHECK (accepted <= headcount). Later
yes-answers wait on standby in arrival order (their ids); a withdrawal accepts the first on
standby in the same transaction. One answer per volunteer (a unique constraint).

Check-out at the staging point makes a pending service record, as a shift's does: each call-out
has an activity of its own (service type 应急救援) that the records hang on, organised by the
call-out's coordinator.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import UTCDateTime, str_enum, utcnow
from portal.extensions import db

MAX_HEADCOUNT = 10_000


class CalloutState(enum.StrEnum):
    open = "open"
    filled = "filled"
    closed = "closed"

    @property
    def title(self) -> str:
        return str({CalloutState.open: _l("Calling"), CalloutState.filled: _l("Filled"),
                    CalloutState.closed: _l("Closed")}[self])


class AnswerState(enum.StrEnum):
    accepted = "accepted"
    standby = "standby"
    declined = "declined"
    withdrawn = "withdrawn"

    @property
    def title(self) -> str:
        return str({AnswerState.accepted: _l("Coming"), AnswerState.standby: _l("On standby"),
                    AnswerState.declined: _l("Cannot come"),
                    AnswerState.withdrawn: _l("Withdrew")}[self])


# The answers that still count: coming, or waiting for a place.
STILL_IN = (AnswerState.accepted, AnswerState.standby)


def subject_key(callout_id: int, user_id: int | None) -> str:
    """A call-out's notifications to one person (the outbox keeps one per kind and subject):
    "callout:<id>:<user>". Who was called is read back from it."""
    return f"callout:{callout_id}:{user_id}"


def called_id(key: str) -> int | None:
    """The call-out a subject key names (subject_key's inverse)."""
    parts = key.split(":")
    return int(parts[1]) if len(parts) == 3 and parts[0] == "callout" and parts[1].isdigit() \
        else None


class Callout(db.Model):
    __tablename__ = "callouts"
    __table_args__ = (
        sa.CheckConstraint(f"headcount BETWEEN 1 AND {MAX_HEADCOUNT}", name="headcount_range"),
        sa.CheckConstraint("accepted >= 0 AND accepted <= headcount", name="accepted_at_most"),
        sa.CheckConstraint("ends_at > needed_by", name="ends_after_needed"),
        sa.Index("ix_callouts_area_status", "area_code", "status"),
        sa.Index("ix_callouts_status_ends", "status", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(100))
    area_code: Mapped[str] = mapped_column(sa.ForeignKey("areas.code"))
    place: Mapped[str] = mapped_column(sa.String(200))
    skills: Mapped[list] = mapped_column(sa.JSON, default=list)
    headcount: Mapped[int] = mapped_column(sa.Integer)
    needed_by: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[CalloutState] = mapped_column(str_enum(CalloutState, 16),
                                                 default=CalloutState.open)
    accepted: Mapped[int] = mapped_column(sa.Integer, default=0)
    notified: Mapped[int] = mapped_column(sa.Integer, default=0)
    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("activities.id"), unique=True)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    area = relationship("Area")
    activity = relationship("Activity")

    def state(self, now: datetime | None = None) -> CalloutState:
        """Closed from its end on, whether or not the periodic step has marked it yet."""
        if self.status is not CalloutState.closed and self.ends_at <= (now or utcnow()):
            return CalloutState.closed
        return self.status


class CalloutResponse(db.Model):
    __tablename__ = "callout_responses"
    __table_args__ = (
        sa.UniqueConstraint("callout_id", "volunteer_id", name="uq_callout_responses_once"),
        sa.CheckConstraint("eta_minutes IS NULL OR eta_minutes BETWEEN 0 AND 1440",
                           name="eta_range"),
        sa.Index("ix_callout_responses_callout_status", "callout_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    callout_id: Mapped[int] = mapped_column(sa.ForeignKey("callouts.id"))
    volunteer_id: Mapped[int] = mapped_column(sa.ForeignKey("volunteers.id"), index=True)
    answer: Mapped[str] = mapped_column(sa.String(8))  # yes | no
    status: Mapped[AnswerState] = mapped_column(str_enum(AnswerState, 16))
    eta_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    record_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_records.id"))

    callout = relationship("Callout")
    volunteer = relationship("Volunteer")


def _register() -> None:
    from portal.core.audit import register_object, register_states

    register_states(CalloutState, AnswerState)

    @register_object("callout")
    def _area(object_id: str) -> str | None:
        callout = db.session.get(Callout, int(object_id)) if object_id.isdigit() else None
        return callout.area_code if callout else None


_register()
