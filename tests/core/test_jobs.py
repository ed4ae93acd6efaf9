"""Jobs: queued only after the commit, inline without Redis, by a real worker with it."""

import pytest
import sqlalchemy as sa

from portal.core.jobs import JobRun, count_to, enqueue, ping
from portal.core.users import User
from portal.extensions import db
from tests.conftest import wait_for_job


@pytest.fixture
def owner(yingkou, make_user):
    return make_user("owner", ("bureau", "2108"))


def test_job_runs_after_commit_and_reports(app, client, owner, token, worker):
    with app.app_context():
        run = enqueue(ping, actor=db.session.get(User, owner))
        job_id = run.id
        db.session.commit()
    body = wait_for_job(client, job_id, token("owner"))
    assert body["status"] == "finished"
    assert body["progress"] == 100
    assert body["result"] == "pong"
    expected = "redis" if app.config["REDIS_URL"] else "inline"
    assert client.get("/healthz").get_json()["queue"] == expected


def test_rolled_back_transaction_runs_no_job(app, owner):
    with app.app_context():
        run = enqueue(ping)
        job_id = run.id
        db.session.rollback()
        db.session.commit()  # a later commit must not send the forgotten job
        assert db.session.get(JobRun, job_id) is None


def test_a_savepoint_is_not_the_commit(app, owner):
    """A SAVEPOINT released after enqueue (begin_nested) must not send the job: the outer
    transaction may still roll back, and a worker must never see a job whose row is not there."""
    with app.app_context():
        run = enqueue(ping)
        job_id = run.id
        with db.session.begin_nested():
            db.session.execute(sa.select(1))
        assert db.session.info.get("pending_jobs"), "dispatched at the savepoint"
        db.session.rollback()
        db.session.commit()
        assert db.session.get(JobRun, job_id) is None


def test_a_savepoint_rolled_back_keeps_what_was_asked_before_it(app, client, owner, token,
                                                                worker):
    """A SAVEPOINT that rolls back (a caught duplicate, a passed-over candidate) is not the
    transaction's rollback: a job asked for before it still runs after the commit."""
    with app.app_context():
        job_id = enqueue(ping, actor=db.session.get(User, owner)).id
        savepoint = db.session.begin_nested()
        db.session.execute(sa.select(1))
        savepoint.rollback()
        db.session.commit()
    assert wait_for_job(client, job_id, token("owner"))["status"] == "finished"


def test_progress_page_and_status(app, client, owner, login, worker):
    login("owner")
    from tests.conftest import csrf_token

    page = client.get("/users")
    response = client.post("/jobs/self-test", data={"csrf_token": csrf_token(
        page.get_data(as_text=True))})
    assert response.status_code == 302
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "<progress" in html and f"/api/v1/jobs/{job_id}" in html
    body = wait_for_job(client, job_id, {})
    assert body["status"] == "finished" and body["result"] == {"counted": 40}


def test_progress_is_visible_while_running(app, client, owner, token, worker):
    if not app.config["REDIS_URL"]:
        pytest.skip("inline jobs finish before the request returns")
    import time


    with app.app_context():
        run = enqueue(count_to, 60, actor=db.session.get(User, owner))
        job_id = run.id
        db.session.commit()
    headers = token("owner")
    seen = set()
    deadline = time.time() + 20
    while time.time() < deadline:
        body = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
        seen.add(body["progress"])
        if body["status"] == "finished":
            break
        time.sleep(0.1)
    assert body["status"] == "finished"
    assert any(0 < p < 100 for p in seen), seen


def test_failed_job_is_reported_failed(app, client, owner, token, worker):

    with app.app_context():
        run = enqueue(count_to, "not a number", actor=db.session.get(User, owner))
        job_id = run.id
        db.session.commit()
    body = wait_for_job(client, job_id, token("owner"))
    assert body["status"] == "failed"
    assert body["error"]


def test_others_cannot_see_a_job(app, client, owner, make_user, token):
    make_user("other", ("bureau", "2108"))

    with app.app_context():
        run = enqueue(ping, actor=db.session.get(User, owner))
        job_id = run.id
        db.session.commit()
    assert client.get(f"/api/v1/jobs/{job_id}", headers=token("other")).status_code == 404
    assert client.get(f"/api/v1/jobs/{job_id}").status_code == 401
    assert client.get("/api/v1/jobs/nope", headers=token("owner")).status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 1


def test_internal_work_runs_in_the_worker_itself_and_jobs_in_a_work_horse(
        app, client, owner, token, worker, tmp_path):
    """The notifications' drain (after_commit) is milliseconds: no fork and no new database
    connection for it. A job with a JobRun (imports, exports) gets a work horse, which its
    timeout can stop, unless it is marked to run in the worker (a certificate, whose PDF the
    worker's long-lived renderer makes)."""
    import os
    import time

    from portal.core.jobs import after_commit
    from tests.core import job_probes

    if worker is None:
        pytest.skip("no worker without Redis: jobs run inline")
    marker = tmp_path / "pid"
    with app.app_context():
        job_id = enqueue(job_probes.process_id, actor=db.session.get(User, owner)).id
        in_worker_id = enqueue(job_probes.process_id_in_worker,
                               actor=db.session.get(User, owner)).id
        after_commit(job_probes.write_process_id, str(marker))
        db.session.commit()
    body = wait_for_job(client, job_id, token("owner"))
    deadline = time.time() + 15
    while not marker.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert int(marker.read_text()) == worker.pid
    assert body["result"] not in (worker.pid, os.getpid())
    # A job marked runs_in_worker (a certificate's build) runs in the worker, however queued.
    assert wait_for_job(client, in_worker_id, token("owner"))["result"] == worker.pid


def test_a_burst_of_coalesced_work_is_one_job(app, client, owner, token, worker, tmp_path):
    """Five transactions asking for the same internal work within the gathering window (with
    Redis; inline each runs at the end of its own request) cost the worker one run."""
    import time

    from portal.core.jobs import after_commit
    from tests.core import job_probes

    if worker is None:
        pytest.skip("no worker without Redis: jobs run inline")
    with app.app_context():  # the worker is up and idle (it warms up once, at its start)
        job_id = enqueue(ping, actor=db.session.get(User, owner)).id
        db.session.commit()
    assert wait_for_job(client, job_id, token("owner"))["status"] == "finished"
    runs = tmp_path / "runs"
    t0 = time.monotonic()
    with app.app_context():
        for _ in range(5):  # spread over the window: the worker is idle in between
            after_commit(job_probes.append_process_id, str(runs), coalesce="probe")
            db.session.commit()
            time.sleep(app.config["JOB_COALESCE_MS"] / 1000 / 20)
    assert time.monotonic() - t0 < app.config["JOB_COALESCE_MS"] / 1000
    deadline = time.time() + 15
    while not runs.exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(3 * app.config["JOB_COALESCE_MS"] / 1000)  # a second run would be done by now
    assert runs.read_text().splitlines() == [str(worker.pid)]


def test_work_asked_for_while_the_job_runs_gets_a_run_of_its_own(app, client, owner, token,
                                                                  worker, tmp_path):
    """The gathering window ends before the work starts: a transaction committed while the
    coalesced job works (and may already have read what it reads) queues another run, so
    nothing it asked for is stranded."""
    import time

    from portal.core.jobs import after_commit
    from tests.core import job_probes

    if worker is None:
        pytest.skip("no worker without Redis: jobs run inline")
    runs = tmp_path / "runs"

    def lines():
        return runs.read_text().splitlines() if runs.exists() else []

    def wait_for(n):
        deadline = time.time() + 15
        while len(lines()) < n and time.time() < deadline:
            time.sleep(0.05)

    with app.app_context():
        after_commit(job_probes.append_then_linger, str(runs), 1.5, coalesce="linger")
        db.session.commit()
        wait_for(1)  # the first run is working (lingering)
        assert len(lines()) == 1
        after_commit(job_probes.append_then_linger, str(runs), 1.5, coalesce="linger")
        db.session.commit()
    wait_for(2)
    assert lines() == [str(worker.pid)] * 2
