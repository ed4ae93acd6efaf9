"""Areas: the import, the community kind rule, the parent rule, and who may add areas."""

import re

import pytest
import sqlalchemy as sa

from portal.core.areas import Area, AreaKind, ImportFailed, import_areas
from portal.extensions import db
from tests.conftest import YINGKOU_CSV


def count(level=None):
    query = sa.select(sa.func.count()).select_from(Area)
    if level:
        query = query.where(Area.level == level)
    return db.session.scalar(query)


def test_yingkou_has_6_counties_and_70_townships(ctx):
    result = import_areas(YINGKOU_CSV.read_text(encoding="utf-8"))
    db.session.commit()
    assert (result.created, count("city"), count("county"), count("township")) == (77, 1, 6, 70)


def test_import_is_idempotent_and_updates_in_place(ctx):
    text = YINGKOU_CSV.read_text(encoding="utf-8")
    import_areas(text)
    db.session.commit()
    again = import_areas(text)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 77)
    renamed = import_areas("code,name,level,parent_code,population\n"
                           "210802,站前区(新),county,2108,120000\n")
    db.session.commit()
    assert renamed.updated == 1 and count() == 77
    assert db.session.get(Area, "210802").population == 120000


def test_import_with_a_bad_row_imports_nothing_and_names_the_lines(ctx):
    text = ("code,name,level,parent_code\n"
            "2108,营口市,city,21\n"
            "210802,站前区,county,2108\n"
            "210802001,八田地街道,township,210802\n"
            "210802001001,好社区,community,210802001\n"
            "210802001450,坏社区,community,210802001\n"     # suffix 450: no community
            "210899001,孤儿街道,township,210899\n"          # parent missing
            "210802002,,township,210802\n")                 # no name
    with pytest.raises(ImportFailed) as failed:
        import_areas(text)
    db.session.rollback()
    assert failed.value.lines == [6, 7, 8]
    assert count() == 0


def test_import_accepts_children_before_parents(ctx):
    text = ("code,name,level,parent_code\n"
            "210802001201,某村,community,210802001\n"
            "210802001,八田地街道,township,210802\n"
            "210802,站前区,county,2108\n"
            "2108,营口市,city,21\n")
    import_areas(text)
    db.session.commit()
    assert db.session.get(Area, "210802001201").kind is AreaKind.rural


def test_import_refuses_a_level_that_contradicts_the_code(ctx):
    with pytest.raises(ImportFailed) as failed:
        import_areas("code,name,level,parent_code\n2108,营口市,county,21\n")
    assert failed.value.lines == [2]


def test_import_cli_reports_errors_and_exit_code(app, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,level,parent_code\n2108,营口市,city,21\n21080,x,county,2108\n",
                   encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["areas", "import", str(bad)])
    assert result.exit_code == 1
    assert "第 3 行" in result.output and "第 2 行" not in result.output
    ok = runner.invoke(args=["areas", "import", str(YINGKOU_CSV)])
    assert ok.exit_code == 0 and re.search(r"\b77\b", ok.output)
    again = runner.invoke(args=["areas", "import", str(YINGKOU_CSV)])
    assert re.findall(r"\d+", again.output) == ["0", "0", "77"]


# --- the API ------------------------------------------------------------------------------------

@pytest.mark.parametrize("code,kind", [
    ("210802001001", "urban"), ("210802001199", "urban"),
    ("210802001200", "rural"), ("210802001399", "rural"),
])
def test_community_kind_follows_its_code(client, yingkou, make_user, token, code, kind):
    make_user("admin", "admin")
    if code == "210802001001":
        code = "210802001002"
    response = client.post("/api/v1/areas", headers=token("admin"),
                           json={"code": code, "name": "测试社区", "population": 5200,
                                 "households": 1900, "parent_code": "210802001"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["kind"] == kind
    assert response.get_json()["level"] == "community"


@pytest.mark.parametrize("suffix", ["000", "400", "999"])
def test_community_code_outside_001_399_is_refused(client, yingkou, make_user, token, suffix):
    make_user("admin", "admin")
    response = client.post("/api/v1/areas", headers=token("admin"),
                           json={"code": "210802001" + suffix, "name": "x"})
    assert response.status_code == 422
    assert "code" in response.get_json()["error"]["fields"]


def test_community_parent_must_be_the_township_it_extends(client, yingkou, make_user, token):
    make_user("admin", "admin")
    response = client.post("/api/v1/areas", headers=token("admin"),
                           json={"code": "210802001003", "name": "x", "parent_code": "210802002"})
    assert response.status_code == 422
    assert "parent_code" in response.get_json()["error"]["fields"]
    orphan = client.post("/api/v1/areas", headers=token("admin"),
                         json={"code": "210802099003", "name": "x"})
    assert orphan.status_code == 422


def test_duplicate_area_code_is_a_conflict(client, yingkou, make_user, token):
    make_user("admin", "admin")
    response = client.post("/api/v1/areas", headers=token("admin"),
                           json={"code": "210802001001", "name": "again"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "conflict"


def test_who_may_add_a_community(client, yingkou, make_user, token):
    make_user("city", ("bureau", "2108"))
    make_user("zhanqian", ("bureau", "210802"))
    make_user("worker", ("community_worker", "210802001"))
    body = {"code": "210804100202", "name": "古城村"}
    assert client.post("/api/v1/areas", json=body).status_code == 401
    assert client.post("/api/v1/areas", headers=token("worker"), json=body).status_code == 403
    # 站前区's bureau may not add in 鲅鱼圈区, whatever the body says
    assert client.post("/api/v1/areas", headers=token("zhanqian"), json=body).status_code == 403
    assert client.post("/api/v1/areas", headers=token("zhanqian"),
                       json={"code": "210804100203"}).status_code == 403
    assert client.post("/api/v1/areas", headers=token("city"), json=body).status_code == 201
    ok = client.post("/api/v1/areas", headers=token("zhanqian"),
                     json={"code": "210802001005", "name": "站前新社区"})
    assert ok.status_code == 201


def test_area_list_filters_and_pages(client, yingkou):
    counties = client.get("/api/v1/areas?parent=2108&level=county").get_json()
    assert counties["total"] == 6
    assert {a["code"] for a in counties["items"]} >= {"210802", "210881", "210882"}
    first = counties["items"][0]
    assert set(first) == {"code", "name", "level", "kind", "parent_code", "population",
                          "households"}
    townships = client.get("/api/v1/areas?level=township&per_page=100").get_json()
    assert townships["total"] == 70 and len(townships["items"]) == 70
    page2 = client.get("/api/v1/areas?level=township&per_page=50&page=2").get_json()
    assert len(page2["items"]) == 20
    assert client.get("/api/v1/areas?per_page=101").status_code == 422
    assert client.get("/api/v1/areas?level=planet").status_code == 422
    assert "营口市" in client.get("/api/v1/areas/2108").get_data(as_text=True)
    assert client.get("/api/v1/areas/9999").status_code == 404
