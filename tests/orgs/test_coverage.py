"""The coverage indicators: the counting rule at its edges, scopes, workers, the pages."""

import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from portal.core.users import User
from portal.extensions import db
from portal.orgs.models import Org, OrgState
from tests.orgs.conftest import RURAL, URBAN


@pytest.fixture
def orgs_in(app):
    """orgs_in(community, n, status='active', registration='filed')."""
    def create(community: str, n: int, status: str = "active", registration: str = "filed"):
        with app.app_context():
            for i in range(n):
                from portal.orgs import uscc

                db.session.add(Org(
                    name=f"组织{community}-{status}-{i}", category="mutual_aid",
                    registration=registration, community_code=community,
                    uscc=uscc.make("52210800", f"{community[-4:]}{i:04d}")
                    if registration == "registered" else None,
                    legal_type="private_non_enterprise" if registration == "registered" else None,
                    contact_name="x", contact_phone="13800138000", status=OrgState(status)))
            db.session.commit()
    return create


def coverage(client, token, area="2108", by="city"):
    response = client.get(f"/api/v1/stats/org-coverage?area={area}", headers=token(by))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def row(data, code):
    return next(c for c in data["communities"] if c["code"] == code)


@pytest.mark.parametrize("n,meets", [(9, False), (10, True), (11, True)])
def test_urban_target_is_10(client, people, token, orgs_in, n, meets):
    orgs_in(URBAN, n)
    r = row(coverage(client, token), URBAN)
    assert (r["active_orgs"], r["target"], r["meets_target"], r["kind"]) == (n, 10, meets,
                                                                              "urban")


@pytest.mark.parametrize("n,meets", [(2, False), (3, True)])
def test_rural_target_is_3(client, people, token, orgs_in, n, meets):
    orgs_in(RURAL, n)
    r = row(coverage(client, token), RURAL)
    assert (r["active_orgs"], r["target"], r["meets_target"], r["kind"]) == (n, 3, meets, "rural")


def test_only_active_orgs_count_registered_and_filed_alike(client, people, token, orgs_in):
    orgs_in(RURAL, 1, registration="filed")
    orgs_in(RURAL, 1, registration="registered")
    for status in ("pending", "rejected", "suspended", "dissolved", "changes_requested"):
        orgs_in(RURAL, 2, status=status)
    r = row(coverage(client, token), RURAL)
    assert r["active_orgs"] == 2 and not r["meets_target"]


def test_summary_urban_rural_and_the_short_list(client, people, token, orgs_in, add_community):
    add_community("210802001002", "胜利社区")
    orgs_in(URBAN, 10)
    orgs_in("210802001002", 4)
    orgs_in(RURAL, 3)
    data = coverage(client, token)
    summary = data["summary"]
    assert (summary["communities"], summary["meeting_target"]) == (3, 2)
    assert (summary["urban"]["communities"], summary["urban"]["meeting_target"]) == (2, 1)
    assert (summary["rural"]["communities"], summary["rural"]["meeting_target"]) == (1, 1)
    assert summary["average_per_community"] == round(17 / 3, 2)
    assert [(s["code"], s["lacking"]) for s in data["short"]] == [("210802001002", 6)]
    assert {c["code"] for c in data["children"]} >= {"210802", "210804"}
    zq = next(c for c in data["children"] if c["code"] == "210802")
    assert (zq["communities"], zq["meeting_target"]) == (2, 1)
    county = coverage(client, token, area="210802")
    assert county["summary"]["communities"] == 2
    assert county["area"]["code"] == "210802"


def test_children_read_as_the_areas_with_their_own_communities(app, client, people, token,
                                                               orgs_in):
    """The child areas come in the communities' statement, not as ORM objects: each reads as the
    area's own dictionary, with the tallies of its communities only; a township lists none."""
    from portal.core.areas import Area

    orgs_in(URBAN, 10)
    orgs_in(RURAL, 3)
    data = coverage(client, token)
    with app.app_context():
        expected = [a.to_dict() for a in db.session.scalars(
            sa.select(Area).where(Area.parent_code == "2108").order_by(Area.code))]
    tallies = {"communities", "meeting_target", "share_meeting", "active_orgs",
               "average_per_community"}
    assert [{k: v for k, v in c.items() if k not in tallies} for c in data["children"]] \
        == expected
    by_code = {c["code"]: c for c in data["children"]}
    assert (by_code["210802"]["communities"], by_code["210802"]["active_orgs"]) == (1, 10)
    assert (by_code["210804"]["communities"], by_code["210804"]["active_orgs"]) == (1, 3)
    assert sum(c["communities"] for c in data["children"]) == data["summary"]["communities"]
    township = coverage(client, token, area=URBAN[:9])
    assert township["children"] == [] and township["summary"]["communities"] == 1


def test_coverage_counts_what_the_session_has_not_flushed(app, people):
    """coverage() reads on the session's connection: pending changes are flushed first, as the
    ORM's own queries would."""
    from portal.core.areas import Area
    from portal.orgs.queries import coverage as coverage_of

    with app.app_context():
        city = db.session.get(Area, "2108")
        db.session.add(Org(name="未提交的组织", category="mutual_aid", registration="filed",
                           community_code=URBAN, contact_name="x",
                           contact_phone="13800138000", status=OrgState.active))
        result = coverage_of(city, indicators=False)
        assert next(r for r in result.rows if r.code == URBAN).active_orgs == 1
        db.session.rollback()


def test_targets_are_settings(app, client, people, token, orgs_in, monkeypatch):
    orgs_in(URBAN, 8)
    monkeypatch.setitem(app.config, "URBAN_ORG_TARGET", 8)
    assert row(coverage(client, token), URBAN)["meets_target"] is True


@pytest.mark.parametrize("by,area,status", [
    ("city", "2108", 200), ("zhanqian", "210802", 200), ("zhanqian", "2108", 403),
    ("bayuquan", "210802", 403), ("worker", URBAN, 200), ("worker", "210802001", 403),
    ("worker", RURAL, 403), ("founder", URBAN, 403), ("admin", "2108", 200),
])
def test_who_sees_which_area(client, people, token, by, area, status):
    response = client.get(f"/api/v1/stats/org-coverage?area={area}", headers=token(by))
    assert response.status_code == status


def test_the_default_area_is_the_callers_own(client, people, token):
    assert client.get("/api/v1/stats/org-coverage", headers=token("worker")).get_json()[
        "area"]["code"] == URBAN
    assert client.get("/api/v1/stats/org-coverage").status_code == 401


def test_worker_indicators(app, client, people, token, add_community):
    # 八田地社区 5,000 urban residents: 9 community workers → 18 per 10,000; 2 certified → 22.2 %
    for i in range(9):
        body = {"name": f"社工{i}", "kind": "community_worker",
                "certificate": "assistant" if i < 2 else "none",
                "employer_community_code": URBAN}
        assert client.post("/api/v1/workers", headers=token("worker"), json=body).status_code \
            == 201
    rural = {"name": "村干部", "kind": "community_worker", "certificate": "senior",
             "employer_community_code": RURAL}
    assert client.post("/api/v1/workers", headers=token("worker"), json=rural).status_code == 403
    assert client.post("/api/v1/workers", headers=token("bayuquan"), json=rural).status_code \
        == 201
    assert "indicators" not in coverage(client, token)
    indicators = client.get("/api/v1/stats/indicators?area=2108",
                            headers=token("city")).get_json()["indicators"]
    assert indicators["urban_community_workers"] == 9
    assert indicators["community_workers_per_10k_urban"] == 18.0
    assert indicators["certified_share_urban"] == 22.2
    assert indicators["registered_volunteers"] == 0
    assert indicators["volunteers_per_100_residents"] == 0.0


def test_workers_validation_and_scope(client, people, token, active_org):
    org = active_org()
    both = {"name": "x", "kind": "social_worker", "employer_org_id": org["id"],
            "employer_community_code": URBAN}
    assert client.post("/api/v1/workers", headers=token("founder"), json=both).status_code == 422
    ok = {"name": "小李", "kind": "social_worker", "certificate": "intermediate",
          "employer_org_id": org["id"], "phone": "13912345678"}
    created = client.post("/api/v1/workers", headers=token("founder"), json=ok)
    assert created.status_code == 201 and created.get_json()["area_code"] == URBAN
    assert client.post("/api/v1/workers", headers=token("other"), json=ok).status_code == 403
    bad = dict(ok, certificate="guru")
    assert client.post("/api/v1/workers", headers=token("founder"), json=bad).status_code == 422
    listed = client.get("/api/v1/workers", headers=token("founder")).get_json()
    assert [w["name"] for w in listed["items"]] == ["小李"]


@pytest.mark.parametrize("lang,word", [("zh", "未达标社区"),
                                       ("en", "Communities short of the target")])
def test_dashboard_page_with_chart_in_both_languages(client, people, login, orgs_in, lang, word):
    orgs_in(URBAN, 4)
    login("city")
    html = client.get(f"/dashboard?lang={lang}").get_data(as_text=True)
    assert word in html
    assert "<svg" in html and "<rect" in html and "<script" not in html.split("<footer")[0]
    assert 'class="lacking">6<' in html
    drill = client.get("/dashboard?area=210802").get_data(as_text=True)
    assert "八田地街道" in drill
    # ... down to a community, which lists its organisations (the active ones first).
    orgs_in(URBAN, 1, status="pending")
    community = client.get(f"/dashboard?area={URBAN}&lang={lang}").get_data(as_text=True)
    listed = community[community.index('id="community-orgs"'):]
    assert listed.count("/orgs/") == 5
    assert listed.index(f"组织{URBAN}-active-0") < listed.index(f"组织{URBAN}-pending-0")


def test_dashboard_scopes_for_pages(client, people, login):
    login("worker")
    assert client.get("/dashboard").status_code == 200
    assert client.get("/dashboard?area=210802").status_code == 403
    assert client.get("/dashboard?area=210804100201").status_code == 403


def test_excel_export_has_chinese_headers_and_the_numbers(client, people, login, orgs_in):
    orgs_in(URBAN, 7)
    login("zhanqian")
    response = client.get("/dashboard/export.xlsx?area=210802")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    assert {"概况", "各社区", "未达标社区", "队伍指标"} <= set(book.sheetnames)
    short = book["未达标社区"]
    assert [c.value for c in short[1]] == ["社区代码", "社区名称", "类型", "活跃社区社会组织数",
                                           "目标", "尚缺"]
    assert [c.value for c in short[2]] == [URBAN, "八田地社区", "城市社区", 7, 10, 3]
    assert client.get("/dashboard/export.xlsx?area=210804").status_code == 403
    # A title row says what, where and when; the file's name is Chinese with the date.
    summary = book["概况"]
    assert summary["A1"].value.startswith("社区社会组织覆盖与专栏1指标（站前区）")
    assert "导出时间" in summary["A1"].value
    assert [c.value for c in summary[2]][:2] == ["类别", "社区数"]
    assert summary.freeze_panes == "A3"
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in disposition and "%E7%AB%99%E5%89%8D%E5%8C%BA" in disposition
    # Columns fit Chinese text (a character counts twice).
    assert short.column_dimensions["B"].width >= len("八田地社区") * 2


def test_user_model_unchanged_by_reads(app, people):
    with app.app_context():
        assert db.session.query(User).count() == 7


@pytest.mark.parametrize("by,area,status", [("city", "2108", 200), ("worker", URBAN, 200),
                                            ("worker", "210802", 403), ("founder", URBAN, 403)])
def test_indicators_have_the_same_scopes(client, people, token, by, area, status):
    assert client.get(f"/api/v1/stats/indicators?area={area}",
                      headers=token(by)).status_code == status
