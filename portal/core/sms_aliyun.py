"""Aliyun's SMS service (短信服务): Dysmsapi 2017-05-25 `SendSms` through its documented HTTPS RPC
API, signed with signature version 1.0 (HMAC-SHA1), on the standard library alone.

Why by hand rather than Aliyun's SDK: one call with one signature is a few dozen lines, and the
SDK would bring a tree of dependencies (and their updates) for it.

The request (POST, form-encoded) carries the common parameters (AccessKeyId, Action, Format,
RegionId, SignatureMethod, SignatureNonce, SignatureVersion, Timestamp, Version), the business
ones (PhoneNumbers, SignName, TemplateCode, TemplateParam) and `Signature`:

    canonical    = "&".join(enc(k) + "=" + enc(v) for k, v in sorted(params))
    StringToSign = "POST&" + enc("/") + "&" + enc(canonical)
    Signature    = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))

where `enc` is RFC 3986 percent-encoding of the UTF-8 bytes (only A-Z a-z 0-9 - _ . ~ kept).

The answer is JSON: `{"Code": "OK", ...}` is success; `isv.BUSINESS_LIMIT_CONTROL` (Aliyun's
own limits per number) raises `SmsRateLimited`; anything else (another Code, HTTP 5xx, a body
that is not JSON, no connection, a timeout) raises `SmsUnavailable`. The code being sent is a
credential: neither the exceptions' text nor the log ever holds it, nor the phone number, nor
Aliyun's `Message` (for SignatureDoesNotMatch it echoes the whole string to sign, parameters and
all). The log gets Aliyun's `Code` and `RequestId`, enough to ask Aliyun about a failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from portal.core.sms_gateways import SmsRateLimited, SmsUnavailable

log = logging.getLogger("portal.sms")

DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
API_VERSION = "2017-05-25"
REGION_ID = "cn-hangzhou"
# Aliyun's frequency limits for one number (1 a minute, 5 an hour, 10 a day by default).
RATE_LIMITED_CODES = frozenset({"isv.BUSINESS_LIMIT_CONTROL"})
MAX_ANSWER_BYTES = 64 * 1024  # an answer is a few hundred bytes; never read a runaway body
# What may go into an exception or the log from Aliyun's answer: identifiers, nothing else.
_CODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,79}$")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_BIZ_ID_RE = re.compile(r"^[A-Za-z0-9^_-]{1,64}$")  # e.g. 900619746936498440^0
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def percent_encode(value: str) -> str:
    """RFC 3986 on the UTF-8 bytes: space is %20, `*` is %2A, `~` is kept."""
    return urllib.parse.quote(value, safe="~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(params[k])}" for k in sorted(params))


def signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    """Signature version 1.0 of `params` (without `Signature` itself)."""
    string_to_sign = "&".join((method, percent_encode("/"),
                               percent_encode(canonical_query(params))))
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _identifier(value: object, pattern: re.Pattern[str]) -> str:
    return value if isinstance(value, str) and pattern.match(value) else "?"


class AliyunGateway:
    """Sends through Aliyun's `SendSms`; one approved Aliyun template per portal template."""

    def __init__(self, access_key_id: str, access_key_secret: str, sign_name: str,
                 template_codes: Mapping[str, str], endpoint: str = DEFAULT_ENDPOINT,
                 timeout: float = 5.0):
        parts = urllib.parse.urlsplit(endpoint)
        # The code travels in the body: only HTTPS, or plain HTTP to this machine (tests).
        if not (parts.scheme == "https" or (parts.scheme == "http"
                                            and parts.hostname in _LOOPBACK)):
            raise SmsUnavailable("SMS_ALIYUN_ENDPOINT must be an https:// address")
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.template_codes = dict(template_codes)
        self.endpoint = endpoint
        self.timeout = timeout

    @classmethod
    def from_config(cls, config: Mapping) -> AliyunGateway:
        names = ("SMS_ALIYUN_ACCESS_KEY_ID", "SMS_ALIYUN_ACCESS_KEY_SECRET",
                 "SMS_ALIYUN_SIGN_NAME", "SMS_ALIYUN_TEMPLATE_CODE")
        missing = [name for name in names if not config.get(name)]
        if missing:
            raise SmsUnavailable(f"SMS_ADAPTER=aliyun is missing {', '.join(missing)}")
        return cls(
            access_key_id=config["SMS_ALIYUN_ACCESS_KEY_ID"],
            access_key_secret=config["SMS_ALIYUN_ACCESS_KEY_SECRET"],
            sign_name=config["SMS_ALIYUN_SIGN_NAME"],
            # One Aliyun template (SMS_...) per portal template in sms_gateways.TEMPLATES.
            template_codes={"sign_in_code": config["SMS_ALIYUN_TEMPLATE_CODE"],
                            **({"notice": config["SMS_ALIYUN_NOTICE_TEMPLATE_CODE"]}
                               if config.get("SMS_ALIYUN_NOTICE_TEMPLATE_CODE") else {})},
            endpoint=config.get("SMS_ALIYUN_ENDPOINT") or DEFAULT_ENDPOINT,
            timeout=float(config.get("SMS_GATEWAY_TIMEOUT") or 5),
        )

    def request_params(self, phone: str, template: str, params: Mapping[str, str]) -> dict:
        """The signed form of one message (a fresh nonce and timestamp each time)."""
        template_code = self.template_codes.get(template)
        if not template_code:
            raise SmsUnavailable(f"no Aliyun template is configured for {template!r}")
        form = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": REGION_ID,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": str(uuid.uuid4()),
            "SignatureVersion": "1.0",
            "Timestamp": _timestamp(),
            "Version": API_VERSION,
            "PhoneNumbers": phone,
            "SignName": self.sign_name,
            "TemplateCode": template_code,
            "TemplateParam": json.dumps(dict(params), ensure_ascii=False,
                                        separators=(",", ":")),
        }
        form["Signature"] = signature(form, self.access_key_secret)
        return form

    def send(self, phone: str, template: str, params: dict[str, str]) -> None:
        form = self.request_params(phone, template, params)
        body = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in form.items())
        request = urllib.request.Request(
            self.endpoint, data=body.encode("ascii"), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Accept": "application/json"})
        status, raw = self._post(request)
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            answer = None
        if not isinstance(answer, dict):
            log.warning("Aliyun SMS: HTTP %s with a body that is not a JSON object", status)
            raise SmsUnavailable(f"Aliyun SMS answered HTTP {status} without JSON")
        code = _identifier(answer.get("Code"), _CODE_RE)
        request_id = _identifier(answer.get("RequestId"), _REQUEST_ID_RE)
        if status == 200 and answer.get("Code") == "OK":
            log.info("Aliyun SMS sent: BizId=%s RequestId=%s",
                     _identifier(answer.get("BizId"), _BIZ_ID_RE), request_id)
            return
        log.warning("Aliyun SMS refused: HTTP %s Code=%s RequestId=%s", status, code, request_id)
        if status >= 500:
            raise SmsUnavailable(f"Aliyun SMS answered HTTP {status}")
        if code in RATE_LIMITED_CODES:
            raise SmsRateLimited("Aliyun's frequency limit for this number refused the message")
        raise SmsUnavailable(f"Aliyun SMS refused the message ({code})")

    def _post(self, request: urllib.request.Request) -> tuple[int, bytes]:
        """The HTTP status and body, whatever the status; SmsUnavailable if there is none."""
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read(MAX_ANSWER_BYTES)
        except urllib.error.HTTPError as exc:  # 4xx and 5xx: Aliyun still answers JSON
            try:
                return exc.code, exc.read(MAX_ANSWER_BYTES)
            except (OSError, http.client.HTTPException):
                return exc.code, b""
            finally:
                exc.close()
        except (OSError, http.client.HTTPException) as exc:
            # URLError (refused, DNS, TLS) wraps its reason; a timeout while reading does not.
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            if isinstance(reason, TimeoutError):
                what = "timed out"
            else:
                what = type(reason if isinstance(reason, BaseException) else exc).__name__
            log.warning("Aliyun SMS unreachable: %s", what)
            raise SmsUnavailable(f"Aliyun SMS unreachable: {what}") from None
