"""/api/v1 endpoints for the catalogue, projects, bids, expert review, award, milestones and
evaluation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

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
    optional_body,
    paginate,
    raw_json,
    require_from_body,
    require_user,
    visible_or_404,
)
from portal.core.db import MAX_ID
from portal.core.errors import ValidationFailed
from portal.core.permissions import authorize, can
from portal.core.users import User
from portal.extensions import db
from portal.projects import services
from portal.projects.models import (
    Assignment,
    Bid,
    CatalogueItem,
    Evaluation,
    Milestone,
    Project,
    ProjectState,
    ScoreSheet,
)

bp = Blueprint("projects_api", __name__, url_prefix="/api/v1")

Money = str | int | float  # a float reaches the service, which refuses it (422)


# --- catalogue ---------------------------------------------------------------------------------

class CatalogueIn(Body):
    area_code: str = Field(max_length=12)
    year: int = Field(ge=2000, le=2100)
    name: str = Field(max_length=200)
    category: str = Field(max_length=100)
    unit: str = Field(max_length=50)


@bp.post("/catalogue")
@doc("Add a service to the year's purchase catalogue (目录清单; the bureau of the area)",
     body=CatalogueIn, responses={201: "added"}, tag="projects")
def post_catalogue_item():
    actor = require_user()
    require_from_body(actor, "catalogue.manage")
    data = json_body(CatalogueIn)
    item = services.add_catalogue_item(data.area_code, data.year, data.name, data.category,
                                       data.unit, actor=actor)
    db.session.commit()
    return jsonify(item.to_dict()), 201


class PublishCatalogueIn(Body):
    area_code: str = Field(max_length=12)
    year: int = Field(ge=2000, le=2100)


@bp.post("/catalogue/publish")
@doc("Publish the year's catalogue of an area", body=PublishCatalogueIn, tag="projects")
def publish_catalogue():
    actor = require_user()
    require_from_body(actor, "catalogue.manage")
    data = json_body(PublishCatalogueIn)
    count = services.publish_catalogue(data.area_code, data.year, actor=actor)
    db.session.commit()
    return jsonify({"published": count})


@bp.get("/catalogue")
@doc("The published catalogue (public), by year and area", auth=False, tag="projects",
     paged=True, query=('year', 'area'))
def list_catalogue():
    query = sa.select(CatalogueItem).where(CatalogueItem.published_at.is_not(None))
    year = request.args.get("year")
    if year:
        if not year.isascii() or not year.isdigit() or not 2000 <= int(year) <= 2100:
            raise ApiAbort(422, fields={"year": [_("A year like 2026.")]})
        query = query.where(CatalogueItem.year == int(year))
    area = request.args.get("area")
    if area:
        query = query.where(CatalogueItem.area_code == area)
    return jsonify(paginate(query.order_by(CatalogueItem.year.desc(), CatalogueItem.category,
                                           CatalogueItem.name), lambda i: i.to_dict()))


# --- projects ---------------------------------------------------------------------------------

class CriterionIn(Body):
    name: str = Field(min_length=1, max_length=100)
    weight: int = Field(ge=0, le=1000)


class TierIn(Body):
    name: str = Field(max_length=100)
    max_amount: Money


class ProjectIn(Body):
    title: str = Field(max_length=200)
    kind: str = Field(max_length=32)
    area_code: str = Field(max_length=12)
    budget: Money
    description: str | None = Field(default=None, max_length=20000)
    service_targets: str | None = Field(default=None, max_length=2000)
    bid_deadline: datetime = Field(strict=False)
    criteria: list[CriterionIn] = Field(max_length=30)
    allow_filed: bool | None = None
    catalogue_item_id: Id | None = None
    year: int | None = Field(default=None, ge=2000, le=2100)
    contract_months: int | None = Field(default=None, ge=0, le=1200)
    tiers: list[TierIn] = Field(default_factory=list, max_length=20)
    blind_review: bool = False
    need_ids: Any = None  # ids of needs it answers: judged by the service (422 on need_ids)


def project_dict(project: Project) -> dict:
    from portal.needs.services import cited_needs

    body = project.to_dict()
    needs = cited_needs(project.id)
    body["need_ids"] = [n.id for n in needs]
    body["needs"] = [{"id": n.id, "title": n.title, "status": n.status.value,
                      "community_code": n.community_code, "supporters": n.supporters}
                     for n in needs]
    if project.status in (ProjectState.awarded, ProjectState.in_progress, ProjectState.closed):
        body["volunteer_minutes"] = services.volunteer_minutes(project)
        evaluation = db.session.scalars(sa.select(Evaluation).where(
            Evaluation.project_id == project.id)).first()
        body["evaluation"] = evaluation.to_dict() if evaluation else None
    return body


@bp.post("/projects")
@doc("Create a project (the bureau of its area): draft; weights sum to 100",
     body=ProjectIn, responses={201: "draft"}, tag="projects")
def post_project():
    actor = require_user()
    require_from_body(actor, "project.create")
    data = json_body(ProjectIn)
    project = services.create_project(services.ProjectInput(
        title=data.title, kind=data.kind, area_code=data.area_code, budget=data.budget,
        bid_deadline=data.bid_deadline, criteria=[(c.name, c.weight) for c in data.criteria],
        description=data.description, service_targets=data.service_targets,
        allow_filed=data.allow_filed, catalogue_item_id=data.catalogue_item_id, year=data.year,
        contract_months=data.contract_months,
        tiers=[t.model_dump() for t in data.tiers], blind_review=data.blind_review,
        need_ids=data.need_ids or []), actor=actor)
    db.session.commit()
    return jsonify(project_dict(project)), 201


def projects_query(user):
    """Published projects for everyone; drafts too for the bureau of their area."""
    from portal.core.areas import under
    from portal.core.users import Role

    query = sa.select(Project)
    visible = [Project.status != ProjectState.draft]
    if user is not None:
        if user.is_admin:
            visible = [sa.true()]
        else:
            visible += [under(Project.area_code, c) for c in user.scopes(Role.bureau)]
    query = query.where(sa.or_(*visible))
    status = request.args.get("status")
    if status:
        if status not in ProjectState.__members__:
            raise ApiAbort(422, fields={"status": [_("Not one of the allowed values.")]})
        query = query.where(Project.status == status)
    kind = request.args.get("kind")
    if kind:
        query = query.where(Project.kind == kind)
    area = request.args.get("area")
    if area:
        query = query.where(under(Project.area_code, area))
    return query.order_by(Project.id.desc())


@bp.get("/projects")
@doc("Projects: open calls and, after award, the winner and amount (public); drafts for the "
     "bureau", auth=False, tag="projects", paged=True, query=('status', 'kind', 'area'))
def list_projects():
    services.sync_all_deadlines()
    db.session.commit()
    user = api_user()
    return jsonify(paginate(projects_query(user), project_dict))


def _project_or_404(project_id: int, user) -> Project:
    project = visible_or_404(Project, project_id, user, "project.view")
    services.sync_deadline(project)
    db.session.commit()
    return project


@bp.get("/projects/<int:project_id>")
@doc("A project (public once published)", auth=False, tag="projects")
def get_project(project_id):
    user = api_user()
    return jsonify(project_dict(_project_or_404(project_id, user)))


def _managed(project_id: int) -> tuple[Project, User]:
    actor = require_user()
    project = _project_or_404(project_id, actor)
    authorize(actor, "project.manage", project)
    return project, actor


@bp.post("/projects/<int:project_id>/publish")
@doc("Publish a draft: open for bids until bid_deadline, then reviewing by itself",
     tag="projects")
def publish_project(project_id):
    project, actor = _managed(project_id)
    services.publish(project, actor=actor)
    db.session.commit()
    return jsonify(project_dict(project))


class ReasonIn(Body):
    reason: str | None = Field(default=None, max_length=2000)


@bp.post("/projects/<int:project_id>/cancel")
@doc("Cancel a project before award, with a reason", body=ReasonIn, tag="projects")
def cancel_project(project_id):
    project, actor = _managed(project_id)
    data = json_body(ReasonIn)
    services.cancel(project, data.reason, actor=actor)
    db.session.commit()
    return jsonify(project_dict(project))


# --- bids -------------------------------------------------------------------------------------

class BidIn(Body):
    org_id: Id
    requested_amount: Money
    proposal: str | None = Field(default=None, max_length=50000)
    tier: str | None = Field(default=None, max_length=100)


@bp.post("/projects/<int:project_id>/bids")
@doc("Bid for an organisation (its admin): one per organisation, before the deadline, "
     "within the budget", body=BidIn, responses={201: "submitted"}, tag="projects")
def post_bid(project_id):
    from portal.core.users import Role
    from portal.orgs.models import Org

    actor = require_user()
    project = db.session.get(Project, project_id)  # a draft too: bidding on it is 409
    if project is None:
        raise ApiAbort(404)
    raw = raw_json()
    org_id = raw.get("org_id") if isinstance(raw, dict) else None
    org = db.session.get(Org, org_id) if isinstance(org_id, int) and 0 < org_id <= MAX_ID \
        else None
    if org is not None:
        authorize(actor, "bid.create", org)  # on behalf of another organisation: 403
    elif not actor.has_role(Role.org_admin):
        raise ApiAbort(403)  # administers no organisation: may not bid at all
    if project.status is ProjectState.draft and not can(actor, "project.manage", project) \
            and org is None:
        raise ApiAbort(404)
    data = json_body(BidIn)
    if org is None:
        raise ValidationFailed.on("org_id", _("No such organisation."))
    bid = services.submit_bid(project, org, amount=data.requested_amount,
                              proposal=data.proposal, tier=data.tier, actor=actor)
    db.session.commit()
    return jsonify(bid_dict(bid, actor)), 201


def blind_for(user, bid: Bid) -> bool:
    """Blind review: nobody but the bureau and the bidder learns who bid."""
    return bid.project.blind_review and not can(user, "project.manage", bid.project) \
        and not can(user, "bid.edit", bid)


def bid_dict(bid: Bid, user) -> dict:
    manager = can(user, "project.manage", bid.project)
    body = bid.to_dict(blind=blind_for(user, bid))
    if manager:
        body["poor_grade_before"] = bid.org_id in services.poor_grade_orgs([bid.org_id])
    return body


def _bid_or_404(bid_id: int, user) -> Bid:
    return visible_or_404(Bid, bid_id, user, "bid.view")


@bp.get("/projects/<int:project_id>/bids")
@doc("A project's bids: all for the bureau, the assigned ones for a reviewer (blind if set), "
     "its own for an organisation", tag="projects", paged=True)
def list_bids(project_id):
    from portal.orgs.models import OrgAdmin
    from portal.projects.permissions import assigned

    user = require_user()
    project = _project_or_404(project_id, user)
    from portal.projects.permissions import sealed

    query = sa.select(Bid).where(Bid.project_id == project.id).order_by(Bid.id)
    if not (can(user, "project.manage", project)
            or (assigned(user, project) and not sealed(project))):
        query = query.where(Bid.org_id.in_(sa.select(OrgAdmin.org_id)
                                           .where(OrgAdmin.user_id == user.id)))
    return jsonify(paginate(query, lambda b: bid_dict(b, user)))


@bp.get("/bids/<int:bid_id>")
@doc("A bid (its organisation, the bureau, the assigned reviewers)", tag="projects")
def get_bid(bid_id):
    user = require_user()
    return jsonify(bid_dict(_bid_or_404(bid_id, user), user))


class BidEditIn(Body):
    requested_amount: Money | None = None
    proposal: str | None = Field(default=None, max_length=50000)
    tier: str | None = Field(default=None, max_length=100)


@bp.patch("/bids/<int:bid_id>")
@doc("Edit a bid until the deadline (its organisation's admins)", body=BidEditIn,
     tag="projects")
def patch_bid(bid_id):
    actor = require_user()
    bid = _bid_or_404(bid_id, actor)
    authorize(actor, "bid.edit", bid)
    data = json_body(BidEditIn)
    services.update_bid(bid, amount=data.requested_amount, proposal=data.proposal,
                        tier=data.tier, actor=actor)
    db.session.commit()
    return jsonify(bid_dict(bid, actor))


@bp.post("/bids/<int:bid_id>/withdraw")
@doc("Withdraw a bid before the deadline", tag="projects")
def withdraw_bid(bid_id):
    actor = require_user()
    bid = _bid_or_404(bid_id, actor)
    authorize(actor, "bid.edit", bid)
    services.withdraw_bid(bid, actor=actor)
    db.session.commit()
    return jsonify(bid_dict(bid, actor))


@bp.post("/bids/<int:bid_id>/attachments")
@doc("Attach a PDF or image to a bid (multipart field `file`)", tag="projects",
     responses={201: "stored", 413: "too large"})
def post_attachment(bid_id):
    actor = require_user()
    bid = _bid_or_404(bid_id, actor)
    authorize(actor, "bid.edit", bid)
    upload = request.files.get("file")
    content = upload.read() if upload else b""
    attachment = services.add_attachment(bid, upload.filename if upload else None, content,
                                         actor=actor)
    db.session.commit()
    return jsonify(attachment.to_dict()), 201


@bp.get("/bids/<int:bid_id>/attachments/<int:attachment_id>")
@doc("Download an attachment of a bid", tag="projects")
def get_attachment(bid_id, attachment_id):
    from portal.core.uploads import path_of

    user = require_user()
    bid = _bid_or_404(bid_id, user)
    attachment = next((a for a in bid.attachments if a.id == attachment_id), None)
    if attachment is None:
        raise ApiAbort(404)
    name = attachment.neutral_name if blind_for(user, bid) else attachment.filename
    return send_file(path_of(attachment.storage_key), mimetype=attachment.content_type,
                     as_attachment=True, download_name=name)


# --- reviewers and scores ---------------------------------------------------------------------

class PoolIn(Body):
    area_code: str = Field(max_length=12)
    user_id: Id
    field: str | None = Field(default=None, max_length=100)


@bp.post("/reviewer-pool")
@doc("Add an expert to the bureau's reviewer pool (grants the reviewer role)", body=PoolIn,
     responses={201: "added"}, tag="projects")
def post_pool_member():
    actor = require_user()
    require_from_body(actor, "catalogue.manage")
    data = json_body(PoolIn)
    user = db.session.get(User, data.user_id)
    if user is None:
        raise ValidationFailed.on("user_id", _("No such account."))
    member = services.add_to_pool(data.area_code, user, actor=actor, expertise=data.field)
    db.session.commit()
    return jsonify({"id": member.id, "area_code": member.area_code, "user_id": user.id,
                    "username": user.username, "field": member.field}), 201


class ReviewerIn(Body):
    user_id: Id


@bp.post("/projects/<int:project_id>/reviewers")
@doc("Assign an expert reviewer from the pool (the bureau)", body=ReviewerIn,
     responses={201: "assigned", 409: "already assigned"}, tag="projects")
def post_reviewer(project_id):
    project, actor = _managed(project_id)
    data = json_body(ReviewerIn)
    assignment = services.assign_reviewer(project, db.session.get(User, data.user_id),
                                          actor=actor)
    db.session.commit()
    return jsonify(assignment.to_dict()), 201


class DrawIn(Body):
    count: int = Field(ge=1, le=50)


@bp.post("/projects/<int:project_id>/reviewers/draw")
@doc("Draw reviewers at random from the pool (the bureau)", body=DrawIn,
     responses={201: "assigned"}, tag="projects")
def draw_reviewers(project_id):
    project, actor = _managed(project_id)
    data = json_body(DrawIn)
    chosen = services.draw_reviewers(project, data.count, actor=actor)
    db.session.commit()
    return jsonify({"items": [a.to_dict() for a in chosen]}), 201


@bp.get("/projects/<int:project_id>/reviewers")
@doc("A project's reviewers (the bureau)", tag="projects")
def list_reviewers(project_id):
    project, _actor = _managed(project_id)
    rows = db.session.scalars(sa.select(Assignment).where(Assignment.project_id == project.id)
                              .order_by(Assignment.id)).all()
    return jsonify({"items": [a.to_dict() for a in rows]})


class ScoreIn(Body):
    conflict_of_interest: bool = False
    scores: dict[str, int] = Field(default_factory=dict, max_length=30)
    comment: str | None = Field(default=None, max_length=5000)


@bp.post("/bids/<int:bid_id>/scores")
@doc("Score a bid (an assigned reviewer, while the project is under review); a declared "
     "conflict of interest scores nothing", body=ScoreIn,
     responses={201: "scored", 409: "not under review, or scored already"}, tag="projects")
def post_scores(bid_id):
    from portal.projects.permissions import assigned

    actor = require_user()
    bid = db.session.get(Bid, bid_id)
    # An assigned reviewer knows of the bid even while bids are sealed: scoring then is 409.
    if bid is None or not (can(actor, "bid.view", bid) or assigned(actor, bid.project)):
        raise ApiAbort(404)
    authorize(actor, "bid.score", bid)
    raw = raw_json()
    if isinstance(raw, dict) and isinstance(raw.get("scores"), dict):
        # scores outside 0-100 are a value problem (422), not a type problem
        bad = {k: v for k, v in raw["scores"].items()
               if isinstance(v, int) and not isinstance(v, bool) and not 0 <= v <= 100}
        if bad:
            raise ValidationFailed(_("Please correct the marked fields."),
                                   {f"scores.{k}": [_("A whole number from 0 to 100.")]
                                    for k in bad})
    data = json_body(ScoreIn)
    sheet = services.submit_scores(bid, reviewer=actor, conflict=data.conflict_of_interest,
                                   scores=data.scores, comment=data.comment)
    db.session.commit()
    return jsonify(sheet.to_dict()), 201


@bp.get("/projects/<int:project_id>/ranking")
@doc("Bids ranked by the mean weighted score (the bureau)", tag="projects")
def get_ranking(project_id):
    project, _actor = _managed(project_id)
    return jsonify({"items": services.ranking(project)})


@bp.get("/projects/<int:project_id>/scores")
@doc("Every reviewer's sheet (the bureau; hidden from everyone else until review closes)",
     tag="projects")
def get_sheets(project_id):
    project, _actor = _managed(project_id)
    rows = db.session.scalars(sa.select(ScoreSheet).join(Bid, Bid.id == ScoreSheet.bid_id)
                              .where(Bid.project_id == project.id)
                              .order_by(ScoreSheet.bid_id, ScoreSheet.id)).all()
    return jsonify({"items": [s.to_dict() for s in rows]})


@bp.get("/bids/<int:bid_id>/scores")
@doc("A bid's score sheets: the bureau always; a reviewer their own; the bidding "
     "organisation once review has closed", tag="projects")
def get_bid_sheets(bid_id):
    user = require_user()
    bid = _bid_or_404(bid_id, user)
    query = sa.select(ScoreSheet).where(ScoreSheet.bid_id == bid.id).order_by(ScoreSheet.id)
    if not can(user, "project.manage", bid.project):
        closed = bid.project.status not in (ProjectState.draft, ProjectState.open,
                                            ProjectState.reviewing)
        if not (closed and can(user, "bid.edit", bid)):
            query = query.where(ScoreSheet.reviewer_id == user.id)
    return jsonify({"items": [s.to_dict() for s in db.session.scalars(query)]})


# --- award, milestones, evaluation ----------------------------------------------------------

class AwardIn(Body):
    bid_id: Id
    amount: Money | None = None
    co_funding: Any = None  # [{"fund_id", "amount"}]: judged by the ledger (422 on the item)
    contract_start: date | None = Field(default=None, strict=False)
    contract_end: date | None = Field(default=None, strict=False)


@bp.post("/projects/<int:project_id>/award")
@doc("Award the project to one bid (the bureau); a second award is refused", body=AwardIn,
     tag="projects")
def post_award(project_id):
    project, actor = _managed(project_id)
    data = json_body(AwardIn)
    services.award(project, data.bid_id, actor=actor, amount=data.amount,
                   contract_start=data.contract_start, contract_end=data.contract_end,
                   co_funding=data.co_funding)
    db.session.commit()
    return jsonify(project_dict(project))


class MilestoneIn(Body):
    title: str = Field(max_length=200)
    due_on: date = Field(strict=False)


@bp.post("/projects/<int:project_id>/milestones")
@doc("Add a milestone to an awarded project (makes it in_progress)", body=MilestoneIn,
     responses={201: "added"}, tag="projects")
def post_milestone(project_id):
    project, actor = _managed(project_id)
    data = json_body(MilestoneIn)
    milestone = services.add_milestone(project, data.title, data.due_on, actor=actor)
    db.session.commit()
    body = milestone.to_dict()
    body["project_status"] = project.status.value
    return jsonify(body), 201


@bp.get("/projects/<int:project_id>/milestones")
@doc("A project's milestones (public once awarded)", auth=False, tag="projects")
def list_milestones(project_id):
    project = _project_or_404(project_id, api_user())
    rows = db.session.scalars(sa.select(Milestone).where(Milestone.project_id == project.id)
                              .order_by(Milestone.due_on, Milestone.id)).all()
    return jsonify({"items": [m.to_dict() for m in rows]})


class ReportIn(Body):
    report: str = Field(max_length=20000)


@bp.post("/milestones/<int:milestone_id>/report")
@doc("Report on a milestone (the winning organisation's admins): JSON {report}, or a multipart "
     "form with `report` and an attachment `file` (PDF or image)", body=ReportIn,
     tag="projects")
def post_report(milestone_id):
    actor = require_user()
    milestone = db.session.get(Milestone, milestone_id)
    if milestone is None:
        raise ApiAbort(404)
    authorize(actor, "milestone.report", milestone)
    upload = request.files.get("file")
    if request.mimetype == "multipart/form-data":
        text = request.form.get("report")
    else:
        text = json_body(ReportIn).report
    services.report_milestone(milestone, text, actor=actor,
                              filename=upload.filename if upload else None,
                              content=upload.read() if upload else None)
    db.session.commit()
    return jsonify(milestone.to_dict())


@bp.get("/milestones/<int:milestone_id>/report/file")
@doc("Download a milestone report's attachment (public once the project is awarded, like "
     "the report)", auth=False, tag="projects")
def get_report_file(milestone_id):
    from portal.core.uploads import path_of

    milestone = db.session.get(Milestone, milestone_id)
    if milestone is None or milestone.report_key is None or \
            not can(api_user(), "project.view", milestone.project):
        raise ApiAbort(404)
    return send_file(path_of(milestone.report_key), as_attachment=True,
                     download_name=milestone.report_filename or "report")


class AcceptIn(Body):
    comment: str | None = Field(default=None, max_length=5000)


@bp.post("/milestones/<int:milestone_id>/accept")
@doc("Accept a reported milestone (the bureau)", body=AcceptIn, tag="projects")
def post_accept(milestone_id):
    actor = require_user()
    milestone = db.session.get(Milestone, milestone_id)
    if milestone is None:
        raise ApiAbort(404)
    authorize(actor, "project.manage", milestone.project)
    data = optional_body(AcceptIn)
    services.accept_milestone(milestone, data.comment, actor=actor)
    db.session.commit()
    return jsonify(milestone.to_dict())


class EvaluationIn(Body):
    score: float = Field(strict=False)
    comment: str | None = Field(default=None, max_length=5000)
    grade: str | None = Field(default=None, max_length=8)


@bp.post("/projects/<int:project_id>/evaluation")
@doc("The final performance evaluation (the bureau or a third-party evaluator): closes the "
     "project; the grade follows from the score", body=EvaluationIn, tag="projects")
def post_evaluation(project_id):
    actor = require_user()
    project = _project_or_404(project_id, actor)
    authorize(actor, "project.evaluate", project)
    raw = raw_json()
    if isinstance(raw, dict) and isinstance(raw.get("score"), (int, float)) \
            and not isinstance(raw.get("score"), bool) and not 0 <= raw["score"] <= 100:
        raise ValidationFailed.on("score", _("A score from 0 to 100."))
    data = json_body(EvaluationIn)
    evaluation = services.evaluate(project, data.score, data.comment, data.grade, actor=actor)
    db.session.commit()
    body = project_dict(project)
    body["evaluation"] = evaluation.to_dict()
    return jsonify(body)


@bp.get("/projects/export.xlsx")
@doc("Projects, bids, scores and evaluations of an area as Excel (the bureau)",
     tag="projects")
def export_projects():
    from portal.core.users import Role
    from portal.projects.exports import projects_workbook

    user = require_user()
    area = request.args.get("area") or next(iter(user.scopes(Role.bureau)), None) or \
        ("2108" if user.is_admin else None)
    if not can(user, "catalogue.manage", area):
        raise ApiAbort(403)
    from portal.core.areas import Area
    from portal.core.excel import file_name, xlsx_response

    place = db.session.get(Area, area)
    name = place.name if place is not None else area
    return xlsx_response(projects_workbook(area, name), file_name("项目", name))
