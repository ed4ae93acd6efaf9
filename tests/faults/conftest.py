"""Fault injection with the real services: a Redis of the test's own (stopped, flushed, started
again empty), a worker of its own (paused, its work horse or itself killed), a row held locked
while a job runs. The session's shared worker is stopped meanwhile, so that only the worker
under test can recover anything."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from contextlib import contextmanager, suppress

import pytest
import sqlalchemy as sa

from portal.extensions import db
from tests.activities.conftest import URBAN, activity, people, volunteer  # noqa: F401
from tests.conftest import TEST_REDIS_URL, start_worker_process, stop_worker_process
from tests.records.conftest import approved, setting  # noqa: F401


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float, what: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(step)


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (the worker's work horse)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


class Faults:
    def __init__(self, app, tmp):
        self.app, self.tmp = app, tmp
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.worker, self.log_from = None, 0

    # --- Redis ---
    def start_redis(self) -> None:
        subprocess.run(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                        "--save", "", "--appendonly", "no", "--daemonize", "yes",
                        "--pidfile", str(self.tmp / f"redis-{self.port}.pid"),
                        "--logfile", str(self.tmp / f"redis-{self.port}.log")], check=True)
        wait_until(self._redis_answers, 10, "Redis starts")

    def _redis_answers(self) -> bool:
        from redis import Redis

        try:
            return bool(Redis.from_url(self.url, socket_connect_timeout=1).ping())
        except Exception:
            return False

    def stop_redis(self) -> None:
        """What an operator's restart (or a crash) does: gone, and back empty if started."""
        from redis import Redis
        from redis.exceptions import ConnectionError as RedisConnectionError

        with suppress(RedisConnectionError):
            Redis.from_url(self.url).shutdown(nosave=True)
        wait_until(lambda: not self._redis_answers(), 10, "Redis stops")

    def pause_redis(self) -> None:
        """Frozen, not gone: it accepts connections and answers nothing (a hung Redis)."""
        pid = int((self.tmp / f"redis-{self.port}.pid").read_text())
        os.kill(pid, signal.SIGSTOP)

    def resume_redis(self) -> None:
        pid = int((self.tmp / f"redis-{self.port}.pid").read_text())
        os.kill(pid, signal.SIGCONT)

    def flush_redis(self) -> None:
        from redis import Redis

        Redis.from_url(self.url).flushall()

    # --- the worker ---
    def start_worker(self) -> None:
        path = self.app.config["TEST_TMP"] / "fault-worker.log"
        self.log_from = path.stat().st_size if path.exists() else 0  # this worker's lines
        self.worker = start_worker_process(self.app, self.url, "fault-worker.log")

    def stop_worker(self) -> None:
        if self.worker is not None:
            stop_worker_process(self.worker)
            self.worker = None

    def pause_worker(self) -> None:
        os.kill(self.worker.pid, signal.SIGSTOP)

    def resume_worker(self) -> None:
        os.kill(self.worker.pid, signal.SIGCONT)

    def horse(self, timeout: float = 10) -> int:
        return wait_until(lambda: children(self.worker.pid), timeout, "a work horse")[0]

    def renderer(self, timeout: float = 30) -> int:
        """The worker's certificate renderer (a child of its fork server, itself a child of
        the worker), once the worker has warmed it up and listens."""
        path = self.app.config["TEST_TMP"] / "fault-worker.log"
        wait_until(lambda: "Listening on" in path.read_bytes()[self.log_from:].decode(
            errors="replace"), timeout, "the worker listens")
        return wait_until(lambda: [pid for child in children(self.worker.pid)
                                   for pid in children(child)], timeout, "the renderer")[0]

    def kill_worker_and_horse(self) -> None:
        pids = [self.worker.pid, *children(self.worker.pid)]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        self.worker.wait()
        self.worker.log_file.close()
        self.worker = None

    def log(self) -> str:
        path = self.app.config["TEST_TMP"] / "fault-worker.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


needs_redis = pytest.mark.skipif(
    not TEST_REDIS_URL or shutil.which("redis-server") is None,
    reason="fault tests need TEST_REDIS_URL and redis-server (CI's PostgreSQL + Redis run)")


@pytest.fixture
def faults(app, shared_worker, tmp_path):
    """A Redis and a worker of the test's own; the app's REDIS_URL points at that Redis."""
    if shared_worker is None:
        pytest.skip("needs Redis")
    shared_worker.stop()
    faults = Faults(app, tmp_path)
    faults.start_redis()
    old = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = faults.url
    app.extensions.pop("portal_redis", None)
    faults.start_worker()
    try:
        yield faults
    finally:
        if faults.worker is not None:
            with_signal = faults.worker
            if with_signal.poll() is None:
                os.kill(with_signal.pid, signal.SIGCONT)
            faults.stop_worker()
        faults.stop_redis()
        app.config["REDIS_URL"] = old
        app.extensions.pop("portal_redis", None)
        shared_worker.start()


@contextmanager
def row_locked(app, table, row_id: int):
    """Hold a row lock on one row (PostgreSQL) in a transaction of our own: a job that wants
    to write that row waits, mid-work, until the block ends."""
    with app.app_context(), db.engine.connect() as conn:
        conn.execute(sa.select(table.c.id).where(table.c.id == row_id).with_for_update())
        try:
            yield
        finally:
            conn.rollback()


@pytest.fixture
def empty_database(app, tmp_path):
    """The URL of a second, empty database of the same kind."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("PostgreSQL's client tools are not installed")
    name = f"portal_restore_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def dispatch_fails(app, monkeypatch):
    """Something unforeseen raised in the job dispatch, after the request's commit."""
    from portal.core import jobs

    def unforeseen(_pending):
        raise RuntimeError("unforeseen")
    monkeypatch.setattr(jobs, "_nudge", unforeseen)
    monkeypatch.setitem(app.config, "REDIS_URL", app.config["REDIS_URL"] or "redis://127.0.0.1:1")
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    app.extensions.pop("portal_redis", None)
    yield
    app.extensions.pop("portal_redis", None)
