"""Reads: a volunteer's hours and stars, records visible to a user.

Totals are sums over the volunteer's own records, found through the index on (volunteer_id,
status): no maintained total that could drift, and a volunteer with a thousand records sums in
well under a millisecond (see benchmarks/records.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from portal.core.db import SHANGHAI, dialect
from portal.core.users import Role
from portal.extensions import db
from portal.records.models import RecordState, ServiceRecord, hours_text


def star_thresholds() -> list[int]:
    """Approved hours for 1–5 stars (a setting; 100, 300, 600, 1000, 1500 by default)."""
    return list(current_app.config["STAR_HOURS"])


def star_level(approved_minutes: int) -> int:
    return sum(1 for hours in star_thresholds() if approved_minutes >= hours * 60)


@dataclass
class Hours:
    volunteer_id: int
    approved_minutes: int = 0
    pending_minutes: int = 0
    by_year: list[dict] = field(default_factory=list)
    by_org: list[dict] = field(default_factory=list)

    @property
    def star_level(self) -> int:
        return star_level(self.approved_minutes)

    @property
    def next_star_hours(self) -> int | None:
        for hours in star_thresholds():
            if self.approved_minutes < hours * 60:
                return hours
        return None

    def to_dict(self) -> dict:
        return {"volunteer_id": self.volunteer_id,
                "approved_minutes": self.approved_minutes,
                "pending_minutes": self.pending_minutes,
                "approved_hours": float(hours_text(self.approved_minutes)),
                "pending_hours": float(hours_text(self.pending_minutes)),
                "star_level": self.star_level, "next_star_hours": self.next_star_hours,
                "by_year": self.by_year, "by_org": self.by_org}


def _year_of(column):
    """The calendar year in Asia/Shanghai of a UTC timestamp column, on either database."""
    if dialect() == "postgresql":
        return sa.cast(sa.extract("year", sa.func.timezone("Asia/Shanghai", column)), sa.Integer)
    return sa.cast(sa.func.strftime("%Y", column, "+8 hours"), sa.Integer)


def hours(volunteer_id: int) -> Hours:
    """Approved and pending minutes, by year and by organiser (approved only): one statement,
    one pass over the volunteer's records (through the index on volunteer_id), grouped by status,
    year and organiser; the rest is adding up a few dozen groups."""
    from portal.activities.models import Activity
    from portal.core.areas import Area
    from portal.orgs.models import Org

    year = _year_of(ServiceRecord.started_at).label("year")
    rows = db.session.execute(
        sa.select(ServiceRecord.status, year, ServiceRecord.org_id, Org.name,
                  Activity.community_code, Area.name, sa.func.sum(ServiceRecord.minutes))
        .join(Activity, Activity.id == ServiceRecord.activity_id)
        .outerjoin(Org, Org.id == ServiceRecord.org_id)
        .join(Area, Area.code == Activity.community_code)
        .where(ServiceRecord.volunteer_id == volunteer_id,
               ServiceRecord.status.in_((RecordState.approved, RecordState.pending)))
        .group_by(ServiceRecord.status, year, ServiceRecord.org_id, Org.name,
                  Activity.community_code, Area.name)).all()
    result = Hours(volunteer_id)
    by_year: dict[int, int] = {}
    by_org: dict[tuple, dict] = {}
    for status, y, org_id, org_name, code, area_name, minutes in rows:
        minutes = int(minutes or 0)
        if status != RecordState.approved:
            result.pending_minutes += minutes
            continue
        result.approved_minutes += minutes
        by_year[y] = by_year.get(y, 0) + minutes
        # Per issuing organiser: the organisation, or the community that organised it.
        key = ("org", org_id) if org_id else ("community", code)
        item = by_org.setdefault(key, {"org_id": org_id,
                                       "community_code": None if org_id else code,
                                       "issuer": org_name if org_id else area_name,
                                       "approved_minutes": 0})
        item["approved_minutes"] += minutes
    result.by_year = [{"year": y, "approved_minutes": m,
                       "approved_hours": float(hours_text(m))}
                      for y, m in sorted(by_year.items(), reverse=True)]
    result.by_org = sorted(by_org.values(), key=lambda i: (-i["approved_minutes"], i["issuer"]))
    for item in result.by_org:
        item["approved_hours"] = float(hours_text(item["approved_minutes"]))
    return result


def records_query(user, *, volunteer_id=None, activity_id=None, status=None):
    """Records the user may see: their own, those of activities they organise, and (bureau,
    community workers) those of activities in their area."""
    from portal.activities.models import Activity
    from portal.core.areas import under
    from portal.orgs.models import OrgAdmin
    from portal.volunteers.models import Volunteer

    query = sa.select(ServiceRecord).join(Activity, Activity.id == ServiceRecord.activity_id)
    if not user.is_admin:
        own = ServiceRecord.volunteer_id.in_(
            sa.select(Volunteer.id).where(Volunteer.user_id == user.id))
        orgs = ServiceRecord.org_id.in_(
            sa.select(OrgAdmin.org_id).where(OrgAdmin.user_id == user.id))
        areas = [under(Activity.community_code, code)
                 for code in user.scopes(Role.community_worker) + user.scopes(Role.bureau)]
        query = query.where(sa.or_(own, orgs, *areas))
    if volunteer_id is not None:
        query = query.where(ServiceRecord.volunteer_id == volunteer_id)
    if activity_id is not None:
        query = query.where(ServiceRecord.activity_id == activity_id)
    if status is not None:
        query = query.where(ServiceRecord.status == status)
    return query.order_by(ServiceRecord.started_at.desc(), ServiceRecord.id.desc())


def local_date(value) -> str:
    return value.astimezone(SHANGHAI).date().isoformat()
