"""Assignment proposals: an activity's posts (its future shifts with places left) filled with the
given volunteers (by default those waiting on it and those near it whom its recommendations
would rank) so that the total recommendation score is as high as possible; applied line by line
through the signup rules."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask_babel import gettext as _

from portal.activities.models import HOLDING, Activity, Shift, Signup, SignupState
from portal.activities.queries import daypart, fill_bonus, fit
from portal.assignments import solver
from portal.assignments.models import Proposal
from portal.core.audit import record
from portal.core.db import SHANGHAI, utcnow
from portal.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from portal.core.permissions import can
from portal.extensions import db
from portal.volunteers.models import Volunteer, VolunteerState

SCALE = 100  # scores in hundredths: the solver counts whole numbers
MAX_CANDIDATES = 20_000
MAX_SHIFTS = 10
LARGE = 5_000  # volunteers x classes beyond which a page runs it as a job


def posts_of(activity: Activity) -> list[Shift]:
    """The shifts still to fill: ahead, not cancelled, signups open, a place left."""
    now = utcnow()
    if not activity.signups_open:
        return []
    shifts = db.session.scalars(sa.select(Shift).where(
        Shift.activity_id == activity.id, Shift.starts_at > now, Shift.cancelled_at.is_(None),
        Shift.confirmed_count < Shift.capacity).order_by(Shift.starts_at, Shift.id)).all()
    return [s for s in shifts if now < activity.signups_close_at(s)]


def default_candidates(activity: Activity, places: int) -> list[int]:
    """Those waiting on its shifts, then the verified volunteers of its township (of its county
    when the township has fewer than three for each place left), at most MAX_CANDIDATES."""
    from portal.core.areas import under

    waiting = db.session.scalars(sa.select(Signup.volunteer_id).join(
        Shift, Shift.id == Signup.shift_id).where(
        Shift.activity_id == activity.id, Signup.status == SignupState.waitlisted)).all()
    ids = list(dict.fromkeys(waiting))
    for scope in (activity.community_code[:9], activity.community_code[:6]):
        near = db.session.scalars(sa.select(Volunteer.id).where(
            Volunteer.status == VolunteerState.verified, under(Volunteer.community_code, scope))
            .order_by(Volunteer.id).limit(MAX_CANDIDATES)).all()
        ids = list(dict.fromkeys(ids + near))
        if len(ids) >= 3 * places:
            break
    return ids[:MAX_CANDIDATES]


def fields_message() -> str:
    return _("Please correct the marked fields.")


def id_message() -> str:
    return _("An activity's number.")


def check_exclude(value) -> list[tuple[int, int]]:
    """The lines the organiser removed: [[volunteer_id, shift_id], ...]."""
    if value is None:
        return []
    ok = isinstance(value, list) and all(
        isinstance(pair, list) and len(pair) == 2
        and all(isinstance(i, int) and not isinstance(i, bool) for i in pair) for pair in value)
    if not ok:
        raise ValidationFailed(fields_message(), {"exclude": [
            _("A list of [volunteer number, shift number] pairs.")]})
    return [(pair[0], pair[1]) for pair in value]


def check(volunteer_ids, max_shifts) -> tuple[list[int] | None, int]:
    errors = {}
    if isinstance(max_shifts, bool) or not isinstance(max_shifts, int) \
            or not 1 <= max_shifts <= MAX_SHIFTS:
        errors["max_shifts"] = [_("A whole number from 1 to {max}.").format(max=MAX_SHIFTS)]
    if volunteer_ids is not None and (
            not isinstance(volunteer_ids, list) or len(volunteer_ids) > MAX_CANDIDATES
            or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0
                       for i in volunteer_ids)):
        errors["volunteer_ids"] = [_("A list of at most {n} volunteer numbers.").format(
            n=f"{MAX_CANDIDATES:,}")]
    if errors:
        raise ValidationFailed(fields_message(), errors)
    return (list(dict.fromkeys(volunteer_ids)) if volunteer_ids is not None else None,
            max_shifts)


def propose(activity: Activity, *, actor, volunteer_ids=None, max_shifts=1,
            progress: Callable[[int], None] | None = None) -> Proposal:
    if not can(actor, "activity.manage", activity):
        raise Forbidden(_("Only the activity's organiser asks for a proposal."))
    volunteer_ids, max_shifts = check(volunteer_ids, max_shifts)
    shifts = posts_of(activity)
    places = sum(s.capacity - s.confirmed_count for s in shifts)
    if volunteer_ids is None:
        volunteer_ids = default_candidates(activity, places)
    people = _candidates(volunteer_ids) if volunteer_ids and shifts else []
    if progress:
        progress(5)
    classes = sorted({(s.starts_at, s.ends_at) for s in shifts})
    local = {t: t[0].astimezone(SHANGHAI) for t in classes}
    busy, held = _commitments(activity, [v.id for v in people], classes)
    wanted, service_type, code = activity.skills, activity.service_type, activity.community_code
    min_age = activity.min_age
    candidates, reasons = [], {}
    for v in people:
        skills, types = set(v.skills or []), set(v.service_types or [])
        free, home = set(v.availability or []), v.community_code
        mine = busy.get(v.id, ())
        scored: dict = {}  # by the start's week day and day part: fit reads nothing else of it
        fits = {}
        for times in classes:
            if mine and any(s < times[1] and e > times[0] for s, e in mine):
                continue  # they hold a shift then
            start = local[times]
            if min_age and not _old_enough(v.birth_date, start.date(), min_age):
                continue
            slot = (start.weekday(), daypart(start.hour))
            if slot not in scored:
                score, why = fit(skills, types, free, home, wanted, service_type, code, start)
                scored[slot] = (round(score * SCALE), why)
            fits[times], reasons[v.id, times] = scored[slot]
        candidates.append(solver.Volunteer(v.id, fits, limit=max_shifts - held.get(v.id, 0)))
    bonuses = {s.id: fill_bonus(s.confirmed_count, s.capacity) for s in shifts}
    posts = [solver.Post(s.id, (s.starts_at, s.ends_at), s.capacity - s.confirmed_count,
                         round(bonuses[s.id][0] * SCALE)) for s in shifts]
    solution = solver.solve(candidates, posts, max_shifts, progress=progress)
    by_id = {s.id: s for s in shifts}
    fits_of = {c.id: c.fit for c in candidates}
    lines = []
    for vid, sid in solution.lines:
        times = (by_id[sid].starts_at, by_id[sid].ends_at)
        lines.append({"volunteer_id": vid, "shift_id": sid,
                      "score": (fits_of[vid][times] + round(bonuses[sid][0] * SCALE)) / SCALE,
                      "reasons": reasons[vid, times] + bonuses[sid][1]})
    lines.sort(key=lambda line: (-line["score"], line["shift_id"], line["volunteer_id"]))
    proposal = Proposal(activity_id=activity.id, created_by=actor.id, max_shifts=max_shifts,
                        lines=lines, objective=solution.objective / SCALE,
                        optimal=solution.optimal, method=solution.method,
                        unfilled={str(k): v for k, v in solution.unfilled.items()},
                        candidates=len(candidates))
    db.session.add(proposal)
    db.session.flush()
    record(actor, "activity", activity.id, "propose",
           to=f"{len(lines)} places, {len(candidates)} volunteers",
           area_code=activity.community_code)
    if progress:
        progress(100)
    return proposal


def _candidates(volunteer_ids: list[int]) -> list:
    """The verified among them, as plain rows (thousands: no ORM objects)."""
    rows = []
    columns = (Volunteer.id, Volunteer.skills, Volunteer.service_types, Volunteer.availability,
               Volunteer.community_code, Volunteer.birth_date)
    for start in range(0, len(volunteer_ids), 5000):
        rows += db.session.execute(sa.select(*columns).where(
            Volunteer.id.in_(volunteer_ids[start:start + 5000]),
            Volunteer.status == VolunteerState.verified)).all()
    return rows


def _old_enough(born, day, years: int) -> bool:
    if born is None:
        return False
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day)) >= years


def _commitments(activity: Activity, volunteer_ids: list[int], classes):
    """Each volunteer's held shifts overlapping the posts' span (busy), and how many of this
    activity's shifts they hold or wait on (counted against max_shifts)."""
    busy: dict[int, list] = {}
    held: dict[int, int] = {}
    if not volunteer_ids or not classes:
        return busy, held
    first, last = classes[0][0], max(t[1] for t in classes)
    for start in range(0, len(volunteer_ids), 5000):
        chunk = volunteer_ids[start:start + 5000]
        for vid, starts, ends, activity_id in db.session.execute(
                sa.select(Signup.volunteer_id, Shift.starts_at, Shift.ends_at, Shift.activity_id)
                .join(Shift, Shift.id == Signup.shift_id)
                .where(Signup.volunteer_id.in_(chunk),
                       sa.or_(Signup.status.in_(HOLDING),
                              sa.and_(Signup.status == SignupState.waitlisted,
                                      Shift.activity_id == activity.id)),
                       Shift.starts_at < last, Shift.ends_at > first)):
            busy.setdefault(vid, []).append((starts, ends))
            if activity_id == activity.id:
                held[vid] = held.get(vid, 0) + 1
    return busy, held


def run_proposal(activity_id: int, actor_id: int, volunteer_ids, max_shifts: int) -> dict:
    """Job: a large proposal with a progress bar; the result links to its page."""
    from flask import current_app, url_for

    from portal.core.jobs import set_progress
    from portal.core.users import User

    activity = db.session.get(Activity, activity_id)
    proposal = propose(activity, actor=db.session.get(User, actor_id),
                       volunteer_ids=volunteer_ids, max_shifts=max_shifts,
                       progress=set_progress)
    db.session.commit()
    return {"places": len(proposal.lines), "volunteers": proposal.candidates,
            "open": _path("assignments.proposal_show", current_app, url_for,
                          proposal_id=proposal.id)}


def _path(endpoint: str, app, url_for, **values) -> str:
    """A page's path from a worker, which has no request of its own."""
    with app.test_request_context():
        return url_for(endpoint, **values)


def apply(proposal: Proposal, *, actor, exclude=()) -> dict:
    """Each line through the signup rules, in its own savepoint: a place taken meanwhile (the
    signup would wait), a clash, an age limit: skipped and reported; the rest signed up."""
    from portal.activities.services import sign_up

    if not can(actor, "activity.manage", proposal.activity):
        raise Forbidden(_("Only the activity's organiser applies a proposal."))
    if proposal.applied_at is not None:
        raise Conflict(_("This proposal was applied already."))
    dropped = {(int(v), int(s)) for v, s in exclude}
    signed, skipped = 0, []
    for line in proposal.lines:
        key = (line["volunteer_id"], line["shift_id"])
        if key in dropped:
            continue
        shift, volunteer = db.session.get(Shift, key[1]), db.session.get(Volunteer, key[0])
        why = None
        nested = db.session.begin_nested()
        try:
            if shift is None or volunteer is None:
                raise NotFound(_("No such shift or volunteer any more."))
            signup = sign_up(shift, volunteer, actor=actor)
            if signup.status is not SignupState.confirmed:
                why = _("The last place was taken meanwhile.")
        except DomainError as exc:
            why = exc.message
        if why:
            nested.rollback()
            skipped.append({"volunteer_id": key[0], "shift_id": key[1], "why": str(why)})
        else:
            nested.commit()
            signed += 1
    proposal.applied_at = utcnow()
    proposal.result = {"signed_up": signed, "skipped": skipped}
    record(actor, "activity", proposal.activity_id, "assign",
           to=f"{signed} signed up, {len(skipped)} skipped",
           area_code=proposal.activity.community_code)
    return proposal.result
