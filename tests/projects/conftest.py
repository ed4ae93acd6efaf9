from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.core.db import SHANGHAI, utcnow
from portal.extensions import db
from tests.orgs.conftest import org_body, valid_uscc

URBAN = "210802001001"


def later(days: float) -> str:
    return (datetime.now(SHANGHAI) + timedelta(days=days)).replace(microsecond=0).isoformat()


CRITERIA = [{"name": "服务方案", "weight": 40}, {"name": "团队能力", "weight": 30},
            {"name": "预算合理性", "weight": 30}]


@pytest.fixture
def people(yingkou, make_user):
    make_user("admin", "admin")
    make_user("city", ("bureau", "2108"))
    make_user("zhanqian", ("bureau", "210802"))
    make_user("bayuquan", ("bureau", "210804"))
    make_user("worker", ("community_worker", URBAN))
    make_user("judge", ("evaluator", "210802"))
    for name in ("boss", "filer", "rival", "rev1", "rev2", "rev3", "nobody"):
        make_user(name)


@pytest.fixture
def orgs(client, token, people):
    """Three active organisations: registered (boss), filed (filer), registered (rival)."""
    made = {}
    for admin, registration, n in (("boss", "registered", 1), ("filer", "filed", 2),
                                   ("rival", "registered", 3)):
        body = org_body(name=f"{admin}的组织", registration=registration)
        if registration == "registered":
            body["uscc"] = valid_uscc(n)
        response = client.post("/api/v1/orgs", headers=token(admin), json=body)
        assert response.status_code == 201, response.get_json()
        org_id = response.get_json()["id"]
        review = client.post(f"/api/v1/orgs/{org_id}/review", headers=token("zhanqian"),
                             json={"decision": "approve", "comment": "ok"})
        assert review.status_code == 200, review.get_json()
        made[admin] = org_id
    return made


@pytest.fixture
def catalogue_item(client, token, people):
    year = (datetime.now(SHANGHAI) + timedelta(days=10)).year  # the year of the deadline
    item = client.post("/api/v1/catalogue", headers=token("city"), json={
        "area_code": "2108", "year": year, "name": "居家养老上门服务", "category": "养老服务",
        "unit": "人次"})
    assert item.status_code == 201, item.get_json()
    assert client.post("/api/v1/catalogue/publish", headers=token("city"),
                       json={"area_code": "2108", "year": year}).status_code == 200
    return item.get_json()["id"]


@pytest.fixture
def project(client, token, people, catalogue_item):
    """project(kind=..., **fields) -> the created project's JSON (a draft)."""
    def create(kind="venture_philanthropy", by="zhanqian", **fields):
        body = {"title": "社区助老公益创投", "kind": kind, "area_code": "210802",
                "budget": "50000.00", "description": "为独居老人提供探访服务",
                "bid_deadline": later(10), "criteria": CRITERIA}
        if kind == "government_purchase":
            body["catalogue_item_id"] = catalogue_item
            body["title"] = "居家养老上门服务采购"
        body.update(fields)
        response = client.post("/api/v1/projects", headers=token(by), json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()
    return create


@pytest.fixture
def published(client, token, project):
    def make(**fields):
        created = project(**fields)
        response = client.post(f"/api/v1/projects/{created['id']}/publish",
                               headers=token("zhanqian"))
        assert response.status_code == 200, response.get_json()
        return response.get_json()
    return make


def close_bidding(app, project_id):
    """Move the deadline into the past (as time would)."""
    from portal.projects.models import Project

    with app.app_context():
        db.session.execute(sa.update(Project).where(Project.id == project_id)
                           .values(bid_deadline=utcnow() - timedelta(minutes=1)))
        db.session.commit()


@pytest.fixture
def pool(client, token, people):
    ids = {}
    for name in ("rev1", "rev2", "rev3"):
        uid = client.get("/api/v1/me", headers=token(name)).get_json()["id"]
        response = client.post("/api/v1/reviewer-pool", headers=token("zhanqian"),
                               json={"area_code": "210802", "user_id": uid})
        assert response.status_code == 201, response.get_json()
        ids[name] = uid
    return ids
