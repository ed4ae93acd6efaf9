"""/api/v1 endpoints of 应急动员 (api-v1.md, Emergency call-outs): calling out, answering,
withdrawing, the coordinator's view, check-in and check-out at the staging point."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify
from pydantic import Field

from portal.callouts import services
from portal.callouts.models import Callout, CalloutResponse
from portal.callouts.permissions import calls_somewhere
from portal.core.api import LooseBody
from portal.core.apiframe import ApiAbort, doc, json_body, require_user
from portal.core.db import iso
from portal.core.permissions import can
from portal.extensions import db
from portal.volunteers.models import Volunteer

bp = Blueprint("callouts_api", __name__, url_prefix="/api/v1")



class CalloutIn(LooseBody):
    title: Any = None
    area_code: Any = None
    place: Any = None
    skills: Any = None
    headcount: Any = None
    needed_by: datetime | None = Field(default=None, strict=False)
    ends_at: datetime | None = Field(default=None, strict=False)


class AnswerIn(LooseBody):
    answer: Any = None
    eta_minutes: Any = None


def callout_dict(callout: Callout) -> dict:
    return {"id": callout.id, "title": callout.title, "area_code": callout.area_code,
            "place": callout.place, "skills": callout.skills, "headcount": callout.headcount,
            "needed_by": iso(callout.needed_by), "ends_at": iso(callout.ends_at),
            "status": callout.state().value, "notified": callout.notified,
            "activity_id": callout.activity_id}


@bp.post("/callouts")
@doc("Call out volunteers (bureau, community worker, for their area): everyone eligible is "
     "told at once", body=CalloutIn, tag="callouts",
     responses={201: "called out", 403: "not your area", 422: "invalid"})
def post_callout():
    actor = require_user()
    if not calls_somewhere(actor):  # before anything about the body
        raise ApiAbort(403)
    data = json_body(CalloutIn)
    callout = services.create(services.CalloutInput(**data.model_dump()), actor=actor)
    db.session.commit()
    return jsonify(callout_dict(callout)), 201


def _managed(callout_id: int) -> Callout:
    user = require_user()
    callout = db.session.get(Callout, callout_id)
    if callout is None:
        raise ApiAbort(404)
    if not can(user, "callout.manage", callout):
        raise ApiAbort(403)
    return callout


@bp.get("/callouts/<int:callout_id>")
@doc("A call-out as its coordinator follows it: accepted, standby, declined, the skills the "
     "accepted bring, every response in order", tag="callouts")
def get_callout(callout_id: int):
    callout = _managed(callout_id)
    return jsonify({**callout_dict(callout), **services.summary(callout)})


@bp.post("/callouts/<int:callout_id>/close")
@doc("End a call-out before its time (a coordinator): those coming or waiting are told to "
     "stand down", tag="callouts", responses={200: "closed", 403: "not a coordinator",
                                              409: "ended already"})
def post_close(callout_id: int):
    actor = require_user()
    callout = _managed(callout_id)
    told = services.stand_down(callout, actor=actor)
    db.session.commit()
    return jsonify({**callout_dict(callout), "told": told})


@bp.post("/callouts/<int:callout_id>/responses")
@doc("Answer a call-out (a volunteer who was called): yes with an ETA, or no; once",
     body=AnswerIn, tag="callouts",
     responses={201: "accepted, standby or declined", 403: "not called",
                409: "answered, or ended", 422: "invalid"})
def post_response(callout_id: int):
    actor = require_user()
    data = json_body(AnswerIn)
    response = services.answer(callout_id, Volunteer.of_user(actor), data.answer,
                               data.eta_minutes, actor=actor)
    db.session.commit()
    return jsonify({"id": response.id, "status": response.status.value,
                    "eta_minutes": response.eta_minutes}), 201


def _response(response_id: int) -> CalloutResponse:
    response = db.session.get(CalloutResponse, response_id)
    if response is None:
        raise ApiAbort(404)
    return response


@bp.delete("/callout-responses/<int:response_id>")
@doc("Withdraw one's yes: the first on standby is accepted at once and told", tag="callouts",
     responses={204: "withdrawn", 403: "not yours", 409: "nothing to withdraw, or ended"})
def delete_response(response_id: int):
    actor = require_user()
    services.withdraw(_response(response_id), actor=actor)
    db.session.commit()
    return "", 204


@bp.post("/callout-responses/<int:response_id>/check-in")
@doc("Check an accepted volunteer in at the staging point (the coordinator)", tag="callouts")
def post_check_in(response_id: int):
    actor = require_user()
    response = services.check_in(_response(response_id), actor=actor)
    db.session.commit()
    return jsonify({"id": response.id, "status": response.status.value,
                    "checked_in_at": iso(response.checked_in_at)})


@bp.post("/callout-responses/<int:response_id>/check-out")
@doc("Check a volunteer out: a pending service record of the minutes served", tag="callouts")
def post_check_out(response_id: int):
    actor = require_user()
    response, service = services.check_out(_response(response_id), actor=actor)
    db.session.commit()
    return jsonify({"id": response.id, "status": response.status.value,
                    "checked_out_at": iso(response.checked_out_at),
                    "service_record_id": service.id if service else None})
