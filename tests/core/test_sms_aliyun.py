"""The Aliyun SMS gateway against a local fake of Dysmsapi: a real HTTP server on 127.0.0.1 that
checks the signature as Aliyun does (recomputed here from Aliyun's documented recipe, not with
the gateway's code) and answers by phone number: sent, rate-limited, 500, not JSON, too slow.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import socket
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portal.core.sms_aliyun import AliyunGateway, signature
from portal.core.sms_gateways import SmsRateLimited, SmsUnavailable

KEY_ID = "LTAI5tTestKeyId"
SECRET = "fake/secret+with=odd~chars*"
SIGN_NAME = "五社联动"
TEMPLATE_CODE = "SMS_465123456"
CODE = "493817"

OK_PHONE = "13800138000"
LIMITED_PHONE = "13900000429"  # isv.BUSINESS_LIMIT_CONTROL, HTTP 200 as Aliyun answers it
BROKEN_PHONE = "13900000500"  # HTTP 500 with an error JSON
HTML_PHONE = "13900000200"  # HTTP 200 with a body that is not JSON (a proxy's page)
POOR_PHONE = "13900000402"  # isv.AMOUNT_NOT_ENOUGH: the account ran out of credit
SLOW_PHONE = "13900000504"  # answers after the gateway's timeout

LOG = "portal.sms"


# Aliyun's recipe for the encoding (短信服务 "HTTP 协议及签名"): form-encode the UTF-8, then
# "+" -> "%20", "*" -> "%2A", "%7E" -> "~".
def aliyun_encode(value: str) -> str:
    encoded = urllib.parse.quote_plus(value, safe="", encoding="utf-8")
    return encoded.replace("+", "%20").replace("*", "%2A").replace("%7E", "~")


def aliyun_string_to_sign(params: Mapping[str, str], method: str) -> str:
    pairs = sorted((aliyun_encode(k), aliyun_encode(v)) for k, v in params.items())
    canonical = "&".join(f"{k}={v}" for k, v in pairs)
    return f"{method}&{aliyun_encode('/')}&{aliyun_encode(canonical)}"


def aliyun_signature(params: Mapping[str, str], secret: str, method: str) -> str:
    key = (secret + "&").encode("utf-8")
    mac = hmac.new(key, aliyun_string_to_sign(params, method).encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


# Aliyun's worked example (GET, Format=XML, OutId=123), with the signature it publishes.
DOC_EXAMPLE = {
    "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
    "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}', "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}
DOC_SIGNATURE = "zJDF+Lrzhj/ThnlvIToysFRq6t4="


class FakeAliyun(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FakeAliyunHandler)
        self.lock = threading.Lock()
        self.requests: list[dict] = []  # every form received, Signature included
        self.messages: list[dict] = []  # what Aliyun would have sent
        self.nonces: set[str] = set()
        self.release = threading.Event()  # ends the slow answer at teardown

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/"

    def handle_error(self, request, client_address) -> None:
        pass  # the slow answer finds its client gone: expected


class FakeAliyunHandler(BaseHTTPRequestHandler):
    server: FakeAliyun

    def log_message(self, format: str, *args) -> None:
        pass

    def answer(self, status: int, payload: dict | str) -> None:
        if isinstance(payload, dict):
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            content_type = "application/json;charset=utf-8"
        else:
            body = payload.encode("utf-8")
            content_type = "text/html"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status: int, code: str, message: str, request_id: str) -> None:
        self.answer(status, {"RequestId": request_id, "HostId": "dysmsapi.aliyuncs.com",
                             "Code": code, "Message": message})

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        request_id = str(uuid.uuid4()).upper()
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        form = dict(urllib.parse.parse_qsl(raw.decode("ascii"), keep_blank_values=True,
                                           strict_parsing=True))
        with self.server.lock:
            self.server.requests.append({"path": self.path, "form": dict(form),
                                         "content_type": self.headers.get("Content-Type")})
        if self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
            return self.error(400, "MissingParameter", "form expected", request_id)
        if form.get("AccessKeyId") != KEY_ID:
            return self.error(404, "InvalidAccessKeyId.NotFound",
                              "Specified access key is not found.", request_id)
        given = form.pop("Signature", "")
        if not hmac.compare_digest(given, aliyun_signature(form, SECRET, "POST")):
            # As Aliyun does: the message echoes its string to sign, phone and code included.
            return self.error(400, "SignatureDoesNotMatch",
                              "Specified signature is not matched with our calculation. server "
                              f"string to sign is:{aliyun_string_to_sign(form, 'POST')}",
                              request_id)
        with self.server.lock:
            reused = form["SignatureNonce"] in self.server.nonces
            self.server.nonces.add(form["SignatureNonce"])
        if reused:
            return self.error(400, "SignatureNonceUsed",
                              "Specified signature nonce was used already.", request_id)
        phone = form["PhoneNumbers"]
        if phone == SLOW_PHONE:
            self.server.release.wait(5)
        elif phone == BROKEN_PHONE:
            return self.error(500, "InternalError", "The request processing has failed due to "
                              "some unknown error.", request_id)
        elif phone == HTML_PHONE:
            return self.answer(200, "<html><body>502 Bad Gateway</body></html>")
        elif phone == LIMITED_PHONE:
            return self.answer(200, {"Code": "isv.BUSINESS_LIMIT_CONTROL",
                                     "Message": "触发号码天级流控Permits:10",
                                     "RequestId": request_id})
        elif phone == POOR_PHONE:
            return self.answer(200, {"Code": "isv.AMOUNT_NOT_ENOUGH", "Message": "账户余额不足",
                                     "RequestId": request_id})
        with self.server.lock:
            self.server.messages.append({
                "phone": phone, "TemplateCode": form["TemplateCode"],
                "SignName": form["SignName"], "TemplateParam": json.loads(form["TemplateParam"]),
            })
        self.answer(200, {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0",
                          "RequestId": request_id})


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch) -> None:
    """A proxy from the environment would take the requests away from 127.0.0.1."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_aliyun() -> Iterator[FakeAliyun]:
    server = FakeAliyun()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def sms_log(caplog) -> pytest.LogCaptureFixture:
    assert not logging.getLogger(LOG).disabled  # (the migrations' fileConfig once disabled it)
    caplog.set_level(logging.DEBUG, logger=LOG)
    return caplog


def config_for(server: FakeAliyun | None = None, **overrides: object) -> dict:
    config: dict[str, object] = {
        "SMS_ALIYUN_ACCESS_KEY_ID": KEY_ID,
        "SMS_ALIYUN_ACCESS_KEY_SECRET": SECRET,
        "SMS_ALIYUN_SIGN_NAME": SIGN_NAME,
        "SMS_ALIYUN_TEMPLATE_CODE": TEMPLATE_CODE,
        "SMS_ALIYUN_ENDPOINT": server.url if server else "https://dysmsapi.aliyuncs.com/",
        "SMS_GATEWAY_TIMEOUT": 5,
    }
    config.update(overrides)
    return config


def gateway_for(server: FakeAliyun | None = None, **overrides: object) -> AliyunGateway:
    return AliyunGateway.from_config(config_for(server, **overrides))


def assert_discreet(text: str, phone: str) -> None:
    """Neither the code, nor the number, nor the secret."""
    for secret in (CODE, phone, SECRET):
        assert secret not in text


def failure(gateway: AliyunGateway, phone: str,
            expected: type[SmsUnavailable] = SmsUnavailable) -> SmsUnavailable:
    with pytest.raises(expected) as caught:
        gateway.send(phone, "sign_in_code", {"code": CODE})
    assert_discreet(str(caught.value), phone)
    return caught.value


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == LOG and r.levelno == logging.WARNING]


def test_the_signature_follows_aliyuns_worked_example():
    assert aliyun_signature(DOC_EXAMPLE, "testSecret", "GET") == DOC_SIGNATURE  # the oracle
    assert signature(DOC_EXAMPLE, "testSecret", method="GET") == DOC_SIGNATURE  # the gateway


def test_sends_the_code_through_sendsms(fake_aliyun, sms_log):
    before = datetime.now(UTC).replace(microsecond=0)
    gateway_for(fake_aliyun).send(OK_PHONE, "sign_in_code", {"code": CODE})
    after = datetime.now(UTC)

    assert fake_aliyun.messages == [{"phone": OK_PHONE, "TemplateCode": TEMPLATE_CODE,
                                     "SignName": SIGN_NAME, "TemplateParam": {"code": CODE}}]
    [request] = fake_aliyun.requests
    assert request["path"] == "/"
    assert request["content_type"] == "application/x-www-form-urlencoded"
    form = request["form"]
    assert form["TemplateParam"] == '{"code":"493817"}'
    assert {k: form[k] for k in ("AccessKeyId", "Action", "Format", "RegionId",
                                 "SignatureMethod", "SignatureVersion", "Version")} == {
        "AccessKeyId": KEY_ID, "Action": "SendSms", "Format": "JSON", "RegionId": "cn-hangzhou",
        "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "Version": "2017-05-25"}
    assert uuid.UUID(form["SignatureNonce"]).version == 4
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", form["Timestamp"])
    sent_at = datetime.strptime(form["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= sent_at <= after
    assert set(form) == {"AccessKeyId", "Action", "Format", "RegionId", "SignatureMethod",
                         "SignatureNonce", "SignatureVersion", "Timestamp", "Version",
                         "PhoneNumbers", "SignName", "TemplateCode", "TemplateParam",
                         "Signature"}
    assert_discreet(sms_log.text, OK_PHONE)
    assert warnings_of(sms_log) == []


def test_every_message_has_its_own_nonce(fake_aliyun):
    gateway = gateway_for(fake_aliyun)
    gateway.send(OK_PHONE, "sign_in_code", {"code": CODE})
    gateway.send(OK_PHONE, "sign_in_code", {"code": "000111"})
    assert [m["TemplateParam"]["code"] for m in fake_aliyun.messages] == [CODE, "000111"]
    first, second = (r["form"]["SignatureNonce"] for r in fake_aliyun.requests)
    assert first != second


def test_the_signature_covers_characters_that_encodings_disagree_on(fake_aliyun):
    """Space, `*`, `~`, `+`, `/`, `&`, `=`, `%` and CJK: RFC 3986, not form encoding."""
    sign_name = "五社 联动*~"
    odd = "1 2*3~4+5/6&7=8%9"
    gateway_for(fake_aliyun, SMS_ALIYUN_SIGN_NAME=sign_name).send(
        OK_PHONE, "sign_in_code", {"code": odd})
    assert fake_aliyun.messages == [{"phone": OK_PHONE, "TemplateCode": TEMPLATE_CODE,
                                     "SignName": sign_name, "TemplateParam": {"code": odd}}]


def test_aliyuns_limit_for_the_number_is_rate_limited(fake_aliyun, sms_log):
    error = failure(gateway_for(fake_aliyun), LIMITED_PHONE, SmsRateLimited)
    assert isinstance(error, SmsUnavailable)  # callers that only know SmsUnavailable still cope
    assert fake_aliyun.messages == []
    [warning] = warnings_of(sms_log)
    assert "isv.BUSINESS_LIMIT_CONTROL" in warning
    assert re.search(r"RequestId=[0-9A-F-]{36}\b", warning)
    assert_discreet(sms_log.text, LIMITED_PHONE)


@pytest.mark.parametrize(("phone", "in_reason", "in_log"), [
    (BROKEN_PHONE, "HTTP 500", "Code=InternalError"),
    (HTML_PHONE, "without JSON", "not a JSON object"),
    (POOR_PHONE, "isv.AMOUNT_NOT_ENOUGH", "Code=isv.AMOUNT_NOT_ENOUGH"),
])
def test_other_answers_are_unavailable(fake_aliyun, sms_log, phone, in_reason, in_log):
    error = failure(gateway_for(fake_aliyun), phone)
    assert not isinstance(error, SmsRateLimited)
    assert in_reason in str(error)
    [warning] = warnings_of(sms_log)
    assert in_log in warning
    assert_discreet(sms_log.text, phone)
    assert fake_aliyun.messages == []


def test_a_wrong_secret_is_a_signature_mismatch(fake_aliyun, sms_log):
    error = failure(gateway_for(fake_aliyun, SMS_ALIYUN_ACCESS_KEY_SECRET="not-the-secret"),
                    OK_PHONE)
    assert "SignatureDoesNotMatch" in str(error)
    [warning] = warnings_of(sms_log)
    assert "HTTP 400" in warning and "Code=SignatureDoesNotMatch" in warning
    # Aliyun's message echoed the string to sign (phone and code): it went nowhere.
    assert "string to sign" not in sms_log.text and "string to sign" not in str(error)
    assert_discreet(sms_log.text, OK_PHONE)
    assert "not-the-secret" not in sms_log.text
    assert fake_aliyun.messages == []


def test_an_unknown_access_key_is_unavailable(fake_aliyun, sms_log):
    error = failure(gateway_for(fake_aliyun, SMS_ALIYUN_ACCESS_KEY_ID="LTAI5tSomeoneElse"),
                    OK_PHONE)
    assert "InvalidAccessKeyId.NotFound" in str(error)
    assert "HTTP 404" in warnings_of(sms_log)[0]


def test_a_slow_gateway_times_out(fake_aliyun, sms_log):
    started = time.monotonic()
    error = failure(gateway_for(fake_aliyun, SMS_GATEWAY_TIMEOUT=1), SLOW_PHONE)
    assert time.monotonic() - started < 3
    assert "timed out" in str(error)
    assert warnings_of(sms_log) == ["Aliyun SMS unreachable: timed out"]


def test_a_closed_port_is_unavailable(sms_log):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = failure(gateway_for(SMS_ALIYUN_ENDPOINT=f"http://127.0.0.1:{port}/"), OK_PHONE)
    assert "ConnectionRefusedError" in str(error)
    assert warnings_of(sms_log) == ["Aliyun SMS unreachable: ConnectionRefusedError"]


def test_a_name_that_does_not_resolve_is_unavailable(monkeypatch, sms_log):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    error = failure(gateway_for(SMS_ALIYUN_ENDPOINT="https://dysmsapi.invalid/"), OK_PHONE)
    assert "gaierror" in str(error)
    assert warnings_of(sms_log) == ["Aliyun SMS unreachable: gaierror"]


def test_an_unknown_template_sends_nothing(fake_aliyun):
    with pytest.raises(SmsUnavailable, match="no Aliyun template"):
        gateway_for(fake_aliyun).send(OK_PHONE, "newsletter", {"code": CODE})
    assert fake_aliyun.requests == []


@pytest.mark.parametrize("missing", ["SMS_ALIYUN_ACCESS_KEY_ID", "SMS_ALIYUN_ACCESS_KEY_SECRET",
                                     "SMS_ALIYUN_SIGN_NAME", "SMS_ALIYUN_TEMPLATE_CODE"])
def test_missing_settings_are_unavailable(missing):
    with pytest.raises(SmsUnavailable, match=missing):
        gateway_for(**{missing: None})


def test_from_config_reads_the_settings():
    gateway = AliyunGateway.from_config(config_for(SMS_ALIYUN_ENDPOINT=None,
                                                   SMS_GATEWAY_TIMEOUT=7))
    assert gateway.endpoint == "https://dysmsapi.aliyuncs.com/"
    assert gateway.timeout == 7
    assert gateway.template_codes == {"sign_in_code": TEMPLATE_CODE}
    assert (gateway.access_key_id, gateway.sign_name) == (KEY_ID, SIGN_NAME)


@pytest.mark.parametrize("endpoint", ["http://dysmsapi.aliyuncs.com/", "ftp://127.0.0.1/"])
def test_the_code_never_travels_in_clear_text(endpoint):
    with pytest.raises(SmsUnavailable, match="https"):
        gateway_for(SMS_ALIYUN_ENDPOINT=endpoint)


def test_sms_adapter_aliyun_picks_this_gateway(app, monkeypatch, fake_aliyun):
    from portal.core.sms_gateways import gateway

    for name, value in config_for(fake_aliyun, SMS_ADAPTER="aliyun").items():
        monkeypatch.setitem(app.config, name, value)
    with app.app_context():
        chosen = gateway()
        assert isinstance(chosen, AliyunGateway)
        chosen.send(OK_PHONE, "sign_in_code", {"code": CODE})
    assert [m["TemplateParam"] for m in fake_aliyun.messages] == [{"code": CODE}]
