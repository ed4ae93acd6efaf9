"""志愿服务活动: activities, their shifts, and volunteers' signups.

Capacity is the database's job: a shift keeps `confirmed_count`, raised only by a conditional
UPDATE (... WHERE confirmed_count < capacity) and bounded by a CHECK, so that no number of
simultaneous signups can confirm more volunteers than there are places.
"""

from __future__ import annotations

import enum
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import SHANGHAI, UTCDateTime, str_enum, utcnow
from portal.extensions import db


class ActivityState(enum.StrEnum):
    published = "published"
    cancelled = "cancelled"

    @property
    def title(self) -> str:
        return str({ActivityState.published: _l("Published"),
                    ActivityState.cancelled: _l("Cancelled")}[self])


class SignupState(enum.StrEnum):
    confirmed = "confirmed"
    waitlisted = "waitlisted"
    cancelled = "cancelled"
    checked_in = "checked_in"
    completed = "completed"

    @property
    def title(self) -> str:
        return str({SignupState.confirmed: _l("Confirmed"),
                    SignupState.waitlisted: _l("On the waiting list"),
                    SignupState.cancelled: _l("Cancelled"),
                    SignupState.checked_in: _l("Checked in"),
                    SignupState.completed: _l("Completed")}[self])


# Signups that hold a place (and so count against capacity and clash with other shifts).
HOLDING = (SignupState.confirmed, SignupState.checked_in, SignupState.completed)


class Activity(db.Model):
    __tablename__ = "activities"
    __table_args__ = (sa.Index("ix_activities_community_status", "community_code", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    community_code: Mapped[str] = mapped_column(sa.ForeignKey("areas.code"))
    service_type: Mapped[str] = mapped_column(sa.String(32))
    skills: Mapped[list] = mapped_column(sa.JSON, default=list)
    location: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    min_age: Mapped[int | None] = mapped_column(sa.Integer)
    # Whom volunteers call about it (the organiser's contact when not given).
    contact_name: Mapped[str | None] = mapped_column(sa.String(100))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(20))
    # Signups for a shift close this many hours before it starts (0: until it starts).
    signup_closes_hours: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    # 条例 Art. 17: a risky activity opens for signup only once insurance is recorded.
    risky: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    insurance: Mapped[str | None] = mapped_column(sa.String(500))
    insured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[ActivityState] = mapped_column(str_enum(ActivityState, 16),
                                                  default=ActivityState.published)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A call-out's activity (应急动员): the coordinator who called it organises and records it,
    # beside the usual organisers.
    coordinator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                     ondelete="SET NULL"))

    shifts: Mapped[list[Shift]] = relationship(
        back_populates="activity", order_by="Shift.starts_at", lazy="selectin",
        cascade="all, delete-orphan")
    org = relationship("Org", lazy="joined")
    community = relationship("Area", lazy="joined")

    def signups_close_at(self, shift: Shift) -> datetime:
        return shift.starts_at - timedelta(hours=self.signup_closes_hours or 0)

    @property
    def signups_open(self) -> bool:
        return self.status is ActivityState.published and (not self.risky
                                                            or self.insured_at is not None)

    def to_dict(self, *, shifts: bool = True, organiser: bool = False,
                waitlist_counts: dict | None = None) -> dict:
        data = {
            "id": self.id, "title": self.title, "org_id": self.org_id,
            "project_id": self.project_id,
            "community_code": self.community_code, "service_type": self.service_type,
            "skills": list(self.skills or []), "location": self.location,
            "description": self.description, "min_age": self.min_age, "risky": self.risky,
            "contact_name": self.contact_name, "contact_phone": self.contact_phone,
            "signup_closes_hours": self.signup_closes_hours,
            "insured": self.insured_at is not None, "signups_open": self.signups_open,
            "status": self.status.value, "created_at": self.created_at.isoformat(),
        }
        if shifts:
            data["shifts"] = [s.to_dict(organiser=organiser, waitlist_counts=waitlist_counts)
                              for s in self.shifts]
        return data


class Shift(db.Model):
    __tablename__ = "shifts"
    __table_args__ = (
        sa.CheckConstraint("capacity > 0", name="capacity_positive"),
        sa.CheckConstraint("confirmed_count >= 0 AND confirmed_count <= capacity",
                           name="never_overbooked"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.Index("ix_shifts_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("activities.id", ondelete="CASCADE"),
                                             index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(sa.Integer)
    waitlist: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    confirmed_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    check_in_code: Mapped[str] = mapped_column(
        sa.String(8), default=lambda: f"{secrets.randbelow(10**6):06d}")
    # Cancelled by the organiser (its volunteers were told); `revision` counts the changes of
    # its times that volunteers were told of (a calendar's SEQUENCE).
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    revision: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")

    activity: Mapped[Activity] = relationship(back_populates="shifts")

    @staticmethod
    def waitlist_counts(shift_ids) -> dict[int, int]:
        """Waiting signups of many shifts in one GROUP BY (lists must not count shift by
        shift)."""
        if not shift_ids:
            return {}
        return dict(db.session.execute(
            sa.select(Signup.shift_id, sa.func.count()).where(
                Signup.shift_id.in_(list(shift_ids)), Signup.status == SignupState.waitlisted)
            .group_by(Signup.shift_id)).all())

    def waitlist_count(self) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(Signup).where(
            Signup.shift_id == self.id, Signup.status == SignupState.waitlisted)) or 0

    def local(self, when: datetime) -> datetime:
        return when.astimezone(SHANGHAI)

    def to_dict(self, *, organiser: bool = False, waitlist_counts: dict | None = None) -> dict:
        waiting = waitlist_counts.get(self.id, 0) if waitlist_counts is not None \
            else self.waitlist_count()
        data = {"id": self.id, "activity_id": self.activity_id,
                "starts_at": self.local(self.starts_at).isoformat(),
                "ends_at": self.local(self.ends_at).isoformat(), "capacity": self.capacity,
                "waitlist": self.waitlist, "confirmed_count": self.confirmed_count,
                "waitlist_count": waiting, "cancelled": self.cancelled_at is not None}
        if organiser:
            data["check_in_code"] = self.check_in_code
        return data


class Signup(db.Model):
    __tablename__ = "signups"
    __table_args__ = (
        # One live signup per volunteer and shift, decided by the database.
        sa.Index("uq_signups_live", "shift_id", "volunteer_id", unique=True,
                 sqlite_where=sa.text("status != 'cancelled'"),
                 postgresql_where=sa.text("status != 'cancelled'")),
        sa.Index("ix_signups_shift_status", "shift_id", "status", "id"),
        sa.Index("ix_signups_volunteer_status", "volunteer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(sa.ForeignKey("shifts.id", ondelete="CASCADE"))
    volunteer_id: Mapped[int] = mapped_column(sa.ForeignKey("volunteers.id"))
    status: Mapped[SignupState] = mapped_column(str_enum(SignupState, 16))
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    shift: Mapped[Shift] = relationship(lazy="joined")
    volunteer = relationship("Volunteer", lazy="joined")

    def waitlist_position(self) -> int | None:
        """The current place in the queue (1 is promoted next), in arrival order."""
        if self.status is not SignupState.waitlisted:
            return None
        return db.session.scalar(sa.select(sa.func.count()).select_from(Signup).where(
            Signup.shift_id == self.shift_id, Signup.status == SignupState.waitlisted,
            Signup.id <= self.id))

    def to_dict(self) -> dict:
        return {"id": self.id, "shift_id": self.shift_id, "volunteer_id": self.volunteer_id,
                "status": self.status.value, "waitlist_position": self.waitlist_position(),
                "created_at": self.created_at.isoformat()}


def _register() -> None:
    from portal.core.audit import register_object, register_states

    register_states(ActivityState, SignupState)

    @register_object("activity")
    def _activity_area(object_id: str) -> str | None:
        from portal.core.db import parse_id

        activity = db.session.get(Activity, parse_id(object_id) or 0)
        return activity.community_code if activity is not None else None


_register()
