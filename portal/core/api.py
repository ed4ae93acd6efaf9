"""/api/v1 endpoints of the core: auth tokens, users, areas, jobs, audit."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from flask import Blueprint, g, jsonify
from flask import request as flask_request
from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, Field

from portal.core import areas as area_service
from portal.core.apiframe import (
    ApiAbort,
    doc,
    json_body,
    openapi_view,
    paginate,
    raw_json,
    require_user,
)
from portal.core.areas import Area, AreaData, AreaLevel
from portal.core.audit import AuditEntry, entries_for, object_area
from portal.core.auth import authenticate, client_address
from portal.core.db import MAX_ID
from portal.core.jobs import JobRun, revive
from portal.core.permissions import authorize, can
from portal.core.sms import choose_community, send_code, sign_in_by_code, verify_phone
from portal.core.users import (
    SCOPE_LEVELS,
    Grant,
    Role,
    User,
    create_user,
    issue_token,
    parse_grants,
    revoke_token,
    visible_users,
)
from portal.extensions import db

bp = Blueprint("api", __name__, url_prefix="/api/v1")

bp.add_url_rule("/openapi.json", "openapi", doc("This document (OpenAPI 3.1)", auth=False)(
    openapi_view))


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Count = Annotated[int, Field(ge=0, le=MAX_ID)]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, strict=True)


class LooseBody(BaseModel):
    """A body whose fields (each `Any`) the services judge themselves, so that every wrong
    field is named at once, in the service's own words (call-outs, ratings, proposals)."""
    model_config = ConfigDict(extra="ignore")


class TokenIn(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class PhoneCodeIn(Body):
    """A phone number and the SMS code sent to it (to sign in, or to verify the phone)."""
    phone: str = Field(max_length=32)
    code: str = Field(max_length=16)


class SmsCodeIn(Body):
    phone: str = Field(max_length=32)


class MeIn(Body):
    community_code: str = Field(max_length=12)


@bp.post("/auth/sms-codes")
@doc("Send a 6-digit sign-in code to a mainland mobile number (answered alike whether or not "
     "an account holds it)", body=SmsCodeIn, auth=False,
     responses={202: "sent", 422: "malformed number", 429: "over a limit",
                503: "the gateway did not take it"}, tag="auth")
def post_sms_code():
    data = json_body(SmsCodeIn)
    wait = send_code(data.phone, client_address())
    return jsonify({"resend_after": wait}), 202


@bp.post("/auth/tokens")
@doc("Sign in: get a bearer token, by {username, password} or by {phone, code} (an SMS code; "
     "a new number makes a resident account)", body=TokenIn, auth=False,
     responses={201: "token", 401: "bad credentials or code", 422: "malformed phone or code",
                429: "too many failures"}, tag="auth")
def create_token():
    raw = raw_json()
    if isinstance(raw, dict) and ("phone" in raw or "code" in raw):
        sms = json_body(PhoneCodeIn)
        user = sign_in_by_code(sms.phone, sms.code, client_address())
    else:
        data = json_body(TokenIn)
        user = authenticate(data.username, data.password)
    token, row = issue_token(user)
    db.session.commit()
    return jsonify({"token": token, "expires_at": row.expires_at.isoformat(),
                    "user": {"id": user.id, "username": user.username, "roles": user.roles}}), 201


@bp.delete("/auth/tokens/current")
@doc("Revoke the token used for this request", responses={204: "revoked"}, tag="auth")
def delete_current_token():
    require_user()
    if g.api_token is None:
        raise ApiAbort(401)
    revoke_token(g.api_token)
    db.session.commit()
    return "", 204


@bp.get("/me")
@doc("The caller's account", tag="auth")
def me():
    return jsonify(require_user().to_dict())


@bp.patch("/me")
@doc("Choose one's own community (a resident's needs go there)", body=MeIn, tag="auth",
     responses={200: "the account", 422: "not a community"})
def patch_me():
    user = require_user()
    data = json_body(MeIn)
    choose_community(user, data.community_code)
    db.session.commit()
    return jsonify(user.to_dict())


@bp.post("/me/phone")
@doc("Verify the account's phone by an SMS code sent to it", body=PhoneCodeIn, tag="auth",
     responses={200: "the account", 409: "verified by another account",
                422: "malformed, wrong or expired"})
def post_my_phone():
    user = require_user()
    data = json_body(PhoneCodeIn)
    verify_phone(user, data.phone, data.code)
    db.session.commit()
    return jsonify(user.to_dict())


# --- users ---------------------------------------------------------------------------------

class UserIn(Body):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    roles: list[str] = Field(default_factory=list, max_length=6)
    area_code: str | None = Field(default=None, max_length=12)
    display_name: str | None = Field(default=None, max_length=100)


@bp.post("/users")
@doc("Create an account (admin; bureau for staff inside its area)", body=UserIn,
     responses={201: "created", 403: "outside the caller's area, or an admin", 409: "taken"},
     tag="users")
def post_user():
    actor = require_user()
    authorize(actor, "user.create")
    # Which roles and area are asked for decides who may ask, before the body is judged.
    raw = raw_json()
    if isinstance(raw, dict) and isinstance(raw.get("roles"), list):
        area = raw.get("area_code") if isinstance(raw.get("area_code"), str) else None
        asked = [Grant(Role(r), area if Role(r) in SCOPE_LEVELS else None)
                 for r in raw["roles"] if isinstance(r, str) and r in Role.__members__]
        authorize(actor, "user.grant", asked)
    data = json_body(UserIn)
    grants = parse_grants(data.roles, data.area_code)
    authorize(actor, "user.grant", grants)
    user = create_user(data.username, data.password, grants, actor=actor,
                       display_name=data.display_name)
    db.session.commit()
    body = {"id": user.id, "username": user.username, "roles": user.roles,
            "area_code": user.primary_area_code}
    return jsonify(body), 201


@bp.get("/users")
@doc("Accounts in the caller's area (admin: all)", tag="users", paged=True)
def list_users():
    actor = require_user()
    authorize(actor, "user.list")
    return jsonify(paginate(visible_users(actor).order_by(User.id), User.to_dict))


# --- areas ---------------------------------------------------------------------------------

@bp.get("/areas")
@doc("Areas (行政区划), filtered by parent and level", auth=False, tag="areas",
     paged=True, query=('level', 'parent'))
def list_areas():
    query = sa.select(Area).order_by(Area.code)
    parent = flask_request.args.get("parent")
    level = flask_request.args.get("level")
    if parent:
        query = query.where(Area.parent_code == parent)
    if level:
        try:
            query = query.where(Area.level == AreaLevel(level))
        except ValueError:
            raise ApiAbort(422, _("Please correct the marked fields."),
                           {"level": [_("Not one of the allowed values.")]}) from None
    return jsonify(paginate(query, Area.to_dict))


@bp.get("/areas/<code>")
@doc("One area", auth=False, tag="areas")
def get_area(code):
    area = db.session.get(Area, code)
    if area is None:
        raise ApiAbort(404)
    return jsonify(area.to_dict())


class AreaIn(Body):
    code: str = Field(min_length=1, max_length=12)
    name: str = Field(min_length=1, max_length=100)
    parent_code: str | None = Field(default=None, max_length=12)
    population: Count | None = None
    households: Count | None = None


@bp.post("/areas")
@doc("Add an area (admin; bureau inside its area)", body=AreaIn,
     responses={201: "created", 409: "code taken", 422: "invalid"}, tag="areas")
def post_area():
    actor = require_user()
    authorize(actor, "area.manage_any")
    # Where the area would go decides who may add it, before the rest of the body is judged.
    raw = raw_json()
    if isinstance(raw, dict):
        for target in (raw.get("parent_code"), _implied_parent(raw.get("code"))):
            if isinstance(target, str) and area_service.level_of(target):
                authorize(actor, "area.create", target)
    data = json_body(AreaIn)
    for target in (data.parent_code, _implied_parent(data.code)):
        if target and area_service.level_of(target):
            authorize(actor, "area.create", target)
    area = area_service.create_area(
        AreaData(code=data.code, name=data.name, parent_code=data.parent_code,
                 population=data.population, households=data.households), actor=actor)
    db.session.commit()
    return jsonify(area.to_dict()), 201


def _implied_parent(code) -> str | None:
    if not isinstance(code, str):
        return None
    code = code.strip()
    level = area_service.level_of(code)
    if level in (None, AreaLevel.city):
        return None
    return code[: area_service.CODE_LENGTH[area_service.PARENT_LEVEL[level]]]


# --- jobs and audit ------------------------------------------------------------------------

@bp.get("/jobs/<job_id>")
@doc("A background job's status and progress", tag="jobs")
def get_job(job_id):
    actor = require_user()
    run = db.session.get(JobRun, job_id)
    if run is None or not can(actor, "job.view", run):
        raise ApiAbort(404)
    if revive(run):  # lost: queued again now, by whoever watches it first
        db.session.commit()
    return jsonify(run.to_dict())


@bp.get("/audit")
@doc("An object's audit trail, oldest first (admin; bureau of the object's area)", tag="audit",
     paged=True, query=("object_type", "object_id"))
def get_audit():
    actor = require_user()
    if not (actor.is_admin or actor.has_role(Role.bureau)):
        raise ApiAbort(403)
    object_type = flask_request.args.get("object_type", "")
    object_id = flask_request.args.get("object_id", "")
    if not object_type or not object_id:
        raise ApiAbort(422, _("Please correct the marked fields."),
                       {k: [_("This field is required.")] for k, v in
                        (("object_type", object_type), ("object_id", object_id)) if not v})
    if object_area(object_type, object_id) is None and not actor.is_admin:
        raise ApiAbort(404)
    authorize(actor, "audit.read", (object_type, object_id))
    return jsonify(paginate(entries_for(object_type, object_id), AuditEntry.to_dict))

