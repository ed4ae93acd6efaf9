"""The incubation pipeline: who applies, who moves it, what moves are legal, what is kept."""

from datetime import timedelta

import pytest

from portal.core.db import utcnow
from portal.extensions import db
from portal.orgs.models import Incubation


@pytest.fixture
def applied(client, people, token, active_org):
    org = active_org()
    response = client.post("/api/v1/incubations", headers=token("founder"),
                           json={"org_id": org["id"], "plan": "一年内建立志愿服务队"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["stage"] == "applied" and body["days_in_stage"] == 0
    return body


def move(client, token, incubation_id, to, by="zhanqian", comment=None):
    return client.post(f"/api/v1/incubations/{incubation_id}/transition", headers=token(by),
                       json={"to": to, "comment": comment})


def test_only_an_active_orgs_admin_applies(client, people, token, new_org, active_org):
    pending = new_org(name="待审")
    refused = client.post("/api/v1/incubations", headers=token("founder"),
                          json={"org_id": pending["id"], "plan": "x"})
    assert refused.status_code == 422 and "org_id" in refused.get_json()["error"]["fields"]
    org = active_org(name="已批准")
    assert client.post("/api/v1/incubations", headers=token("other"),
                       json={"org_id": org["id"], "plan": "x"}).status_code == 403
    assert client.post("/api/v1/incubations", headers=token("zhanqian"),
                       json={"org_id": org["id"], "plan": "x"}).status_code == 403
    no_plan = client.post("/api/v1/incubations", headers=token("founder"),
                          json={"org_id": org["id"], "plan": " "})
    assert no_plan.status_code == 422


def test_one_open_application_per_org(client, token, applied):
    again = client.post("/api/v1/incubations", headers=token("founder"),
                        json={"org_id": applied["org_id"], "plan": "again"})
    assert again.status_code == 409
    move(client, token, applied["id"], "withdrawn", by="founder")
    later = client.post("/api/v1/incubations", headers=token("founder"),
                        json={"org_id": applied["org_id"], "plan": "再试一次"})
    assert later.status_code == 201


def test_the_whole_way_to_graduation_keeps_every_move(client, token, applied):
    for stage in ("admitted", "incubating", "graduated"):
        response = move(client, token, applied["id"], stage, comment=f"→ {stage}")
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["stage"] == stage
    item = client.get(f"/api/v1/incubations/{applied['id']}", headers=token("founder")).get_json()
    assert [(m["from"], m["to"]) for m in item["moves"]] == [
        (None, "applied"), ("applied", "admitted"), ("admitted", "incubating"),
        ("incubating", "graduated")]
    assert item["moves"][2]["by"] == "zhanqian" and item["moves"][2]["comment"] == "→ incubating"
    assert all(m["at"] for m in item["moves"])


@pytest.mark.parametrize("path,to", [
    ([], "graduated"), ([], "incubating"), (["admitted"], "graduated"),
    (["admitted", "incubating"], "rejected"), (["rejected"], "admitted"),
    (["withdrawn"], "applied"), ([], "applied"),
])
def test_illegal_moves_are_409(client, token, applied, path, to):
    for stage in path:
        assert move(client, token, applied["id"], stage, comment="x").status_code == 200
    response = move(client, token, applied["id"], to)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "conflict"


@pytest.mark.parametrize("actor,to,status", [
    ("founder", "admitted", 403), ("founder", "withdrawn", 200), ("city", "admitted", 200),
    ("bayuquan", "admitted", 404), ("worker", "admitted", 404), ("admin", "admitted", 403),
    ("other", "withdrawn", 404), ("zhanqian", "banana", 422),
])
def test_who_moves_an_application(client, token, applied, actor, to, status):
    assert move(client, token, applied["id"], to, by=actor).status_code == status


def test_pipeline_list_for_the_bureau_with_days_in_stage(app, client, token, applied):
    with app.app_context():
        incubation = db.session.get(Incubation, applied["id"])
        incubation.stage_since = utcnow() - timedelta(days=12)
        db.session.commit()
    items = client.get("/api/v1/incubations?stage=applied", headers=token("city")).get_json()
    assert items["total"] == 1 and items["items"][0]["days_in_stage"] == 12
    assert client.get("/api/v1/incubations?area=210804", headers=token("city")).get_json()[
        "total"] == 0
    assert client.get("/api/v1/incubations", headers=token("bayuquan")).get_json()["total"] == 0
    assert client.get("/api/v1/incubations?area=210802",
                      headers=token("bayuquan")).status_code == 403
    assert client.get("/api/v1/incubations", headers=token("founder")).status_code == 403
    assert client.get("/api/v1/incubations?stage=hatched", headers=token("city")).status_code \
        == 422


def test_pipeline_page_counts_and_highlights_the_stuck(app, client, token, applied, login):
    move(client, token, applied["id"], "admitted")
    move(client, token, applied["id"], "incubating")
    with app.app_context():
        incubation = db.session.get(Incubation, applied["id"])
        incubation.stage_since = utcnow() - timedelta(days=400)
        db.session.commit()
    login("zhanqian")
    html = client.get("/incubations?lang=en").get_data(as_text=True)
    assert 'data-stage="incubating">1<' in html and 'data-stage="applied">0<' in html
    assert "stuck" in html and "400 days" in html
    zh = client.get("/incubations?lang=zh").get_data(as_text=True)
    assert "孵化" in zh
    filtered = client.get("/incubations?county=210802").get_data(as_text=True)
    assert 'data-stage="incubating">1<' in filtered
    assert client.get("/incubations?county=210804").status_code == 403
