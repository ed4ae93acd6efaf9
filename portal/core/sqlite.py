"""SQLite as the embedded default, made safe for concurrent writers.

pysqlite starts transactions lazily and as DEFERRED, so two requests can both read, then both
try to write, and one fails with "database is locked" no matter the timeout. Here every
transaction starts with BEGIN IMMEDIATE: writers queue (busy_timeout) instead of failing, and
a check followed by a write inside one transaction cannot be raced, just as a row lock does on
PostgreSQL. WAL keeps readers of other connections unblocked while a writer works, and foreign
keys are enforced as on PostgreSQL. (SQLAlchemy's documented recipe for pysqlite transactions.)

The query planner's statistics are kept as SQLite advises for long-lived connections: `PRAGMA
optimize` (ANALYZE of the tables the connection's queries used whose indexes have no statistics
yet or whose size changed 25-fold; when nothing needs it, it costs next to nothing) when a
connection goes back to the pool, at most once every OPTIMIZE_SECONDS per process. A full ANALYZE
of the needs benchmark's 110 MB database takes 0.16 s; a sampled one (`analysis_limit`) misled
the planner there. Without statistics SQLite picks the
first index that fits: the needs list read 49,000 rows through the status index to show a
community's 144 (benchmarks/needs.py).
"""

from __future__ import annotations

import logging
import sqlite3
import time

from sqlalchemy import event

log = logging.getLogger(__name__)
OPTIMIZE_SECONDS = 600


def harden(engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    next_optimize = [time.monotonic() + 60]  # (after start-up's few statements)

    @event.listens_for(engine, "checkin")
    def _optimize(dbapi_connection, _record):
        now = time.monotonic()
        if dbapi_connection is None or now < next_optimize[0]:
            return
        next_optimize[0] = now + OPTIMIZE_SECONDS
        try:
            dbapi_connection.execute("PRAGMA optimize")
        except sqlite3.Error as exc:  # busy or read-only: the next period tries again
            log.warning("PRAGMA optimize failed: %s", exc)

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
