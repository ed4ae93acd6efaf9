"""A pooled connection that died while it rested (a database restart) is replaced before use;
one in use a moment ago is not pinged (no round trip per transaction). On the suite's
database: SQLite or PostgreSQL."""

import time

import pytest
import sqlalchemy as sa

from portal.core.pool import ping_when_idle


def _engine(app, after_seconds=None):
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], pool_size=1,
                              max_overflow=0)
    if after_seconds is not None:
        ping_when_idle(engine, after_seconds)
    return engine


def _kill(engine, dbapi_connection):
    """End the connection under the pool's feet, as a restart of the server would."""
    if engine.dialect.name == "sqlite":
        dbapi_connection.close()
        return
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    dbapi_connection.rollback()
    other = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
    with other.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):  # the backend exits asynchronously
            if not conn.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                               {"pid": pid}):
                break
            time.sleep(0.05)
    other.dispose()


def _pooled_connection(engine):
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        return conn.connection.dbapi_connection


@pytest.mark.parametrize("ping", [True, False])
def test_a_rested_connection_that_died_is_replaced(app, ping):
    engine = _engine(app, 0 if ping else None)
    try:
        _kill(engine, _pooled_connection(engine))
        with engine.connect() as conn:
            if ping:
                assert conn.scalar(sa.text("SELECT 1")) == 1
            else:  # the control: without the check the dead connection reaches the request
                with pytest.raises(sa.exc.DBAPIError):
                    conn.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()


def test_only_a_rested_connection_is_pinged(app, monkeypatch):
    engine = _engine(app, 0.2)
    pings = []
    real = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(1) or real(c))
    try:
        for _ in range(5):  # a new connection, then one back a moment ago: no round trip
            _pooled_connection(engine)
        assert pings == []
        time.sleep(0.3)
        _pooled_connection(engine)
        assert pings == [1]
    finally:
        engine.dispose()


def test_statements_stay_prepared_across_a_rollback(app):
    """psycopg forgets its prepared statements at every rollback (DEALLOCATE ALL); the portal
    rolls back every request that only read, so without `keep_prepared_on_rollback` nothing
    stayed prepared and PostgreSQL planned most statements anew. A connection that died is
    still let go and replaced."""
    from portal.core.pool import keep_prepared_on_rollback

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("prepared statements are psycopg's, on PostgreSQL")
    engine = _engine(app)
    keep_prepared_on_rollback(engine)
    query = sa.text("SELECT count(*) FROM pg_class WHERE relname = :name")
    prepared = sa.text("SELECT count(*) FROM pg_prepared_statements "
                       "WHERE statement LIKE 'SELECT count(*) FROM pg_class%'")
    with engine.connect() as conn:
        for _ in range(6):  # psycopg prepares a statement at its fifth use
            conn.execute(query, {"name": "areas"})
        assert conn.scalar(prepared) == 1
        conn.rollback()
        conn.execute(query, {"name": "areas"})
        assert conn.scalar(prepared) == 1  # still there: not prepared again, not re-planned
        conn.rollback()
    with engine.connect() as conn:  # the pool's reset on return rolled back the same way
        assert conn.scalar(prepared) == 1
        dbapi_connection = conn.connection.dbapi_connection
        conn.rollback()
    _kill(engine, dbapi_connection)
    with pytest.raises(sa.exc.OperationalError), engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))  # the dead connection fails, and is let go
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT 1")) == 1
    engine.dispose()

    plain = _engine(app)  # psycopg's own rollback, for contrast: it forgets
    with plain.connect() as conn:
        for _ in range(6):
            conn.execute(query, {"name": "areas"})
        assert conn.scalar(prepared) == 1
        conn.rollback()
        assert conn.scalar(prepared) == 0
    plain.dispose()
