"""/api/v1 endpoints of charitable resources: funds, pledges, the ledger, statements, the
charity figures, and 微心愿 (api-v1.md, Wishes; Charitable resources)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, jsonify, request
from pydantic import Field

from portal.charity import disclosure, ledger, services, wishes
from portal.charity.models import Disclosure, Fund, Movement, Pledge, Wish, WishState
from portal.charity.permissions import fund_for
from portal.core.api import Body
from portal.core.apiframe import (
    ApiAbort,
    api_user,
    doc,
    json_body,
    optional_body,
    paginate,
    require_from_body,
    require_user,
)
from portal.core.areas import under
from portal.core.db import iso
from portal.core.money import money
from portal.core.permissions import asked_area, authorize, can
from portal.extensions import db
from portal.orgs.models import Org

bp = Blueprint("charity_api", __name__, url_prefix="/api/v1")



# --- what each reader sees ---------------------------------------------------------------------

def fund_dict(fund: Fund) -> dict:
    open_pledges, overdue = db.session.execute(sa.select(
        sa.func.count().filter(Pledge.status.in_(("pledged", "partly_received"))),
        sa.func.count().filter(services.overdue_pledges()))
        .where(Pledge.fund_id == fund.id)).one()
    return {**fund_figures(fund), "name": fund.name, "area_code": fund.area_code,
            "area_name": fund.area.name if fund.area else None,
            "host_org": {"id": fund.host_org_id, "name": fund.host.name if fund.host else None},
            "purpose": fund.purpose, "status": fund.status.value,
            "pledges": {"open": open_pledges, "overdue": overdue},
            "created_at": iso(fund.created_at)}


def fund_figures(fund: Fund) -> dict:
    """What a movement changes: the fund's balance and totals (its answer carries them)."""
    return {"id": fund.id, "balance": money(fund.balance),
            "received_total": money(fund.received_total),
            "disbursed_total": money(fund.disbursed_total),
            "goods_value_in": money(fund.goods_value_in),
            "goods_value_out": money(fund.goods_value_out),
            "goods_value_held": money(fund.goods_value_held)}


def pledge_dict(row: Pledge, viewer=None) -> dict:
    data = {"id": row.id, "fund_id": row.fund_id, "donor": disclosure.donor_shown(row),
            "donor_kind": row.donor_kind.value, "anonymous": row.anonymous,
            "kind": row.kind.value, "amount": money(row.amount), "items": row.items,
            "hours": f"{row.hours:.1f}" if row.hours is not None else None,
            "value": money(row.value) if row.kind.value != "service" else None,
            "received": money(row.received),
            "hours_given": f"{row.hours_given:.1f}" if row.kind.value == "service" else None,
            "status": row.status.value, "cancel_reason": row.cancel_reason,
            "due_on": row.due_on.isoformat() if row.due_on else None,
            "overdue": services.is_overdue(row), "need_id": row.need_id, "wish_id": row.wish_id,
            "project_id": row.project_id, "created_at": iso(row.created_at)}
    if viewer is not None and (row.user_id == viewer.id or can(viewer, "fund.manage",
                                                                 row.fund)):
        data["donor_name"] = row.donor_name
    return data


def wish_dict(wish: Wish, viewer=None) -> dict:
    data = {"id": wish.id, "community_code": wish.community_code,
            "community_name": wish.community.name if wish.community else None,
            "alias": wish.alias, "title": wish.title, "kind": wish.kind.value,
            "estimated_value": money(wish.estimated_value), "story": wish.story,
            "status": wish.status.value, "claim_expires_at": iso(wish.claim_expires_at),
            "fulfilled_at": iso(wish.fulfilled_at), "confirmed_at": iso(wish.confirmed_at),
            "created_at": iso(wish.created_at)}
    if viewer is not None and can(viewer, "wish.manage", wish):
        data["beneficiary"] = wishes.beneficiary(wish)
        data["claimed_by"] = wish.claimed_by
        data["fulfil_note"] = wish.fulfil_note
        data["cancel_reason"] = wish.cancel_reason
    if viewer is not None and wish.claimed_by == viewer.id and wish.status in (
            WishState.claimed, WishState.fulfilled, WishState.confirmed):
        data["handover_contact"] = wishes.handover_contact(wish)
        data["fulfil_note"] = wish.fulfil_note
    return data


# A fund with its area and host (their names are in every answer), not the host's admins: the
# permission asks the database whether the user is one (charity/permissions.py).
_WITHOUT_ADMINS = sa.orm.joinedload(Fund.host).lazyload(Org.admins)


def _fund(fund_id: int) -> Fund:
    fund = db.session.get(Fund, fund_id, options=[_WITHOUT_ADMINS])
    if fund is None:
        raise ApiAbort(404)
    return fund


def _managed_fund(fund_id: int, *options):
    """The fund (with `options`, else with its area and host) if the user keeps it."""
    actor = require_user()
    fund = fund_for(actor, fund_id, *(options or (_WITHOUT_ADMINS,)))
    if fund is None:
        raise ApiAbort(404)
    if not can(actor, "fund.manage", fund):
        raise ApiAbort(403)
    return fund, actor


# --- funds -------------------------------------------------------------------------------------

class FundIn(Body):
    name: str = Field(max_length=200)
    area_code: str = Field(max_length=12)
    host_org_id: Any = None
    purpose: str | None = Field(default=None, max_length=5000)


@bp.post("/funds")
@doc("Open a community fund for a township or community, held by an active registered "
     "organisation (the bureau of the area)", body=FundIn, tag="charity",
     responses={201: "the fund", 403: "outside the caller's area", 422: "invalid"})
def post_fund():
    actor = require_user()
    require_from_body(actor, "fund.open", "area_code")
    data = json_body(FundIn)
    fund = services.open_fund(data.name, data.area_code, data.host_org_id, data.purpose,
                              actor=actor)
    db.session.commit()
    return jsonify(fund_dict(fund)), 201


@bp.get("/funds")
@doc("Community funds (public), by area", auth=False, tag="charity", paged=True,
     query=("area",))
def list_funds():
    query = sa.select(Fund).order_by(Fund.id)
    area = request.args.get("area")
    if area:
        query = query.where(under(Fund.area_code, area))
    return jsonify(paginate(query, fund_dict))


@bp.get("/funds/<int:fund_id>")
@doc("A fund's balance and totals (public)", auth=False, tag="charity")
def get_fund(fund_id: int):
    return jsonify(fund_dict(_fund(fund_id)))


class ReasonIn(Body):
    reason: str | None = Field(default=None, max_length=2000)


@bp.post("/funds/<int:fund_id>/close")
@doc("Close a fund: it takes no more pledges or movements (the bureau of its area)",
     body=ReasonIn, tag="charity", responses={200: "closed", 409: "closed already"})
def close_fund(fund_id: int):
    actor = require_user()
    fund = _fund(fund_id)
    authorize(actor, "fund.close", fund)
    services.close_fund(fund, optional_body(ReasonIn).reason, actor=actor)
    db.session.commit()
    return jsonify(fund_dict(fund))


class PledgeIn(Body):
    donor_name: str = Field(max_length=200)
    donor_kind: str = Field(default="person", max_length=16)
    anonymous: bool = False
    kind: str = Field(default="money", max_length=16)
    amount: Any = None
    items: Any = None
    hours: Any = None
    due_on: date | None = Field(default=None, strict=False)
    need_id: Any = None
    wish_id: Any = None
    project_id: Any = None
    org_id: Any = None
    offline: bool = False  # the host's admins recording a donor who pledged in person


@bp.post("/funds/<int:fund_id>/pledges")
@doc("Pledge money, goods or service hours (anyone signed in for themself; an organisation's "
     "admin for it with org_id; the host's admins for an offline donor with offline: true)",
     body=PledgeIn, tag="charity", responses={201: "pledged", 409: "the fund is closed"})
def post_pledge(fund_id: int):
    actor = require_user()
    fund = _fund(fund_id)
    data = json_body(PledgeIn)
    if data.offline and not can(actor, "fund.manage", fund):
        raise ApiAbort(403)
    row = services.pledge(fund, services.PledgeInput(
        donor_name=data.donor_name, donor_kind=data.donor_kind, anonymous=data.anonymous,
        kind=data.kind, amount=data.amount, items=data.items, hours=data.hours,
        due_on=data.due_on, need_id=data.need_id, wish_id=data.wish_id,
        project_id=data.project_id, org_id=data.org_id), actor=actor, offline=data.offline)
    db.session.commit()
    return jsonify(pledge_dict(row, actor)), 201


def _pledge(pledge_id: int) -> Pledge:
    row = db.session.get(Pledge, pledge_id)
    if row is None:
        raise ApiAbort(404)
    return row


class HoursIn(Body):
    hours: Any = None


@bp.post("/pledges/<int:pledge_id>/hours")
@doc("Record service hours given against a pledge of hours (the host's admins): partly "
     "received, then received when they reach the hours pledged", body=HoursIn, tag="charity",
     responses={409: "not a pledge of hours, or no longer open", 422: "invalid hours"})
def pledge_hours(pledge_id: int):
    actor = require_user()
    row = _pledge(pledge_id)
    if not can(actor, "fund.manage", row.fund):
        raise ApiAbort(403)
    services.give_hours(row, json_body(HoursIn).hours, actor=actor)
    db.session.commit()
    return jsonify(pledge_dict(row, actor))


@bp.post("/pledges/<int:pledge_id>/cancel")
@doc("Cancel a pledge (its donor, or the host's admins), saying why; what was received stays "
     "in the ledger", body=ReasonIn, tag="charity", responses={409: "no longer open"})
def cancel_pledge(pledge_id: int):
    actor = require_user()
    row = _pledge(pledge_id)
    if row.user_id != actor.id and not can(actor, "fund.manage", row.fund):
        raise ApiAbort(403)
    services.cancel_pledge(row, json_body(ReasonIn).reason, actor=actor)
    db.session.commit()
    return jsonify(pledge_dict(row, actor))


@bp.get("/funds/<int:fund_id>/pledges")
@doc("A fund's pledges (public; donors as the public sees them)", auth=False, tag="charity",
     paged=True, query=("status", "overdue"))
def list_pledges(fund_id: int):
    fund = _fund(fund_id)
    viewer = api_user()
    query = sa.select(Pledge).where(Pledge.fund_id == fund.id).order_by(Pledge.id.desc())
    if request.args.get("overdue"):
        query = query.where(services.overdue_pledges())
    if request.args.get("status"):
        query = query.where(Pledge.status == request.args["status"]) \
            if request.args["status"] in ("pledged", "partly_received", "received",
                                          "cancelled") else query.where(sa.false())
    return jsonify(paginate(query, lambda p: pledge_dict(p, viewer)))


class MovementIn(Body):
    type: str = Field(max_length=16)
    amount: Any = None
    items: Any = None
    pledge_id: Any = None
    project_id: Any = None
    need_id: Any = None
    wish_id: Any = None
    purpose: str | None = Field(default=None, max_length=2000)
    reverses: Any = None
    reason: str | None = Field(default=None, max_length=2000)
    donor_name: str | None = Field(default=None, max_length=200)
    donor_kind: str | None = Field(default=None, max_length=16)
    anonymous: bool = False


@bp.post("/funds/<int:fund_id>/movements")
@doc("Record a movement of the ledger (the host's admins): receipt, disbursement, goods in or "
     "out, or a reversal of an earlier one", body=MovementIn, tag="charity",
     responses={201: "recorded", 409: "more than the fund holds, or corrected already",
                422: "invalid"})
def post_movement(fund_id: int):
    fund, actor = _managed_fund(fund_id, sa.orm.lazyload("*"))  # the fund's row alone
    data = json_body(MovementIn)
    movement = ledger.record_movement(fund, ledger.MovementInput(**data.model_dump()),
                                      actor=actor)
    db.session.flush()
    answer = {**disclosure.public_movement(movement), "fund": fund_figures(fund)}
    db.session.commit()  # (the answer is read first: a commit expires what was loaded)
    return jsonify(answer), 201


@bp.get("/funds/<int:fund_id>/movements")
@doc("A fund's ledger, newest first (public; donors as the public sees them)", auth=False,
     tag="charity", paged=True)
def list_movements(fund_id: int):
    fund = _fund(fund_id)
    query = sa.select(Movement).where(Movement.fund_id == fund.id).order_by(
        Movement.at.desc(), Movement.id.desc())
    return jsonify(paginate(query, disclosure.public_movement))


# --- disclosure --------------------------------------------------------------------------------

@bp.get("/funds/<int:fund_id>/disclosures")
@doc("The statements the fund owes: each quarter with movements (due 30 days after it) and "
     "each year (due 31 May)", auth=False, tag="charity")
def list_disclosures(fund_id: int):
    return jsonify(disclosure.schedule(_fund(fund_id)))


class PeriodIn(Body):
    period: Any = None


@bp.post("/funds/<int:fund_id>/disclosures")
@doc("Publish the statement of an ended quarter or year (the host's admins): a frozen "
     "snapshot", body=PeriodIn, tag="charity",
     responses={201: "published", 409: "not ended, or published already"})
def post_disclosure(fund_id: int):
    fund, actor = _managed_fund(fund_id)
    row = disclosure.publish(fund, json_body(PeriodIn).period, actor=actor)
    db.session.commit()
    return jsonify({**row.snapshot, "published_at": iso(row.published_at)}), 201


@bp.get("/funds/<int:fund_id>/disclosures/<period>")
@doc("A published statement (public)", auth=False, tag="charity")
def get_disclosure(fund_id: int, period: str):
    row = db.session.scalar(sa.select(Disclosure).where(Disclosure.fund_id == fund_id,
                                                        Disclosure.period == period))
    if row is None:
        raise ApiAbort(404)
    return jsonify({**row.snapshot, "published_at": iso(row.published_at)})


@bp.get("/funds/<int:fund_id>/disclosures/<period>/pdf")
@doc("A published statement as PDF, the Chinese font embedded (public)", auth=False,
     tag="charity")
def get_disclosure_pdf(fund_id: int, period: str):
    from flask import Response

    from portal.charity.statement_pdf import render

    row = db.session.scalar(sa.select(Disclosure).where(Disclosure.fund_id == fund_id,
                                                        Disclosure.period == period))
    if row is None:
        raise ApiAbort(404)
    data = render(row.snapshot, iso(row.published_at))
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f"inline; filename=statement-{fund_id}-{period}.pdf"})


@bp.get("/stats/charity")
@doc("The funds of an area: totals, goods, overdue pledges and statements (the bureau)",
     tag="charity", query=("area",))
def charity_stats():
    from portal.charity.queries import charity_figures

    area = asked_area(require_user(), "charity.stats", request.args.get("area"))
    return jsonify({"area": area.to_dict(), **charity_figures(area.code)})


# --- wishes ------------------------------------------------------------------------------------

class BeneficiaryIn(Body):
    name: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=30)
    address: str = Field(default="", max_length=300)


class WishIn(Body):
    community_code: str = Field(max_length=12)
    alias: str = Field(max_length=50)
    beneficiary: BeneficiaryIn
    title: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    estimated_value: Any = None
    story: str | None = Field(default=None, max_length=2000)


@bp.post("/wishes")
@doc("Publish a micro-wish after a home visit (the community's workers)", body=WishIn,
     tag="wishes", responses={201: "published", 403: "not the caller's community",
                              422: "invalid, or over WISH_MAX_VALUE"})
def post_wish():
    actor = require_user()
    require_from_body(actor, "wish.publish", "community_code")
    data = json_body(WishIn)
    wish = wishes.publish_wish(wishes.WishInput(
        community_code=data.community_code, alias=data.alias, title=data.title,
        kind=data.kind, estimated_value=data.estimated_value, story=data.story,
        name=data.beneficiary.name, phone=data.beneficiary.phone,
        address=data.beneficiary.address), actor=actor)
    db.session.commit()
    return jsonify(wish_dict(wish, actor)), 201


@bp.get("/wishes")
@doc("The wall of micro-wishes (public)", auth=False, tag="wishes", paged=True,
     query=("community", "status"))
def list_wishes():
    viewer = api_user()
    query = sa.select(Wish).order_by(Wish.id.desc())
    if request.args.get("community"):
        query = query.where(under(Wish.community_code, request.args["community"]))
    status = request.args.get("status")
    if status:
        query = query.where(Wish.status == status) if status in WishState.__members__ \
            else query.where(sa.false())
    page = paginate(query, lambda w: wish_dict(w, viewer))
    if wishes.expire_due(page["items"]):
        db.session.commit()
        page = paginate(query, lambda w: wish_dict(w, viewer))
    return jsonify(page)


def _wish(wish_id: int) -> Wish:
    wish = db.session.get(Wish, wish_id)
    if wish is None:
        raise ApiAbort(404)
    if wishes.expire_claim(wish):  # a lapsed claim: back on the wall, by whoever reads first
        db.session.commit()
    return wish


@bp.get("/wishes/<int:wish_id>")
@doc("A micro-wish (the beneficiary only to the community's workers and the bureau)",
     auth=False, tag="wishes")
def get_wish(wish_id: int):
    return jsonify(wish_dict(_wish(wish_id), api_user()))


class ClaimIn(Body):
    org_id: Any = None


def _wish_move(wish_id: int, apply):
    """A move of a wish by the signed-in caller: the service call, one commit, the wish."""
    actor = require_user()
    wish = _wish(wish_id)
    apply(wish, actor)
    db.session.commit()
    return jsonify(wish_dict(wish, actor))


@bp.post("/wishes/<int:wish_id>/claim")
@doc("Claim a wish (anyone signed in; org_id to claim for an organisation one administers): "
     "of many at once exactly one wins", body=ClaimIn, tag="wishes",
     responses={200: "claimed", 409: "claimed already"})
def claim_wish(wish_id: int):
    return _wish_move(wish_id, lambda wish, actor: wishes.claim(
        wish, optional_body(ClaimIn).org_id, actor=actor))


@bp.post("/wishes/<int:wish_id>/release")
@doc("Give a claimed wish back to the wall (the claimer)", tag="wishes")
def release_wish(wish_id: int):
    return _wish_move(wish_id, lambda wish, actor: wishes.release(wish, actor=actor))


@bp.post("/wishes/<int:wish_id>/fulfil")
@doc("The wish is handed over (the claimer, or the community's worker), with a note and "
     "perhaps a photo (multipart)", tag="wishes")
def fulfil_wish(wish_id: int):
    def apply(wish, actor):
        if wish.claimed_by != actor.id and not can(actor, "wish.manage", wish):
            raise ApiAbort(403)
        note, photo = wishes.fulfil_payload()
        wishes.fulfil(wish, note, photo, actor=actor)
    return _wish_move(wish_id, apply)


@bp.post("/wishes/<int:wish_id>/confirm")
@doc("The beneficiary has it (the community's worker)", tag="wishes")
def confirm_wish(wish_id: int):
    def apply(wish, actor):
        authorize(actor, "wish.manage", wish)
        wishes.confirm(wish, actor=actor)
    return _wish_move(wish_id, apply)


@bp.post("/wishes/<int:wish_id>/cancel")
@doc("Withdraw a wish, with the reason (the community's worker)", body=ReasonIn, tag="wishes")
def cancel_wish(wish_id: int):
    def apply(wish, actor):
        authorize(actor, "wish.manage", wish)
        wishes.cancel(wish, optional_body(ReasonIn).reason, actor=actor)
    return _wish_move(wish_id, apply)
