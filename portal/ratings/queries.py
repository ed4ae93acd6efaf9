"""The figures of 好差评: for an object (an organisation: every rating it answers for), or an
area and a month; public only from RATING_MIN_PUBLIC ratings on."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from portal.core.areas import code_bounds, under
from portal.core.db import SHANGHAI, UTCDateTime, utcnow
from portal.extensions import db
from portal.ratings.models import (
    BAD,
    GOOD,
    LIVE_CASES,
    CaseState,
    OrgMonth,
    RatedKind,
    Rating,
    Rectification,
)

R = Rating.__table__.c  # plain columns: the figures are Core statements, read as rows
C = Rectification.__table__.c


@dataclass(frozen=True)
class Scope:
    """What the figures count, as a shape (which conditions) and its values. Each shape's
    statements are built once, with bound parameters, and kept: the figures of a small area
    cost little more than the database's own work. A case keeps its rating's party, area and
    month, so neither side of a statement joins the other."""
    shape: tuple[str, ...]  # "org" | "object" | "area", then "month" and/or "since"
    params: tuple[tuple[str, object], ...]

    def since(self, month: int) -> Scope:
        return Scope((*self.shape, "since"), (*self.params, ("since", month)))


def object_filter(kind: RatedKind, object_id: int) -> Scope:
    """An organisation answers for its own ratings and those of its activities and projects."""
    if kind is RatedKind.org:
        return Scope(("org",), (("org", object_id),))
    return Scope(("object",), (("kind", kind.value), ("object", object_id)))


def area_filter(area_code: str, month: int | None) -> Scope:
    low, high = code_bounds(area_code) or ("1", "0")  # no code: an empty range
    scope = Scope(("area",), (("low", low), ("high", high)))
    return Scope((*scope.shape, "month"), (*scope.params, ("month", month))) if month else scope


def _conditions(shape: tuple[str, ...]) -> tuple[sa.ColumnElement, sa.ColumnElement]:
    """A shape's conditions on the ratings and on the cases, with bound parameters."""
    ratings, cases = [], []
    for part in shape:
        if part == "org":
            ratings.append(R.rated_org_id == sa.bindparam("org"))
            cases.append(C.rated_org_id == sa.bindparam("org"))
        elif part == "object":
            these = sa.and_(R.object_type == sa.bindparam("kind", type_=sa.String),
                            R.object_id == sa.bindparam("object"))
            ratings.append(these)
            cases.append(C.rating_id.in_(sa.select(R.id).where(these)))
        elif part == "area":
            ratings.append(R.area_code.between(sa.bindparam("low"), sa.bindparam("high")))
            cases.append(C.area_code.between(sa.bindparam("low"), sa.bindparam("high")))
        elif part in ("month", "since"):
            compare = (lambda c, v: c == v) if part == "month" else (lambda c, v: c >= v)
            ratings.append(compare(R.month, sa.bindparam(part)))
            cases.append(compare(C.month, sa.bindparam(part)))
    return sa.and_(*ratings), sa.and_(*cases)


COUNTED = R.voided_at.is_(None)  # as the partial indexes say it


@functools.cache
def _figures_statement(shape: tuple[str, ...]) -> sa.Select:
    ratings, cases = _conditions(shape)
    rated = sa.select(
        sa.func.count().label("n"), sa.func.avg(R.level).label("mean"),
        sa.func.count().filter(R.level.in_(GOOD)).label("good"),
        sa.func.count().filter(R.level.in_(BAD)).label("bad")).where(
        ratings, COUNTED).subquery()
    cased = sa.select(
        sa.func.count().filter(C.answered_at.is_not(None), C.answered_late.is_(False))
        .label("on_time"),
        sa.func.count().label("cases"),
        sa.func.count().filter(C.status.in_(LIVE_CASES),
                               C.due_at < sa.bindparam("now", type_=UTCDateTime()))
        .label("overdue"),
    ).where(cases, C.status != CaseState.voided).subquery()
    # Two one-row answers side by side: one round trip.
    return sa.select(rated, cased).select_from(rated.join(cased, sa.true()))


def figures(scope: Scope, *, full: bool) -> dict:
    """count, mean, good_share, bad_count, rectified_share (of the 差评s' cases, those answered
    by their deadline), overdue (live cases past it); voided ratings (and their cases) do not
    count. Below RATING_MIN_PUBLIC ratings, and not `full`, only the count. One statement."""
    row = db.session.connection().execute(_figures_statement(scope.shape),
                                          {**dict(scope.params), "now": utcnow()}).one()
    count = row.n
    shown = full or count >= current_app.config["RATING_MIN_PUBLIC"]
    return {"count": count,
            "mean": round(float(row.mean), 2) if shown and row.mean is not None else None,
            "good_share": round(row.good / count, 4) if shown and count else None,
            "bad_count": row.bad if shown else None,
            "rectified_share": round(row.on_time / row.cases, 4) if shown and row.cases
            else None,
            "overdue": row.overdue if shown else None}


def to_rate(user, limit: int = 10) -> list[dict]:
    """What `user` took part in lately and may rate but has not: the activities of shifts they
    completed and the organisations that ran them, needs of theirs resolved, wishes of their
    communities confirmed (within RATING_WINDOW_DAYS). For /me."""
    from datetime import timedelta

    from portal.activities.models import Activity, Shift, Signup, SignupState
    from portal.charity.models import Wish, WishState
    from portal.core.users import Role
    from portal.needs.models import Need, NeedState
    from portal.orgs.models import Org
    from portal.projects.models import Project
    from portal.volunteers.models import Volunteer

    since = utcnow() - timedelta(days=current_app.config["RATING_WINDOW_DAYS"])

    def unrated(kind: RatedKind, column):
        return ~sa.exists().where(Rating.rater_id == user.id, Rating.object_type == kind,
                                  Rating.object_id == column)

    items: list[dict] = []
    volunteer = Volunteer.of_user(user)
    if volunteer is not None:
        served = (sa.select(Activity.id, Activity.title, Activity.org_id,
                            sa.func.max(Shift.ends_at).label("at"))
                  .join(Shift, Shift.activity_id == Activity.id)
                  .join(Signup, Signup.shift_id == Shift.id)
                  .where(Signup.volunteer_id == volunteer.id,
                         Signup.status == SignupState.completed, Shift.ends_at >= since)
                  .group_by(Activity.id, Activity.title, Activity.org_id))
        rows = db.session.execute(served.order_by(sa.desc("at")).limit(limit)).all()
        rated = set(db.session.scalars(sa.select(Rating.object_id).where(
            Rating.rater_id == user.id, Rating.object_type == RatedKind.activity,
            Rating.object_id.in_([r.id for r in rows]))))
        items += [{"kind": RatedKind.activity, "id": r.id, "title": r.title, "at": r.at}
                  for r in rows if r.id not in rated]
        org_ids = {r.org_id for r in rows if r.org_id}
        if org_ids:
            rated_orgs = set(db.session.scalars(sa.select(Rating.object_id).where(
                Rating.rater_id == user.id, Rating.object_type == RatedKind.org,
                Rating.object_id.in_(org_ids))))
            for org in db.session.scalars(sa.select(Org).where(Org.id.in_(org_ids - rated_orgs))):
                at = max(r.at for r in rows if r.org_id == org.id)
                items.append({"kind": RatedKind.org, "id": org.id, "title": org.name, "at": at})
    for row in db.session.execute(
            sa.select(Need.id, Need.title, Need.resolved_at)
            .where(Need.posted_by == user.id, Need.status == NeedState.resolved,
                   Need.resolved_at >= since, unrated(RatedKind.need, Need.id))
            .order_by(Need.resolved_at.desc()).limit(limit)):
        items.append({"kind": RatedKind.need, "id": row.id, "title": row.title,
                      "at": row.resolved_at})
    scopes = user.scopes(Role.community_worker)
    if scopes:
        for row in db.session.execute(
                sa.select(Wish.id, Wish.alias, Wish.title, Wish.confirmed_at)
                .where(sa.or_(*(under(Wish.community_code, s) for s in scopes)),
                       Wish.status == WishState.confirmed, Wish.confirmed_at >= since,
                       unrated(RatedKind.wish, Wish.id))
                .order_by(Wish.confirmed_at.desc()).limit(limit)):
            items.append({"kind": RatedKind.wish, "id": row.id,
                          "title": f"{row.alias}：{row.title}", "at": row.confirmed_at})
    items += _projects_to_rate(user, scopes, since, unrated(RatedKind.project, Project.id),
                               limit)
    items.sort(key=lambda i: i["at"], reverse=True)
    return items[:limit]


def _projects_to_rate(user, scopes, since, unrated, limit: int) -> list[dict]:
    """Projects in progress, or closed within the window, that `user` may rate: those citing a
    need they posted, and those of their communities (the project's area at or above, or under,
    a community they work for); the rule itself is services.took_part's."""
    from portal.core.areas import in_line
    from portal.needs.models import Need, ProjectNeed
    from portal.projects.models import Evaluation, Project, ProjectState

    whose = [sa.exists().where(ProjectNeed.project_id == Project.id,
                               ProjectNeed.need_id == Need.id, Need.posted_by == user.id)]
    for scope in scopes:
        whose.append(in_line(Project.area_code, scope))
    closed_at = (sa.select(Evaluation.evaluated_at)
                 .where(Evaluation.project_id == Project.id).scalar_subquery())
    rows = db.session.execute(
        sa.select(Project.id, Project.title, Project.status, closed_at.label("closed_at"),
                  Project.awarded_at)
        .where(sa.or_(*whose), unrated, sa.or_(
            Project.status == ProjectState.in_progress,
            sa.and_(Project.status == ProjectState.closed, closed_at >= since)))
        .order_by(Project.id.desc()).limit(limit)).all()
    return [{"kind": RatedKind.project, "id": r.id, "title": r.title,
             "at": r.closed_at or r.awarded_at or utcnow()} for r in rows]


@functools.cache
def _months_statement(shape: tuple[str, ...]) -> sa.Select:
    return (sa.select(R.month, sa.func.count().label("n"), sa.func.avg(R.level).label("mean"),
                      sa.func.count().filter(R.level.in_(BAD)).label("bad"))
            .where(_conditions(shape)[0], COUNTED).group_by(R.month))


def monthly(scope: Scope, *, full: bool, months: int = 12) -> dict:
    """The last `months` months (Beijing's), oldest first: each month's count, mean and 差评
    count, and the figures of the whole span; the months' means and the span's figures only
    from RATING_MIN_PUBLIC ratings in the span (or `full`). For the charts."""
    local = utcnow().astimezone(SHANGHAI)
    keys = []
    year, month = local.year, local.month
    for _ in range(months):
        keys.append(year * 100 + month)
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    keys.reverse()
    span = scope.since(keys[0])
    rows = {r.month: r for r in db.session.connection().execute(
        _months_statement(span.shape), dict(span.params))}
    total = figures(span, full=full)
    shown = total["mean"] is not None
    return {"total": total, "months": [
        {"month": f"{k // 100}-{k % 100:02d}", "count": rows[k].n if k in rows else 0,
         "mean": round(float(rows[k].mean), 2) if shown and k in rows else None,
         "bad": rows[k].bad if shown and k in rows else None} for k in keys]}


def months_ago(months: int) -> int:
    """The month (as 202601) `months - 1` months before this one: the start of a span of
    `months` months that ends with this one (Beijing's)."""
    local = utcnow().astimezone(SHANGHAI)
    index = local.year * 12 + local.month - 1 - (months - 1)
    return (index // 12) * 100 + index % 12 + 1


def orgs_recent(org_ids, months: int = 12) -> dict[int, dict]:
    """Each organisation's ratings over the last `months` months (the ranking, bid pages and
    dashboards): count, mean, good_share; from the organisations' monthly tallies, at most
    `months` rows each, however many ratings they have."""
    ids = list({i for i in org_ids if i})
    figures = {i: {"count": 0, "mean": None, "good_share": None} for i in ids}
    if not ids:
        return figures
    for row in db.session.connection().execute(_recent_statement(), {
            "ids": ids, "since": months_ago(months)}):
        if row.n:
            figures[row.org_id] = {"count": row.n, "mean": round(row.level_sum / row.n, 2),
                                   "good_share": round(row.good / row.n, 4)}
    return figures


@functools.cache
def _recent_statement() -> sa.Select:
    t = OrgMonth.__table__.c
    return (sa.select(t.org_id, sa.func.sum(t.n).label("n"),
                      sa.func.sum(t.level_sum).label("level_sum"),
                      sa.func.sum(t.good).label("good"))
            .where(t.org_id.in_(sa.bindparam("ids", expanding=True)),
                   t.month >= sa.bindparam("since"))
            .group_by(t.org_id))


def tally_mismatches() -> list[dict]:
    """Every organisation-month whose tally differs from a count of its ratings (`flask
    ratings check`)."""
    t = OrgMonth.__table__.c
    kept = {(r.org_id, r.month): (r.n, r.level_sum, r.good, r.bad)
            for r in db.session.execute(sa.select(t.org_id, t.month, t.n, t.level_sum, t.good,
                                                  t.bad))}
    counted = {(r.rated_org_id, r.month): (r.n, int(r.level_sum), r.good, r.bad)
               for r in db.session.execute(
                   sa.select(R.rated_org_id, R.month, sa.func.count().label("n"),
                             sa.func.sum(R.level).label("level_sum"),
                             sa.func.count().filter(R.level.in_(GOOD)).label("good"),
                             sa.func.count().filter(R.level.in_(BAD)).label("bad"))
                   .where(COUNTED, R.rated_org_id.is_not(None))
                   .group_by(R.rated_org_id, R.month))}
    zero = (0, 0, 0, 0)
    return [{"org_id": key[0], "month": key[1], "kept": kept.get(key, zero),
             "counted": counted.get(key, zero)}
            for key in sorted(set(kept) | set(counted))
            if kept.get(key, zero) != counted.get(key, zero)]


def by_child(area_code: str, months: int = 12) -> list[tuple]:
    """Each area one level down with its last `months` months of ratings and cases (the
    bureau's dashboard; in full): [(Area, figures)]."""
    from portal.core.areas import CHILD_LEVEL, CODE_LENGTH, Area, level_of

    level = level_of(area_code)
    child = CHILD_LEVEL.get(level) if level else None
    if child is None:
        return []
    length = CODE_LENGTH[child]
    children = db.session.scalars(sa.select(Area).where(Area.parent_code == area_code)
                                  .order_by(Area.code)).all()
    blank = {"count": 0, "mean": None, "good_share": None, "bad_count": 0,
             "rectified_share": None, "overdue": 0}
    out = {a.code: dict(blank) for a in children}
    since = months_ago(months)
    code = sa.func.substr(R.area_code, 1, length).label("code")
    for row in db.session.connection().execute(
            sa.select(code, sa.func.count().label("n"), sa.func.avg(R.level).label("mean"),
                      sa.func.count().filter(R.level.in_(GOOD)).label("good"),
                      sa.func.count().filter(R.level.in_(BAD)).label("bad"))
            .where(under(R.area_code, area_code), R.month >= since, COUNTED).group_by(code)):
        if row.code in out:
            out[row.code].update(count=row.n, mean=round(float(row.mean), 2),
                                 good_share=round(row.good / row.n, 4), bad_count=row.bad)
    code = sa.func.substr(C.area_code, 1, length).label("code")
    for row in db.session.connection().execute(
            sa.select(code,
                      sa.func.count().filter(C.answered_at.is_not(None),
                                             C.answered_late.is_(False)).label("on_time"),
                      sa.func.count().label("cases"),
                      sa.func.count().filter(C.status.in_(LIVE_CASES),
                                             C.due_at < utcnow()).label("overdue"))
            .where(under(C.area_code, area_code), C.month >= since,
                   C.status != CaseState.voided).group_by(code)):
        if row.code in out:
            out[row.code].update(
                rectified_share=round(row.on_time / row.cases, 4) if row.cases else None,
                overdue=row.overdue)
    return [(a, out[a.code]) for a in children]


def ratings_workbook(area, months: int = 12):
    """The dashboard in Excel: the area's months, then each area one level down."""
    from portal.core.excel import add_sheet, caption, new_book, saved

    series = monthly(area_filter(area.code, None), full=True, months=months)
    book = new_book()
    add_sheet(book, "按月", ["月份", "评价数", "平均分", "差评数"],
              [[m["month"], m["count"], m["mean"], m["bad"]] for m in series["months"]],
              title=caption("好差评（近12个月）", area.name))
    add_sheet(book, "按地区", ["区划代码", "地区", "评价数", "平均分", "好评率", "差评数",
                            "按期整改率", "逾期整改"],
              [[a.code, a.name, f["count"], f["mean"], f["good_share"], f["bad_count"],
                f["rectified_share"], f["overdue"]] for a, f in by_child(area.code, months)],
              title=caption("好差评（近12个月）按地区", area.name))
    return saved(book)


def titles(ratings) -> dict[tuple[RatedKind, int], str]:
    """What each rating is of, as its parties call it (an activity's title, an organisation's
    name, a wish as alias：wish): a few statements for a page of cases."""
    from portal.activities.models import Activity
    from portal.charity.models import Wish
    from portal.needs.models import Need
    from portal.orgs.models import Org
    from portal.projects.models import Project

    wanted: dict[RatedKind, set[int]] = {}
    for rating in ratings:
        wanted.setdefault(rating.object_type, set()).add(rating.object_id)
    columns = {RatedKind.activity: (Activity.id, Activity.title),
               RatedKind.org: (Org.id, Org.name), RatedKind.need: (Need.id, Need.title),
               RatedKind.project: (Project.id, Project.title),
               RatedKind.wish: (Wish.id, Wish.alias + "：" + Wish.title)}
    out = {}
    for kind, ids in wanted.items():
        key, title = columns[kind]
        out.update({(kind, i): t for i, t in db.session.execute(
            sa.select(key, title).where(key.in_(ids)))})
    return out

