"""需求清单 through the API: who may post, the state machine, who sees what, support, merge,
matches, suggestions, resolution, and the refusals (api-v1.md, Needs)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from portal.core.audit import AuditEntry
from portal.core.notify import Notification
from portal.extensions import db
from portal.needs.models import Need, NeedSupport
from tests.residents.conftest import NEED, RURAL, URBAN


def post(client, headers, **fields):
    return client.post("/api/v1/needs", headers=headers, json={**NEED, **fields})


def act(client, headers, need_id, action, body=None):
    return client.post(f"/api/v1/needs/{need_id}/{action}", headers=headers, json=body or {})


# --- posting -----------------------------------------------------------------------------------

def test_a_resident_posts_for_their_own_community_only(client, resident, staff):
    headers = resident("13700000001")
    answer = post(client, headers)
    assert answer.status_code == 201
    body = answer.get_json()
    assert body["status"] == "submitted" and body["community_code"] == URBAN
    assert body["people_affected"] == 12 and body["urgency"] == "urgent"
    assert post(client, headers, community_code=RURAL).status_code == 403
    homeless = resident("13700000002", community=None)
    assert post(client, homeless).status_code == 403
    # authorization before validation: a stranger's bad body is still 403
    assert post(client, headers, community_code=RURAL, category="nonsense").status_code == 403


def test_a_worker_posts_for_a_resident_with_name_and_phone(client, token, staff):
    answer = post(client, token("worker"), channel="phone",
                  on_behalf_of={"name": "李大爷", "phone": "139-0417-0001"})
    assert answer.status_code == 201
    body = answer.get_json()
    assert body["channel"] == "phone"
    assert body["on_behalf_of"] == {"name": "李大爷", "phone_masked": "139****0001",
                                    "phone": "13904170001"}
    missing = post(client, token("worker"))
    assert missing.status_code == 422
    assert "on_behalf_of.name" in missing.get_json()["error"]["fields"]
    bad_phone = post(client, token("worker"), on_behalf_of={"name": "李大爷", "phone": "12"})
    assert list(bad_phone.get_json()["error"]["fields"]) == ["on_behalf_of.phone"]
    assert post(client, token("outsider"), on_behalf_of={"name": "李", "phone": "13900000000"}
                ).status_code == 403


@pytest.mark.parametrize("fields, field", [
    ({"category": "cooking"}, "category"), ({"people_affected": 0}, "people_affected"),
    ({"urgency": "asap"}, "urgency"), ({"channel": "telegram"}, "channel"),
    ({"title": ""}, "title"), ({"description": "  "}, "description"),
    ({"title": "x" * 201}, "title")])
def test_bad_needs_are_422_by_the_field_and_write_nothing(app, client, resident, staff, fields,
                                                          field):
    headers = resident("13700000001")
    for lang in ("zh", "en"):
        answer = client.post(f"/api/v1/needs?lang={lang}", json={**NEED, **fields},
                             headers={**headers, "Accept-Language": lang})
        assert answer.status_code == 422, answer.get_json()
        assert field in answer.get_json()["error"]["fields"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Need)) == 0


def test_a_missing_field_is_422_and_a_wrong_type_400(client, resident, staff):
    headers = resident("13700000001")
    body = {k: v for k, v in NEED.items() if k != "title"}
    assert client.post("/api/v1/needs", headers=headers, json=body).status_code == 422
    assert post(client, headers, people_affected="many").status_code == 400
    # a body that is no JSON object: 400 to one who may post somewhere, 403 to anyone else
    assert client.post("/api/v1/needs", headers=headers, data="nonsense").status_code == 400


# --- the state machine -----------------------------------------------------------------------

def test_verify_reject_and_illegal_moves(app, client, token, need):
    first = need()
    worker = token("worker")
    assert act(client, worker, first["id"], "reject").status_code == 422  # no reason
    verified = act(client, worker, first["id"], "verify", {"comment": "属实"})
    assert verified.status_code == 200 and verified.get_json()["status"] == "verified"
    assert act(client, worker, first["id"], "verify").status_code == 409
    assert act(client, worker, first["id"], "reject", {"reason": "重复"}).status_code == 409
    assert act(client, worker, first["id"], "resolve", {"comment": "好了"}).status_code == 409
    second = need()
    rejected = act(client, worker, second["id"], "reject", {"reason": "不属于社区服务范围"})
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    assert act(client, worker, second["id"], "verify").status_code == 409
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.object_type == "need").order_by(AuditEntry.id)).all()
        assert actions == ["create", "verify", "create", "reject"]


def test_only_the_communitys_workers_and_the_bureau_above_manage(client, token, need):
    need_id = need()["id"]
    for name in ("outsider", "bayuquan"):
        assert act(client, token(name), need_id, "verify").status_code in (403, 404)
    assert act(client, token("township"), need_id, "verify").status_code == 200
    assert act(client, token("zhanqian"), need_id, "merge", {"into": need_id}).status_code == 422


def test_a_resident_cannot_manage_even_their_own(client, resident, token, staff):
    headers = resident("13700000001")
    need_id = post(client, headers).get_json()["id"]
    assert act(client, headers, need_id, "verify").status_code == 403
    assert client.get(f"/api/v1/needs/{need_id}/suggestions", headers=headers).status_code \
        == 403


# --- who sees what ---------------------------------------------------------------------------

def test_the_public_sees_verified_needs_without_personal_data(client, token, need, resident):
    hidden = need()
    shown = need(verify=True)
    behalf = need(by="worker", verify=True, on_behalf_of={"name": "李大爷",
                                                          "phone": "13904170001"})
    listed = client.get("/api/v1/needs").get_json()
    assert {n["id"] for n in listed["items"]} == {shown["id"], behalf["id"]}
    text = str(listed)
    for private in ("李", "13904170001", "0001", "posted_by", "on_behalf_of", "review_comment",
                    "已上门核实"):
        assert private not in text
    assert client.get(f"/api/v1/needs/{hidden['id']}").status_code == 404
    other = resident("13700000009")
    assert client.get(f"/api/v1/needs/{hidden['id']}", headers=other).status_code == 404
    one = client.get(f"/api/v1/needs/{behalf['id']}").get_json()
    assert "on_behalf_of" not in one and "posted_by" not in one


def test_the_poster_sees_their_own_and_staff_see_their_area(client, token, need, resident):
    mine = resident("13700000001")
    submitted = post(client, mine).get_json()
    assert client.get(f"/api/v1/needs/{submitted['id']}", headers=mine).status_code == 200
    own = client.get("/api/v1/needs?mine=1", headers=mine).get_json()
    assert [n["id"] for n in own["items"]] == [submitted["id"]]
    for name, sees in (("worker", True), ("zhanqian", True), ("city", True),
                       ("outsider", False), ("bayuquan", False)):
        listed = client.get("/api/v1/needs", headers=token(name)).get_json()
        assert (submitted["id"] in {n["id"] for n in listed["items"]}) is sees, name


def test_phones_and_names_are_masked_but_to_the_communitys_workers(client, token, need):
    made = need(by="worker", on_behalf_of={"name": "李大爷", "phone": "13904170001"})
    for name, full in (("worker", True), ("township", True), ("zhanqian", False),
                       ("city", False)):
        body = client.get(f"/api/v1/needs/{made['id']}", headers=token(name)).get_json()
        behalf = body["on_behalf_of"]
        assert behalf["phone_masked"] == "139****0001"
        if full:
            assert behalf["name"] == "李大爷" and behalf["phone"] == "13904170001"
        else:
            assert behalf["name"] == "李*" and "phone" not in behalf
            assert "13904170001" not in str(body)


def test_list_filters_and_their_refusals(client, token, need):
    a = need(verify=True, category="health")
    need(verify=True)
    assert [n["id"] for n in client.get("/api/v1/needs?category=health").get_json()["items"]] \
        == [a["id"]]
    assert client.get("/api/v1/needs?q=扶手").get_json()["total"] == 2
    assert client.get("/api/v1/needs?q=%25").get_json()["total"] == 0
    assert client.get(f"/api/v1/needs?community={RURAL}").get_json()["total"] == 0
    assert client.get("/api/v1/needs?older_than_days=1").get_json()["total"] == 0
    assert client.get("/api/v1/needs?status=submitted").get_json()["total"] == 0  # public
    for query, field in (("status=done", "status"), ("category=x", "category"),
                         ("older_than_days=-1", "older_than_days")):
        answer = client.get(f"/api/v1/needs?{query}")
        assert answer.status_code == 422 and field in answer.get_json()["error"]["fields"]


# --- support and merge -------------------------------------------------------------------------

def test_support_once_per_person_and_only_verified(client, token, need, resident):
    made = need(verify=True)
    neighbour = resident("13700000002")
    first = act(client, neighbour, made["id"], "support")
    again = act(client, neighbour, made["id"], "support")
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json() == {"supporters": 1}
    assert act(client, resident("13700000003"), made["id"], "support").get_json() == \
        {"supporters": 2}
    submitted = need()
    assert act(client, token("worker"), submitted["id"], "support").status_code == 409
    assert act(client, neighbour, submitted["id"], "support").status_code == 404  # unseen
    assert client.post(f"/api/v1/needs/{made['id']}/support").status_code == 401


@pytest.mark.contention
def test_thirty_supports_at_once_count_thirty(app, client, need, resident):
    made = need(verify=True)
    headers = [resident(f"1370000{i:04d}", community=None) for i in range(10, 40)]
    barrier = threading.Barrier(len(headers) * 2)
    codes: list[int] = []

    def go(h):
        barrier.wait()
        codes.append(app.test_client().post(f"/api/v1/needs/{made['id']}/support",
                                             headers=h).status_code)
    threads = [threading.Thread(target=go, args=(h,)) for h in headers + headers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 60
    with app.app_context():
        assert db.session.get(Need, made["id"]).supporters == 30
        assert db.session.scalar(sa.select(sa.func.count()).select_from(NeedSupport)) == 30


def test_merge_carries_supporters_over(app, client, token, need, resident):
    kept = need(verify=True)
    duplicate = need(by=resident("13700000005"), verify=True)
    for phone in ("13700000006", "13700000007"):
        act(client, resident(phone), duplicate["id"], "support")
    act(client, resident("13700000006"), kept["id"], "support")  # both: counted once
    answer = act(client, token("worker"), duplicate["id"], "merge", {"into": kept["id"]})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["id"] == kept["id"]
    assert answer.get_json()["supporters"] == 3  # 06, 07 and the duplicate's poster
    gone = client.get(f"/api/v1/needs/{duplicate['id']}", headers=token("worker")).get_json()
    assert gone["status"] == "merged" and gone["merged_into_id"] == kept["id"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(NeedSupport).where(
            NeedSupport.need_id == kept["id"])) == 3
    assert act(client, token("worker"), duplicate["id"], "merge", {"into": kept["id"]}
               ).status_code == 409


def test_merge_only_within_the_community(client, token, need):
    here = need()
    there = need(by="outsider", community_code=RURAL,
                 on_behalf_of={"name": "张", "phone": "13900000000"})
    for into in (there["id"], here["id"], 999999):
        answer = act(client, token("city"), here["id"], "merge", {"into": into})
        assert answer.status_code == 422 and "into" in answer.get_json()["error"]["fields"]
    for malformed in ("x", 2 ** 40, True, None, [1]):  # the issue: malformed ids are 422
        answer = act(client, token("city"), here["id"], "merge", {"into": malformed})
        assert answer.status_code == 422 and "into" in answer.get_json()["error"]["fields"]


# --- matching and resolving ------------------------------------------------------------------

@pytest.fixture
def resources(client, token, app):
    """An active organisation, an open activity of the kind and an open call of the county."""
    from tests.orgs.conftest import org_body
    from tests.projects.conftest import CRITERIA, later

    org = client.post("/api/v1/orgs", headers=token("worker"),
                      json=org_body(category="life_service")).get_json()
    client.post(f"/api/v1/orgs/{org['id']}/review", headers=token("zhanqian"),
                json={"decision": "approve", "comment": "ok"})
    activity = client.post("/api/v1/activities", headers=token("worker"), json={
        "title": "助老上门", "community_code": URBAN, "service_type": "elderly_care",
        "skills": [], "location": "八田地社区", "shifts": [
            {"starts_at": later(3), "ends_at": later(3.1), "capacity": 5}]}).get_json()
    project = client.post("/api/v1/projects", headers=token("zhanqian"), json={
        "title": "助老公益创投", "kind": "venture_philanthropy", "area_code": "210802",
        "budget": "50000.00", "bid_deadline": later(10), "criteria": CRITERIA}).get_json()
    assert client.post(f"/api/v1/projects/{project['id']}/publish",
                       headers=token("zhanqian")).status_code == 200
    return {"org": org["id"], "activity": activity["id"], "project": project["id"]}


def test_suggestions_say_why(client, token, need, resources):
    made = need(verify=True)
    answer = client.get(f"/api/v1/needs/{made['id']}/suggestions", headers=token("worker"))
    assert answer.status_code == 200
    items = {(i["kind"], i["target_id"]): i for i in answer.get_json()["items"]}
    activity = items[("activity", resources["activity"])]
    assert activity["reasons"] == ["service_type:elderly_care", "same_community"]
    org = items[("org", resources["org"])]
    assert "org_category:life_service" in org["reasons"] and "same_community" in org["reasons"]
    assert "open_call" in items[("project", resources["project"])]["reasons"]
    scores = [i["score"] for i in answer.get_json()["items"]]
    assert scores == sorted(scores, reverse=True)
    assert client.get(f"/api/v1/needs/{made['id']}/suggestions",
                      headers=token("outsider")).status_code in (403, 404)


def test_match_then_resolve_and_the_poster_is_told(app, client, token, need, resources):
    made = need(verify=True)
    worker = token("worker")
    for body, field in (({"kind": "activity", "target_id": 999999}, "target_id"),
                        ({"kind": "activity", "target_id": "abc"}, "target_id"),
                        ({"kind": "org", "target_id": 2 ** 40}, "target_id"),
                        ({"kind": "fund", "target_id": 1}, "target_id"),
                        ({"kind": "shop", "target_id": 1}, "kind")):
        answer = act(client, worker, made["id"], "matches", body)
        assert answer.status_code == 422 and field in answer.get_json()["error"]["fields"]
    first = act(client, worker, made["id"], "matches",
                {"kind": "activity", "target_id": resources["activity"], "note": "周三上门"})
    assert first.status_code == 201 and first.get_json()["need"]["status"] == "matched"
    second = act(client, worker, made["id"], "matches",
                 {"kind": "org", "target_id": resources["org"]})
    assert second.status_code == 201
    assert act(client, worker, made["id"], "matches",
               {"kind": "org", "target_id": resources["org"]}).status_code == 409
    body = client.get(f"/api/v1/needs/{made['id']}").get_json()
    assert [m["kind"] for m in body["matches"]] == ["activity", "org"]
    assert body["matches"][0]["title"] == "助老上门"
    assert act(client, worker, made["id"], "resolve").status_code == 422
    done = act(client, worker, made["id"], "resolve", {"comment": "扶手已修好"})
    assert done.status_code == 200 and done.get_json()["status"] == "resolved"
    assert act(client, worker, made["id"], "matches",
               {"kind": "project", "target_id": resources["project"]}).status_code == 409
    with app.app_context():
        kinds = db.session.scalars(sa.select(Notification.kind).order_by(Notification.id)).all()
        assert kinds == ["need_verified", "need_matched", "need_matched", "need_resolved",
                         "rating_asked"]  # (好差评: how did it go?)


def test_a_submitted_need_is_not_matched(client, token, need, resources):
    made = need()
    answer = act(client, token("worker"), made["id"], "matches",
                 {"kind": "org", "target_id": resources["org"]})
    assert answer.status_code == 409


# --- projects citing needs ---------------------------------------------------------------------

def test_projects_cite_needs_publishing_matches_closing_resolves(app, client, token, need):
    from tests.projects.conftest import CRITERIA, later

    cited = need(verify=True)
    elsewhere = need(by="outsider", verify=False, community_code=RURAL,
                     on_behalf_of={"name": "张", "phone": "13900000000"})
    unverified = need()
    body = {"title": "楼道改造", "kind": "venture_philanthropy", "area_code": "210802",
            "budget": "20000.00", "bid_deadline": later(10), "criteria": CRITERIA}
    for bad in ([elsewhere["id"]], [unverified["id"]], [999999], ["x"], [2 ** 40], "5",
                [cited["id"], cited["id"]]):
        answer = client.post("/api/v1/projects", headers=token("zhanqian"),
                             json={**body, "need_ids": bad})
        assert answer.status_code == 422, bad
        assert "need_ids" in answer.get_json()["error"]["fields"]
    project = client.post("/api/v1/projects", headers=token("zhanqian"),
                          json={**body, "need_ids": [cited["id"]]}).get_json()
    assert project["need_ids"] == [cited["id"]]
    assert client.get(f"/api/v1/needs/{cited['id']}").get_json()["status"] == "verified"
    client.post(f"/api/v1/projects/{project['id']}/publish", headers=token("zhanqian"))
    now = client.get(f"/api/v1/needs/{cited['id']}").get_json()
    assert now["status"] == "matched"
    assert now["matches"][0]["kind"] == "project" and now["projects"][0]["id"] == project["id"]
    from portal.projects.models import Project, ProjectState

    with app.app_context():  # the bid, review and award are the projects module's tests
        db.session.execute(sa.update(Project).where(Project.id == project["id"]).values(
            status=ProjectState.awarded))
        db.session.commit()
    closed = client.post(f"/api/v1/projects/{project['id']}/evaluation",
                         headers=token("zhanqian"), json={"score": 92, "comment": "好"})
    assert closed.status_code == 200, closed.get_json()
    assert client.get(f"/api/v1/needs/{cited['id']}").get_json()["status"] == "resolved"


# --- figures -----------------------------------------------------------------------------------

def test_stats_by_status_category_stale_and_median(app, client, token, need, resources,
                                                   monkeypatch):
    from datetime import timedelta

    from portal.core.db import utcnow

    a, b = need(verify=True), need(verify=True, category="health")
    need()
    need(verify=True)
    act(client, token("worker"), a["id"], "matches", {"kind": "org", "target_id": resources["org"]})
    with app.app_context():  # b was verified 40 days ago and is still unmatched: stale
        db.session.execute(sa.update(Need).where(Need.id == b["id"]).values(
            verified_at=utcnow() - timedelta(days=40)))
        db.session.execute(sa.update(Need).where(Need.id == a["id"]).values(
            verified_at=utcnow() - timedelta(days=34), minutes_to_match=4 * 1440))
        db.session.commit()
    stats = client.get("/api/v1/stats/needs?area=210802", headers=token("zhanqian")).get_json()
    assert stats["by_status"]["verified"] == 2 and stats["by_status"]["matched"] == 1
    assert stats["by_status"]["submitted"] == 1
    assert stats["by_category"] == {"elderly_care": 3, "health": 1}
    assert stats["stale"] == 1
    assert stats["median_days_to_match"] == 4.0
    assert stats["matched_within_30_days_share"] == 0.5  # a on time, b not
    monkeypatch.setitem(app.config, "NEED_STALE_DAYS", 60)
    assert client.get("/api/v1/stats/needs?area=210802",
                      headers=token("zhanqian")).get_json()["stale"] == 0
    assert client.get(f"/api/v1/stats/needs?area={URBAN}",
                      headers=token("worker")).status_code == 200
    for name, area in (("worker", "210802"), ("outsider", URBAN), ("bayuquan", "210802")):
        assert client.get(f"/api/v1/stats/needs?area={area}",
                          headers=token(name)).status_code == 403
    assert client.get("/api/v1/stats/needs?area=210802999", headers=token("city")).status_code \
        == 404


# --- from the users' trial -------------------------------------------------------------------

def test_a_digit_that_is_not_ascii_is_a_422_not_a_500(client, need):
    for value in ("²", "３", "٣"):
        answer = client.get(f"/api/v1/needs?older_than_days={value}")
        assert answer.status_code == 422, value
        assert client.get(f"/needs?older_than_days={value}").status_code == 200


def test_a_draft_call_citing_a_need_is_not_shown_to_the_public(client, token, need):
    from tests.projects.conftest import CRITERIA, later

    cited = need(verify=True)
    project = client.post("/api/v1/projects", headers=token("zhanqian"), json={
        "title": "草稿项目", "kind": "venture_philanthropy", "area_code": "210802",
        "budget": "20000.00", "bid_deadline": later(10), "criteria": CRITERIA,
        "need_ids": [cited["id"]]}).get_json()
    public = client.get(f"/api/v1/needs/{cited['id']}").get_json()
    assert public["projects"] == []
    assert "草稿项目" not in client.get(f"/needs/{cited['id']}").get_data(as_text=True)
    staff = client.get(f"/api/v1/needs/{cited['id']}", headers=token("zhanqian")).get_json()
    assert [p["id"] for p in staff["projects"]] == [project["id"]]


def test_staff_do_not_become_residents(client, token, staff, make_user):
    for name in ("worker", "zhanqian"):
        answer = client.patch("/api/v1/me", json={"community_code": URBAN},
                              headers=token(name))
        assert answer.status_code == 403
        assert "resident" not in client.get("/api/v1/me", headers=token(name)).get_json()[
            "roles"]
    make_user("plainvol", "volunteer")
    assert client.patch("/api/v1/me", json={"community_code": URBAN},
                        headers=token("plainvol")).status_code == 200


def test_a_resident_cannot_post_for_someone_else(client, resident, staff):
    answer = post(client, resident("13700000001"),
                  on_behalf_of={"name": "张三", "phone": "13811112222"})
    assert answer.status_code == 422 and "on_behalf_of" in answer.get_json()["error"]["fields"]


def test_a_residents_community_is_the_default_and_bad_bodies_are_400(client, resident,
                                                                      staff):
    headers = resident("13700000001")
    body = {k: v for k, v in NEED.items() if k != "community_code"}
    made = client.post("/api/v1/needs", headers=headers, json=body)
    assert made.status_code == 201 and made.get_json()["community_code"] == URBAN
    for bad in ("nonsense", "[1, 2]"):
        answer = client.post("/api/v1/needs", headers={**headers,
                                                       "Content-Type": "application/json"},
                             data=bad)
        assert answer.status_code == 400


def test_the_poster_supporting_their_own_need_adds_nothing(client, resident, token, staff):
    headers = resident("13700000001")
    made = post(client, headers).get_json()
    act(client, token("worker"), made["id"], "verify")
    assert act(client, headers, made["id"], "support").get_json() == {"supporters": 0}


def test_workers_see_who_posted_and_how_to_reach_them(client, resident, token, staff):
    made = post(client, resident("13700000001")).get_json()
    worker = client.get(f"/api/v1/needs/{made['id']}", headers=token("worker")).get_json()
    assert worker["posted_by"]["phone"] == "13700000001"
    bureau = client.get(f"/api/v1/needs/{made['id']}", headers=token("zhanqian")).get_json()
    assert bureau["posted_by"]["phone_masked"] == "137****0001"
    assert "phone" not in bureau["posted_by"]


def test_search_is_case_blind_for_latin_letters_and_exact_for_chinese(client, need):
    need(verify=True, title="Broken STAIR rail 扶手")
    assert client.get("/api/v1/needs?q=stair").get_json()["total"] == 1
    assert client.get("/api/v1/needs?q=Stair").get_json()["total"] == 1
    assert client.get("/api/v1/needs?q=扶手").get_json()["total"] == 1
    assert client.get("/api/v1/needs?q=扶梯").get_json()["total"] == 0
