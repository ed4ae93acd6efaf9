"""Charity: a township fund held by an active registered organisation, its host's admin, the
bureau, and a community worker for micro-wishes."""

from __future__ import annotations

import pytest

from tests.orgs.conftest import org_body, valid_uscc

URBAN = "210802001001"
TOWNSHIP = "210802001"


@pytest.fixture
def people(yingkou, make_user):
    make_user("zhanqian", ("bureau", "210802"))
    make_user("bayuquan", ("bureau", "210804"))
    make_user("worker", ("community_worker", URBAN))
    make_user("outsider", ("community_worker", "210804100201"))
    for name in ("host", "donor", "other", "filer"):
        make_user(name)


@pytest.fixture
def charity(client, token, people):
    """An active registered organisation administered by `host` (it holds the funds)."""
    body = org_body(name="营口市站前区慈善协会", registration="registered", uscc=valid_uscc(7),
                    category="charity")
    org = client.post("/api/v1/orgs", headers=token("host"), json=body).get_json()
    review = client.post(f"/api/v1/orgs/{org['id']}/review", headers=token("zhanqian"),
                         json={"decision": "approve", "comment": "ok"})
    assert review.status_code == 200, review.get_json()
    return org["id"]


@pytest.fixture
def fund(client, token, charity):
    """fund(**fields) -> a new fund's JSON (八田地街道 by default)."""
    def make(**fields):
        body = {"name": "八田地街道社区基金", "area_code": TOWNSHIP, "host_org_id": charity,
                "purpose": "帮扶困难居民", **fields}
        answer = client.post("/api/v1/funds", headers=token("zhanqian"), json=body)
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()
    return make


@pytest.fixture
def move(client, token):
    """move(fund_id, **body) -> the answer of a movement recorded by the host."""
    def record(fund_id, by="host", **body):
        return client.post(f"/api/v1/funds/{fund_id}/movements", headers=token(by), json=body)
    return record
