"""The pages over the same services: enter, approve, amend, ask for a correction, hours on /me,
a certificate from /me, public verification, bulk approval, the national export."""

import re
from datetime import datetime, timedelta

import pytest

from portal.core.db import SHANGHAI
from tests.conftest import csrf_token, wait_for_job
from tests.records.conftest import record_body

API = "/api/v1/service-records"


def local(hours_ago: float) -> str:
    value = datetime.now(SHANGHAI).replace(second=0, microsecond=0) - timedelta(hours=hours_ago)
    return value.strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_organiser_enters_and_approves_a_record_by_page(client, login, token, setting,
                                                            lang):
    vid, aid = setting
    code = client.get(f"/api/v1/volunteers/{vid}", headers=token("wang")).get_json()[
        "volunteer_code"]
    login("worker")
    form = client.get(f"/records/new?activity_id={aid}&lang={lang}")
    assert form.status_code == 200
    assert f'<option value="{code} 志愿者wang">' in form.get_data(as_text=True)  # pick by name
    data = {"csrf_token": csrf_token(form.get_data(as_text=True)), "activity": aid,
            "volunteer_code": code, "started_at": local(5), "ended_at": local(3),
            "minutes": 121, "content": "陪老人聊天"}
    too_many = client.post(f"/records/new?lang={lang}", data=data)
    assert too_many.status_code == 422
    html = too_many.get_data(as_text=True)
    message = "travel does not count" if lang == "en" else "路途"
    assert message in html and 'id="minutes-err"' in html
    saved = client.post(f"/records/new?lang={lang}",
                        data=dict(data, minutes=110, volunteer_code=f"{code} 志愿者wang"))
    assert saved.status_code == 302
    page_url = saved.headers["Location"]
    page = client.get(page_url + f"?lang={lang}").get_data(as_text=True)
    assert ("Awaiting approval" if lang == "en" else "待审核") in page
    approve = client.post(page_url, data={"csrf_token": csrf_token(page), "approve": "1"})
    assert approve.status_code == 302
    page = client.get(page_url + "?lang=en").get_data(as_text=True)
    assert 'id="record-status">Approved' in page
    amend = client.post(page_url, data={"csrf_token": csrf_token(page), "amend": "1",
                                        "minutes": 100, "amend_reason": "扣除休息时间"})
    assert amend.status_code == 302
    page = client.get(page_url + "?lang=en").get_data(as_text=True)
    assert "110 → 100" in page and "扣除休息时间" in page
    overlapping = client.post(f"/records/new?lang={lang}", data=dict(data, minutes=30))
    assert overlapping.status_code == 409


def test_the_volunteer_sees_hours_and_asks_for_a_correction_and_a_certificate(
        client, login, token, setting, worker):
    vid, aid = setting
    rid = client.post(API, headers=token("worker"),
                      json=record_body(vid, aid, 24 * 10, 101, minutes=6030)).get_json()["id"]
    client.post(f"{API}/{rid}/approve", headers=token("worker"))
    login("wang")
    me = client.get("/me?lang=en").get_data(as_text=True)
    assert 'id="approved-hours">100.5' in me and "★☆☆☆☆" in me
    record_page = client.get(f"/records/{rid}?lang=en").get_data(as_text=True)
    assert 'id="decide"' not in record_page  # the volunteer never approves
    ask = client.post(f"/records/{rid}", data={"csrf_token": csrf_token(record_page),
                                               "ask": "1", "correct_reason": "少记了半小时",
                                               "correct_minutes": 6060})
    assert ask.status_code == 302
    assert "少记了半小时" in client.get(f"/records/{rid}").get_data(as_text=True)
    me = client.get("/me").get_data(as_text=True)
    today = datetime.now(SHANGHAI).date()
    answer = client.post(f"/volunteers/{vid}/certificates", data={
        "csrf_token": csrf_token(me), "period_from": (today - timedelta(days=60)).isoformat(),
        "period_to": today.isoformat(), "issuer": "0"})
    assert answer.status_code == 302
    cert_url = answer.headers["Location"]
    cert_id = int(re.search(r"/certificates/(\d+)", cert_url).group(1))
    body = client.get(f"/api/v1/certificates/{cert_id}", headers=token("wang")).get_json()
    if body["status"] == "pending":
        wait_for_job(client, body["job_id"], token("wang"))
    page = client.get(cert_url + "?lang=en").get_data(as_text=True)
    assert "Download the PDF" in page and "100.5" in page
    assert "<title>Volunteer service certificate" in page
    assert "<title>志愿服务记录证明" in client.get(cert_url + "?lang=zh").get_data(as_text=True)
    pdf = client.get(f"/certificates/{cert_id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    verify = client.get(f"/verify?serial={body['serial']}&lang=en").get_data(as_text=True)
    assert "Valid certificate" in verify and "100.5" in verify
    chinese = client.get(f"/verify/{body['serial']}?lang=zh").get_data(as_text=True)
    assert "有效" in chinese


def test_the_organiser_revokes_by_page_and_strangers_see_nothing(client, login, token, approved,
                                                                 bureau, worker):
    vid, _ids = approved
    today = datetime.now(SHANGHAI).date()
    answer = client.post(f"/api/v1/volunteers/{vid}/certificates", headers=token("wang"),
                         json={"from": (today - timedelta(days=90)).isoformat(),
                               "to": today.isoformat()}).get_json()
    if answer["status"] == "pending":
        wait_for_job(client, answer["job_id"], token("wang"))
    login("outsider")
    assert client.get(f"/certificates/{answer['id']}").status_code == 404
    login("zhanqian")
    page = client.get(f"/certificates/{answer['id']}").get_data(as_text=True)
    empty = client.post(f"/certificates/{answer['id']}",
                        data={"csrf_token": csrf_token(page), "revoke": "1",
                              "revoke_reason": ""})
    assert empty.status_code == 422
    done = client.post(f"/certificates/{answer['id']}",
                       data={"csrf_token": csrf_token(page), "revoke": "1",
                             "revoke_reason": "重复出具"})
    assert done.status_code == 302
    verify = client.get(f"/verify/{answer['serial']}").get_data(as_text=True)
    assert "已撤销" in verify and "重复出具" in verify


def test_bulk_approval_page(app, client, login, token, people, volunteer):
    from tests.records.test_hours import checked_out

    shift_id, ids = checked_out(app, client, token, ["lili", "zhao"], volunteer)
    login("worker")
    page = client.get(f"/shifts/{shift_id}/records?lang=en").get_data(as_text=True)
    assert page.count('name="record_id"') == 2
    done = client.post(f"/shifts/{shift_id}/records",
                       data={"csrf_token": csrf_token(page), "record_id": [str(ids[0])]})
    assert done.status_code == 302
    states = [client.get(f"{API}/{i}", headers=token("worker")).get_json()["status"]
              for i in ids]
    assert states == ["approved", "pending"]
    login("outsider")
    assert client.get(f"/shifts/{shift_id}/records").status_code == 404


def test_the_export_page_leads_to_a_progress_page_and_a_file(client, login, token, setting,
                                                             bureau, worker):
    login("worker")
    assert client.get("/exports/national").status_code == 403
    login("zhanqian")
    page = client.get("/exports/national?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    today = datetime.now(SHANGHAI).date()
    started = client.post("/exports/national", data={
        "csrf_token": csrf_token(html), "area": "210802",
        "period_from": (today - timedelta(days=30)).isoformat(),
        "period_to": today.isoformat()})
    assert started.status_code == 302 and "/jobs/" in started.headers["Location"]
    job_id = started.headers["Location"].rsplit("/", 1)[1]
    wait_for_job(client, job_id, token("zhanqian"))
    job_page = client.get(started.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "Download the file" in job_page
    file = client.get(f"/exports/{job_id}/file")
    assert file.status_code == 200 and file.data[:2] == b"PK"
    again = client.get("/exports/national?lang=en").get_data(as_text=True)
    assert f"/exports/{job_id}/file" in again  # earlier exports stay downloadable


def test_staff_ask_for_a_certificate_for_a_volunteer_without_a_phone(client, login, token,
                                                                       setting, worker):
    vid, aid = setting
    rid = client.post(API, headers=token("worker"),
                      json=record_body(vid, aid, 24 * 3, 2, minutes=90)).get_json()["id"]
    client.post(f"{API}/{rid}/approve", headers=token("worker"))
    login("worker")
    listing = client.get("/volunteers?lang=en").get_data(as_text=True)
    assert f"/volunteers/{vid}/service" in listing
    page = client.get(f"/volunteers/{vid}/service?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="approved-hours">1.5' in html
    assert "My service hours" not in html and "Service hours" in html
    today = datetime.now(SHANGHAI).date()
    answer = client.post(f"/volunteers/{vid}/certificates", data={
        "csrf_token": csrf_token(html), "period_from": (today - timedelta(days=30)).isoformat(),
        "period_to": today.isoformat(), "issuer": "0"})
    assert answer.status_code == 302 and "/certificates/" in answer.headers["Location"]
    login("outsider")
    assert client.get(f"/volunteers/{vid}/service").status_code == 404


def test_open_correction_requests_have_their_own_tab(client, login, token, setting):
    vid, aid = setting
    rid = client.post(API, headers=token("worker"),
                      json=record_body(vid, aid, 24 * 3, 2, minutes=90)).get_json()["id"]
    client.post(f"{API}/{rid}/approve", headers=token("worker"))
    client.post(f"{API}/{rid}/corrections", headers=token("wang"),
                json={"reason": "少记了半小时", "minutes": 120})
    login("worker")
    tab = client.get("/records?status=corrections&lang=en").get_data(as_text=True)
    assert f"/records/{rid}" in tab and "Correction requested" in tab
    pending = client.get("/records?lang=en").get_data(as_text=True)
    assert f"/records/{rid}" not in pending  # approved: not in the pending tab
    assert 'id="corrections-tab"' in pending


def test_the_record_form_offers_only_the_activities_one_organises(client, login, setting, org,
                                                                  activity):
    """谁组织谁记录: the community worker is offered the community's activity, not the
    organisation's in the same community; the organisation's admin the reverse."""
    _vid, community_activity = setting
    org_activity = activity(by="boss", org_id=org(), community_code=None,
                            title="协会的活动")["id"]

    def offered(user):
        login(user)
        html = client.get("/records/new").get_data(as_text=True)
        return {int(v) for v in re.findall(r'<option[^>]*value="(\d+)"', html)}

    assert community_activity in offered("worker") and org_activity not in offered("worker")
    assert org_activity in offered("boss") and community_activity not in offered("boss")


def test_a_certificate_for_a_period_without_hours_is_refused_on_the_page(client, login, setting):
    vid, _aid = setting
    login("wang")
    me = client.get("/me?lang=en").get_data(as_text=True)
    today = datetime.now(SHANGHAI).date()
    answer = client.post(f"/volunteers/{vid}/certificates?lang=en", data={
        "csrf_token": csrf_token(me), "period_from": (today - timedelta(days=30)).isoformat(),
        "period_to": today.isoformat(), "issuer": "0"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("#certificates")
    page = client.get("/me?lang=en").get_data(as_text=True)
    assert "No approved service hours in this period" in page
    zh = client.post(f"/volunteers/{vid}/certificates?lang=zh", data={
        "csrf_token": csrf_token(me), "period_from": (today - timedelta(days=30)).isoformat(),
        "period_to": today.isoformat(), "issuer": "0"})
    assert zh.status_code == 302
    assert "没有经审核确认的服务时长" in client.get("/me?lang=zh").get_data(as_text=True)


def test_the_organiser_approves_a_selection_of_records_at_once(client, login, token, setting,
                                                              bureau):
    vid, aid = setting
    ids = [client.post("/api/v1/service-records", headers=token("worker"),
                       json=record_body(vid, aid, 24 * days, 2)).get_json()["id"]
           for days in (3, 4, 5)]
    login("zhanqian")  # the bureau sees records but decides none of them: nothing to tick
    assert 'id="bulk-approve"' not in client.get("/records?lang=en").get_data(as_text=True)
    login("worker")
    html = client.get("/records?lang=en").get_data(as_text=True)
    assert 'id="bulk-approve"' in html and all(f'value="{i}"' in html for i in ids)
    done = client.post("/records/approve", data={"csrf_token": csrf_token(html),
                                                 "record_id": [str(ids[0]), str(ids[2])]})
    assert done.status_code == 302
    states = [client.get(f"/api/v1/service-records/{i}", headers=token("worker"))
              .get_json()["status"] for i in ids]
    assert states == ["approved", "pending", "approved"]
    assert "2 records approved" in client.get("/records?lang=en").get_data(as_text=True)


def test_every_record_can_be_reached_from_me_a_page_at_a_time(client, login, token, setting):
    vid, aid = setting
    for day in range(1, 24):
        client.post("/api/v1/service-records", headers=token("worker"),
                    json=record_body(vid, aid, 24 * day + 5, 1))
    login("wang")
    first = client.get("/me?lang=en").get_data(as_text=True)
    assert "1–20 of 23 records" in first and "records_page=2" in first
    second = client.get("/me?lang=en&records_page=2").get_data(as_text=True)
    assert "21–23 of 23 records" in second and "records_page=1" in second


def test_counts_read_in_the_singular_and_the_plural(client, login, token, setting):
    vid, aid = setting
    client.post("/api/v1/service-records", headers=token("worker"),
                json=record_body(vid, aid, 30, 2))
    login("worker")
    one = client.get("/records?lang=en").get_data(as_text=True)
    assert "1 record<" in one and "1 records" not in one
    client.post("/api/v1/service-records", headers=token("worker"),
                json=record_body(vid, aid, 60, 2))
    assert "2 records<" in client.get("/records?lang=en").get_data(as_text=True)
    assert "共 2 条记录" in client.get("/records?lang=zh").get_data(as_text=True)
