"""Signups: never overbooked, waiting lists in arrival order, refusals with clear 409s."""

import threading
from datetime import date

import pytest
import sqlalchemy as sa

from portal.activities.models import Shift, Signup
from portal.extensions import db
from tests.activities.conftest import URBAN, later


def sign(client, token, shift_id, username):
    return client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token(username), json={})


def registered(volunteer, token, prefix: str, count: int) -> dict[str, dict]:
    """`count` new volunteers: name -> their auth headers."""
    headers = {}
    for i in range(count):
        name = f"{prefix}{i:02d}"
        volunteer(name)
        headers[name] = token(name)
    return headers


def at_once(app, shift_id: int, headers: dict) -> dict[str, tuple[int, dict]]:
    """Everyone in `headers` (name -> auth headers) signs up for the shift at the same moment:
    name -> (status code, body)."""
    barrier = threading.Barrier(len(headers))
    answers: dict[str, tuple[int, dict]] = {}

    def go(name):
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/api/v1/shifts/{shift_id}/signups", headers=headers[name],
                               json={})
        answers[name] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=go, args=(n,)) for n in headers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


@pytest.mark.contention
def test_fifty_at_once_on_ten_places(app, people, token, volunteer, activity):
    shift_id = activity(capacity=10)["shifts"][0]["id"]
    results = at_once(app, shift_id, registered(volunteer, token, "vol", 50))
    assert [code for code, _ in results.values()].count(201) == 50, results
    statuses = [body["status"] for _, body in results.values()]
    assert statuses.count("confirmed") == 10 and statuses.count("waitlisted") == 40
    with app.app_context():
        assert db.session.get(Shift, shift_id).confirmed_count == 10
        waiting = db.session.scalars(sa.select(Signup).where(
            Signup.shift_id == shift_id, Signup.status == "waitlisted")
            .order_by(Signup.id)).all()
        assert [s.waitlist_position() for s in waiting] == list(range(1, 41))


@pytest.mark.contention
def test_sixty_waiting_at_once_are_told_positions_one_to_sixty(app, people, token, volunteer,
                                                                activity):
    """The 201's waitlist_position is the place in the queue when it is answered: sixty
    simultaneous signups on a full shift are told 1 to 60, each once, in the order of their
    signups (an answer counted before earlier signups committed repeated numbers)."""
    shift_id = activity(capacity=1)["shifts"][0]["id"]
    volunteer("holder")
    assert sign(app.test_client(), token, shift_id, "holder").get_json()["status"] == "confirmed"
    answers = at_once(app, shift_id, registered(volunteer, token, "wait", 60))
    assert {code for code, _ in answers.values()} == {201}, answers
    told = {body["id"]: body["waitlist_position"] for _, body in answers.values()}
    assert sorted(told.values()) == list(range(1, 61)), sorted(told.values())
    # ... and each is the place in the queue (arrival order: the signups' ids).
    assert [told[i] for i in sorted(told)] == list(range(1, 61))


def test_waitlist_moves_up_and_cancelling_promotes_the_first(client, people, token, volunteer,
                                                             activity):
    shift_id = activity(capacity=1)["shifts"][0]["id"]
    for name in ("first", "second", "third"):
        volunteer(name)
    a = sign(client, token, shift_id, "first").get_json()
    b = sign(client, token, shift_id, "second").get_json()
    c = sign(client, token, shift_id, "third").get_json()
    assert (a["status"], b["waitlist_position"], c["waitlist_position"]) == ("confirmed", 1, 2)
    assert client.delete(f"/api/v1/signups/{a['id']}", headers=token("first")).status_code == 204
    b2 = client.get(f"/api/v1/signups/{b['id']}", headers=token("second")).get_json()
    c2 = client.get(f"/api/v1/signups/{c['id']}", headers=token("third")).get_json()
    assert (b2["status"], b2["waitlist_position"]) == ("confirmed", None)
    assert (c2["status"], c2["waitlist_position"]) == ("waitlisted", 1)
    shift = client.get(f"/api/v1/shifts/{shift_id}").get_json()
    assert (shift["confirmed_count"], shift["waitlist_count"]) == (1, 1)
    listed = client.get("/api/v1/activities").get_json()["items"][0]["shifts"][0]
    assert (listed["confirmed_count"], listed["waitlist_count"]) == (1, 1)
    assert "check_in_code" not in shift


def test_promotion_passes_over_whoever_would_be_double_booked(client, people, token,
                                                              volunteer, activity):
    """The first waiting volunteer has since taken a place in an overlapping shift: the freed
    place goes to the next, and the first keeps waiting (a promotion never double-books)."""
    shift_id = activity(capacity=1)["shifts"][0]["id"]
    overlapping = activity(shifts=[{"starts_at": later(49), "ends_at": later(50),
                                    "capacity": 5}])["shifts"][0]["id"]
    for name in ("holder", "busy", "free"):
        volunteer(name)
    held = sign(client, token, shift_id, "holder").get_json()
    busy = sign(client, token, shift_id, "busy").get_json()
    free = sign(client, token, shift_id, "free").get_json()
    assert sign(client, token, overlapping, "busy").status_code == 201  # waiting is no clash
    assert client.delete(f"/api/v1/signups/{held['id']}", headers=token("holder")
                         ).status_code == 204
    busy2 = client.get(f"/api/v1/signups/{busy['id']}", headers=token("busy")).get_json()
    free2 = client.get(f"/api/v1/signups/{free['id']}", headers=token("free")).get_json()
    assert (busy2["status"], busy2["waitlist_position"]) == ("waitlisted", 1)
    assert free2["status"] == "confirmed"


def test_a_place_nobody_can_take_stays_free(client, people, token, volunteer, activity):
    """The only one waiting would be double-booked: they are not promoted (the place goes to
    whoever signs up next)."""
    shift_id = activity(capacity=1)["shifts"][0]["id"]
    overlapping = activity(shifts=[{"starts_at": later(49), "ends_at": later(50),
                                    "capacity": 5}])["shifts"][0]["id"]
    volunteer("holder")
    volunteer("busy")
    held = sign(client, token, shift_id, "holder").get_json()
    busy = sign(client, token, shift_id, "busy").get_json()
    sign(client, token, overlapping, "busy")
    client.delete(f"/api/v1/signups/{held['id']}", headers=token("holder"))
    shift = client.get(f"/api/v1/shifts/{shift_id}").get_json()
    assert (shift["confirmed_count"], shift["waitlist_count"]) == (0, 1)
    assert client.get(f"/api/v1/signups/{busy['id']}", headers=token("busy")
                      ).get_json()["status"] == "waitlisted"


@pytest.mark.contention
def test_the_first_waiting_is_promoted_even_while_their_row_is_busy(app, client, people, token,
                                                                     volunteer, activity):
    """PostgreSQL: the first waiting volunteer's row is locked elsewhere for a moment (their own
    signup for another shift, a service record) when a place frees up: the promotion waits for
    it rather than passing them over, and a later signup waits behind them."""
    import time

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks are PostgreSQL's; SQLite runs one writer at a time")
        url = db.engine.url
    shift_id = activity(capacity=1)["shifts"][0]["id"]
    volunteer("holder")
    first_id = volunteer("first")
    volunteer("late")
    held = sign(client, token, shift_id, "holder").get_json()
    waiting = sign(client, token, shift_id, "first").get_json()
    locked, release = threading.Event(), threading.Event()

    def busy_elsewhere():
        other = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with other.connect() as conn:
            conn.execute(sa.text("SELECT id FROM volunteers WHERE id = :v FOR UPDATE"),
                         {"v": first_id})
            locked.set()
            release.wait(10)
            time.sleep(0.3)
            conn.commit()
        other.dispose()

    thread = threading.Thread(target=busy_elsewhere)
    thread.start()
    try:
        assert locked.wait(10)
        release.set()  # let go in 0.3 s, while the cancellation below waits for it
        assert client.delete(f"/api/v1/signups/{held['id']}",
                             headers=token("holder")).status_code == 204
    finally:
        release.set()
        thread.join()
    late = sign(client, token, shift_id, "late").get_json()
    first = client.get(f"/api/v1/signups/{waiting['id']}", headers=token("first")).get_json()
    assert (first["status"], late["status"]) == ("confirmed", "waitlisted")


def test_full_shift_without_waitlist_is_409(client, people, token, volunteer, activity):
    shift_id = activity(capacity=1, waitlist=False)["shifts"][0]["id"]
    volunteer("first")
    volunteer("second")
    assert sign(client, token, shift_id, "first").status_code == 201
    full = sign(client, token, shift_id, "second")
    assert full.status_code == 409 and full.get_json()["error"]["code"] == "conflict"


def test_twice_is_409(client, people, token, volunteer, activity):
    shift_id = activity()["shifts"][0]["id"]
    volunteer("first")
    assert sign(client, token, shift_id, "first").status_code == 201
    assert sign(client, token, shift_id, "first").status_code == 409


def test_an_overlapping_confirmed_shift_is_409(client, people, token, volunteer, activity):
    one = activity()["shifts"][0]["id"]
    other = activity(shifts=[{"starts_at": later(49), "ends_at": later(50),
                              "capacity": 5}])["shifts"][0]["id"]
    apart = activity(shifts=[{"starts_at": later(51), "ends_at": later(52),
                              "capacity": 5}])["shifts"][0]["id"]
    volunteer("first")
    assert sign(client, token, one, "first").status_code == 201
    clash = client.post(f"/api/v1/shifts/{other}/signups", headers={
        **token("first"), "Accept-Language": "en"}, json={})
    assert clash.status_code == 409
    assert clash.get_json()["error"]["message"] == \
        "This overlaps another shift you are confirmed for."
    assert sign(client, token, apart, "first").status_code == 201  # touching is no clash


def test_below_the_minimum_age_is_409(client, people, token, volunteer, activity):
    shift_id = activity(min_age=60)["shifts"][0]["id"]
    volunteer("young", born=date(1990, 1, 1))
    volunteer("old", born=date(1950, 1, 1))
    assert sign(client, token, shift_id, "young").status_code == 409
    assert sign(client, token, shift_id, "old").status_code == 201


def test_after_the_start_is_409(app, client, people, token, volunteer, activity):
    shift_id = activity()["shifts"][0]["id"]
    volunteer("late")
    with app.app_context():
        from datetime import timedelta

        from portal.core.db import utcnow

        shift = db.session.get(Shift, shift_id)
        shift.starts_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert sign(client, token, shift_id, "late").status_code == 409


def test_a_risky_activity_opens_once_insured(client, people, token, volunteer, activity):
    created = activity(risky=True)
    shift_id = created["shifts"][0]["id"]
    assert created["signups_open"] is False
    volunteer("first")
    assert sign(client, token, shift_id, "first").status_code == 409
    insured = client.post(f"/api/v1/activities/{created['id']}/insurance",
                          headers=token("worker"), json={"insurance": "人保意外险 PICC-2026-001"})
    assert insured.status_code == 200 and insured.get_json()["signups_open"] is True
    assert sign(client, token, shift_id, "first").status_code == 201


def test_the_organiser_signs_up_on_behalf_others_cannot(client, people, token, volunteer,
                                                        activity):
    shift_id = activity()["shifts"][0]["id"]
    vid = volunteer("nophone")
    volunteer("someone")
    assert client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token("someone"),
                       json={"volunteer_id": vid}).status_code == 403
    assert client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token("outsider"),
                       json={"volunteer_id": vid}).status_code == 403
    ok = client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token("worker"),
                     json={"volunteer_id": vid})
    assert ok.status_code == 201 and ok.get_json()["volunteer_id"] == vid


def test_only_the_volunteer_and_the_organiser_see_or_cancel(client, people, token, volunteer,
                                                            activity):
    shift_id = activity()["shifts"][0]["id"]
    volunteer("first")
    volunteer("nosy")
    signup = sign(client, token, shift_id, "first").get_json()
    assert client.get(f"/api/v1/signups/{signup['id']}", headers=token("nosy")).status_code \
        == 404
    assert client.get(f"/api/v1/signups/{signup['id']}", headers=token("worker")).status_code \
        == 200
    assert client.delete(f"/api/v1/signups/{signup['id']}",
                         headers=token("nosy")).status_code == 404
    assert client.delete(f"/api/v1/signups/{signup['id']}",
                         headers=token("worker")).status_code == 204
    assert client.delete(f"/api/v1/signups/{signup['id']}",
                         headers=token("worker")).status_code == 409


@pytest.mark.parametrize("field,value", [
    ("service_type", "juggling"), ("skills", ["x"]), ("title", ""), ("location", ""),
    ("shifts", []),
])
def test_invalid_activities_are_422(client, people, token, field, value):
    body = {"title": "x", "community_code": URBAN, "service_type": "elderly_care",
            "location": "y", "shifts": [{"starts_at": later(5), "ends_at": later(6),
                                          "capacity": 3}]}
    body[field] = value
    response = client.post("/api/v1/activities", headers=token("worker"), json=body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_a_shift_in_the_past_or_backwards_is_422(client, people, token):
    body = {"title": "x", "community_code": URBAN, "service_type": "elderly_care",
            "location": "y", "shifts": [{"starts_at": later(-5), "ends_at": later(-4),
                                          "capacity": 3},
                                         {"starts_at": later(6), "ends_at": later(5),
                                          "capacity": 3}]}
    response = client.post("/api/v1/activities", headers=token("worker"), json=body)
    assert response.status_code == 422
    assert {"shifts.0", "shifts.1"} <= set(response.get_json()["error"]["fields"])


def test_who_publishes(client, people, token, make_user):
    make_user("plain")
    body = {"title": "x", "community_code": URBAN, "service_type": "elderly_care",
            "location": "y", "shifts": [{"starts_at": later(5), "ends_at": later(6),
                                          "capacity": 3}]}
    assert client.post("/api/v1/activities", headers=token("plain"), json=body).status_code \
        == 403
    assert client.post("/api/v1/activities", headers=token("outsider"), json=body).status_code \
        == 403
    assert client.post("/api/v1/activities", json=body).status_code == 401


def test_public_list_with_filters_and_times_in_shanghai(client, people, token, activity):
    activity(title="陪伴独居老人")
    activity(title="垃圾分类宣传", service_type="environment", skills=[])
    everything = client.get("/api/v1/activities").get_json()
    assert everything["total"] == 2
    assert client.get("/api/v1/activities?service_type=environment").get_json()["total"] == 1
    assert client.get("/api/v1/activities?q=老人").get_json()["total"] == 1
    assert client.get("/api/v1/activities?skill=first_aid").get_json()["total"] == 1
    assert client.get("/api/v1/activities?community=210804").get_json()["total"] == 0
    assert client.get("/api/v1/activities?from=2000-01-01").get_json()["total"] == 2
    assert client.get("/api/v1/activities?to=2000-01-01").get_json()["total"] == 0
    assert client.get("/api/v1/activities?from=soon").status_code == 422
    starts = everything["items"][0]["shifts"][0]["starts_at"]
    assert starts.endswith("+08:00")


def test_signing_oneself_up_finds_token_volunteer_and_shift_in_one_statement(
        app, client, people, token, volunteer, activity):
    """The busiest write: the live token, the volunteer (locked) and the shift come from one
    statement, not three."""
    volunteer("wang")
    shift_id = activity()["shifts"][0]["id"]
    headers = token("wang")
    seen: list[str] = []
    committed: list[bool] = []

    def note(conn, cursor, statement, *args):
        if not committed:  # the signup's own transaction (inline delivery comes after)
            seen.append(" ".join(statement.split()).lower())

    def commit(conn):
        committed.append(True)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    sa.event.listen(engine, "commit", commit)
    try:
        assert sign(client, lambda _n: headers, shift_id, "wang").status_code == 201
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
        sa.event.remove(engine, "commit", commit)
    reading = [s for s in seen if "api_tokens" in s]
    assert len(reading) == 1, reading
    assert all(f"from {t}" in reading[0] or f"join {t}" in reading[0]
               for t in ("volunteers", "shifts", "activities")), reading[0]
    # Nothing the signup reads later loads on its own (an unloaded column, a relationship).
    again = [s for s in seen[1:] if s.startswith("select") and any(
        f"from {t} " in s + " " for t in ("users", "volunteers", "activities", "role_grants"))]
    assert again == [], again
    if engine.dialect.name == "postgresql":
        assert "for no key update of volunteers" in reading[0]
        assert len(seen) == 2, seen  # and then the checks, the place and the rows, at once


def test_signing_oneself_up_is_refused_as_step_by_step(app, client, people, token, volunteer,
                                                        activity, make_user):
    """What the one statement does not find is told apart as before: a token revoked,
    expired or of a deactivated account is 401; a shift that does not exist is 404; an
    account without a volunteer record is 403. Nothing is written."""
    from datetime import timedelta

    from portal.core.db import utcnow
    from portal.core.users import ApiToken, User

    volunteer("wang")
    make_user("plain")
    shift_id = activity()["shifts"][0]["id"]

    def refused(headers, shift=shift_id, body=None):
        return client.post(f"/api/v1/shifts/{shift}/signups", headers=headers,
                           **({"json": body} if body is not None else {}))

    assert refused(token("wang"), shift=shift_id + 1000).status_code == 404
    assert refused(token("wang"), shift=2**40).status_code == 404
    answer = refused(token("plain"))
    assert answer.status_code == 403
    assert answer.get_json()["error"]["message"] == "请先注册成为志愿者。"
    assert refused({"Authorization": "Basic abc"}).status_code == 401
    assert refused({"Authorization": "Bearer nonsense"}).status_code == 401
    revoked = token("wang")
    assert client.delete("/api/v1/auth/tokens/current", headers=revoked).status_code == 204
    assert refused(revoked).status_code == 401
    expired = token("wang")
    with app.app_context():
        row = db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id.desc())).first()
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert refused(expired).status_code == 401
    live = token("wang")
    with app.app_context():
        db.session.scalars(sa.select(User).where(User.username == "wang")).one().active = False
        db.session.commit()
    assert refused(live, body={}).status_code == 401
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Signup)) == 0
