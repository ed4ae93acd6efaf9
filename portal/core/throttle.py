"""Counting failures (sign-ins, refused registrations) in a sliding window.

Only failures are counted; a key over its limit is refused until its oldest failures leave the
window. Counts live in Redis when REDIS_URL is set, else in the database: either way they are
shared by every worker process. While Redis is unreachable they fall back to the database (with
a log line), so sign-in keeps working and keeps counting; the two tallies are not merged.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import UTCDateTime, utcnow
from portal.core.jobs import QUEUE_ERRORS, queue_failed, queue_usable
from portal.extensions import db


class ThrottleHit(db.Model):
    __tablename__ = "throttle_hits"
    __table_args__ = (sa.Index("ix_throttle_hits_bucket_at", "bucket", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(sa.String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Throttle:
    def __init__(self, name: str, limit: int, window_seconds: int):
        self.name, self.limit, self.window = name, limit, window_seconds

    def _bucket(self, key: str) -> str:
        return f"{self.name}:{key}"[:200]

    def blocked(self, key: str) -> bool:
        return self.count(key) >= self.limit

    def count(self, key: str) -> int:
        bucket = self._bucket(key)
        if _redis_usable():
            try:
                conn, rkey = _redis(), _rkey(bucket)
                conn.zremrangebyscore(rkey, 0, time.time() - self.window)
                return int(conn.zcard(rkey))
            except QUEUE_ERRORS as exc:
                queue_failed(exc, "(failed sign-ins are counted in the database)")
        since = utcnow() - timedelta(seconds=self.window)
        return db.session.scalar(sa.select(sa.func.count()).select_from(ThrottleHit).where(
            ThrottleHit.bucket == bucket, ThrottleHit.at > since)) or 0

    def hit(self, key: str) -> None:
        """Count one failure. Call it on a refusal path only: in the database backend it ends the
        request's transaction (whatever it read is abandoned) and commits the hit, so that the
        failure counts although the request itself fails."""
        bucket = self._bucket(key)
        if _redis_usable():
            try:
                conn, rkey, now = _redis(), _rkey(bucket), time.time()
                pipe = conn.pipeline()
                pipe.zadd(rkey, {uuid.uuid4().hex: now})
                pipe.zremrangebyscore(rkey, 0, now - self.window)
                pipe.expire(rkey, self.window + 1)
                pipe.execute()
                return
            except QUEUE_ERRORS as exc:
                queue_failed(exc, "(failed sign-ins are counted in the database)")
        now = datetime.now(UTC)
        db.session.rollback()
        db.session.add(ThrottleHit(bucket=bucket, at=now))
        db.session.execute(sa.delete(ThrottleHit).where(
            ThrottleHit.bucket == bucket, ThrottleHit.at <= now - timedelta(seconds=self.window)))
        db.session.commit()


def _redis_usable() -> bool:
    return bool(current_app.config.get("REDIS_URL")) and queue_usable()


def _redis():
    from portal.core.jobs import redis_connection

    return redis_connection()


def _rkey(bucket: str) -> str:
    return current_app.config["REDIS_PREFIX"] + "throttle:" + bucket


def login_throttles() -> tuple[Throttle, Throttle]:
    cfg = current_app.config
    window = cfg["LOGIN_FAILURE_WINDOW_SECONDS"]
    return (Throttle("login-user", cfg["LOGIN_FAILURES_PER_USERNAME"], window),
            Throttle("login-addr", cfg["LOGIN_FAILURES_PER_ADDRESS"], window))
