"""Reads: the coverage indicators (专栏1), the incubation pipeline, lists."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from portal.core.areas import CHILD_LEVEL, CODE_LENGTH, Area, AreaKind, AreaLevel, under
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
    children: list[tuple[Area, Tally]] = field(default_factory=list)
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


def coverage(area: Area, *, indicators: bool = True) -> Coverage:
    """Active community social organisations per community under `area`, against the target.

    Counted: status active, by home community, registered and filed alike. One query (the
    communities under the area joined to a GROUP BY of their active organisations), the rest in
    Python over at most a city's communities; the worker indicators add one aggregate.
    """
    code_range = under(Area.code, area.code)
    active = (sa.select(Org.community_code, sa.func.count().label("n"))
              .where(Org.status == OrgState.active, under(Org.community_code, area.code))
              .group_by(Org.community_code).subquery())
    # Plain columns (kind as its stored text): 800 rows need no ORM objects or enum conversion.
    communities = db.session.execute(
        sa.select(Area.code, Area.name, sa.type_coerce(Area.kind, sa.String), Area.population,
                  sa.func.coalesce(active.c.n, 0))
        .outerjoin(active, active.c.community_code == Area.code)
        .where(Area.level == AreaLevel.community, code_range)
        .order_by(Area.code)).all()
    urban_target, rural_target = target_for(AreaKind.urban), target_for(AreaKind.rural)
    child_level = CHILD_LEVEL.get(area.level)
    child_len = CODE_LENGTH[child_level] if child_level and child_level is not \
        AreaLevel.community else 0
    # Plain counters in the loop (communities, meeting, organisations): this runs per community.
    total, urban, rural = [0, 0, 0], [0, 0, 0], [0, 0, 0]
    by_child: dict[str, list[int]] = {}
    rows = []
    urban_residents = residents = 0
    for code, name, kind, population, active_orgs in communities:
        is_urban = kind == "urban"
        target = urban_target if is_urban else rural_target
        meets = active_orgs >= target
        rows.append(CommunityRow(code, name, kind, population, active_orgs, target))
        residents += population or 0
        if is_urban:
            urban_residents += population or 0
        tallies = (total, urban if is_urban else rural,
                   by_child.setdefault(code[:child_len], [0, 0, 0]) if child_len else None)
        for tally in tallies:
            if tally is not None:
                tally[0] += 1
                tally[1] += meets
                tally[2] += active_orgs
    result = Coverage(area=area, rows=rows, total=Tally(*total), urban=Tally(*urban),
                      rural=Tally(*rural))
    if child_len:
        children = db.session.scalars(sa.select(Area).where(Area.parent_code == area.code)
                                      .order_by(Area.code)).all()
        result.children = [(c, Tally(*by_child.get(c.code, (0, 0, 0)))) for c in children]
    if indicators:
        result.workers = worker_indicators(area, residents=area.population or residents,
                                           urban_residents=urban_residents)
    return result


def worker_indicators(area: Area, *, residents: int, urban_residents: int) -> dict:
    """Indicators 4 and 9 over urban communities; volunteers per 100 residents."""
    cfg = current_app.config
    certified = sa.case((Worker.certificate.in_(CERTIFIED), 1), else_=0)
    urban_workers, urban_certified = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(certified), 0))
        .select_from(Worker).join(Area, Area.code == Worker.area_code)
        .where(Worker.kind == WorkerKind.community_worker, Worker.active.is_(True),
               Area.kind == AreaKind.urban, under(Worker.area_code, area.code))).one()
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
