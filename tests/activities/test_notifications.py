"""Notifications go through the outbox and a job: confirmation, waiting list, promotion,
cancellation by the organiser, and tomorrow's reminder, each once, in the volunteer's language."""

import time
from datetime import timedelta

import sqlalchemy as sa

from portal.core.db import utcnow
from portal.core.notify import Notification
from portal.extensions import db
from tests.activities.conftest import later


def notes(app, kind=None):
    with app.app_context():
        query = sa.select(Notification).order_by(Notification.id)
        if kind:
            query = query.where(Notification.kind == kind)
        return db.session.scalars(query).all()


def wait_sent(app, kind, count=1, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = [n for n in notes(app, kind) if n.sent_at is not None]
        if len(rows) >= count:
            return rows
        time.sleep(0.1)
    return [n for n in notes(app, kind) if n.sent_at is not None]


def test_confirmation_waitlist_and_promotion(app, client, people, token, volunteer, activity,
                                             worker):
    shift_id = activity(capacity=1, title="读报")["shifts"][0]["id"]
    volunteer("first")
    volunteer("second")
    a = client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token("first"), json={})
    client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token("second"), json={})
    assert len(wait_sent(app, "confirmed")) == 1
    assert len(wait_sent(app, "waitlisted")) == 1
    client.delete(f"/api/v1/signups/{a.get_json()['id']}", headers=token("first"))
    promoted = wait_sent(app, "promoted")
    assert len(promoted) == 1 and "读报" in promoted[0].title
    assert "读报" in promoted[0].body and "报名" in promoted[0].body  # Chinese by default


def test_cancellation_by_the_organiser_is_told(app, client, people, token, volunteer, activity,
                                                worker):
    shift_id = activity()["shifts"][0]["id"]
    volunteer("first")
    signup = client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token("first"),
                         json={}).get_json()
    client.delete(f"/api/v1/signups/{signup['id']}", headers=token("worker"))
    assert len(wait_sent(app, "cancelled_by_organiser")) == 1


def test_reminders_for_tomorrow_once(app, client, people, token, volunteer, activity, worker):
    from portal.core.db import SHANGHAI

    tomorrow = (utcnow().astimezone(SHANGHAI) + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0)
    shift_id = activity(shifts=[{"starts_at": tomorrow.isoformat(),
                                 "ends_at": (tomorrow + timedelta(hours=1)).isoformat(),
                                 "capacity": 3}])["shifts"][0]["id"]
    activity(title="later", shifts=[{"starts_at": later(24 * 5), "ends_at": later(24 * 5 + 1),
                                     "capacity": 3}])
    volunteer("first")
    client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token("first"), json={})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["remind"]).exit_code == 0
    assert runner.invoke(args=["remind"]).exit_code == 0
    assert len(wait_sent(app, "reminder")) == 1
    assert len(notes(app, "reminder")) == 1


def test_a_failed_delivery_is_kept_with_its_error(app, client, people, token, volunteer,
                                                  activity, monkeypatch):
    if app.config["REDIS_URL"]:
        import pytest

        pytest.skip("the worker process has its own settings")
    monkeypatch.setitem(app.config, "NOTIFY_ADAPTER", "smtp")
    shift_id = activity()["shifts"][0]["id"]
    volunteer("first")
    client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token("first"), json={})
    [note] = notes(app, "confirmed")
    assert note.sent_at is None and "no e-mail address" in note.error


def test_a_signup_is_audited_and_told_in_the_volunteers_language(app, client, people, token,
                                                                  volunteer, activity):
    """The signup's own statement (on PostgreSQL the place, the row, the audit and the outbox
    go in one) writes the same audit row and notification as every other change."""
    from portal.core.audit import AuditEntry
    from portal.core.users import User

    created = activity(capacity=1, title="读报")
    shift_id = created["shifts"][0]["id"]
    first, second = volunteer("first"), volunteer("second")
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "second"))
        user.locale = "en"
        db.session.commit()
    a = client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token("first"), json={})
    b = client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token("second"), json={})
    with app.app_context():
        from portal.volunteers.models import Volunteer

        codes = {v.id: v.volunteer_code for v in db.session.scalars(
            sa.select(Volunteer).where(Volunteer.id.in_([first, second])))}
        rows = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.object_type == "activity", AuditEntry.action == "signup",
            AuditEntry.object_id == str(created["id"])).order_by(AuditEntry.id)).all()
    assert [(r.actor_name, r.to_value, r.area_code) for r in rows] == [
        ("first", f"{codes[first]}: confirmed", created["community_code"]),
        ("second", f"{codes[second]}: waitlisted", created["community_code"])]
    told = {n.subject_key: n for n in notes(app)}
    mine = told[f"signup:{a.get_json()['id']}"]
    theirs = told[f"signup:{b.get_json()['id']}"]
    assert (mine.kind, theirs.kind) == ("confirmed", "waitlisted")
    assert "读报" in mine.title and "报名" in mine.body          # Chinese by default
    assert theirs.title.startswith("On the waiting list") and "读报" in theirs.body  # English
