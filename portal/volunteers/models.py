"""志愿者: real-name volunteers. The ID number is stored only encrypted, found by a keyed hash,
and shown masked; the public face of a volunteer is the volunteer number."""

from __future__ import annotations

import enum
import functools
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, lazyload, mapped_column, relationship

from portal.core.db import UTCDateTime, parse_id, str_enum, utcnow
from portal.extensions import db


class VolunteerState(enum.StrEnum):
    registered = "registered"
    verified = "verified"
    deleted = "deleted"

    @property
    def title(self) -> str:
        return str({VolunteerState.registered: _l("Registered"),
                    VolunteerState.verified: _l("Verified"),
                    VolunteerState.deleted: _l("Deleted")}[self])


ID_TYPE_TITLES = {
    "resident_id": _l("Resident identity card"),
    "passport": _l("Passport"),
    "hk_macao_permit": _l("Mainland travel permit for Hong Kong and Macao residents"),
    "taiwan_permit": _l("Mainland travel permit for Taiwan residents"),
}


class Volunteer(db.Model):
    __tablename__ = "volunteers"
    __table_args__ = (sa.Index("ix_volunteers_community_status", "community_code", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_code: Mapped[str | None] = mapped_column(sa.String(16), unique=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                unique=True)
    real_name: Mapped[str] = mapped_column(sa.String(50))
    id_type: Mapped[str] = mapped_column(sa.String(20))
    id_number_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    # HMAC of type and number: the duplicate check, decided by a unique index.
    id_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(sa.String(24))
    gender: Mapped[str | None] = mapped_column(sa.String(8))
    birth_date: Mapped[date | None] = mapped_column(sa.Date)
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    community_code: Mapped[str] = mapped_column(sa.ForeignKey("areas.code"))
    skills: Mapped[list] = mapped_column(sa.JSON, default=list)
    service_types: Mapped[list] = mapped_column(sa.JSON, default=list)
    availability: Mapped[list] = mapped_column(sa.JSON, default=list)
    guardian_name: Mapped[str | None] = mapped_column(sa.String(50))
    guardian_phone: Mapped[str | None] = mapped_column(sa.String(20))
    guardian_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The agreement and privacy policy the volunteer consented to, and when (个人信息保护法).
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_versions: Mapped[str | None] = mapped_column(sa.String(64))
    # The private address of the volunteer's calendar feed: the hash of its token only.
    calendar_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    status: Mapped[VolunteerState] = mapped_column(str_enum(VolunteerState, 16),
                                                   default=VolunteerState.registered)
    registered_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                    ondelete="SET NULL"))
    verified_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                  ondelete="SET NULL"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User", foreign_keys=[user_id])
    community = relationship("Area", lazy="joined")

    @classmethod
    def of_user(cls, user, *, lock: bool = False) -> Volunteer | None:
        """The volunteer record of a signed-in account, if it has one; `lock`: FOR UPDATE
        (held until the transaction ends)."""
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        return db.session.scalar(_of_user_locked() if lock else _OF_USER, {"user_id": user.id})

    def age_on(self, day: date) -> int | None:
        if self.birth_date is None:
            return None
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def to_dict(self) -> dict:
        return {
            "id": self.id, "volunteer_code": self.volunteer_code, "real_name": self.real_name,
            "id_type": self.id_type, "id_number_masked": self.id_number_masked,
            "gender": self.gender,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "phone": self.phone, "community_code": self.community_code,
            "skills": list(self.skills or []), "service_types": list(self.service_types or []),
            "availability": list(self.availability or []), "status": self.status.value,
            "guardian": {"name": self.guardian_name, "phone": self.guardian_phone,
                         "consent_at": self.guardian_consent_at.isoformat()}
            if self.guardian_consent_at else None,
            "user_id": self.user_id,
            "created_at": self.created_at.isoformat(),
        }


_OF_USER = sa.select(Volunteer).where(Volunteer.user_id == sa.bindparam("user_id"))


@functools.cache
def _of_user_locked() -> sa.Select:
    """For a signup, which needs neither the community's row nor the join. Built on first use:
    loader options need every mapper, which import time has not."""
    return (_OF_USER.options(lazyload(Volunteer.community))
            .with_for_update(of=Volunteer, key_share=True)  # as activities.services locks
            .execution_options(populate_existing=True))


def _register_audit_object() -> None:
    from portal.core.audit import register_object, register_states

    register_states(VolunteerState)

    @register_object("volunteer")
    def _area(object_id: str) -> str | None:
        volunteer = db.session.get(Volunteer, parse_id(object_id) or 0)
        return volunteer.community_code if volunteer is not None else None


_register_audit_object()


def _register_volunteer_counter() -> None:
    """Registered volunteers feed the dashboard's 'volunteers per 100 residents'."""
    from portal.core.areas import under
    from portal.orgs.queries import VOLUNTEER_COUNTERS

    def count(area_code: str) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(Volunteer).where(
            under(Volunteer.community_code, area_code),
            Volunteer.status != VolunteerState.deleted)) or 0

    VOLUNTEER_COUNTERS.append(count)


_register_volunteer_counter()
