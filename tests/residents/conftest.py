"""Residents: SMS codes read from the log gateway's outbox, signed-in residents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import PASSWORD  # noqa: F401

URBAN = "210802001001"      # 八田地社区 (站前区 · 八田地街道)
RURAL = "210804100201"      # 熊岳村


@pytest.fixture
def outbox(app, tmp_path, monkeypatch):
    """The log gateway's file for this test; `outbox.codes(phone)` lists the codes sent."""
    path = tmp_path / "sms.jsonl"
    monkeypatch.setitem(app.config, "SMS_OUTBOX", str(path))
    monkeypatch.setitem(app.config, "SMS_ADAPTER", "log")

    class Outbox:
        file = path

        def lines(self) -> list[dict]:
            if not Path(path).exists():
                return []
            return [json.loads(line) for line in Path(path).read_text().splitlines()]

        def codes(self, phone: str) -> list[str]:
            return [m["params"]["code"] for m in self.lines() if m["phone"] == phone]

        def last(self, phone: str) -> str:
            return self.codes(phone)[-1]
    return Outbox()


@pytest.fixture
def sms_sign_in(client, outbox):
    """sms_sign_in(phone, addr=...) -> (status, body) of a full sign-in by code."""
    def sign_in(phone: str, addr: str | None = None):
        n = int(phone[-4:])  # one address per number: the per-address limit stays out of it
        env = {"REMOTE_ADDR": addr or f"10.2.{n // 256}.{n % 256}"}
        sent = client.post("/api/v1/auth/sms-codes", json={"phone": phone},
                           environ_base=env)
        assert sent.status_code == 202, sent.get_json()
        answer = client.post("/api/v1/auth/tokens",
                             json={"phone": phone, "code": outbox.last(phone[-11:])},
                             environ_base=env)
        return answer.status_code, answer.get_json()
    return sign_in


@pytest.fixture
def resident(app, yingkou, sms_sign_in, client):
    """resident(phone, community=URBAN) -> auth headers of a resident living there (signed in
    once per test and number)."""
    signed: dict[str, dict] = {}

    def make(phone: str, community: str | None = URBAN) -> dict:
        if phone in signed:
            return signed[phone]
        status, body = sms_sign_in(phone)
        assert status == 201, body
        headers = {"Authorization": "Bearer " + body["token"]}
        if community:
            answer = client.patch("/api/v1/me", json={"community_code": community},
                                  headers=headers)
            assert answer.status_code == 200, answer.get_json()
        signed[phone] = headers
        return headers
    return make


@pytest.fixture
def staff(yingkou, make_user):
    """The community's worker, a worker of the township, of another community, the county's
    and another county's bureau."""
    make_user("worker", ("community_worker", URBAN))
    make_user("township", ("community_worker", URBAN[:9]))
    make_user("outsider", ("community_worker", RURAL))
    make_user("zhanqian", ("bureau", "210802"))
    make_user("bayuquan", ("bureau", "210804"))
    make_user("city", ("bureau", "2108"))


NEED = {"community_code": URBAN, "category": "elderly_care", "title": "楼道扶手损坏",
        "description": "3号楼2单元楼道扶手松动，老人上下楼不安全。", "people_affected": 12,
        "urgency": "urgent", "channel": "online"}


@pytest.fixture
def need(client, resident, token, staff):
    """need(by=headers or username, verify=False, **fields) -> the need's JSON."""
    def make(by=None, verify=False, **fields):
        headers = by if isinstance(by, dict) else token(by) if by else resident("13700000001")
        response = client.post("/api/v1/needs", headers=headers, json={**NEED, **fields})
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        if verify:
            answer = client.post(f"/api/v1/needs/{body['id']}/verify", headers=token("worker"),
                                 json={"comment": "已上门核实"})
            assert answer.status_code == 200, answer.get_json()
            body = answer.get_json()
        return body
    return make
