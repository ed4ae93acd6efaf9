"""SMS gateways behind one interface: `send(phone, template, params)`.

- `log` (development and tests): one JSON line per message `{"at", "phone", "template", "params"}`
  appended to the file `SMS_OUTBOX`. Refused at start-up in production (portal/config.py).
- `aliyun`: Aliyun's SMS service (短信服务, Dysmsapi 2017-05-25 `SendSms`) through its documented
  HTTPS API (portal/core/sms_aliyun.py).
- `none` (the default in production until a gateway is configured): SMS sign-in is off; asking
  for a code answers 503.

A gateway that cannot send raises `SmsUnavailable` (the request answers 503 and the code is not
kept) or `SmsRateLimited` when the gateway's own per-number limits refuse it (429).
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Protocol

from flask import current_app

from portal.core.db import utcnow

# What a message says, by template; the gateway's own template holds the same text.
TEMPLATES = {
    "sign_in_code": "【五社联动】您的验证码是{code}，5分钟内有效。请勿告诉他人。",
    "notice": "【五社联动】{text}",
}


class SmsUnavailable(Exception):
    """The gateway did not take the message (down, refused, misconfigured)."""


class SmsRateLimited(SmsUnavailable):
    """The gateway's own limits for this number refused the message."""


class Gateway(Protocol):
    def send(self, phone: str, template: str, params: dict[str, str]) -> None: ...


class LogGateway:
    """Appends one JSON line per message to a file (development and tests)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def send(self, phone: str, template: str, params: dict[str, str]) -> None:
        line = json.dumps({"at": utcnow().isoformat(), "phone": phone, "template": template,
                           "params": params}, ensure_ascii=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as out:
                fcntl.flock(out, fcntl.LOCK_EX)  # several worker processes append at once
                out.write(line)
        except OSError as exc:
            raise SmsUnavailable(f"outbox not writable: {type(exc).__name__}") from None


class DisabledGateway:
    def send(self, phone: str, template: str, params: dict[str, str]) -> None:
        raise SmsUnavailable("no SMS gateway is configured (SMS_ADAPTER=none)")


def outbox_path() -> Path:
    configured = current_app.config.get("SMS_OUTBOX")
    return Path(configured) if configured else Path(current_app.instance_path) / \
        "sms-outbox.jsonl"


def gateway() -> Gateway:
    name = current_app.config.get("SMS_ADAPTER", "log")
    if name == "log":
        return LogGateway(outbox_path())
    if name == "aliyun":
        from portal.core.sms_aliyun import AliyunGateway

        return AliyunGateway.from_config(current_app.config)
    return DisabledGateway()


def sms_enabled() -> bool:
    return current_app.config.get("SMS_ADAPTER", "log") in ("log", "aliyun")
