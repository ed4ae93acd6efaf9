"""SQLite as the embedded default: the query planner's statistics are kept by the portal itself
(`PRAGMA optimize` when a connection goes back to the pool, at most once a period)."""

from __future__ import annotations

import sqlalchemy as sa

from portal.core import sqlite


def _engine(path, monkeypatch, clock):
    monkeypatch.setattr(sqlite.time, "monotonic", lambda: clock[0])
    engine = sa.create_engine(f"sqlite:///{path}")
    sqlite.harden(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (a INTEGER, b INTEGER)")
        conn.exec_driver_sql("CREATE INDEX ix_t_a ON t (a)")
        conn.exec_driver_sql("WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n "
                             "WHERE v < 2000) INSERT INTO t SELECT v % 7, v FROM n")
    return engine


def _analysed(engine) -> set[str]:
    with engine.connect() as conn:
        if not conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = "
                                    "'sqlite_stat1'").scalar():
            return set()
        return {row[0] for row in conn.exec_driver_sql("SELECT idx FROM sqlite_stat1")}


def _use(engine, where: str) -> None:
    with engine.connect() as conn:  # a query that weighs the index; then back to the pool
        conn.exec_driver_sql(f"SELECT count(*) FROM t WHERE {where}").scalar()


def test_statistics_come_once_a_period_is_up_and_not_more_often(tmp_path, monkeypatch):
    clock = [1000.0]
    engine = _engine(tmp_path / "a.db", monkeypatch, clock)
    _use(engine, "a = 3")
    assert _analysed(engine) == set()  # within the first minute after start: not yet
    clock[0] += 61
    _use(engine, "a = 3")
    assert "ix_t_a" in _analysed(engine)

    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_t_b ON t (b)")
    clock[0] += 60
    _use(engine, "b = 3")
    assert "ix_t_b" not in _analysed(engine)  # the period is not up
    clock[0] += sqlite.OPTIMIZE_SECONDS
    _use(engine, "b = 3")
    assert "ix_t_b" in _analysed(engine)
