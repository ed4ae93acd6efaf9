"""Reads: the coverage indicators (专栏1), the incubation pipeline, lists."""

from __future__ import annotations

import operator
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from itertools import compress
from operator import itemgetter

import sqlalchemy as sa
from flask import current_app

from portal.core.areas import (
    CHILD_LEVEL,
    CODE_LENGTH,
    LEVEL_BY_LENGTH,
    Area,
    AreaKind,
    AreaLevel,
    code_bounds,
    under,
)
from portal.core.db import utcnow
from portal.extensions import db
from portal.orgs.models import CERTIFIED, Incubation, Org, OrgState, Stage, Worker, WorkerKind


@dataclass(slots=True)
class CommunityRow:
    code: str
    name: str
    kind: str
    population: int | None
    active_orgs: int
    target: int

    @property
    def meets_target(self) -> bool:
        return self.active_orgs >= self.target

    @property
    def lacking(self) -> int:
        return max(0, self.target - self.active_orgs)

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "kind": self.kind,
                "active_orgs": self.active_orgs, "target": self.target,
                "meets_target": self.meets_target, "lacking": self.lacking}


@dataclass
class Tally:
    communities: int = 0
    meeting_target: int = 0
    active_orgs: int = 0

    @property
    def share(self) -> float | None:
        return round(100 * self.meeting_target / self.communities, 1) if self.communities \
            else None

    @property
    def average(self) -> float | None:
        return round(self.active_orgs / self.communities, 2) if self.communities else None

    def to_dict(self) -> dict:
        return {"communities": self.communities, "meeting_target": self.meeting_target,
                "share_meeting": self.share, "active_orgs": self.active_orgs,
                "average_per_community": self.average}


@dataclass
class Coverage:
    area: Area
    rows: list[CommunityRow]
    total: Tally = field(default_factory=Tally)
    urban: Tally = field(default_factory=Tally)
    rural: Tally = field(default_factory=Tally)
    children: list[tuple[ChildArea, Tally]] = field(default_factory=list)
    workers: dict = field(default_factory=dict)

    @property
    def short(self) -> list[CommunityRow]:
        return sorted((r for r in self.rows if not r.meets_target),
                      key=lambda r: (-r.lacking, r.code))

    def to_dict(self) -> dict:
        summary = self.total.to_dict()
        summary["urban"] = self.urban.to_dict()
        summary["rural"] = self.rural.to_dict()
        return {
            "area": self.area.to_dict(),
            "summary": summary,
            "targets": {"urban": target_for(AreaKind.urban), "rural": target_for(AreaKind.rural)},
            "communities": [r.to_dict() for r in self.rows],
            "short": [{"code": r.code, "lacking": r.lacking} for r in self.short],
            "children": [dict(area.to_dict(), **tally.to_dict()) for area, tally in
                         self.children],
            **({"indicators": self.workers} if self.workers else {}),
        }


def target_for(kind: AreaKind | str) -> int:
    cfg = current_app.config
    return cfg["URBAN_ORG_TARGET"] if AreaKind(kind) is AreaKind.urban else cfg["RURAL_ORG_TARGET"]


# The coverage statements are built once: only the code range varies (bound parameters), so a
# call neither rebuilds them nor recomputes their cache key for the compiled-statement cache.
def _in_range(column):
    return sa.and_(column >= sa.bindparam("lo"), column <= sa.bindparam("hi"))


_ACTIVE_ORGS = (sa.select(Org.community_code.label("code"), sa.func.count().label("n"))
                .where(Org.status == OrgState.active, _in_range(Org.community_code))
                .group_by(Org.community_code).subquery("active_orgs"))
# Indicators 4 and 9: active community workers of urban communities, and those certified.
_URBAN_WORKERS = (sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(
                      sa.case((Worker.certificate.in_(CERTIFIED), 1), else_=0)), 0))
                  .select_from(Worker).join(Area, Area.code == Worker.area_code)
                  .where(Worker.kind == WorkerKind.community_worker, Worker.active.is_(True),
                         Area.kind == AreaKind.urban, _in_range(Worker.area_code)))
# The communities under the area (lo..hi) and the area's children (parent), one row each, as
# plain columns (kind as its stored text): 800 rows need no ORM objects or enum conversion.
# Every column costs on 800 rows, so a row's level is its code's length and only a child's row
# carries households (a community's organisations and workers are what the dashboard counts).
_AREAS = (sa.select(Area.code, Area.name, sa.type_coerce(Area.kind, sa.String), Area.population,
                    sa.case((Area.level != AreaLevel.community, Area.households)),
                    sa.func.coalesce(_ACTIVE_ORGS.c.n, 0))
          .outerjoin(_ACTIVE_ORGS, _ACTIVE_ORGS.c.code == Area.code)
          .where(sa.or_(sa.and_(Area.level == AreaLevel.community, _in_range(Area.code)),
                        Area.parent_code == sa.bindparam("parent"))))


@dataclass(slots=True, frozen=True)
class ChildArea:
    """A child area's row in the dashboard, read with the communities (no ORM object)."""
    code: str
    name: str
    level: AreaLevel
    kind: AreaKind | None
    parent_code: str
    population: int | None
    households: int | None

    to_dict = Area.to_dict  # the same dictionary as the area's own


def coverage(area: Area, *, indicators: bool = True) -> Coverage:
    """Active community social organisations per community under `area`, against the target.

    Counted: status active, by home community, registered and filed alike. One statement (the
    communities under the area and the area's children, joined to a GROUP BY of the
    communities' active organisations) on the session's connection, past the ORM layer: no ORM
    objects, the children included. The tallies are taken column by column over at most a
    city's communities. The indicators add the workers' aggregate and the volunteers' count.
    """
    bounds = code_bounds(area.code)
    child_level = CHILD_LEVEL.get(area.level)
    result = []
    if bounds is not None:
        if db.session.autoflush:
            db.session.flush()  # what session.execute() would do; a no-op when nothing is pending
        result = db.session.connection().execute(
            _AREAS,
            # A township's children are its communities: no separate child rows (NULL matches
            # no parent).
            {"lo": bounds[0], "hi": bounds[1],
             "parent": area.code if child_level not in (None, AreaLevel.community) else None}
        ).all()  # fetchall(): iterating the result would fetch row by row
    community_length = CODE_LENGTH[AreaLevel.community]
    communities = [row for row in result if len(row[0]) == community_length]
    children = [row for row in result if len(row[0]) != community_length]
    # Ordered here, by code point, so that each child's communities are one slice of the codes
    # on either database (PostgreSQL would order by the database's collation).
    communities.sort(key=itemgetter(0))
    codes, names, kinds, populations, _households, counts = \
        zip(*communities, strict=True) if communities else [()] * 6
    urban_target, rural_target = target_for(AreaKind.urban), target_for(AreaKind.rural)
    is_urban = [kind == "urban" for kind in kinds]
    targets = [urban_target if urban else rural_target for urban in is_urban]
    meets = list(map(operator.ge, counts, targets))
    rows = list(map(CommunityRow, codes, names, kinds, populations, counts, targets))
    total = Tally(len(codes), sum(meets), sum(counts))
    urban = Tally(sum(is_urban), sum(compress(meets, is_urban)), sum(compress(counts, is_urban)))
    rural = Tally(total.communities - urban.communities,
                  total.meeting_target - urban.meeting_target,
                  total.active_orgs - urban.active_orgs)
    answer = Coverage(area=area, rows=rows, total=total, urban=urban, rural=rural)
    for code, name, kind, population, households, _orgs in sorted(children, key=itemgetter(0)):
        low, high = code_bounds(code) or (code, code)
        start, stop = bisect_left(codes, low), bisect_right(codes, high)
        child = ChildArea(code, name, LEVEL_BY_LENGTH[len(code)],
                          AreaKind(kind) if kind else None, area.code, population, households)
        answer.children.append((child, Tally(stop - start, sum(meets[start:stop]),
                                             sum(counts[start:stop]))))
    if indicators:
        residents = sum(filter(None, populations))
        answer.workers = worker_indicators(
            area, residents=area.population or residents,
            urban_residents=sum(filter(None, compress(populations, is_urban))))
    return answer


def worker_indicators(area: Area, *, residents: int, urban_residents: int) -> dict:
    """Indicators 4 and 9 over urban communities; volunteers per 100 residents."""
    cfg = current_app.config
    bounds = code_bounds(area.code)
    urban_workers, urban_certified = db.session.connection().execute(
        _URBAN_WORKERS, {"lo": bounds[0], "hi": bounds[1]}).one() if bounds else (0, 0)
    per_10k = round(urban_workers * 10000 / urban_residents, 1) if urban_residents else None
    share = round(100 * urban_certified / urban_workers, 1) if urban_workers else None
    volunteers = _volunteer_count(area)
    return {
        "residents": residents or None,
        "urban_residents": urban_residents or None,
        "urban_community_workers": urban_workers,
        "community_workers_per_10k_urban": per_10k,
        "community_workers_per_10k_urban_target": cfg["WORKERS_PER_10K_TARGET"],
        "certified_share_urban": share,
        "certified_share_urban_target": cfg["CERTIFIED_SHARE_TARGET"],
        "registered_volunteers": volunteers,
        "volunteers_per_100_residents": round(100 * volunteers / residents, 2)
        if residents and volunteers is not None else None,
    }


# Registered volunteers by area. The volunteers module (issue 4) registers its counter here;
# until then the indicator is reported as unknown (None), never as a made-up zero.
VOLUNTEER_COUNTERS: list = []


def _volunteer_count(area: Area) -> int | None:
    if not VOLUNTEER_COUNTERS:
        return None
    return sum(counter(area.code) for counter in VOLUNTEER_COUNTERS)


def pipeline(actor, area_code: str | None = None, stage: Stage | None = None):
    """The incubations the actor's bureau areas hold (an admin: all), optionally one area's.
    An area outside the actor's is refused (Forbidden)."""
    from flask_babel import gettext as _

    from portal.core.errors import Forbidden
    from portal.core.users import Role

    if area_code and not (actor.is_admin or actor.covers(Role.bureau, area_code)):
        raise Forbidden(_("You are not allowed to do this."))
    query = (sa.select(Incubation).join(Incubation.org)
             .order_by(Incubation.stage_since, Incubation.id))
    if area_code:
        query = query.where(under(Org.community_code, area_code))
    elif not actor.is_admin:
        query = query.where(sa.or_(sa.false(), *[under(Org.community_code, s)
                                                 for s in actor.scopes(Role.bureau)]))
    if stage:
        query = query.where(Incubation.stage == stage)
    return query


def visible_workers(actor):
    """Workers in the actor's staff areas and of the organisations they administer."""
    from portal.orgs.models import OrgAdmin

    query = sa.select(Worker)
    if not actor.is_admin:
        query = query.where(sa.or_(
            *[under(Worker.area_code, s) for s in actor.staff_scopes()],
            Worker.employer_org_id.in_(sa.select(OrgAdmin.org_id).where(
                OrgAdmin.user_id == actor.id))))
    return query


def stuck_days() -> int:
    return current_app.config["INCUBATION_STUCK_DAYS"]


def is_stuck(incubation: Incubation) -> bool:
    return incubation.stage is Stage.incubating and \
        incubation.days_in_stage(utcnow()) > stuck_days()


def orgs_query(*, community: str | None = None, status: OrgState | None = None,
               category=None, q: str | None = None, area: str | None = None):
    query = sa.select(Org).order_by(Org.id)
    if community:
        query = query.where(Org.community_code == community)
    if area:
        query = query.where(under(Org.community_code, area))
    if status:
        query = query.where(Org.status == status)
    if category:
        query = query.where(Org.category == category)
    if q:
        query = query.where(Org.name.contains(q, autoescape=True))
    return query
