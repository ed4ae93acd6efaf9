"""The charity figures of an area (the bureau's dashboard and /api/v1/stats/charity)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from portal.charity import disclosure
from portal.charity.models import Fund, Pledge
from portal.charity.services import overdue_pledges
from portal.core.areas import under
from portal.core.money import money
from portal.extensions import db


def fund_rows(area_code: str) -> list[dict]:
    """Each fund of the area with its totals, overdue pledges and overdue statements."""
    funds = db.session.scalars(sa.select(Fund).where(under(Fund.area_code, area_code))
                               .order_by(Fund.area_code, Fund.id)).all()
    overdue = dict(db.session.execute(
        sa.select(Pledge.fund_id, sa.func.count()).where(
            Pledge.fund_id.in_([f.id for f in funds]), overdue_pledges())
        .group_by(Pledge.fund_id)).all()) if funds else {}
    rows = []
    for fund in funds:
        rows.append({"id": fund.id, "name": fund.name, "area_code": fund.area_code,
                     "area_name": fund.area.name if fund.area else None,
                     "host_org": fund.host.name if fund.host else None,
                     "status": fund.status.value, "balance": fund.balance,
                     "received_total": fund.received_total,
                     "disbursed_total": fund.disbursed_total,
                     "goods_value_in": fund.goods_value_in,
                     "goods_value_out": fund.goods_value_out,
                     "overdue_pledges": overdue.get(fund.id, 0),
                     "overdue_disclosures": disclosure.overdue_count(fund)})
    return rows


def charity_figures(area_code: str) -> dict:
    rows = fund_rows(area_code)

    def total(key: str) -> str:
        return money(sum((r[key] for r in rows), Decimal("0.00")))
    return {"funds": len(rows), "received_total": total("received_total"),
            "disbursed_total": total("disbursed_total"), "balance": total("balance"),
            "goods_value_in": total("goods_value_in"),
            "goods_value_out": total("goods_value_out"),
            "overdue_pledges": sum(r["overdue_pledges"] for r in rows),
            "overdue_disclosures": sum(r["overdue_disclosures"] for r in rows),
            "items": [{**r, **{k: money(r[k]) for k in ("balance", "received_total",
                                                          "disbursed_total", "goods_value_in",
                                                          "goods_value_out")}}
                      for r in rows]}


def charity_workbook(area):
    """The dashboard in Excel: each fund with its totals and what is overdue (amounts as
    numbers)."""
    from portal.core.excel import add_sheet, caption, new_book, saved

    rows = fund_rows(area.code)
    book = new_book()
    add_sheet(book, "社区基金", ["编号", "基金", "区域", "持有机构", "状态", "余额", "累计收入",
                              "累计支出", "物资入库价值", "物资发放价值", "逾期认捐",
                              "逾期未公开报告"],
              [[r["id"], r["name"], r["area_name"], r["host_org"],
                "开放" if r["status"] == "open" else "关闭", r["balance"],
                r["received_total"], r["disbursed_total"], r["goods_value_in"],
                r["goods_value_out"], r["overdue_pledges"], r["overdue_disclosures"]]
               for r in rows], title=caption("社区基金与信息公开", area.name),
              money=(5, 6, 7, 8, 9))
    return saved(book)
