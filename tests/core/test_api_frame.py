"""The API's frame: one error shape for every status, the OpenAPI document, health, headers."""

import re

import pytest

from portal.core.apiframe import openapi_path


def assert_error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_unknown_route_is_404_json(client):
    assert_error(client.get("/api/v1/no/such/thing"), 404, "not_found")
    assert_error(client.post("/api/v1/nothing", json={}), 404, "not_found")


def test_wrong_method_is_405_json(client):
    assert_error(client.put("/api/v1/areas"), 405, "method_not_allowed")


@pytest.mark.parametrize("data,ctype", [
    ("{not json", "application/json"),
    ("[1, 2]", "application/json"),
    ("", "application/json"),
    ("username=x", "application/x-www-form-urlencoded"),
    ("\xff\xfe", "application/json"),
    ("null", "application/json"),
])
def test_malformed_bodies_are_400(client, data, ctype):
    response = client.post("/api/v1/auth/tokens", data=data, content_type=ctype)
    assert_error(response, 400, "bad_request")


def test_too_large_body_is_413(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    response = client.post("/api/v1/auth/tokens", data="x" * 5000,
                           content_type="application/json")
    assert_error(response, 413, "too_large")


def test_validation_error_names_the_fields(client, yingkou, make_user, token):
    make_user("admin", "admin")
    response = client.post("/api/v1/areas", headers=token("admin"), json={"code": "210802001"})
    assert_error(response, 422, "validation_error")
    assert "name" in response.get_json()["error"]["fields"]


def test_messages_follow_the_request_language(client):
    zh = client.get("/api/v1/nothing").get_json()["error"]["message"]
    en = client.get("/api/v1/nothing", headers={"Accept-Language": "en"}).get_json()
    assert re.search(r"[\u4e00-\u9fff]", zh)
    assert en["error"]["message"] == "Not found."


def test_chinese_is_not_escaped(client, yingkou):
    raw = client.get("/api/v1/areas/2108").get_data(as_text=True)
    assert "营口市" in raw and "\\u" not in raw


def test_openapi_lists_every_registered_api_route(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    expected = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                expected.add((openapi_path(rule.rule), method.lower()))
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    assert documented == expected
    assert ("/api/v1/auth/tokens", "post") in documented
    assert ("/api/v1/jobs/{job_id}", "get") in documented
    post_users = spec["paths"]["/api/v1/users"]["post"]
    ref = post_users["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.rsplit("/", 1)[1] in spec["components"]["schemas"]


def test_openapi_describes_query_parameters_of_lists(client):
    spec = client.get("/api/v1/openapi.json").get_json()

    def query(path):
        return {p["name"] for p in spec["paths"][path]["get"].get("parameters", [])
                if p["in"] == "query"}

    assert query("/api/v1/activities") >= {"community", "service_type", "from", "to", "q",
                                           "page", "per_page"}
    for path in ("/api/v1/users", "/api/v1/volunteers", "/api/v1/orgs", "/api/v1/projects",
                 "/api/v1/service-records", "/api/v1/audit"):
        assert {"page", "per_page"} <= query(path), path
    assert query("/api/v1/audit") >= {"object_type", "object_id"}
    assert query("/api/v1/stats/org-coverage") == {"area"}


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["db"] == "ok"
    assert body["queue"] in ("redis", "inline")


def test_healthz_names_an_unreachable_database(app, client, monkeypatch):
    from portal.extensions import db

    def broken(*args, **kwargs):
        raise ConnectionError("down")

    with app.app_context():
        monkeypatch.setattr(db.session, "execute", broken)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["db"] != "ok"


@pytest.mark.parametrize("path", ["/", "/login", "/api/v1/areas", "/nope", "/healthz"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"]


def test_pages_carry_no_inline_script_and_no_cdn(client, yingkou, make_user, login):
    make_user("admin", "admin")
    login("admin")
    for path in ("/", "/login", "/areas/210802001", "/users", "/users/new", "/api/docs"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"(src|href)=\"(https?:)?//", html), path
        assert not re.search(r"<[^>]+\son[a-z]+=", html), path


def test_the_api_is_documented_by_the_portal_itself(client):
    """/api/docs, for anyone (a clone has no api-v1.md beside it): every operation of the
    OpenAPI document, with its parameters and body fields, in both languages' page chrome."""
    spec = client.get("/api/v1/openapi.json").get_json()
    for lang, heading in (("en", "API for developers"), ("zh", "开发者接口")):
        page = client.get(f"/api/docs?lang={lang}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert heading in html
        for path, methods in spec["paths"].items():
            assert f"<code>{path}</code>" in html, path
            for op in methods.values():
                assert op["operationId"].replace(".", "-") in html
    # a body's fields and limits: the signup's volunteer_id, the token's username
    assert "<code>volunteer_id</code>" in html and "<code>username</code>" in html
    assert "/api/docs" in client.get("/login").get_data(as_text=True)  # linked from every page


@pytest.mark.parametrize("body", [
    {"code": None, "name": "x"}, {"code": 210802001009, "name": "x"}, {"code": "x" * 500},
    {"code": "210802001009", "name": "x", "population": -1},
    {"code": "210802001009", "name": "x", "population": "many"},
    {"code": "210802001009", "name": ["x"]}, {"code": "２１０８", "name": "x"},
    {"code": "210802001009", "name": "x", "population": 1e40},
])
def test_odd_bodies_never_500(client, yingkou, make_user, token, body):
    make_user("admin", "admin")
    response = client.post("/api/v1/areas", headers=token("admin"), json=body)
    assert response.status_code in (400, 403, 409, 422), response.get_data(as_text=True)
    assert "error" in response.get_json()


HUGE = "99999999999999999999999"


@pytest.mark.parametrize("method,path,body", [
    ("get", f"/api/v1/orgs/{HUGE}", None),
    ("get", f"/api/v1/incubations/{HUGE}", None),
    ("get", f"/orgs/{HUGE}", None),
    ("get", f"/api/v1/areas?page={HUGE}", None),
    ("get", f"/orgs?page={HUGE}", None),
    ("get", "/api/v1/audit?object_type=org&object_id=²", None),
    ("get", "/api/v1/areas?parent=21%00", None),
    ("get", "/api/v1/orgs?q=a%00", None),
    ("get", "/areas/21%00", None),
    ("post", "/api/v1/auth/tokens", {"username": "a\u0000b", "password": "x"}),
    ("post", "/api/v1/areas", {"code": "210802001009", "name": "a\u0000b"}),
    ("post", "/api/v1/areas", {"code": "210802001009", "name": "x", "population": 3000000000}),
    ("post", "/api/v1/incubations", {"org_id": int(HUGE), "plan": "x"}),
    ("post", "/api/v1/workers", {"name": "x", "kind": "social_worker",
                                 "employer_org_id": int(HUGE)}),
])
def test_malformed_input_never_500(client, yingkou, make_user, token, method, path, body):
    make_user("admin", "admin")
    headers = token("admin")
    response = getattr(client, method)(path, headers=headers, json=body)
    assert response.status_code in (200, 400, 403, 404, 422), (path, response.status_code)


def test_deeply_nested_json_is_400(client):
    body = "[" * 100000 + "]" * 100000
    response = client.post("/api/v1/auth/tokens", data=body, content_type="application/json")
    assert_error(response, 400, "bad_request")


def test_a_nul_in_a_form_is_400(client):
    response = client.post("/login", data={"username": "a\x00b", "password": "x"})
    assert response.status_code == 400


def test_a_search_term_past_its_limit_is_refused_by_its_field_everywhere(client):
    """On SQLite a term of 60,000 commas was a LIKE pattern too large: every list answered 503
    as if the database were down. Now a term is at most 100 characters, on every list."""
    from portal import MAX_SEARCH_TERM

    long = "，" * 60000
    for path in ("/api/v1/needs", "/api/v1/activities", "/api/v1/orgs"):
        zh = client.get(path, query_string={"q": long})
        assert zh.status_code == 422, path
        body = zh.get_json()["error"]
        assert body["code"] == "validation_error"
        assert body["fields"] == {"q": ["搜索词最多 100 个字符。"]}
        en = client.get(path, query_string={"q": long}, headers={"Accept-Language": "en"})
        assert en.get_json()["error"]["fields"]["q"] == [
            "A search term has at most 100 characters."]
        assert client.get(path, query_string={"q": "，" * MAX_SEARCH_TERM}).status_code == 200
    for path in ("/needs", "/activities", "/orgs"):
        page = client.get(path, query_string={"q": long})
        assert page.status_code == 422 and "搜索词最多 100 个字符" in page.get_data(as_text=True)
    for path in ("/needs", "/activities", "/orgs"):   # (the choice of English is remembered)
        page = client.get(path, query_string={"q": long, "lang": "en"})
        assert page.status_code == 422
        assert "A search term has at most 100 characters." in page.get_data(as_text=True)
