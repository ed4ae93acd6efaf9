"""信息公开: the schedule of statements, a published statement frozen whatever happens later,
a correction shown in the next period, the charity figures, and an award co-funded by a fund."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from portal.charity.models import Fund, Movement, MovementType
from portal.core.db import SHANGHAI
from portal.extensions import db


def past_movement(app, fund_id: int, kind: str, amount: str, when: datetime, **fields) -> int:
    """A movement of an earlier quarter (the API dates every movement now): written the way the
    ledger writes one, with its effect on the fund."""
    with app.app_context():
        value = Decimal(amount)
        delta = value if kind == "receipt" else -value
        row = Movement(fund_id=fund_id, type=MovementType(kind), amount=value, delta=delta,
                       at=when, **fields)
        db.session.add(row)
        db.session.execute(sa.update(Fund).where(Fund.id == fund_id).values(
            balance=Fund.balance + delta))
        db.session.commit()
        return row.id


def test_the_schedule_publishing_and_a_frozen_statement(app, client, token, fund, move):
    f = fund()
    today = datetime.now(SHANGHAI).date()
    y = today.year - 1  # last year's third quarter: ended, its statement overdue
    past_movement(app, f["id"], "receipt", "500.00", datetime(y, 8, 10, 9, tzinfo=SHANGHAI),
                  donor_name="李四")
    q3 = past_movement(app, f["id"], "disbursement", "120.00",
                       datetime(y, 9, 30, 23, 30, tzinfo=SHANGHAI), purpose="助老")
    schedule = client.get(f"/api/v1/funds/{f['id']}/disclosures").get_json()
    periods = {r["period"]: r for r in schedule}
    assert set(periods) == {f"{y}Q3", str(y)}
    assert periods[f"{y}Q3"]["due_on"] == f"{y}-10-30" and periods[f"{y}Q3"]["overdue"] is True
    assert periods[str(y)]["due_on"] == f"{y + 1}-05-31"
    assert periods[str(y)]["overdue"] is (today > datetime(y + 1, 5, 31).date())
    for bad, status in ((f"{y}Q5", 422), (f"{y}Q1", 422), (str(today.year), 409),
                        (None, 422)):
        answer = client.post(f"/api/v1/funds/{f['id']}/disclosures", headers=token("host"),
                             json={"period": bad})
        assert answer.status_code == status, bad
    assert client.post(f"/api/v1/funds/{f['id']}/disclosures", headers=token("donor"),
                       json={"period": f"{y}Q3"}).status_code == 403
    published = client.post(f"/api/v1/funds/{f['id']}/disclosures", headers=token("host"),
                            json={"period": f"{y}Q3"})
    assert published.status_code == 201
    statement = published.get_json()
    assert statement["opening_balance"] == "0.00" and statement["closing_balance"] == "380.00"
    assert [m["type"] for m in statement["movements"]] == ["receipt", "disbursement"]
    assert statement["movements"][0]["donor"] == "李*"
    assert client.post(f"/api/v1/funds/{f['id']}/disclosures", headers=token("host"),
                       json={"period": f"{y}Q3"}).status_code == 409
    # later: the Q3 payment was recorded twice by mistake; corrected now, this quarter
    fixed = move(f["id"], type="reversal", reverses=q3, reason="重复登记")
    assert fixed.status_code == 201, fixed.get_json()
    again = client.get(f"/api/v1/funds/{f['id']}/disclosures/{y}Q3").get_json()
    assert again["closing_balance"] == "380.00" and len(again["movements"]) == 2  # frozen
    listed = client.get(f"/api/v1/funds/{f['id']}/disclosures").get_json()
    assert next(r for r in listed if r["period"] == f"{y}Q3")["published_at"]
    from portal.charity.disclosure import snapshot

    with app.app_context():
        now_period = f"{datetime.now(SHANGHAI).year}Q{(datetime.now(SHANGHAI).month + 2) // 3}"
        current = snapshot(db.session.get(Fund, f["id"]), now_period)
        assert current["movements"][-1]["correction"] is True
        assert current["movements"][-1]["corrects_earlier_period"] is True
    assert client.get(f"/api/v1/funds/{f['id']}/disclosures/{y}Q2").status_code == 404


def test_the_charity_figures_of_an_area(app, client, token, fund, move):
    f = fund()
    move(f["id"], type="receipt", amount="100.00")
    stats = client.get("/api/v1/stats/charity?area=210802", headers=token("zhanqian"))
    assert stats.status_code == 200
    body = stats.get_json()
    assert body["funds"] == 1 and body["received_total"] == "100.00"
    assert client.get("/api/v1/stats/charity?area=210802", headers=token("bayuquan")
                      ).status_code == 403


def test_an_award_co_funded_by_a_fund_or_not_at_all(app, client, token, fund, move, charity):
    from tests.projects.conftest import CRITERIA, close_bidding, later

    f = fund()
    move(f["id"], type="receipt", amount="3000.00")
    project = client.post("/api/v1/projects", headers=token("zhanqian"), json={
        "title": "助老公益创投", "kind": "venture_philanthropy", "area_code": "210802",
        "budget": "20000.00", "bid_deadline": later(10), "criteria": CRITERIA}).get_json()
    client.post(f"/api/v1/projects/{project['id']}/publish", headers=token("zhanqian"))
    bid = client.post(f"/api/v1/projects/{project['id']}/bids", headers=token("host"), json={
        "org_id": charity, "requested_amount": "15000.00", "proposal": "方案"}).get_json()
    close_bidding(app, project["id"])
    short = client.post(f"/api/v1/projects/{project['id']}/award", headers=token("zhanqian"),
                        json={"bid_id": bid["id"], "co_funding": [
                            {"fund_id": f["id"], "amount": "5000.00"}]})
    assert short.status_code == 409
    assert client.get(f"/api/v1/projects/{project['id']}", headers=token("zhanqian")
                      ).get_json()["status"] == "reviewing"  # nothing awarded
    done = client.post(f"/api/v1/projects/{project['id']}/award", headers=token("zhanqian"),
                       json={"bid_id": bid["id"], "co_funding": [
                           {"fund_id": f["id"], "amount": "2000.00"}]})
    assert done.status_code == 200, done.get_json()
    assert client.get(f"/api/v1/funds/{f['id']}").get_json()["balance"] == "1000.00"
    line = client.get(f"/api/v1/funds/{f['id']}/movements").get_json()["items"][0]
    assert line["type"] == "disbursement" and line["project_id"] == project["id"]


def test_the_host_is_reminded_of_a_statement_due_within_a_week(app, client, token, fund,
                                                               monkeypatch):
    from portal.charity.disclosure import period_bounds
    from portal.core.notify import Notification

    f = fund()
    today = datetime.now(SHANGHAI).date()
    quarter = (today.month + 2) // 3
    previous = f"{today.year}Q{quarter - 1}" if quarter > 1 else f"{today.year - 1}Q4"
    began, ended = period_bounds(previous)
    middle = began + (ended - began) / 2
    past_movement(app, f["id"], "receipt", "10.00",
                  datetime(middle.year, middle.month, middle.day, 12, tzinfo=SHANGHAI))
    monkeypatch.setitem(app.config, "DISCLOSURE_DAYS", (today - ended).days + 4)  # due in 3 d
    runner = app.test_cli_runner()
    assert "1 reminders" in runner.invoke(args=["funds", "remind"]).output
    assert "0 reminders" in runner.invoke(args=["funds", "remind"]).output  # once
    with app.app_context():
        kinds = db.session.scalars(sa.select(Notification.kind)).all()
        assert kinds == ["statement_due"]
    monkeypatch.setitem(app.config, "DISCLOSURE_DAYS", (today - ended).days + 20)  # not yet
    with app.app_context():
        from portal.charity.disclosure import remind_due

        db.session.execute(sa.delete(Notification))
        db.session.commit()
        assert remind_due() == 0


def test_the_workers_tick_reminds_once_a_day(app, fund, monkeypatch):
    """Without cron: the worker's periodic work sends the day's reminders at its first tick of
    the day, and not again at the next."""
    from portal.charity import disclosure
    from portal.core.jobs import periodic_work

    calls = []
    monkeypatch.setattr(disclosure, "remind_due", lambda on=None: calls.append(on) or 0)
    monkeypatch.setattr(disclosure, "_REMINDED_ON", [])
    with app.app_context():
        periodic_work()
        periodic_work()
        assert calls == [datetime.now(SHANGHAI).date()]
        disclosure._REMINDED_ON[:] = [date(2000, 1, 1)]  # a new day
        periodic_work()
        assert len(calls) == 2


def test_a_statement_as_pdf_with_the_chinese_font_embedded(app, client, token, fund, tmp_path):
    import subprocess

    f = fund()
    y = datetime.now(SHANGHAI).year - 1
    past_movement(app, f["id"], "receipt", "500.00", datetime(y, 8, 10, 9, tzinfo=SHANGHAI),
                  donor_name="李四")
    client.post(f"/api/v1/funds/{f['id']}/disclosures", headers=token("host"),
                json={"period": f"{y}Q3"})
    answer = client.get(f"/api/v1/funds/{f['id']}/disclosures/{y}Q3/pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    path = tmp_path / "statement.pdf"
    path.write_bytes(answer.data)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
    assert "NotoSansCJKSC" in fonts and " yes " in fonts  # embedded (a subset)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "信息公开报告" in text and "500.00" in text and "李*" in text and "李四" not in text
    assert client.get(f"/api/v1/funds/{f['id']}/disclosures/{y}Q2/pdf").status_code == 404


def test_a_quarter_without_movements_owes_no_statement(app, client, fund):
    f = fund()
    y = datetime.now(SHANGHAI).year - 1
    past_movement(app, f["id"], "receipt", "10.00", datetime(y, 1, 1, 0, 30, tzinfo=SHANGHAI))
    past_movement(app, f["id"], "receipt", "10.00", datetime(y, 9, 30, 23, 59, tzinfo=SHANGHAI))
    periods = [r["period"] for r in client.get(f"/api/v1/funds/{f['id']}/disclosures")
               .get_json()]
    assert sorted(periods) == sorted([f"{y}Q1", f"{y}Q3", str(y)])  # Beijing's quarters
