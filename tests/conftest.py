"""Test fixtures: a real database (SQLite by default, PostgreSQL with TEST_DATABASE_URL) built by
the migrations, and with TEST_REDIS_URL a real Redis with a real `flask worker` process.

The suite never touches DATABASE_URL or REDIS_URL: point TEST_* at throwaway services only,
since every test empties the database.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.extensions import db

ROOT = Path(__file__).resolve().parent.parent
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
RUN_ID = uuid.uuid4().hex[:8]


def _database_url(tmp: Path) -> str:
    if TEST_DATABASE_URL:
        url = TEST_DATABASE_URL
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                url = "postgresql+psycopg://" + url[len(prefix):]
        return url
    return f"sqlite:///{tmp / 'test.db'}"


# The worker's gathering window in tests: wide enough that a test's burst fits in it on a busy
# machine (tests/core/test_jobs.py).
COALESCE_MS = 400
# Recovery in seconds, not minutes: a lost job comes back within a test's patience.
RECOVERY = {"JOB_RECOVERY_SECONDS": 3, "JOB_TICK_SECONDS": 1, "QUEUE_RETRY_SECONDS": 1}


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("portal")
    instance = tmp / "instance"
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": _database_url(tmp),
        "REDIS_URL": TEST_REDIS_URL,
        "REDIS_PREFIX": f"test-{RUN_ID}:",
        "RQ_QUEUES": [f"test-{RUN_ID}"],
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": True,
        # Cheap hashes in tests; production keeps argon2's defaults.
        "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8, "ARGON2_PARALLELISM": 1,
        "SERVER_NAME": None,
        "JOB_COALESCE_MS": COALESCE_MS,
        **RECOVERY,
    }
    os.environ.setdefault("SECRET_KEY", "test-secret")
    app = create_app(config)
    app.instance_path = str(instance)
    instance.mkdir(exist_ok=True)
    with app.app_context():
        _reset_schema(app)
        _upgrade(app)
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            db.engine.dispose()
            shutil.copy(tmp / "test.db", tmp / "template.db")
    app.config["TEST_TMP"] = tmp
    yield app


def _upgrade(app):
    from flask_migrate import upgrade

    upgrade(directory=str(ROOT / "migrations"))


def _reset_schema(app):
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))


def _tables():
    return [t.name for t in reversed(db.metadata.sorted_tables)]


@pytest.fixture(autouse=True)
def _clean_state(request, app):
    """Every test starts from the migrated, empty database and no throttle counts."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            _truncate()
        else:
            db.engine.dispose()
            tmp = app.config["TEST_TMP"]
            shutil.copy(tmp / "template.db", tmp / "test.db")
        from portal.core.uploads import upload_dir

        folder = upload_dir()
        if folder.resolve().is_relative_to(Path(app.config["TEST_TMP"]).resolve()):
            for stale in folder.iterdir():  # files of rows the reset just removed
                stale.unlink()
        if app.config["REDIS_URL"]:
            from portal.core.jobs import redis_connection

            conn = redis_connection()
            for key in conn.scan_iter(app.config["REDIS_PREFIX"] + "throttle:*"):
                conn.delete(key)
    yield


def _truncate():
    # The worker's periodic work may hold a row lock a moment (or, once in a while, be chosen
    # by PostgreSQL's deadlock detector over us): try again.
    for attempt in range(5):
        try:
            with db.engine.begin() as conn:
                conn.execute(sa.text("TRUNCATE " + ", ".join(_tables())
                                     + " RESTART IDENTITY CASCADE"))
            return
        except sa.exc.OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.2)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


def start_worker_process(app, redis_url: str, log_name: str = "worker.log") -> subprocess.Popen:
    """A real `flask --app portal worker` on the test database and `redis_url`."""
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               REDIS_URL=redis_url, RQ_QUEUES=app.config["RQ_QUEUES"][0],
               REDIS_PREFIX=app.config["REDIS_PREFIX"],
               SECRET_KEY="test-secret", JOB_COALESCE_MS=str(COALESCE_MS),
               **{k: str(v) for k, v in RECOVERY.items()})
    # Its output goes to a file: a pipe nobody reads fills up and stops the worker mid-suite.
    log_path = app.config["TEST_TMP"] / log_name
    log_file = open(log_path, "ab")  # noqa: SIM115 (open while the worker lives)
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "portal", "worker"],
                            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    proc.log_file, proc.log_path = log_file, log_path
    time.sleep(0.5)
    if proc.poll() is not None:
        raise RuntimeError("worker died: " + log_path.read_text(errors="replace"))
    return proc


def stop_worker_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc.log_file.close()


class SharedWorker:
    """The session's worker; a fault test may stop it and start it again."""

    def __init__(self, app):
        self.app, self.proc = app, None

    def start(self):
        self.proc = start_worker_process(self.app, self.app.config["REDIS_URL"])
        return self.proc

    def stop(self):
        if self.proc is not None:
            stop_worker_process(self.proc)
            self.proc = None


@pytest.fixture(scope="session")
def shared_worker(app):
    if not app.config["REDIS_URL"]:
        yield None
        return
    shared = SharedWorker(app)
    shared.start()
    yield shared
    shared.stop()


@pytest.fixture
def worker(shared_worker):
    """A real `flask --app portal worker` process when Redis is configured."""
    if shared_worker is None:
        yield None
        return
    if shared_worker.proc is None:  # a fault test stopped it
        shared_worker.start()
    yield shared_worker.proc


# --- factories ---------------------------------------------------------------------------------

YINGKOU_CSV = ROOT / "portal" / "core" / "yingkou_divisions.csv"


@pytest.fixture
def yingkou(app):
    """Yingkou's real divisions plus one urban and one rural community."""
    from portal.core.areas import AreaData, create_area, import_areas

    with app.app_context():
        import_areas(YINGKOU_CSV.read_text(encoding="utf-8"))
        create_area(AreaData(code="210802001001", name="八田地社区", population=5000,
                             households=1800), actor=None)
        create_area(AreaData(code="210804100201", name="熊岳村", population=2000,
                             households=700), actor=None)
        db.session.commit()


PASSWORD = "correct-horse-1"


@pytest.fixture
def make_user(app):
    from portal.core.users import Grant, Role, create_user

    def make(username: str, *roles: str | tuple[str, str]) -> int:
        grants = []
        for role in roles:
            if isinstance(role, tuple):
                grants.append(Grant(Role(role[0]), role[1]))
            else:
                grants.append(Grant(Role(role)))
        with app.app_context():
            user = create_user(username, PASSWORD, grants, actor=None)
            db.session.commit()
            return user.id
    return make


@pytest.fixture
def token(client):
    """token(username) -> Authorization headers for that user."""
    def get(username: str, password: str = PASSWORD) -> dict:
        response = client.post("/api/v1/auth/tokens",
                               json={"username": username, "password": password})
        assert response.status_code == 201, response.get_json()
        return {"Authorization": "Bearer " + response.get_json()["token"]}
    return get


@pytest.fixture
def login(client):
    """Sign in through the real form, CSRF token and all."""
    def sign_in(username: str, password: str = PASSWORD):
        page = client.get("/login")
        csrf = csrf_token(page.get_data(as_text=True))
        return client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf})
    return sign_in


def csrf_token(html: str) -> str:
    import re

    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def form_post(client, url: str, data: dict, page_url: str | None = None):
    """Post a page's form as a browser does: the CSRF token read from the page (`page_url`,
    else `url`) that shows the form."""
    page = client.get(page_url or url)
    return client.post(url, data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                  **data})


def sign_out(client) -> None:
    page = client.get("/logout")
    client.post("/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))})


def wait_for_job(client, job_id: str, headers: dict, timeout: float = 20) -> dict:
    deadline = time.time() + timeout
    while True:
        body = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
        if body["status"] in ("finished", "failed") or time.time() > deadline:
            return body
        time.sleep(0.1)
