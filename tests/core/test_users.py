"""Accounts, roles and scopes: who may create whom."""

import pytest
import sqlalchemy as sa

from portal.core.users import User
from portal.extensions import db


@pytest.fixture
def staff(yingkou, make_user):
    make_user("admin", "admin")
    make_user("city", ("bureau", "2108"))
    make_user("zhanqian", ("bureau", "210802"))
    make_user("worker", ("community_worker", "210802001001"))
    make_user("vol", "volunteer")


def new(username, roles, area=None):
    body = {"username": username, "password": "a-long-password", "roles": roles}
    if area:
        body["area_code"] = area
    return body


@pytest.mark.parametrize("actor,body,status", [
    ("admin", new("auser1", ["admin"]), 201),
    ("admin", new("auser2", ["bureau"], "2108"), 201),
    ("city", new("cuser1", ["community_worker"], "210804100201"), 201),
    ("city", new("cuser2", ["bureau"], "210881"), 201),
    ("city", new("cuser3", ["admin"]), 403),
    ("city", new("cuser4", ["reviewer"]), 201),
    ("city", new("cuser5", []), 201),
    ("zhanqian", new("zuser1", ["community_worker"], "210802001001"), 201),
    ("zhanqian", new("zuser2", ["community_worker"], "210804100201"), 403),
    ("zhanqian", new("zuser3", ["bureau"], "2108"), 403),
    ("zhanqian", new("zuser4", ["bureau", "admin"], "210802"), 403),
    ("worker", new("wuser1", ["volunteer"]), 403),
    ("vol", new("vuser1", []), 403),
])
def test_who_may_create_which_account(client, staff, token, actor, body, status):
    response = client.post("/api/v1/users", headers=token(actor), json=body)
    assert response.status_code == status, response.get_json()
    if status == 201:
        data = response.get_json()
        assert data["username"] == body["username"]
        assert data["roles"] == body["roles"]
        assert data["area_code"] == body.get("area_code")
    else:
        assert response.get_json()["error"]["code"] == "forbidden"


def test_anonymous_gets_401(client, staff):
    response = client.post("/api/v1/users", json=new("xuser1", []))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_forbidden_caller_gets_403_even_with_a_bad_body(client, staff, token):
    response = client.post("/api/v1/users", headers=token("worker"), json={"username": 3})
    assert response.status_code == 403


@pytest.mark.parametrize("body,field", [
    (new("x", ["community_worker"], "210802001001"), "username"),
    (new("okname", ["community_worker"]), "area_code"),
    (new("okname", ["bureau"], "210802001"), "area_code"),          # a township
    (new("okname", ["community_worker"], "210802"), "area_code"),   # a county
    (new("okname", ["community_worker"], "210802001999"), "area_code"),
    (new("okname", ["pope"]), "roles"),
    ({"username": "okname", "password": "short", "roles": []}, "password"),
    ({"password": "a-long-password"}, "username"),
])
def test_invalid_accounts_are_422_on_the_field(client, staff, token, body, field):
    response = client.post("/api/v1/users", headers=token("admin"), json=body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]


def test_wrong_types_are_400(client, staff, token):
    response = client.post("/api/v1/users", headers=token("admin"),
                           json={"username": "ok", "password": "a-long-password", "roles": "admin"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


def test_duplicate_username_is_409_and_nothing_half_written(app, client, staff, token):
    first = client.post("/api/v1/users", headers=token("admin"), json=new("dup", ["reviewer"]))
    assert first.status_code == 201
    again = client.post("/api/v1/users", headers=token("admin"), json=new("dup", ["volunteer"]))
    assert again.status_code == 409
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "dup"))
        assert user.roles == ["reviewer"]


def test_password_is_stored_as_argon2id(app, staff):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "admin"))
        assert user.password_hash.startswith("$argon2id$")
        assert "correct-horse" not in user.password_hash


def test_bureau_lists_only_accounts_in_its_area(client, staff, token):
    names = {u["username"] for u in
             client.get("/api/v1/users", headers=token("zhanqian")).get_json()["items"]}
    assert names == {"zhanqian", "worker"}
    everyone = client.get("/api/v1/users?per_page=100", headers=token("admin")).get_json()
    assert everyone["total"] == 5
    assert client.get("/api/v1/users", headers=token("worker")).status_code == 403


def test_cli_creates_users(app, yingkou):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["users", "create", "operator", "--password", "a-long-password",
                             "--role", "bureau", "--area", "2108"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(args=["users", "create", "operator2", "--password", "a-long-password",
                              "--role", "bureau"])
    assert bad.exit_code != 0 and "area" in bad.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "operator"))
        assert user.roles == ["bureau"]
