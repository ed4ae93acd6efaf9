"""Service records: entry by the organiser, the same hour never twice, approval, amendments that
keep their history, correction requests, and who may do what."""

import threading

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.records.models import ServiceRecord
from tests.records.conftest import URBAN, record_body

API = "/api/v1/service-records"


def create(client, token, body, by="worker"):
    return client.post(API, headers=token(by), json=body)


def test_the_organiser_enters_a_pending_record(client, token, setting):
    vid, aid = setting
    response = create(client, token, record_body(vid, aid, 5, 2, minutes=100,
                                                 beneficiaries="独居老人", leader="李主任"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["status"], body["minutes"], body["beneficiaries"], body["leader"]) == \
        ("pending", 100, "独居老人", "李主任")
    assert body["started_at"].endswith("+08:00")
    assert body["place"] == "八田地社区活动室"  # the activity's place unless given
    assert [h["action"] for h in body["history"]] == ["create"]


def test_minutes_never_exceed_the_span_and_records_do_not_end_in_the_future(client, token,
                                                                          setting):
    vid, aid = setting
    too_long = create(client, token, record_body(vid, aid, 5, 2, minutes=121))
    assert too_long.status_code == 422
    assert "minutes" in too_long.get_json()["error"]["fields"]
    future = create(client, token, record_body(vid, aid, 1, 2))  # ends an hour from now
    assert future.status_code == 422 and "ended_at" in future.get_json()["error"]["fields"]
    backwards = create(client, token, record_body(vid, aid, 5, -1, minutes=10))
    assert backwards.status_code == 422
    zero = create(client, token, record_body(vid, aid, 5, 1, minutes=0))
    assert zero.status_code == 422 and "minutes" in zero.get_json()["error"]["fields"]
    # entered afterwards (补录), far from any shift and longer than a day: accepted
    long_ago = create(client, token, record_body(vid, aid, 24 * 40, 30, minutes=600))
    assert long_ago.status_code == 201


def test_only_the_organiser_records(client, token, make_user, setting, volunteer):
    vid, aid = setting
    body = record_body(vid, aid, 5, 2)
    assert client.post(API, json=body).status_code == 401
    assert create(client, token, body, by="outsider").status_code == 403
    assert create(client, token, body, by="wang").status_code == 403  # not their own hours
    # refused before the body is judged: a bad body from a stranger is still 403
    assert create(client, token, dict(body, minutes="x"), by="outsider").status_code == 403
    missing = create(client, token, dict(body, activity_id=999999))
    assert missing.status_code == 422 and "activity_id" in missing.get_json()["error"]["fields"]
    nobody = create(client, token, dict(body, volunteer_id=999999))
    assert nobody.status_code == 422 and "volunteer_id" in nobody.get_json()["error"]["fields"]


def test_the_same_hour_is_never_counted_twice_even_at_two_organisations(
        client, token, setting, activity, org):
    vid, aid = setting
    org_id = org()
    other = activity(by="boss", org_id=org_id, community_code=None)["id"]
    assert create(client, token, record_body(vid, aid, 10, 3)).status_code == 201
    clash = create(client, token, record_body(vid, other, 8, 3), by="boss")
    assert clash.status_code == 409
    assert "never counted twice" in clash.get_json()["error"]["message"] or \
        "重复" in clash.get_json()["error"]["message"]
    # touching (ends when the other starts) is not overlapping
    assert create(client, token, record_body(vid, other, 7, 2), by="boss").status_code == 201


def test_a_rejected_record_frees_its_time(client, token, setting):
    vid, aid = setting
    first = create(client, token, record_body(vid, aid, 10, 3)).get_json()
    reject = client.post(f"{API}/{first['id']}/reject", headers=token("worker"),
                         json={"reason": "当天活动取消"})
    assert reject.status_code == 200 and reject.get_json()["status"] == "rejected"
    assert create(client, token, record_body(vid, aid, 10, 3)).status_code == 201


@pytest.mark.contention
def test_twenty_overlapping_entries_at_once_make_one_record(app, client, token, setting):
    vid, aid = setting
    headers = token("worker")
    barrier = threading.Barrier(20)
    codes: list[int] = []

    def go(i):
        c = app.test_client()
        barrier.wait()
        # all overlap each other: starts 10 h ago + i minutes, 3 hours long
        codes.append(c.post(API, headers=headers,
                            json=record_body(vid, aid, 10 - i / 60, 3)).status_code)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201] + [409] * 19, codes
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ServiceRecord)) == 1


def test_approve_reject_and_the_state_machine(client, token, setting):
    vid, aid = setting
    rid = create(client, token, record_body(vid, aid, 10, 3)).get_json()["id"]
    no_reason = client.post(f"{API}/{rid}/reject", headers=token("worker"), json={})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["error"]["fields"]
    assert client.post(f"{API}/{rid}/approve", headers=token("wang")).status_code == 403
    assert client.post(f"{API}/{rid}/approve", headers=token("outsider")).status_code == 404
    ok = client.post(f"{API}/{rid}/approve", headers=token("worker"))
    assert ok.status_code == 200 and ok.get_json()["status"] == "approved"
    assert client.post(f"{API}/{rid}/approve", headers=token("worker")).status_code == 409
    assert client.post(f"{API}/{rid}/reject", headers=token("worker"),
                       json={"reason": "x"}).status_code == 409


def test_nobody_approves_their_own_hours(app, client, token, make_user, setting, volunteer):
    """A community worker who is also a volunteer cannot record or approve their own hours."""
    from portal.core.users import Role, grant_role

    vid, aid = setting
    self_vid = volunteer("selfie")
    with app.app_context():
        from portal.core.users import User

        user = db.session.scalar(sa.select(User).where(User.username == "selfie"))
        grant_role(user, Role.community_worker, URBAN, actor=None)
        db.session.commit()
    own = create(client, token, record_body(self_vid, aid, 10, 3), by="selfie")
    assert own.status_code == 403
    rid = create(client, token, record_body(self_vid, aid, 10, 3)).get_json()["id"]
    assert client.post(f"{API}/{rid}/approve", headers=token("selfie")).status_code == 403
    assert client.post(f"{API}/{rid}/amend", headers=token("selfie"),
                       json={"minutes": 10, "reason": "x"}).status_code == 403


def test_an_amendment_takes_effect_at_once_and_keeps_the_old_value(client, token, setting):
    vid, aid = setting
    rid = create(client, token, record_body(vid, aid, 10, 3, minutes=150)).get_json()["id"]
    client.post(f"{API}/{rid}/approve", headers=token("worker"))
    no_reason = client.post(f"{API}/{rid}/amend", headers=token("worker"),
                            json={"minutes": 170, "reason": ""})
    assert no_reason.status_code == 422
    over = client.post(f"{API}/{rid}/amend", headers=token("worker"),
                       json={"minutes": 181, "reason": "多算"})
    assert over.status_code == 422 and "minutes" in over.get_json()["error"]["fields"]
    ok = client.post(f"{API}/{rid}/amend", headers=token("worker"),
                     json={"minutes": 170, "reason": "补记整理场地的20分钟"})
    assert ok.status_code == 200
    body = ok.get_json()
    assert (body["minutes"], body["status"]) == (170, "approved")
    amend = body["history"][-1]
    assert (amend["action"], amend["from_minutes"], amend["to_minutes"], amend["by"],
            amend["reason"]) == ("amend", 150, 170, "worker", "补记整理场地的20分钟")
    # the volunteer sees the same history
    mine = client.get(f"{API}/{rid}", headers=token("wang")).get_json()
    assert [h["action"] for h in mine["history"]] == ["create", "approve", "amend"]
    assert client.get(f"{API}/{rid}", headers=token("outsider")).status_code == 404


def test_a_rejected_record_is_not_amended(client, token, setting):
    vid, aid = setting
    rid = create(client, token, record_body(vid, aid, 10, 3)).get_json()["id"]
    client.post(f"{API}/{rid}/reject", headers=token("worker"), json={"reason": "未到场"})
    assert client.post(f"{API}/{rid}/amend", headers=token("worker"),
                       json={"minutes": 60, "reason": "x"}).status_code == 409


def test_a_volunteer_asks_for_a_correction_and_the_organiser_answers(client, token, setting):
    vid, aid = setting
    rid = create(client, token, record_body(vid, aid, 10, 3, minutes=90)).get_json()["id"]
    client.post(f"{API}/{rid}/approve", headers=token("worker"))
    url = f"{API}/{rid}/corrections"
    assert client.post(url, headers=token("worker"),
                       json={"reason": "x"}).status_code == 403  # only the volunteer asks
    empty = client.post(url, headers=token("wang"), json={"reason": " "})
    assert empty.status_code == 422
    asked = client.post(url, headers=token("wang"),
                        json={"reason": "我从九点服务到十二点", "minutes": 180})
    assert asked.status_code == 201
    assert client.post(url, headers=token("wang"),
                       json={"reason": "again"}).status_code == 409  # one open at a time
    cid = asked.get_json()["id"]
    answer = f"/api/v1/corrections/{cid}/answer"
    assert client.post(answer, headers=token("wang"),
                       json={"accept": True, "answer": "ok"}).status_code == 403
    ok = client.post(answer, headers=token("worker"),
                     json={"accept": True, "answer": "核实签到表，予以更正"})
    assert ok.status_code == 200 and ok.get_json()["status"] == "accepted"
    record = client.get(f"{API}/{rid}", headers=token("wang")).get_json()
    assert record["minutes"] == 180
    assert [h["action"] for h in record["history"]][-3:] == \
        ["correction_requested", "amend", "correction_accepted"]
    assert client.post(answer, headers=token("worker"),
                       json={"accept": False, "answer": "x"}).status_code == 409


def test_bulk_approval_of_a_shift(app, client, token, setting, volunteer):
    from tests.records.test_hours import checked_out

    vid, aid = setting
    shift_id, _ids = checked_out(app, client, token, ["lili", "zhao", "qian"], volunteer)
    url = f"/api/v1/shifts/{shift_id}/service-records/approve"
    assert client.post(url, headers=token("outsider")).status_code == 403
    done = client.post(url, headers=token("worker"))
    assert done.status_code == 200 and done.get_json()["approved"] == 3
    assert {i["status"] for i in done.get_json()["items"]} == {"approved"}
    assert client.post(url, headers=token("worker")).get_json()["approved"] == 0


def test_the_list_shows_only_what_the_caller_may_see(client, token, setting, volunteer):
    vid, aid = setting
    other = volunteer("other")
    create(client, token, record_body(vid, aid, 10, 3))
    create(client, token, record_body(other, aid, 10, 3))
    assert client.get(API, headers=token("worker")).get_json()["total"] == 2
    assert client.get(API, headers=token("wang")).get_json()["total"] == 1
    assert client.get(API, headers=token("outsider")).get_json()["total"] == 0
    assert client.get(f"{API}?status=approved", headers=token("worker")).get_json()["total"] == 0
    assert client.get(f"{API}?status=nope", headers=token("worker")).status_code == 422
    assert client.get(f"{API}?volunteer_id=٣", headers=token("worker")).status_code == 422


def test_odd_dates_are_422_never_500(client, token, setting):
    vid, aid = setting
    body = record_body(vid, aid, 5, 2)
    for started in ("0001-01-01T00:00:00", "1899-12-31T08:00:00"):
        odd = create(client, token, dict(body, started_at=started))
        assert odd.status_code == 422, started
        assert "started_at" in odd.get_json()["error"]["fields"]


def test_an_organisation_records_its_own_activities_not_the_community(client, token, setting,
                                                                        org, activity):
    """谁组织谁记录: the community worker may see an organisation's activity records but neither
    enters nor approves them; the organisation's admin does."""
    vid, _aid = setting
    org_id = org()
    own = activity(by="boss", org_id=org_id, community_code=None)["id"]
    assert create(client, token, record_body(vid, own, 10, 2)).status_code == 403
    rid = create(client, token, record_body(vid, own, 10, 2), by="boss").get_json()["id"]
    assert client.get(f"{API}/{rid}", headers=token("worker")).status_code == 200
    assert client.post(f"{API}/{rid}/approve", headers=token("worker")).status_code == 403
    assert client.post(f"{API}/{rid}/approve", headers=token("boss")).status_code == 200


def test_who_may_not_record_is_refused_before_the_body_is_judged(client, token, setting,
                                                                 volunteer):
    vid, _aid = setting
    # a plain volunteer organises nothing: 403 whatever the body, even an unknown activity
    assert create(client, token, record_body(vid, 999999, 5, 2), by="wang").status_code == 403
    assert create(client, token, {"junk": True}, by="wang").status_code == 403
