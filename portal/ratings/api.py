"""/api/v1 endpoints of 好差评 (api-v1.md, 好差评): ratings, rectification cases, appeals and
the figures. The rater is in no answer the party rated can read; the bureau's answers carry it."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from portal.core.api import LooseBody
from portal.core.apiframe import ApiAbort, api_user, doc, json_body, paginate, require_user
from portal.core.areas import under
from portal.core.db import body_id, iso, utcnow
from portal.core.errors import ValidationFailed
from portal.core.permissions import asked_area, can
from portal.core.users import Role
from portal.extensions import db
from portal.ratings import queries, services
from portal.ratings.models import LIVE_CASES, CaseState, RatedKind, Rating, Rectification

bp = Blueprint("ratings_api", __name__, url_prefix="/api/v1")



class RatingIn(LooseBody):
    object_type: Any = None
    object_id: Any = None
    level: Any = None
    comment: Any = None
    dimensions: Any = None


def rating_dict(r: Rating) -> dict:
    return {"id": r.id, "object_type": r.object_type.value, "object_id": r.object_id,
            "level": r.level, "comment": r.comment,
            "dimensions": {k: getattr(r, k) for k in ("attitude", "quality", "timeliness")
                           if getattr(r, k) is not None},
            "created_at": iso(r.created_at), "voided": r.voided_at is not None}


@bp.post("/ratings")
@doc("Rate a service one took part in (once, within RATING_WINDOW_DAYS); levels 1-2 are a 差评 "
     "and need a comment", body=RatingIn, tag="ratings",
     responses={201: "rated", 403: "did not take part", 409: "outside the window, or rated",
                422: "invalid"})
def post_rating():
    actor = require_user()
    data = json_body(RatingIn)
    rating = services.rate(services.RatingInput(**data.model_dump()), rater=actor)
    db.session.commit()
    case = db.session.scalar(sa.select(Rectification).where(
        Rectification.rating_id == rating.id))
    return jsonify({**rating_dict(rating), "rectification": case_dict(case, rater=True)
                    if case else None}), 201


def case_dict(case: Rectification, *, rater: bool = False) -> dict:
    """A case as the party rated, the rater or the bureau (`rater`: with who rated) reads it."""
    r = case.rating
    data = {"id": case.id,
            "rating": {"object_type": r.object_type.value, "object_id": r.object_id,
                       "level": r.level, "comment": r.comment},
            "opened_at": iso(case.opened_at), "due_at": iso(case.due_at),
            "status": case.status.value,
            "overdue": case.status in LIVE_CASES and case.due_at < utcnow(),
            "answer": {"action": case.answer_action, "text": case.answer_text,
                       "answered_at": iso(case.answered_at), "late": case.answered_late}
            if case.answered_at else None,
            "review_comment": case.review_comment, "rounds": case.rounds,
            "appeal": {"reason": case.appeal_reason, "appealed_at": iso(case.appealed_at),
                       "decided_at": iso(case.decided_at), "decision": case.decision_reason}
            if case.appealed_at else None}
    if rater:
        data["rating"]["rater_id"] = r.rater_id
    return data


def _sees_rater(user, case: Rectification) -> bool:
    return user is not None and (user.covers(Role.bureau, case.area_code)
                                 or case.rating.rater_id == user.id)


def _case(case_id: int) -> Rectification:
    case = db.session.get(Rectification, case_id)
    user = api_user()
    if case is None or not (services.is_party(user, case) or _sees_rater(user, case)):
        raise ApiAbort(404)
    return case


@bp.get("/rectifications")
@doc("Rectification cases: the party rated sees its own (without the rater), the bureau those "
     "of its area", tag="ratings", paged=True, query=("status", "area", "overdue"))
def list_cases():
    user = require_user()
    query = sa.select(Rectification).order_by(Rectification.due_at, Rectification.id)
    scope = services.party_scope(user)
    if user.has_role(Role.bureau) and (request.args.get("area") or scope is None):
        area = asked_area(user, "rating.cases", request.args.get("area"))
        query = query.where(under(Rectification.area_code, area.code))
        bureau = True
    else:
        query = query.where(scope if scope is not None else sa.false())
        bureau = False
    status = request.args.get("status")
    if status:
        try:
            query = query.where(Rectification.status == CaseState(status))
        except ValueError:
            raise ValidationFailed.on("status", _("Not one of the allowed values.")) from None
    if request.args.get("overdue"):
        query = query.where(Rectification.status.in_(LIVE_CASES),
                            Rectification.due_at < utcnow())
    return jsonify(paginate(query, lambda c: case_dict(c, rater=bureau)))


@bp.get("/rectifications/<int:case_id>")
@doc("A rectification case (the party rated, the rater, the bureau)", tag="ratings")
def get_case(case_id: int):
    case = _case(case_id)
    return jsonify(case_dict(case, rater=_sees_rater(api_user(), case)))


class AnswerIn(LooseBody):
    action: Any = None
    text: Any = None


@bp.post("/rectifications/<int:case_id>/answer")
@doc("The party rated answers: fixed or explained", body=AnswerIn, tag="ratings",
     responses={409: "not open", 422: "invalid"})
def answer_case(case_id: int):
    actor = require_user()
    case = _case(case_id)
    data = json_body(AnswerIn)
    services.answer(case, data.action, data.text, actor=actor)
    db.session.commit()
    return jsonify(case_dict(case))


class ReviewIn(LooseBody):
    satisfied: Any = None
    comment: Any = None


@bp.post("/rectifications/<int:case_id>/review")
@doc("The rater says whether the answer satisfies them: closed, or reopened with a new "
     "deadline", body=ReviewIn, tag="ratings", responses={409: "not answered"})
def review_case(case_id: int):
    actor = require_user()
    case = _case(case_id)
    data = json_body(ReviewIn)
    services.review(case, data.satisfied, data.comment, actor=actor)
    db.session.commit()
    return jsonify(case_dict(case, rater=True))


class ReasonIn(LooseBody):
    reason: Any = None


@bp.post("/rectifications/<int:case_id>/appeal")
@doc("The party rated appeals a mistaken or malicious rating to the bureau", body=ReasonIn,
     tag="ratings", responses={409: "an appeal is pending, or the case is over"})
def appeal_case(case_id: int):
    actor = require_user()
    case = _case(case_id)
    services.appeal(case, json_body(ReasonIn).reason, actor=actor)
    db.session.commit()
    return jsonify(case_dict(case))


class DecideIn(LooseBody):
    void: Any = None
    reason: Any = None


@bp.post("/rectifications/<int:case_id>/decide")
@doc("The bureau decides an appeal: the rating voided, or the case back to the party",
     body=DecideIn, tag="ratings", responses={409: "no appeal pending"})
def decide_case(case_id: int):
    actor = require_user()
    case = _case(case_id)
    data = json_body(DecideIn)
    services.decide(case, data.void, data.reason, actor=actor)
    db.session.commit()
    return jsonify(case_dict(case, rater=True))


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@bp.get("/stats/ratings")
@doc("The figures of an object (object_type, object_id) or of an area and month (area, month "
     "as 2026-11): public from RATING_MIN_PUBLIC ratings", auth=False, tag="ratings",
     query=("object_type", "object_id", "area", "month"))
def rating_stats():
    user = api_user()
    args = request.args
    if args.get("object_type"):
        try:
            kind = RatedKind(args["object_type"])
        except ValueError:
            raise ValidationFailed.on("object_type", _("Not one of the allowed values.")) from None
        object_id = body_id(args.get("object_id", type=int))
        if object_id is None:
            raise ValidationFailed.on("object_id", _("The number of what is rated."))
        full = user is not None and (user.has_role(Role.bureau) or user.is_admin)
        return jsonify(queries.figures(queries.object_filter(kind, object_id), full=full))
    month = None
    if args.get("month"):
        match = _MONTH.match(args["month"])
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ValidationFailed.on("month", _("A month like 2026-11."))
        month = int(match.group(1)) * 100 + int(match.group(2))
    if not args.get("area"):
        raise ValidationFailed.on("area", _("An area code."))
    from portal.core.areas import Area

    area = db.session.get(Area, args["area"])
    if area is None:
        raise ApiAbort(404)
    full = user is not None and can(user, "rating.cases", area.code)
    return jsonify(queries.figures(queries.area_filter(area.code, month), full=full))
