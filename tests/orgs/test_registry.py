"""The registry: registration rules, the bureau's review, edits and resubmission, lists."""

import pytest
import sqlalchemy as sa

from portal.core.audit import AuditEntry
from portal.core.users import User
from portal.extensions import db
from portal.orgs.models import Org
from tests.orgs.conftest import RURAL, URBAN, org_body, valid_uscc


def test_anyone_signed_in_registers_and_becomes_its_admin(app, client, people, token):
    response = client.post("/api/v1/orgs", headers=token("founder"), json=org_body())
    assert response.status_code == 201
    org = response.get_json()
    assert org["status"] == "pending" and org["registration"] == "filed" and org["uscc"] is None
    with app.app_context():
        founder = db.session.scalar(sa.select(User).where(User.username == "founder"))
        assert founder.roles == ["org_admin"]
        assert org["admins"] == [founder.id]
    assert client.post("/api/v1/orgs", json=org_body()).status_code == 401


def test_registered_needs_a_valid_uscc_and_gets_its_legal_type(client, people, token):
    no_code = client.post("/api/v1/orgs", headers=token("founder"),
                          json=org_body(registration="registered"))
    assert no_code.status_code == 422 and "uscc" in no_code.get_json()["error"]["fields"]
    bad = client.post("/api/v1/orgs", headers=token("founder"),
                      json=org_body(registration="registered", uscc="52210800MJ00000100"))
    assert bad.status_code == 422 and "uscc" in bad.get_json()["error"]["fields"]
    good = client.post("/api/v1/orgs", headers=token("founder"),
                       json=org_body(registration="registered", uscc=valid_uscc(1, "53")))
    assert good.status_code == 201
    assert good.get_json()["legal_type"] == "foundation"


def test_a_company_code_is_not_a_civil_affairs_registration(client, people, token):
    response = client.post("/api/v1/orgs", headers=token("founder"),
                           json=org_body(registration="registered", uscc="91110000802100433B"))
    assert response.status_code == 422
    assert "uscc" in response.get_json()["error"]["fields"]


def test_filed_groups_have_no_uscc(client, people, token):
    response = client.post("/api/v1/orgs", headers=token("founder"),
                           json=org_body(uscc=valid_uscc(2)))
    assert response.status_code == 422 and "uscc" in response.get_json()["error"]["fields"]


def test_duplicate_uscc_is_409(client, people, token):
    code = valid_uscc(3)
    assert client.post("/api/v1/orgs", headers=token("founder"), json=org_body(
        registration="registered", uscc=code)).status_code == 201
    again = client.post("/api/v1/orgs", headers=token("other"), json=org_body(
        name="另一个", registration="registered", uscc=code.lower()))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"


def test_a_failing_code_waits_for_the_bureaus_recorded_reason(client, people, token):
    failing = "52210800MJ00000100"
    plain = client.post("/api/v1/orgs", headers=token("founder"), json=org_body(
        registration="registered", uscc=failing))
    assert plain.status_code == 422 and "uscc" in plain.get_json()["error"]["fields"]
    confirmed = client.post("/api/v1/orgs", headers=token("founder"), json=org_body(
        registration="registered", uscc=failing, uscc_confirmed=True))
    assert confirmed.status_code == 201, confirmed.get_json()
    org = confirmed.get_json()
    assert org["uscc_check_failed"] is True and org["uscc_override_reason"] is None
    url = f"/api/v1/orgs/{org['id']}"
    waiting = client.post(url + "/review", headers=token("zhanqian"),
                          json={"decision": "approve"})
    assert waiting.status_code == 422 and "uscc" in waiting.get_json()["error"]["fields"]
    by_applicant = client.patch(url, headers=token("founder"),
                                json={"uscc_override_reason": "证书如此"})
    assert by_applicant.status_code == 403
    elsewhere = client.patch(url, headers=token("bayuquan"),
                             json={"uscc_override_reason": "x"})
    assert elsewhere.status_code == 404
    recorded = client.patch(url, headers=token("zhanqian"),
                            json={"uscc_override_reason": "已核对登记证书原件，代码即如此"})
    assert recorded.status_code == 200, recorded.get_json()
    trail = client.get(f"/api/v1/audit?object_type=org&object_id={org['id']}",
                       headers=token("zhanqian")).get_json()["items"]
    override = [r for r in trail if r["action"] == "uscc_override"]
    assert override and override[0]["reason"] == "已核对登记证书原件，代码即如此"
    assert override[0]["by"] == "zhanqian"
    assert client.post(url + "/review", headers=token("zhanqian"),
                       json={"decision": "approve"}).get_json()["status"] == "active"


def test_the_bureau_never_overrides_or_reviews_its_own_application(client, people, token):
    own = client.post("/api/v1/orgs", headers=token("zhanqian"), json=org_body(
        registration="registered", uscc="52210800MJ00000100", uscc_override_reason="x"))
    assert own.status_code == 403
    mine = client.post("/api/v1/orgs", headers=token("zhanqian"), json=org_body()).get_json()
    review = client.post(f"/api/v1/orgs/{mine['id']}/review", headers=token("zhanqian"),
                         json={"decision": "approve"})
    assert review.status_code == 403
    by_city = client.post(f"/api/v1/orgs/{mine['id']}/review", headers=token("city"),
                          json={"decision": "approve"})
    assert by_city.status_code == 200


@pytest.mark.contention
def test_simultaneous_reviews_decide_once(app, client, people, token, new_org):
    import threading

    org = new_org()
    headers = token("zhanqian")
    results = []
    barrier = threading.Barrier(6)

    def review(decision):
        local = app.test_client()
        barrier.wait()
        response = local.post(f"/api/v1/orgs/{org['id']}/review", headers=headers,
                              json={"decision": decision, "comment": "并发"})
        results.append(response.status_code)

    threads = [threading.Thread(target=review, args=("approve" if i % 2 else "reject",))
               for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409, 409, 409, 409, 409]
    trail = client.get(f"/api/v1/audit?object_type=org&object_id={org['id']}",
                       headers=headers).get_json()["items"]
    assert len([r for r in trail if r["action"].startswith("review:")]) == 1


def test_an_approved_org_moves_only_within_the_bureaus_area(client, people, token, active_org):
    org = active_org()
    url = f"/api/v1/orgs/{org['id']}"
    assert client.patch(url, headers=token("zhanqian"),
                        json={"community_code": RURAL}).status_code == 403
    assert client.patch(url, headers=token("city"),
                        json={"community_code": RURAL}).status_code == 200


def test_edits_are_audited_with_old_and_new_values(client, people, token, new_org):
    org = new_org()
    client.patch(f"/api/v1/orgs/{org['id']}", headers=token("founder"),
                 json={"contact_name": "李叔叔"})
    trail = client.get(f"/api/v1/audit?object_type=org&object_id={org['id']}",
                       headers=token("zhanqian")).get_json()["items"]
    edit = trail[-1]
    assert edit["action"] == "edit"
    assert "王阿姨" in edit["from"] and "李叔叔" in edit["to"]


@pytest.mark.parametrize("field,value", [
    ("community_code", "210802001"), ("community_code", "210802001999"),
    ("contact_phone", "12345"), ("category", "pets"), ("registration", "maybe"),
    ("name", ""), ("founded_on", "2999-01-01"), ("founded_on", "yesterday"), ("rating", "6A"),
])
def test_invalid_fields_are_422_on_the_field(client, people, token, field, value):
    response = client.post("/api/v1/orgs", headers=token("founder"),
                           json=org_body(**{field: value}))
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("reviewer,status", [
    ("zhanqian", 200), ("city", 200), ("bayuquan", 404), ("worker", 403), ("founder", 403),
    ("admin", 403), ("other", 404),
])
def test_only_the_bureau_of_the_area_reviews(client, people, token, new_org, reviewer, status):
    org = new_org()
    response = client.post(f"/api/v1/orgs/{org['id']}/review", headers=token(reviewer),
                           json={"decision": "approve"})
    assert response.status_code == status
    if status == 200:
        assert response.get_json()["status"] == "active"


def test_review_decisions_keep_their_comment(client, people, token, new_org):
    org = new_org()
    missing = client.post(f"/api/v1/orgs/{org['id']}/review", headers=token("zhanqian"),
                          json={"decision": "reject"})
    assert missing.status_code == 422 and "comment" in missing.get_json()["error"]["fields"]
    bad = client.post(f"/api/v1/orgs/{org['id']}/review", headers=token("zhanqian"),
                      json={"decision": "maybe", "comment": "x"})
    assert bad.status_code == 422
    ok = client.post(f"/api/v1/orgs/{org['id']}/review", headers=token("zhanqian"),
                     json={"decision": "reject", "comment": "名称与章程不符"})
    assert ok.get_json()["status"] == "rejected"
    trail = client.get(f"/api/v1/audit?object_type=org&object_id={org['id']}",
                       headers=token("zhanqian")).get_json()["items"]
    assert trail[-1]["from"] == "pending" and trail[-1]["to"] == "rejected"
    assert trail[-1]["reason"] == "名称与章程不符"
    again = client.post(f"/api/v1/orgs/{org['id']}/review", headers=token("zhanqian"),
                        json={"decision": "approve"})
    assert again.status_code == 409


def test_changes_requested_then_edit_and_resubmit(client, people, token, new_org):
    org = new_org()
    client.post(f"/api/v1/orgs/{org['id']}/review", headers=token("zhanqian"),
                json={"decision": "request_changes", "comment": "请补充联系人"})
    edited = client.patch(f"/api/v1/orgs/{org['id']}", headers=token("founder"),
                          json={"contact_name": "李叔叔", "name": "八田地邻里互助会"})
    assert edited.status_code == 200 and edited.get_json()["name"] == "八田地邻里互助会"
    assert client.patch(f"/api/v1/orgs/{org['id']}", headers=token("other"),
                        json={"name": "x"}).status_code == 404
    resubmitted = client.post(f"/api/v1/orgs/{org['id']}/resubmit", headers=token("founder"),
                              json={"comment": "已补充"})
    assert resubmitted.get_json()["status"] == "pending"
    assert client.post(f"/api/v1/orgs/{org['id']}/resubmit", headers=token("founder"),
                       json={}).status_code == 409


def test_an_active_orgs_admin_edits_contact_only(client, people, token, active_org):
    org = active_org()
    ok = client.patch(f"/api/v1/orgs/{org['id']}", headers=token("founder"),
                      json={"contact_phone": "0417-2812345"})
    assert ok.status_code == 200 and ok.get_json()["contact_phone"] == "0417-2812345"
    graded = client.patch(f"/api/v1/orgs/{org['id']}", headers=token("founder"),
                          json={"rating": "5A"})
    assert graded.status_code == 409  # the evaluation grade is the bureau's
    moved = client.patch(f"/api/v1/orgs/{org['id']}", headers=token("founder"),
                         json={"community_code": RURAL})
    assert moved.status_code == 409
    by_bureau = client.patch(f"/api/v1/orgs/{org['id']}", headers=token("city"),
                             json={"community_code": RURAL, "rating": "3A"})
    assert by_bureau.status_code == 200 and by_bureau.get_json()["rating"] == "3A"


def test_suspend_reinstate_dissolve(client, people, token, active_org):
    org = active_org()
    url = f"/api/v1/orgs/{org['id']}/status"
    assert client.post(url, headers=token("founder"), json={"to": "suspended",
                                                             "comment": "x"}).status_code == 403
    assert client.post(url, headers=token("zhanqian"), json={"to": "suspended"}).status_code == 422
    assert client.post(url, headers=token("zhanqian"), json={
        "to": "suspended", "comment": "未按期年检"}).get_json()["status"] == "suspended"
    assert client.post(url, headers=token("zhanqian"), json={
        "to": "active", "comment": "已年检"}).get_json()["status"] == "active"
    assert client.post(url, headers=token("zhanqian"), json={
        "to": "dissolved", "comment": "注销"}).get_json()["status"] == "dissolved"
    assert client.post(url, headers=token("zhanqian"), json={
        "to": "active", "comment": "x"}).status_code == 409


def test_lists_show_active_to_everyone_and_the_rest_to_local_staff(client, people, token,
                                                                  new_org, active_org):
    active_org(name="活跃组织")
    new_org(name="待审组织")
    public = client.get("/api/v1/orgs").get_json()
    assert [o["name"] for o in public["items"]] == ["活跃组织"]
    assert "contact_phone" not in public["items"][0]
    local = client.get("/api/v1/orgs?per_page=50", headers=token("zhanqian")).get_json()
    assert {o["name"] for o in local["items"]} == {"活跃组织", "待审组织"}
    pending = client.get("/api/v1/orgs?status=pending", headers=token("zhanqian")).get_json()
    assert [o["name"] for o in pending["items"]] == ["待审组织"]
    elsewhere = client.get("/api/v1/orgs", headers=token("bayuquan")).get_json()
    assert [o["name"] for o in elsewhere["items"]] == ["活跃组织"]
    assert client.get(f"/api/v1/orgs?community={URBAN}&category=mutual_aid").get_json()[
        "total"] == 1
    assert client.get("/api/v1/orgs?status=sleeping").status_code == 422


def test_a_pending_org_is_hidden_from_the_public(client, people, token, new_org):
    org = new_org()
    assert client.get(f"/api/v1/orgs/{org['id']}").status_code == 404
    assert client.get(f"/orgs/{org['id']}").status_code == 404
    assert client.get(f"/api/v1/orgs/{org['id']}", headers=token("founder")).status_code == 200


def test_admins_add_other_admins(app, client, people, token, new_org):
    org = new_org()
    url = f"/api/v1/orgs/{org['id']}/admins"
    assert client.post(url, headers=token("other"), json={"username": "other"}).status_code == 404
    assert client.post(url, headers=token("founder"), json={"username": "nobody"}
                       ).status_code == 422
    assert client.post(url, headers=token("founder"), json={"username": "other"}
                       ).status_code == 201
    assert client.post(url, headers=token("founder"), json={"username": "other"}
                       ).status_code == 409
    assert client.patch(f"/api/v1/orgs/{org['id']}", headers=token("other"),
                        json={"contact_name": "新联系人"}).status_code == 200


def test_a_failed_registration_writes_nothing(app, client, people, token):
    client.post("/api/v1/orgs", headers=token("founder"), json=org_body(contact_phone="1"))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Org)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.object_type == "org")) == 0
        founder = db.session.scalar(sa.select(User).where(User.username == "founder"))
        assert founder.roles == []


def test_area_filters_take_codes_only(client, people, token, active_org):
    active_org()
    assert client.get("/api/v1/orgs?area=2108").get_json()["total"] == 1
    assert client.get("/api/v1/orgs?area=210802001").get_json()["total"] == 1
    assert client.get("/api/v1/orgs?area=210804").get_json()["total"] == 0
    assert client.get("/api/v1/orgs?area=%25").get_json()["total"] == 0
    assert client.get("/api/v1/orgs?area=2_08").get_json()["total"] == 0
