"""/api/v1 endpoints of assignment proposals (api-v1.md, Emergency call-outs and assignment):
a proposal for an activity's posts, and applying it through the signup rules."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from portal.activities.models import Activity
from portal.assignments import services
from portal.assignments.models import Proposal
from portal.core.api import LooseBody
from portal.core.apiframe import ApiAbort, doc, json_body, require_user
from portal.core.db import body_id, iso
from portal.core.errors import ValidationFailed
from portal.extensions import db

bp = Blueprint("assignments_api", __name__, url_prefix="/api/v1")



class ProposalIn(LooseBody):
    activity_id: Any = None
    volunteer_ids: Any = None
    max_shifts: Any = 1


class ApplyIn(LooseBody):
    exclude: Any = None  # [[volunteer_id, shift_id], ...]: lines the organiser removed


def proposal_dict(p: Proposal) -> dict:
    return {"proposal_id": p.id, "activity_id": p.activity_id, "max_shifts": p.max_shifts,
            "assignments": p.lines, "objective": p.objective, "optimal": p.optimal,
            "method": p.method, "unfilled": p.unfilled, "candidates": p.candidates,
            "created_at": iso(p.created_at), "applied_at": iso(p.applied_at),
            "result": p.result}


@bp.post("/assignments")
@doc("A proposal placing volunteers in an activity's posts with the highest total score "
     "(the organiser)", body=ProposalIn, tag="assignments",
     responses={200: "the proposal", 403: "not the organiser", 404: "no such activity",
                422: "invalid"})
def post_proposal():
    actor = require_user()
    data = json_body(ProposalIn)
    activity_id = body_id(data.activity_id)
    if activity_id is None:
        raise ValidationFailed(services.fields_message(),
                               {"activity_id": [services.id_message()]})
    activity = db.session.get(Activity, activity_id)
    if activity is None:
        raise ApiAbort(404)
    proposal = services.propose(activity, actor=actor, volunteer_ids=data.volunteer_ids,
                                max_shifts=data.max_shifts)
    db.session.commit()
    return jsonify(proposal_dict(proposal))


@bp.get("/assignments/<int:proposal_id>")
@doc("A proposal (the organiser)", tag="assignments")
def get_proposal(proposal_id: int):
    return jsonify(proposal_dict(_proposal(proposal_id)))


def _proposal(proposal_id: int) -> Proposal:
    from portal.core.permissions import can

    actor = require_user()
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None:
        raise ApiAbort(404)
    if not can(actor, "activity.manage", proposal.activity):
        raise ApiAbort(403)
    return proposal


@bp.post("/assignments/<int:proposal_id>/apply")
@doc("Apply a proposal: each line through the signup rules; a place taken meanwhile is "
     "skipped and reported", body=ApplyIn, tag="assignments",
     responses={200: "signed up and skipped", 403: "not the organiser", 409: "applied"})
def post_apply(proposal_id: int):
    actor = require_user()
    proposal = _proposal(proposal_id)
    data = json_body(ApplyIn)
    result = services.apply(proposal, actor=actor, exclude=services.check_exclude(data.exclude))
    db.session.commit()
    return jsonify(result)
