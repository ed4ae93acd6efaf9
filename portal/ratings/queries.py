"""The figures of 好差评: for an object (an organisation: every rating it answers for), or an
area and a month; public only from RATING_MIN_PUBLIC ratings on."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from portal.core.areas import under
from portal.core.db import utcnow
from portal.extensions import db
from portal.ratings.models import BAD, GOOD, LIVE_CASES, CaseState, RatedKind, Rating, Rectification


def figures(where, *, full: bool) -> dict:
    """count, mean, good_share, bad_count, rectified_share (of the 差评s' cases, those answered
    by their deadline), overdue (live cases past it); voided ratings do not count. Below
    RATING_MIN_PUBLIC ratings, and not `full`, only the count."""
    counted = sa.and_(where, Rating.voided_at.is_(None))
    row = db.session.execute(sa.select(
        sa.func.count(), sa.func.avg(Rating.level),
        sa.func.count().filter(Rating.level.in_(GOOD)),
        sa.func.count().filter(Rating.level.in_(BAD))).where(counted)).one()
    count, mean, good, bad = row[0], row[1], row[2], row[3]
    cases = db.session.execute(sa.select(
        sa.func.count().filter(Rectification.answered_at.is_not(None),
                               Rectification.answered_late.is_(False)),
        sa.func.count(),
        sa.func.count().filter(Rectification.status.in_(LIVE_CASES),
                               Rectification.due_at < utcnow()))
        .join(Rating, Rating.id == Rectification.rating_id)
        .where(counted, Rectification.status != CaseState.voided)).one()
    shown = full or count >= current_app.config["RATING_MIN_PUBLIC"]
    return {"count": count,
            "mean": round(float(mean), 2) if shown and mean is not None else None,
            "good_share": round(good / count, 4) if shown and count else None,
            "bad_count": bad if shown else None,
            "rectified_share": round(cases[0] / cases[1], 4) if shown and cases[1] else None,
            "overdue": cases[2] if shown else None}


def object_filter(kind: RatedKind, object_id: int):
    """An organisation answers for its own ratings and those of its activities and projects."""
    if kind is RatedKind.org:
        return Rating.rated_org_id == object_id
    return sa.and_(Rating.object_type == kind, Rating.object_id == object_id)


def area_filter(area_code: str, month: int | None):
    where = under(Rating.area_code, area_code)
    return sa.and_(where, Rating.month == month) if month else where
