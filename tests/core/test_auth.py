"""Signing in: tokens, the page, failures and lock-outs, revocation and expiry."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.core.db import utcnow
from portal.core.users import ApiToken
from portal.extensions import db


@pytest.fixture
def alice(yingkou, make_user):
    make_user("alice", ("bureau", "2108"))
    make_user("bob", "reviewer")


def bad(client, username, addr="10.0.0.1"):
    return client.post("/api/v1/auth/tokens", json={"username": username, "password": "wrong!!"},
                       environ_base={"REMOTE_ADDR": addr})


def test_token_is_issued_and_stored_only_as_a_hash(app, client, alice):
    response = client.post("/api/v1/auth/tokens",
                           json={"username": "alice", "password": "correct-horse-1"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["user"] == {"id": 1, "username": "alice", "roles": ["bureau"]}
    assert "+" in body["expires_at"] or body["expires_at"].endswith("Z")
    with app.app_context():
        stored = db.session.scalars(sa.select(ApiToken.token_hash)).all()
    assert body["token"] not in stored and len(stored) == 1
    me = client.get("/api/v1/me", headers={"Authorization": "Bearer " + body["token"]})
    assert me.get_json()["username"] == "alice"


def test_wrong_password_and_unknown_user_are_401(client, alice):
    assert bad(client, "alice").status_code == 401
    unknown = bad(client, "nobody")
    assert unknown.status_code == 401
    assert unknown.get_json()["error"]["code"] == "unauthorized"


def test_ten_failures_lock_that_username_only(client, alice):
    for _ in range(10):
        assert bad(client, "alice").status_code == 401
    locked = bad(client, "alice")
    assert locked.status_code == 429
    assert locked.get_json()["error"]["code"] == "rate_limited"
    # even the right password is refused while locked
    right = client.post("/api/v1/auth/tokens",
                        json={"username": "alice", "password": "correct-horse-1"})
    assert right.status_code == 429
    # another username from the same address is not affected
    ok = client.post("/api/v1/auth/tokens", json={"username": "bob", "password": "correct-horse-1"},
                     environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert ok.status_code == 201


def test_fifty_failures_lock_that_address_only(client, alice):
    for i in range(50):
        assert bad(client, f"user{i}", addr="10.0.0.9").status_code == 401
    assert bad(client, "someone", addr="10.0.0.9").status_code == 429
    ok = client.post("/api/v1/auth/tokens", json={"username": "bob", "password": "correct-horse-1"},
                     environ_base={"REMOTE_ADDR": "10.0.0.10"})
    assert ok.status_code == 201


def test_only_failures_count(client, alice):
    for _ in range(15):
        ok = client.post("/api/v1/auth/tokens",
                         json={"username": "alice", "password": "correct-horse-1"})
        assert ok.status_code == 201
    for _ in range(9):
        assert bad(client, "alice").status_code == 401
    assert client.post("/api/v1/auth/tokens",
                       json={"username": "alice", "password": "correct-horse-1"}).status_code == 201


def test_old_failures_leave_the_window(app, client, alice, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FAILURE_WINDOW_SECONDS", 1)
    for _ in range(10):
        bad(client, "alice")
    assert bad(client, "alice").status_code == 429
    import time

    time.sleep(1.2)
    assert bad(client, "alice").status_code == 401


def test_sign_in_page_shares_the_lock(client, alice, login):
    for _ in range(10):
        bad(client, "alice")
    response = login("alice")
    assert response.status_code == 429
    assert "15" in response.get_data(as_text=True)


def test_revoked_token_is_refused(client, alice, token):
    headers = token("alice")
    assert client.delete("/api/v1/auth/tokens/current", headers=headers).status_code == 204
    again = client.get("/api/v1/me", headers=headers)
    assert again.status_code == 401
    assert client.delete("/api/v1/auth/tokens/current").status_code == 401


def test_expired_token_is_refused(app, client, alice, token):
    headers = token("alice")
    with app.app_context():
        row = db.session.scalars(sa.select(ApiToken)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Basic abc", "Bearer nonsense", "token"])
def test_malformed_authorization_is_401(client, alice, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_session_cookie_never_authorises_api_writes(client, alice, login):
    assert login("alice").status_code == 302
    assert client.get("/api/v1/me").status_code == 200  # reads are fine
    response = client.post("/api/v1/areas", json={"code": "210802001009", "name": "x"})
    assert response.status_code == 401


def test_login_page_signs_in_and_out_with_secure_cookie_flags(client, alice, login):
    response = login("alice")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    home = client.get("/")
    assert "alice" in home.get_data(as_text=True)
    page = client.get("/logout")
    from tests.conftest import csrf_token

    out = client.post("/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert out.status_code == 302
    assert "alice" not in client.get("/").get_data(as_text=True)


def test_login_redirects_only_to_local_pages(client, alice):
    from tests.conftest import csrf_token

    page = client.get("/login")
    response = client.post("/login?next=https://evil.example/", data={
        "username": "alice", "password": "correct-horse-1",
        "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.headers["Location"] == "/"


def test_forms_without_csrf_token_are_refused(client, alice):
    response = client.post("/login", data={"username": "alice", "password": "correct-horse-1"})
    assert response.status_code == 400
    assert "alice" not in client.get("/").get_data(as_text=True)


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    from portal.core.crypto import new_fernet_key

    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("ID_ENCRYPTION_KEY", new_fernet_key())
    monkeypatch.setenv("ID_HASH_KEY", "y" * 40)
    monkeypatch.setenv("CERTIFICATE_KEY", "z" * 40)
    from portal.config import load_settings

    settings = load_settings(str(tmp_path))
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "secret_key").exists()  # production never makes its own secrets
    for name in ("SECRET_KEY", "ID_HASH_KEY", "CERTIFICATE_KEY"):
        value = settings[name] if name != "SECRET_KEY" else "x" * 40
        monkeypatch.delenv(name)
        with pytest.raises(RuntimeError):
            load_settings(str(tmp_path))
        monkeypatch.setenv(name, value)
