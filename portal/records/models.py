"""志愿服务记录与证明: service records, correction requests and certificates.

《志愿服务记录与证明出具办法(试行)》: whoever organised the activity records the service and
approves it; only actual service time counts; the same hour is never counted twice; an approved
record is never edited in place (an amendment keeps the old value, who and why, in the audit
trail, which is append-only); a certificate is a frozen snapshot, numbered, revocable, and
verifiable by anyone.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from portal.core.db import SHANGHAI, UTCDateTime, parse_id, str_enum, utcnow
from portal.extensions import db


class RecordState(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"

    @property
    def title(self) -> str:
        return str({RecordState.pending: _l("Awaiting approval"),
                    RecordState.approved: _l("Approved"),
                    RecordState.rejected: _l("Rejected")}[self])


# Records that count (or may come to count): the same hour may be in only one of them.
COUNTING = (RecordState.pending, RecordState.approved)


class ServiceRecord(db.Model):
    """志愿服务记录: one stretch of actual service by one volunteer, in whole minutes."""

    __tablename__ = "service_records"
    __table_args__ = (
        sa.CheckConstraint("minutes >= 0", name="minutes_not_negative"),
        sa.CheckConstraint("ended_at > started_at", name="ends_after_start"),
        sa.Index("ix_service_records_volunteer_status", "volunteer_id", "status"),
        sa.Index("ix_service_records_volunteer_started", "volunteer_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(sa.ForeignKey("volunteers.id"))
    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("activities.id"), index=True)
    org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    signup_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signups.id"), unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    minutes: Mapped[int] = mapped_column(sa.Integer)
    content: Mapped[str | None] = mapped_column(sa.Text)
    place: Mapped[str | None] = mapped_column(sa.String(200))
    beneficiaries: Mapped[str | None] = mapped_column(sa.String(200))  # 服务对象
    leader: Mapped[str | None] = mapped_column(sa.String(50))  # 活动负责人
    evaluation: Mapped[str | None] = mapped_column(sa.String(500))  # 服务评价
    status: Mapped[RecordState] = mapped_column(str_enum(RecordState, 16),
                                                default=RecordState.pending)
    reason: Mapped[str | None] = mapped_column(sa.Text)  # why it was rejected
    recorded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                  ondelete="SET NULL"))
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    volunteer = relationship("Volunteer", lazy="joined")
    activity = relationship("Activity", lazy="joined")
    recorder = relationship("User", foreign_keys=[recorded_by], lazy="select")

    @property
    def hours(self) -> str:
        return hours_text(self.minutes)

    def to_dict(self) -> dict:
        return {"id": self.id, "volunteer_id": self.volunteer_id,
                "activity_id": self.activity_id, "org_id": self.org_id,
                "signup_id": self.signup_id,
                "started_at": self.started_at.astimezone(SHANGHAI).isoformat(),
                "ended_at": self.ended_at.astimezone(SHANGHAI).isoformat(),
                "minutes": self.minutes, "status": self.status.value,
                "content": self.content, "place": self.place,
                "beneficiaries": self.beneficiaries, "leader": self.leader,
                "evaluation": self.evaluation, "reason": self.reason,
                "recorded_by": self.recorded_by,
                "decided_at": self.decided_at.astimezone(SHANGHAI).isoformat()
                if self.decided_at else None}


def hours_text(minutes: int | None) -> str:
    """Minutes as hours with one decimal, rounded half-up (99.5, never 99.49999)."""
    return tenths_text(((minutes or 0) * 10 + 30) // 60)


def tenths_text(tenths: int) -> str:
    """Tenths of an hour as printed: 995 is "99.5" (whole numbers, no float on the way)."""
    return f"{tenths // 10}.{tenths % 10}"


class CorrectionState(enum.StrEnum):
    open = "open"
    accepted = "accepted"
    declined = "declined"

    @property
    def title(self) -> str:
        return str({CorrectionState.open: _l("Awaiting an answer"),
                    CorrectionState.accepted: _l("Accepted"),
                    CorrectionState.declined: _l("Declined")}[self])


class CorrectionRequest(db.Model):
    """A volunteer asks the organiser to correct a record (with a reason); the organiser answers.

    One open request per record (a partial unique index)."""

    __tablename__ = "correction_requests"
    __table_args__ = (
        sa.Index("uq_correction_requests_open", "record_id", unique=True,
                 sqlite_where=sa.text("status = 'open'"),
                 postgresql_where=sa.text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("service_records.id"), index=True)
    minutes: Mapped[int | None] = mapped_column(sa.Integer)  # what the volunteer believes
    reason: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[CorrectionState] = mapped_column(str_enum(CorrectionState, 16),
                                                    default=CorrectionState.open)
    answer: Mapped[str | None] = mapped_column(sa.Text)
    requested_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                   ondelete="SET NULL"))
    answered_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                  ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    record = relationship(ServiceRecord, lazy="joined")

    def to_dict(self) -> dict:
        return {"id": self.id, "record_id": self.record_id, "minutes": self.minutes,
                "reason": self.reason, "status": self.status.value, "answer": self.answer,
                "created_at": self.created_at.astimezone(SHANGHAI).isoformat(),
                "answered_at": self.answered_at.astimezone(SHANGHAI).isoformat()
                if self.answered_at else None}


class CertificateState(enum.StrEnum):
    pending = "pending"
    ready = "ready"
    failed = "failed"
    revoked = "revoked"

    @property
    def title(self) -> str:
        return str({CertificateState.pending: _l("Being prepared"),
                    CertificateState.ready: _l("Issued"),
                    CertificateState.failed: _l("Failed"),
                    CertificateState.revoked: _l("Revoked")}[self])


class Certificate(db.Model):
    """志愿服务记录证明. `snapshot` is the issued content, frozen when the PDF is built."""

    __tablename__ = "certificates"
    __table_args__ = (
        # Asking twice for the same period while one is pending returns the pending one.
        sa.Index("uq_certificates_pending", "volunteer_id", "period_from", "period_to",
                 "issuer_key", unique=True,
                 sqlite_where=sa.text("status = 'pending'"),
                 postgresql_where=sa.text("status = 'pending'")),
        sa.CheckConstraint("period_to >= period_from", name="period_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(sa.String(32), unique=True)
    volunteer_id: Mapped[int] = mapped_column(sa.ForeignKey("volunteers.id"), index=True)
    org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    issuer_key: Mapped[str] = mapped_column(sa.String(24))  # "all" or "org:<id>"
    period_from: Mapped[date] = mapped_column(sa.Date)
    period_to: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[CertificateState] = mapped_column(str_enum(CertificateState, 16),
                                                     default=CertificateState.pending)
    approved_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    snapshot: Mapped[dict | None] = mapped_column(sa.JSON)
    pdf: Mapped[bytes | None] = deferred(mapped_column(sa.LargeBinary))
    job_id: Mapped[str | None] = mapped_column(sa.String(36))
    error: Mapped[str | None] = mapped_column(sa.Text)
    requested_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                   ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    revoke_reason: Mapped[str | None] = mapped_column(sa.Text)

    volunteer = relationship("Volunteer", lazy="joined")
    org = relationship("Org", lazy="joined")

    @property
    def issuer(self) -> str | None:
        return (self.snapshot or {}).get("issuer", {}).get("name")

    def period(self) -> dict:
        return {"from": self.period_from.isoformat(), "to": self.period_to.isoformat()}

    def to_dict(self) -> dict:
        from flask import url_for

        return {"id": self.id, "serial": self.serial, "status": self.status.value,
                "volunteer_id": self.volunteer_id, "org_id": self.org_id,
                "approved_minutes": self.approved_minutes, "period": self.period(),
                "issuer": self.issuer, "job_id": self.job_id,
                "issued_at": self.issued_at.astimezone(SHANGHAI).isoformat()
                if self.issued_at else None,
                "revoked_at": self.revoked_at.astimezone(SHANGHAI).isoformat()
                if self.revoked_at else None,
                "revoke_reason": self.revoke_reason,
                "pdf_url": url_for("records_api.certificate_pdf", certificate_id=self.id)
                if self.status in (CertificateState.ready, CertificateState.revoked) else None,
                "verify_url": url_for("records.verify", serial=self.serial, _external=True)}


class NationalExport(db.Model):
    """What has gone to the national volunteer system (全国志愿服务信息系统), so that a second
    export of the same period repeats nothing: one row per (record, export)."""

    __tablename__ = "national_export_items"
    __table_args__ = (sa.UniqueConstraint("kind", "object_id", name="uq_national_export_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # "volunteer" or "record"
    object_id: Mapped[int] = mapped_column(sa.Integer)
    export_id: Mapped[int] = mapped_column(sa.ForeignKey("export_files.id"), index=True)
    exported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _register() -> None:
    from portal.core.audit import register_object, register_states

    register_states(RecordState, CorrectionState, CertificateState)

    @register_object("service_record")
    def _record_area(object_id: str) -> str | None:
        record = db.session.get(ServiceRecord, parse_id(object_id) or 0)
        return record.activity.community_code if record is not None else None

    @register_object("certificate")
    def _certificate_area(object_id: str) -> str | None:
        cert = db.session.get(Certificate, parse_id(object_id) or 0)
        return cert.volunteer.community_code if cert is not None else None



class ExportFile(db.Model):
    """An export for the national volunteer system: made by a job, kept for download."""

    __tablename__ = "export_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str | None] = mapped_column(sa.String(36), unique=True)
    area_code: Mapped[str] = mapped_column(sa.ForeignKey("areas.code"))
    period_from: Mapped[date] = mapped_column(sa.Date)
    period_to: Mapped[date] = mapped_column(sa.Date)
    volunteers: Mapped[int | None] = mapped_column(sa.Integer)
    records: Mapped[int | None] = mapped_column(sa.Integer)
    content: Mapped[bytes | None] = deferred(mapped_column(sa.LargeBinary))
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


_register()
