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
    def sign_in(phone: str, addr: str = "10.1.0.1"):
        env = {"REMOTE_ADDR": addr}
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
    """resident(phone, community=URBAN) -> auth headers of a resident living there."""
    def make(phone: str, community: str | None = URBAN) -> dict:
        status, body = sms_sign_in(phone)
        assert status == 201, body
        headers = {"Authorization": "Bearer " + body["token"]}
        if community:
            answer = client.patch("/api/v1/me", json={"community_code": community},
                                  headers=headers)
            assert answer.status_code == 200, answer.get_json()
        return headers
    return make
