"""应急动员 by the API: who is called (and told by SMS), bad input, who may call, the first
`headcount` yeses accepted and never more, standby in order, a withdrawal accepting the first on
standby, the end, check-in and check-out making a pending service record."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.callouts.models import Callout, CalloutResponse
from portal.core.db import utcnow
from portal.core.notify import Notification
from portal.extensions import db
from tests.callouts.conftest import CALL, OTHER_COUNTY, later

API = "/api/v1/callouts"


def _told(app, kind="callout") -> dict[str, str | None]:
    """username -> the SMS number of their call-out notification (None: in the portal only)."""
    from portal.core.users import User

    with app.app_context():
        return dict(db.session.execute(
            sa.select(User.username, Notification.sms_to)
            .join(User, User.id == Notification.user_id)
            .where(Notification.kind == kind)).all())


def _busy(app, username):
    """A confirmed signup of `username`'s for a shift overlapping the next hours."""
    from portal.activities.models import Activity, Shift, Signup, SignupState
    from portal.core.users import User
    from portal.volunteers.models import Volunteer

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        activity = Activity(title="社区义诊", community_code="210802001001",
                            service_type="health", location="社区卫生站")
        db.session.add(activity)
        db.session.flush()
        shift = Shift(activity_id=activity.id, starts_at=utcnow() + timedelta(hours=2),
                      ends_at=utcnow() + timedelta(hours=4), capacity=5)
        db.session.add(shift)
        db.session.flush()
        db.session.add(Signup(shift_id=shift.id, volunteer_id=Volunteer.of_user(user).id,
                              status=SignupState.confirmed))
        db.session.commit()


@pytest.fixture
def sms(app, tmp_path, monkeypatch):
    path = tmp_path / "sms.jsonl"
    monkeypatch.setitem(app.config, "SMS_OUTBOX", str(path))
    monkeypatch.setitem(app.config, "SMS_ADAPTER", "log")
    return lambda: [json.loads(line) for line in Path(path).read_text().splitlines()] \
        if path.exists() else []


def test_everyone_eligible_is_told_at_once_and_verified_phones_by_sms(app, client, token,
                                                                      volunteers, callout,
                                                                      sms):
    volunteers("ann", "bob")
    volunteers("fay", phone_verified=True)
    volunteers("cook", skills=("cooking",))
    volunteers("pending", verified=False)
    volunteers("far", community=OTHER_COUNTY)
    volunteers("busy")
    _busy(app, "busy")
    made = callout()
    assert made["status"] == "open" and made["notified"] == 3
    told = _told(app)
    assert set(told) == {"ann", "bob", "fay"}  # skilled, verified, living there, free
    assert told["ann"] is None and told["fay"].startswith("139")
    with app.app_context():
        from portal.core.notify import deliver_outbox

        deliver_outbox()
        db.session.commit()
    texts = sms()
    assert [t["phone"] for t in texts] == [told["fay"]]
    assert texts[0]["template"] == "notice" and "站前区暴雨转移群众" in texts[0]["params"]["text"]
    # No skill named: every verified volunteer of the area, the cook too.
    second = callout(skills=[], title="寻找走失老人")
    assert second["notified"] == 4
    with app.app_context():
        titles = db.session.scalars(sa.select(Notification.title).where(
            Notification.subject_key.like(f"callout:{second['id']}:%"))).all()
    assert all("寻找走失老人" in t and "需要" in t for t in titles)  # in the reader's language


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("field, value", [
    ("headcount", 0), ("headcount", 10_001), ("headcount", "5"), ("headcount", None),
    ("skills", ["flying"]), ("skills", "first_aid"), ("title", " "), ("place", ""),
    ("needed_by", "2020-01-01T08:00:00+08:00"), ("needed_by", None), ("ends_at", None),
    ("ends_at", "2020-01-01T08:00:00+08:00"), ("area_code", "999999"),
    ("ends_at", "9999-12-31T23:59:59-05:00"), ("needed_by", "2099-01-01T08:00:00+08:00"),
])
def test_bad_input_is_422_on_its_field_and_writes_nothing(app, client, token, staff, field,
                                                          value, lang):
    body = {**CALL, "needed_by": later(60), "ends_at": later(300), field: value}
    answer = client.post(f"{API}?lang={lang}", headers=token("zhanqian"), json=body)
    assert answer.status_code == 422, answer.get_json()
    error = answer.get_json()["error"]
    assert field in error["fields"]
    assert error["message"] == ("Please correct the marked fields." if lang == "en"
                                else "请修改标注的字段。")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Callout)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


def test_ending_before_it_is_needed_is_refused(client, token, staff):
    answer = client.post(API, headers=token("zhanqian"), json={
        **CALL, "needed_by": later(120), "ends_at": later(60)})
    assert answer.status_code == 422 and "ends_at" in answer.get_json()["error"]["fields"]


def test_only_the_areas_staff_call_out(client, token, staff, volunteers, callout):
    volunteers("ann")
    body = {**CALL, "needed_by": later(60), "ends_at": later(300)}
    assert client.post(API, json=body).status_code == 401
    assert client.post(API, headers=token("outsider"), json=body).status_code == 403
    # A community worker calls out in their community, not the county above it.
    assert client.post(API, headers=token("worker"), json=body).status_code == 403
    assert client.post(API, headers=token("ann"), json=body).status_code == 403
    # Who may not call out is told so before anything about what they sent.
    assert client.post(API, headers=token("ann"), json={"needed_by": "x"}).status_code == 403
    made = callout(by="worker", area_code="210802001001")
    assert made["notified"] == 1
    assert client.get(f"{API}/{made['id']}", headers=token("outsider")).status_code == 403
    assert client.get(f"{API}/{made['id']}", headers=token("ann")).status_code == 403
    assert client.get(f"{API}/{made['id']}", headers=token("zhanqian")).status_code == 200


def _answer(client, token, who, callout_id, answer="yes", eta=15):
    return client.post(f"{API}/{callout_id}/responses", headers=token(who),
                       json={"answer": answer, "eta_minutes": eta})


def test_the_first_yeses_are_accepted_the_rest_wait_and_a_withdrawal_moves_one_up(
        app, client, token, volunteers, callout):
    volunteers("ann", "bob", "cat", "eve")
    volunteers("dan", phone_verified=True)
    volunteers("far", community=OTHER_COUNTY)
    made = callout()  # two places
    dan_phone = _told(app)["dan"]
    cid = made["id"]
    first = _answer(client, token, "ann", cid)
    assert first.status_code == 201 and first.get_json()["status"] == "accepted"
    assert _answer(client, token, "bob", cid, "no", None).get_json()["status"] == "declined"
    assert _answer(client, token, "cat", cid).get_json()["status"] == "accepted"
    assert _answer(client, token, "dan", cid).get_json()["status"] == "standby"
    e = _answer(client, token, "eve", cid)
    assert e.get_json()["status"] == "standby"
    assert _answer(client, token, "ann", cid).status_code == 409  # a second answer
    assert _answer(client, token, "far", cid).status_code == 403  # not called
    assert client.post(f"{API}/{cid}/responses", headers=token("far"),
                       json={"answer": "maybe"}).status_code == 403
    assert client.post(f"{API}/999999/responses", headers=token("ann"),
                       json={"answer": "maybe"}).status_code == 404
    for bad in ({"answer": "maybe"}, {"answer": "yes", "eta_minutes": -5},
                {"answer": "yes", "eta_minutes": "soon"}):
        refused = client.post(f"{API}/{cid}/responses", headers=token("eve"), json=bad)
        assert refused.status_code == 422
    view = client.get(f"{API}/{cid}", headers=token("zhanqian")).get_json()
    assert (view["status"], view["accepted"], view["standby"], view["declined"]) == (
        "filled", 2, 2, 1)
    assert view["skills_covered"] == {"first_aid": 2}
    assert [r["status"] for r in view["responses"]] == [
        "accepted", "declined", "accepted", "standby", "standby"]
    assert view["responses"][0]["eta_minutes"] == 15
    # Another's answer is not theirs to withdraw; a's place goes to d, the first waiting.
    a_id = first.get_json()["id"]
    assert client.delete(f"/api/v1/callout-responses/{a_id}",
                         headers=token("cat")).status_code == 403
    assert client.delete(f"/api/v1/callout-responses/{a_id}",
                         headers=token("ann")).status_code == 204
    assert client.delete(f"/api/v1/callout-responses/{a_id}",
                         headers=token("ann")).status_code == 409
    view = client.get(f"{API}/{cid}", headers=token("zhanqian")).get_json()
    assert [r["status"] for r in view["responses"]] == [
        "withdrawn", "declined", "accepted", "accepted", "standby"]
    assert view["status"] == "filled" and view["accepted"] == 2
    assert _told(app, "callout_accepted") == {"dan": dan_phone}  # told at once, by SMS too
    # Two withdraw and nobody waits behind them: a place opens again.
    for who, rid in (("eve", e.get_json()["id"]),):
        assert client.delete(f"/api/v1/callout-responses/{rid}",
                             headers=token(who)).status_code == 204
    c_id = view["responses"][2]["id"]
    assert client.delete(f"/api/v1/callout-responses/{c_id}",
                         headers=token("cat")).status_code == 204
    view = client.get(f"{API}/{cid}", headers=token("zhanqian")).get_json()
    assert (view["status"], view["accepted"], view["standby"]) == ("open", 1, 0)


def test_after_the_end_answers_are_refused_and_it_reads_closed(app, client, token,
                                                               volunteers, callout):
    from portal.callouts.services import close_ended

    volunteers("ann", "bob")
    made = callout()
    yes = _answer(client, token, "ann", made["id"]).get_json()
    with app.app_context():
        db.session.execute(sa.update(Callout).values(
            needed_by=utcnow() - timedelta(hours=3), ends_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    assert _answer(client, token, "bob", made["id"]).status_code == 409
    assert client.delete(f"/api/v1/callout-responses/{yes['id']}",
                         headers=token("ann")).status_code == 409
    assert client.get(f"{API}/{made['id']}",
                      headers=token("zhanqian")).get_json()["status"] == "closed"
    with app.app_context():
        assert close_ended() == 1
        db.session.commit()
        assert db.session.get(Callout, made["id"]).status.value == "closed"


def test_thirty_yeses_at_once_accept_exactly_the_headcount(app, client, token, volunteers,
                                                           callout):
    names = [f"vol{n:02d}" for n in range(30)]
    volunteers(*names)
    made = callout(headcount=5)
    headers = {name: token(name) for name in names}
    barrier, codes = threading.Barrier(len(names)), {}

    def go(name):
        barrier.wait()
        answer = app.test_client().post(f"{API}/{made['id']}/responses", headers=headers[name],
                                        json={"answer": "yes", "eta_minutes": 10})
        codes[name] = (answer.status_code, (answer.get_json() or {}).get("status"))
    threads = [threading.Thread(target=go, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(code == 201 for code, _status in codes.values()), codes
    assert sorted(s for _c, s in codes.values()) == ["accepted"] * 5 + ["standby"] * 25
    with app.app_context():
        assert db.session.get(Callout, made["id"]).accepted == 5
        order = db.session.execute(sa.select(CalloutResponse.status).order_by(
            CalloutResponse.id)).scalars().all()
    # In arrival order: the accepted came first, the standby after them.
    assert [s.value for s in order] == ["accepted"] * 5 + ["standby"] * 25


def test_check_in_and_out_make_a_pending_record_the_coordinator_approves(app, client, token,
                                                                         volunteers, callout):
    from portal.core.permissions import can
    from portal.core.users import User
    from portal.records.models import RecordState, ServiceRecord

    volunteers("ann", "bob")
    made = callout()
    a = _answer(client, token, "ann", made["id"]).get_json()
    b = _answer(client, token, "bob", made["id"], "no", None).get_json()
    url = "/api/v1/callout-responses"
    assert client.post(f"{url}/{a['id']}/check-in", headers=token("ann")).status_code == 403
    assert client.post(f"{url}/{b['id']}/check-in", headers=token("zhanqian")).status_code == 409
    assert client.post(f"{url}/{a['id']}/check-out",
                       headers=token("zhanqian")).status_code == 409  # check in first
    assert client.post(f"{url}/{a['id']}/check-in", headers=token("zhanqian")).status_code == 200
    assert client.delete(f"{url}/{a['id']}", headers=token("ann")).status_code == 409
    with app.app_context():  # 90 minutes at the staging point
        db.session.execute(sa.update(CalloutResponse).where(CalloutResponse.id == a["id"])
                           .values(checked_in_at=utcnow() - timedelta(minutes=90)))
        db.session.commit()
    out = client.post(f"{url}/{a['id']}/check-out", headers=token("zhanqian"))
    assert out.status_code == 200
    with app.app_context():
        service = db.session.get(ServiceRecord, out.get_json()["service_record_id"])
        assert service.status is RecordState.pending and 89 <= service.minutes <= 91
        assert service.activity_id == made["activity_id"]
        coordinator = db.session.scalar(sa.select(User).where(User.username == "zhanqian"))
        assert can(coordinator, "record.decide", service)
    assert client.post(f"{url}/{a['id']}/check-out",
                       headers=token("zhanqian")).status_code == 409


def test_nobody_checks_themselves_in(app, client, token, volunteers, callout):
    """A coordinator who is also a volunteer there answers like anyone, but another coordinator
    checks them in (nobody records their own hours)."""
    from portal.core.users import Role, RoleGrant, User

    volunteers("medic")
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "medic"))
        db.session.add(RoleGrant(user_id=user.id, role=Role.community_worker,
                                 area_code="210802001001"))
        db.session.commit()
    made = callout()
    mine = _answer(client, token, "medic", made["id"]).get_json()
    url = f"/api/v1/callout-responses/{mine['id']}"
    assert client.post(f"{url}/check-in", headers=token("medic")).status_code == 403
    assert client.post(f"{url}/check-in", headers=token("zhanqian")).status_code == 200



def test_the_coordinator_ends_it_early_and_everyone_coming_stands_down(app, client, token,
                                                                        volunteers, callout):
    volunteers("ann", "bob", "cat", "dan")
    volunteers("fay", phone_verified=True)
    made = callout()  # two places
    cid = made["id"]
    for who, answer in (("ann", "yes"), ("bob", "no"), ("cat", "yes"), ("fay", "yes")):
        _answer(client, token, who, cid, answer, 10 if answer == "yes" else None)
    assert client.post(f"{API}/{cid}/close", headers=token("outsider")).status_code == 403
    ended = client.post(f"{API}/{cid}/close", headers=token("zhanqian"))
    assert ended.status_code == 200
    assert (ended.get_json()["status"], ended.get_json()["told"]) == ("closed", 3)
    told = _told(app, "callout_ended")
    assert set(told) == {"ann", "cat", "fay"} and told["fay"]  # not bob, who said no
    assert _answer(client, token, "dan", cid).status_code == 409
    assert client.post(f"{API}/{cid}/close", headers=token("zhanqian")).status_code == 409
