"""Connections that died while they sat in the pool (a database restart, a firewall's idle
timeout) are replaced before a request uses them.

SQLAlchemy's `pool_pre_ping` does this with a round trip on every checkout, and a request
checks out once per transaction: at the portal's scale that was 2 of a signup's 17 round
trips. Here a connection is pinged only when it has rested in the pool for DB_PING_AFTER_IDLE
seconds; under load connections come back within milliseconds and are never pinged, while an
idle worker's first request after a restart still gets a fresh connection. A connection that
dies within those seconds fails its next statement; SQLAlchemy then invalidates the whole pool,
so that failure is one request per worker process, not one per pooled connection. (The recipe
is SQLAlchemy's own pessimistic checkout handler, as documented before `pool_pre_ping`: raise
DisconnectionError from the `checkout` event and the pool reconnects.)
"""

from __future__ import annotations

import time

from sqlalchemy import event, exc

_RESTED_SINCE = "portal_checked_in_at"


def ping_when_idle(engine, after_seconds: float) -> None:
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _remember(_dbapi_connection, record):
        if record is not None:
            record.info[_RESTED_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_rested(dbapi_connection, record, _proxy):
        rested = record.info.get(_RESTED_SINCE)
        if rested is None or time.monotonic() - rested < after_seconds:
            return  # just connected, or in use a moment ago
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if not dialect.is_disconnect(error, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            # As pool_pre_ping does: this connection and every older one are replaced.
            raise exc.InvalidatePoolError("the pooled connection was closed; reconnecting")


def keep_prepared_on_rollback(engine) -> None:
    """psycopg forgets every statement it has prepared on a connection at each rollback: it
    sends DEALLOCATE ALL and counts uses from zero again, in case the transaction created
    objects its statements named. The portal ends every request that only read with a
    rollback (the session's end), and every refusal too, so on a busy connection statements
    seldom stayed prepared and PostgreSQL planned most of them anew: a signup's two
    statements spent 1.0 ms planning for 0.4 ms running. No transaction of the portal's
    creates or drops anything (migrations run in a process of their own, and psycopg still
    forgets on DROP and ALTER), so here the rollback goes straight to libpq and the
    prepared statements stay. psycopg's own rollback is used in pipeline mode and whenever
    the plain one does not succeed (a broken connection then raises as it always did)."""
    dialect = engine.dialect
    if dialect.driver != "psycopg":
        return
    from psycopg import pq

    default = dialect.do_rollback
    in_transaction = (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR)

    def do_rollback(dbapi_connection) -> None:
        pgconn = getattr(dbapi_connection, "pgconn", None)
        if pgconn is not None and pgconn.pipeline_status == pq.PipelineStatus.OFF \
                and pgconn.transaction_status in in_transaction:
            result = pgconn.exec_(b"ROLLBACK")
            if result.status == pq.ExecStatus.COMMAND_OK \
                    and pgconn.transaction_status == pq.TransactionStatus.IDLE:
                return
        default(dbapi_connection)

    dialect.do_rollback = do_rollback
