"""Activities with many shifts: weekly shifts at publication and later, a shift changed (its
volunteers told, their calendars updated, more places to the waiting list in order) or
cancelled (every signup cancelled and told why), all from the activity's page."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from portal.activities.models import Shift, Signup
from portal.core.db import SHANGHAI
from portal.core.notify import Notification
from portal.extensions import db
from tests.activities.conftest import URBAN
from tests.conftest import csrf_token


def local(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M")


def next_tuesday_nine() -> datetime:
    today = datetime.now(SHANGHAI).replace(hour=9, minute=0, second=0, microsecond=0)
    return today + timedelta(days=(1 - today.weekday()) % 7 + 7)


def sign(client, token, shift_id, username):
    return client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token(username), json={})


def test_a_weekly_activity_is_published_from_the_page(app, client, people, login):
    """Tuesdays 9:00–11:00 for four weeks: four shifts, same weekday and time."""
    first = next_tuesday_nine()
    login("worker")
    page = client.get("/activities/new").get_data(as_text=True)
    answer = client.post("/activities/new", data={
        "csrf_token": csrf_token(page), "organiser": f"community:{URBAN}", "title": "周二读报",
        "service_type": "elderly_care", "location": "活动室", "capacity": "8", "waitlist": "y",
        "starts_at": local(first), "ends_at": local(first + timedelta(hours=2)),
        "repeat_until": (first + timedelta(weeks=3)).date().isoformat()})
    assert answer.status_code == 302, answer.get_data(as_text=True)[-2000:]
    with app.app_context():
        shifts = db.session.scalars(sa.select(Shift).order_by(Shift.starts_at)).all()
        starts = [s.starts_at.astimezone(SHANGHAI) for s in shifts]
    assert len(starts) == 4
    assert {(s.weekday(), s.hour, s.minute) for s in starts} == {(1, 9, 0)}
    assert [(b - a).days for a, b in zip(starts, starts[1:], strict=False)] == [7, 7, 7]


def test_the_organiser_adds_changes_and_cancels_shifts_on_the_page(
        app, client, people, login, token, volunteer, activity):
    act = activity(capacity=1)
    shift_id = act["shifts"][0]["id"]
    for name in ("held", "waiting"):
        volunteer(name)
    held = sign(client, token, shift_id, "held").get_json()
    waiting = sign(client, token, shift_id, "waiting").get_json()
    assert waiting["status"] == "waitlisted"
    url = f"/activities/{act['id']}"
    login("outsider")  # not the organiser: no forms, and a post is refused
    html = client.get(url).get_data(as_text=True)
    assert 'id="add-shift"' not in html
    assert client.post(url, data={"csrf_token": csrf_token(html), "add-save": "1"}
                       ).status_code == 403
    login("worker")
    html = client.get(url + "?lang=en").get_data(as_text=True)
    assert 'id="add-shift"' in html and "shift-manage" in html
    token_value = csrf_token(html)

    # Add: weekly, three of them.
    first = next_tuesday_nine()
    added = client.post(url, data={
        "csrf_token": token_value, "add-save": "1", "add-starts_at": local(first),
        "add-ends_at": local(first + timedelta(hours=2)), "add-capacity": "5",
        "add-waitlist": "y", "add-repeat_until": (first + timedelta(weeks=2)).date().isoformat()})
    assert added.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Shift)) == 4

    # Change: fewer places than taken is refused by the field; more places promote the
    # waiting volunteer; a new time tells both.
    shift = client.get(f"/api/v1/shifts/{shift_id}").get_json()
    starts = datetime.fromisoformat(shift["starts_at"]) + timedelta(hours=1)
    ends = datetime.fromisoformat(shift["ends_at"]) + timedelta(hours=1)
    prefix = f"shift{shift_id}-"
    refused = client.post(url + "?lang=en", data={
        "csrf_token": token_value, f"{prefix}save": "1", f"{prefix}starts_at": local(starts),
        f"{prefix}ends_at": local(ends), f"{prefix}capacity": "1", f"{prefix}waitlist": "y"})
    assert refused.status_code == 302  # one place, one taken: allowed
    changed = client.post(url, data={
        "csrf_token": token_value, f"{prefix}save": "1", f"{prefix}starts_at": local(starts),
        f"{prefix}ends_at": local(ends), f"{prefix}capacity": "2", f"{prefix}waitlist": "y"})
    assert changed.status_code == 302
    assert client.get(f"/api/v1/signups/{waiting['id']}", headers=token("waiting")
                      ).get_json()["status"] == "confirmed"
    too_few = client.post(url + "?lang=en", data={
        "csrf_token": token_value, f"{prefix}save": "1", f"{prefix}starts_at": local(starts),
        f"{prefix}ends_at": local(ends), f"{prefix}capacity": "1", f"{prefix}waitlist": "y"})
    assert too_few.status_code == 422
    assert "2 volunteers already hold a place" in too_few.get_data(as_text=True)
    with app.app_context():
        told = db.session.scalars(sa.select(Notification.kind)).all()
        assert told.count("shift_changed") == 2  # the first change moved it; both were told
        assert db.session.get(Shift, shift_id).revision == 1
        from portal.core.audit import AuditEntry

        moved = db.session.scalar(sa.select(AuditEntry).where(
            AuditEntry.action == "edit_shift").order_by(AuditEntry.id))
        # Both ends in Beijing time (one was UTC, so a one-hour move read as twelve).
        shown = starts.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        assert moved.to_value.startswith(shown) and "+00:00" not in moved.from_value

    # Cancel: a reason is required; then every signup is cancelled and told why.
    cancel = f"cancel{shift_id}-"
    empty = client.post(url + "?lang=en", data={"csrf_token": token_value, f"{cancel}cancel": "1",
                                               f"{cancel}cancel_reason": ""})
    assert empty.status_code == 422
    done = client.post(url, data={"csrf_token": token_value, f"{cancel}cancel": "1",
                                  f"{cancel}cancel_reason": "暴雨预警，活动暂停"})
    assert done.status_code == 302
    with app.app_context():
        states = set(db.session.scalars(sa.select(Signup.status).where(
            Signup.shift_id == shift_id)))
        assert {s.value for s in states} == {"cancelled"}
        assert db.session.get(Shift, shift_id).confirmed_count == 0
        bodies = db.session.scalars(sa.select(Notification.body).where(
            Notification.kind == "shift_cancelled")).all()
        assert len(bodies) == 2 and all("暴雨预警" in b for b in bodies)
    volunteer("late")
    assert sign(client, token, shift_id, "late").status_code == 409
    shown = client.get(url + "?lang=en").get_data(as_text=True)
    assert "shift-cancelled" in shown and "暴雨预警" in shown
    # The volunteer's calendar drops it (a higher SEQUENCE than before).
    login("held")
    ics = client.get(f"/signups/{held['id']}.ics").data
    assert b"STATUS:CANCELLED" in ics and b"SEQUENCE:2" in ics


def test_an_activity_says_whom_to_call_and_when_signups_close(client, people, token,
                                                               volunteer, activity):
    """The contact person and phone (a tel: link), and signups that close a given number of
    hours before each shift: then the button goes and a signup is refused."""
    from tests.activities.conftest import later

    act = activity(contact_name="李主任", contact_phone="0417-2812345", signup_closes_hours=24,
                   shifts=[{"starts_at": later(12), "ends_at": later(14), "capacity": 5},
                           {"starts_at": later(72), "ends_at": later(74), "capacity": 5}])
    assert (act["contact_name"], act["signup_closes_hours"]) == ("李主任", 24)
    html = client.get(f"/activities/{act['id']}?lang=en").get_data(as_text=True)
    assert 'href="tel:0417-2812345"' in html and "24 hours before each shift" in html
    assert "Signups closed" in html
    volunteer("wang")
    soon, later_shift = (s["id"] for s in act["shifts"])
    closed = client.post(f"/api/v1/shifts/{soon}/signups", headers=token("wang"), json={})
    assert closed.status_code == 409 and "24" in closed.get_json()["error"]["message"]
    assert client.post(f"/api/v1/shifts/{later_shift}/signups", headers=token("wang"),
                       json={}).status_code == 201
    bad = client.post("/api/v1/activities", headers=token("worker"), json={
        "title": "x", "community_code": URBAN, "service_type": "elderly_care", "location": "y",
        "contact_phone": "call me", "shifts": [
            {"starts_at": later(48), "ends_at": later(50), "capacity": 1}]})
    assert bad.status_code == 422 and "contact_phone" in bad.get_json()["error"]["fields"]


def test_a_shift_is_no_longer_changed_or_cancelled_once_its_check_in_opened(
        app, client, people, login, token, volunteer, activity):
    """From an hour before the start volunteers arrive and check in: the page no longer offers
    to change or cancel the shift, and a post is refused."""
    from tests.activities.conftest import later

    act = activity(shifts=[{"starts_at": later(0.5), "ends_at": later(2.5), "capacity": 5}])
    shift_id = act["shifts"][0]["id"]
    url = f"/activities/{act['id']}"
    login("worker")
    html = client.get(url + "?lang=en").get_data(as_text=True)
    assert "shift-manage" not in html
    refused = client.post(url + "?lang=en", data={
        "csrf_token": csrf_token(html), f"cancel{shift_id}-cancel": "1",
        f"cancel{shift_id}-cancel_reason": "x"})
    assert refused.status_code == 400  # no such form for this shift any more
    with app.app_context():
        from portal.activities import services
        from portal.core.errors import Conflict
        from portal.core.users import User

        worker = db.session.scalar(sa.select(User).where(User.username == "worker"))
        try:
            services.cancel_shift(db.session.get(Shift, shift_id), "x", actor=worker)
        except Conflict as exc:
            assert "开始签到" in exc.message or "Check-in has opened" in exc.message
        else:
            raise AssertionError("a shift whose check-in opened was cancelled")


def test_a_moved_shift_is_reminded_again(app, client, people, token, volunteer, activity):
    from portal.activities import services

    volunteer("wang")
    act = activity()
    shift_id = act["shifts"][0]["id"]
    sign(client, token, shift_id, "wang")
    with app.app_context():
        shift = db.session.get(Shift, shift_id)
        day_before = shift.starts_at - timedelta(days=1)
        assert services.queue_reminders(day_before) == 1
        shift.revision += 1  # moved (as update_shift does), then reminded again
        db.session.commit()
        services.queue_reminders(day_before)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.kind == "reminder")) == 2


def test_recommendations_leave_out_shifts_whose_signups_closed(app, client, people, token,
                                                               volunteer, activity):
    from tests.activities.conftest import later

    vid = volunteer("wang")
    closed = activity(title="报名已截止", signup_closes_hours=24, shifts=[
        {"starts_at": later(12), "ends_at": later(14), "capacity": 5}])["shifts"][0]["id"]
    open_ = activity(title="还可以报名")["shifts"][0]["id"]
    items = client.get(f"/api/v1/volunteers/{vid}/recommendations",
                       headers=token("wang")).get_json()["items"]
    shown = {i["shift"]["id"] for i in items}
    assert open_ in shown and closed not in shown


def test_a_move_that_would_double_book_a_volunteer_is_refused(app, client, people, login,
                                                              token, volunteer, activity):
    from tests.activities.conftest import later

    volunteer("wang")
    first = activity(shifts=[{"starts_at": later(48), "ends_at": later(50), "capacity": 5}])
    other = activity(shifts=[{"starts_at": later(72), "ends_at": later(74), "capacity": 5}])
    shift_id = first["shifts"][0]["id"]
    sign(client, token, shift_id, "wang")
    sign(client, token, other["shifts"][0]["id"], "wang")
    url = f"/activities/{first['id']}"
    login("worker")
    html = client.get(url + "?lang=en").get_data(as_text=True)
    onto = datetime.fromisoformat(other["shifts"][0]["starts_at"])
    prefix = f"shift{shift_id}-"
    moved = client.post(url + "?lang=en", data={
        "csrf_token": csrf_token(html), f"{prefix}save": "1", f"{prefix}starts_at": local(onto),
        f"{prefix}ends_at": local(onto + timedelta(hours=1)), f"{prefix}capacity": "5",
        f"{prefix}waitlist": "y"})
    assert moved.status_code == 422
    assert "1 of its volunteers hold a place in another shift" in moved.get_data(as_text=True)
