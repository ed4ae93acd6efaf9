"""/api/v1 endpoints for volunteers."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from pydantic import Field

from portal.core.api import Body
from portal.core.apiframe import (
    ApiAbort,
    api_user,
    doc,
    json_body,
    paginate,
    raw_json,
    require_user,
    visible_or_404,
)
from portal.core.auth import client_address
from portal.core.errors import DomainError, TooManyAttempts
from portal.core.permissions import authorize
from portal.core.throttle import Throttle
from portal.extensions import db
from portal.volunteers import services
from portal.volunteers.models import Volunteer, VolunteerState
from portal.volunteers.queries import visible_volunteers

bp = Blueprint("volunteers_api", __name__, url_prefix="/api/v1")


class GuardianIn(Body):
    name: str | None = Field(default=None, max_length=50)
    phone: str | None = Field(default=None, max_length=30)
    consent: bool = False


class VolunteerIn(Body):
    username: str | None = Field(default=None, max_length=64)
    password: str | None = Field(default=None, max_length=1024)
    email: str | None = Field(default=None, max_length=254)
    real_name: str | None = Field(default=None, max_length=100)
    id_type: str = "resident_id"
    id_number: str | None = Field(default=None, max_length=40)
    phone: str | None = Field(default=None, max_length=30)
    community_code: str | None = Field(default=None, max_length=12)
    skills: list[str] = Field(default_factory=list, max_length=30)
    service_types: list[str] = Field(default_factory=list, max_length=30)
    availability: list[str] = Field(default_factory=list, max_length=21)
    birth_date: date | None = Field(default=None, strict=False)
    gender: str | None = None
    guardian: GuardianIn | None = None
    # Consent to the user agreement and the privacy policy in force (/terms, /privacy): kept
    # with its versions when given. Optional here, as the contract was written before it.
    consent: bool = False


def _input(data: VolunteerIn) -> services.VolunteerInput:
    guardian = data.guardian or GuardianIn()
    fields = data.model_dump(exclude={"guardian"})
    return services.VolunteerInput(**fields, guardian_name=guardian.name,
                                   guardian_phone=guardian.phone,
                                   guardian_consent=guardian.consent)


def registration_throttle() -> Throttle:
    from flask import current_app

    cfg = current_app.config
    return Throttle("register-addr", cfg["REGISTRATION_FAILURES_PER_ADDRESS"],
                    cfg["REGISTRATION_FAILURE_WINDOW_SECONDS"])


@bp.post("/volunteers")
@doc("Register a volunteer: oneself (no token), or staff for someone in their area",
     body=VolunteerIn, auth=False,
     responses={201: "registered", 409: "same document number", 422: "invalid",
                429: "too many refused self-registrations"}, tag="volunteers")
def post_volunteer():
    actor = api_user()
    if actor is not None:
        raw = raw_json()
        code = raw.get("community_code") if isinstance(raw, dict) else None
        authorize(actor, "volunteer.register_for", code if isinstance(code, str) else None)
        data = json_body(VolunteerIn)
        volunteer = services.register_volunteer(_input(data), actor=actor)
        db.session.commit()
        return jsonify(volunteer.to_dict()), 201
    # Self-registration: only refusals count towards the per-address limit.
    throttle, address = registration_throttle(), client_address()
    if throttle.blocked(address):
        raise TooManyAttempts(_("Too many refused registrations from this address. Please "
                                "wait 15 minutes and try again."))
    try:
        data = json_body(VolunteerIn)
        volunteer = services.register_volunteer(_input(data), actor=None)
    except DomainError:
        db.session.rollback()
        throttle.hit(address)
        raise
    db.session.commit()
    return jsonify(volunteer.to_dict()), 201


def _volunteer_or_404(volunteer_id: int, user) -> Volunteer:
    return visible_or_404(Volunteer, volunteer_id, user, "volunteer.view")


@bp.get("/volunteers/<int:volunteer_id>")
@doc("A volunteer (themself, community worker of their community, bureau of their area)",
     tag="volunteers")
def get_volunteer(volunteer_id):
    actor = require_user()
    return jsonify(_volunteer_or_404(volunteer_id, actor).to_dict())


@bp.get("/volunteers")
@doc("Volunteers in the caller's area (community workers, bureau)", tag="volunteers",
     paged=True, query=('community', 'q', 'status'))
def list_volunteers():
    actor = require_user()
    authorize(actor, "volunteer.list")
    status = request.args.get("status")
    try:
        status = VolunteerState(status) if status else None
    except ValueError:
        raise ApiAbort(422, fields={"status": [_("Not one of the allowed values.")]}) from None
    query = visible_volunteers(actor, q=request.args.get("q"), status=status,
                               community=request.args.get("community")).order_by(Volunteer.id)
    return jsonify(paginate(query, Volunteer.to_dict))


@bp.post("/volunteers/<int:volunteer_id>/verify")
@doc("Verify a volunteer's identity (community worker of their community, bureau)",
     tag="volunteers")
def verify(volunteer_id):
    actor = require_user()
    volunteer = _volunteer_or_404(volunteer_id, actor)
    services.verify_volunteer(volunteer, actor=actor)
    db.session.commit()
    return jsonify(volunteer.to_dict())


class ProfileIn(Body):
    phone: str | None = Field(default=None, max_length=30)
    community_code: str | None = Field(default=None, max_length=12)
    skills: list[str] | None = Field(default=None, max_length=30)
    service_types: list[str] | None = Field(default=None, max_length=30)
    availability: list[str] | None = Field(default=None, max_length=21)
    real_name: str | None = None
    id_type: str | None = None
    id_number: str | None = None


@bp.patch("/volunteers/<int:volunteer_id>")
@doc("Edit a profile (the volunteer; local staff)", body=ProfileIn, tag="volunteers")
def patch_volunteer(volunteer_id):
    actor = require_user()
    volunteer = _volunteer_or_404(volunteer_id, actor)
    authorize(actor, "volunteer.edit", volunteer)
    data = json_body(ProfileIn)
    given = set(data.model_fields_set)
    values = {k: v for k, v in data.model_dump().items() if k in given and v is not None}
    services.update_volunteer(volunteer, services.VolunteerInput(**values), given, actor=actor)
    db.session.commit()
    return jsonify(volunteer.to_dict())


@bp.delete("/volunteers/<int:volunteer_id>")
@doc("Delete one's own account: the person's data is anonymised", tag="volunteers",
     responses={204: "deleted"})
def delete_volunteer(volunteer_id):
    actor = require_user()
    volunteer = _volunteer_or_404(volunteer_id, actor)
    services.delete_volunteer(volunteer, actor=actor)
    db.session.commit()
    return "", 204
