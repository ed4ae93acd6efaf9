"""Funds and their ledger: who opens and keeps a fund, pledges and receipts, a balance that
never goes below zero (also when fifty payments arrive at once), corrections by reversal only,
and `funds check`."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.charity.models import Fund, Movement
from portal.core.audit import AuditEntry
from portal.extensions import db
from tests.charity.conftest import TOWNSHIP, URBAN


def test_the_bureau_opens_a_fund_held_by_a_registered_charity(client, token, charity, people,
                                                             make_user):
    body = {"name": "基金", "area_code": TOWNSHIP, "host_org_id": charity}
    assert client.post("/api/v1/funds", headers=token("bayuquan"), json=body).status_code == 403
    assert client.post("/api/v1/funds", headers=token("host"), json=body).status_code == 403
    for bad, field in (({"area_code": "210802"}, "area_code"),
                       ({"host_org_id": 99999}, "host_org_id"),
                       ({"host_org_id": "x"}, "host_org_id"), ({"name": ""}, "name")):
        answer = client.post("/api/v1/funds", headers=token("zhanqian"), json={**body, **bad})
        assert answer.status_code == 422 and field in answer.get_json()["error"]["fields"], bad
    made = client.post("/api/v1/funds", headers=token("zhanqian"), json=body)
    assert made.status_code == 201
    fund = made.get_json()
    assert fund["balance"] == "0.00" and fund["host_org"]["id"] == charity
    assert client.get(f"/api/v1/funds/{fund['id']}").get_json()["name"] == "基金"  # public
    assert client.get(f"/api/v1/funds?area={URBAN[:6]}").get_json()["total"] == 1


def test_a_filed_group_cannot_hold_a_fund(client, token, people):
    from tests.orgs.conftest import org_body

    org = client.post("/api/v1/orgs", headers=token("filer"), json=org_body()).get_json()
    client.post(f"/api/v1/orgs/{org['id']}/review", headers=token("zhanqian"),
                json={"decision": "approve", "comment": "ok"})
    answer = client.post("/api/v1/funds", headers=token("zhanqian"), json={
        "name": "基金", "area_code": TOWNSHIP, "host_org_id": org["id"]})
    assert answer.status_code == 422 and "host_org_id" in answer.get_json()["error"]["fields"]


def test_receipts_and_payments_move_the_balance_and_a_pledge(client, token, fund, move):
    f = fund()
    pledged = client.post(f"/api/v1/funds/{f['id']}/pledges", headers=token("donor"), json={
        "donor_name": "王小明", "kind": "money", "amount": "1000.00",
        "due_on": "2099-01-01"})
    assert pledged.status_code == 201 and pledged.get_json()["status"] == "pledged"
    pid = pledged.get_json()["id"]
    part = move(f["id"], type="receipt", amount="400.00", pledge_id=pid)
    assert part.status_code == 201, part.get_json()
    pledge = client.get(f"/api/v1/funds/{f['id']}/pledges").get_json()["items"][0]
    assert pledge["status"] == "partly_received" and pledge["received"] == "400.00"
    assert pledge["donor"] == "王*" and "donor_name" not in pledge  # the public's view
    move(f["id"], type="receipt", amount="600.00", pledge_id=pid)
    assert client.get(f"/api/v1/funds/{f['id']}/pledges").get_json()["items"][0]["status"] \
        == "received"
    paid = move(f["id"], type="disbursement", amount="250.50", purpose="为独居老人购买助行器")
    assert paid.status_code == 201
    line = paid.get_json()  # the line as the public sees it, and the fund's figures after it
    assert (line["type"], line["amount"], line["purpose"]) == \
        ("disbursement", "250.50", "为独居老人购买助行器")
    assert line["fund"] == {"id": f["id"], "balance": "749.50", "received_total": "1000.00",
                            "disbursed_total": "250.50", "goods_value_in": "0.00",
                            "goods_value_out": "0.00", "goods_value_held": "0.00"}
    assert client.get(f"/api/v1/funds/{f['id']}/movements").get_json()["items"][0] == \
        {k: v for k, v in line.items() if k != "fund"}
    body = client.get(f"/api/v1/funds/{f['id']}").get_json()
    assert body["balance"] == "749.50" and body["received_total"] == "1000.00"
    assert body["disbursed_total"] == "250.50"
    too_much = move(f["id"], type="disbursement", amount="749.51", purpose="超支")
    assert too_much.status_code == 409
    assert client.get(f"/api/v1/funds/{f['id']}").get_json()["balance"] == "749.50"


@pytest.mark.parametrize("amount", [10.5, "1e3", "NaN", "10.123", "-5", "0", "abc", True, None,
                                    "Infinity", "１０"])
def test_amounts_are_decimal_strings_with_two_places(client, token, fund, move, amount):
    f = fund()
    answer = move(f["id"], type="receipt", amount=amount)
    assert answer.status_code == 422, amount
    assert "amount" in answer.get_json()["error"]["fields"]
    assert client.get(f"/api/v1/funds/{f['id']}").get_json()["balance"] == "0.00"


def test_only_the_hosts_admins_keep_the_ledger(client, token, fund, move):
    f = fund()
    for name in ("donor", "zhanqian", "worker"):
        assert move(f["id"], by=name, type="receipt", amount="10.00").status_code == 403
    assert client.post(f"/api/v1/funds/{f['id']}/movements", json={
        "type": "receipt", "amount": "10.00"}).status_code == 401


def test_a_payment_needs_its_purpose_and_links_must_be_the_funds(client, token, fund, move):
    f = fund()
    move(f["id"], type="receipt", amount="100.00")
    missing = move(f["id"], type="disbursement", amount="10.00")
    assert missing.status_code == 422 and "purpose" in missing.get_json()["error"]["fields"]
    for link in ("need_id", "wish_id", "project_id", "pledge_id"):
        answer = move(f["id"], type="disbursement", amount="10.00", purpose="x",
                      **{link: 999999})
        assert answer.status_code == 422 and link in answer.get_json()["error"]["fields"]


def test_a_mistake_is_corrected_by_a_reversal_never_by_editing(app, client, token, fund, move):
    f, other = fund(), fund(name="另一个基金")
    receipt = move(f["id"], type="receipt", amount="300.00", donor_name="李四").get_json()
    elsewhere = move(other["id"], type="receipt", amount="5.00").get_json()
    for bad, field in (({"reverses": elsewhere["id"], "reason": "错"}, "reverses"),
                       ({"reverses": 999999, "reason": "错"}, "reverses"),
                       ({"reverses": receipt["id"]}, "reason")):
        answer = move(f["id"], type="reversal", **bad)
        assert answer.status_code == 422 and field in answer.get_json()["error"]["fields"]
    fixed = move(f["id"], type="reversal", reverses=receipt["id"], reason="重复登记")
    assert fixed.status_code == 201 and fixed.get_json()["correction"] is True
    assert client.get(f"/api/v1/funds/{f['id']}").get_json()["balance"] == "0.00"
    again = move(f["id"], type="reversal", reverses=receipt["id"], reason="再冲一次")
    assert again.status_code == 409
    of_reversal = move(f["id"], type="reversal", reverses=fixed.get_json()["id"], reason="x")
    assert of_reversal.status_code == 422
    lines = client.get(f"/api/v1/funds/{f['id']}/movements").get_json()["items"]
    assert [(m["type"], m["reverses"]) for m in lines] == [("reversal", receipt["id"]),
                                                          ("receipt", None)]
    assert lines[0]["reason"] == "重复登记" and lines[1]["donor"] == "李*"
    assert lines[0]["date"] == lines[0]["at"][:10]  # the contract's date, Beijing's
    with app.app_context():
        for statement in ("UPDATE movements SET amount = 1", "DELETE FROM movements"):
            with pytest.raises(sa.exc.DatabaseError), db.engine.begin() as conn:
                conn.execute(sa.text(statement))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Movement)) == 3


def test_a_receipt_already_spent_cannot_be_reversed(client, fund, move):
    f = fund()
    receipt = move(f["id"], type="receipt", amount="100.00").get_json()
    move(f["id"], type="disbursement", amount="80.00", purpose="助老")
    answer = move(f["id"], type="reversal", reverses=receipt["id"], reason="错")
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "conflict"


def test_goods_in_and_out_at_the_value_held(client, fund, move):
    f = fund()
    came = move(f["id"], type="goods_in", items=[
        {"name": "大米", "quantity": 10, "unit": "袋", "unit_value": "50.00"},
        {"name": "食用油", "quantity": "4", "unit": "桶", "unit_value": "80.00"}],
        donor_name="营口某超市", donor_kind="company")
    assert came.status_code == 201, came.get_json()
    assert came.get_json()["amount"] == "820.00"
    out = move(f["id"], type="goods_out", items=[{"name": "大米", "quantity": 4, "unit": "袋"}],
               purpose="发放给困难家庭")
    assert out.status_code == 201 and out.get_json()["amount"] == "200.00"
    too_many = move(f["id"], type="goods_out", items=[{"name": "大米", "quantity": 7,
                                                       "unit": "袋"}], purpose="x")
    assert too_many.status_code == 409
    for items, field in (([{"name": "大米", "quantity": 0, "unit": "袋", "unit_value": "1"}],
                          "items.0.quantity"),
                         ([{"name": "", "quantity": 1, "unit": "袋", "unit_value": "1"}],
                          "items.0.name"), ("大米", "items")):
        answer = move(f["id"], type="goods_in", items=items)
        assert answer.status_code == 422 and field in answer.get_json()["error"]["fields"]
    body = client.get(f"/api/v1/funds/{f['id']}").get_json()
    assert body["goods_value_in"] == "820.00" and body["goods_value_out"] == "200.00"
    assert body["goods_value_held"] == "620.00"


@pytest.mark.contention
def test_fifty_payments_at_once_never_overdraw(app, client, token, fund, move):
    f = fund()
    move(f["id"], type="receipt", amount="1000.00")
    headers = token("host")
    barrier = threading.Barrier(50)
    codes: list[int] = []

    def pay():
        barrier.wait()
        codes.append(app.test_client().post(
            f"/api/v1/funds/{f['id']}/movements", headers=headers,
            json={"type": "disbursement", "amount": "100.00", "purpose": "助老"}).status_code)
    threads = [threading.Thread(target=pay) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201] * 10 + [409] * 40
    with app.app_context():
        fund_row = db.session.get(Fund, f["id"])
        assert fund_row.balance == Decimal("0.00")
        from portal.charity.ledger import mismatches

        assert mismatches() == []
        # Each payment let through left its line and its audit row; the refused, neither.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Movement).where(
            Movement.fund_id == f["id"], Movement.type == "disbursement")) == 10
        audited = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.object_type == "fund", AuditEntry.object_id == str(f["id"]),
            AuditEntry.action == "disbursement")).all()
        assert len(audited) == 10
        assert {(a.to_value, a.reason, a.area_code) for a in audited} == \
            {("100.00", "助老", fund_row.area_code)}


def test_funds_check_finds_a_tampered_balance(app, fund, move):
    f = fund()
    move(f["id"], type="receipt", amount="100.00")
    runner = app.test_cli_runner()
    clean = runner.invoke(args=["funds", "check"])
    assert clean.exit_code == 0 and "0 mismatches" in clean.output
    with app.app_context():
        db.session.execute(sa.update(Fund).where(Fund.id == f["id"]).values(
            balance=Decimal("150.00")))
        db.session.commit()
    dirty = runner.invoke(args=["funds", "check"])
    assert dirty.exit_code == 1
    assert "150.00" in dirty.output and "100.00" in dirty.output and "1 mismatches" in \
        dirty.output


def test_pledges_refusals_and_overdue(app, client, token, fund, move):
    f = fund()
    url = f"/api/v1/funds/{f['id']}/pledges"
    for body, field in (({"kind": "money", "amount": 5.5}, "amount"),
                        ({"kind": "goods", "items": []}, "items"),
                        ({"kind": "service", "hours": 0}, "hours"),
                        ({"kind": "money", "amount": "10", "due_on": "2000-01-01"}, "due_on"),
                        ({"kind": "cash", "amount": "10"}, "kind"),
                        ({"kind": "money", "amount": "10", "org_id": 1}, "org_id")):
        answer = client.post(url, headers=token("donor"), json={"donor_name": "王", **body})
        assert answer.status_code == 422 and field in answer.get_json()["error"]["fields"], body
    offline = client.post(url, headers=token("donor"), json={
        "donor_name": "张三", "amount": "10", "offline": True})
    assert offline.status_code == 403  # only the host records an offline donor
    late = client.post(url, headers=token("host"), json={
        "donor_name": "张三", "amount": "10.00", "offline": True, "anonymous": True})
    assert late.status_code == 201 and late.get_json()["donor"] in ("匿名", "Anonymous")
    from portal.charity.models import Pledge

    with app.app_context():
        db.session.execute(sa.update(Pledge).values(due_on=date(2020, 1, 1)))
        db.session.commit()
    assert client.get(f"/api/v1/funds/{f['id']}").get_json()["pledges"] == {"open": 1,
                                                                          "overdue": 1}
    assert client.get(f"{url}?overdue=1").get_json()["total"] == 1
    client.post(f"/api/v1/funds/{f['id']}/close", headers=token("zhanqian"),
                json={"reason": "项目结束"})
    closed = client.post(url, headers=token("donor"), json={"donor_name": "王",
                                                            "amount": "10.00"})
    assert closed.status_code == 409


def test_service_hours_are_given_and_pledges_cancelled(app, client, token, fund, move):
    from portal.charity.models import Pledge

    f = fund()
    url = f"/api/v1/funds/{f['id']}/pledges"
    hours = client.post(url, headers=token("donor"), json={
        "donor_name": "王小明", "kind": "service", "hours": "20", "due_on": "2099-01-01"})
    assert hours.status_code == 201 and hours.get_json()["hours_given"] == "0.0"
    pid = hours.get_json()["id"]
    for name, status in (("donor", 403), ("worker", 403), ("zhanqian", 403)):
        assert client.post(f"/api/v1/pledges/{pid}/hours", headers=token(name),
                           json={"hours": "5"}).status_code == status, name
    for bad in ("0", "-3", "2.25", "abc", True, None, 7.5):
        answer = client.post(f"/api/v1/pledges/{pid}/hours", headers=token("host"),
                             json={"hours": bad})
        assert answer.status_code == 422 and "hours" in answer.get_json()["error"]["fields"]
    too_many = client.post(f"/api/v1/pledges/{pid}/hours", headers=token("host"),
                           json={"hours": "20.5"})  # more than was pledged
    assert too_many.status_code == 422 and "20.0" in too_many.get_json()["error"]["fields"][
        "hours"][0]
    part = client.post(f"/api/v1/pledges/{pid}/hours", headers=token("host"),
                       json={"hours": "7.5"})
    assert part.status_code == 200, part.get_json()
    assert (part.get_json()["status"], part.get_json()["hours_given"]) == \
        ("partly_received", "7.5")
    assert client.post(f"/api/v1/pledges/{pid}/hours", headers=token("host"),
                       json={"hours": "13"}).status_code == 422  # 12.5 remain
    done = client.post(f"/api/v1/pledges/{pid}/hours", headers=token("host"),
                       json={"hours": "12.5"})
    assert (done.get_json()["status"], done.get_json()["hours_given"]) == ("received", "20.0")
    assert client.post(f"/api/v1/pledges/{pid}/hours", headers=token("host"),
                       json={"hours": "1"}).status_code == 409
    with app.app_context():  # no ledger line: hours are not money
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Movement)) == 0

    money = client.post(url, headers=token("donor"), json={
        "donor_name": "王小明", "amount": "100.00", "due_on": "2099-01-01"}).get_json()["id"]
    assert client.post(f"/api/v1/pledges/{money}/hours", headers=token("host"),
                       json={"hours": "1"}).status_code == 409  # received by a receipt
    assert client.post(f"/api/v1/pledges/{money}/cancel", headers=token("other"),
                       json={"reason": "x"}).status_code == 403
    no_reason = client.post(f"/api/v1/pledges/{money}/cancel", headers=token("donor"),
                            json={"reason": " "})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["error"]["fields"]
    cancelled = client.post(f"/api/v1/pledges/{money}/cancel", headers=token("donor"),
                            json={"reason": "资金安排有变"})
    assert cancelled.status_code == 200
    assert (cancelled.get_json()["status"], cancelled.get_json()["cancel_reason"]) == \
        ("cancelled", "资金安排有变")
    assert client.post(f"/api/v1/pledges/{money}/cancel", headers=token("host"),
                       json={"reason": "again"}).status_code == 409
    assert client.post("/api/v1/pledges/999999/cancel", headers=token("host"),
                       json={"reason": "x"}).status_code == 404
    with app.app_context():  # a cancelled pledge is no longer overdue, nor open
        db.session.execute(sa.update(Pledge).values(due_on=date(2020, 1, 1)))
        db.session.commit()
    assert client.get(f"/api/v1/funds/{f['id']}").get_json()["pledges"] == {"open": 0,
                                                                          "overdue": 0}
    offline = client.post(url, headers=token("host"), json={
        "donor_name": "张三", "amount": "10.00", "offline": True}).get_json()["id"]
    assert client.post(f"/api/v1/pledges/{offline}/cancel", headers=token("host"),
                       json={"reason": "捐赠人撤回"}).status_code == 200


def test_a_need_is_matched_to_a_fund_of_its_area(client, token, fund, move):
    """Suggestions name the open funds of the need's community or township (those with money
    first); a worker matches one; a fund of another township is refused."""
    from tests.residents.conftest import NEED

    here = fund()
    move(here["id"], type="receipt", amount="100.00")
    empty = fund(name="八田地街道第二基金")
    there = fund(name="建丰街道社区基金", area_code="210802002")
    need = client.post("/api/v1/needs", headers=token("worker"), json={
        **NEED, "on_behalf_of": {"name": "李大爷", "phone": "13904170001"}}).get_json()
    client.post(f"/api/v1/needs/{need['id']}/verify", headers=token("worker"), json={})
    items = client.get(f"/api/v1/needs/{need['id']}/suggestions",
                       headers=token("worker")).get_json()["items"]
    funds = [(i["target_id"], i["reasons"]) for i in items if i["kind"] == "fund"]
    assert funds == [(here["id"], ["has_balance", "same_township"]),
                     (empty["id"], ["same_township"])]
    refused = client.post(f"/api/v1/needs/{need['id']}/matches", headers=token("worker"),
                          json={"kind": "fund", "target_id": there["id"]})
    assert refused.status_code == 422 and "target_id" in refused.get_json()["error"]["fields"]
    matched = client.post(f"/api/v1/needs/{need['id']}/matches", headers=token("worker"),
                          json={"kind": "fund", "target_id": here["id"], "note": "基金资助"})
    assert matched.status_code == 201, matched.get_json()
    page = client.get(f"/needs/{need['id']}").get_data(as_text=True)
    assert f'href="/funds/{here["id"]}"' in page
