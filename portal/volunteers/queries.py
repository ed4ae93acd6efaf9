"""Reads of the volunteers module."""

from __future__ import annotations

import sqlalchemy as sa

from portal.core.areas import under
from portal.volunteers.models import Volunteer, VolunteerState


def visible_volunteers(actor, *, q: str | None = None, status: VolunteerState | None = None,
                       community: str | None = None) -> sa.Select:
    """Volunteers the actor may list (their staff areas; all for an admin), filtered."""
    query = sa.select(Volunteer)
    if not actor.is_admin:
        query = query.where(sa.or_(sa.false(), *[under(Volunteer.community_code, s)
                                                 for s in actor.staff_scopes()]))
    if community:
        query = query.where(under(Volunteer.community_code, community))
    if status is not None:
        query = query.where(Volunteer.status == status)
    q = (q or "").strip()
    if q:
        query = query.where(sa.or_(Volunteer.real_name.contains(q, autoescape=True),
                                   Volunteer.volunteer_code == q))
    return query
