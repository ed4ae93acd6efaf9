"""SQLite as the embedded default, made safe for concurrent writers.

pysqlite starts transactions lazily and as DEFERRED, so two requests can both read, then both
try to write, and one fails with "database is locked" no matter the timeout. Here every
transaction starts with BEGIN IMMEDIATE: writers queue (busy_timeout) instead of failing, and
a check followed by a write inside one transaction cannot be raced, just as a row lock does on
PostgreSQL. WAL keeps readers of other connections unblocked while a writer works, and foreign
keys are enforced as on PostgreSQL. (SQLAlchemy's documented recipe for pysqlite transactions.)
"""

from __future__ import annotations

from sqlalchemy import event


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

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
