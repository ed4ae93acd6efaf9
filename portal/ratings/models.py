"""好差评 (国办发〔2019〕51号): a rating by someone who took part in a service, five levels, the
last two a 差评; every 差评 opens a rectification case (整改) for the party rated, due in working
days, which the rater reviews; the party may appeal (申诉) and the bureau may void the rating.

One rating per rater and object (a unique index: a hundred requests at once make one). The rater
is kept on the rating for the bureau only: nothing the rated party reads carries it. `month`
(Beijing's, as 202611) and the party rated are kept on the row, so that the monthly figures of
an organisation, a community or an area are indexed GROUP BYs.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import UTCDateTime, str_enum, utcnow
from portal.extensions import db


class RatedKind(enum.StrEnum):
    activity = "activity"
    org = "org"
    project = "project"
    need = "need"
    wish = "wish"

    @property
    def title(self) -> str:
        return str({RatedKind.activity: _l("Volunteer activity"),
                    RatedKind.org: _l("Community social organisation"),
                    RatedKind.project: _l("Project"),
                    RatedKind.need: _l("The handling of a need"),
                    RatedKind.wish: _l("Micro-wish")}[self])


LEVEL_TITLES = {5: _l("Very satisfied"), 4: _l("Satisfied"), 3: _l("Fairly satisfied"),
                2: _l("Dissatisfied"), 1: _l("Very dissatisfied")}
BAD = (1, 2)      # 差评
GOOD = (4, 5)     # 好评
DIMENSIONS = ("attitude", "quality", "timeliness")


class Rating(db.Model):
    __tablename__ = "ratings"
    __table_args__ = (
        sa.UniqueConstraint("rater_id", "object_type", "object_id", name="uq_ratings_once"),
        sa.CheckConstraint("level BETWEEN 1 AND 5", name="level_1_to_5"),
        sa.CheckConstraint("(attitude IS NULL OR attitude BETWEEN 1 AND 5) AND "
                           "(quality IS NULL OR quality BETWEEN 1 AND 5) AND "
                           "(timeliness IS NULL OR timeliness BETWEEN 1 AND 5)",
                           name="dimensions_1_to_5"),
        sa.CheckConstraint("rated_org_id IS NOT NULL OR rated_community_code IS NOT NULL",
                           name="someone_is_rated"),
        sa.Index("ix_ratings_object", "object_type", "object_id"),
        # The figures read only these (index-only): an organisation's months, and an area's
        # month (the month first: one month of a city is one range of the index).
        sa.Index("ix_ratings_org_month_counted", "rated_org_id", "month", "level",
                 sqlite_where=sa.text("voided_at IS NULL"),
                 postgresql_where=sa.text("voided_at IS NULL")),
        sa.Index("ix_ratings_month_area_counted", "month", "area_code", "level",
                 sqlite_where=sa.text("voided_at IS NULL"),
                 postgresql_where=sa.text("voided_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[RatedKind] = mapped_column(str_enum(RatedKind, 16))
    object_id: Mapped[int] = mapped_column(sa.Integer)
    rater_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    level: Mapped[int] = mapped_column(sa.SmallInteger)
    attitude: Mapped[int | None] = mapped_column(sa.SmallInteger)
    quality: Mapped[int | None] = mapped_column(sa.SmallInteger)
    timeliness: Mapped[int | None] = mapped_column(sa.SmallInteger)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    # Who answers for it: an organisation, else a community (its workers).
    rated_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    rated_community_code: Mapped[str | None] = mapped_column(sa.ForeignKey("areas.code"))
    area_code: Mapped[str] = mapped_column(sa.ForeignKey("areas.code"))  # where it was served
    served_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the interaction rated
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    month: Mapped[int] = mapped_column(sa.Integer)  # Beijing's month of created_at: 202611
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(sa.Text)

    @property
    def bad(self) -> bool:
        return self.level in BAD


class CaseState(enum.StrEnum):
    open = "open"
    answered = "answered"
    reopened = "reopened"
    closed = "closed"
    voided = "voided"

    @property
    def title(self) -> str:
        return str({CaseState.open: _l("Awaiting rectification"),
                    CaseState.answered: _l("Answered, awaiting the rater"),
                    CaseState.reopened: _l("Reopened"), CaseState.closed: _l("Closed"),
                    CaseState.voided: _l("Rating voided")}[self])


LIVE_CASES = (CaseState.open, CaseState.reopened)  # the rated party owes an answer


CASE_FIGURES = ("status", "due_at", "answered_late", "answered_at")  # what the figures read


class Rectification(db.Model):
    """整改: the case a 差评 opens, answered by the party rated within working days."""
    __tablename__ = "rectifications"
    __table_args__ = (
        sa.Index("ix_rectifications_status_due", "status", "due_at"),
        sa.Index("ix_rectifications_org_status", "rated_org_id", "status"),
        sa.Index("ix_rectifications_community_status", "rated_community_code", "status"),
        # The figures read only these (index-only): an area's month, an organisation's.
        sa.Index("ix_rectifications_month_area", "month", "area_code", *CASE_FIGURES),
        sa.Index("ix_rectifications_org_month", "rated_org_id", "month", *CASE_FIGURES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(sa.ForeignKey("ratings.id"), unique=True)
    rated_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    rated_community_code: Mapped[str | None] = mapped_column(sa.ForeignKey("areas.code"))
    area_code: Mapped[str] = mapped_column(sa.ForeignKey("areas.code"))
    # The rating's month and area, so that the figures count cases without the ratings.
    month: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[CaseState] = mapped_column(str_enum(CaseState, 16), default=CaseState.open)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer_action: Mapped[str | None] = mapped_column(sa.String(16))  # fixed | explained
    answer_text: Mapped[str | None] = mapped_column(sa.Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_late: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    review_comment: Mapped[str | None] = mapped_column(sa.Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_itself: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    appeal_reason: Mapped[str | None] = mapped_column(sa.Text)
    appealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(sa.Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_for: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the due_at reminded of
    rounds: Mapped[int] = mapped_column(sa.Integer, default=1)

    rating: Mapped[Rating] = relationship(lazy="joined")

    @property
    def due_day(self):
        """The last day to answer (Beijing's): due_at is the end of it, 24:00."""
        from datetime import timedelta

        from portal.core.db import SHANGHAI

        return (self.due_at - timedelta(seconds=1)).astimezone(SHANGHAI).date()


def _register_audit_objects() -> None:
    from portal.core.audit import OBJECT_TITLES, register_object, register_states
    from portal.core.db import parse_id

    register_states(CaseState)
    OBJECT_TITLES["rating"] = _l("Service rating")

    @register_object("rating")  # the bureau's to read: it names the rater
    def _rating_area(object_id: str) -> str | None:
        row = db.session.get(Rating, parse_id(object_id) or 0)
        return row.area_code if row is not None else None


_register_audit_objects()


class OrgMonth(db.Model):
    """An organisation's counted ratings (not voided) of one month: what the ranking, the bid
    pages and the dashboards read for many organisations at once instead of their ratings
    (benchmarks/ratings.py).

    Kept by database triggers on `ratings` (the migration `rating_figures`), in the
    transaction that adds or voids a rating, whatever does it; `flask --app portal ratings
    check` recounts them."""
    __tablename__ = "rating_org_months"
    __table_args__ = (
        sa.CheckConstraint("n >= 0 AND level_sum >= 0 AND good >= 0 AND bad >= 0",
                           name="rating_org_months_not_negative"),
    )

    org_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    month: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    n: Mapped[int] = mapped_column(sa.Integer, default=0)
    level_sum: Mapped[int] = mapped_column(sa.Integer, default=0)
    good: Mapped[int] = mapped_column(sa.Integer, default=0)  # levels 4–5
    bad: Mapped[int] = mapped_column(sa.Integer, default=0)   # levels 1–2

