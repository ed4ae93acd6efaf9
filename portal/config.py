"""Settings, read from the environment. No secret lives in code.

Every setting here is listed in README.md ("Settings").
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from portal.core.workdays import HOLIDAYS_2026, WORKDAYS_2026, parse_dates


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _instance_secret(instance_path: str, filename: str) -> str:
    """A development secret kept under instance/, made once. Production sets the variable."""
    path = Path(instance_path) / filename
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def load_settings(instance_path: str) -> dict:
    env = os.environ.get
    production = env("PORTAL_ENV", "development") == "production"
    database_url = env("DATABASE_URL") or "sqlite:///" + os.path.join(instance_path, "portal.db")
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    id_key = env("ID_ENCRYPTION_KEY")
    id_hash_key = env("ID_HASH_KEY")
    if production and not (id_key and id_hash_key):
        raise RuntimeError("ID_ENCRYPTION_KEY and ID_HASH_KEY must be set when "
                           "PORTAL_ENV=production")
    if not id_key:
        from cryptography.fernet import Fernet

        path = Path(instance_path) / "id_encryption_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(Fernet.generate_key().decode())
            path.chmod(0o600)
        id_key = path.read_text().strip()
    id_hash_key = id_hash_key or _instance_secret(instance_path, "id_hash_key")
    certificate_key = env("CERTIFICATE_KEY")
    if production and not certificate_key:
        raise RuntimeError("CERTIFICATE_KEY must be set when PORTAL_ENV=production")
    certificate_key = certificate_key or _instance_secret(instance_path, "certificate_key")
    sms_adapter = env("SMS_ADAPTER") or ("none" if production else "log")
    if sms_adapter not in ("log", "aliyun", "none"):
        raise RuntimeError(f"SMS_ADAPTER must be log, aliyun or none, not {sms_adapter!r}")
    if production and sms_adapter == "log":
        raise RuntimeError("SMS_ADAPTER=log writes codes to a file: refused when "
                           "PORTAL_ENV=production (use aliyun, or none to turn SMS sign-in off)")
    if sms_adapter == "aliyun" and not all(env(k) for k in (
            "SMS_ALIYUN_ACCESS_KEY_ID", "SMS_ALIYUN_ACCESS_KEY_SECRET", "SMS_ALIYUN_SIGN_NAME",
            "SMS_ALIYUN_TEMPLATE_CODE")):
        raise RuntimeError("SMS_ADAPTER=aliyun needs SMS_ALIYUN_ACCESS_KEY_ID, "
                           "SMS_ALIYUN_ACCESS_KEY_SECRET, SMS_ALIYUN_SIGN_NAME and "
                           "SMS_ALIYUN_TEMPLATE_CODE")
    secret_key = env("SECRET_KEY")
    if not secret_key:
        if production:
            raise RuntimeError("SECRET_KEY must be set when PORTAL_ENV=production")
        secret_key = _instance_secret(instance_path, "secret_key")
    return {
        "PORTAL_ENV": "production" if production else "development",
        "SECRET_KEY": secret_key,
        # ID numbers: encrypted at rest, looked up by a keyed hash (see portal/core/crypto.py).
        "ID_ENCRYPTION_KEY": id_key,
        "ID_HASH_KEY": id_hash_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        # A pooled connection that rested this long is pinged before use (portal/core/pool.py).
        "DB_PING_AFTER_IDLE": _int("DB_PING_AFTER_IDLE", 1),
        "REDIS_URL": env("REDIS_URL") or None,
        "RQ_QUEUES": [q.strip() for q in env("RQ_QUEUES", "default").split(",") if q.strip()],
        "REDIS_PREFIX": env("REDIS_PREFIX", "portal:"),
        "JOB_TIMEOUT": _int("JOB_TIMEOUT", 3600),
        # The worker's certificate renderer (portal/records/renderer.py) is replaced after this
        # many PDFs, or once its memory passes this many MiB.
        "CERTIFICATE_RENDERER_MAX_RENDERS": _int("CERTIFICATE_RENDERER_MAX_RENDERS", 500),
        "CERTIFICATE_RENDERER_MAX_MB": _int("CERTIFICATE_RENDERER_MAX_MB", 600),
        # How long a coalesced internal job (the notifications' drain) lets a burst gather.
        "JOB_COALESCE_MS": _int("JOB_COALESCE_MS", 200),
        # Durable jobs: a job whose nudge never arrived, whose worker died or that stopped
        # reporting is run again after this long (portal/core/jobs.py), at most JOB_MAX_TRIES
        # times; the worker looks for such jobs, and drains the outbox, every JOB_TICK_SECONDS.
        "JOB_RECOVERY_SECONDS": _int("JOB_RECOVERY_SECONDS", 300),
        "JOB_MAX_TRIES": _int("JOB_MAX_TRIES", 3),
        "JOB_TICK_SECONDS": _int("JOB_TICK_SECONDS", 30),
        # A Redis that failed is not asked again by that process for this long.
        "QUEUE_RETRY_SECONDS": _int("QUEUE_RETRY_SECONDS", 30),
        # Behind PgBouncer in transaction pooling: no server-side prepared statements.
        "DB_BEHIND_PGBOUNCER": _bool(env("DB_BEHIND_PGBOUNCER")),
        # Sessions: HttpOnly and SameSite=Lax always, Secure in production (behind TLS).
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env("SESSION_COOKIE_SECURE"), production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool(env("SESSION_COOKIE_SECURE"), production),
        "PERMANENT_SESSION_LIFETIME": _int("SESSION_LIFETIME_HOURS", 12) * 3600,
        "MAX_CONTENT_LENGTH": _int("MAX_UPLOAD_MB", 16) * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,
        # Passwords: argon2id; these are argon2-cffi's defaults (about 90 ms a hash).
        "ARGON2_TIME_COST": _int("ARGON2_TIME_COST", 3),
        "ARGON2_MEMORY_COST": _int("ARGON2_MEMORY_COST", 65536),
        "ARGON2_PARALLELISM": _int("ARGON2_PARALLELISM", 4),
        "API_TOKEN_TTL_HOURS": _int("API_TOKEN_TTL_HOURS", 24 * 30),
        # Failed sign-ins: per username and per address, in a sliding window.
        "LOGIN_FAILURES_PER_USERNAME": _int("LOGIN_FAILURES_PER_USERNAME", 10),
        "LOGIN_FAILURES_PER_ADDRESS": _int("LOGIN_FAILURES_PER_ADDRESS", 50),
        "LOGIN_FAILURE_WINDOW_SECONDS": _int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60),
        # Number of proxies in front of the app that set X-Forwarded-For / -Proto.
        "PROXY_COUNT": _int("PROXY_COUNT", 0),
        # Notifications: "log" (development) or "smtp".
        "NOTIFY_ADAPTER": env("NOTIFY_ADAPTER", "log"),
        "SMTP_HOST": env("SMTP_HOST", "localhost"),
        "SMTP_PORT": _int("SMTP_PORT", 25),
        "SMTP_FROM": env("SMTP_FROM", "noreply@localhost"),
        "SMTP_USER": env("SMTP_USER") or None,
        "SMTP_PASSWORD": env("SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": _bool(env("SMTP_STARTTLS")),
        # Refused self-registrations per address before 429, in a sliding window.
        "REGISTRATION_FAILURES_PER_ADDRESS": _int("REGISTRATION_FAILURES_PER_ADDRESS", 30),
        "REGISTRATION_FAILURE_WINDOW_SECONDS": _int("REGISTRATION_FAILURE_WINDOW_SECONDS", 900),
        # Organisations: documents, and the plan's targets (专栏1), all settings.
        "UPLOAD_DIR": env("UPLOAD_DIR") or None,
        "ORG_DOCUMENT_MAX_MB": _int("ORG_DOCUMENT_MAX_MB", 10),
        "URBAN_ORG_TARGET": _int("URBAN_ORG_TARGET", 10),
        "RURAL_ORG_TARGET": _int("RURAL_ORG_TARGET", 3),
        "WORKERS_PER_10K_TARGET": _int("WORKERS_PER_10K_TARGET", 18),
        "CERTIFIED_SHARE_TARGET": _int("CERTIFIED_SHARE_TARGET", 15),
        "INCUBATION_STUCK_DAYS": _int("INCUBATION_STUCK_DAYS", 365),
        # Service records and certificates (民发〔2015〕149号).
        "STAR_HOURS": [int(h) for h in env("STAR_HOURS", "100,300,600,1000,1500").split(",")],
        # Signs certificate serials, so that a forged or mistyped one is refused at once.
        "CERTIFICATE_KEY": certificate_key,
        # The issuer of certificates over all organisers (one organisation's are issued by it).
        "CERTIFICATE_ISSUER": env("CERTIFICATE_ISSUER", "营口市民政局"),
        "CERTIFICATE_ISSUER_HEAD": env("CERTIFICATE_ISSUER_HEAD", ""),
        "CERTIFICATE_ISSUER_CONTACT": env("CERTIFICATE_ISSUER_CONTACT", ""),
        "CERTIFICATE_HANDLER": env("CERTIFICATE_HANDLER", "五社联动服务平台"),
        # The address residents reach the portal at (printed in certificates' QR codes).
        "PUBLIC_BASE_URL": env("PUBLIC_BASE_URL") or None,
        # Projects: the grades of the final performance evaluation (优 ≥ 90, 良 ≥ 75, 中 ≥ 60).
        "GRADE_THRESHOLDS": [int(x) for x in env("GRADE_THRESHOLDS", "90,75,60").split(",")],
        # Longest contract term in months (102号令: normally 1 year, at most 3 for stable services).
        "MAX_CONTRACT_MONTHS": _int("MAX_CONTRACT_MONTHS", 36),
        # SMS codes (residents sign in with a phone): the gateway, and its limits per number
        # (one per 60 s, 5 an hour, 10 a day) and per address (20 an hour).
        "SMS_ADAPTER": sms_adapter,
        "SMS_OUTBOX": env("SMS_OUTBOX") or None,  # default instance/sms-outbox.jsonl
        "SMS_ALIYUN_ACCESS_KEY_ID": env("SMS_ALIYUN_ACCESS_KEY_ID") or None,
        "SMS_ALIYUN_ACCESS_KEY_SECRET": env("SMS_ALIYUN_ACCESS_KEY_SECRET") or None,
        "SMS_ALIYUN_SIGN_NAME": env("SMS_ALIYUN_SIGN_NAME") or None,
        "SMS_ALIYUN_TEMPLATE_CODE": env("SMS_ALIYUN_TEMPLATE_CODE") or None,
        "SMS_ALIYUN_NOTICE_TEMPLATE_CODE": env("SMS_ALIYUN_NOTICE_TEMPLATE_CODE") or None,
        "SMS_ALIYUN_ENDPOINT": env("SMS_ALIYUN_ENDPOINT", "https://dysmsapi.aliyuncs.com/"),
        "SMS_GATEWAY_TIMEOUT": _int("SMS_GATEWAY_TIMEOUT", 5),
        "SMS_CODE_TTL_SECONDS": _int("SMS_CODE_TTL_SECONDS", 300),
        "SMS_CODE_MAX_TRIES": _int("SMS_CODE_MAX_TRIES", 5),
        "SMS_RESEND_SECONDS": _int("SMS_RESEND_SECONDS", 60),
        "SMS_CODES_PER_PHONE_HOUR": _int("SMS_CODES_PER_PHONE_HOUR", 5),
        "SMS_CODES_PER_PHONE_DAY": _int("SMS_CODES_PER_PHONE_DAY", 10),
        "SMS_CODES_PER_ADDRESS_HOUR": _int("SMS_CODES_PER_ADDRESS_HOUR", 20),
        # Needs (需求清单): verified and unmatched this long is stale.
        "NEED_STALE_DAYS": _int("NEED_STALE_DAYS", 30),
        # Charity (慈善组织信息公开办法): a quarter's statement is due this many days after it;
        # a micro-wish is worth at most WISH_MAX_VALUE yuan and a claim lasts WISH_CLAIM_DAYS.
        "DISCLOSURE_DAYS": _int("DISCLOSURE_DAYS", 30),
        "DISCLOSURE_REMIND_DAYS": _int("DISCLOSURE_REMIND_DAYS", 7),
        "WISH_MAX_VALUE": env("WISH_MAX_VALUE", "500.00"),
        "WISH_CLAIM_DAYS": _int("WISH_CLAIM_DAYS", 14),
        # 好差评: the days of China's calendar that are not working days (public holidays) and
        # the weekend days that are (调休), ISO dates separated by commas; 2026's by default
        # (portal/core/workdays.py). Add each year's when the State Council publishes it.
        # 好差评: rated within RATING_WINDOW_DAYS of the service; a 差评 answered within
        # RECTIFY_WORKING_DAYS working days; an answer the rater leaves RATING_REVIEW_DAYS
        # closes by itself; figures public from RATING_MIN_PUBLIC ratings.
        "RATING_WINDOW_DAYS": _int("RATING_WINDOW_DAYS", 30),
        "RECTIFY_WORKING_DAYS": _int("RECTIFY_WORKING_DAYS", 5),
        "RATING_REVIEW_DAYS": _int("RATING_REVIEW_DAYS", 7),
        "RATING_MIN_PUBLIC": _int("RATING_MIN_PUBLIC", 5),
        "HOLIDAYS": parse_dates(env("HOLIDAYS"), HOLIDAYS_2026),
        "WORKDAYS": parse_dates(env("WORKDAYS"), WORKDAYS_2026),
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "BOOTSTRAP_SERVE_LOCAL": True,
    }
