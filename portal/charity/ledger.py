"""The ledger (台账): every movement of money and goods in and out of a fund, one transaction
each, and the fund's figures kept with it.

A movement changes the fund's row by one conditional UPDATE ("... WHERE balance + delta >= 0"):
when fifty disbursements arrive at once, the database lets through those the balance covers and
the rest find no row to change (409), on PostgreSQL (the row lock, then the condition read
again) and on SQLite (one writer at a time) alike; the CHECK on the balance is the backstop.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from portal.charity.models import (
    ZERO,
    Fund,
    FundState,
    Money,
    Movement,
    MovementType,
    Pledge,
    PledgeState,
    Stock,
)
from portal.core.audit import COLUMNS as AUDIT_COLUMNS
from portal.core.audit import AuditEntry
from portal.core.audit import row as audit_row
from portal.core.db import dialect, utcnow
from portal.core.errors import Conflict, ValidationFailed
from portal.core.money import parse_money
from portal.extensions import db

T = MovementType
MAX_ITEMS = 50
MAX_QUANTITY = Decimal("1000000")


@dataclass
class Line:
    """One kind of goods: what, how many, in what unit, at what value each."""
    name: str
    quantity: Decimal
    unit: str
    unit_value: Decimal | None = None

    @property
    def value(self) -> Decimal:
        return (self.quantity * (self.unit_value or ZERO)).quantize(Decimal("0.01"))

    def to_dict(self) -> dict:
        data = {"name": self.name, "quantity": f"{self.quantity.normalize():f}",
                "unit": self.unit}
        if self.unit_value is not None:
            data["unit_value"] = f"{self.unit_value:.2f}"
            data["value"] = f"{self.value:.2f}"
        return data


def parse_quantity(value, field: str) -> Decimal:
    """A positive quantity with at most three decimals, as a number or a string (no floats'
    surprises: 0.1 + 0.2 is read as written)."""
    if isinstance(value, bool) or not isinstance(value, (int, str, float)):
        raise ValidationFailed.on(field, _("A quantity like 10 or 2.5."))
    try:
        quantity = Decimal(str(value).strip())
    except ArithmeticError:
        raise ValidationFailed.on(field, _("A quantity like 10 or 2.5.")) from None
    if not quantity.is_finite() or quantity <= 0 or quantity > MAX_QUANTITY or \
            quantity.as_tuple().exponent < -3:
        raise ValidationFailed.on(field, _("A positive quantity with at most three decimals."))
    return quantity


def parse_items(items, field: str = "items", *, values: bool = True) -> list[Line]:
    """Goods lines: [{name, quantity, unit, unit_value}] (unit_value required where `values`)."""
    if not isinstance(items, list) or not items:
        raise ValidationFailed.on(field, _("List the goods: name, quantity, unit and value."))
    if len(items) > MAX_ITEMS:
        raise ValidationFailed.on(field, _("At most {n} kinds of goods at once.").format(
            n=MAX_ITEMS))
    errors: dict[str, list[str]] = {}
    lines: list[Line] = []
    for i, item in enumerate(items):
        where = f"{field}.{i}"
        if not isinstance(item, dict):
            errors[where] = [_("List the goods: name, quantity, unit and value.")]
            continue
        name = item.get("name").strip() if isinstance(item.get("name"), str) else ""
        unit = item.get("unit").strip() if isinstance(item.get("unit"), str) else ""
        if not name or len(name) > 100:
            errors[f"{where}.name"] = [_("Name the goods (at most 100 characters).")]
        if not unit or len(unit) > 20:
            errors[f"{where}.unit"] = [_("Give the unit (件, 箱, 斤...).")]
        try:
            quantity = parse_quantity(item.get("quantity"), f"{where}.quantity")
        except ValidationFailed as exc:
            errors.update(exc.fields)
            quantity = None
        unit_value = None
        if values or item.get("unit_value") is not None:
            try:
                unit_value = parse_money(item.get("unit_value"), f"{where}.unit_value")
            except ValidationFailed as exc:
                errors.update(exc.fields)
        if quantity is not None and not errors:
            lines.append(Line(name, quantity, unit, unit_value))
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    return lines


# --- the fund's row -------------------------------------------------------------------------------

_FIGURES = ("balance", "goods_value_held", "received_total", "disbursed_total", "goods_value_in",
            "goods_value_out")


# The columns of a ledger line, and the effects a line has on its fund's figures.
_LINE = ("fund_id", "type", "amount", "items", "delta", "goods_delta", "pledge_id", "project_id",
         "need_id", "wish_id", "purpose", "donor_name", "donor_kind", "anonymous", "reverses_id",
         "reason", "recorded_by", "at")
_EFFECTS = ("delta", "goods_delta", "received", "disbursed", "goods_in", "goods_out")


@functools.cache
def _post_statements(one_statement: bool) -> tuple:
    """The statements of `_post`, built once (parameters: `e_*` the effects, `line_*` the new
    line's columns, `audit_*` its audit row's; none is named after a column, which an UPDATE
    would take for one more SET)."""
    funds, lines, audit_log = Fund.__table__, Movement.__table__, AuditEntry.__table__
    e = {name: sa.bindparam(f"e_{name}", type_=Money) for name in _EFFECTS}
    update = (funds.update()
              .where(funds.c.id == sa.bindparam("e_fund", type_=sa.Integer),
                     funds.c.balance + e["delta"] >= 0,
                     funds.c.goods_value_held + e["goods_delta"] >= 0)
              .values(balance=funds.c.balance + e["delta"],
                      goods_value_held=funds.c.goods_value_held + e["goods_delta"],
                      received_total=funds.c.received_total + e["received"],
                      disbursed_total=funds.c.disbursed_total + e["disbursed"],
                      goods_value_in=funds.c.goods_value_in + e["goods_in"],
                      goods_value_out=funds.c.goods_value_out + e["goods_out"])
              .returning(*(funds.c[name] for name in _FIGURES)))
    line = [sa.bindparam(f"line_{c}", type_=lines.c[c].type) for c in _LINE]
    audit = [sa.bindparam(f"audit_{c}", type_=audit_log.c[c].type) for c in AUDIT_COLUMNS]
    if not one_statement:
        return (update, lines.insert().values(dict(zip(_LINE, line, strict=True)))
                .returning(lines.c.id),
                audit_log.insert().values(dict(zip(AUDIT_COLUMNS, audit, strict=True))))
    changed = update.cte("changed")
    added = (lines.insert().from_select(_LINE, sa.select(*line).select_from(changed))
             .returning(lines.c.id).cte("added"))
    audited = (audit_log.insert().from_select(AUDIT_COLUMNS,
                                              sa.select(*audit).select_from(changed))
               .cte("audited"))
    return (sa.select(*changed.c, added.c.id).select_from(changed.join(added, sa.true()))
            .add_cte(audited),)


def _post(fund: Fund, values: dict, audit: dict, *, refusal: str, **effects) -> Movement:
    """A line of the ledger (`values`), its effects on the fund's figures (`effects`, of
    _EFFECTS) and its audit row, or Conflict(`refusal`) when the balance or the goods held
    would go below zero and nothing is written. The fund's row changes by one conditional
    UPDATE, so the database decides between simultaneous ones; on PostgreSQL the UPDATE and
    both INSERTs are one statement (data-modifying WITHs: the line and its audit row exist only
    if the UPDATE changed the row), on SQLite three (it serialises writers). The fund's figures
    are set from what the UPDATE returns, and the line becomes a loaded Movement without a
    read."""
    values = {**values, "delta": effects.get("delta", ZERO),
              "goods_delta": effects.get("goods_delta", ZERO)}
    params = {"e_fund": fund.id, **{f"e_{name}": effects.get(name, ZERO) for name in _EFFECTS},
              **{f"line_{c}": values[c] for c in _LINE},
              **{f"audit_{c}": audit[c] for c in AUDIT_COLUMNS}}
    statements = _post_statements(dialect() == "postgresql")
    if len(statements) == 1:
        row = db.session.execute(statements[0], params).one_or_none()
        if row is None:
            raise Conflict(refusal, {"amount": [refusal]})
        figures, movement_id = row[:len(_FIGURES)], row.id
    else:
        update, insert_line, insert_audit = statements
        figures = db.session.execute(update, params).one_or_none()
        if figures is None:
            raise Conflict(refusal, {"amount": [refusal]})
        movement_id = db.session.execute(insert_line, params).scalar_one()
        db.session.execute(insert_audit, params)
    for name, value in zip(_FIGURES, figures, strict=True):  # as the database now holds them
        set_committed_value(fund, name, value)
    movement = Movement(id=movement_id, **values)
    make_transient_to_detached(movement)  # what was written, known without reading it back
    db.session.add(movement)
    return movement


def _stock_in(fund: Fund, lines: list[Line]) -> None:
    for line in lines:
        changed = db.session.execute(
            sa.update(Stock).where(Stock.fund_id == fund.id, Stock.name == line.name,
                                   Stock.unit == line.unit)
            .values(quantity=Stock.quantity + line.quantity, value=Stock.value + line.value)
            .execution_options(synchronize_session=False)).rowcount
        if changed == 0:
            try:
                with db.session.begin_nested():
                    db.session.add(Stock(fund_id=fund.id, name=line.name, unit=line.unit,
                                         quantity=line.quantity, value=line.value))
                    db.session.flush()
            except sa.exc.IntegrityError:  # the same goods arrived at the same moment
                db.session.execute(
                    sa.update(Stock).where(Stock.fund_id == fund.id, Stock.name == line.name,
                                           Stock.unit == line.unit)
                    .values(quantity=Stock.quantity + line.quantity,
                            value=Stock.value + line.value))


def _stock_out(fund: Fund, lines: list[Line]) -> list[Line]:
    """Take goods out at the value they are held at (their average): the lines with values, or
    Conflict naming what the fund does not hold."""
    taken: list[Line] = []
    for line in lines:
        stock = db.session.scalars(sa.select(Stock).where(
            Stock.fund_id == fund.id, Stock.name == line.name, Stock.unit == line.unit)
            .with_for_update()).first()
        if stock is None or stock.quantity < line.quantity:
            held = f"{stock.quantity.normalize():f}" if stock else "0"
            raise Conflict(_("The fund holds {held} {unit} of {name}: not enough.").format(
                held=held, unit=line.unit, name=line.name))
        value = stock.value if stock.quantity == line.quantity else \
            (stock.value * line.quantity / stock.quantity).quantize(Decimal("0.01"))
        changed = db.session.execute(
            sa.update(Stock).where(Stock.id == stock.id, Stock.quantity >= line.quantity,
                                   Stock.value >= value)
            .values(quantity=Stock.quantity - line.quantity, value=Stock.value - value)
            .execution_options(synchronize_session=False)).rowcount
        if changed != 1:
            raise Conflict(_("Someone else changed this at the same time. Please reload."))
        unit_value = (value / line.quantity).quantize(Decimal("0.01"))
        taken.append(Line(line.name, line.quantity, line.unit, unit_value))
    return taken


# --- movements ------------------------------------------------------------------------------------

@dataclass
class MovementInput:
    type: str | None
    amount: object = None
    items: object = None
    pledge_id: int | None = None
    project_id: int | None = None
    need_id: int | None = None
    wish_id: int | None = None
    purpose: str | None = None
    reverses: int | None = None
    reason: str | None = None
    donor_name: str | None = None
    donor_kind: str | None = None
    anonymous: bool = False


def record_movement(fund: Fund, data: MovementInput, *, actor) -> Movement:
    """One line of the ledger and its effect on the fund, in the caller's transaction."""
    from portal.charity.links import check_links

    try:
        kind = T(data.type)
    except ValueError:
        raise ValidationFailed.on("type", _("Not one of the allowed values.")) from None
    if kind is T.reversal:
        return reverse(fund, data.reverses, data.reason, actor=actor)
    errors: dict[str, list[str]] = {}
    amount, lines = ZERO, None
    try:
        if kind in (T.receipt, T.disbursement):
            amount = parse_money(data.amount, "amount")
        else:
            lines = parse_items(data.items, values=kind is T.goods_in)
            amount = sum((line.value for line in lines), ZERO)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    purpose = (data.purpose or "").strip()
    if kind in (T.disbursement, T.goods_out) and not purpose:
        errors["purpose"] = [_("Say what it paid for: the public reads it.")]
    donor_kind = None
    if data.donor_name or data.donor_kind:
        from portal.charity.models import DonorKind

        try:
            donor_kind = DonorKind(data.donor_kind or "person")
        except ValueError:
            errors["donor_kind"] = [_("Not one of the allowed values.")]
    links = check_links(fund, data, errors)
    pledge = links.get("pledge")
    if pledge is not None and kind not in (T.receipt, T.goods_in):
        errors["pledge_id"] = [_("Only what comes in is received against a pledge.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    if fund.status is not FundState.open:
        raise Conflict(_("This fund is closed."))
    effect: dict = {}
    if kind is T.receipt:
        effect = {"delta": amount, "received": amount}
    elif kind is T.disbursement:
        effect = {"delta": -amount, "disbursed": amount}
    elif kind is T.goods_in:
        _stock_in(fund, lines)
        effect = {"goods_delta": amount, "goods_in": amount}
    else:
        lines = _stock_out(fund, lines)
        amount = sum((line.value for line in lines), ZERO)
        effect = {"goods_delta": -amount, "goods_out": amount}
    donor_name = (data.donor_name or "").strip() or (pledge.donor_name if pledge else None)
    values = dict(
        fund_id=fund.id, type=kind, amount=amount,
        items=[line.to_dict() for line in lines] if lines else None,
        pledge_id=pledge.id if pledge else None, project_id=data.project_id,
        need_id=data.need_id, wish_id=data.wish_id, purpose=purpose or None,
        donor_name=donor_name[:200] if donor_name else None,
        donor_kind=pledge.donor_kind if pledge else donor_kind,
        anonymous=pledge.anonymous if pledge else bool(data.anonymous), reverses_id=None,
        reason=None, recorded_by=actor.id if actor else None, at=utcnow())
    movement = _post(fund, values, audit_row(
        actor, "fund", fund.id, kind.value, to=f"{amount:.2f}", reason=purpose or None,
        area_code=fund.area_code), **effect, refusal=_(
        "The fund holds {balance} yuan: not enough for this.").format(balance=fund.balance))
    if pledge is not None:
        _pledge_received(pledge, amount)
    return movement


def reverse(fund: Fund, reverses, reason: str | None, *, actor) -> Movement:
    """A correction: the movement named is undone by a new line saying why (never by editing)."""
    from portal.core.db import body_id

    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    original = db.session.get(Movement, body_id(reverses)) if body_id(reverses) else None
    if original is None or original.fund_id != fund.id:
        errors["reverses"] = [_("Name a movement of this fund.")]
    elif original.type is T.reversal:
        errors["reverses"] = [_("A correction is not corrected again: record the movement "
                                "anew.")]
    if not reason:
        errors["reason"] = [_("Say why: the public reads it.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    if db.session.scalar(sa.select(Movement.id).where(Movement.reverses_id == original.id)):
        raise Conflict(_("That movement is corrected already."))
    effect: dict = {"delta": -original.delta, "goods_delta": -original.goods_delta}
    lines = [Line(i["name"], Decimal(i["quantity"]), i["unit"],
                  Decimal(i["unit_value"]) if i.get("unit_value") else None)
             for i in (original.items or [])]
    if original.type is T.receipt:
        effect["received"] = -original.amount
    elif original.type is T.disbursement:
        effect["disbursed"] = -original.amount
    elif original.type is T.goods_in:
        _stock_out(fund, lines)
        effect["goods_in"] = -original.amount
    elif original.type is T.goods_out:
        _stock_in(fund, lines)
        effect["goods_out"] = -original.amount
    values = dict(
        fund_id=fund.id, type=T.reversal, amount=original.amount, items=original.items,
        pledge_id=original.pledge_id, project_id=original.project_id,
        need_id=original.need_id, wish_id=original.wish_id, purpose=original.purpose,
        donor_name=original.donor_name, donor_kind=original.donor_kind,
        anonymous=original.anonymous, reverses_id=original.id, reason=reason,
        recorded_by=actor.id if actor else None, at=utcnow())
    try:
        with db.session.begin_nested():
            movement = _post(fund, values, audit_row(
                actor, "fund", fund.id, "reversal", to=f"#{original.id}", reason=reason,
                area_code=fund.area_code), **effect, refusal=_(
                "The fund no longer holds what this movement brought in: it was paid out "
                "since."))
    except sa.exc.IntegrityError:  # corrected at the same moment by someone else
        raise Conflict(_("That movement is corrected already.")) from None
    if original.pledge_id:
        _pledge_received(db.session.get(Pledge, original.pledge_id), -original.amount)
    return movement


def _pledge_received(pledge: Pledge, amount: Decimal) -> None:
    """What came in against a pledge moves its state when the sum reaches it."""
    db.session.execute(sa.update(Pledge).where(Pledge.id == pledge.id).values(
        received=Pledge.received + amount).execution_options(synchronize_session=False))
    db.session.expire(pledge)
    if pledge.status is PledgeState.cancelled:
        return
    state = PledgeState.received if pledge.received >= pledge.value else \
        PledgeState.partly_received if pledge.received > 0 else PledgeState.pledged
    if state is not pledge.status:
        db.session.execute(sa.update(Pledge).where(Pledge.id == pledge.id).values(status=state)
                           .execution_options(synchronize_session=False))
        db.session.expire(pledge)


def co_fund(project, parts, *, actor) -> list[Movement]:
    """An award co-funded by funds: each part a disbursement of its fund to the project, in the
    award's transaction (Conflict from a fund short of it undoes the award with it)."""
    from portal.core.db import body_id

    if not isinstance(parts, list) or len(parts) > 20:
        raise ValidationFailed.on("co_funding", _("A list of funds and amounts."))
    errors: dict[str, list[str]] = {}
    planned = []
    for i, part in enumerate(parts):
        fund_id = body_id(part.get("fund_id")) if isinstance(part, dict) else None
        fund = db.session.get(Fund, fund_id) if fund_id else None
        if fund is None:
            errors[f"co_funding.{i}.fund_id"] = [_("No such fund.")]
            continue
        try:
            amount = parse_money(part.get("amount"), f"co_funding.{i}.amount")
        except ValidationFailed as exc:
            errors.update(exc.fields)
            continue
        planned.append((fund, amount))
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    paid = []
    for i, (fund, amount) in enumerate(planned):
        try:
            paid.append(record_movement(fund, MovementInput(
                type="disbursement", amount=f"{amount:.2f}", project_id=project.id,
                purpose=_("Co-funding of the project “{title}”").format(title=project.title)),
                actor=actor))
        except Conflict as exc:  # said by the co-funding line, not the award's amount
            raise Conflict(exc.message, {f"co_funding.{i}.amount": [exc.message]}) from None
    return paid


# --- checking the ledger ----------------------------------------------------------------------

def mismatches() -> list[dict]:
    """Every fund whose kept figures differ from the sums of its ledger."""
    sums = {row.fund_id: row for row in db.session.execute(
        sa.select(Movement.fund_id, sa.func.coalesce(sa.func.sum(Movement.delta), 0)
                  .label("balance"),
                  sa.func.coalesce(sa.func.sum(Movement.goods_delta), 0).label("goods"))
        .group_by(Movement.fund_id))}
    wrong = []
    for fund in db.session.scalars(sa.select(Fund).order_by(Fund.id)):
        row = sums.get(fund.id)
        ledger_balance = Decimal(row.balance if row else 0).quantize(Decimal("0.01"))
        ledger_goods = Decimal(row.goods if row else 0).quantize(Decimal("0.01"))
        if ledger_balance != fund.balance or ledger_goods != fund.goods_value_held:
            wrong.append({"fund_id": fund.id, "name": fund.name,
                          "balance": fund.balance, "ledger_balance": ledger_balance,
                          "goods": fund.goods_value_held, "ledger_goods": ledger_goods})
    return wrong


