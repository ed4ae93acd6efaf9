"""Sign-in by phone and SMS code: codes, their limits, the accounts they open, and refusals."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.core.db import utcnow
from portal.core.sms import SmsCode
from portal.core.users import User
from portal.extensions import db
from tests.residents.conftest import URBAN

PHONE = "13812345678"


def ask(client, phone, addr="10.1.0.1"):
    return client.post("/api/v1/auth/sms-codes", json={"phone": phone},
                       environ_base={"REMOTE_ADDR": addr})


def sign_in(client, phone, code, addr="10.1.0.1"):
    return client.post("/api/v1/auth/tokens", json={"phone": phone, "code": code},
                       environ_base={"REMOTE_ADDR": addr})


def test_a_code_is_sent_hashed_and_never_answered_or_logged(app, client, outbox, caplog):
    caplog.set_level(logging.DEBUG)
    answer = ask(client, PHONE)
    assert answer.status_code == 202
    assert answer.get_json() == {"resend_after": 60}
    [message] = outbox.lines()
    code = message["params"]["code"]
    assert message["phone"] == PHONE and message["template"] == "sign_in_code"
    assert len(code) == 6 and code.isdigit()
    assert code not in answer.get_data(as_text=True)
    with app.app_context():
        row = db.session.scalars(sa.select(SmsCode)).one()
        stored = " ".join(str(v) for v in (row.phone_key, row.code_hash, row.address))
        assert code not in stored and PHONE not in stored
        assert (row.expires_at - row.created_at) == timedelta(minutes=5)
    signed = sign_in(client, PHONE, code)
    assert signed.status_code == 201
    assert code not in caplog.text and PHONE not in caplog.text


@pytest.mark.parametrize("typed", ["+86 138 1234 5678", "138-1234-5678", "+86-13812345678",
                                   "0086 13812345678", " 13812345678 "])
def test_numbers_are_normalised(client, outbox, typed):
    assert ask(client, typed).status_code == 202
    assert [m["phone"] for m in outbox.lines()] == [PHONE]


@pytest.mark.parametrize("typed", ["1381234567", "23812345678", "12812345678", "abc", "",
                                   "138123456789", "+1 2025550123"])
def test_malformed_numbers_are_422_on_phone(client, outbox, typed):
    for lang, word in (("zh", "手机号码"), ("en", "mobile number")):
        answer = client.post(f"/api/v1/auth/sms-codes?lang={lang}", json={"phone": typed},
                             headers={"Accept-Language": lang})
        assert answer.status_code == 422
        body = answer.get_json()["error"]
        assert body["code"] == "validation_error" and list(body["fields"]) == ["phone"]
        assert word in body["fields"]["phone"][0]
    assert outbox.lines() == []


def test_known_and_unknown_numbers_get_the_same_answer(app, client, outbox, make_user, token,
                                                        monkeypatch):
    monkeypatch.setitem(app.config, "SMS_RESEND_SECONDS", 0)
    make_user("holder")
    headers = token("holder")
    ask(client, "13900000001")
    client.post("/api/v1/me/phone", headers=headers,
                json={"phone": "13900000001", "code": outbox.last("13900000001")})
    known, unknown = ask(client, "13900000001"), ask(client, "13900000002")
    assert known.status_code == unknown.status_code == 202


def test_first_sign_in_makes_a_resident_and_the_next_finds_them(app, client, outbox,
                                                                 sms_sign_in, yingkou,
                                                                 monkeypatch):
    monkeypatch.setitem(app.config, "SMS_RESEND_SECONDS", 0)
    status, body = sms_sign_in(PHONE)
    assert status == 201 and body["user"]["roles"] == ["resident"]
    headers = {"Authorization": "Bearer " + body["token"]}
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["community_code"] is None and me["phone_masked"] == "138****5678"
    assert PHONE not in str(me)
    chosen = client.patch("/api/v1/me", json={"community_code": URBAN}, headers=headers)
    assert chosen.status_code == 200 and chosen.get_json()["community_code"] == URBAN
    status, again = sms_sign_in(PHONE)
    assert status == 201 and again["user"]["id"] == body["user"]["id"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_choosing_a_community_takes_only_a_community(client, resident):
    headers = resident(PHONE, community=None)
    for code in ("210802001", "210802", "2108", "999999999999", "", "x"):
        answer = client.patch("/api/v1/me", json={"community_code": code}, headers=headers)
        assert answer.status_code == 422
        assert list(answer.get_json()["error"]["fields"]) == ["community_code"]


def test_a_code_is_single_use(client, outbox):
    ask(client, PHONE)
    code = outbox.last(PHONE)
    assert sign_in(client, PHONE, code).status_code == 201
    assert sign_in(client, PHONE, code).status_code == 401


def test_five_wrong_tries_void_the_code(client, outbox):
    ask(client, PHONE)
    code = outbox.last(PHONE)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for _ in range(5):
        answer = sign_in(client, PHONE, wrong)
        assert answer.status_code == 401
        assert answer.get_json()["error"]["code"] == "unauthorized"
    assert sign_in(client, PHONE, code).status_code == 401  # void, even the right one


def test_four_wrong_tries_leave_the_code_usable(client, outbox):
    ask(client, PHONE)
    code = outbox.last(PHONE)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for _ in range(4):
        assert sign_in(client, PHONE, wrong).status_code == 401
    assert sign_in(client, PHONE, code).status_code == 201


def test_an_expired_code_is_refused(app, client, outbox):
    ask(client, PHONE)
    with app.app_context():
        db.session.execute(sa.update(SmsCode).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert sign_in(client, PHONE, outbox.last(PHONE)).status_code == 401


def test_a_new_code_voids_the_one_before(app, client, outbox, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_RESEND_SECONDS", 0)
    ask(client, PHONE)
    first = outbox.last(PHONE)
    ask(client, PHONE)
    second = outbox.last(PHONE)
    if first != second:
        assert sign_in(client, PHONE, first).status_code == 401
    assert sign_in(client, PHONE, second).status_code == 201


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "", "12 34 5"])
def test_malformed_codes_are_422_on_code(client, outbox, code):
    ask(client, PHONE)
    answer = sign_in(client, PHONE, code)
    assert answer.status_code == 422
    assert list(answer.get_json()["error"]["fields"]) == ["code"]


def test_a_sign_in_without_any_code_sent_is_401(client, outbox):
    assert sign_in(client, PHONE, "123456").status_code == 401


def test_one_code_per_minute_per_number(app, client, outbox):
    assert ask(client, PHONE).status_code == 202
    again = ask(client, "+86 " + PHONE, addr="10.9.9.9")
    assert again.status_code == 429 and again.get_json()["error"]["code"] == "rate_limited"
    assert ask(client, "13812345679").status_code == 202  # another number is not held up
    assert len(outbox.lines()) == 2


def test_five_an_hour_per_number(app, client, outbox, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_RESEND_SECONDS", 0)
    for _ in range(5):
        assert ask(client, PHONE).status_code == 202
    assert ask(client, PHONE).status_code == 429
    assert len(outbox.codes(PHONE)) == 5


def test_ten_a_day_per_number(app, client, outbox, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_RESEND_SECONDS", 0)
    monkeypatch.setitem(app.config, "SMS_CODES_PER_PHONE_HOUR", 100)
    for _ in range(10):
        assert ask(client, PHONE).status_code == 202
    assert ask(client, PHONE).status_code == 429


def test_twenty_an_hour_per_address(client, outbox):
    for i in range(20):
        assert ask(client, f"139000000{i:02d}", addr="10.7.7.7").status_code == 202
    refused = ask(client, "13900000099", addr="10.7.7.7")
    assert refused.status_code == 429
    assert ask(client, "13900000099", addr="10.7.7.8").status_code == 202


@pytest.mark.contention
def test_many_at_once_for_one_number_send_one_code(app, outbox):
    barrier = threading.Barrier(12)
    codes: list[int] = []

    def go(n):
        client = app.test_client()
        barrier.wait()
        codes.append(ask(client, PHONE, addr=f"10.3.0.{n}").status_code)

    threads = [threading.Thread(target=go, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [202] + [429] * 11
    assert len(outbox.codes(PHONE)) == 1


def test_a_failing_gateway_is_503_and_keeps_nothing(app, client, outbox, monkeypatch, tmp_path,
                                                     caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setitem(app.config, "SMS_OUTBOX", str(tmp_path))  # a folder: not writable
    answer = ask(client, PHONE)
    assert answer.status_code == 503
    assert "SMS gateway failed" in caplog.text and PHONE not in caplog.text
    assert answer.get_json()["error"]["code"] == "unavailable"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SmsCode)) == 0
    monkeypatch.setitem(app.config, "SMS_OUTBOX", str(outbox.file))
    assert ask(client, PHONE).status_code == 202  # the failed one did not count


def test_sms_off_is_503(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_ADAPTER", "none")
    assert ask(client, PHONE).status_code == 503


def test_staff_never_sign_in_by_code(app, client, outbox, make_user, token, yingkou,
                                     monkeypatch):
    monkeypatch.setitem(app.config, "SMS_RESEND_SECONDS", 0)
    make_user("city", ("bureau", "2108"))
    make_user("root", "admin")
    for name, phone in (("city", "13900000011"), ("root", "13900000012")):
        ask(client, phone)
        verified = client.post("/api/v1/me/phone", headers=token(name),
                               json={"phone": phone, "code": outbox.last(phone)})
        assert verified.status_code == 200, verified.get_json()
        ask(client, phone)
        refused = sign_in(client, phone, outbox.last(phone))
        assert refused.status_code == 401


def test_a_volunteer_verifies_their_phone_then_signs_in_by_code(app, client, outbox, make_user,
                                                               token, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_RESEND_SECONDS", 0)
    uid = make_user("vol", "volunteer")
    ask(client, PHONE)
    verified = client.post("/api/v1/me/phone", headers=token("vol"),
                           json={"phone": "138 1234 5678", "code": outbox.last(PHONE)})
    assert verified.status_code == 200 and verified.get_json()["phone_verified"] is True
    ask(client, PHONE)
    signed = sign_in(client, PHONE, outbox.last(PHONE))
    assert signed.status_code == 201
    assert signed.get_json()["user"]["id"] == uid
    assert "volunteer" in signed.get_json()["user"]["roles"]


def test_a_number_verified_by_another_account_is_409(app, client, outbox, make_user, token,
                                                     monkeypatch):
    monkeypatch.setitem(app.config, "SMS_RESEND_SECONDS", 0)
    make_user("first")
    make_user("second")
    ask(client, PHONE)
    client.post("/api/v1/me/phone", headers=token("first"),
                json={"phone": PHONE, "code": outbox.last(PHONE)})
    ask(client, PHONE)
    taken = client.post("/api/v1/me/phone", headers=token("second"),
                        json={"phone": PHONE, "code": outbox.last(PHONE)})
    assert taken.status_code == 409 and "phone" in taken.get_json()["error"]["fields"]


def test_a_wrong_code_does_not_verify_a_phone(client, outbox, make_user, token):
    make_user("someone")
    ask(client, PHONE)
    wrong = f"{(int(outbox.last(PHONE)) + 1) % 10 ** 6:06d}"
    answer = client.post("/api/v1/me/phone", headers=token("someone"),
                         json={"phone": PHONE, "code": wrong})
    assert answer.status_code == 422 and "code" in answer.get_json()["error"]["fields"]
    assert client.get("/api/v1/me", headers=token("someone")).get_json()["phone_verified"] \
        is False


def test_production_refuses_the_log_gateway(monkeypatch, tmp_path):
    from portal.config import load_settings
    from portal.core.crypto import new_fernet_key

    for name, value in (("PORTAL_ENV", "production"), ("SECRET_KEY", "x" * 40),
                        ("ID_ENCRYPTION_KEY", new_fernet_key()), ("ID_HASH_KEY", "y" * 40),
                        ("CERTIFICATE_KEY", "z" * 40)):
        monkeypatch.setenv(name, value)
    assert load_settings(str(tmp_path))["SMS_ADAPTER"] == "none"
    monkeypatch.setenv("SMS_ADAPTER", "log")
    with pytest.raises(RuntimeError, match="refused"):
        load_settings(str(tmp_path))
    monkeypatch.setenv("SMS_ADAPTER", "aliyun")
    with pytest.raises(RuntimeError, match="SMS_ALIYUN"):
        load_settings(str(tmp_path))


def test_a_numbers_codes_older_than_a_day_are_cleared_when_it_asks_again(app, client, outbox):
    from portal.core.sms import phone_key

    with app.app_context():
        old = utcnow() - timedelta(days=2)
        db.session.add(SmsCode(phone_key=phone_key(PHONE), code_hash="x" * 64, address="a",
                               created_at=old, expires_at=old))
        db.session.commit()
    assert ask(client, PHONE).status_code == 202
    with app.app_context():
        rows = db.session.scalars(sa.select(SmsCode)).all()
        assert len(rows) == 1 and rows[0].created_at > utcnow() - timedelta(minutes=1)
