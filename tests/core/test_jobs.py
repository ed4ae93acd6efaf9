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
