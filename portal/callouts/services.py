"""应急动员: calling out, answering, withdrawing, checking in and out, closing at the end.

Who is called: every verified volunteer living in the area with one of the skills asked (every
one, when none is), who has an account and is not confirmed for a shift overlapping the
call-out (needed by .. ends at). They are told in one INSERT ... SELECT into the outbox, in
the reader's language, and by SMS where their phone is verified; a call-out of the whole city
costs one statement, not one per volunteer (benchmarks/callouts.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.callouts.models import (
    MAX_HEADCOUNT,
    STILL_IN,
    AnswerState,
    Callout,
    CalloutResponse,
    CalloutState,
    subject_key,
)
from portal.callouts.permissions import calls_somewhere
from portal.core.areas import Area, under
from portal.core.audit import record
from portal.core.db import SHANGHAI, aware, utcnow
from portal.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.core.notify import Notification, deliver_after_commit, tell
from portal.core.permissions import can
from portal.extensions import db
from portal.volunteers.catalogues import SKILLS

# A time "now" may be a little behind the clock of the person who typed it.
SLACK = timedelta(minutes=5)
# An emergency, not a plan: a call-out ends within this (longer work is an activity).
LONGEST = timedelta(days=30)


@dataclass
class CalloutInput:
    title: object = None
    area_code: object = None
    place: object = None
    skills: object = field(default_factory=list)
    headcount: object = None
    needed_by: datetime | None = None
    ends_at: datetime | None = None


def _text(value, name: str, limit: int, errors: dict, message) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        errors[name] = [str(message)]
    elif len(text) > limit:
        errors[name] = [_("At most {n} characters.").format(n=limit)]
    return text


def check(data: CalloutInput, now: datetime) -> dict:
    """The call-out's fields, each wrong one named with what is wrong (422)."""
    errors: dict[str, list[str]] = {}
    title = _text(data.title, "title", 100, errors, _l("Say what is happening."))
    place = _text(data.place, "place", 200, errors, _l("Say where volunteers gather."))
    skills = data.skills if data.skills is not None else []
    if not isinstance(skills, list) or not all(isinstance(s, str) for s in skills):
        errors["skills"] = [_("A list of skills from the catalogue.")]
        skills = []
    elif unknown := [s for s in skills if s not in SKILLS]:
        errors["skills"] = [_("Not in the skills catalogue: {codes}.").format(
            codes=", ".join(unknown))]
    headcount = data.headcount
    if isinstance(headcount, bool) or not isinstance(headcount, int) \
            or not 1 <= headcount <= MAX_HEADCOUNT:
        errors["headcount"] = [_("A whole number from 1 to {max}.").format(
            max=f"{MAX_HEADCOUNT:,}")]
    needed_by, ends_at = aware(data.needed_by), aware(data.ends_at)
    if needed_by is None:
        errors["needed_by"] = [_("Say by when volunteers are needed.")]
    elif needed_by < now - SLACK:
        errors["needed_by"] = [_("This time is already past.")]
    elif needed_by > now + LONGEST:
        errors["needed_by"] = [_("A call-out is for the coming {days} days.").format(
            days=LONGEST.days)]
    if ends_at is None:
        errors["ends_at"] = [_("Say when the call-out ends.")]
    elif ends_at <= now:
        errors["ends_at"] = [_("This time is already past.")]
    elif ends_at > now + LONGEST:
        errors["ends_at"] = [_("A call-out is for the coming {days} days.").format(
            days=LONGEST.days)]
    elif needed_by is not None and ends_at <= needed_by:
        errors["ends_at"] = [_("The end must be after the time volunteers are needed by.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    return {"title": title, "place": place, "skills": sorted(set(skills)),
            "headcount": headcount, "needed_by": needed_by, "ends_at": ends_at}


def create(data: CalloutInput, *, actor, now: datetime | None = None) -> Callout:
    """Call out: the call-out, its activity (for the hours), and everyone eligible told."""
    from portal.activities.models import Activity

    now = now or utcnow()
    if not calls_somewhere(actor):
        raise Forbidden(_("Only the bureau and community workers call out volunteers."))
    code = data.area_code if isinstance(data.area_code, str) else None
    area = db.session.get(Area, code) if code else None
    if area is None:
        raise ValidationFailed(_("Please correct the marked fields."),
                               {"area_code": [_("No such area.")]})
    if not can(actor, "callout.create", area.code):
        raise Forbidden(_("You may call out volunteers only in your own area."))
    fields = check(data, now)
    activity = Activity(title=fields["title"], community_code=area.code,
                        service_type="emergency", skills=fields["skills"],
                        location=fields["place"], created_by=actor.id, coordinator_id=actor.id)
    db.session.add(activity)
    db.session.flush()
    callout = Callout(area_code=area.code, activity_id=activity.id, created_by=actor.id,
                      created_at=now, **fields)
    db.session.add(callout)
    db.session.flush()
    callout.notified = notify_eligible(callout)
    record(actor, "callout", callout.id, "create",
           to=f"{callout.title}: {callout.headcount}", area_code=area.code)
    return callout


# --- who is called ---------------------------------------------------------------------------

def has_a_skill(skills_column, skills: list[str], dialect: str):
    """SQL: the JSON list in `skills_column` holds one of `skills`."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return sa.cast(skills_column, postgresql.JSONB).op("?|")(
            postgresql.array(skills, type_=sa.Text))
    each = sa.func.json_each(skills_column).table_valued("value")
    return sa.exists(sa.select(1).select_from(each).where(each.c.value.in_(skills)))


def eligible(callout: Callout, dialect: str) -> sa.Select:
    """The volunteers a call-out reaches, with their accounts: (volunteer id, user id, locale,
    the phone to text or NULL)."""
    from portal.activities.models import Shift, Signup, SignupState
    from portal.core.users import User
    from portal.volunteers.models import Volunteer, VolunteerState

    busy = (sa.select(1).select_from(Signup).join(Shift, Shift.id == Signup.shift_id)
            .where(Signup.volunteer_id == Volunteer.id,
                   Signup.status.in_((SignupState.confirmed, SignupState.checked_in)),
                   Shift.starts_at < callout.ends_at, Shift.ends_at > callout.needed_by))
    query = (sa.select(Volunteer.id.label("volunteer_id"), User.id.label("user_id"),
                       User.locale,
                       sa.case((User.phone_verified_at.is_not(None), User.phone),
                               else_=sa.null()).label("sms_to"))
             .join(User, User.id == Volunteer.user_id)
             .where(Volunteer.status == VolunteerState.verified, User.active.is_(True),
                    under(Volunteer.community_code, callout.area_code), ~sa.exists(busy)))
    if callout.skills:
        query = query.where(has_a_skill(Volunteer.skills, callout.skills, dialect))
    return query


def _message(callout: Callout, locale: str) -> tuple[str, str]:
    with force_locale(locale):
        title = _("Call-out: {title}, {n} volunteers needed").format(
            title=callout.title, n=callout.headcount)
        body = _("Needed by {at} at {place}. Answer on the portal: yes (with when you can be "
                 "there) or no.").format(
            at=callout.needed_by.astimezone(SHANGHAI).strftime("%m-%d %H:%M"),
            place=callout.place)
    return title[:200], body


def notify_eligible(callout: Callout) -> int:
    """Everyone eligible told, in one statement; how many."""
    connection = db.session.connection()
    dialect = connection.dialect.name
    who = eligible(callout, dialect).subquery()
    (zh_title, zh_body), (en_title, en_body) = (_message(callout, "zh_Hans_CN"),
                                                _message(callout, "en"))
    english = who.c.locale.like("en%")
    table = Notification.__table__
    rows = sa.select(
        who.c.user_id, sa.literal("callout"),
        sa.literal(subject_key(callout.id, "")) + sa.cast(who.c.user_id, sa.String),
        sa.case((english, en_title), else_=zh_title),
        sa.case((english, en_body), else_=zh_body),
        sa.literal(utcnow(), table.c.created_at.type), who.c.sms_to)
    insert = table.insert().from_select(
        ["user_id", "kind", "subject_key", "title", "body", "created_at", "sms_to"], rows)
    connection.execute(insert)
    prefix = subject_key(callout.id, "")
    count = connection.scalar(sa.select(sa.func.count()).where(  # (rowcount of INSERT ...
        table.c.kind == "callout", table.c.subject_key >= prefix,  # SELECT is not portable)
        table.c.subject_key < prefix[:-1] + ";"))
    if count:
        deliver_after_commit()
    return count


_CALLED = sa.select(sa.func.count()).where(Notification.kind == "callout",
                                           Notification.subject_key == sa.bindparam("key"))


def was_called(callout_id: int, user_id: int) -> bool:
    """The user was told of the call-out (their notification says so: the outbox's unique
    index on kind and subject)."""
    return db.session.connection().scalar(
        _CALLED, {"key": subject_key(callout_id, user_id)}) > 0


# --- answers -----------------------------------------------------------------------------------

def _locked(callout_id: int) -> Callout:
    """The call-out's row, locked for this transaction (PostgreSQL; SQLite's transactions are
    IMMEDIATE): answers and withdrawals of one call-out take turns."""
    callout = db.session.scalar(sa.select(Callout).where(Callout.id == callout_id)
                                .with_for_update().execution_options(populate_existing=True))
    if callout is None:
        raise NotFound(_("No such call-out."))
    return callout


def _open(callout: Callout, now: datetime) -> None:
    if callout.state(now) is CalloutState.closed:
        raise Conflict(_("This call-out has ended."))


@dataclass(frozen=True)
class Answer:
    id: int
    status: AnswerState
    eta_minutes: int | None


_C, _R = Callout.__table__.c, CalloutResponse.__table__.c
# The answer's statements, built once: three round trips hold the call-out's lock.
_LOCK = (sa.select(_C.accepted, _C.headcount, _C.status, _C.ends_at)
         .where(_C.id == sa.bindparam("id")).with_for_update())
_ADD = (CalloutResponse.__table__.insert()
        .values({c: sa.bindparam(c, type_=_R[c].type)
                 for c in ("callout_id", "volunteer_id", "answer", "status", "eta_minutes",
                           "created_at")})
        .returning(_R.id))
_TAKE_PLACE = (Callout.__table__.update().where(_C.id == sa.bindparam("callout"))
               .values(accepted=_C.accepted + 1,
                       status=sa.case((_C.accepted + 1 >= _C.headcount, CalloutState.filled.value),
                                      else_=_C.status)))


def answer(callout_id: int, volunteer, value, eta_minutes, *, actor,
           now: datetime | None = None) -> Answer:
    """yes (accepted while places are left, else standby) or no (declined); once. Under the
    call-out's row lock: the accepted never pass the headcount, and standby keeps the order in
    which answers take the lock (their ids)."""
    now = now or utcnow()
    if volunteer is None or volunteer.user_id != actor.id or not was_called(callout_id,
                                                                            actor.id):
        if db.session.get(Callout, callout_id) is None:
            raise NotFound(_("No such call-out."))
        raise Forbidden(_("Only a volunteer who was called answers."))
    errors = {}
    if value not in ("yes", "no"):
        errors["answer"] = [_("Answer yes or no.")]
    if eta_minutes is not None and (isinstance(eta_minutes, bool)
                                    or not isinstance(eta_minutes, int)
                                    or not 0 <= eta_minutes <= 1440):
        errors["eta_minutes"] = [_("Minutes until you are there: a whole number from 0 to "
                                   "1440.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    connection = db.session.connection()
    row = connection.execute(_LOCK, {"id": callout_id}).one_or_none()
    if row is None:
        raise NotFound(_("No such call-out."))
    if row.status == CalloutState.closed or row.ends_at <= now:
        raise Conflict(_("This call-out has ended."))
    if value == "no":
        status = AnswerState.declined
    elif row.accepted < row.headcount:
        status = AnswerState.accepted
    else:
        status = AnswerState.standby
    eta = eta_minutes if value == "yes" else None
    try:
        response_id = connection.execute(_ADD, {
            "callout_id": callout_id, "volunteer_id": volunteer.id, "answer": value,
            "status": status, "eta_minutes": eta, "created_at": now}).scalar_one()
    except sa.exc.IntegrityError:  # one answer per volunteer (the unique constraint)
        raise Conflict(_("You have answered this call-out already.")) from None
    if status is AnswerState.accepted:
        connection.execute(_TAKE_PLACE, {"callout": callout_id})
    return Answer(response_id, status, eta)


def withdraw(response: CalloutResponse, *, actor, now: datetime | None = None) -> None:
    """The volunteer takes back their answer; an accepted place goes at once to the first on
    standby, who is told."""
    now = now or utcnow()
    if response.volunteer.user_id != actor.id:
        raise Forbidden(_("Only the volunteer withdraws their answer."))
    callout = _locked(response.callout_id)
    _open(callout, now)
    db.session.refresh(response)
    if response.checked_in_at is not None:
        raise Conflict(_("You are checked in: ask the coordinator to check you out."))
    was = response.status
    # Only a yes not checked in, in one statement: a check-in at the same moment wins or loses
    # whole.
    changed = db.session.execute(
        sa.update(CalloutResponse).where(
            CalloutResponse.id == response.id,
            CalloutResponse.status.in_(STILL_IN),
            CalloutResponse.checked_in_at.is_(None))
        .values(status=AnswerState.withdrawn, changed_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict(_("There is no yes to withdraw."))
    db.session.expire(response)
    if was is AnswerState.accepted:
        waiting = db.session.scalar(
            sa.select(CalloutResponse).where(CalloutResponse.callout_id == callout.id,
                                             CalloutResponse.status == AnswerState.standby)
            .order_by(CalloutResponse.id).limit(1))
        if waiting is None:
            callout.accepted -= 1
            if callout.status is CalloutState.filled:
                callout.status = CalloutState.open
        else:
            waiting.status, waiting.changed_at = AnswerState.accepted, now
            user_id = waiting.volunteer.user_id
            tell(user_id, "callout_accepted", subject_key(callout.id, user_id),
                 _l("You are needed: {title}"),
                 _l("A place was freed and it is yours. Be at {place} by {at}."),
                 title=callout.title, place=callout.place,
                 at=callout.needed_by.astimezone(SHANGHAI).strftime("%m-%d %H:%M"),
                 sms_to=_verified_phone(user_id))
    db.session.flush()


def _verified_phone(user_id: int | None) -> str | None:
    from portal.core.users import User

    user = db.session.get(User, user_id) if user_id else None
    return user.phone if user is not None and user.phone_verified_at else None


# --- at the staging point ---------------------------------------------------------------------

def _manage(response: CalloutResponse, actor) -> Callout:
    callout = response.callout
    if not can(actor, "callout.manage", callout):
        raise Forbidden(_("Only the call-out's coordinator checks volunteers in and out."))
    return callout


def check_in(response: CalloutResponse, *, actor, now: datetime | None = None):
    now = now or utcnow()
    callout = _manage(response, actor)
    if response.volunteer.user_id == actor.id:
        raise Forbidden(_("Nobody checks themselves in: another coordinator does."))
    if now < callout.created_at or now > callout.ends_at + timedelta(hours=24):
        raise Conflict(_("Check-in is open from the call-out until 24 hours after its end."))
    changed = db.session.execute(
        sa.update(CalloutResponse).where(CalloutResponse.id == response.id,
                                         CalloutResponse.status == AnswerState.accepted,
                                         CalloutResponse.checked_in_at.is_(None))
        .values(checked_in_at=now).execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict(_("Only an accepted volunteer not yet checked in can check in."))
    db.session.expire(response)
    record(actor, "callout", callout.id, "check_in", to=response.volunteer.volunteer_code,
           area_code=callout.area_code)
    return response


def check_out(response: CalloutResponse, *, actor, now: datetime | None = None):
    """A pending service record of the minutes served, check-in to check-out."""
    from portal.records.services import RecordInput, add_record

    now = now or utcnow()
    callout = _manage(response, actor)
    if response.checked_in_at is None or response.checked_out_at is not None:
        raise Conflict(_("Check in first."))
    changed = db.session.execute(
        sa.update(CalloutResponse).where(CalloutResponse.id == response.id,
                                         CalloutResponse.checked_out_at.is_(None))
        .values(checked_out_at=now).execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict(_("Someone else changed this at the same time. Please reload."))
    start, end = response.checked_in_at, min(now, callout.ends_at + timedelta(hours=24))
    minutes = max(0, int((end - start).total_seconds() // 60))
    service = None
    if minutes > 0:
        try:  # a record overlapping another of theirs: checked out all the same, no record
            with db.session.begin_nested():
                service = add_record(response.volunteer, callout.activity,
                                     RecordInput(started_at=start, ended_at=end,
                                                 minutes=minutes), actor=actor, now=now)
        except Conflict:
            service = None
        if service is not None:
            db.session.execute(sa.update(CalloutResponse).where(
                CalloutResponse.id == response.id).values(record_id=service.id)
                .execution_options(synchronize_session=False))
    db.session.expire(response)
    record(actor, "callout", callout.id, "check_out",
           to=f"{response.volunteer.volunteer_code}: {minutes} min",
           area_code=callout.area_code)
    return response, service


# --- the organiser's view and the end ----------------------------------------------------

def summary(callout: Callout, now: datetime | None = None) -> dict:
    """The contract's GET answer: counts by answer, the asked skills the accepted bring, and
    every response in order."""
    from portal.volunteers.models import Volunteer

    rows = db.session.execute(
        sa.select(CalloutResponse, Volunteer.skills)
        .join(Volunteer, Volunteer.id == CalloutResponse.volunteer_id)
        .where(CalloutResponse.callout_id == callout.id).order_by(CalloutResponse.id)).all()
    counts = {state: 0 for state in AnswerState}
    covered = dict.fromkeys(callout.skills, 0)
    for response, skills in rows:
        counts[response.status] += 1
        if response.status is AnswerState.accepted:
            for skill in skills or []:
                if skill in covered:
                    covered[skill] += 1
    return {"id": callout.id, "status": callout.state(now).value,
            "headcount": callout.headcount, "accepted": counts[AnswerState.accepted],
            "standby": counts[AnswerState.standby], "declined": counts[AnswerState.declined],
            "skills_covered": covered, "notified": callout.notified,
            "responses": [{"id": r.id, "volunteer_id": r.volunteer_id, "status": r.status.value,
                           "eta_minutes": r.eta_minutes,
                           "checked_in": r.checked_in_at is not None,
                           "checked_out": r.checked_out_at is not None}
                          for r, _skills in rows]}


def stand_down(callout: Callout, *, actor, now: datetime | None = None) -> int:
    """The coordinator ends the call-out before its time (the emergency is over): closed at
    once, and those coming or waiting are told to stand down. How many were told."""
    now = now or utcnow()
    if not can(actor, "callout.manage", callout):
        raise Forbidden(_("Only the call-out's coordinators end it."))
    callout = _locked(callout.id)
    _open(callout, now)
    callout.status, callout.closed_at = CalloutState.closed, now
    told = 0
    for response in db.session.scalars(sa.select(CalloutResponse).where(
            CalloutResponse.callout_id == callout.id,
            CalloutResponse.status.in_(STILL_IN))):
        user_id = response.volunteer.user_id
        tell(user_id, "callout_ended", subject_key(callout.id, user_id),
             _l("Stand down: {title}"),
             _l("The call-out is over before its time: thank you, you are not needed now."),
             title=callout.title, sms_to=_verified_phone(user_id))
        told += 1
    record(actor, "callout", callout.id, "close", to=str(told), area_code=callout.area_code)
    return told


def close_ended(now: datetime | None = None) -> int:
    """Periodic: call-outs past their end read closed (they already answer as closed)."""
    now = now or utcnow()
    return db.session.execute(
        sa.update(Callout).where(Callout.status != CalloutState.closed, Callout.ends_at <= now)
        .values(status=CalloutState.closed, closed_at=now)
        .execution_options(synchronize_session=False)).rowcount
