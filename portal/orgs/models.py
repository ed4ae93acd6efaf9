"""社区社会组织: the registry, its documents and admins, and the incubation pipeline."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import UTCDateTime, parse_id, str_enum, utcnow
from portal.core.uploads import StoredFileColumns
from portal.extensions import db


class Titled(enum.StrEnum):
    """An enum whose members have a translated title in TITLES (set on the class below)."""

    @property
    def title(self) -> str:
        return str(type(self).TITLES()[self])


class OrgCategory(Titled):
    life_service = "life_service"
    charity = "charity"
    mutual_aid = "mutual_aid"
    culture_sports = "culture_sports"
    rural_tech = "rural_tech"
    community_affairs = "community_affairs"
    other = "other"

    @staticmethod
    def TITLES():  # noqa: N802
        return {
            OrgCategory.life_service: _l("Life services"),
            OrgCategory.charity: _l("Public welfare and charity"),
            OrgCategory.mutual_aid: _l("Residents' mutual aid"),
            OrgCategory.culture_sports: _l("Culture, sports and recreation"),
            OrgCategory.rural_tech: _l("Rural production technology services"),
            OrgCategory.community_affairs: _l("Community affairs"),
            OrgCategory.other: _l("Other"),
        }


class Registration(Titled):
    registered = "registered"  # 登记: a legal person with a USCC
    filed = "filed"            # 备案: filed with the township, no USCC

    @staticmethod
    def TITLES():  # noqa: N802
        return {Registration.registered: _l("Registered (legal person)"),
                Registration.filed: _l("Filed with the township")}


class LegalType(Titled):
    social_group = "social_group"
    private_non_enterprise = "private_non_enterprise"
    foundation = "foundation"
    other = "other"

    @staticmethod
    def TITLES():  # noqa: N802
        return {LegalType.social_group: _l("Social group"),
                LegalType.private_non_enterprise: _l("Private non-enterprise unit"),
                LegalType.foundation: _l("Foundation"),
                LegalType.other: _l("Other")}


class OrgState(Titled):
    pending = "pending"
    changes_requested = "changes_requested"
    active = "active"
    rejected = "rejected"
    suspended = "suspended"
    dissolved = "dissolved"

    @staticmethod
    def TITLES():  # noqa: N802
        return {OrgState.pending: _l("Awaiting review"),
                OrgState.changes_requested: _l("Changes requested"),
                OrgState.active: _l("Active"),
                OrgState.rejected: _l("Rejected"),
                OrgState.suspended: _l("Suspended"),
                OrgState.dissolved: _l("Dissolved")}


# The allowed moves of an organisation, and the review decision that makes each.
ORG_MOVES: dict[OrgState, set[OrgState]] = {
    OrgState.pending: {OrgState.active, OrgState.changes_requested, OrgState.rejected},
    OrgState.changes_requested: {OrgState.pending},           # the applicant resubmits
    OrgState.active: {OrgState.suspended, OrgState.dissolved},
    OrgState.suspended: {OrgState.active, OrgState.dissolved},
    OrgState.rejected: set(),
    OrgState.dissolved: set(),
}
DECISIONS = {"approve": OrgState.active, "reject": OrgState.rejected,
             "request_changes": OrgState.changes_requested}

RATINGS = ("1A", "2A", "3A", "4A", "5A")


class Org(db.Model):
    __tablename__ = "orgs"
    __table_args__ = (
        sa.Index("ix_orgs_status_community", "status", "community_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[OrgCategory] = mapped_column(str_enum(OrgCategory, 32))
    registration: Mapped[Registration] = mapped_column(str_enum(Registration, 16))
    uscc: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    legal_type: Mapped[LegalType | None] = mapped_column(str_enum(LegalType, 32))
    uscc_override_reason: Mapped[str | None] = mapped_column(sa.Text)
    # The code fails GB 32100 / GB 11714 but the applicant confirmed their certificate shows it.
    uscc_check_failed: Mapped[bool] = mapped_column(sa.Boolean, default=False,
                                                    server_default=sa.false())
    community_code: Mapped[str] = mapped_column(sa.ForeignKey("areas.code"), index=True)
    founded_on: Mapped[date | None] = mapped_column(sa.Date)
    contact_name: Mapped[str] = mapped_column(sa.String(100))
    contact_phone: Mapped[str] = mapped_column(sa.String(20))
    description: Mapped[str | None] = mapped_column(sa.Text)
    address: Mapped[str | None] = mapped_column(sa.String(200))  # where it meets or works
    rating: Mapped[str | None] = mapped_column(sa.String(2))  # 评估等级 1A–5A
    status: Mapped[OrgState] = mapped_column(str_enum(OrgState, 20), default=OrgState.pending)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    admins: Mapped[list[OrgAdmin]] = relationship(back_populates="org", lazy="selectin",
                                                  cascade="all, delete-orphan")
    community = relationship("Area", lazy="joined")

    def admin_ids(self) -> set[int]:
        return {a.user_id for a in self.admins}

    def to_dict(self, *, full: bool = True) -> dict:
        data = {
            "id": self.id, "name": self.name, "category": self.category.value,
            "registration": self.registration.value, "uscc": self.uscc,
            "legal_type": self.legal_type.value if self.legal_type else None,
            "community_code": self.community_code, "founded_on":
                self.founded_on.isoformat() if self.founded_on else None,
            "rating": self.rating, "status": self.status.value,
        }
        if full:
            data.update({"contact_name": self.contact_name, "contact_phone": self.contact_phone,
                         "description": self.description, "address": self.address,
                         "uscc_override_reason": self.uscc_override_reason,
                         "uscc_check_failed": self.uscc_check_failed,
                         "admins": sorted(self.admin_ids()),
                         "created_at": self.created_at.isoformat()})
        return data


class OrgAdmin(db.Model):
    __tablename__ = "org_admins"
    __table_args__ = (sa.UniqueConstraint("org_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    org: Mapped[Org] = relationship(back_populates="admins")
    user = relationship("User", lazy="joined")


class DocumentKind(Titled):
    charter = "charter"
    registration_certificate = "registration_certificate"
    other = "other"

    @staticmethod
    def TITLES():  # noqa: N802
        return {DocumentKind.charter: _l("Charter"),
                DocumentKind.registration_certificate: _l("Registration certificate"),
                DocumentKind.other: _l("Other document")}


class OrgDocument(StoredFileColumns, db.Model):
    """A charter or other document: the file lives under instance/uploads, never in static/."""

    __tablename__ = "org_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(str_enum(DocumentKind, 32))

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind.value, "filename": self.filename,
                "content_type": self.content_type, "size": self.size,
                "uploaded_at": self.uploaded_at.isoformat()}


# --- incubation ------------------------------------------------------------------------------

class Stage(Titled):
    applied = "applied"
    admitted = "admitted"
    incubating = "incubating"
    graduated = "graduated"
    rejected = "rejected"
    withdrawn = "withdrawn"

    @staticmethod
    def TITLES():  # noqa: N802
        return {Stage.applied: _l("Applied"), Stage.admitted: _l("Admitted"),
                Stage.incubating: _l("Incubating"), Stage.graduated: _l("Graduated"),
                Stage.rejected: _l("Rejected"), Stage.withdrawn: _l("Withdrawn")}


OPEN_STAGES = (Stage.applied, Stage.admitted, Stage.incubating)
STAGE_MOVES: dict[Stage, set[Stage]] = {
    Stage.applied: {Stage.admitted, Stage.rejected, Stage.withdrawn},
    Stage.admitted: {Stage.incubating, Stage.rejected, Stage.withdrawn},
    Stage.incubating: {Stage.graduated, Stage.withdrawn},
    Stage.graduated: set(), Stage.rejected: set(), Stage.withdrawn: set(),
}


class Incubation(db.Model):
    __tablename__ = "incubations"
    __table_args__ = (
        # One open application per organisation, decided by the database.
        sa.Index("uq_incubations_open_per_org", "org_id", unique=True,
                 sqlite_where=sa.text("stage IN ('applied', 'admitted', 'incubating')"),
                 postgresql_where=sa.text("stage IN ('applied', 'admitted', 'incubating')")),
        sa.Index("ix_incubations_stage", "stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    plan: Mapped[str] = mapped_column(sa.Text)
    stage: Mapped[Stage] = mapped_column(str_enum(Stage, 16), default=Stage.applied)
    stage_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    org: Mapped[Org] = relationship(lazy="joined")
    moves: Mapped[list[IncubationMove]] = relationship(
        back_populates="incubation", order_by="IncubationMove.id", lazy="selectin",
        cascade="all, delete-orphan")

    def days_in_stage(self, now: datetime | None = None) -> int:
        return ((now or utcnow()) - self.stage_since).days

    def to_dict(self, *, moves: bool = False) -> dict:
        data = {"id": self.id, "org_id": self.org_id, "org_name": self.org.name,
                "community_code": self.org.community_code, "plan": self.plan,
                "stage": self.stage.value, "stage_since": self.stage_since.isoformat(),
                "days_in_stage": self.days_in_stage(),
                "created_at": self.created_at.isoformat()}
        if moves:
            data["moves"] = [m.to_dict() for m in self.moves]
        return data


class IncubationMove(db.Model):
    __tablename__ = "incubation_moves"

    id: Mapped[int] = mapped_column(primary_key=True)
    incubation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("incubations.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[Stage | None] = mapped_column(str_enum(Stage, 16, "from_stage"))
    to_stage: Mapped[Stage] = mapped_column(str_enum(Stage, 16, "to_stage"))
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    by_name: Mapped[str | None] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    comment: Mapped[str | None] = mapped_column(sa.Text)

    incubation: Mapped[Incubation] = relationship(back_populates="moves")

    def to_dict(self) -> dict:
        return {"from": self.from_stage.value if self.from_stage else None,
                "to": self.to_stage.value, "by": self.by_name, "at": self.at.isoformat(),
                "comment": self.comment}


# --- social workers and community workers -----------------------------------------------------

class WorkerKind(Titled):
    community_worker = "community_worker"   # 社区工作者
    social_worker = "social_worker"         # 社会工作者 (at an organisation)

    @staticmethod
    def TITLES():  # noqa: N802
        return {WorkerKind.community_worker: _l("Community worker"),
                WorkerKind.social_worker: _l("Social worker")}


class Certificate(Titled):
    none = "none"
    assistant = "assistant"          # 助理社会工作师
    intermediate = "intermediate"    # 社会工作师
    senior = "senior"                # 高级社会工作师

    @staticmethod
    def TITLES():  # noqa: N802
        return {Certificate.none: _l("No certificate"),
                Certificate.assistant: _l("Assistant social worker"),
                Certificate.intermediate: _l("Social worker (intermediate)"),
                Certificate.senior: _l("Senior social worker")}


CERTIFIED = (Certificate.assistant, Certificate.intermediate, Certificate.senior)


class Worker(db.Model):
    """A social worker or community worker, employed by a community or an organisation.

    `area_code` is the employer's community (for an organisation, its home community): the
    indicators count by it, and scopes check it.
    """

    __tablename__ = "workers"
    __table_args__ = (
        sa.CheckConstraint("(employer_org_id IS NULL) <> (employer_community_code IS NULL)",
                           name="one_employer"),
        # Covers the indicators' aggregate: kind, then the area range, then what is summed.
        sa.Index("ix_workers_kind_area", "kind", "area_code", "active", "certificate"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    kind: Mapped[WorkerKind] = mapped_column(str_enum(WorkerKind, 20))
    certificate: Mapped[Certificate] = mapped_column(str_enum(Certificate, 16),
                                                     default=Certificate.none)
    employer_community_code: Mapped[str | None] = mapped_column(sa.ForeignKey("areas.code"))
    employer_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id",
                                                                      ondelete="CASCADE"))
    area_code: Mapped[str] = mapped_column(sa.ForeignKey("areas.code"))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    employer_org = relationship("Org", lazy="joined")

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "phone": self.phone, "kind": self.kind.value,
                "certificate": self.certificate.value,
                "employer_community_code": self.employer_community_code,
                "employer_org_id": self.employer_org_id, "area_code": self.area_code,
                "active": self.active}


# --- where each object lives, for reading its audit trail ------------------------------------

def _register_audit_objects() -> None:
    from portal.core.audit import register_object

    def by_id(model, area_of):
        def resolve(object_id: str) -> str | None:
            obj = db.session.get(model, parse_id(object_id) or 0)
            return area_of(obj) if obj is not None else None
        return resolve

    from portal.core.audit import register_states

    register_states(OrgState, Stage)
    register_object("org")(by_id(Org, lambda o: o.community_code))
    register_object("incubation")(by_id(Incubation, lambda i: i.org.community_code))
    register_object("worker")(by_id(Worker, lambda w: w.area_code))


_register_audit_objects()
