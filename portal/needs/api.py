"""/api/v1 endpoints of 需求清单 (api-v1.md, Needs)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, jsonify, request
from pydantic import BaseModel, Field

from portal.core.api import Body
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
)
from portal.core.db import iso
from portal.core.permissions import asked_area, can
from portal.core.sms import mask_phone
from portal.extensions import db
from portal.needs import queries, services
from portal.needs.models import Need, NeedSupport

bp = Blueprint("needs_api", __name__, url_prefix="/api/v1")



class OnBehalfIn(Body):
    name: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=30)


class NeedIn(Body):
    community_code: str = Field(max_length=12)
    category: str = Field(max_length=32)
    title: str = Field(max_length=200)
    description: str = Field(max_length=5000)
    people_affected: int = Field(default=1, ge=1, le=services.MAX_PEOPLE)
    urgency: str = Field(default="normal", max_length=16)
    channel: str | None = Field(default=None, max_length=16)
    on_behalf_of: OnBehalfIn | None = None


class CommentIn(Body):
    comment: str | None = Field(default=None, max_length=2000)


class ReasonIn(Body):
    reason: str = Field(default="", max_length=2000)


class MergeIn(Body):
    into: Any = None  # a need's id: judged by the service (422 on `into`, the rule)


class MatchIn(Body):
    kind: str = Field(max_length=16)
    target_id: Any = None  # 422 on `target_id` when it is no id of a target
    note: str | None = Field(default=None, max_length=2000)


# --- what each reader sees -----------------------------------------------------------------------

def masked_name(name: str | None) -> str | None:
    """王* : the surname and a star (a person's name where it need not be read in full)."""
    return (name[0] + "*") if name else None


def need_dict(need: Need, viewer=None, *, detail: bool = False) -> dict:
    data = {
        "id": need.id, "community_code": need.community_code,
        "community_name": need.community.name if need.community else None,
        "category": need.category, "title": need.title, "description": need.description,
        "people_affected": need.people_affected, "urgency": need.urgency.value,
        "channel": need.channel.value, "status": need.status.value,
        "supporters": need.supporters, "stale": queries.is_stale(need),
        "created_at": iso(need.created_at), "verified_at": iso(need.verified_at),
        "matched_at": iso(need.matched_at), "resolved_at": iso(need.resolved_at),
        "resolution": need.resolution, "merged_into_id": need.merged_into_id,
    }
    own = viewer is not None and need.posted_by == viewer.id
    staff = viewer is not None and can(viewer, "need.manage", need)
    if own or staff:
        data["review_comment"] = need.review_comment
    if staff:
        poster = need.poster
        contact = can(viewer, "need.contact", need)
        data["posted_by"] = {
            "id": poster.id, "name": poster.display_name or poster.username,
            "phone_masked": mask_phone(poster.phone),
            **({"phone": poster.phone} if contact and poster.phone else {})} if poster else None
        if need.for_name is not None:
            contact = can(viewer, "need.contact", need)
            data["on_behalf_of"] = {
                "name": need.for_name if contact else masked_name(need.for_name),
                "phone_masked": mask_phone(need.for_phone),
                **({"phone": need.for_phone} if contact else {})}
    if detail:
        data["matches"] = [{"id": m.id, "kind": m.kind.value, "target_id": m.target_id,
                            "title": _match_title(m), "note": m.note,
                            "created_at": iso(m.created_at)} for m in need.matches]
        data["projects"] = [{"id": p.id, "title": p.title, "status": p.status.value}
                            for p in services.projects_citing(need.id, viewer)]
        data["supported_by_me"] = viewer is not None and db.session.scalar(
            sa.select(NeedSupport.id).where(NeedSupport.need_id == need.id,
                                            NeedSupport.user_id == viewer.id)) is not None
    return data


def _match_title(match) -> str | None:
    target = services.match_target(match.kind, match.target_id)
    return target[0] if target else None


def _viewer():
    user = api_user()
    return user if user is not None else None


def _need(need_id: int, viewer) -> Need:
    """The need, or 404 for one that does not exist or that this reader may not know of."""
    need = db.session.get(Need, need_id)
    if need is None or not can(viewer, "need.view", need):
        raise ApiAbort(404)
    return need


def _managed(need_id: int) -> tuple[Need, object]:
    actor = require_user()
    need = _need(need_id, actor)
    if not can(actor, "need.manage", need):
        raise ApiAbort(403)
    return need, actor


# --- endpoints ----------------------------------------------------------------------------------

@bp.post("/needs")
@doc("Post a need (a resident for their own community; a community worker for a resident, "
     "with on_behalf_of)", body=NeedIn, tag="needs",
     responses={201: "submitted", 403: "not one's community", 422: "invalid"})
def post_need():
    actor = require_user()
    raw = raw_json()
    if not isinstance(raw, dict):  # nothing to judge who it is for: 400 to those who may post
        if can(actor, "need.post_any"):
            json_body(NeedIn)
        raise ApiAbort(403)
    if "community_code" not in raw and actor.community_code:
        raw["community_code"] = actor.community_code  # a resident's own, by default
    require_from_body(actor, "need.post", "community_code")
    data = json_body(NeedIn)
    behalf = data.on_behalf_of
    need = services.post_need(services.NeedInput(
        community_code=data.community_code, category=data.category, title=data.title,
        description=data.description, people_affected=data.people_affected,
        urgency=data.urgency, channel=data.channel,
        for_name=behalf.name if behalf else None, for_phone=behalf.phone if behalf else None),
        actor=actor)
    db.session.commit()
    return jsonify(need_dict(need, actor, detail=True)), 201


@bp.get("/needs")
@doc("Needs: the public see the verified and later ones without personal data; posters their "
     "own; community workers and the bureau those of their area", auth=False, tag="needs",
     paged=True, query=("community", "status", "category", "q", "older_than_days", "sort"))
def list_needs():
    viewer = _viewer()
    query = queries.filtered(services.visible_needs(viewer), request.args, viewer)
    return jsonify(paginate(query, lambda n: need_dict(n, viewer)))


@bp.get("/needs/<int:need_id>")
@doc("One need, with its matches and supporters", auth=False, tag="needs")
def get_need(need_id: int):
    viewer = _viewer()
    return jsonify(need_dict(_need(need_id, viewer), viewer, detail=True))


def _decide(need_id: int, body: type[BaseModel], apply):
    """A worker's decision on a need: the need, the body, the service call, one commit."""
    need, actor = _managed(need_id)
    apply(need, optional_body(body), actor)
    db.session.commit()
    return jsonify(need_dict(need, actor, detail=True))


@bp.post("/needs/<int:need_id>/verify")
@doc("Verify a submitted need (its community's workers, the bureau)", body=CommentIn,
     tag="needs", responses={200: "verified", 409: "not submitted"})
def verify_need(need_id: int):
    return _decide(need_id, CommentIn, lambda need, data, actor: services.verify(
        need, data.comment, actor=actor))


@bp.post("/needs/<int:need_id>/reject")
@doc("Reject a submitted need, with the reason", body=ReasonIn, tag="needs",
     responses={200: "rejected", 409: "not submitted", 422: "no reason"})
def reject_need(need_id: int):
    return _decide(need_id, ReasonIn, lambda need, data, actor: services.reject(
        need, data.reason, actor=actor))


@bp.post("/needs/<int:need_id>/merge")
@doc("Merge a duplicate into another need of the same community (its supporters carry over)",
     body=MergeIn, tag="needs", responses={200: "the need kept", 409: "not open",
                                           422: "not the same community"})
def merge_need(need_id: int):
    need, actor = _managed(need_id)
    kept = services.merge(need, json_body(MergeIn).into, actor=actor)
    db.session.commit()
    return jsonify(need_dict(kept, actor, detail=True))


@bp.post("/needs/<int:need_id>/support")
@doc("I need this too: once per person (again: the same answer)", tag="needs",
     responses={200: "supporters", 409: "not verified"})
def support_need(need_id: int):
    actor = require_user()
    need = _need(need_id, actor)
    count = services.support(need, user=actor)
    db.session.commit()
    return jsonify({"supporters": count})


@bp.get("/needs/<int:need_id>/suggestions")
@doc("What could meet the need, with reasons, highest first (its community's workers, the "
     "bureau)", tag="needs")
def need_suggestions(need_id: int):
    need, _actor = _managed(need_id)
    return jsonify({"items": queries.suggestions(need)})


@bp.post("/needs/<int:need_id>/matches")
@doc("Record a resource that meets the need: it becomes matched", body=MatchIn, tag="needs",
     responses={201: "the match", 409: "not verified, or matched to it already",
                422: "unknown target"})
def post_match(need_id: int):
    need, actor = _managed(need_id)
    data = json_body(MatchIn)
    match = services.add_match(need, data.kind, data.target_id, data.note, actor=actor)
    db.session.commit()
    return jsonify({"id": match.id, "kind": match.kind.value, "target_id": match.target_id,
                    "note": match.note, "need": need_dict(need, actor)}), 201


@bp.post("/needs/<int:need_id>/resolve")
@doc("Resolve a matched need with a comment; its poster is told", body=CommentIn, tag="needs",
     responses={200: "resolved", 409: "not matched", 422: "no comment"})
def resolve_need(need_id: int):
    return _decide(need_id, CommentIn, lambda need, data, actor: services.resolve(
        need, data.comment, actor=actor))


@bp.get("/stats/needs")
@doc("Needs of an area by status and category, median days to match, share matched within 30 "
     "days, stale (bureau; community workers for their area)", tag="needs", query=("area",))
def need_stats():
    area = asked_area(require_user(), "need.manage_area", request.args.get("area"))
    return jsonify({"area": area.to_dict(), **queries.figures(area.code).to_dict()})

