"""Backups that restore: `flask backup` under a write load, `flask restore` into an empty
database, every row committed before the backup began is there (a plain copy of an SQLite file
loses what is still in its write-ahead log), and a database that holds data is refused unless
--force. On both suites (SQLite: the online backup API; PostgreSQL: pg_dump and pg_restore)."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from portal import create_app
from portal.core.throttle import ThrottleHit
from portal.extensions import db


def writers(app, count: int, committed: list[int], stop: threading.Event):
    def write():
        with app.app_context():
            while not stop.is_set():
                hit = ThrottleHit(bucket=f"load:{threading.get_ident()}")
                db.session.add(hit)
                db.session.commit()
                committed.append(hit.id)
            db.session.remove()
    threads = [threading.Thread(target=write) for _ in range(count)]
    for t in threads:
        t.start()
    return threads


def test_a_backup_under_writes_restores_every_committed_row(app, empty_database, tmp_path):
    path = tmp_path / "backups" / "portal.backup"
    committed: list[int] = []
    stop = threading.Event()
    threads = writers(app, 3, committed, stop)
    try:
        while len(committed) < 200:
            time.sleep(0.01)
        before = set(committed)  # committed before the backup began
        result = app.test_cli_runner().invoke(args=["backup", str(path)])
        time.sleep(0.2)  # writes go on after it
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert result.exit_code == 0, result.output
    assert path.stat().st_mode & 0o077 == 0  # personal data: the owner's alone
    assert len(committed) > len(before)

    restored = create_app({"SQLALCHEMY_DATABASE_URI": empty_database, "TESTING": True,
                           "REDIS_URL": None, "SECRET_KEY": "test-secret"})
    runner = restored.test_cli_runner()
    done = runner.invoke(args=["restore", str(path)])
    assert done.exit_code == 0, done.output
    with restored.app_context():
        ids = set(db.session.scalars(sa.select(ThrottleHit.id)))
        assert before <= ids, f"{len(before - ids)} committed rows missing"
        assert ids <= set(committed)  # nothing that was never committed
        assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
        if db.engine.dialect.name == "sqlite":
            assert db.session.scalar(sa.text("PRAGMA integrity_check")) == "ok"
        db.session.remove()

    # Now it holds data: a second restore is refused, and changes nothing.
    refused = runner.invoke(args=["restore", str(path)])
    assert refused.exit_code != 0 and "not empty" in refused.output
    assert "--force" in refused.output
    with restored.app_context():
        db.session.execute(sa.delete(ThrottleHit).where(ThrottleHit.id == min(before)))
        db.session.commit()
        db.session.remove()
    forced = runner.invoke(args=["restore", "--force", str(path)])
    assert forced.exit_code == 0, forced.output
    with restored.app_context():
        assert db.session.get(ThrottleHit, min(before)) is not None
        db.session.remove()
        db.engine.dispose()


def test_a_file_that_is_no_backup_is_refused(app, empty_database, tmp_path):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a backup")
    restored = create_app({"SQLALCHEMY_DATABASE_URI": empty_database, "TESTING": True,
                           "REDIS_URL": None, "SECRET_KEY": "test-secret"})
    result = restored.test_cli_runner().invoke(args=["restore", str(bogus)])
    assert result.exit_code != 0
    assert "backup" in result.output or "failed" in result.output
    with restored.app_context():
        db.engine.dispose()
