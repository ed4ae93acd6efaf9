"""需求清单: residents' needs, verified by the community, supported by neighbours, matched to the
resources that can meet them (activities, organisations, funds, projects) and resolved.

One support per person and need, one match per need and target, one citation per project and
need: unique indexes, so that a hundred requests at once cannot make two. `supporters` is kept
on the need (a count maintained in the same transaction as the support it counts), so that the
public list sorts by support without counting.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import UTCDateTime, parse_id, str_enum, utcnow
from portal.extensions import db


class NeedState(enum.StrEnum):
    submitted = "submitted"
    verified = "verified"
    rejected = "rejected"
    matched = "matched"
    resolved = "resolved"
    merged = "merged"

    @property
    def title(self) -> str:
        return str({NeedState.submitted: _l("Awaiting verification"),
                    NeedState.verified: _l("Verified by the community"),
                    NeedState.rejected: _l("Not taken up"),
                    NeedState.matched: _l("Matched"), NeedState.resolved: _l("Resolved"),
                    NeedState.merged: _l("Merged into another need")}[self])


# Who sees a need without a token, and on /needs: the verified and later.
PUBLIC_STATES = (NeedState.verified, NeedState.matched, NeedState.resolved)
# The need's state machine (api-v1.md): any other move is 409.
NEED_MOVES = {
    NeedState.submitted: {NeedState.verified, NeedState.rejected, NeedState.merged},
    NeedState.verified: {NeedState.matched, NeedState.merged},
    NeedState.matched: {NeedState.resolved},
}


class Urgency(enum.StrEnum):
    normal = "normal"
    urgent = "urgent"

    @property
    def title(self) -> str:
        return str({Urgency.normal: _l("Normal"), Urgency.urgent: _l("Urgent")}[self])


class Channel(enum.StrEnum):
    online = "online"
    visit = "visit"
    phone = "phone"
    meeting = "meeting"

    @property
    def title(self) -> str:
        return str({Channel.online: _l("Posted online"), Channel.visit: _l("Home visit"),
                    Channel.phone: _l("By phone"),
                    Channel.meeting: _l("At a residents' meeting")}[self])


class MatchKind(enum.StrEnum):
    activity = "activity"
    org = "org"
    fund = "fund"
    project = "project"

    @property
    def title(self) -> str:
        return str({MatchKind.activity: _l("Volunteer activity"),
                    MatchKind.org: _l("Community social organisation"),
                    MatchKind.fund: _l("Community fund"),
                    MatchKind.project: _l("Project")}[self])


class Need(db.Model):
    __tablename__ = "needs"
    __table_args__ = (
        sa.CheckConstraint("people_affected >= 1", name="people_affected_positive"),
        sa.CheckConstraint("supporters >= 0", name="supporters_not_negative"),
        sa.Index("ix_needs_community_code_status", "community_code", "status"),
        sa.Index("ix_needs_status_category", "status", "category"),
        sa.Index("ix_needs_posted_by", "posted_by"),
        # The list's two orders (newest, most supported): a page is read off the index instead
        # of sorting every matching need (benchmarks/needs.py).
        sa.Index("ix_needs_created_at_id", "created_at", "id"),
        sa.Index("ix_needs_supporters_id", "supporters", "id"),
        # The dashboard's time-bound figures (stale, matched within 30 days) read only the
        # needs verified lately (off the index alone), and its median walks the matched ones
        # in order (the city's) or sorts an area's.
        sa.Index("ix_needs_verified_at", "verified_at", "community_code", "status",
                 "minutes_to_match"),
        sa.Index("ix_needs_minutes_to_match", "minutes_to_match", "community_code",
                 sqlite_where=sa.text("minutes_to_match IS NOT NULL"),
                 postgresql_where=sa.text("minutes_to_match IS NOT NULL")),
        sa.Index("ix_needs_community_minutes", "community_code", "minutes_to_match",
                 sqlite_where=sa.text("minutes_to_match IS NOT NULL"),
                 postgresql_where=sa.text("minutes_to_match IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_code: Mapped[str] = mapped_column(sa.ForeignKey("areas.code"))
    category: Mapped[str] = mapped_column(sa.String(32))  # a service type code
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    people_affected: Mapped[int] = mapped_column(sa.Integer, default=1)
    urgency: Mapped[Urgency] = mapped_column(str_enum(Urgency, 16), default=Urgency.normal)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 16), default=Channel.online)
    status: Mapped[NeedState] = mapped_column(str_enum(NeedState, 16),
                                              default=NeedState.submitted)
    # Who posted it: the resident, or the community worker for a resident who came in, phoned
    # or was visited (then the resident's name and phone, for the community's workers only).
    posted_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    for_name: Mapped[str | None] = mapped_column(sa.String(100))
    for_phone: Mapped[str | None] = mapped_column(sa.String(20))
    supporters: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    review_comment: Mapped[str | None] = mapped_column(sa.Text)   # verify comment / reject reason
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("needs.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    matched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # From verification to the first match, kept at the match: the dashboard's median and
    # "matched within 30 days" are then plain SQL on every database.
    minutes_to_match: Mapped[int | None] = mapped_column(sa.Integer)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # rejected or merged

    community = relationship("Area", lazy="joined")
    poster = relationship("User", lazy="select")
    matches: Mapped[list[NeedMatch]] = relationship(back_populates="need", lazy="select",
                                                    order_by="NeedMatch.id")


class NeedSupport(db.Model):
    """A neighbour who has the same need ("我也需要"): one per person and need."""

    __tablename__ = "need_supports"
    __table_args__ = (sa.UniqueConstraint("need_id", "user_id", name="uq_need_supports"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(sa.ForeignKey("needs.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NeedMatch(db.Model):
    """A resource recorded as meeting the need (社区派单): one per need and target."""

    __tablename__ = "need_matches"
    __table_args__ = (sa.UniqueConstraint("need_id", "kind", "target_id",
                                          name="uq_need_matches"),
                      sa.Index("ix_need_matches_kind_target", "kind", "target_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(sa.ForeignKey("needs.id", ondelete="CASCADE"))
    kind: Mapped[MatchKind] = mapped_column(str_enum(MatchKind, 16))
    target_id: Mapped[int] = mapped_column(sa.Integer)
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    need: Mapped[Need] = relationship(back_populates="matches")


class ProjectNeed(db.Model):
    """A need a project cites (it answers it): publishing the project matches the need, closing
    the project resolves it."""

    __tablename__ = "project_needs"
    __table_args__ = (sa.UniqueConstraint("project_id", "need_id", name="uq_project_needs"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    need_id: Mapped[int] = mapped_column(sa.ForeignKey("needs.id", ondelete="CASCADE"),
                                         index=True)


def _register_audit_objects() -> None:
    from portal.core.audit import OBJECT_PAGES, OBJECT_TITLES, register_object, register_states

    register_states(NeedState)
    OBJECT_PAGES["need"] = ("needs.need_show", "need_id")
    OBJECT_TITLES["need"] = _l("Need")

    @register_object("need")
    def _area(object_id: str) -> str | None:
        row = db.session.get(Need, parse_id(object_id) or 0)
        return row.community_code if row is not None else None


_register_audit_objects()


# "Matched within 30 days": minutes from verification to the first match.
MONTH_MINUTES = 30 * 24 * 60


class NeedTally(db.Model):
    """The needs of an area by status and category, for the city, each county, township and
    community: what the dashboard reads instead of counting every need (benchmarks/needs.py).

    Kept by database triggers on `needs` (the migration `need_tallies`), in the transaction
    that changes a need, whatever changes it: a tally cannot drift from its needs, and
    `flask --app portal needs check` proves it. Only the figures that do not depend on the
    day are kept; the dashboard subtracts the needs verified lately (an index range)."""
    __tablename__ = "need_tallies"
    __table_args__ = (
        sa.CheckConstraint("n >= 0 AND verified >= 0 AND quick >= 0 AND timed >= 0",
                           name="need_tallies_not_negative"),
    )

    area_code: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    n: Mapped[int] = mapped_column(sa.Integer, default=0)
    verified: Mapped[int] = mapped_column(sa.Integer, default=0)  # verified_at is set
    quick: Mapped[int] = mapped_column(sa.Integer, default=0)     # ... and matched within 30 days
    timed: Mapped[int] = mapped_column(sa.Integer, default=0)     # minutes_to_match is set
