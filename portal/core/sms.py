"""Sign-in by phone number and SMS code (NIST SP 800-63B; the gateways' own limits).

A code is 6 digits from `secrets`, valid SMS_CODE_TTL_SECONDS (300), single use, void after
SMS_CODE_MAX_TRIES (5) wrong tries, kept only as a keyed hash (HMAC-SHA256 with SECRET_KEY: six
digits under a plain hash are read back in a millisecond), compared in constant time, never
logged or answered. A new code for a number voids the one before it.

Limits per number (one per 60 s, 5 an hour, 10 a day) and per address (20 an hour) count codes
sent, for every worker process alike: in Redis when it is configured and answers (one Lua script
checks and reserves them at once), else in the database (the sent codes themselves, counted
under a per-number lock). A code the gateway did not take is not kept and does not count.

The number is kept nowhere in plain by this module: rows and Redis keys carry its keyed hash.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
import secrets
import time
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import validators
from portal.core.db import UTCDateTime, dialect, utcnow
from portal.core.errors import (
    Conflict,
    DomainError,
    TooManyAttempts,
    Unauthorized,
    ValidationFailed,
)
from portal.core.jobs import QUEUE_ERRORS, queue_failed, queue_usable
from portal.core.sms_gateways import SmsRateLimited, SmsUnavailable, gateway
from portal.extensions import db

log = logging.getLogger("portal.sms")

CODE_RE = re.compile(r"^\d{6}$")


class SmsCode(db.Model):
    __tablename__ = "sms_codes"
    __table_args__ = (
        sa.Index("ix_sms_codes_phone_key_created_at", "phone_key", "created_at"),
        sa.Index("ix_sms_codes_address_created_at", "address", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_key: Mapped[str] = mapped_column(sa.String(64))  # keyed hash of the number
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    address: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SmsOff(DomainError):
    status = 503
    code = "unavailable"


# --- numbers ------------------------------------------------------------------------------------

def normalise_mobile(value) -> str:
    return validators.mobile(value)


def mask_phone(phone: str | None) -> str | None:
    """138****5678: the first 3 and last 4 digits."""
    if not phone:
        return None
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else "****"


def mobile_field(value, field: str = "phone") -> str:
    try:
        return normalise_mobile(value)
    except ValueError as exc:
        raise ValidationFailed(_("Please correct the marked fields."), {field: [str(exc)]}) \
            from None


def code_field(value, field: str = "code") -> str:
    cleaned = re.sub(r"\s", "", value) if isinstance(value, str) else ""
    if not CODE_RE.match(cleaned):
        raise ValidationFailed(_("Please correct the marked fields."),
                               {field: [_("The code has 6 digits.")]})
    return cleaned


def phone_and_code(raw_phone, raw_code) -> tuple[str, str]:
    """Both cleaned, or one 422 naming every malformed field."""
    errors: dict[str, list[str]] = {}
    cleaned = []
    for check, raw in ((mobile_field, raw_phone), (code_field, raw_code)):
        try:
            cleaned.append(check(raw))
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    return cleaned[0], cleaned[1]


def _keyed(*parts: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def phone_key(phone: str) -> str:
    return _keyed("sms-phone", phone)


def _code_hash(phone: str, code: str) -> str:
    return _keyed("sms-code", phone, code)


# --- sending ------------------------------------------------------------------------------------

def send_code(raw_phone, address: str) -> int:
    """Send a sign-in code to the number (whether or not an account holds it). Returns the
    seconds until another may be asked for. 422 on a malformed number, 429 over a limit, 503
    when the gateway does not take it (then nothing is kept and nothing counts)."""
    phone = mobile_field(raw_phone)
    cfg = current_app.config
    if cfg.get("SMS_ADAPTER") not in ("log", "aliyun"):
        raise SmsOff(_("Sign-in by SMS code is not available here. Please sign in with your "
                       "username and password."))
    key = phone_key(phone)
    reservation = _reserve(key, address)
    code = f"{secrets.randbelow(10 ** 6):06d}"
    now = utcnow()
    try:
        _store_code(key, _code_hash(phone, code), address[:64], now,
                    now + timedelta(seconds=cfg["SMS_CODE_TTL_SECONDS"]))
        gateway().send(phone, "sign_in_code", {"code": code})
    except BaseException as exc:  # not sent: nothing kept, nothing counted
        db.session.rollback()
        reservation.release()
        if isinstance(exc, SmsRateLimited):
            log.warning("SMS gateway refused a code by its own limits: %s", exc)
            raise TooManyAttempts(_("Too many codes were sent to this number. Please try "
                                    "again later.")) from None
        if isinstance(exc, SmsUnavailable):
            log.warning("SMS gateway failed: %s", exc)
            raise SmsOff(_("The code could not be sent just now. Please try again in a few "
                           "minutes, or sign in with your username and password.")) from None
        raise
    db.session.commit()
    return cfg["SMS_RESEND_SECONDS"]


def _store_code(key: str, code_hash: str, address: str, now, expires) -> None:
    """The new code in: the number's live code voided (a new code replaces it) and its codes
    older than a day (which no longer count) deleted. On PostgreSQL one statement (CTEs that
    write), elsewhere three; no ORM objects either way, and the statements are built once per
    process (every code costs this: building them took a third of the web worker's CPU)."""
    values = {"key": key, "hash": code_hash, "addr": address, "now": now, "expires": expires,
              "stale": now - timedelta(days=1, minutes=5)}
    for statement in _store_statements(dialect() == "postgresql"):
        db.session.execute(statement, values)


@functools.cache
def _store_statements(one_statement: bool) -> tuple:
    table = SmsCode.__table__
    key, stale, now = sa.bindparam("key"), sa.bindparam("stale"), sa.bindparam("now")
    void = sa.update(table).where(table.c.phone_key == key, table.c.used_at.is_(None),
                                  table.c.created_at >= stale).values(used_at=now)
    purge = sa.delete(table).where(table.c.phone_key == key, table.c.created_at < stale)
    insert = sa.insert(table).values(
        phone_key=key, code_hash=sa.bindparam("hash"), address=sa.bindparam("addr"),
        created_at=now, expires_at=sa.bindparam("expires"), attempts=0)
    if one_statement:
        return (insert.add_cte(void.cte("voided"), nest_here=True)
                .add_cte(purge.cte("purged"), nest_here=True),)
    return void, purge, insert


class _Reservation:
    def __init__(self, release=None):
        self._release = release

    def release(self) -> None:
        if self._release is not None:
            try:
                self._release()
            except QUEUE_ERRORS as exc:
                queue_failed(exc, "(an SMS limit reservation was not returned)")


# KEYS: the 60 s gap, the number's codes (a sorted set by time), the address's codes.
# ARGV: now (s), member, gap ms, per hour, per day, per address and hour.
_RESERVE_LUA = """
local now = tonumber(ARGV[1])
local gap = redis.call('PTTL', KEYS[1])
if gap > 0 then return {1, math.ceil(gap / 1000)} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], 0, now - 86400)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return {3, 0} end
if redis.call('ZCOUNT', KEYS[2], now - 3600, '+inf') >= tonumber(ARGV[4]) then return {2, 0} end
redis.call('ZREMRANGEBYSCORE', KEYS[3], 0, now - 3600)
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[6]) then return {4, 0} end
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[1], '1', 'PX', ARGV[3]) end
redis.call('ZADD', KEYS[2], now, ARGV[2])
redis.call('EXPIRE', KEYS[2], 86401)
redis.call('ZADD', KEYS[3], now, ARGV[2])
redis.call('EXPIRE', KEYS[3], 3601)
return {0, 0}
"""
_SCRIPTS: dict[int, object] = {}


def _reserve(key: str, address: str) -> _Reservation:
    cfg = current_app.config
    if cfg.get("REDIS_URL") and queue_usable():
        try:
            return _reserve_redis(key, address)
        except QUEUE_ERRORS as exc:
            queue_failed(exc, "(SMS limits are counted in the database)")
    _reserve_database(key, address)
    return _Reservation()


def _redis_keys(key: str, address: str) -> list[str]:
    prefix = current_app.config["REDIS_PREFIX"] + "throttle:sms-"
    return [prefix + "gap:" + key[:32], prefix + "phone:" + key[:32],
            prefix + "addr:" + _keyed("sms-address", address)[:32]]


def _reserve_redis(key: str, address: str) -> _Reservation:
    from portal.core.jobs import redis_connection

    conn = redis_connection()
    script = _SCRIPTS.get(id(conn))
    if script is None:
        script = _SCRIPTS.setdefault(id(conn), conn.register_script(_RESERVE_LUA))
    cfg = current_app.config
    keys, member = _redis_keys(key, address), uuid.uuid4().hex
    verdict, wait = script(keys=keys, args=[
        f"{time.time():.6f}", member, cfg["SMS_RESEND_SECONDS"] * 1000,
        cfg["SMS_CODES_PER_PHONE_HOUR"], cfg["SMS_CODES_PER_PHONE_DAY"],
        cfg["SMS_CODES_PER_ADDRESS_HOUR"]])
    _refuse(int(verdict), int(wait))

    def release() -> None:
        pipe = conn.pipeline()
        pipe.delete(keys[0])
        pipe.zrem(keys[1], member)
        pipe.zrem(keys[2], member)
        pipe.execute()
    return _Reservation(release)


def _reserve_database(key: str, address: str) -> None:
    """The sent codes are the count. One number's requests wait for each other (an advisory lock
    on PostgreSQL; on SQLite every transaction begins IMMEDIATE, one writer at a time), so two
    at once cannot both pass."""
    cfg = current_app.config
    if dialect() == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 7))"),
                           {"k": key})
    now = utcnow()
    last = db.session.scalar(sa.select(sa.func.max(SmsCode.created_at)).where(
        SmsCode.phone_key == key, SmsCode.created_at > now - timedelta(days=1)))
    if last is not None and (now - last).total_seconds() < cfg["SMS_RESEND_SECONDS"]:
        _refuse(1, int(cfg["SMS_RESEND_SECONDS"] - (now - last).total_seconds()) + 1)

    def sent(where, since: timedelta) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(SmsCode).where(
            where, SmsCode.created_at > now - since)) or 0
    if sent(SmsCode.phone_key == key, timedelta(days=1)) >= cfg["SMS_CODES_PER_PHONE_DAY"]:
        _refuse(3, 0)
    if sent(SmsCode.phone_key == key, timedelta(hours=1)) >= cfg["SMS_CODES_PER_PHONE_HOUR"]:
        _refuse(2, 0)
    if sent(SmsCode.address == address[:64], timedelta(hours=1)) >= \
            cfg["SMS_CODES_PER_ADDRESS_HOUR"]:
        _refuse(4, 0)


def _refuse(verdict: int, wait: int) -> None:
    if verdict == 0:
        return
    db.session.rollback()
    if verdict == 1:
        refusal = TooManyAttempts(_("A code was just sent to this number. You can ask for "
                                    "another in {n} seconds.").format(n=max(wait, 1)))
        refusal.retry_after = max(wait, 1)
        raise refusal
    if verdict == 2:
        raise TooManyAttempts(_("Too many codes for this number in the last hour. Please try "
                                "again later."))
    if verdict == 3:
        raise TooManyAttempts(_("Too many codes for this number today. Please try again "
                                "tomorrow."))
    raise TooManyAttempts(_("Too many codes were asked for from this network in the last "
                            "hour. Please try again later."))


# --- checking -----------------------------------------------------------------------------------

def consume_code(phone: str, code: str) -> bool:
    """True once for the right code of the number's live code; a wrong one counts a try (and
    commits it, since the request then fails), the last allowed wrong try voids the code."""
    cfg = current_app.config
    key = phone_key(phone)
    now = utcnow()
    row = db.session.execute(
        sa.select(SmsCode.id, SmsCode.code_hash, SmsCode.attempts)
        .where(SmsCode.phone_key == key, SmsCode.used_at.is_(None), SmsCode.expires_at > now)
        .order_by(SmsCode.id.desc()).limit(1)).first()
    if row is None or row.attempts >= cfg["SMS_CODE_MAX_TRIES"]:
        return False
    if hmac.compare_digest(row.code_hash, _code_hash(phone, code)):
        used = db.session.execute(
            sa.update(SmsCode).where(SmsCode.id == row.id, SmsCode.used_at.is_(None),
                                     SmsCode.attempts < cfg["SMS_CODE_MAX_TRIES"])
            .values(used_at=now).execution_options(synchronize_session=False))
        return used.rowcount == 1
    db.session.rollback()
    db.session.execute(sa.update(SmsCode).where(SmsCode.id == row.id).values(
        attempts=SmsCode.attempts + 1).execution_options(synchronize_session=False))
    db.session.commit()
    return False


def sign_in_by_code(raw_phone, raw_code, address: str):
    """The account whose verified phone this is, or a new resident account; Unauthorized on a
    wrong, used, expired or void code and for staff accounts (admin, bureau)."""
    from portal.core.throttle import login_throttles
    from portal.core.users import Role, RoleGrant, User

    _by_user, by_addr = login_throttles()
    if by_addr.blocked(address):
        raise TooManyAttempts(_("Too many failed sign-ins. Please wait 15 minutes and try "
                                "again."))
    phone, code = phone_and_code(raw_phone, raw_code)
    if not consume_code(phone, code):
        by_addr.hit(address)
        raise Unauthorized(_("Wrong or expired code. Ask for a new code and try again."))
    user = db.session.scalar(sa.select(User).where(User.phone == phone))
    if user is not None:
        if not user.may_sign_in_by_sms:
            raise Unauthorized(_("This account signs in with its username and password."))
        return user
    user = User(username="r" + secrets.token_hex(6), password_hash="!sms",  # no password
                display_name=mask_phone(phone), phone=phone, phone_verified_at=utcnow())
    user.grants = [RoleGrant(role=Role.resident, area_code=None)]
    db.session.add(user)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:  # the same number signed up a moment ago
        raise Conflict(_("Someone else changed this at the same time. Please reload.")) \
            from None
    from portal.core.audit import record

    record(user, "user", user.id, "create", to="resident (SMS)", area_code=None)
    return user


def verify_phone(user, raw_phone, raw_code) -> None:
    """The account proves it holds the number: it may then sign in by code (unless staff)."""
    from portal.core.audit import record
    from portal.core.users import User

    phone, code = phone_and_code(raw_phone, raw_code)
    holder = db.session.scalar(sa.select(User.id).where(User.phone == phone))
    if holder is not None and holder != user.id:
        raise Conflict(_("This number is verified by another account."),
                       {"phone": [_("This number is verified by another account.")]})
    if not consume_code(phone, code):
        raise ValidationFailed(_("Wrong or expired code. Ask for a new code and try again."),
                               {"code": [_("Wrong or expired code. Ask for a new code and try "
                                           "again.")]})
    old = user.phone
    user.phone, user.phone_verified_at = phone, utcnow()
    from portal.volunteers.models import Volunteer

    volunteer = Volunteer.of_user(user)
    if volunteer is not None:
        volunteer.phone = phone
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_("This number is verified by another account."),
                       {"phone": [_("This number is verified by another account.")]}) from None
    record(user, "user", user.id, "phone_verify", from_=mask_phone(old), to=mask_phone(phone),
           area_code=user.primary_area_code)


def choose_community(user, code) -> None:
    """A resident's own community (their needs go there): a community-level area. Staff of
    an area (admin, bureau, community worker) do not become residents this way: they post for
    residents, and their scope is granted, not chosen."""
    from portal.core.areas import Area, AreaLevel
    from portal.core.audit import record
    from portal.core.errors import Forbidden
    from portal.core.users import Role, RoleGrant

    if any(user.has_role(r) for r in (Role.admin, Role.bureau, Role.community_worker)):
        raise Forbidden(_("Staff accounts do not choose a home community: residents do."))
    area = db.session.get(Area, code) if isinstance(code, str) and code.isdigit() else None
    if area is None or area.level != AreaLevel.community:
        raise ValidationFailed.on("community_code", _("Choose a community (村/社区)."))
    grant = next((g for g in user.grants if g.role == Role.resident), None)
    old = grant.area_code if grant else None
    if grant is None:
        db.session.add(RoleGrant(user_id=user.id, role=Role.resident, area_code=area.code))
    else:
        grant.area_code = area.code
    db.session.flush()
    db.session.expire(user, ["grants"])
    record(user, "user", user.id, "community_choose", from_=old, to=area.code,
           area_code=area.code)
