"""Faults an operator meets, with the real services (PostgreSQL, a Redis and a worker of the
test's own): Redis stopped and started again empty, Redis flushed with jobs queued, the
certificate renderer killed mid-render (what the OOM killer does), the worker killed with its
children, a stale "waiting" flag on the outbox's drain. Nothing is lost, nothing stays stuck,
nobody has to ask again. Run in CI's PostgreSQL + Redis suite."""

from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.core.db import SHANGHAI, utcnow
from portal.core.jobs import JobRun
from portal.core.notify import Notification
from portal.extensions import db
from portal.records.models import Certificate
from tests.conftest import PASSWORD
from tests.faults.conftest import needs_redis, row_locked, wait_until

pytestmark = needs_redis

# JOB_RECOVERY_SECONDS is 3 in tests; a recovered job then needs a tick (1 s) and its run.
WITHIN = 15


def ask_certificate(client, token, vid, faults=None) -> dict:
    """Ask for a certificate (with `faults`: while the worker is paused, so that the build
    starts only once the test is ready for it)."""
    if faults is not None:
        faults.pause_worker()
    today = utcnow().astimezone(SHANGHAI).date()
    period = {"from": (today - timedelta(days=90)).isoformat(), "to": today.isoformat()}
    answer = client.post(f"/api/v1/volunteers/{vid}/certificates", headers=token("wang"),
                         json=period)
    assert answer.status_code == 202, answer.get_json()
    return answer.get_json()


@contextmanager
def building(app, faults, cert: dict):
    """The worker (paused by ask_certificate) resumes and starts the build, which is held
    mid-way, before it can write the certificate, until the block ends."""
    with row_locked(app, Certificate.__table__, cert["id"]):
        faults.resume_worker()
        wait_until(lambda: job_of(app, cert["job_id"]).status == "started", WITHIN,
                   "the build starts")
        yield


def status_of(app, cert_id: int) -> str:
    with app.app_context():
        return db.session.get(Certificate, cert_id).status.value


def job_of(app, job_id: str) -> JobRun:
    with app.app_context():
        run = db.session.get(JobRun, job_id)
        db.session.expunge(run)
        return run


def wait_issued(app, cert_id: int, faults, timeout: float = WITHIN) -> None:
    try:
        wait_until(lambda: status_of(app, cert_id) == "ready", timeout,
                   f"certificate {cert_id} is issued")
    except AssertionError:
        raise AssertionError("not issued; the worker said:\n" + faults.log()) from None


def postgresql_only(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("holds a row lock: PostgreSQL")


def test_redis_stopped_then_started_empty(app, client, token, approved, activity, faults):
    """Redis stops (the worker is left waiting for it) and comes back empty, as after a restart
    without persistence: a sign-in, a signup and a certificate request made meanwhile answered
    as usual, and their work is done without anyone asking again."""
    vid, _ids = approved
    headers = token("wang")
    shift_id = activity(capacity=3)["shifts"][0]["id"]
    faults.stop_redis()
    health = client.get("/healthz")
    assert (health.status_code, health.get_json()["status"]) == (200, "degraded")
    signed = client.post("/api/v1/auth/tokens", json={"username": "wang", "password": PASSWORD})
    assert signed.status_code == 201, signed.get_json()
    assert client.post("/api/v1/auth/tokens", json={"username": "wang", "password": "wrong"}
                       ).status_code == 401
    assert client.post(f"/api/v1/shifts/{shift_id}/signups", headers=headers,
                       json={}).status_code == 201
    cert = ask_certificate(client, token, vid)
    time.sleep(1)
    assert status_of(app, cert["id"]) == "pending"
    faults.start_redis()
    wait_until(lambda: client.get("/healthz").get_json()["status"] == "ok",
               app.config["QUEUE_RETRY_SECONDS"] + 3, "healthz says ok again")
    wait_issued(app, cert["id"], faults)

    def delivered():
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                                     .where(Notification.sent_at.is_(None))) == 0
    wait_until(delivered, WITHIN, "the signup's notification is delivered")


def test_redis_flushed_with_jobs_queued(app, client, token, approved, faults):
    vid, _ids = approved
    faults.stop_worker()
    cert = ask_certificate(client, token, vid)
    faults.flush_redis()  # the nudges are gone
    faults.start_worker()
    wait_issued(app, cert["id"], faults)
    assert job_of(app, cert["job_id"]).attempts == 1


def test_the_renderer_killed_mid_render(app, client, token, approved, faults):
    """SIGKILL to the worker's PDF renderer while a certificate waits on it (what the OOM
    killer does): the worker lives on, the build gives its try back, and the certificate is
    issued on the next try by a fresh renderer."""
    postgresql_only(app)
    vid, _ids = approved
    renderer = faults.renderer()
    os.kill(renderer, signal.SIGSTOP)  # the build will wait on it
    cert = ask_certificate(client, token, vid)
    try:
        wait_until(lambda: job_of(app, cert["job_id"]).status == "started", WITHIN,
                   "the build starts")
    except AssertionError:
        raise AssertionError("the build did not start; the worker said:\n" + faults.log()) \
            from None
    time.sleep(0.5)  # snapshot made, the document sent to the renderer
    assert status_of(app, cert["id"]) == "pending"
    os.kill(renderer, signal.SIGKILL)
    wait_issued(app, cert["id"], faults)
    assert job_of(app, cert["job_id"]).attempts == 2
    assert faults.worker.poll() is None, faults.log()
    assert faults.renderer() != renderer


def test_worker_and_horse_killed_together(app, client, token, approved, faults):
    """The worker killed with its children (a certificate is built in the worker itself, its
    PDF by the renderer): nobody is left to notice, the job stays `started` until its lease
    runs out, then the next worker runs it again."""
    postgresql_only(app)
    vid, _ids = approved
    cert = ask_certificate(client, token, vid, faults=faults)
    with building(app, faults, cert):
        faults.horse()
        faults.kill_worker_and_horse()
    assert job_of(app, cert["job_id"]).status == "started"
    faults.start_worker()
    wait_issued(app, cert["id"], faults)
    run = job_of(app, cert["job_id"])
    assert (run.status, run.attempts) == ("finished", 2)


def test_a_stale_drain_flag_delays_notifications_by_a_tick_at_most(app, client, token,
                                                                  volunteer, activity, people,
                                                                  faults):
    """The drain's "waiting" flag left behind (a gunicorn worker killed between setting it and
    queueing the drain): no nudge gets through for its 60 s, but the worker's periodic drain
    delivers within seconds."""
    from redis import Redis

    Redis.from_url(faults.url).set(app.config["REDIS_PREFIX"] + "job-waiting:deliver_outbox",
                                   "1", ex=60)
    volunteer("wang")
    shift_id = activity(capacity=3)["shifts"][0]["id"]
    assert client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token("wang"),
                       json={}).status_code == 201

    def delivered():
        with app.app_context():
            counts = db.session.execute(sa.select(
                sa.func.count(), sa.func.count(Notification.sent_at))).one()
            return counts[0] > 0 and counts[0] == counts[1]
    wait_until(delivered, 10, "the notification goes out despite the flag")


def test_a_worker_started_while_redis_is_down_waits_for_it_and_stops_when_told(
        app, client, token, approved, faults):
    """Started with Redis down, the worker neither exits nor stops its periodic work; once
    Redis is there it runs what waited. Told to stop (SIGTERM) while Redis is down, it stops."""
    vid, _ids = approved
    faults.stop_worker()
    faults.stop_redis()
    faults.start_worker()
    cert = ask_certificate(client, token, vid)
    time.sleep(1)
    assert faults.worker.poll() is None, faults.log()
    faults.start_redis()
    wait_issued(app, cert["id"], faults)
    faults.stop_redis()
    time.sleep(1)
    faults.worker.terminate()
    try:
        faults.worker.wait(timeout=8)
    except Exception:
        raise AssertionError("the worker did not stop:\n" + faults.log()) from None
    faults.start_redis()


def test_a_hung_redis_costs_one_request_its_timeout_not_every_request(app, client, people,
                                                                      monkeypatch, faults):
    """Redis frozen (SIGSTOP: it accepts connections and never answers): the first request
    that needs it waits for its timeout (2 s); the next ones leave it alone and answer at once,
    counting failed sign-ins in the database; /healthz says degraded without waiting."""
    monkeypatch.setitem(app.config, "QUEUE_RETRY_SECONDS", 30)
    wrong = {"username": "worker", "password": "wrong-password"}
    faults.pause_redis()
    try:
        started = time.monotonic()
        assert client.post("/api/v1/auth/tokens", json=wrong).status_code == 401
        first = time.monotonic() - started
        started = time.monotonic()
        for _ in range(5):
            assert client.post("/api/v1/auth/tokens", json=wrong).status_code == 401
        health = client.get("/healthz")
        rest = time.monotonic() - started
    finally:
        faults.resume_redis()
    assert first < 6, first  # one timeout (connect or answer), not one per command
    assert rest < 1.5, rest
    assert (health.status_code, health.get_json()["status"]) == (200, "degraded")
