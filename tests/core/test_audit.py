"""The audit trail: written with every change, append-only in the database, read by scope."""

import pytest
import sqlalchemy as sa

from portal.core.audit import AuditEntry
from portal.extensions import db


@pytest.fixture
def people(yingkou, make_user):
    make_user("admin", "admin")
    make_user("city", ("bureau", "2108"))
    make_user("zhanqian", ("bureau", "210802"))
    make_user("bayuquan", ("bureau", "210804"))
    make_user("worker", ("community_worker", "210802001001"))


def test_changes_are_audited_with_who_what_and_to(client, people, token):
    created = client.post("/api/v1/areas", headers=token("zhanqian"),
                          json={"code": "210802001007", "name": "新社区"})
    assert created.status_code == 201
    rows = client.get("/api/v1/audit?object_type=area&object_id=210802001007",
                      headers=token("zhanqian")).get_json()["items"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["by"], row["action"], row["to"]) == ("zhanqian", "create", "新社区")
    assert set(row) >= {"at", "by", "action", "from", "to", "reason"}


def test_refused_change_leaves_no_audit_row(app, client, people, token):
    client.post("/api/v1/areas", headers=token("zhanqian"),
                json={"code": "210802001450", "name": "x"})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.object_id == "210802001450")) == 0


def test_rows_come_oldest_first(client, people, token):
    client.post("/api/v1/users", headers=token("city"), json={
        "username": "newbie", "password": "a-long-password", "roles": ["community_worker"],
        "area_code": "210802001001"})
    rows = client.get("/api/v1/audit?object_type=user&object_id=6",
                      headers=token("city")).get_json()["items"]
    assert [r["action"] for r in rows] == ["create"]
    ats = [r["at"] for r in client.get("/api/v1/audit?object_type=area&object_id=2108",
                                       headers=token("admin")).get_json()["items"]]
    assert ats == sorted(ats)


@pytest.mark.parametrize("reader,status", [
    ("admin", 200), ("city", 200), ("zhanqian", 200), ("bayuquan", 403), ("worker", 403),
])
def test_who_reads_an_objects_trail(client, people, token, reader, status):
    response = client.get("/api/v1/audit?object_type=area&object_id=210802001001",
                          headers=token(reader))
    assert response.status_code == status


def test_unknown_object_is_404_and_missing_params_422(client, people, token):
    assert client.get("/api/v1/audit?object_type=area&object_id=9999",
                      headers=token("city")).status_code == 404
    assert client.get("/api/v1/audit?object_type=area",
                      headers=token("city")).status_code == 422
    assert client.get("/api/v1/audit?object_type=area&object_id=2108").status_code == 401


def test_the_database_refuses_to_change_or_delete_audit_rows(app, people):
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) > 0
        db.session.rollback()  # free the database for the raw connection below
        for statement in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"):
            with pytest.raises(sa.exc.DatabaseError) as refused, db.engine.begin() as conn:
                conn.execute(sa.text(statement))
            assert "append-only" in str(refused.value)
        entry = db.session.scalars(sa.select(AuditEntry)).first()
        entry.action = "forged"
        with pytest.raises(RuntimeError):
            db.session.flush()
        db.session.rollback()


def test_audit_page_for_the_bureau(client, people, login):
    login("zhanqian")
    page = client.get("/audit/area/210802001001")
    assert page.status_code == 200 and "八田地社区" in page.get_data(as_text=True)
    html = page.get_data(as_text=True)  # a way back to the object, and to the whole log
    assert 'id="audit-back"' in html and 'href="/areas/210802001001"' in html
    assert 'href="/audit"' in html
    assert client.get("/audit/area/210804100201").status_code == 403
    assert client.get("/audit/area/999").status_code == 404


def test_every_audited_action_has_a_title():
    """The trail is read by people: each action the code records is named in both languages."""
    import re
    from pathlib import Path

    from portal.core.audit import ACTION_TITLES

    root = Path(__file__).resolve().parents[2] / "portal"
    found = set()
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'record\([^()]*?"[a-z_]+", [^,()]+, "([a-z_:]+)"', text))
        found |= set(re.findall(r'action="([a-z_]+)"', text))
        found |= set(re.findall(r'"(conflict_declared|score|correction_accepted|'
                                r'correction_declined)"', text))
    assert found, "no audited actions found: the pattern no longer matches the code"
    missing = sorted(a for a in found if a not in ACTION_TITLES)
    assert missing == []


def test_the_bureau_searches_its_area_wide_audit_log(client, people, login, token):
    from datetime import date, timedelta

    client.post("/api/v1/areas", headers=token("zhanqian"),
                json={"code": "210802001007", "name": "新站前社区"})
    client.post("/api/v1/areas", headers=token("bayuquan"),
                json={"code": "210804100207", "name": "新鲅鱼圈村"})
    login("zhanqian")
    html = client.get("/audit?lang=en").get_data(as_text=True)
    assert 'id="audit-rows"' in html and "新站前社区" in html and "新鲅鱼圈村" not in html
    found = client.get("/audit?q=新站前&type=area").get_data(as_text=True)
    assert "210802001007" in found and "210802001001" not in found
    assert "210802001007" not in client.get("/audit?type=org").get_data(as_text=True)
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    assert "210802001007" not in client.get(f"/audit?from={tomorrow}").get_data(as_text=True)
    assert "210802001007" in client.get("/audit?to=" + tomorrow).get_data(as_text=True)
    assert client.get("/audit?from=not-a-date").status_code == 200
    login("bayuquan")
    assert "新鲅鱼圈村" in client.get("/audit").get_data(as_text=True)
    assert "新站前社区" not in client.get("/audit").get_data(as_text=True)
    login("admin")
    everything = client.get("/audit").get_data(as_text=True)
    assert "新站前社区" in everything and "新鲅鱼圈村" in everything
    login("worker")
    assert client.get("/audit").status_code == 403
