"""The export for the national volunteer system: bureau only, a job with a file in the documented
column order, full ID numbers (audited), and nothing repeated by a second export."""

import io
from datetime import timedelta

from openpyxl import load_workbook

from portal.core.db import SHANGHAI, utcnow
from portal.records.exports import RECORD_COLUMNS, VOLUNTEER_COLUMNS
from tests.conftest import wait_for_job
from tests.records.conftest import record_body

API = "/api/v1/service-records"


def period(**extra):
    today = utcnow().astimezone(SHANGHAI).date()
    body = {"area_code": "210802", "from": (today - timedelta(days=60)).isoformat(),
            "to": today.isoformat()}
    body.update(extra)
    return body


def export(client, token, by="zhanqian", **extra):
    answer = client.post("/api/v1/exports/national", headers=token(by), json=period(**extra))
    assert answer.status_code == 202, answer.get_json()
    job = wait_for_job(client, answer.get_json()["job_id"], token(by))
    assert job["status"] == "finished", job
    file = client.get(answer.get_json()["file_url"], headers=token(by))
    assert file.status_code == 200
    return load_workbook(io.BytesIO(file.data))


def approved_record(client, token, vid, aid, hours_ago, minutes=60):
    rid = client.post(API, headers=token("worker"),
                      json=record_body(vid, aid, hours_ago, 2, minutes=minutes)).get_json()["id"]
    assert client.post(f"{API}/{rid}/approve", headers=token("worker")).status_code == 200
    return rid


def test_only_the_bureau_of_the_area_exports(client, token, setting, bureau):
    assert client.post("/api/v1/exports/national", headers=token("worker"),
                       json=period()).status_code == 403
    assert client.post("/api/v1/exports/national", headers=token("bayuquan"),
                       json=period()).status_code == 403
    assert client.post("/api/v1/exports/national", json=period()).status_code == 401
    bad = client.post("/api/v1/exports/national", headers=token("zhanqian"),
                      json=period(to="2020-01-01"))
    assert bad.status_code == 422


def test_the_export_in_column_order_and_no_duplicates_the_second_time(
        app, client, token, setting, bureau, volunteer, worker):
    vid, aid = setting
    first_record = approved_record(client, token, vid, aid, 24 * 5)
    pending = client.post(API, headers=token("worker"),
                          json=record_body(vid, aid, 24 * 3, 2)).get_json()["id"]
    book = export(client, token)
    assert book.sheetnames == ["志愿者", "服务记录"]
    people, records = book["志愿者"], book["服务记录"]
    assert [c.value for c in people[1]] == VOLUNTEER_COLUMNS
    assert [c.value for c in records[1]] == RECORD_COLUMNS
    rows = list(records.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [first_record]  # the pending one is not exported
    me = client.get(f"/api/v1/volunteers/{vid}", headers=token("wang")).get_json()
    person = list(people.iter_rows(min_row=2, values_only=True))
    assert len(person) == 1 and person[0][0] == me["volunteer_code"]
    number = person[0][3]
    assert len(number) == 18 and "*" not in number  # the full number, for the national system
    assert rows[0][1] == me["volunteer_code"] and rows[0][12] == 1.0 and rows[0][13] == 60

    again = export(client, token)  # the same period: nothing repeated
    assert again["志愿者"].max_row == 1 and again["服务记录"].max_row == 1

    client.post(f"{API}/{pending}/approve", headers=token("worker"))
    volunteer("newcomer")
    third = export(client, token)
    assert [r[0] for r in third["服务记录"].iter_rows(min_row=2, values_only=True)] == [pending]
    assert len(list(third["志愿者"].iter_rows(min_row=2, values_only=True))) == 1  # newcomer

    trail = client.get("/api/v1/audit?object_type=area&object_id=210802",
                       headers=token("zhanqian")).get_json()["items"]
    actions = [r["action"] for r in trail]
    assert actions.count("national_export") == 3 and \
        actions.count("national_export_download") == 3


def test_the_export_file_is_not_for_others(client, token, setting, bureau, worker):
    answer = client.post("/api/v1/exports/national", headers=token("zhanqian"), json=period())
    job_id = answer.get_json()["job_id"]
    wait_for_job(client, job_id, token("zhanqian"))
    assert client.get(f"/api/v1/exports/{job_id}/file", headers=token("worker")).status_code == 404
    assert client.get(f"/api/v1/exports/{job_id}/file",
                      headers=token("bayuquan")).status_code == 404
    assert client.get("/api/v1/exports/nope/file", headers=token("zhanqian")).status_code == 404
