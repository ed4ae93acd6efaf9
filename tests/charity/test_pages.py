"""The charity pages: a host records a pledge and its receipt, pays a need and a wish, corrects
a mistake, publishes a statement, and the public page shows it all; the wall and a wish's page;
the bureau's dashboard with its Excel."""

from __future__ import annotations

import io
import re
from datetime import datetime

from openpyxl import load_workbook

from portal.core.db import SHANGHAI
from tests.charity.test_disclosure import past_movement
from tests.charity.test_wishes import PNG, WISH
from tests.conftest import csrf_token, form_post, sign_out


def test_the_host_keeps_the_ledger_and_the_public_reads_it(app, client, token, login, fund,
                                                           people):
    from tests.residents.conftest import NEED

    f = fund()
    page_url = f"/funds/{f['id']}"
    need = client.post("/api/v1/needs", headers=token("worker"), json={
        **NEED, "on_behalf_of": {"name": "李大爷", "phone": "13904170001"}}).get_json()
    client.post(f"/api/v1/needs/{need['id']}/verify", headers=token("worker"), json={})
    wish = client.post("/api/v1/wishes", headers=token("worker"), json=WISH).get_json()
    login("donor")
    form_post(client, f"/funds/{f['id']}/pledge", {
        "donor_name": "王小明", "donor_kind": "person", "kind": "money", "amount": "800.00"},
        page_url)
    sign_out(client)
    login("host")
    html = client.get(page_url).get_data(as_text=True)
    assert 'id="ledger-form"' in html and "王小明" in html  # the host sees whom to receive from
    ids = re.findall(r' id="([^"]+)"', html)  # each label finds its own control
    assert sorted(ids) == sorted(set(ids)), [i for i in set(ids) if ids.count(i) > 1]
    pledge_id = re.search(r'<option value="(\d+)">#\d+ 王小明', html).group(1)
    form_post(client, f"/funds/{f['id']}/movements", {"type": "receipt", "amount": "800.00",
                                                        "pledge_id": pledge_id}, page_url)
    form_post(client, f"/funds/{f['id']}/movements", {"type": "disbursement",
                                                        "amount": "300.00", "purpose": "修扶手",
                                                        "need_id": str(need["id"])}, page_url)
    form_post(client, f"/funds/{f['id']}/movements", {"type": "disbursement",
                                                        "amount": "200.00", "purpose": "电暖器",
                                                        "wish_id": str(wish["id"])}, page_url)
    wrong = form_post(client, f"/funds/{f['id']}/movements", {
        "type": "disbursement", "amount": "9999.00", "purpose": "为老人购买轮椅"}, page_url)
    html = wrong.get_data(as_text=True)  # the page again: what was typed, the reason by it
    assert wrong.status_code == 409 and 'id="move-amount-err"' in html and "不足以支付" in html
    assert 'value="9999.00"' in html and 'value="为老人购买轮椅"' in html
    nothing = form_post(client, f"/funds/{f['id']}/movements", {
        "type": "disbursement", "amount": "12.345", "purpose": ""}, page_url)
    html = nothing.get_data(as_text=True)
    assert nothing.status_code == 422
    assert 'id="move-amount-err"' in html and 'id="move-purpose-err"' in html
    assert 'value="12.345"' in html
    mistake = client.post(f"/api/v1/funds/{f['id']}/movements", headers=token("host"), json={
        "type": "receipt", "amount": "50.00", "donor_name": "错记"}).get_json()
    form_post(client, f"/funds/{f['id']}/reversal", {"reverses": str(mistake["id"]),
                                                       "reason": "重复登记"}, page_url)
    y = datetime.now(SHANGHAI).year - 1
    past_movement(app, f["id"], "receipt", "100.00", datetime(y, 5, 1, 10, tzinfo=SHANGHAI))
    published = form_post(client, f"/funds/{f['id']}/statements", {"period": f"{y}Q2"},
                          page_url)
    assert published.status_code == 302 and f"/statements/{y}Q2" in published.headers["Location"]
    sign_out(client)
    public = client.get(page_url).get_data(as_text=True)
    assert 'id="fund-balance">400.00' in public
    for shown in ("王*", "修扶手", "电暖器", "重复登记", f"{y}Q2"):
        assert shown in public, shown
    for hidden in ("王小明", "李大爷", "13904170001", 'id="ledger-form"'):
        assert hidden not in public, hidden
    statement = client.get(f"/funds/{f['id']}/statements/{y}Q2")
    assert statement.status_code == 200 and "100.00" in statement.get_data(as_text=True)
    assert client.get(f"/funds/{f['id']}/statements/{y}Q2.pdf").mimetype == "application/pdf"
    english = client.get(f"{page_url}?lang=en").get_data(as_text=True)
    assert "Every movement" in english and "Balance" in english


def test_hours_given_and_a_pledge_cancelled_from_the_funds_page(app, client, login, fund):
    f = fund()
    page_url = f"/funds/{f['id']}"
    login("donor")
    form_post(client, f"/funds/{f['id']}/pledge", {
        "donor_name": "王小明", "donor_kind": "person", "kind": "service", "hours": "10"},
        page_url)
    form_post(client, f"/funds/{f['id']}/pledge", {
        "donor_name": "王小明", "donor_kind": "person", "kind": "money", "amount": "50.00"},
        page_url)
    html = client.get(page_url).get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'id="pledge-(\d+)"', html)]
    hours_id, money_id = sorted(ids)
    assert len(ids) == 2 and f'id="hours-{hours_id}"' not in html  # may cancel, not record
    form_post(client, f"/pledges/{money_id}/cancel", {"reason": "改为下月捐"}, page_url)
    assert f'id="pledge-{money_id}"' not in client.get(page_url).get_data(as_text=True)
    sign_out(client)
    login("other")  # not theirs: refused
    assert form_post(client, f"/pledges/{hours_id}/cancel", {"reason": "x"},
                     page_url).status_code == 403
    sign_out(client)
    login("host")
    html = client.get(page_url).get_data(as_text=True)
    assert "已提供 0.0 / 10.0 小时" in html and f'id="hours-{hours_id}"' in html
    refused = form_post(client, f"/pledges/{hours_id}/hours", {"hours": "abc"}, page_url)
    assert refused.status_code == 302 and "小时数" in client.get(page_url).get_data(as_text=True)
    form_post(client, f"/pledges/{hours_id}/hours", {"hours": "4"}, page_url)
    assert "已提供 4.0" in client.get(page_url).get_data(as_text=True)
    form_post(client, f"/pledges/{hours_id}/hours", {"hours": "6"}, page_url)
    assert f'id="pledge-{hours_id}"' not in client.get(page_url).get_data(as_text=True)
    late = form_post(client, f"/funds/{f['id']}/pledge", {  # refused: shown again as typed
        "donor_name": "营口某超市", "donor_kind": "company", "kind": "goods",
        "item_name": "大米", "item_quantity": "20", "item_unit": "袋", "item_value": "45.00",
        "due_on": "2000-01-01", "offline": "y"}, page_url)
    html = late.get_data(as_text=True)
    assert late.status_code == 422 and 'id="pledge-due-on-err"' in html
    assert 'value="营口某超市"' in html and 'value="大米"' in html
    form_post(client, f"/funds/{f['id']}/movements", {
        "type": "goods_in", "item_name": "大米", "item_quantity": "20", "item_unit": "袋",
        "item_value": "45.00", "donor_name": "营口某超市"}, page_url)
    html = client.get(page_url).get_data(as_text=True)
    assert "大米 20 袋" in html and "E+" not in html  # quantities as people write them
    english = client.get(f"/api/v1/funds/{f['id']}/pledges").get_json()["items"]
    assert {p["status"] for p in english} == {"received", "cancelled"}


def test_the_wall_and_a_wish_from_claim_to_confirmation(client, token, login, people):
    wish = client.post("/api/v1/wishes", headers=token("worker"), json=WISH).get_json()
    wall = client.get("/wishes").get_data(as_text=True)
    assert "王奶奶" in wall and "王桂兰" not in wall
    login("donor")
    url = f"/wishes/{wish['id']}"
    claimed = form_post(client, f"{url}/claim", {}, url)
    assert claimed.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert 'id="handover"' in page and "八田地社区" in page and "王桂兰" not in page
    refused = form_post(client, f"{url}/fulfil", {
        "note": "送到社区", "photo": (io.BytesIO(b"%PDF-1.4"), "handover.pdf")}, url)
    assert refused.status_code == 302  # back to the wish, which is still claimed, saying why
    assert "PNG" in client.get(url).get_data(as_text=True)
    form_post(client, f"{url}/fulfil", {
        "note": "送到社区", "photo": (io.BytesIO(PNG), "handover.png")}, url)
    page = client.get(url).get_data(as_text=True)
    assert f"/wishes/{wish['id']}/photo" in page
    assert client.get(f"/wishes/{wish['id']}/photo").data == PNG
    sign_out(client)
    login("worker")
    page = client.get(url).get_data(as_text=True)
    assert 'id="beneficiary"' in page and "王桂兰" in page
    assert f"/wishes/{wish['id']}/photo" in page
    assert 'id="handover-note"' in page and "送到社区" in page  # what the claimer said
    form_post(client, f"{url}/confirm", {}, url)
    assert "已收到" in client.get(url).get_data(as_text=True)


def test_the_bureaus_charity_dashboard_and_excel(client, token, login, fund, move):
    f = fund()
    move(f["id"], type="receipt", amount="100.00")
    login("zhanqian")
    page = client.get("/charity/dashboard?area=210802")
    assert page.status_code == 200 and "八田地街道社区基金" in page.get_data(as_text=True)
    book = load_workbook(io.BytesIO(client.get(
        "/charity/dashboard/export.xlsx?area=210802").data))
    assert book["社区基金"]["F3"].value == 100.0
    sign_out(client)
    login("donor")
    assert client.get("/charity/dashboard?area=210802").status_code == 403


def test_the_host_sees_overdue_statements_on_their_home_page(app, client, login, fund):
    f = fund()
    y = datetime.now(SHANGHAI).year - 1
    past_movement(app, f["id"], "receipt", "100.00", datetime(y, 5, 1, 10, tzinfo=SHANGHAI))
    login("host")
    home = client.get("/").get_data(as_text=True)
    assert 'id="my-funds"' in home and "份公开报告逾期" in home


def test_the_award_page_co_funds_from_a_fund_or_awards_nothing(app, client, token, login, fund,
                                                              move, charity):
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
    login("zhanqian")
    url = f"/projects/{project['id']}"
    html = client.get(url).get_data(as_text=True)
    assert 'id="co-funding"' in html and "八田地街道社区基金" in html
    short = client.post(url, data={"csrf_token": csrf_token(html), "award": "1",
                                   "bid": str(bid["id"]), "cofund_fund": str(f["id"]),
                                   "cofund_amount": "5000.00"})
    assert short.status_code == 409
    assert 'id="cofund_amount-err"' in short.get_data(as_text=True)
    assert client.get(f"/api/v1/projects/{project['id']}", headers=token("zhanqian")
                      ).get_json()["status"] == "reviewing"
    done = client.post(url, data={"csrf_token": csrf_token(html), "award": "1",
                                  "bid": str(bid["id"]), "cofund_fund": str(f["id"]),
                                  "cofund_amount": "2000.00"})
    assert done.status_code == 302
    assert client.get(f"/api/v1/funds/{f['id']}").get_json()["balance"] == "1000.00"
