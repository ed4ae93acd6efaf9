"""需求清单 on the pages: posting, the workers' decisions, the public list, the dashboard with
its Excel, /me, and the call-drafting page that starts from the stale needs."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import sqlalchemy as sa
from openpyxl import load_workbook

from portal.core.db import utcnow
from portal.extensions import db
from portal.needs.models import Need
from tests.conftest import csrf_token, form_post
from tests.residents.conftest import NEED, URBAN


def sms_login(client, outbox, phone):
    page = client.get("/login/sms")
    token = csrf_token(page.get_data(as_text=True))
    client.post("/login/sms", data={"csrf_token": token, "phone": phone, "send": "1"})
    return client.post("/login/sms", data={"csrf_token": token, "phone": phone,
                                           "code": outbox.last(phone), "submit": "1"})


def test_a_resident_posts_a_need_and_sees_it_on_me(app, client, outbox, staff):
    sms_login(client, outbox, "13700000001")
    chosen = form_post(client, "/me/community", {"community_code": URBAN},
                       page_url="/me/community?county=210802&township=210802001")
    assert chosen.status_code == 302
    form = client.get("/needs/new").get_data(as_text=True)
    assert 'name="for_name"' not in form  # a resident posts for themself
    bad = form_post(client, "/needs/new", {"community_code": URBAN, "category": "elderly_care",
                                           "title": "", "description": "x",
                                           "people_affected": "1", "urgency": "normal"})
    assert bad.status_code == 422 and 'id="title-err"' in bad.get_data(as_text=True)
    posted = form_post(client, "/needs/new", {
        "community_code": URBAN, "category": "elderly_care", "title": NEED["title"],
        "description": NEED["description"], "people_affected": "12", "urgency": "urgent"})
    assert posted.status_code == 302
    need_page = client.get(posted.headers["Location"]).get_data(as_text=True)
    assert NEED["title"] in need_page and "待核实" in need_page
    me = client.get("/me").get_data(as_text=True)
    assert 'id="my-needs"' in me and NEED["title"] in me
    assert "八田地社区" in me


def test_a_worker_posts_for_a_resident_and_the_field_says_what_is_missing(client, login, staff):
    login("worker")
    form = client.get("/needs/new").get_data(as_text=True)
    assert 'name="for_name"' in form and 'name="for_phone"' in form
    missing = form_post(client, "/needs/new", {
        "community_code": URBAN, "category": "health", "title": "上门量血压",
        "description": "独居老人需要定期量血压", "people_affected": "1", "urgency": "normal",
        "channel": "visit"})
    assert missing.status_code == 422
    assert 'id="for_name-err"' in missing.get_data(as_text=True)
    done = form_post(client, "/needs/new", {
        "community_code": URBAN, "category": "health", "title": "上门量血压",
        "description": "独居老人需要定期量血压", "people_affected": "1", "urgency": "normal",
        "channel": "visit", "for_name": "李大爷", "for_phone": "13904170001"})
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "李大爷" in page and "13904170001" in page


def test_the_worker_verifies_matches_and_resolves_on_the_page(app, client, login, need,
                                                            token, outbox):
    made = need()
    login("worker")
    url = f"/needs/{made['id']}"
    refused = form_post(client, f"{url}/reject", {"text": ""}, page_url=url)
    assert refused.status_code == 302
    assert "请写明原因" in client.get(url).get_data(as_text=True)
    form_post(client, f"{url}/verify", {"text": "已上门核实"}, page_url=url)
    org = client.post("/api/v1/orgs", headers=token("worker"), json={
        "name": "八田地助老服务队", "category": "life_service", "registration": "filed",
        "community_code": URBAN, "contact_name": "王", "contact_phone": "13800138000"}
    ).get_json()
    client.post(f"/api/v1/orgs/{org['id']}/review", headers=token("zhanqian"),
                json={"decision": "approve", "comment": "ok"})
    page = client.get(url).get_data(as_text=True)
    assert 'id="suggestions"' in page and "八田地助老服务队" in page
    assert "同类组织" in page or "生活服务类" in page
    form_post(client, f"{url}/match", {"kind": "org", "target_id": str(org["id"]),
                                       "note": "周三上门"}, page_url=url)
    assert "已对接" in client.get(url).get_data(as_text=True)
    form_post(client, f"{url}/resolve", {"text": "扶手已修好"}, page_url=url)
    page = client.get(url).get_data(as_text=True)
    assert "已解决" in page and "扶手已修好" in page


def test_the_public_list_hides_people_and_stale_is_for_staff(app, client, need, login):
    shown = need(by="worker", verify=True, on_behalf_of={"name": "李大爷",
                                                         "phone": "13904170001"})
    with app.app_context():
        db.session.execute(sa.update(Need).where(Need.id == shown["id"]).values(
            verified_at=utcnow() - timedelta(days=45)))
        db.session.commit()
    public = client.get("/needs").get_data(as_text=True)
    assert NEED["title"] in public
    for private in ("李大爷", "13904170001", "stale-badge"):
        assert private not in public
    assert "李大爷" not in client.get(f"/needs/{shown['id']}").get_data(as_text=True)
    english = client.get("/needs?lang=en").get_data(as_text=True)
    assert "Residents' needs" in english
    assert client.get("/needs?status=nonsense").status_code == 200  # the filter is left out
    login("worker")
    staff_view = client.get("/needs").get_data(as_text=True)
    assert "stale-badge" in staff_view


def test_the_dashboard_and_its_excel(app, client, need, login):
    need(verify=True)
    need(verify=True, category="health")
    need()
    login("zhanqian")
    page = client.get("/needs/dashboard?area=210802")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="figure-total">3<' in html and 'id="children"' in html
    assert html.count('<progress value="') == 2  # by kind: elderly care 2, health 1
    sheet = client.get("/needs/dashboard/export.xlsx?area=210802")
    assert sheet.status_code == 200
    book = load_workbook(io.BytesIO(sheet.data))
    assert book.sheetnames == ["概况", "按类别", "按区域和类别", "超期需求"]
    assert book["概况"]["C3"].value == 3
    matrix = book["按区域和类别"]
    assert [c.value for c in matrix[2]][:4] == ["区域", "代码", "助老服务", "助残服务"]
    township_row = [r for r in matrix.iter_rows(min_row=3, values_only=True)
                    if r[1] == "210802001"][0]
    assert township_row[2] == 2 and sum(township_row[2:]) == 3
    client.get("/logout")


def test_a_resident_may_not_see_the_dashboard(client, outbox, staff):
    sms_login(client, outbox, "13700000001")
    assert client.get("/needs/dashboard?area=210802").status_code == 403


def test_the_call_drafting_page_starts_from_stale_needs(app, client, need, login):
    old = need(verify=True)
    fresh = need(verify=True, title="新需求")
    with app.app_context():
        db.session.execute(sa.update(Need).where(Need.id == old["id"]).values(
            verified_at=utcnow() - timedelta(days=45)))
        db.session.commit()
    login("zhanqian")
    dashboard = client.get("/needs/dashboard?area=210802").get_data(as_text=True)
    assert 'id="draft-call"' in dashboard
    page = client.get("/projects/new?area=210802").get_data(as_text=True)
    assert 'id="need-choices"' in page
    assert re.search(rf'<input checked [^>]*value="{old["id"]}"', page)  # ticked
    assert not re.search(rf'<input checked [^>]*value="{fresh["id"]}"', page)
    assert f"#{fresh['id']}" in page
    assert f"#{old['id']} {NEED['title']}" in page  # named in the description


def test_the_form_speaks_the_readers_language(client, login, staff):
    login("worker")
    zh = client.get("/needs/new?lang=zh").get_data(as_text=True)
    assert "紧急" in zh and "入户走访" in zh and ">Urgent<" not in zh
    en = client.get("/needs/new?lang=en").get_data(as_text=True)
    assert ">Urgent<" in en and ">Home visit<" in en


def test_staff_have_no_community_picker(client, login, staff):
    login("worker")
    assert client.get("/me/community").status_code == 403


def test_a_refused_resend_still_counts_down(client, outbox):
    sms_login(client, outbox, "13700000001")
    client.get("/logout")
    page = client.get("/login/sms")
    again = client.post("/login/sms", data={"csrf_token": csrf_token(page.get_data(
        as_text=True)), "phone": "13700000001", "send": "1"})
    assert again.status_code == 429
    assert re.search(r'data-countdown="(5\d|60)"', again.get_data(as_text=True))


def test_signed_out_posting_leads_to_the_sms_sign_in(client):
    answer = client.get("/needs/new")
    assert answer.status_code == 302 and "/login/sms" in answer.headers["Location"]
