"""Durable jobs: the JobRun row is the truth. A job whose nudge never came, or whose process
died, is run again after JOB_RECOVERY_SECONDS (3 s in tests) by the worker's periodic work or,
without a worker, by `flask jobs recover` and by whoever waits on it; a job lost too often is
failed with the reason, and a certificate can then be asked for again. On both suites."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from portal.core.db import SHANGHAI, utcnow
from portal.core.jobs import JobRun, enqueue, lost_reason, ping, recover_jobs, run_job
from portal.core.users import User
from portal.extensions import db
from portal.records.models import Certificate
from tests.conftest import wait_for_job
from tests.faults.conftest import wait_until

RECOVERY = 3


def touch(path: str) -> str:
    """A job with a visible effect: one line per run."""
    with open(path, "a") as out:
        out.write("ran\n")
    return "touched"


def lose_nudge() -> None:
    """What a Redis that went away, a flush or a killed process does to a job's nudge."""
    db.session.info.pop("pending_jobs", None)


def job_row(app, job_id: str) -> JobRun:
    with app.app_context():
        run = db.session.get(JobRun, job_id)
        db.session.expunge(run)
        return run


def settle(app, job_id: str, timeout: float = 20) -> JobRun:
    """The job's row once it is finished or failed, read from the database (asking the API
    would revive it: this waits for the worker or the command alone)."""
    return wait_until(lambda: (lambda r: r if r.status in ("finished", "failed") else None)(
        job_row(app, job_id)), timeout, f"job {job_id} settles")


def period_of(days: int = 90) -> tuple:
    today = utcnow().astimezone(SHANGHAI).date()
    return today - timedelta(days=days), today


PERIOD = {"from": period_of()[0].isoformat(), "to": period_of()[1].isoformat()}


def lost_certificate(app, vid: int, **job_values) -> tuple[int, str]:
    """A certificate asked for whose build's nudge was lost and whose lease has run out (with
    `job_values`, the job's row as a killed run leaves it). (certificate id, job id)."""
    from portal.records.certificates import request_certificate
    from portal.volunteers.models import Volunteer

    with app.app_context():
        volunteer = db.session.get(Volunteer, vid)
        cert = request_certificate(volunteer, *period_of(),
                                   actor=db.session.get(User, volunteer.user_id))
        cert_id, job_id = cert.id, cert.job_id
        lose_nudge()
        db.session.commit()
        db.session.execute(sa.update(JobRun).where(JobRun.id == job_id).values(
            lease_until=utcnow() - timedelta(seconds=1), **job_values))
        db.session.commit()
    return cert_id, job_id


def recover_by_hand_without_worker(app, runner) -> None:
    """Without Redis there is no worker: cron runs `flask jobs recover`."""
    if not app.config["REDIS_URL"]:
        result = runner.invoke(args=["jobs", "recover"])
        assert result.exit_code == 0, result.output
        assert "queued again" in result.output


def test_a_job_whose_nudge_never_came_runs_after_the_recovery_time(app, worker, tmp_path):
    marker = tmp_path / "ran.txt"
    with app.app_context():
        job_id = enqueue(touch, str(marker)).id
        lose_nudge()
        db.session.commit()
        assert recover_jobs()["requeued"] == 0  # its lease has not run out: not lost yet
    assert job_row(app, job_id).status == "queued"
    time.sleep(RECOVERY + 0.2)
    recover_by_hand_without_worker(app, app.test_cli_runner())
    run = settle(app, job_id)
    assert (run.status, run.result, run.attempts) == ("finished", "touched", 1)
    assert marker.read_text() == "ran\n"


def test_a_job_runs_once_however_often_it_is_nudged(app, tmp_path):
    marker = tmp_path / "ran.txt"
    with app.app_context():
        job_id = enqueue(touch, str(marker)).id
        lose_nudge()
        db.session.commit()
        path = "tests.faults.test_recovery:touch"
        assert run_job(job_id, path, [str(marker)], {}) == "touched"
        assert run_job(job_id, path, [str(marker)], {}) == "touched"  # a second nudge
    assert marker.read_text() == "ran\n"
    assert job_row(app, job_id).attempts == 1


def test_a_job_lost_too_often_fails_with_its_reason_and_the_certificate_can_be_asked_again(
        app, client, token, approved, worker):
    """Killed three times (JOB_MAX_TRIES): failed, the reason shown to whoever asked, and
    asking again for the same period starts a new certificate that is issued."""
    vid, _ids = approved
    # As three killed work horses leave it: started, its third try, its lease run out.
    cert_id, job_id = lost_certificate(app, vid, status="started",
                                       attempts=app.config["JOB_MAX_TRIES"])
    recover_by_hand_without_worker(app, app.test_cli_runner())
    run = settle(app, job_id)
    assert (run.status, run.error) == ("failed", lost_reason(3))
    headers = token("wang")
    mine = client.get(f"/api/v1/certificates/{cert_id}", headers=headers).get_json()
    assert mine["status"] == "failed"
    job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
    assert job["status"] == "failed" and "3 tries" in job["error"]
    # The volunteer's page says it failed and why, in both languages.
    from tests.conftest import PASSWORD, csrf_token

    pages = app.test_client()
    form = pages.get("/login")
    pages.post("/login", data={"username": "wang", "password": PASSWORD,
                               "csrf_token": csrf_token(form.get_data(as_text=True))})
    zh = pages.get(f"/certificates/{cert_id}?lang=zh").get_data(as_text=True)
    en = pages.get(f"/certificates/{cert_id}?lang=en").get_data(as_text=True)
    assert 'id="cert-error"' in zh and "中断" in zh
    assert "interrupted too many times" in en
    again = client.post(f"/api/v1/volunteers/{vid}/certificates", headers=headers, json=PERIOD)
    assert again.status_code == 202
    fresh = again.get_json()
    assert fresh["id"] != cert_id
    if fresh["status"] == "pending":
        assert wait_for_job(client, fresh["job_id"], headers)["status"] == "finished"
    assert client.get(f"/api/v1/certificates/{fresh['id']}", headers=headers
                      ).get_json()["status"] == "ready"


def test_asking_again_brings_a_lost_certificate_back(app, client, token, approved, worker):
    """Asking again for the same period while the first build is lost: the same certificate,
    built now (without a worker this is how it comes back)."""
    vid, _ids = approved
    cert_id, job_id = lost_certificate(app, vid)
    headers = token("wang")
    again = client.post(f"/api/v1/volunteers/{vid}/certificates", headers=headers, json=PERIOD)
    assert again.status_code == 202 and again.get_json()["id"] == cert_id
    run = settle(app, job_id)
    assert run.status == "finished"
    with app.app_context():
        assert db.session.get(Certificate, cert_id).status.value == "ready"


def test_watching_a_lost_job_brings_it_back(app, client, token, make_user, yingkou, worker):
    make_user("owner", ("bureau", "2108"))
    with app.app_context():
        job_id = enqueue(ping, actor=db.session.scalar(
            sa.select(User).where(User.username == "owner"))).id
        lose_nudge()
        db.session.commit()
    time.sleep(RECOVERY + 0.2)
    body = wait_for_job(client, job_id, token("owner"))
    assert (body["status"], body["result"]) == ("finished", "pong")


def test_an_old_live_job_without_its_call_is_failed_not_left_waiting(app, worker):
    """A job queued before jobs kept their call (or a row damaged by hand) cannot be run again:
    it is failed with the reason rather than left waiting for ever."""
    with app.app_context():
        job_id = enqueue(ping).id
        lose_nudge()
        db.session.commit()
        db.session.execute(sa.update(JobRun).where(JobRun.id == job_id).values(
            call=None, lease_until=None))
        db.session.commit()
    recover_by_hand_without_worker_or_none(app)
    run = settle(app, job_id)
    assert run.status == "failed" and run.error == lost_reason(0)


def recover_by_hand_without_worker_or_none(app) -> None:
    if not app.config["REDIS_URL"]:
        result = app.test_cli_runner().invoke(args=["jobs", "recover"])
        assert result.exit_code == 0, result.output


def test_the_outbox_drains_from_cron_where_no_worker_runs(app, tmp_path):
    """`flask jobs recover` also drains the notifications that no after-commit drain sent."""
    from portal.core.notify import Notification, queue_notification

    with app.app_context():
        queue_notification(None, "test", "k1", "标题", "正文")
        lose_nudge()
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["jobs", "recover"])
    assert result.exit_code == 0 and "1 sent" in result.output, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(Notification.sent_at)) is not None
    assert Path(tmp_path).exists()


def test_jobs_live_at_the_upgrade_are_adopted_not_failed(empty_database):
    """A deploy while an export is being built: the migration gives the job its call and a
    lease, so that the recovery runs it again instead of failing it; a job it cannot name (an
    import) gets a lease too, and is failed with the reason once that runs out."""
    from flask_migrate import upgrade

    from portal import create_app
    from tests.conftest import ROOT

    other = create_app({"SQLALCHEMY_DATABASE_URI": empty_database, "TESTING": True,
                        "REDIS_URL": None, "SECRET_KEY": "test-secret"})
    migrations = str(ROOT / "migrations")
    with other.app_context():
        upgrade(directory=migrations, revision="c1caeef1d9df")
        now = utcnow()
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO areas (code, name, level) "
                                 "VALUES ('2108', '营口市', 'city')"))
            for job_id, name in (("j-export", "portal.records.exports:build_national_export"),
                                 ("j-import", "portal.volunteers.imports:run_import")):
                conn.execute(sa.text(
                    "INSERT INTO job_runs (id, name, status, progress, created_at) "
                    "VALUES (:id, :name, 'started', 40, :now)"),
                    {"id": job_id, "name": name, "now": now})
            conn.execute(sa.text(
                "INSERT INTO export_files (job_id, area_code, period_from, period_to, "
                "created_at) VALUES ('j-export', '2108', '2026-01-01', '2026-06-30', :now)"),
                {"now": now})
        upgrade(directory=migrations)
        export = db.session.get(JobRun, "j-export")
        assert export.call == {"args": [1], "kwargs": {}}
        assert export.lease_until > utcnow() and export.attempts == 0
        orphan = db.session.get(JobRun, "j-import")
        assert orphan.call is None and orphan.lease_until > utcnow()
        db.session.remove()
        db.engine.dispose()


def supersede_then_write(job_id: str) -> str:
    """A job during which the recovery gives this run up and another run takes the job (as
    when this run's heartbeats were lost): then it writes something of its own."""
    from portal.core.throttle import ThrottleHit

    with db.engine.begin() as other:  # the other run's claim, on a connection of its own
        other.execute(sa.update(JobRun).where(JobRun.id == job_id)
                      .values(attempts=JobRun.attempts + 1))
    db.session.add(ThrottleHit(bucket="superseded-run"))
    return "done"


def test_a_superseded_run_cannot_finish_the_job_nor_keep_its_last_work(app):
    from portal.core.throttle import ThrottleHit

    with app.app_context():
        job_id = enqueue(supersede_then_write, "placeholder").id
        lose_nudge()
        db.session.execute(sa.update(JobRun).where(JobRun.id == job_id).values(
            call={"args": [job_id], "kwargs": {}}))
        db.session.commit()
        assert run_job(job_id, "tests.faults.test_recovery:supersede_then_write",
                       [job_id], {}) is None
    run = job_row(app, job_id)
    assert (run.status, run.attempts) == ("started", 2)  # the other run's, untouched
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ThrottleHit)) == 0


def given_back_then_built(app, vid: int, monkeypatch, interruption: BaseException) -> str:
    """The certificate's build is interrupted once by `interruption` (raised where the PDF is
    made): the certificate stays pending, the job `started` with its lease run out at once and
    the reason kept; the recovery queues it again and the next try issues it. The reason."""
    from portal.records import certificates

    real = certificates.render_pdf
    calls = []

    def interrupted_once(*args):
        calls.append(1)
        if len(calls) == 1:
            raise interruption
        return real(*args)
    monkeypatch.setattr(certificates, "render_pdf", interrupted_once)
    cert_id, job_id = lost_certificate(app, vid)
    with app.app_context():
        db.session.execute(sa.update(JobRun).where(JobRun.id == job_id).values(
            lease_until=utcnow() + timedelta(minutes=5)))
        db.session.commit()
        run_job(job_id, "portal.records.certificates:build_certificate", [cert_id, None], {})
    run = job_row(app, job_id)
    assert run.status == "started" and run.lease_until <= utcnow()
    with app.app_context():
        assert db.session.get(Certificate, cert_id).status.value == "pending"
        recover_jobs()  # the lease ran out at the interruption: queued again at once
    settle(app, job_id)
    with app.app_context():
        assert db.session.get(Certificate, cert_id).status.value == "ready"
    assert job_row(app, job_id).attempts == 2
    return run.error


def test_a_build_that_times_out_is_tried_again_not_failed(app, approved, monkeypatch):
    """Past JOB_TIMEOUT the certificate stays pending and its build is tried again (once a
    try timed out, a second one may well finish); its reason is kept should the tries run
    out."""
    from rq.timeouts import JobTimeoutException

    from portal.core.jobs import TIMED_OUT

    vid, _ids = approved
    timeout = JobTimeoutException("Task exceeded maximum timeout value")
    assert given_back_then_built(app, vid, monkeypatch, timeout) == TIMED_OUT


def test_a_build_whose_renderer_died_is_tried_again_not_failed(app, approved, monkeypatch):
    """The worker's PDF renderer died mid-render (portal.records.renderer): the build gives
    its try back, the certificate stays pending, and the recovery runs the build again. The
    reason is kept should the tries run out."""
    from portal.records.renderer import RendererLost

    vid, _ids = approved
    lost = RendererLost("the PDF renderer died (exit -9)")
    assert given_back_then_built(app, vid, monkeypatch, lost) == "the PDF renderer died (exit -9)"


def test_an_error_page_after_the_commit_still_renders_for_the_signed_in(app, client, login,
                                                                       people, volunteer,
                                                                       activity, request):
    """A page whose failure comes after its commit still gets the portal's error page, with
    the signed-in user's menu (not a bare 500 from a detached user)."""
    from tests.conftest import csrf_token

    volunteer("wang")
    act = activity(capacity=5)
    login("wang")
    page = client.get(f"/activities/{act['id']}")
    request.getfixturevalue("dispatch_fails")
    answer = client.post(f"/shifts/{act['shifts'][0]['id']}/signup",
                         data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert answer.status_code == 500
    html = answer.get_data(as_text=True)
    assert "<html" in html and "wang" in html  # the portal's page, the user still signed in
