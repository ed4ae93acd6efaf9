"""Community funds and pledges (认捐): opening a fund, promising to it, and what is overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from portal.charity.ledger import parse_items
from portal.charity.models import (
    ZERO,
    DonorKind,
    Fund,
    FundState,
    Pledge,
    PledgeKind,
    PledgeState,
)
from portal.core.areas import Area, AreaLevel
from portal.core.audit import record
from portal.core.db import SHANGHAI, body_id, utcnow
from portal.core.errors import Conflict, ValidationFailed
from portal.core.money import parse_money
from portal.extensions import db

MAX_HOURS = Decimal("100000")


def today() -> date:
    return utcnow().astimezone(SHANGHAI).date()


def open_fund(name: str | None, area_code: str | None, host_org_id, purpose: str | None, *,
              actor) -> Fund:
    """The bureau opens a fund for a township or community, held by an active registered
    organisation (a legal person: the charity that holds the money)."""
    from portal.orgs.models import Org, OrgState, Registration

    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name or len(name) > 200:
        errors["name"] = [_("Name the fund (at most 200 characters).")]
    area = db.session.get(Area, area_code) if isinstance(area_code, str) else None
    if area is None or area.level not in (AreaLevel.township, AreaLevel.community):
        errors["area_code"] = [_("A township or a community.")]
    org = db.session.get(Org, body_id(host_org_id)) if body_id(host_org_id) else None
    if org is None or org.status is not OrgState.active or \
            org.registration is not Registration.registered:
        errors["host_org_id"] = [_("An active, registered organisation (a legal person) holds "
                                   "the money.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    fund = Fund(name=name, area_code=area.code, host_org_id=org.id,
                purpose=(purpose or "").strip() or None, created_by=actor.id)
    db.session.add(fund)
    db.session.flush()
    record(actor, "fund", fund.id, "create", to=f"{org.name}", area_code=area.code)
    return fund


def close_fund(fund: Fund, reason: str | None, *, actor) -> Fund:
    if fund.status is FundState.closed:
        raise Conflict(_("This fund is closed."))
    fund.status = FundState.closed
    record(actor, "fund", fund.id, "close", from_="open", to="closed", reason=reason,
           area_code=fund.area_code)
    return fund


@dataclass
class PledgeInput:
    donor_name: str | None
    donor_kind: str | None = "person"
    anonymous: bool = False
    kind: str | None = "money"
    amount: object = None
    items: object = None
    hours: object = None
    due_on: date | None = None
    need_id: object = None
    wish_id: object = None
    project_id: object = None
    org_id: object = None


def pledge(fund: Fund, data: PledgeInput, *, actor, offline: bool) -> Pledge:
    """A promise to the fund. Anyone signed in for themself; an organisation's admin for it;
    the host's admins for an offline donor (`offline`)."""
    from portal.charity.links import check_links

    errors: dict[str, list[str]] = {}
    donor = (data.donor_name or "").strip()
    if not donor or len(donor) > 200:
        errors["donor_name"] = [_("The donor's name (it may be kept from the public).")]
    try:
        donor_kind = DonorKind(data.donor_kind or "person")
    except ValueError:
        errors["donor_kind"] = [_("Not one of the allowed values.")]
        donor_kind = None
    try:
        kind = PledgeKind(data.kind or "money")
    except ValueError:
        errors["kind"] = [_("Not one of the allowed values.")]
        kind = None
    amount = hours = None
    items = None
    value = ZERO
    try:
        if kind is PledgeKind.money:
            amount = value = parse_money(data.amount, "amount")
        elif kind is PledgeKind.goods:
            lines = parse_items(data.items)
            items = [line.to_dict() for line in lines]
            value = sum((line.value for line in lines), ZERO)
        elif kind is PledgeKind.service:
            hours = _hours(data.hours)
            value = ZERO  # service hours carry no money value
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if data.due_on is not None and data.due_on < today():
        errors["due_on"] = [_("A date from today on.")]
    org_id = None
    if data.org_id is not None:
        from portal.orgs.models import Org, OrgAdmin

        org_id = body_id(data.org_id)
        if not org_id or db.session.get(Org, org_id) is None or db.session.scalar(
                sa.select(OrgAdmin.id).where(OrgAdmin.org_id == org_id,
                                             OrgAdmin.user_id == actor.id)) is None:
            errors["org_id"] = [_("An organisation you administer.")]
    if kind is PledgeKind.goods and not errors and value <= 0:
        errors["items"] = [_("Give the goods' value.")]
    links = check_links(fund, data, errors)
    if "pledge" in links:
        errors["pledge_id"] = [_("Not one of the allowed values.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    if fund.status is not FundState.open:
        raise Conflict(_("This fund is closed: it takes no pledges."))
    row = Pledge(fund_id=fund.id, donor_name=donor, donor_kind=donor_kind,
                 anonymous=bool(data.anonymous), kind=kind, amount=amount, items=items,
                 hours=hours, value=value, due_on=data.due_on, need_id=data.need_id,
                 wish_id=data.wish_id, project_id=data.project_id,
                 user_id=None if offline else actor.id, org_id=org_id, recorded_by=actor.id)
    db.session.add(row)
    db.session.flush()
    record(actor, "pledge", row.id, "create", to=f"{kind.value} {value:.2f}",
           area_code=fund.area_code)
    return row


def _hours(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValidationFailed.on("hours", _("Hours, like 20 or 7.5."))
    try:
        hours = Decimal(str(value).strip())
    except ArithmeticError:
        raise ValidationFailed.on("hours", _("Hours, like 20 or 7.5.")) from None
    if not hours.is_finite() or hours <= 0 or hours > MAX_HOURS or \
            hours.as_tuple().exponent < -1:
        raise ValidationFailed.on("hours", _("Hours, like 20 or 7.5."))
    return hours


def is_overdue(row: Pledge, on: date | None = None) -> bool:
    return row.due_on is not None and row.status in (PledgeState.pledged,
                                                     PledgeState.partly_received) \
        and row.due_on < (on or today())


def overdue_pledges():
    """SQL: pledges past their due date not fully received."""
    return sa.and_(Pledge.due_on < today(), Pledge.status.in_((PledgeState.pledged,
                                                               PledgeState.partly_received)))


OPEN_PLEDGE = (PledgeState.pledged, PledgeState.partly_received)


def give_hours(row: Pledge, hours, *, actor) -> Pledge:
    """The host records service hours given against a pledge of hours: partly received, then
    received when they reach the hours pledged (hours are not money: no ledger line)."""
    given = _hours(hours)
    if row.kind is not PledgeKind.service:
        raise Conflict(_("Money and goods are received by a movement of the ledger."))
    if row.status not in OPEN_PLEDGE:
        raise Conflict(_("This pledge is {state}.").format(state=row.status.title))
    total = row.hours_given + given
    if total > row.hours:
        raise ValidationFailed.on("hours", _("At most {n} hours remain of this pledge.").format(
            n=f"{row.hours - row.hours_given:.1f}"))
    state = PledgeState.received if total >= row.hours else PledgeState.partly_received
    changed = db.session.execute(  # from the state read: a change at the same moment is a 409
        sa.update(Pledge).where(Pledge.id == row.id, Pledge.status == row.status,
                                Pledge.hours_given == row.hours_given)
        .values(hours_given=total, status=state)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict(_("Someone else changed this at the same time. Please reload."))
    db.session.expire(row)
    record(actor, "pledge", row.id, "hours", to=f"{total}", area_code=row.fund.area_code)
    return row


def cancel_pledge(row: Pledge, reason: str | None, *, actor) -> Pledge:
    """The donor withdraws, or the host records that they did: cancelled, with why; what was
    received stays in the ledger."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 2000:
        raise ValidationFailed.on("reason", _("Say why the pledge is cancelled."))
    if row.status not in OPEN_PLEDGE:
        raise Conflict(_("This pledge is {state}.").format(state=row.status.title))
    changed = db.session.execute(
        sa.update(Pledge).where(Pledge.id == row.id, Pledge.status.in_(OPEN_PLEDGE))
        .values(status=PledgeState.cancelled, cancel_reason=reason)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict(_("This pledge is closed already."))
    db.session.expire(row)
    record(actor, "pledge", row.id, "cancel", reason=reason, area_code=row.fund.area_code)
    return row
