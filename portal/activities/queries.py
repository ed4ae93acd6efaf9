"""Reads: recommended shifts for a volunteer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from portal.activities.models import HOLDING, Activity, ActivityState, Shift, Signup, SignupState
from portal.core.areas import under
from portal.core.db import SHANGHAI, utcnow
from portal.extensions import db
from portal.volunteers.models import Volunteer

WEEKDAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CANDIDATES = 2000  # shifts scored at most, nearest in the area tree first


@dataclass
class Recommendation:
    shift: Shift
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)

    def to_dict(self, waitlist_counts: dict | None = None) -> dict:
        return {"shift": self.shift.to_dict(waitlist_counts=waitlist_counts),
                "activity": self.shift.activity.to_dict(shifts=False),
                "score": round(self.score, 2), "reasons": self.reasons}


def daypart(hour: int) -> str:
    return "morning" if hour < 12 else "afternoon" if hour < 18 else "evening"


def fit(skills: set, types: set, free: set, home: str, wanted, service_type: str, code: str,
        local_start) -> tuple[float, list[str]]:
    """How well a shift suits a volunteer (the recommendation's score and reasons, without the
    shift's own fill): skills and service type wanted, nearness in the area tree (same
    community > township > county), weekly availability at the shift's start (Beijing)."""
    score, reasons = 0.0, []
    for skill in sorted(skills & set(wanted or [])):
        score += 3
        reasons.append(f"skill:{skill}")
    if service_type in types:
        score += 3
        reasons.append(f"service_type:{service_type}")
    if code == home:
        score += 4
        reasons.append("same_community")
    elif code[:9] == home[:9]:
        score += 2.5
        reasons.append("same_township")
    elif code[:6] == home[:6]:
        score += 1
        reasons.append("same_county")
    if f"{WEEKDAY_CODES[local_start.weekday()]}_{daypart(local_start.hour)}" in free:
        score += 2
        reasons.append("available")
    return score, reasons


def fill_bonus(confirmed: int, capacity: int) -> tuple[float, list[str]]:
    """The shift's own part: emptier shifts first, so that villages' find volunteers too."""
    filled = confirmed / capacity
    if filled < 0.5:
        return 2 * (1 - filled), ["under_filled"]
    return 0.0, []


def recommendations(volunteer: Volunteer, limit: int = 20) -> list[Recommendation]:
    """Open future shifts the volunteer can take, best first, each with its reasons.

    Can take: published and open for signup, not started, not full, old enough, not already
    signed up, not clashing with a shift they hold. Scored on skills and service types wanted,
    nearness in the area tree (same community > township > county), weekly availability, and
    how empty the shift still is, so that villages' and emptier shifts find volunteers too.
    """
    now = utcnow()
    home = volunteer.community_code
    held = sa.select(Signup.shift_id).where(Signup.volunteer_id == volunteer.id,
                                            Signup.status != SignupState.cancelled)
    busy = db.session.execute(
        sa.select(Shift.starts_at, Shift.ends_at).join(Signup, Signup.shift_id == Shift.id)
        .where(Signup.volunteer_id == volunteer.id, Signup.status.in_(HOLDING),
               Shift.ends_at > now)).all()
    nearness = sa.case((Activity.community_code == home, 0),
                       (under(Activity.community_code, home[:9]), 1),
                       (under(Activity.community_code, home[:6]), 2), else_=3)
    # Score from plain columns; ORM objects only for the few that are shown.
    query = (sa.select(Shift.id, Shift.starts_at, Shift.ends_at, Shift.capacity,
                       Shift.confirmed_count, Activity.community_code, Activity.service_type,
                       Activity.skills, Activity.min_age, Activity.signup_closes_hours)
             .join(Activity, Activity.id == Shift.activity_id)
             .where(Activity.status == ActivityState.published,
                    sa.or_(Activity.risky.is_(False), Activity.insured_at.is_not(None)),
                    Shift.starts_at > now, Shift.confirmed_count < Shift.capacity,
                    Shift.cancelled_at.is_(None),
                    Shift.id.not_in(held))
             .order_by(nearness, Shift.starts_at).limit(CANDIDATES))
    skills, types = set(volunteer.skills or []), set(volunteer.service_types or [])
    free = set(volunteer.availability or [])
    scored = []
    for (shift_id, starts, ends, capacity, confirmed, code, service_type, wanted,
         min_age, closes_hours) in db.session.execute(query):
        if any(s < ends and e > starts for s, e in busy):
            continue
        if closes_hours and starts - timedelta(hours=closes_hours) <= now:
            continue  # its signups have closed
        local = starts.astimezone(SHANGHAI)
        if min_age:
            age = volunteer.age_on(local.date())
            if age is None or age < min_age:
                continue
        score, reasons = fit(skills, types, free, home, wanted, service_type, code, local)
        bonus, why = fill_bonus(confirmed, capacity)
        scored.append((-(score + bonus), starts, shift_id, reasons + why))
    scored.sort()
    top = scored[:limit]
    shifts = {s.id: s for s in db.session.scalars(
        sa.select(Shift).where(Shift.id.in_([t[2] for t in top]))
        .options(joinedload(Shift.activity)))}
    items = [Recommendation(shifts[shift_id], -neg, reasons)
             for neg, _starts, shift_id, reasons in top]
    return items


def reason_title(reason: str) -> str:
    """A reason code of a recommendation, as the volunteer reads it."""
    from portal.volunteers.catalogues import SERVICE_TYPES, SKILLS

    kind, _sep, code = reason.partition(":")
    if kind == "skill":
        return _("uses your skill: {skill}").format(skill=SKILLS.get(code, code))
    if kind == "service_type":
        return _("a service you chose: {type}").format(type=SERVICE_TYPES.get(code, code))
    return {"same_community": _("in your community"), "same_township": _("in your township"),
            "same_county": _("in your county"), "available": _("when you are usually free"),
            "under_filled": _("still needs volunteers")}.get(reason, reason)
