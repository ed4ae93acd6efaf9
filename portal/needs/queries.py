"""Reading needs in bulk: what could meet a need (suggestions, with reasons) and the figures of
an area (the dashboard and /api/v1/stats/needs). Each is a few indexed statements, whatever
the number of needs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from portal.core.areas import CHILD_LEVEL, CODE_LENGTH, Area, AreaLevel, level_of, under
from portal.core.db import dialect, utcnow
from portal.core.errors import ValidationFailed
from portal.extensions import db
from portal.needs import search
from portal.needs.models import MONTH_MINUTES, MatchKind, Need, NeedMatch, NeedState, NeedTally
from portal.volunteers.catalogues import SERVICE_TYPES

# Which organisation categories serve a kind of need (an organisation that ran activities of
# the kind serves it too, whatever its category).
CATEGORY_ORGS = {
    "elderly_care": ("life_service", "mutual_aid", "charity"),
    "disability_support": ("charity", "mutual_aid", "life_service"),
    "child_care": ("charity", "mutual_aid", "culture_sports"),
    "education": ("charity", "culture_sports"),
    "health": ("life_service", "charity"),
    "environment": ("community_affairs", "mutual_aid"),
    "emergency": ("mutual_aid", "community_affairs"),
    "legal_aid": ("community_affairs", "charity"),
    "culture_sports": ("culture_sports",),
    "community_governance": ("community_affairs",),
    "poverty_relief": ("charity", "rural_tech", "mutual_aid"),
    "other": (),
}
NEAR = (("same_community", 12, 3), ("same_township", 9, 2), ("same_county", 6, 1))
SUGGESTIONS = 20


def _nearness(code: str, need_code: str) -> tuple[int, list[str]]:
    for reason, length, points in NEAR:
        if code[:length] == need_code[:length] and len(code) >= length:
            return points, [reason]
    return 0, []


def _near_order(column, need_code: str):
    """SQL: 3 for the need's community, 2 its township, 1 its county (for ORDER BY)."""
    return sa.case((column == need_code, 3),
                   (under(column, need_code[:9]), 2), else_=1)


def suggestions(need: Need, now: datetime | None = None) -> list[dict]:
    """Open activities and active organisations serving the need's kind in its county, open
    calls covering its community, and the open community funds of its community or township
    (those with money or goods first); those already matched are left out. Highest first."""
    from portal.activities.models import Activity, ActivityState, Shift
    from portal.orgs.models import Org, OrgState
    from portal.projects.models import Project, ProjectState

    now = now or utcnow()
    code, county = need.community_code, need.community_code[:6]
    taken = {(m.kind, m.target_id) for m in db.session.execute(
        sa.select(NeedMatch.kind, NeedMatch.target_id).where(NeedMatch.need_id == need.id))}
    items: list[dict] = []

    open_shift = sa.exists().where(Shift.activity_id == Activity.id, Shift.starts_at > now,
                                   Shift.cancelled_at.is_(None))
    for row in db.session.execute(
            sa.select(Activity.id, Activity.title, Activity.community_code)
            .where(under(Activity.community_code, county),
                   Activity.status == ActivityState.published,
                   Activity.service_type == need.category, open_shift)
            .order_by(_near_order(Activity.community_code, code).desc(), Activity.id.desc())
            .limit(SUGGESTIONS)):
        near, reasons = _nearness(row.community_code, code)
        items.append({"kind": MatchKind.activity.value, "target_id": row.id, "title": row.title,
                      "score": 3 + near, "reasons": [f"service_type:{need.category}", *reasons]})

    categories = CATEGORY_ORGS.get(need.category, ())
    ran_kind = sa.select(Activity.org_id).where(
        Activity.org_id.is_not(None), Activity.service_type == need.category,
        under(Activity.community_code, county))
    ran = sa.and_(Org.id.in_(ran_kind))
    for row in db.session.execute(
            sa.select(Org.id, Org.name, Org.community_code, Org.category, ran.label("ran"))
            .where(under(Org.community_code, county), Org.status == OrgState.active,
                   sa.or_(Org.category.in_(categories), ran))
            .order_by(_near_order(Org.community_code, code).desc(), Org.id)
            .limit(SUGGESTIONS)):
        near, reasons = _nearness(row.community_code, code)
        score, why = near, []
        if row.ran:
            score, why = score + 3, [f"service_type:{need.category}"]
        if row.category.value in categories:
            score, why = score + 2, [*why, f"org_category:{row.category.value}"]
        items.append({"kind": MatchKind.org.value, "target_id": row.id, "title": row.name,
                      "score": score, "reasons": why + reasons})

    covering = [code[:n] for n in (4, 6, 9, 12)]
    for row in db.session.execute(
            sa.select(Project.id, Project.title, Project.area_code)
            .where(Project.area_code.in_(covering), Project.status == ProjectState.open,
                   Project.bid_deadline > now)
            .order_by(Project.bid_deadline).limit(SUGGESTIONS)):
        near, reasons = _nearness(row.area_code, code)
        items.append({"kind": MatchKind.project.value, "target_id": row.id, "title": row.title,
                      "score": 2 + near, "reasons": ["open_call", *reasons]})

    from portal.charity.models import Fund, FundState

    for row in db.session.execute(  # community funds of its community or township
            sa.select(Fund.id, Fund.name, Fund.area_code, Fund.balance, Fund.goods_value_held)
            .where(Fund.area_code.in_(covering[2:]), Fund.status == FundState.open)
            .order_by(Fund.area_code.desc(), Fund.id)):
        near, reasons = _nearness(row.area_code, code)
        funded = row.balance > 0 or row.goods_value_held > 0
        items.append({"kind": MatchKind.fund.value, "target_id": row.id, "title": row.name,
                      "score": 1 + near + (2 if funded else 0),
                      "reasons": (["has_balance"] if funded else []) + reasons})

    items = [i for i in items if (MatchKind(i["kind"]), i["target_id"]) not in taken]
    items.sort(key=lambda i: (-i["score"], i["kind"], i["target_id"]))
    return items[:SUGGESTIONS]


def _area_share_told(code: str):
    """SQLite: the area's range, with the share of the city's needs it holds (from the tallies)
    told to the planner, which has no statistics of ranges. A county of 40% then pages its
    needs by the order's index and stops at a page (0.2 ms), where it sorted 19,000 (35 ms); a
    community keeps the index of its code. The share is rounded to a power of two (a few
    statements to prepare, not one per area)."""
    area = under(Need.community_code, code)
    city = code[:CODE_LENGTH[AreaLevel.city]]
    if len(code) <= len(city) or len(code) >= CODE_LENGTH[AreaLevel.community] \
            or not isinstance(area, sa.BooleanClauseList):
        return area
    counts = dict(db.session.execute(
        sa.select(NeedTally.area_code, sa.func.sum(NeedTally.n))
        .where(NeedTally.area_code.in_((code, city))).group_by(NeedTally.area_code)).all())
    if not counts.get(city):
        return area
    share = min(1.0, max(counts.get(code, 0) / counts[city], 2.0 ** -20))
    told = sa.literal_column(repr(2.0 ** round(math.log2(share))))
    low, high = area.clauses
    return sa.and_(sa.func.likelihood(low, told),
                   sa.func.likelihood(high, sa.literal_column("1.0")))


def filtered(query, args, viewer):
    """The list's filters, for pages and API alike: community (or any area), status,
    category, q (title and description), older_than_days, mine; sort (new, old, support).
    ValidationFailed naming each filter with a wrong value."""
    errors: dict[str, list[str]] = {}
    sqlite = dialect() == "sqlite"
    community = args.get("community") or args.get("area")
    if community:
        query = query.where(_area_share_told(community) if sqlite
                            else under(Need.community_code, community))
    status = args.get("status")
    if status:
        try:
            query = query.where(Need.status == NeedState(status))
        except ValueError:
            errors["status"] = [_("Not one of the allowed values.")]
    category = args.get("category")
    if category:
        if category not in SERVICE_TYPES:
            errors["category"] = [_("Not one of the allowed values.")]
        query = query.where(Need.category == category)
    q = (args.get("q") or "").strip()
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        # A term without upper or lower case (Chinese) matches the same by LIKE, which skips
        # lower-casing every need's text (ILIKE cost three times as much at city size).
        match = "ilike" if q.lower() != q.upper() else "like"
        query = query.where(sa.or_(getattr(Need.title, match)(pattern, escape="\\"),
                                   getattr(Need.description, match)(pattern, escape="\\")))
        phrase = search.phrase(q) if sqlite else None
        if phrase is not None:  # the candidates from the index; LIKE above has the last word
            query = query.where(Need.id.in_(search.candidates(phrase)))
    older = args.get("older_than_days")
    if older:
        if not (older.isascii() and older.isdigit()) or int(older) > 36500:
            errors["older_than_days"] = [_("A whole number of days.")]
        else:
            query = query.where(Need.created_at < utcnow() - timedelta(days=int(older)))
    if args.get("mine") and viewer is not None:
        query = query.where(Need.posted_by == viewer.id)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    sort = args.get("sort", "new")
    order = {"support": (Need.supporters.desc(), Need.id.desc()),
             "old": (Need.created_at, Need.id)}.get(sort, (Need.created_at.desc(),
                                                          Need.id.desc()))
    return query.order_by(*order)


# --- figures ------------------------------------------------------------------------------------



@dataclass
class NeedFigures:
    by_status: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in NeedState})
    by_category: dict[str, int] = field(default_factory=dict)
    stale: int = 0
    due: int = 0            # verified at least 30 days ago
    on_time: int = 0        # ... and matched within 30 days of it
    median_days_to_match: float | None = None

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def matched_within_30_days_share(self) -> float | None:
        return round(self.on_time / self.due, 4) if self.due else None

    def to_dict(self) -> dict:
        return {"by_status": self.by_status, "by_category": self.by_category,
                "median_days_to_match": self.median_days_to_match,
                "matched_within_30_days_share": self.matched_within_30_days_share,
                "stale": self.stale, "total": self.total}


def _cutoffs(now: datetime) -> tuple[datetime, datetime]:
    stale_days = current_app.config["NEED_STALE_DAYS"]
    return now - timedelta(days=stale_days), now - timedelta(days=30)


def _add(figures: NeedFigures, row) -> None:
    """One tally row (an area's needs of one status and category) into the figures."""
    status = row.status
    figures.by_status[status] = figures.by_status.get(status, 0) + row.n
    if status not in (NeedState.merged.value, NeedState.rejected.value):
        figures.by_category[row.category] = figures.by_category.get(row.category, 0) + row.n
    if status == NeedState.verified.value:
        figures.stale += row.verified   # less those verified lately, in _subtract_recent
    figures.due += row.verified
    figures.on_time += row.quick


_END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)


def _subtract_recent(by_code: dict[str, NeedFigures], length: int, area_code: str,
                     now: datetime) -> None:
    """The figures bound to the day, from the needs verified lately (an index range): stale is
    the verified ones less those verified within NEED_STALE_DAYS; due and on_time are those
    verified (and matched within 30 days) less those verified within 30 days."""
    stale_cut, month_cut = _cutoffs(now)
    code = sa.func.substr(Need.community_code, 1, length).label("code")
    count = sa.func.count
    for row in db.session.execute(
            sa.select(code,
                      count().filter(Need.status == NeedState.verified,
                                     Need.verified_at >= stale_cut).label("fresh"),
                      count().filter(Need.verified_at >= month_cut).label("recent"),
                      count().filter(Need.verified_at >= month_cut,
                                     Need.minutes_to_match <= MONTH_MINUTES)
                      .label("recent_quick"))
            # The area as the code's prefix, not a range, so that the index on verified_at
            # is the only one that fits; and that range closed (SQLite, without statistics of
            # ranges, reckons a closed one narrow, an open one wide: grouping, it then
            # scanned every need).
            .where(Need.verified_at.between(min(stale_cut, month_cut), _END_OF_TIME),
                   sa.func.substr(Need.community_code, 1, len(area_code)) == area_code)
            .group_by(code)):
        figures = by_code.get(row.code)
        if figures is not None:
            figures.stale -= int(row.fresh or 0)
            figures.due -= int(row.recent or 0)
            figures.on_time -= int(row.recent_quick or 0)


def _tallies(where) -> sa.Select:
    return sa.select(NeedTally.area_code, NeedTally.status, NeedTally.category, NeedTally.n,
                     NeedTally.verified, NeedTally.quick, NeedTally.timed).where(where)


def figures(area_code: str, now: datetime | None = None) -> NeedFigures:
    """The needs of an area: by status and category (merged and rejected ones are counted by
    status only), stale (verified, unmatched for NEED_STALE_DAYS), the median days from
    verification to match, and the share of needs verified 30 days ago or more that were matched
    within 30 days. Read from the tallies the database keeps, not by counting every need."""
    result = NeedFigures()
    timed = 0
    for row in db.session.execute(_tallies(NeedTally.area_code == area_code)):
        _add(result, row)
        timed += row.timed
    _subtract_recent({area_code: result}, len(area_code), area_code, now or utcnow())
    result.by_category = dict(sorted(result.by_category.items(), key=lambda kv: -kv[1]))
    result.median_days_to_match = median_days(area_code, timed)
    return result


def median_days(area_code: str, count: int) -> float | None:
    """The median of minutes_to_match over `count` matched needs of the area, in days with one
    decimal: the middle row(s) by an ORDER BY ... OFFSET on a partial index, the same on SQLite
    and PostgreSQL."""
    if not count:
        return None
    # A city's median walks the matched needs in order (the partial index on minutes_to_match,
    # the area as the code's prefix, which no index on the code fits); a county's or a smaller
    # area's sorts its own (the index on the code, the area as a range): fewer rows than the
    # walk would pass. The statement's shape chooses, whatever the planner knows of the values.
    area = sa.func.substr(Need.community_code, 1, len(area_code)) == area_code \
        if len(area_code) <= CODE_LENGTH[AreaLevel.city] \
        else under(Need.community_code, area_code)
    middle = db.session.scalars(
        sa.select(Need.minutes_to_match)
        .where(area, Need.minutes_to_match.is_not(None))
        .order_by(Need.minutes_to_match)
        .offset((count - 1) // 2).limit(2 if count % 2 == 0 else 1)).all()
    return round(sum(middle) / len(middle) / 1440, 1) if middle else None


def figures_by_child(area_code: str, now: datetime | None = None) -> list[tuple[Area,
                                                                               NeedFigures]]:
    """The same figures for each area one level down (the dashboard's drill-down)."""
    level = level_of(area_code)
    child = CHILD_LEVEL.get(level) if level else None
    if child is None:
        return []
    length = CODE_LENGTH[child]
    children = db.session.scalars(sa.select(Area).where(
        Area.parent_code == area_code).order_by(Area.code)).all()
    by_code = {a.code: NeedFigures() for a in children}
    timed = dict.fromkeys(by_code, 0)
    for row in db.session.execute(_tallies(NeedTally.area_code.in_(list(by_code)))):
        _add(by_code[row.area_code], row)
        timed[row.area_code] += row.timed
    _subtract_recent(by_code, length, area_code, now or utcnow())
    for code, f in by_code.items():
        f.by_category = dict(sorted(f.by_category.items(), key=lambda kv: -kv[1]))
        f.median_days_to_match = median_days(code, timed[code])
    return [(a, by_code[a.code]) for a in children]


def tally_mismatches() -> list[dict]:
    """Every tally that differs from a count of the needs themselves (`flask needs check`)."""
    kept = {(t.area_code, t.status, t.category): (t.n, t.verified, t.quick, t.timed)
            for t in db.session.execute(_tallies(sa.true()))}
    counted: dict[tuple, list[int]] = {}
    for row in db.session.execute(sa.select(
            Need.community_code, Need.status, Need.category, sa.func.count().label("n"),
            sa.func.count(Need.verified_at).label("verified"),
            sa.func.sum(sa.case((sa.and_(Need.verified_at.is_not(None),
                                         Need.minutes_to_match <= MONTH_MINUTES), 1),
                                else_=0)).label("quick"),
            sa.func.count(Need.minutes_to_match).label("timed"))
            .group_by(Need.community_code, Need.status, Need.category)):
        for length in sorted(CODE_LENGTH.values()):
            key = (row.community_code[:length], row.status.value, row.category)
            figures = counted.setdefault(key, [0, 0, 0, 0])
            for i, value in enumerate((row.n, row.verified, row.quick, row.timed)):
                figures[i] += int(value or 0)
    return [{"area_code": key[0], "status": key[1], "category": key[2],
             "kept": kept.get(key, (0, 0, 0, 0)), "counted": tuple(counted.get(key, (0,) * 4))}
            for key in sorted(set(kept) | set(counted))
            if tuple(counted.get(key, (0,) * 4)) != tuple(kept.get(key, (0, 0, 0, 0)))]


def stale_needs(area_code: str, now: datetime | None = None, limit: int = 200) -> list[Need]:
    """Verified needs unmatched for NEED_STALE_DAYS, most supported first (the call-drafting
    page starts from them)."""
    stale_cut, _ = _cutoffs(now or utcnow())
    return list(db.session.scalars(
        sa.select(Need).where(under(Need.community_code, area_code),
                              Need.status == NeedState.verified, Need.verified_at < stale_cut)
        .order_by(Need.supporters.desc(), Need.verified_at).limit(limit)))


def is_stale(need: Need, now: datetime | None = None) -> bool:
    stale_cut, _ = _cutoffs(now or utcnow())
    return need.status is NeedState.verified and need.verified_at is not None and \
        need.verified_at < stale_cut

