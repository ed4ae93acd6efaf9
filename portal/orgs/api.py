"""/api/v1 endpoints for organisations, incubations, workers and the coverage indicators."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, jsonify, request, send_file
from flask_babel import gettext as _
from pydantic import Field

from portal.core.api import Body, Id
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
from portal.core.areas import Area, under
from portal.core.db import MAX_ID
from portal.core.errors import ValidationFailed
from portal.core.permissions import asked_area, authorize, can
from portal.core.users import Role
from portal.extensions import db
from portal.orgs import queries, services
from portal.orgs.models import (
    Incubation,
    Org,
    OrgAdmin,
    OrgCategory,
    OrgDocument,
    OrgState,
    Stage,
    Worker,
)

bp = Blueprint("orgs_api", __name__, url_prefix="/api/v1")


def _org_or_404(org_id: int, user) -> Org:
    return visible_or_404(Org, org_id, user, "org.view")


def visible_orgs(user, query):
    """Active organisations for everyone; the rest for their admins and local staff."""
    if user is not None and user.is_admin:
        return query
    visible = [Org.status == OrgState.active]
    if user is not None:
        visible.append(Org.id.in_(sa.select(OrgAdmin.org_id).where(OrgAdmin.user_id == user.id)))
        for role in (Role.bureau, Role.community_worker):
            visible += [under(Org.community_code, code) for code in user.scopes(role)]
    return query.where(sa.or_(*visible))


class OrgIn(Body):
    name: str | None = Field(default=None, max_length=200)
    category: str | None = None
    registration: str | None = None
    uscc: str | None = Field(default=None, max_length=40)
    uscc_override_reason: str | None = Field(default=None, max_length=1000)
    community_code: str | None = Field(default=None, max_length=12)
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=30)
    founded_on: date | None = Field(default=None, strict=False)  # "YYYY-MM-DD" in JSON
    description: str | None = Field(default=None, max_length=5000)
    address: str | None = Field(default=None, max_length=200)
    rating: str | None = Field(default=None, max_length=4)
    uscc_confirmed: bool = False


def _org_input(data: OrgIn) -> services.OrgInput:
    return services.OrgInput(**data.model_dump(exclude_unset=False),
                             given=set(data.model_fields_set))


@bp.post("/orgs")
@doc("Register an organisation (any signed-in user, who becomes its org_admin)", body=OrgIn,
     responses={201: "pending", 409: "duplicate USCC", 422: "invalid"}, tag="orgs")
def post_org():
    actor = require_user()
    authorize(actor, "org.register")
    data = json_body(OrgIn)
    org = services.register_org(_org_input(data), actor=actor)
    db.session.commit()
    return jsonify(org.to_dict()), 201


def _choice(enum_cls, name: str):
    value = request.args.get(name)
    if not value:
        return None
    try:
        return enum_cls(value)
    except ValueError:
        raise ApiAbort(422, fields={name: [_("Not one of the allowed values.")]}) from None


@bp.get("/orgs")
@doc("Organisations: active ones for everyone, the rest for their admins and local staff",
     auth=False, tag="orgs", paged=True, query=('community', 'area', 'q', 'status'))
def list_orgs():
    user = api_user()
    status = _choice(OrgState, "status")
    category = _choice(OrgCategory, "category")
    query = queries.orgs_query(community=request.args.get("community"), status=status,
                               category=category, q=request.args.get("q"),
                               area=request.args.get("area"))
    full = user is not None
    return jsonify(paginate(visible_orgs(user, query),
                            lambda o: o.to_dict(full=full and can(user, "org.view_private", o))))


@bp.get("/orgs/<int:org_id>")
@doc("One organisation", auth=False, tag="orgs")
def get_org(org_id):
    user = api_user()
    org = _org_or_404(org_id, user)
    return jsonify(org.to_dict(full=can(user, "org.view_private", org)))


@bp.patch("/orgs/<int:org_id>")
@doc("Edit an organisation (its admins while under review; the bureau at any time)",
     body=OrgIn, tag="orgs")
def patch_org(org_id):
    actor = require_user()
    org = _org_or_404(org_id, actor)
    authorize(actor, "org.edit", org)
    data = json_body(OrgIn)
    services.update_org(org, _org_input(data), actor=actor)
    db.session.commit()
    return jsonify(org.to_dict())


class CommentIn(Body):
    comment: str | None = Field(default=None, max_length=2000)


@bp.post("/orgs/<int:org_id>/resubmit")
@doc("Resubmit after changes were requested", body=CommentIn, tag="orgs")
def resubmit_org(org_id):
    actor = require_user()
    org = _org_or_404(org_id, actor)
    authorize(actor, "org.resubmit", org)
    data = json_body(CommentIn)
    services.resubmit_org(org, actor=actor, comment=data.comment)
    db.session.commit()
    return jsonify(org.to_dict())


class ReviewIn(Body):
    decision: str
    comment: str | None = Field(default=None, max_length=2000)


@bp.post("/orgs/<int:org_id>/review")
@doc("Review (bureau of the organisation's area): approve, reject or request changes",
     body=ReviewIn, responses={200: "new status", 409: "not awaiting review"}, tag="orgs")
def review_org(org_id):
    actor = require_user()
    org = _org_or_404(org_id, actor)
    authorize(actor, "org.review", org)
    data = json_body(ReviewIn)
    services.review_org(org, data.decision, data.comment, actor=actor)
    db.session.commit()
    return jsonify(org.to_dict())


class StatusIn(Body):
    to: str
    comment: str | None = Field(default=None, max_length=2000)


@bp.post("/orgs/<int:org_id>/status")
@doc("Suspend, reinstate or dissolve (bureau of the organisation's area)", body=StatusIn,
     tag="orgs")
def org_status(org_id):
    actor = require_user()
    org = _org_or_404(org_id, actor)
    authorize(actor, "org.review", org)
    data = json_body(StatusIn)
    services.change_org_status(org, data.to, data.comment, actor=actor)
    db.session.commit()
    return jsonify(org.to_dict())


class AdminIn(Body):
    username: str = Field(max_length=64)


@bp.post("/orgs/<int:org_id>/admins")
@doc("Add another admin to the organisation (its admins)", body=AdminIn, tag="orgs")
def add_admin(org_id):
    actor = require_user()
    org = _org_or_404(org_id, actor)
    authorize(actor, "org.manage_admins", org)
    data = json_body(AdminIn)
    user = services.add_org_admin(org, data.username, actor=actor)
    db.session.commit()
    return jsonify({"org_id": org.id, "user_id": user.id, "username": user.username}), 201


@bp.post("/orgs/<int:org_id>/documents")
@doc("Upload a charter or document: multipart `file`, `kind` (PDF, PNG or JPEG)",
     responses={201: "stored", 413: "too large", 422: "wrong type"}, tag="orgs")
def upload_document(org_id):
    actor = require_user()
    org = _org_or_404(org_id, actor)
    authorize(actor, "org.edit", org)
    upload = request.files.get("file")
    content = upload.read() if upload else b""
    document = services.add_document(org, request.form.get("kind", "other"),
                                     upload.filename if upload else "", content, actor=actor)
    db.session.commit()
    return jsonify(document.to_dict()), 201


@bp.get("/orgs/<int:org_id>/documents")
@doc("The organisation's documents (its admins, the bureau)", tag="orgs", paged=True)
def list_documents(org_id):
    actor = require_user()
    org = _org_or_404(org_id, actor)
    authorize(actor, "org.view_private", org)
    return jsonify(paginate(sa.select(OrgDocument).where(OrgDocument.org_id == org.id)
                            .order_by(OrgDocument.id), OrgDocument.to_dict))


@bp.get("/orgs/<int:org_id>/documents/<int:doc_id>")
@doc("Download one document (its admins, the bureau)", tag="orgs")
def get_document(org_id, doc_id):
    actor = require_user()
    org = _org_or_404(org_id, actor)
    authorize(actor, "org.view_private", org)
    return send_document(org, doc_id)


def send_document(org: Org, doc_id: int):
    document = db.session.get(OrgDocument, doc_id)
    if document is None or document.org_id != org.id:
        raise ApiAbort(404)
    return send_file(services.document_path(document), mimetype=document.content_type,
                     as_attachment=True, download_name=document.filename)


# --- incubation --------------------------------------------------------------------------------

class IncubationIn(Body):
    org_id: Id
    plan: str | None = Field(default=None, max_length=10000)


@bp.post("/incubations")
@doc("Apply to the incubation base (an active organisation's admin)", body=IncubationIn,
     responses={201: "applied", 409: "already open", 422: "organisation not active"},
     tag="incubation")
def post_incubation():
    actor = require_user()
    raw = raw_json()
    org_id = raw.get("org_id") if isinstance(raw, dict) else None
    org = db.session.get(Org, org_id) if isinstance(org_id, int) and 0 < org_id <= MAX_ID \
        else None
    if org is not None and can(actor, "org.view", org):
        authorize(actor, "incubation.apply", org)
    data = json_body(IncubationIn)
    org = db.session.get(Org, data.org_id)
    if org is None or not can(actor, "org.view", org):  # one it may not know is no org
        raise ValidationFailed.on("org_id", _("No such organisation."))
    incubation = services.apply_incubation(org, data.plan, actor=actor)
    db.session.commit()
    return jsonify(incubation.to_dict()), 201


class MoveIn(Body):
    to: str
    comment: str | None = Field(default=None, max_length=2000)


def _incubation_or_404(incubation_id: int, user) -> Incubation:
    return visible_or_404(Incubation, incubation_id, user, "incubation.view")


@bp.post("/incubations/<int:incubation_id>/transition")
@doc("Move an application through the pipeline (bureau; the applicant may withdraw)",
     body=MoveIn, responses={200: "moved", 409: "illegal move"}, tag="incubation")
def move_incubation(incubation_id):
    actor = require_user()
    incubation = _incubation_or_404(incubation_id, actor)
    raw = raw_json()
    to = raw.get("to") if isinstance(raw, dict) else None
    try:
        target = Stage(to) if isinstance(to, str) else None
    except ValueError:
        target = None
    authorize(actor, "incubation.move", (incubation, target))
    data = json_body(MoveIn)
    services.move_incubation(incubation, data.to, data.comment, actor=actor)
    db.session.commit()
    return jsonify(incubation.to_dict(moves=True))


@bp.get("/incubations")
@doc("The pipeline in the caller's area, with days in stage (bureau)", tag="incubation", paged=True)
def list_incubations():
    actor = require_user()
    authorize(actor, "incubation.list")
    area = request.args.get("area")
    queries.pipeline(actor, area)  # an area outside the caller's is 403 before any validation
    query = queries.pipeline(actor, area, _choice(Stage, "stage"))
    return jsonify(paginate(query, lambda i: dict(i.to_dict(), stuck=queries.is_stuck(i))))


@bp.get("/incubations/<int:incubation_id>")
@doc("One application with its moves (bureau, the organisation's admins)", tag="incubation")
def get_incubation(incubation_id):
    actor = require_user()
    incubation = _incubation_or_404(incubation_id, actor)
    return jsonify(incubation.to_dict(moves=True))


# --- workers -----------------------------------------------------------------------------------

class WorkerIn(Body):
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=30)
    kind: str | None = None
    certificate: str | None = "none"
    employer_community_code: str | None = Field(default=None, max_length=12)
    employer_org_id: Id | None = None


@bp.post("/workers")
@doc("Register a social worker or community worker with their employer", body=WorkerIn,
     responses={201: "registered"}, tag="workers")
def post_worker():
    actor = require_user()
    authorize(actor, "worker.list")
    raw = raw_json()
    if isinstance(raw, dict):  # the employer decides who may register, before the body is judged
        org_id, code = raw.get("employer_org_id"), raw.get("employer_community_code")
        employer = (db.session.get(Org, org_id) if isinstance(org_id, int)
                    and 0 < org_id <= MAX_ID else None) or \
            (db.session.get(Area, code) if isinstance(code, str) else None)
        if employer is not None:
            authorize(actor, "worker.register", employer)
    data = json_body(WorkerIn)
    worker = services.register_worker(services.WorkerInput(**data.model_dump()), actor=actor)
    db.session.commit()
    return jsonify(worker.to_dict()), 201


@bp.get("/workers")
@doc("Workers in the caller's area (bureau, community workers) or organisations", tag="workers",
     paged=True)
def list_workers():
    actor = require_user()
    authorize(actor, "worker.list")
    query = queries.visible_workers(actor).order_by(Worker.id)
    area = request.args.get("area")
    if area:
        query = query.where(under(Worker.area_code, area))
    return jsonify(paginate(query, Worker.to_dict))


# --- indicators ----------------------------------------------------------------------------------

def _stats_area(actor) -> Area:
    return asked_area(actor, "coverage.view", request.args.get("area"))


@bp.get("/stats/org-coverage")
@doc("Active community social organisations per community against the target (bureau; "
     "community workers for their own area)", tag="indicators", query=('area',))
def org_coverage():
    actor = require_user()
    return jsonify(queries.coverage(_stats_area(actor), indicators=False).to_dict())


@bp.get("/stats/indicators")
@doc("The work-force and volunteer indicators of an area (专栏1 indicators 4 and 9, volunteers "
     "per 100 residents)", tag="indicators")
def indicators():
    actor = require_user()
    area = _stats_area(actor)
    return jsonify({"area": area.to_dict(), "indicators": queries.coverage(area).workers})
