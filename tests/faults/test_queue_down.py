"""Redis unreachable is a degraded state, never a 500: writes that committed answer what they
did, sign-in works and keeps counting failures (in the database), /healthz says `degraded`,
and the jobs wait in the database until the queue is back. On both suites: REDIS_URL points at
a port where nothing listens; then the queue comes back (the real Redis and the worker's tick,
or `flask jobs recover` where no worker runs) and the certificate is made without anyone
asking, and the notifications go out."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.core.db import SHANGHAI, utcnow
from portal.core.notify import Notification
from portal.extensions import db
from portal.records.models import Certificate
from tests.conftest import PASSWORD, csrf_token
from tests.faults.conftest import free_port, wait_until


@pytest.fixture
def queue_down(app, worker):
    """The web side's Redis is gone (the worker, if any, still has its own)."""
    old = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    app.extensions.pop("portal_redis", None)

    def back():
        app.config["REDIS_URL"] = old
        app.extensions.pop("portal_redis", None)
    yield back
    back()


def test_with_the_queue_unreachable_everything_answers_and_the_jobs_wait(
        app, client, token, approved, activity, queue_down):
    vid, _ids = approved
    shift_id = activity(capacity=5)["shifts"][0]["id"]

    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json() == {"status": "degraded", "db": "ok", "queue": "unreachable"}

    # Sign-in: by the API and by the form.
    signed = client.post("/api/v1/auth/tokens", json={"username": "wang", "password": PASSWORD})
    assert signed.status_code == 201, signed.get_json()
    headers = {"Authorization": "Bearer " + signed.get_json()["token"]}
    pages = app.test_client()
    form = csrf_token(pages.get("/login").get_data(as_text=True))
    assert pages.post("/login", data={"username": "wang", "password": PASSWORD,
                                      "csrf_token": form}).status_code == 302

    # A signup commits and says so (not a 500 that invites a retry and a 409).
    signup = client.post(f"/api/v1/shifts/{shift_id}/signups", headers=headers, json={})
    assert signup.status_code == 201, signup.get_json()
    assert signup.get_json()["status"] == "confirmed"
    again = client.post(f"/api/v1/shifts/{shift_id}/signups", headers=headers, json={})
    assert again.status_code == 409

    # A certificate request is accepted; its build waits in the database.
    today = utcnow().astimezone(SHANGHAI).date()
    period = {"from": (today - timedelta(days=90)).isoformat(), "to": today.isoformat()}
    asked = client.post(f"/api/v1/volunteers/{vid}/certificates", headers=headers, json=period)
    assert asked.status_code == 202, asked.get_json()
    cert_id = asked.get_json()["id"]
    with app.app_context():
        assert db.session.get(Certificate, cert_id).status.value == "pending"

    # The queue comes back; nobody asks again.
    queue_down()
    if not app.config["REDIS_URL"]:  # no worker: cron's `flask jobs recover`, once lost
        time.sleep(app.config["JOB_RECOVERY_SECONDS"] + 0.2)
        result = app.test_cli_runner().invoke(args=["jobs", "recover"])
        assert result.exit_code == 0, result.output

    def issued():
        with app.app_context():
            return db.session.get(Certificate, cert_id).status.value == "ready"
    wait_until(issued, 20, "the certificate is issued")

    def all_sent():
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                                     .where(Notification.sent_at.is_(None))) == 0
    wait_until(all_sent, 20, "the signup's notification goes out")


def test_failed_sign_ins_still_count_with_the_queue_unreachable(app, client, people,
                                                                queue_down):
    """The failure counts fall back to the database: the lock-out still holds."""
    limit = app.config["LOGIN_FAILURES_PER_USERNAME"]
    for _ in range(limit):
        wrong = client.post("/api/v1/auth/tokens",
                            json={"username": "worker", "password": "wrong-password"})
        assert wrong.status_code == 401, wrong.get_json()
    refused = client.post("/api/v1/auth/tokens", json={"username": "worker",
                                                       "password": PASSWORD})
    assert refused.status_code == 429


def test_sms_codes_keep_their_limits_with_the_queue_unreachable(app, client, queue_down,
                                                                tmp_path, monkeypatch):
    """Codes are sent and signed in with; their limits are counted from the codes in the
    database meanwhile (one a minute per number still holds)."""
    import json

    outbox = tmp_path / "sms.jsonl"
    monkeypatch.setitem(app.config, "SMS_OUTBOX", str(outbox))
    monkeypatch.setitem(app.config, "SMS_ADAPTER", "log")
    sent = client.post("/api/v1/auth/sms-codes", json={"phone": "13812345678"})
    assert sent.status_code == 202, sent.get_json()
    assert client.post("/api/v1/auth/sms-codes", json={"phone": "13812345678"}
                       ).status_code == 429
    code = json.loads(outbox.read_text().splitlines()[-1])["params"]["code"]
    signed = client.post("/api/v1/auth/tokens", json={"phone": "13812345678", "code": code})
    assert signed.status_code == 201


def test_an_error_after_the_commit_is_answered_in_the_error_shape(app, client, people, token,
                                                                  volunteer, activity,
                                                                  request):
    """The error handler never fails on a committed session: something unforeseen raised after
    the commit (here, in the job dispatch) is answered in the contract's error shape, and what
    committed stays committed."""
    from portal.activities.models import Signup

    volunteer("wang")
    shift_id = activity(capacity=5)["shifts"][0]["id"]
    headers = token("wang")
    request.getfixturevalue("dispatch_fails")
    answer = client.post(f"/api/v1/shifts/{shift_id}/signups", headers=headers, json={})
    assert answer.status_code == 500
    assert answer.get_json()["error"]["code"] == "internal_error"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Signup)) == 1
