"""政府购买服务 and 公益创投: the catalogue, projects, bids, expert review, award, milestones and
the final performance evaluation (财政部令第102号).

Money is Numeric(14, 2) (yuan), never a float. One bid per organisation and project, one score
sheet per reviewer and bid, one reviewer assignment per project: unique indexes, so that a
hundred simultaneous requests cannot make two.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import SHANGHAI, UTCDateTime, iso, parse_id, str_enum, utcnow  # noqa: F401
from portal.core.money import money  # noqa: F401 (the projects' modules import it from here)
from portal.core.uploads import StoredFileColumns
from portal.extensions import db

Money = sa.Numeric(14, 2)


class ProjectKind(enum.StrEnum):
    government_purchase = "government_purchase"
    venture_philanthropy = "venture_philanthropy"

    @property
    def title(self) -> str:
        return str({ProjectKind.government_purchase: _l("Government purchase of services"),
                    ProjectKind.venture_philanthropy: _l("Venture philanthropy")}[self])


class ProjectState(enum.StrEnum):
    draft = "draft"
    open = "open"
    reviewing = "reviewing"
    awarded = "awarded"
    in_progress = "in_progress"
    closed = "closed"
    cancelled = "cancelled"

    @property
    def title(self) -> str:
        return str({ProjectState.draft: _l("Draft"), ProjectState.open: _l("Open for bids"),
                    ProjectState.reviewing: _l("Under expert review"),
                    ProjectState.awarded: _l("Awarded"),
                    ProjectState.in_progress: _l("In progress"),
                    ProjectState.closed: _l("Closed"),
                    ProjectState.cancelled: _l("Cancelled")}[self])


class CatalogueItem(db.Model):
    """目录清单: a service the government may buy in a year (published by the bureau)."""

    __tablename__ = "catalogue_items"
    __table_args__ = (sa.UniqueConstraint("area_code", "year", "name",
                                          name="uq_catalogue_items_area_year_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_code: Mapped[str] = mapped_column(sa.ForeignKey("areas.code"))
    year: Mapped[int] = mapped_column(sa.Integer)
    name: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[str] = mapped_column(sa.String(100))
    unit: Mapped[str] = mapped_column(sa.String(50))  # 计量单位
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def to_dict(self) -> dict:
        return {"id": self.id, "area_code": self.area_code, "year": self.year,
                "name": self.name, "category": self.category, "unit": self.unit,
                "published": self.published_at is not None,
                "published_at": iso(self.published_at)}


class Project(db.Model):
    __tablename__ = "projects"
    __table_args__ = (
        sa.CheckConstraint("budget > 0", name="budget_positive"),
        sa.Index("ix_projects_area_status", "area_code", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[ProjectKind] = mapped_column(str_enum(ProjectKind, 32))
    area_code: Mapped[str] = mapped_column(sa.ForeignKey("areas.code"))
    year: Mapped[int] = mapped_column(sa.Integer)
    catalogue_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("catalogue_items.id"))
    budget: Mapped[Decimal] = mapped_column(Money)
    description: Mapped[str | None] = mapped_column(sa.Text)
    service_targets: Mapped[str | None] = mapped_column(sa.Text)
    contract_months: Mapped[int | None] = mapped_column(sa.Integer)
    tiers: Mapped[list] = mapped_column(sa.JSON, default=list)  # 公益创投: [{name, max_amount}]
    bid_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    allow_filed: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    blind_review: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    status: Mapped[ProjectState] = mapped_column(str_enum(ProjectState, 16),
                                                 default=ProjectState.draft)
    awarded_bid_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("bids.id", use_alter=True, name="fk_projects_awarded_bid_id_bids"))
    award_amount: Mapped[Decimal | None] = mapped_column(Money)
    contract_start: Mapped[date | None] = mapped_column(sa.Date)
    contract_end: Mapped[date | None] = mapped_column(sa.Date)
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    awarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="project", order_by="Criterion.position", lazy="selectin",
        cascade="all, delete-orphan")
    area = relationship("Area", lazy="joined")
    catalogue_item = relationship(CatalogueItem, lazy="joined")
    awarded_bid = relationship("Bid", foreign_keys=[awarded_bid_id], lazy="select",
                               post_update=True)

    def to_dict(self) -> dict:
        data = {
            "id": self.id, "title": self.title, "kind": self.kind.value,
            "area_code": self.area_code, "year": self.year,
            "catalogue_item_id": self.catalogue_item_id, "budget": money(self.budget),
            "description": self.description, "service_targets": self.service_targets,
            "contract_months": self.contract_months, "tiers": self.tiers or [],
            "bid_deadline": iso(self.bid_deadline), "allow_filed": self.allow_filed,
            "blind_review": self.blind_review, "status": self.status.value,
            "criteria": [{"name": c.name, "weight": c.weight} for c in self.criteria],
            "published_at": iso(self.published_at),
        }
        if self.awarded_bid_id is not None:  # 信息公开: the winner and the amount
            bid = self.awarded_bid
            data["award"] = {"bid_id": bid.id, "org_id": bid.org_id, "org_name": bid.org.name,
                             "amount": money(self.award_amount),
                             "contract_start": self.contract_start.isoformat()
                             if self.contract_start else None,
                             "contract_end": self.contract_end.isoformat()
                             if self.contract_end else None,
                             "awarded_at": iso(self.awarded_at)}
        return data


class Criterion(db.Model):
    """A review criterion with its weight; a project's weights sum to 100."""

    __tablename__ = "project_criteria"
    __table_args__ = (sa.UniqueConstraint("project_id", "name", name="uq_criteria_name"),
                      sa.CheckConstraint("weight > 0 AND weight <= 100", name="weight_range"))

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(sa.Integer)
    name: Mapped[str] = mapped_column(sa.String(100))
    weight: Mapped[int] = mapped_column(sa.Integer)

    project = relationship(Project, back_populates="criteria")


class BidState(enum.StrEnum):
    submitted = "submitted"
    withdrawn = "withdrawn"

    @property
    def title(self) -> str:
        return str({BidState.submitted: _l("Submitted"),
                    BidState.withdrawn: _l("Withdrawn")}[self])


class Bid(db.Model):
    __tablename__ = "bids"
    __table_args__ = (
        # One bid per organisation and project (a withdrawn one frees the place).
        sa.Index("uq_bids_live", "project_id", "org_id", unique=True,
                 sqlite_where=sa.text("status = 'submitted'"),
                 postgresql_where=sa.text("status = 'submitted'")),
        sa.CheckConstraint("requested_amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    requested_amount: Mapped[Decimal] = mapped_column(Money)
    tier: Mapped[str | None] = mapped_column(sa.String(100))
    proposal: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[BidState] = mapped_column(str_enum(BidState, 16), default=BidState.submitted)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    project = relationship(Project, foreign_keys=[project_id], lazy="joined")
    org = relationship("Org", lazy="joined")
    attachments: Mapped[list[BidAttachment]] = relationship(
        back_populates="bid", lazy="selectin", order_by="BidAttachment.id")

    def to_dict(self, *, blind: bool = False) -> dict:
        data = {"id": self.id, "project_id": self.project_id,
                "org_id": None if blind else self.org_id,
                "org_name": None if blind else self.org.name,
                "requested_amount": money(self.requested_amount), "tier": self.tier,
                "proposal": self.proposal, "status": self.status.value,
                "created_at": iso(self.created_at), "updated_at": iso(self.updated_at),
                "attachments": [a.to_dict(blind=blind) for a in self.attachments]}
        return data


class BidAttachment(StoredFileColumns, db.Model):
    __tablename__ = "bid_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("bids.id", ondelete="CASCADE"),
                                        index=True)

    bid = relationship(Bid, back_populates="attachments")

    @property
    def neutral_name(self) -> str:
        """The name shown in a blind review: file names often carry the bidder's name."""
        ext = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}.get(
            self.content_type, "")
        return f"bid-{self.bid_id}-{self.id}{ext}"

    def to_dict(self, *, blind: bool = False) -> dict:
        return {"id": self.id, "filename": self.neutral_name if blind else self.filename,
                "content_type": self.content_type, "size": self.size,
                "uploaded_at": iso(self.uploaded_at)}


class PoolMember(db.Model):
    """The bureau's pool of expert reviewers (评审专家库), per area."""

    __tablename__ = "reviewer_pool"
    __table_args__ = (sa.UniqueConstraint("area_code", "user_id", name="uq_reviewer_pool"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_code: Mapped[str] = mapped_column(sa.ForeignKey("areas.code"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    field: Mapped[str | None] = mapped_column(sa.String(100))  # expertise
    added_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                               ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User", foreign_keys=[user_id], lazy="joined")


class Assignment(db.Model):
    """A reviewer assigned to a project (by hand or drawn at random)."""

    __tablename__ = "project_reviewers"
    __table_args__ = (sa.UniqueConstraint("project_id", "user_id",
                                          name="uq_project_reviewers"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    drawn: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    assigned_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                  ondelete="SET NULL"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User", foreign_keys=[user_id], lazy="joined")

    def to_dict(self) -> dict:
        return {"id": self.id, "project_id": self.project_id, "user_id": self.user_id,
                "username": self.user.username, "drawn": self.drawn,
                "assigned_at": iso(self.assigned_at)}


class ScoreSheet(db.Model):
    """One reviewer's sheet for one bid: a conflict of interest, or a score per criterion."""

    __tablename__ = "score_sheets"
    __table_args__ = (sa.UniqueConstraint("bid_id", "reviewer_id", name="uq_score_sheets"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("bids.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    conflict_of_interest: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    scores: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    weighted: Mapped[Decimal | None] = mapped_column(sa.Numeric(7, 4))  # Σ score × weight / 100
    comment: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reviewer = relationship("User", lazy="joined")

    def to_dict(self) -> dict:
        return {"id": self.id, "bid_id": self.bid_id, "reviewer_id": self.reviewer_id,
                "reviewer": self.reviewer.username,
                "conflict_of_interest": self.conflict_of_interest, "scores": self.scores,
                "weighted": float(self.weighted) if self.weighted is not None else None,
                "comment": self.comment, "created_at": iso(self.created_at)}


class MilestoneState(enum.StrEnum):
    due = "due"
    reported = "reported"
    accepted = "accepted"

    @property
    def title(self) -> str:
        return str({MilestoneState.due: _l("Due"), MilestoneState.reported: _l("Reported"),
                    MilestoneState.accepted: _l("Accepted")}[self])


class Milestone(db.Model):
    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    due_on: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[MilestoneState] = mapped_column(str_enum(MilestoneState, 16),
                                                   default=MilestoneState.due)
    report: Mapped[str | None] = mapped_column(sa.Text)
    report_key: Mapped[str | None] = mapped_column(sa.String(100))  # an attachment
    report_filename: Mapped[str | None] = mapped_column(sa.String(200))
    reported_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                  ondelete="SET NULL"))
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acceptance_comment: Mapped[str | None] = mapped_column(sa.Text)
    accepted_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                  ondelete="SET NULL"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    project = relationship(Project, lazy="joined")

    def to_dict(self) -> dict:
        return {"id": self.id, "project_id": self.project_id, "title": self.title,
                "due_on": self.due_on.isoformat(), "status": self.status.value,
                "report": self.report, "report_filename": self.report_filename,
                "reported_at": iso(self.reported_at),
                "acceptance_comment": self.acceptance_comment,
                "accepted_at": iso(self.accepted_at)}


class Evaluation(db.Model):
    """绩效评估: the final performance evaluation; one per project."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), unique=True)
    org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    score: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))
    grade: Mapped[str] = mapped_column(sa.String(8))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    evaluated_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                   ondelete="SET NULL"))
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def to_dict(self) -> dict:
        return {"project_id": self.project_id, "org_id": self.org_id,
                "score": float(self.score), "grade": self.grade, "comment": self.comment,
                "evaluated_at": iso(self.evaluated_at)}


def _register() -> None:
    from portal.core.audit import register_object, register_states

    register_states(ProjectState, BidState, MilestoneState)

    @register_object("project")
    def _project_area(object_id: str) -> str | None:
        project = db.session.get(Project, parse_id(object_id) or 0)
        return project.area_code if project is not None else None

    @register_object("catalogue")
    def _catalogue_area(object_id: str) -> str | None:
        item = db.session.get(CatalogueItem, parse_id(object_id) or 0)
        return item.area_code if item is not None else None


_register()
