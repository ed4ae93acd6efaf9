"""信息公开 (慈善组织信息公开办法): the statements a fund owes and the frozen snapshots the host
publishes.

The schedule is computed from the ledger: a statement for every quarter in which the fund had
movements, due DISCLOSURE_DAYS (30) after the quarter, and an annual report for every such year,
due 31 May of the next. A statement is published only for a period that has ended, as a frozen
snapshot (opening balance, every movement, closing balance, the pledges outstanding): later
movements never change it, since a movement is never dated in the past; a reversal of a
movement of a published period is a movement of its own period, shown there as a correction.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from portal.charity.models import (
    ZERO,
    Disclosure,
    Fund,
    Movement,
    MovementType,
    Pledge,
    PledgeState,
)
from portal.core.audit import record
from portal.core.db import SHANGHAI, iso, utcnow
from portal.core.errors import Conflict, ValidationFailed
from portal.core.money import money
from portal.extensions import db


def period_bounds(period: str) -> tuple[date, date] | None:
    """"2026Q3" -> (2026-07-01, 2026-10-01); "2026" -> (2026-01-01, 2027-01-01); else None."""
    if len(period) == 6 and period[:4].isdigit() and period[4] == "Q" and period[5] in "1234":
        year, quarter = int(period[:4]), int(period[5])
        start = date(year, 3 * quarter - 2, 1)
        end = date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1)
        return start, end
    if len(period) == 4 and period.isdigit() and 2000 <= int(period) <= 2100:
        return date(int(period), 1, 1), date(int(period) + 1, 1, 1)
    return None


def due_on(period: str) -> date:
    start, end = period_bounds(period)
    if len(period) == 4:
        return date(int(period) + 1, 5, 31)
    return end + timedelta(days=current_app.config["DISCLOSURE_DAYS"] - 1)


def _instant(day: date) -> datetime:
    """Midnight in Beijing, as an aware time (periods are Beijing's calendar)."""
    return datetime.combine(day, time.min, SHANGHAI)


def _quarters_with_movements(fund: Fund) -> list[str]:
    """The quarters (Beijing's calendar) in which the fund had movements: its first and last
    movement, then one index probe per quarter between them (never a scan of the ledger, which
    may hold hundreds of thousands of lines)."""
    first, last = db.session.execute(sa.select(sa.func.min(Movement.at), sa.func.max(
        Movement.at)).where(Movement.fund_id == fund.id)).one()
    if first is None:
        return []
    first, last = first.astimezone(SHANGHAI).date(), last.astimezone(SHANGHAI).date()
    quarters = []
    year, quarter = first.year, (first.month + 2) // 3
    while (year, quarter) <= (last.year, (last.month + 2) // 3):
        period = f"{year}Q{quarter}"
        start, end = period_bounds(period)
        if db.session.scalar(sa.select(sa.exists().where(
                Movement.fund_id == fund.id, Movement.at >= _instant(start),
                Movement.at < _instant(end)))):
            quarters.append(period)
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return quarters


def schedule(fund: Fund, on: date | None = None) -> list[dict]:
    """Every statement the fund owes, oldest first: [{period, due_on, published_at,
    overdue}]. A period still running is listed (not due yet) once it has movements."""
    today = on or utcnow().astimezone(SHANGHAI).date()
    quarters = _quarters_with_movements(fund)
    years = sorted({q[:4] for q in quarters})
    published = dict(db.session.execute(sa.select(Disclosure.period, Disclosure.published_at)
                                         .where(Disclosure.fund_id == fund.id)).all())
    rows = []
    for period in [*quarters, *years]:
        due = due_on(period)
        done = published.get(period)
        rows.append({"period": period, "due_on": due.isoformat(),
                     "ends_on": (period_bounds(period)[1] - timedelta(days=1)).isoformat(),
                     "published_at": iso(done), "overdue": done is None and due < today})
    rows.sort(key=lambda r: (r["due_on"], r["period"]))
    return rows


def donor_shown(movement_or_pledge) -> str | None:
    """The donor as the public sees them: anonymous, or a person as surname + *."""
    from portal.charity.models import DonorKind

    name = movement_or_pledge.donor_name
    if not name:
        return None
    if movement_or_pledge.anonymous:
        return _("Anonymous")
    if movement_or_pledge.donor_kind in (None, DonorKind.person):  # a person unless said
        return name[0] + "*"
    return name


def public_movement(m: Movement, titles: dict | None = None) -> dict:
    """A movement as anyone may read it (the donor's privacy kept, the beneficiary's absent)."""
    return {"id": m.id, "at": iso(m.at), "date": m.at.astimezone(SHANGHAI).date().isoformat(),
            "type": m.type.value, "amount": money(m.amount),
            "items": m.items, "donor": donor_shown(m), "purpose": m.purpose,
            "project_id": m.project_id, "need_id": m.need_id, "wish_id": m.wish_id,
            "pledge_id": m.pledge_id, "reverses": m.reverses_id, "reason": m.reason,
            "correction": m.type is MovementType.reversal}


def snapshot(fund: Fund, period: str) -> dict:
    """The statement of a period as it stands now (what publishing freezes)."""
    start, end = period_bounds(period)
    start_at, end_at = _instant(start), _instant(end)

    def sums(before: datetime) -> tuple[Decimal, Decimal]:
        row = db.session.execute(sa.select(
            sa.func.coalesce(sa.func.sum(Movement.delta), 0),
            sa.func.coalesce(sa.func.sum(Movement.goods_delta), 0)).where(
            Movement.fund_id == fund.id, Movement.at < before)).one()
        return Decimal(row[0]).quantize(Decimal("0.01")), Decimal(row[1]).quantize(
            Decimal("0.01"))

    opening, goods_opening = sums(start_at)
    closing, goods_closing = sums(end_at)
    moves = db.session.scalars(sa.select(Movement).where(
        Movement.fund_id == fund.id, Movement.at >= start_at, Movement.at < end_at)
        .order_by(Movement.at, Movement.id)).all()
    totals = {t.value: ZERO for t in MovementType}
    for m in moves:
        totals[m.type.value] += m.amount
    corrected = {}
    reversed_ids = [m.reverses_id for m in moves if m.reverses_id]
    if reversed_ids:
        corrected = dict(db.session.execute(sa.select(Movement.id, Movement.at).where(
            Movement.id.in_(reversed_ids))).all())
    lines = []
    for m in moves:
        line = public_movement(m)
        if m.reverses_id and corrected.get(m.reverses_id) and \
                corrected[m.reverses_id] < start_at:
            line["corrects_earlier_period"] = True
        lines.append(line)
    outstanding = db.session.scalars(sa.select(Pledge).where(
        Pledge.fund_id == fund.id, Pledge.created_at < end_at,
        Pledge.status.in_((PledgeState.pledged, PledgeState.partly_received)))
        .order_by(Pledge.id)).all()
    return {
        "fund": {"id": fund.id, "name": fund.name, "area_code": fund.area_code,
                 "host_org": fund.host.name if fund.host else None},
        "period": period, "starts_on": start.isoformat(),
        "ends_on": (end - timedelta(days=1)).isoformat(),
        "opening_balance": money(opening), "closing_balance": money(closing),
        "goods_value_opening": money(goods_opening), "goods_value_closing": money(goods_closing),
        "totals": {k: money(v) for k, v in totals.items()},
        "movements": lines,
        "pledges_outstanding": [{"id": p.id, "donor": donor_shown(p), "kind": p.kind.value,
                                 "value": money(p.value), "received": money(p.received),
                                 "due_on": p.due_on.isoformat() if p.due_on else None}
                                for p in outstanding],
    }


def publish(fund: Fund, period, *, actor) -> Disclosure:
    if not isinstance(period, str) or period_bounds(period) is None:
        raise ValidationFailed.on("period", _("A quarter like 2026Q3, or a year like 2026."))
    start, end = period_bounds(period)
    if _instant(end) > utcnow():
        raise Conflict(_("{period} has not ended yet: its statement is published after it.")
                       .format(period=period))
    if period not in {r["period"] for r in schedule(fund)}:
        raise ValidationFailed.on("period", _("The fund had no movements in {period}.").format(
            period=period))
    row = Disclosure(fund_id=fund.id, period=period, snapshot=snapshot(fund, period),
                     published_by=actor.id, published_at=utcnow())
    db.session.add(row)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_("The statement of {period} is published already.").format(
            period=period)) from None
    record(actor, "fund", fund.id, "publish_statement", to=period, area_code=fund.area_code)
    return row


def remind_due(on: date | None = None) -> int:
    """Tell each open fund's host admins of a statement due within DISCLOSURE_REMIND_DAYS and
    not yet published (once per statement and admin: the outbox's unique subject)."""
    from flask_babel import lazy_gettext as _l

    from portal.charity.models import FundState
    from portal.core.notify import tell

    today = on or utcnow().astimezone(SHANGHAI).date()
    horizon = today + timedelta(days=current_app.config["DISCLOSURE_REMIND_DAYS"])
    sent = 0
    for fund in db.session.scalars(sa.select(Fund).where(Fund.status == FundState.open)):
        for row in schedule(fund, today):
            due = date.fromisoformat(row["due_on"])
            if row["published_at"] or not today <= due <= horizon or \
                    period_bounds(row["period"])[1] > today:
                continue
            for admin_id in fund.host.admin_ids():
                if tell(admin_id, "statement_due", f"fund:{fund.id}:{row['period']}",
                        _l("A statement of {fund} is due"),
                        _l("The statement of {period} is due on {due}: publish it on the "
                           "fund's page."), fund=fund.name, period=row["period"],
                        due=row["due_on"]):
                    sent += 1
    return sent


_REMINDED_ON: list[date] = []  # the day this process last sent reminders


def remind_daily() -> int:
    """The worker's tick: `remind_due` once a day (Beijing's) per process, the first tick of
    the day; a second process, or `flask funds remind` from cron, tells nobody twice."""
    today = utcnow().astimezone(SHANGHAI).date()
    if _REMINDED_ON and _REMINDED_ON[0] == today:
        return 0
    sent = remind_due(today)
    _REMINDED_ON[:] = [today]
    return sent


def overdue_count(fund: Fund) -> int:
    return sum(1 for r in schedule(fund) if r["overdue"])
