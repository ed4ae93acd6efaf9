"""Every write about activities, shifts and signups. Services check, change, flush and audit;
the caller commits.

Signups hold under concurrency by the database's own means: the volunteer's row is locked
first (one signup decision per volunteer at a time: no double booking, no clash), the place is
taken by a conditional UPDATE that cannot pass capacity, and a partial unique index allows one
live signup per volunteer and shift. On SQLite every transaction is BEGIN IMMEDIATE, which
serialises writers just as well.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import (
    contains_eager,
    joinedload,
    lazyload,
    load_only,
    make_transient_to_detached,
)

from portal.activities.models import (
    HOLDING,
    Activity,
    ActivityState,
    Shift,
    Signup,
    SignupState,
)
from portal.core.areas import Area, AreaLevel
from portal.core.audit import COLUMNS as AUDIT_COLUMNS
from portal.core.audit import AuditEntry, record
from portal.core.audit import row as audit_row
from portal.core.db import SHANGHAI, aware, dialect, utcnow
from portal.core.errors import Conflict, ValidationFailed
from portal.core.notify import Notification, deliver_after_commit, outbox_row, queue_notification
from portal.core.permissions import authorize
from portal.core.users import ApiToken, User, live_token, token_digest
from portal.extensions import db
from portal.orgs.models import Org, OrgState
from portal.volunteers.catalogues import SERVICE_TYPES, SKILLS
from portal.volunteers.models import Volunteer, VolunteerState

MAX_CAPACITY = 10_000


@dataclass
class ShiftInput:
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    capacity: int | None = None
    waitlist: bool = True


@dataclass
class ActivityInput:
    title: str | None = None
    org_id: int | None = None
    community_code: str | None = None
    service_type: str | None = None
    skills: list[str] = field(default_factory=list)
    location: str | None = None
    description: str | None = None
    min_age: int | None = None
    risky: bool = False
    insurance: str | None = None
    shifts: list[ShiftInput] = field(default_factory=list)
    contact_name: str | None = None
    contact_phone: str | None = None
    signup_closes_hours: int = 0
    project_id: int | None = None  # volunteer recruitment for an awarded project


def organiser_of(data: ActivityInput) -> Org | Area | None:
    if data.org_id:
        return db.session.get(Org, data.org_id)
    if data.community_code:
        return db.session.get(Area, data.community_code)
    return None


def create_activity(data: ActivityInput, *, actor: User) -> Activity:
    """An active organisation's admins, or community workers of the community, publish one."""
    organiser = organiser_of(data)
    errors: dict[str, list[str]] = {}
    if organiser is None:
        errors["org_id" if data.org_id else "community_code"] = [
            _("Give the organising organisation or community.")]
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    authorize(actor, "activity.create", organiser)
    if isinstance(organiser, Org) and organiser.status is not OrgState.active:
        errors["org_id"] = [_("Only an approved (active) organisation publishes activities.")]
    if isinstance(organiser, Area) and organiser.level is not AreaLevel.community:
        errors["community_code"] = [_("Choose a community (12-digit code).")]
    community_code = organiser.community_code if isinstance(organiser, Org) else organiser.code
    if isinstance(organiser, Org) and data.community_code and data.community_code != \
            community_code:
        area = db.session.get(Area, data.community_code)
        if area is None or area.level is not AreaLevel.community:
            errors["community_code"] = [_("Choose a community (12-digit code).")]
        else:
            community_code = area.code
    title = (data.title or "").strip()
    if not title:
        errors["title"] = [_("This field is required.")]
    location = (data.location or "").strip()
    if not location:
        errors["location"] = [_("This field is required.")]
    if data.service_type not in SERVICE_TYPES:
        errors["service_type"] = [_("Not one of the allowed values.")]
    unknown = [s for s in data.skills or [] if s not in SKILLS]
    if unknown:
        errors["skills"] = [_("Unknown: {codes}").format(codes=", ".join(unknown))]
    if data.min_age is not None and not 0 <= data.min_age <= 100:
        errors["min_age"] = [_("Out of range.")]
    if not 0 <= (data.signup_closes_hours or 0) <= MAX_CLOSE_HOURS:
        errors["signup_closes_hours"] = [_("Between 0 and {n} hours.").format(
            n=MAX_CLOSE_HOURS)]
    phone = (data.contact_phone or "").strip()
    if phone and not PHONE.match(phone):
        errors["contact_phone"] = [_("A phone number: digits, with - or spaces.")]
    if not data.shifts:
        errors["shifts"] = [_("Give at least one shift.")]
    now = utcnow()
    for index, shift in enumerate(data.shifts):
        problems = shift_problems(shift, now)
        if problems:
            errors[f"shifts.{index}"] = problems
    if data.project_id is not None:
        problem = _project_problem(data.project_id, organiser, community_code)
        if problem:
            errors["project_id"] = [problem]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    activity = Activity(
        project_id=data.project_id,
        title=title[:200], org_id=organiser.id if isinstance(organiser, Org) else None,
        community_code=community_code, service_type=data.service_type,
        skills=list(dict.fromkeys(data.skills or [])), location=location[:200],
        description=(data.description or "").strip() or None, min_age=data.min_age,
        contact_name=(data.contact_name or "").strip()[:100] or None,
        contact_phone=phone[:20] or None, signup_closes_hours=data.signup_closes_hours or 0,
        risky=bool(data.risky), created_by=actor.id, status=ActivityState.published)
    if data.risky and (data.insurance or "").strip():
        activity.insurance, activity.insured_at = data.insurance.strip()[:500], now
    activity.shifts = [Shift(starts_at=aware(s.starts_at), ends_at=aware(s.ends_at),
                             capacity=s.capacity, waitlist=bool(s.waitlist))
                       for s in data.shifts]
    db.session.add(activity)
    db.session.flush()
    record(actor, "activity", activity.id, "create", to=title[:200], area_code=community_code)
    return activity


def shift_problems(shift: ShiftInput, now: datetime | None = None) -> list[str]:
    """What is wrong with a shift's times and places (nothing: an empty list)."""
    now = now or utcnow()
    starts, ends = aware(shift.starts_at), aware(shift.ends_at)
    problems = []
    if starts is None or ends is None:
        problems.append(_("A shift has a start and an end."))
    elif ends <= starts:
        problems.append(_("A shift ends after it starts."))
    elif starts <= now:
        problems.append(_("A shift starts in the future."))
    elif ends - starts > timedelta(hours=24):
        problems.append(_("A shift lasts at most 24 hours."))
    if shift.capacity is None or not 1 <= shift.capacity <= MAX_CAPACITY:
        problems.append(_("Capacity is between 1 and {n}.").format(n=MAX_CAPACITY))
    return problems


MAX_REPEATS = 53  # a year of weekly shifts
MAX_CLOSE_HOURS = 24 * 14
PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,18}[0-9]$")


def weekly(first: ShiftInput, until: date | None) -> list[ShiftInput]:
    """The shift, and the same weekday and times every week up to and including `until`."""
    if until is None or first.starts_at is None or first.ends_at is None:
        return [first]
    starts, ends = aware(first.starts_at), aware(first.ends_at)
    if until < starts.astimezone(SHANGHAI).date():
        raise ValidationFailed.on("repeat_until", _("The last week is before the first."))
    shifts = []
    while starts.astimezone(SHANGHAI).date() <= until:
        if len(shifts) == MAX_REPEATS:
            raise ValidationFailed.on("repeat_until", _(
                "At most {n} weekly shifts at a time.").format(n=MAX_REPEATS))
        shifts.append(ShiftInput(starts_at=starts, ends_at=ends, capacity=first.capacity,
                                 waitlist=first.waitlist))
        # A week later on the wall clock (Beijing has no daylight saving, but say it so).
        starts = (starts.astimezone(SHANGHAI) + timedelta(days=7)).astimezone(starts.tzinfo)
        ends = (ends.astimezone(SHANGHAI) + timedelta(days=7)).astimezone(ends.tzinfo)
    return shifts


def add_shifts(activity: Activity, shifts: list[ShiftInput], *, actor: User) -> list[Shift]:
    """More shifts for a published activity (its organiser)."""
    authorize(actor, "activity.manage", activity)
    if not shifts:
        raise ValidationFailed.on("starts_at", _("Give at least one shift."))
    now = utcnow()
    for shift in shifts:
        problems = shift_problems(shift, now)
        if problems:
            raise ValidationFailed(_("Please correct the marked fields."), {"starts_at": problems})
    added = [Shift(activity_id=activity.id, starts_at=aware(s.starts_at),
                   ends_at=aware(s.ends_at), capacity=s.capacity, waitlist=bool(s.waitlist))
             for s in shifts]
    db.session.add_all(added)
    db.session.flush()
    record(actor, "activity", activity.id, "add_shifts", to=str(len(added)),
           area_code=activity.community_code)
    return added


def update_shift(shift: Shift, data: ShiftInput, *, actor: User) -> Shift:
    """Change a shift that has not begun: its times (its volunteers are told), its places
    (never below those already taken; more places go to the waiting list in order)."""
    authorize(actor, "activity.manage", shift.activity)
    _lock_shift(shift)
    _still_changeable(shift)
    problems = shift_problems(data)
    if problems:
        raise ValidationFailed(_("Please correct the marked fields."), {"starts_at": problems})
    if data.capacity < shift.confirmed_count:
        raise ValidationFailed.on("capacity", _(
            "{n} volunteers already hold a place: at least {n} places.").format(
            n=shift.confirmed_count))
    starts, ends = aware(data.starts_at), aware(data.ends_at)
    moved = (starts, ends) != (shift.starts_at, shift.ends_at)
    if moved:
        clashes = _clashes_at(shift, starts, ends)
        if clashes:
            raise ValidationFailed.on("starts_at", _(
                "At the new time {n} of its volunteers hold a place in another shift: keep "
                "the time, or ask them first.").format(n=clashes))
    before = _when(shift.starts_at, shift.ends_at, shift.capacity)
    shift.starts_at, shift.ends_at, shift.capacity = starts, ends, data.capacity
    shift.waitlist = bool(data.waitlist)
    if moved:
        shift.revision += 1
    db.session.flush()
    while shift.confirmed_count < shift.capacity:  # more places: the waiting, in order
        heir = _heir(shift)
        if heir is None:
            break
        _promote(shift, heir)
        db.session.refresh(shift, ["confirmed_count"])
    if moved:
        for signup in _live_signups(shift):
            notify(signup, "shift_changed", subject=f"signup:{signup.id}:r{shift.revision}")
    record(actor, "activity", shift.activity_id, "edit_shift", from_=before,
           to=_when(starts, ends, data.capacity), area_code=shift.activity.community_code)
    return shift


def _when(starts: datetime, ends: datetime, places: int) -> str:
    """A shift as the audit trail shows it: Beijing time, and its places."""
    start, end = starts.astimezone(SHANGHAI), ends.astimezone(SHANGHAI)
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} ({places})"


def cancel_shift(shift: Shift, reason: str | None, *, actor: User) -> Shift:
    """The organiser cancels a shift that has not begun: every signup on it is cancelled and
    its volunteer told why."""
    authorize(actor, "activity.manage", shift.activity)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.on("cancel_reason", _("Say why the shift is cancelled."))
    _lock_shift(shift)
    _still_changeable(shift)
    live = _live_signups(shift)
    now = utcnow()
    shift.cancelled_at, shift.cancel_reason = now, reason[:500]
    shift.revision += 1
    if live:
        db.session.execute(sa.update(Signup).where(Signup.id.in_([s.id for s in live]))
                           .values(status=SignupState.cancelled, cancelled_at=now)
                           .execution_options(synchronize_session=False))
    shift.confirmed_count = 0
    for signup in live:
        notify(signup, "shift_cancelled", subject=f"signup:{signup.id}:cancelled",
               reason=reason[:500])
    record(actor, "activity", shift.activity_id, "cancel_shift",
           to=_when(shift.starts_at, shift.ends_at, shift.capacity), reason=reason[:500],
           area_code=shift.activity.community_code)
    return shift


def _clashes_at(shift: Shift, starts: datetime, ends: datetime) -> int:
    """Volunteers holding a place in this shift who, at the new time, would also hold one in
    another shift (a move must not double-book anyone)."""
    other = _SIGNUPS.alias("other")
    other_shift = _SHIFTS.alias("other_shift")
    return db.session.scalar(
        sa.select(sa.func.count(sa.distinct(_SIGNUPS.c.volunteer_id)))
        .join(other, sa.and_(other.c.volunteer_id == _SIGNUPS.c.volunteer_id,
                             other.c.shift_id != shift.id, other.c.status.in_(HOLDING)))
        .join(other_shift, other_shift.c.id == other.c.shift_id)
        .where(_SIGNUPS.c.shift_id == shift.id, _SIGNUPS.c.status.in_(HOLDING),
               overlaps(other_shift, starts, ends))) or 0


def changeable(shift: Shift) -> bool:
    """A shift is changed or cancelled only until its check-in opens (after that volunteers are
    arriving, some checked in), and not once cancelled."""
    return shift.cancelled_at is None and utcnow() < shift.starts_at - EARLY_CHECK_IN


def _still_changeable(shift: Shift) -> None:
    """`changeable`, or the refusal that says why not."""
    if shift.cancelled_at is not None:
        raise Conflict(_("This shift was cancelled."))
    if not changeable(shift):
        raise Conflict(_("Check-in has opened for this shift: it can no longer be changed or "
                         "cancelled."))


def _lock_shift(shift: Shift) -> None:
    """The shift's row, locked and read afresh (signups take it in the same order)."""
    db.session.execute(sa.select(Shift.id).where(Shift.id == shift.id).with_for_update())
    db.session.refresh(shift)


def _live_signups(shift: Shift) -> list[Signup]:
    return list(db.session.scalars(sa.select(Signup).where(
        Signup.shift_id == shift.id,
        Signup.status.in_((SignupState.confirmed, SignupState.waitlisted)))
        .order_by(Signup.id)))


def _project_problem(project_id: int, organiser, community_code: str) -> str | None:
    """An activity may belong to an awarded project: run by its winning organisation, or by a
    community of the project's area."""
    from portal.core.areas import covers
    from portal.projects.models import Project, ProjectState

    project = db.session.get(Project, project_id)
    if project is None:
        return _("No such project.")
    if project.status not in (ProjectState.awarded, ProjectState.in_progress):
        return _("Only an awarded project recruits volunteers.")
    if isinstance(organiser, Org):
        winner = project.awarded_bid.org_id if project.awarded_bid else None
        if organiser.id != winner:
            return _("Only the organisation that won the project runs its activities.")
    elif not covers(project.area_code, community_code):
        return _("The community is outside the project's area.")
    return None


def record_insurance(activity: Activity, insurance: str, *, actor: User) -> Activity:
    """条例 Art. 17: a risky activity opens for signup once its insurance is recorded."""
    authorize(actor, "activity.manage", activity)
    text = (insurance or "").strip()
    if not text:
        raise ValidationFailed.on("insurance", _("Say which insurance covers the volunteers."))
    activity.insurance, activity.insured_at = text[:500], utcnow()
    record(actor, "activity", activity.id, "insurance", to=text[:500],
           area_code=activity.community_code)
    return activity


# --- signups -------------------------------------------------------------------------------------

# The signup's statements, built once (a signup runs each of them; a statement reused skips
# its construction and cache key).
@functools.cache
def _shift_with_activity() -> sa.Select:
    # Built on first use: loader options need every mapper, which import time has not.
    return (sa.select(Shift).where(Shift.id == sa.bindparam("shift_id"))
            .options(joinedload(Shift.activity).options(lazyload(Activity.org),
                                                        lazyload(Activity.community))))


# FOR NO KEY UPDATE: excludes every other signup decision about the volunteer, yet lets rows
# that merely refer to them (a service record, a signup) be written meanwhile.
_LOCK_VOLUNTEER = (sa.select(Volunteer.id).where(Volunteer.id == sa.bindparam("volunteer_id"))
                   .with_for_update(key_share=True))
_SIGNUPS, _SHIFTS = Signup.__table__, Shift.__table__
# Already signed up for the shift? Holding a place in one that overlaps it? (One round trip.)
def overlaps(shifts, starts, ends) -> sa.ColumnElement:
    """SQL: a shift of `shifts` (a table or an alias of it) overlaps [starts, ends). The one
    rule of a clash: a signup, a promotion and a shift's move check it alike."""
    return sa.and_(shifts.c.starts_at < ends, shifts.c.ends_at > starts)


_LIVE_AND_CLASH = sa.select(
    sa.select(_SIGNUPS.c.id).where(
        _SIGNUPS.c.shift_id == sa.bindparam("for_shift"),
        _SIGNUPS.c.volunteer_id == sa.bindparam("for_volunteer"),
        _SIGNUPS.c.status != SignupState.cancelled).limit(1).scalar_subquery().label("live"),
    sa.select(_SIGNUPS.c.id).join(_SHIFTS, _SHIFTS.c.id == _SIGNUPS.c.shift_id).where(
        _SIGNUPS.c.volunteer_id == sa.bindparam("for_volunteer"),
        _SIGNUPS.c.status.in_(HOLDING),
        overlaps(_SHIFTS, sa.bindparam("shift_starts"), sa.bindparam("shift_ends")))
    .limit(1).scalar_subquery().label("clash"))
# A place, only while there is one: the database decides, whatever runs at the same time.
_TAKE_PLACE = (_SHIFTS.update()
               .where(_SHIFTS.c.id == sa.bindparam("for_shift"),
                      _SHIFTS.c.confirmed_count < _SHIFTS.c.capacity,
                      _SHIFTS.c.cancelled_at.is_(None))
               .values(confirmed_count=_SHIFTS.c.confirmed_count + 1))
# The new row's columns and the parameters that give them. (No parameter is named after a
# column: given to an UPDATE, such a parameter becomes one more SET.)
_NEW_SIGNUP = {"shift_id": "for_shift", "volunteer_id": "for_volunteer",
               "created_by": "by_user", "created_at": "now"}


@functools.cache
def _sign_up_in_one_statement() -> sa.Select:
    """PostgreSQL: the checks, the place and the new row in one statement (a data-modifying
    WITH), run after the volunteer's lock, so its snapshot holds what the volunteer holds:

        WITH checks AS (SELECT live, clash),
             took AS (UPDATE shifts ... WHERE <place free> AND <checks passed> RETURNING id),
             added AS (INSERT INTO signups SELECT ..., <confirmed if took else waitlisted>
                       WHERE <checks passed> AND (took OR :keeps_waitlist) RETURNING *)
             audited AS (INSERT INTO audit_log SELECT ... FROM added),
             told AS (INSERT INTO notifications SELECT ... FROM added WHERE <has an account>)
        SELECT checks.live, checks.clash, added.* FROM checks LEFT JOIN added ON true

    The UPDATE is the same conditional one as on SQLite: a concurrent signup for the shift
    makes it wait, then re-check the count on the row as committed. The audit row and the
    notification are those `record` and `notify` write (their values come from `audit.row`
    and `notify.outbox_row`, one set per outcome, the statement picking by the new status)."""
    checks = _LIVE_AND_CLASH.cte("checks")
    passed = sa.and_(checks.c.live.is_(None), checks.c.clash.is_(None))
    took = (_TAKE_PLACE.where(sa.select(passed).scalar_subquery())
            .returning(_SHIFTS.c.id).cte("took"))
    took_place = sa.exists(sa.select(took.c.id))
    # No place: the shift's row is locked all the same before a waiting signup is added (an
    # UPDATE that changes nothing), so waiting signups of a shift are added one at a time, in
    # the order of their ids, and each one's position counts exactly those before it.
    held = (_SHIFTS.update()
            .where(_SHIFTS.c.id == sa.bindparam("for_shift"), ~took_place,
                   _SHIFTS.c.cancelled_at.is_(None), sa.select(passed).scalar_subquery(),
                   sa.bindparam("keeps_waitlist", type_=sa.Boolean))
            .values(confirmed_count=_SHIFTS.c.confirmed_count)
            .returning(_SHIFTS.c.id).cte("held"))
    added = (_SIGNUPS.insert().from_select(
        [*_NEW_SIGNUP, "status"],
        sa.select(*(sa.bindparam(p, type_=_SIGNUPS.c[c].type) for c, p in _NEW_SIGNUP.items()),
                  sa.case((took_place, sa.literal(SignupState.confirmed, _SIGNUPS.c.status.type)),
                          else_=sa.literal(SignupState.waitlisted, _SIGNUPS.c.status.type)))
        .select_from(checks)
        .where(passed, sa.or_(took_place, sa.exists(sa.select(held.c.id)))))
        .returning(*_SIGNUPS.c).cte("added"))
    confirmed = added.c.status == SignupState.confirmed

    def value(prefix: str, column: sa.Column) -> sa.ColumnElement:
        """The value `record` or `notify` gives the column: one parameter where both outcomes
        give the same, else the outcome's own (the statement stays short enough for the
        driver to keep its parsed form: psycopg caches statements up to 4 kB)."""
        if column.name not in _BY_OUTCOME:
            return sa.bindparam(f"{prefix}_{column.name}", type_=column.type)
        return sa.case((confirmed, sa.bindparam(f"{prefix}_confirmed_{column.name}",
                                                type_=column.type)),
                       else_=sa.bindparam(f"{prefix}_waitlisted_{column.name}",
                                          type_=column.type))

    audit_log = AuditEntry.__table__
    audited = audit_log.insert().from_select(
        _AUDIT_COLUMNS, sa.select(*(value("audit", audit_log.c[c])
                                    for c in _AUDIT_COLUMNS)).select_from(added)).cte("audited")
    outbox = Notification.__table__
    told = (outbox.insert().from_select(
        ["kind", "subject_key", *_OUTBOX_COLUMNS],
        sa.select(sa.cast(added.c.status, outbox.c.kind.type),
                  sa.literal("signup:", outbox.c.subject_key.type)
                  + sa.cast(added.c.id, outbox.c.subject_key.type),
                  *(value("note", outbox.c[c]) for c in _OUTBOX_COLUMNS))
        .select_from(added).where(sa.bindparam("note_user", type_=sa.Integer).is_not(None)))
        .cte("told"))
    return (sa.select(checks.c.live, checks.c.clash, *added.c)
            .select_from(checks.outerjoin(added, sa.true())).add_cte(audited, told))


# What the statement takes from `audit.row` and `notify.outbox_row` (the rest it makes itself:
# the kind is the new status, the subject the new signup).
_AUDIT_COLUMNS = AUDIT_COLUMNS
_OUTBOX_COLUMNS = ("user_id", "title", "body", "created_at")
# Of those, what depends on the outcome (confirmed or waiting): the rest is given once.
_BY_OUTCOME = frozenset({"to_value", "title", "body"})


def _lock_volunteer(volunteer: Volunteer) -> None:
    """One signup decision per volunteer at a time (PostgreSQL row lock; SQLite serialises)."""
    db.session.execute(_LOCK_VOLUNTEER, {"volunteer_id": volunteer.id})


# What a signup reads of the activity and the volunteer (the rest of their many columns is
# left unloaded: a row of fewer columns is cheaper to make into objects; anything else read
# later loads on first use).
_SIGNUP_READS_ACTIVITY = (Activity.id, Activity.title, Activity.location, Activity.status,
                          Activity.risky, Activity.insured_at, Activity.signup_closes_hours,
                          Activity.min_age, Activity.community_code, Activity.org_id)
_SIGNUP_READS_VOLUNTEER = (Volunteer.id, Volunteer.user_id, Volunteer.status,
                           Volunteer.birth_date, Volunteer.volunteer_code,
                           Volunteer.community_code)


@functools.cache
def _own_signup_context() -> sa.Select:
    # Built on first use: loader options need every mapper, which import time has not.
    return (sa.select(ApiToken, Volunteer, Shift)
            .join(ApiToken.user)
            .join(Volunteer, Volunteer.user_id == User.id)
            .join(Shift, Shift.id == sa.bindparam("shift_id"))
            .join(Shift.activity)
            .where(live_token())
            .options(load_only(ApiToken.id, ApiToken.user_id),
                     contains_eager(ApiToken.user).joinedload(User.grants),
                     contains_eager(Shift.activity).options(
                         load_only(*_SIGNUP_READS_ACTIVITY), lazyload(Activity.org),
                         lazyload(Activity.community)),
                     load_only(*_SIGNUP_READS_VOLUNTEER), lazyload(Volunteer.community))
            .with_for_update(of=Volunteer, key_share=True)  # as _lock_volunteer
            .execution_options(populate_existing=True))


def own_signup_context(token: str, shift_id: int) -> tuple[ApiToken, Volunteer, Shift] | None:
    """A volunteer signing themself up by API token: in one statement, the live token with
    its user, their volunteer row locked as `sign_up(..., locked=True)` wants it, and the
    shift with its activity (and the user's grants, as `find_token`). None when
    any of them is missing: the caller then finds them one by one, which tells which. The
    busiest write of the portal: three round trips fewer than one by one."""
    row = db.session.execute(_own_signup_context(), {
        "digest": token_digest(token), "now": utcnow(), "shift_id": shift_id}).unique().first()
    return None if row is None else tuple(row)


def load_shift(shift_id: int) -> Shift | None:
    """A shift with its activity, in one statement (the organiser's org and community load
    only if a permission check asks)."""
    return db.session.scalar(_shift_with_activity(), {"shift_id": shift_id})


def _age_on(volunteer: Volunteer, day: date) -> int | None:
    return volunteer.age_on(day)


def sign_up(shift: Shift, volunteer: Volunteer, *, actor: User, locked: bool = False) -> Signup:
    """Sign a volunteer up: confirmed while there is a place, else waiting (if the shift keeps
    a list). `locked`: the caller loaded the volunteer FOR UPDATE (Volunteer.of_user(...,
    lock=True)), which saves this a statement; otherwise the lock is taken here."""
    authorize(actor, "signup.create", (shift, volunteer))
    activity = shift.activity
    now = utcnow()
    if volunteer.status is VolunteerState.deleted:
        raise Conflict(_("This account has been deleted."))
    if not activity.signups_open:
        raise Conflict(_("This activity is not open for signup yet (a risky activity opens "
                         "once its insurance is recorded)."))
    if shift.starts_at <= now:
        raise Conflict(_("This shift has already started."))
    if shift.cancelled_at is not None:
        raise Conflict(_("This shift was cancelled."))
    if now >= activity.signups_close_at(shift):
        raise Conflict(_("Signups for this shift closed {hours} hours before it starts.").format(
            hours=activity.signup_closes_hours))
    if activity.min_age:
        age = _age_on(volunteer, shift.starts_at.astimezone(SHANGHAI).date())
        if age is None or age < activity.min_age:
            raise Conflict(_("This activity is for volunteers aged {n} or over.").format(
                n=activity.min_age))
    if not locked:
        _lock_volunteer(volunteer)
    # After the lock: what the checks read is what the volunteer holds.
    values = {"for_shift": shift.id, "for_volunteer": volunteer.id,
              "shift_starts": shift.starts_at, "shift_ends": shift.ends_at, "by_user": actor.id,
              "now": now, "keeps_waitlist": shift.waitlist}
    user = actor if actor.id == volunteer.user_id else None
    try:
        if dialect() == "postgresql":
            signup = _insert_in_one_statement(values, shift, volunteer, actor, user)
        else:
            signup = _insert_step_by_step(values)
            _audit_signup(signup.status, shift, volunteer, actor)
            notify(signup, signup.status.value, shift=shift, volunteer=volunteer, user=user)
    except sa.exc.IntegrityError:
        raise Conflict(_("Already signed up for this shift.")) from None
    db.session.expire(shift, ["confirmed_count"])
    return signup


def _audit_signup(status: SignupState, shift: Shift, volunteer: Volunteer, actor: User,
                  *, row_only: bool = False) -> dict | None:
    """The signup's audit row (`row_only`: its values, for a statement to insert)."""
    write = audit_row if row_only else record
    return write(actor, "activity", shift.activity_id, "signup",
                 to=f"{volunteer.volunteer_code}: {status.value}",
                 area_code=shift.activity.community_code)


def _refuse(live, clash) -> None:
    if live is not None:
        raise Conflict(_("Already signed up for this shift."))
    if clash is not None:
        raise Conflict(_("This overlaps another shift you are confirmed for."))
    raise Conflict(_("This shift is full."))


def _insert_in_one_statement(values: dict, shift: Shift, volunteer: Volunteer, actor: User,
                             user: User | None) -> Signup:
    outcomes = (SignupState.confirmed, SignupState.waitlisted)
    note = _notice_rows(shift, volunteer, user, [s.value for s in outcomes])
    values["note_user"] = volunteer.user_id if note else None
    for status in outcomes:
        audit = _audit_signup(status, shift, volunteer, actor, row_only=True)
        rows = (("audit", _AUDIT_COLUMNS, audit),
                ("note", _OUTBOX_COLUMNS, note[status.value] if note else None))
        for prefix, columns, given in rows:
            values.update({f"{prefix}_{status.value}_{c}" if c in _BY_OUTCOME
                           else f"{prefix}_{c}": given[c] if given else None for c in columns})
    row = db.session.execute(_sign_up_in_one_statement(), values).one()
    if row.id is None:
        _refuse(row.live, row.clash)
    if note:
        deliver_after_commit()
    return _persistent(row)


def _insert_step_by_step(values: dict) -> Signup:
    live, clash = db.session.execute(_LIVE_AND_CLASH, values).one()
    if live is not None or clash is not None:
        _refuse(live, clash)
    took_place = db.session.execute(_TAKE_PLACE, values).rowcount == 1
    if not took_place and not values["keeps_waitlist"]:
        _refuse(None, None)
    status = SignupState.confirmed if took_place else SignupState.waitlisted
    row = db.session.execute(_SIGNUPS.insert().returning(*_SIGNUPS.c),
                             {**{c: values[p] for c, p in _NEW_SIGNUP.items()},
                              "status": status}).one()
    return _persistent(row)


def _persistent(row) -> Signup:
    """The new row as the session's object, without reading it back."""
    signup = Signup(**{c.key: row._mapping[c.name] for c in _SIGNUPS.c})
    make_transient_to_detached(signup)
    db.session.add(signup)
    return signup


def cancel_signup(signup: Signup, *, actor: User) -> Signup:
    """Cancel; a confirmed place goes at once to the first on the waiting list who can take
    it (see `_heir`)."""
    authorize(actor, "signup.manage", signup)
    if signup.status not in (SignupState.confirmed, SignupState.waitlisted):
        raise Conflict(_("Only a confirmed or waiting signup can be cancelled."))
    shift = signup.shift
    previous = signup.status
    # The heir's volunteer is locked before the shift's row, the order a signup takes them in
    # (its volunteer, then the shift's row), so that a cancellation and a signup never wait
    # for each other.
    heir = (_heir(shift) if previous is SignupState.confirmed and shift.starts_at > utcnow()
            else None)  # nobody is promoted into a shift that has begun
    changed = db.session.execute(
        sa.update(Signup).where(Signup.id == signup.id, Signup.status == previous)
        .values(status=SignupState.cancelled, cancelled_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict(_("Someone else changed this at the same time. Please reload."))
    if previous is SignupState.confirmed:
        # Give the place back; the shift's row stays locked until commit (PostgreSQL), so
        # cancellations of one shift hand on one place each, in order.
        db.session.execute(_GIVE_BACK, {"for_shift": shift.id})
        if heir is not None:
            _promote(shift, heir)
    if signup.volunteer.user_id != actor.id:
        notify(signup, "cancelled_by_organiser")
    db.session.expire(signup)
    db.session.expire(shift, ["confirmed_count"])
    record(actor, "activity", shift.activity_id, "cancel_signup",
           from_=previous.value, to=SignupState.cancelled.value,
           area_code=shift.activity.community_code)
    return signup


_GIVE_BACK = (_SHIFTS.update()
              .where(_SHIFTS.c.id == sa.bindparam("for_shift"), _SHIFTS.c.confirmed_count > 0)
              .values(confirmed_count=_SHIFTS.c.confirmed_count - 1))


def _heir(shift: Shift) -> int | None:
    """The waiting signup that gets the next place in `shift`: the first, in arrival order,
    whose volunteer holds no place in an overlapping shift (a promotion never double-books;
    one passed over keeps their turn for the next place). Its volunteer stays locked until the
    commit. Each candidate's lock is taken in a SAVEPOINT and, if they are passed over,
    released with it: a cancellation never holds one volunteer while waiting for another."""
    waiting = db.session.execute(
        sa.select(Signup.id, Signup.volunteer_id)
        .where(Signup.shift_id == shift.id, Signup.status == SignupState.waitlisted)
        .order_by(Signup.id)).all()
    for signup_id, volunteer_id in waiting:
        savepoint = db.session.begin_nested()
        db.session.execute(_LOCK_VOLUNTEER, {"volunteer_id": volunteer_id})
        status = db.session.scalar(sa.select(_SIGNUPS.c.status)
                                   .where(_SIGNUPS.c.id == signup_id))
        clash = db.session.execute(_LIVE_AND_CLASH, {
            "for_shift": shift.id, "for_volunteer": volunteer_id,
            "shift_starts": shift.starts_at, "shift_ends": shift.ends_at}).one().clash
        if status is SignupState.waitlisted and clash is None:
            savepoint.commit()  # RELEASE SAVEPOINT: the lock stays with the transaction
            return signup_id
        savepoint.rollback()  # and the lock goes with it
    return None


def _promote(shift: Shift, signup_id: int) -> None:
    took_place = db.session.execute(_TAKE_PLACE, {"for_shift": shift.id}).rowcount == 1
    promoted = took_place and db.session.execute(
        sa.update(Signup).where(Signup.id == signup_id, Signup.status == SignupState.waitlisted)
        .values(status=SignupState.confirmed, promoted_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount == 1
    if not promoted:  # withdrawn at this very moment: the place stays free
        if took_place:
            db.session.execute(_GIVE_BACK, {"for_shift": shift.id})
        return
    notify(db.session.get(Signup, signup_id, populate_existing=True), "promoted")


NOTICES = {
    "confirmed": (_l("Signed up: {title}"),
                  _l("You are signed up for “{title}” on {when} at {place}.")),
    "waitlisted": (_l("On the waiting list: {title}"),
                   _l("“{title}” on {when} is full; you are on the waiting list and will be "
                      "told at once if a place frees up.")),
    "promoted": (_l("A place for you: {title}"),
                 _l("A place freed up: you are now signed up for “{title}” on {when} at "
                    "{place}.")),
    "reminder": (_l("Tomorrow: {title}"),
                 _l("A reminder: “{title}” is on {when} at {place}. Thank you!")),
    "cancelled_by_organiser": (_l("Cancelled: {title}"),
                               _l("The organiser cancelled your signup for “{title}” on "
                                  "{when}.")),
    "shift_changed": (_l("Changed: {title}"),
                      _l("The organiser changed the time of “{title}”: it is now on {when} at "
                         "{place}. If you cannot come, please cancel your signup.")),
    "shift_cancelled": (_l("Shift cancelled: {title}"),
                        _l("The organiser cancelled “{title}” on {when}: {reason}. Your signup "
                           "is cancelled; thank you all the same.")),
}


def notify(signup: Signup, event: str, *, shift: Shift | None = None,
           volunteer: Volunteer | None = None, user: User | None = None,
           subject: str | None = None, **values) -> None:
    """Tell the volunteer, in their language, through the outbox (delivered after commit).
    The caller may pass the rows it holds already. One notification of an event per
    `subject` (the signup, unless an event may happen to it more than once)."""
    volunteer = volunteer or db.session.get(Volunteer, signup.volunteer_id)
    if volunteer is None:
        return
    shift = shift or db.session.get(Shift, signup.shift_id)
    rows = _notice_rows(shift, volunteer, user, [event], **values)
    if rows:
        row = rows[event]
        queue_notification(row["user_id"], event, subject or f"signup:{signup.id}",
                           row["title"], row["body"])


def _notice_rows(shift: Shift, volunteer: Volunteer, user: User | None,
                 events: list[str], **extra) -> dict[str, dict] | None:
    """The outbox row of each event about this shift (`notify.outbox_row` without kind and
    subject), in the volunteer's language; None for a volunteer without an account (the
    organiser tells them in person)."""
    from portal.core.i18n import DEFAULT

    if volunteer.user_id is None:
        return None
    user = user or db.session.get(User, volunteer.user_id)
    locale = (user.locale if user else None) or DEFAULT
    starts = shift.starts_at.astimezone(SHANGHAI)  # aware: UTCDateTime refuses naive times
    values = {"title": shift.activity.title, "place": shift.activity.location,
              "when": f"{starts:%Y-%m-%d %H:%M}", **extra}
    rows = {}
    for event in events:
        title_text, body_text = _notice_texts(locale, event)
        row = outbox_row(volunteer.user_id, event, None, title_text.format(**values),
                         body_text.format(**values))
        rows[event] = {c: row[c] for c in _OUTBOX_COLUMNS}
    return rows


@functools.lru_cache(maxsize=256)
def _notice_texts(locale: str, event: str) -> tuple[str, str]:
    """An event's title and body, translated (once per language: the catalogues do not change
    while the portal runs, and every signup tells its volunteer twice over)."""
    from flask_babel import force_locale

    with force_locale(locale):
        title, body = NOTICES[event]
        return str(title), str(body)


def queue_reminders(now: datetime | None = None) -> int:
    """Remind everyone holding a place in a shift that starts tomorrow (Beijing time). Run
    daily (cron: `flask --app portal remind`); safe to run twice."""
    now = now or utcnow()
    tomorrow = (now.astimezone(SHANGHAI) + timedelta(days=1)).date()
    start = datetime.combine(tomorrow, datetime.min.time(), SHANGHAI)
    signups = db.session.scalars(
        sa.select(Signup).join(Shift, Shift.id == Signup.shift_id).where(
            Signup.status.in_(HOLDING), Shift.starts_at >= start,
            Shift.starts_at < start + timedelta(days=1))).all()
    for signup in signups:
        revision = signup.shift.revision
        notify(signup, "reminder", subject=f"signup:{signup.id}" if not revision
               else f"signup:{signup.id}:r{revision}")  # a moved shift is reminded again
    return len(signups)


# --- check-in and check-out ------------------------------------------------------------------

EARLY_CHECK_IN = timedelta(minutes=60)
ORGANISER_GRACE = timedelta(hours=24)


def _check_code(signup: Signup, actor: User, code: str | None) -> None:
    """The organiser marks it; the volunteer themself needs the shift's check-in code."""
    from portal.core.permissions import can

    if can(actor, "activity.manage", signup.shift.activity):
        return
    authorize(actor, "signup.manage", signup)
    # Six digits can be guessed: ten wrong tries in a quarter of an hour lock the signup.
    from portal.core.errors import TooManyAttempts
    from portal.core.throttle import Throttle

    throttle = Throttle("check-in-code", 10, 15 * 60)
    if throttle.blocked(str(signup.id)):
        raise TooManyAttempts(_("Too many wrong codes. Ask the organiser to check you in."))
    if (code or "").strip() != signup.shift.check_in_code:
        throttle.hit(str(signup.id))
        raise ValidationFailed.on("code", _("The check-in code is not right."))


def check_in(signup: Signup, *, actor: User, code: str | None = None,
             now: datetime | None = None) -> Signup:
    """From 60 minutes before the start until the end (the organiser: until 24 hours after)."""
    from portal.core.permissions import can

    _check_code(signup, actor, code)
    now = now or utcnow()
    shift = signup.shift
    organiser = can(actor, "activity.manage", shift.activity)
    latest = shift.ends_at + (ORGANISER_GRACE if organiser else timedelta(0))
    if not shift.starts_at - EARLY_CHECK_IN <= now <= latest:
        raise Conflict(_("Check-in opens 60 minutes before the shift and closes at its end."))
    changed = db.session.execute(
        sa.update(Signup).where(Signup.id == signup.id, Signup.status == SignupState.confirmed)
        .values(status=SignupState.checked_in, checked_in_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict(_("Only a confirmed signup can check in."))
    db.session.expire(signup)
    record(actor, "activity", shift.activity_id, "check_in",
           to=signup.volunteer.volunteer_code, area_code=shift.activity.community_code)
    return signup


def check_out(signup: Signup, *, actor: User, code: str | None = None,
              now: datetime | None = None):
    """Ends the service: a pending service record of the minutes actually served, check-in to
    check-out clipped to the shift."""
    from portal.records.services import RecordInput, add_record

    _check_code(signup, actor, code)
    now = now or utcnow()
    shift = signup.shift
    if signup.status is not SignupState.checked_in:
        raise Conflict(_("Check in first."))
    if now > shift.ends_at + ORGANISER_GRACE:
        raise Conflict(_("Too late to check out: ask the organiser to enter the record."))
    start = max(signup.checked_in_at, shift.starts_at)
    end = min(now, shift.ends_at)
    changed = db.session.execute(
        sa.update(Signup).where(Signup.id == signup.id, Signup.status == SignupState.checked_in)
        .values(status=SignupState.completed, checked_out_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict(_("Someone else changed this at the same time. Please reload."))
    minutes = max(0, int((end - start).total_seconds() // 60))
    service = None
    if minutes > 0:
        # The same rules as a record entered by hand (overlap with another record → 409).
        service = add_record(signup.volunteer, shift.activity,
                             RecordInput(started_at=start, ended_at=end, minutes=minutes),
                             actor=actor, signup_id=signup.id, now=now)
    db.session.expire(signup)
    record(actor, "activity", shift.activity_id, "check_out",
           to=f"{signup.volunteer.volunteer_code}: {minutes} min",
           area_code=shift.activity.community_code)
    from portal.ratings.models import RatedKind
    from portal.ratings.services import ask

    ask(signup.volunteer.user_id, RatedKind.activity, shift.activity_id, shift.activity.title)
    return signup, service
