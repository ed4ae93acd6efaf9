"""/api/v1 endpoints for activities, shifts and signups."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from pydantic import Field

from portal.activities import services
from portal.activities.models import Activity, ActivityState, Shift, Signup
from portal.core.api import Body, Id
from portal.core.apiframe import (
    ApiAbort,
    api_user,
    bearer,
    doc,
    json_body,
    optional_body,
    paginate,
    raw_json,
    require_user,
    signed_in_by,
    visible_or_404,
)
from portal.core.areas import under
from portal.core.db import MAX_ID, SHANGHAI
from portal.core.errors import ValidationFailed
from portal.core.permissions import authorize, can
from portal.extensions import db
from portal.volunteers.models import Volunteer

bp = Blueprint("activities_api", __name__, url_prefix="/api/v1")


class ShiftIn(Body):
    starts_at: datetime = Field(strict=False)
    ends_at: datetime = Field(strict=False)
    capacity: int = Field(ge=1, le=services.MAX_CAPACITY)
    waitlist: bool = True


class ActivityIn(Body):
    title: str | None = Field(default=None, max_length=200)
    org_id: Id | None = None
    community_code: str | None = Field(default=None, max_length=12)
    project_id: Id | None = None
    service_type: str | None = None
    skills: list[str] = Field(default_factory=list, max_length=15)
    location: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=10000)
    min_age: int | None = Field(default=None, ge=0, le=100)
    risky: bool = False
    insurance: str | None = Field(default=None, max_length=500)
    shifts: list[ShiftIn] = Field(default_factory=list, max_length=100)
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=20)
    signup_closes_hours: int = Field(default=0, ge=0, le=24 * 14)


@bp.post("/activities")
@doc("Publish an activity with its shifts (an active organisation's admin, community workers)",
     body=ActivityIn, responses={201: "created"}, tag="activities")
def post_activity():
    actor = require_user()
    raw = raw_json()
    if isinstance(raw, dict):  # the organiser decides who may publish, before the body is judged
        org_id, code = raw.get("org_id"), raw.get("community_code")
        data = services.ActivityInput(
            org_id=org_id if isinstance(org_id, int) and 0 < org_id <= MAX_ID else None,
            community_code=code if isinstance(code, str) else None)
        organiser = services.organiser_of(data)
        if organiser is not None:
            authorize(actor, "activity.create", organiser)
    data = json_body(ActivityIn)
    activity = services.create_activity(services.ActivityInput(
        **data.model_dump(exclude={"shifts"}),
        shifts=[services.ShiftInput(**s.model_dump()) for s in data.shifts]), actor=actor)
    db.session.commit()
    return jsonify(activity.to_dict(organiser=True)), 201


def _date_arg(name: str) -> date | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiAbort(422, fields={name: [_("A date like 2021-05-01.")]}) from None


def activities_query():
    """Published activities with a shift still to come, filtered as the list asks."""
    query = sa.select(Activity).where(Activity.status == ActivityState.published)
    community = request.args.get("community") or request.args.get("area")
    if community:
        query = query.where(under(Activity.community_code, community))
    service_type = request.args.get("service_type")
    if service_type:
        query = query.where(Activity.service_type == service_type)
    q = (request.args.get("q") or "").strip()
    if q:
        query = query.where(sa.or_(Activity.title.contains(q, autoescape=True),
                                   Activity.location.contains(q, autoescape=True)))
    start, end = _date_arg("from"), _date_arg("to")
    shifts = sa.select(Shift.activity_id).where(Shift.ends_at > services.utcnow(),
                                                Shift.cancelled_at.is_(None))
    if start:
        shifts = shifts.where(Shift.starts_at >= datetime.combine(start, time(), SHANGHAI))
    if end:
        shifts = shifts.where(Shift.starts_at < datetime.combine(end, time(), SHANGHAI)
                              + timedelta(days=1))
    query = query.where(Activity.id.in_(shifts))
    skill = request.args.get("skill")
    if skill:
        # JSON arrays differ by database; a LIKE on the stored array text works on both.
        query = query.where(sa.cast(Activity.skills, sa.String).contains(f'"{skill}"',
                                                                        autoescape=True))
    # Soonest first: by the start of each activity's next shift (the one a volunteer can still
    # join), then the newest.
    next_start = (sa.select(sa.func.min(Shift.starts_at))
                  .where(Shift.activity_id == Activity.id, Shift.ends_at > services.utcnow(),
                         Shift.cancelled_at.is_(None))
                  .correlate(Activity).scalar_subquery())
    return query.order_by(next_start, Activity.id.desc())


@bp.get("/activities")
@doc("Published activities (public), by community, service type, dates, skill and text",
     auth=False, tag="activities",
     paged=True, query=('community', 'area', 'service_type', 'from', 'to', 'q', 'skill'))
def list_activities():
    return jsonify(paginate(
        activities_query(), lambda a, counts: a.to_dict(waitlist_counts=counts),
        prepare=lambda rows: Shift.waitlist_counts(s.id for a in rows for s in a.shifts)))


@bp.get("/activities/<int:activity_id>")
@doc("One activity with its shifts", auth=False, tag="activities")
def get_activity(activity_id):
    activity = db.session.get(Activity, activity_id)
    if activity is None:
        raise ApiAbort(404)
    user = api_user()
    return jsonify(activity.to_dict(organiser=can(user, "activity.manage", activity)))


class InsuranceIn(Body):
    insurance: str = Field(max_length=500)


@bp.post("/activities/<int:activity_id>/insurance")
@doc("Record the insurance of a risky activity (opens it for signup)", body=InsuranceIn,
     tag="activities")
def post_insurance(activity_id):
    actor = require_user()
    activity = db.session.get(Activity, activity_id)
    if activity is None:
        raise ApiAbort(404)
    authorize(actor, "activity.manage", activity)
    data = json_body(InsuranceIn)
    services.record_insurance(activity, data.insurance, actor=actor)
    db.session.commit()
    return jsonify(activity.to_dict(organiser=True))


@bp.get("/shifts/<int:shift_id>")
@doc("A shift with its counts (check_in_code for the organiser)", auth=False, tag="activities")
def get_shift(shift_id):
    shift = db.session.get(Shift, shift_id)
    if shift is None:
        raise ApiAbort(404)
    return jsonify(shift.to_dict(organiser=can(api_user(), "activity.manage", shift.activity)))


class SignupIn(Body):
    volunteer_id: Id | None = None


@bp.post("/shifts/<int:shift_id>/signups")
@doc("Sign up (a volunteer for themself; the organiser on behalf with volunteer_id)",
     body=SignupIn, responses={201: "confirmed or waitlisted", 409: "refused"}, tag="activities")
def post_signup(shift_id):
    value = bearer()
    if value is not None and (not request.data or raw_json() == {}):
        # A volunteer signing themself up (the body names nobody): one statement finds the
        # token, the volunteer (locked) and the shift; else step by step, which says what
        # is missing.
        found = services.own_signup_context(value, shift_id)
        if found is not None:
            token, volunteer, shift = found
            signed_in_by(token)
            return _signed_up(services.sign_up(shift, volunteer, actor=token.user,
                                               locked=True))
    actor = require_user()
    shift = services.load_shift(shift_id)
    if shift is None:
        raise ApiAbort(404)
    data = optional_body(SignupIn)
    # One signup decision per volunteer at a time: sign_up locks the volunteer's row once the
    # actor may sign them up; one's own row is locked as it is loaded (a round trip saved).
    if data.volunteer_id is not None:
        volunteer, locked = db.session.get(Volunteer, data.volunteer_id), False
        if volunteer is None:
            if not can(actor, "activity.manage", shift.activity):
                raise ApiAbort(403)
            raise ValidationFailed.on("volunteer_id", _("No such volunteer."))
    else:
        volunteer, locked = Volunteer.of_user(actor, lock=True), True
        if volunteer is None:
            raise ApiAbort(403, _("Register as a volunteer first."))
    return _signed_up(services.sign_up(shift, volunteer, actor=actor, locked=locked))


def _signed_up(signup: Signup):
    body = signup.to_dict()  # before the commit: no reload of what this request just wrote
    db.session.commit()
    return jsonify(body), 201


def _signup_or_404(signup_id: int, user) -> Signup:
    return visible_or_404(Signup, signup_id, user, "signup.view")


@bp.get("/signups/<int:signup_id>")
@doc("A signup with its current waiting-list position (the volunteer, the organiser)",
     tag="activities")
def get_signup(signup_id):
    return jsonify(_signup_or_404(signup_id, require_user()).to_dict())


@bp.delete("/signups/<int:signup_id>")
@doc("Cancel a signup; the first on the waiting list is promoted at once", tag="activities",
     responses={204: "cancelled"})
def delete_signup(signup_id):
    actor = require_user()
    signup = _signup_or_404(signup_id, actor)
    services.cancel_signup(signup, actor=actor)
    db.session.commit()
    return "", 204


@bp.get("/volunteers/<int:volunteer_id>/recommendations")
@doc("Open future shifts the volunteer can take, ranked, each with its reasons",
     tag="activities")
def get_recommendations(volunteer_id):
    from portal.activities.queries import recommendations

    volunteer = visible_or_404(Volunteer, volunteer_id, require_user(), "volunteer.view")
    items = recommendations(volunteer)
    counts = Shift.waitlist_counts(r.shift.id for r in items)
    return jsonify({"items": [r.to_dict(counts) for r in items]})


class CodeIn(Body):
    code: str | None = Field(default=None, max_length=12)


@bp.post("/signups/<int:signup_id>/check-in")
@doc("Check in (the organiser; or the volunteer with the shift's check-in code)", body=CodeIn,
     tag="activities")
def post_check_in(signup_id):
    actor = require_user()
    signup = _signup_or_404(signup_id, actor)
    data = optional_body(CodeIn)
    services.check_in(signup, actor=actor, code=data.code)
    db.session.commit()
    return jsonify(signup.to_dict())


@bp.post("/signups/<int:signup_id>/check-out")
@doc("Check out: makes a pending service record of the minutes served", body=CodeIn,
     tag="activities")
def post_check_out(signup_id):
    actor = require_user()
    signup = _signup_or_404(signup_id, actor)
    data = optional_body(CodeIn)
    _signup, record = services.check_out(signup, actor=actor, code=data.code)
    db.session.commit()
    body = signup.to_dict()
    body["service_record"] = record.to_dict() if record else None
    return jsonify(body)
