"""Backups that restore: `flask --app portal backup PATH` and `restore PATH`.

SQLite: the online backup API, a consistent copy however many writers are at work (a plain copy
of the file misses what still sits in the write-ahead log). PostgreSQL: `pg_dump -Fc` (one
snapshot) and `pg_restore --single-transaction` (all or nothing). The database is not all of a
backup: ID_ENCRYPTION_KEY (without it no ID number can be read), ID_HASH_KEY, CERTIFICATE_KEY and
the files under UPLOAD_DIR must be kept too (README, "Backups").
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import sqlalchemy as sa

from portal.extensions import db


class BackupFailed(Exception):
    pass


def backup(path: str) -> str:
    """Write a backup of the database to `path` (replaced only once complete). Returns the kind."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target, then renamed: a failed backup never leaves a truncated file.
    fd, partial = tempfile.mkstemp(prefix=target.name + ".", suffix=".partial",
                                   dir=target.parent)
    os.close(fd)
    try:
        url = db.engine.url
        if url.get_backend_name() == "sqlite":
            # mode=rw: a mistyped path is an error, not a backup of a new, empty database.
            live = Path(url.database).resolve().as_uri() + "?mode=rw"
            with sqlite3.connect(live, uri=True) as source, \
                    sqlite3.connect(partial) as copy:
                source.backup(copy)  # one step: a consistent snapshot, the log included
            kind = "sqlite"
        else:
            _run(["pg_dump", "--format=custom", "--no-owner", "--file", partial], url)
            kind = "postgresql"
        os.replace(partial, target)
        target.chmod(0o600)  # it holds personal data (ID numbers stay encrypted)
    finally:
        Path(partial).unlink(missing_ok=True)
    return kind


def rows_present() -> list[str]:
    """The portal's tables that hold at least one row."""
    inspector = sa.inspect(db.engine)
    existing = set(inspector.get_table_names())
    full = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name in existing and \
                    conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first():
                full.append(table.name)
    return full


def restore(path: str) -> str:
    """Replace the database's content with the backup at `path` (the caller has checked that
    the database is empty or that the operator said --force)."""
    source = Path(path)
    if not source.is_file():
        raise BackupFailed(f"{path}: no such file")
    url = db.engine.url
    db.session.remove()
    db.engine.dispose()  # no connection of ours holds a lock the restore needs
    if url.get_backend_name() == "sqlite":
        with open(source, "rb") as head:
            if head.read(16) != b"SQLite format 3\x00":
                raise BackupFailed(f"{path}: not an SQLite backup")
        with sqlite3.connect(source) as backup_db, sqlite3.connect(url.database) as live:
            backup_db.backup(live)
        return "sqlite"
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
          "--single-transaction", "--exit-on-error", str(source)], url)
    return "postgresql"


def _run(command: list[str], url) -> None:
    """pg_dump / pg_restore on the portal's database; the password goes by the environment,
    never on a command line others can read."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    if url.host:
        env["PGHOST"] = url.host
    if url.port:
        env["PGPORT"] = str(url.port)
    if url.username:
        env["PGUSER"] = url.username
    command = [*command, "--dbname", url.database or ""]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupFailed(f"{command[0]} not found: install PostgreSQL's client tools "
                           "(the same major version as the server, or newer)") from None
    if done.returncode != 0:
        raise BackupFailed(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")
