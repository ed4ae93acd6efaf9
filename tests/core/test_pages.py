"""Pages: what each role sees, areas and accounts through forms, friendly errors."""

import re

import pytest
import sqlalchemy as sa

from portal.core.areas import Area, AreaKind
from portal.extensions import db
from tests.conftest import csrf_token


@pytest.fixture
def people(yingkou, make_user):
    make_user("admin", "admin")
    make_user("zhanqian", ("bureau", "210802"))
    make_user("worker", ("community_worker", "210802001001"))
    make_user("vol", "volunteer")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_admin_sees_6_counties_and_70_townships(client, people, login, lang):
    login("admin")
    city = client.get(f"/areas/2108?lang={lang}").get_data(as_text=True)
    assert 'id="child-count">6<' in city
    for name in ("站前区", "西市区", "鲅鱼圈区", "老边区", "盖州市", "大石桥市"):
        assert name in city
    townships = sum(int(n) for n in re.findall(r"<td>(\d+)</td></tr>", city))
    assert townships == 70


def test_admin_adds_a_community_whose_kind_follows_the_code(app, client, people, login):
    login("admin")
    page = client.get("/areas/210802001")
    assert page.status_code == 200
    response = client.post("/areas/210802001/children", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "code": "210802001210",
        "name": "八田地村", "population": "1200", "households": "400"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Area, "210802001210").kind is AreaKind.rural
    assert "八田地村" in client.get("/areas/210802001").get_data(as_text=True)


@pytest.mark.parametrize("lang,text", [("zh", "001–199"), ("en", "001–199")])
def test_a_bad_code_is_explained_next_to_the_field(app, client, people, login, lang, text):
    login("admin")
    page = client.get(f"/areas/210802001?lang={lang}")
    response = client.post("/areas/210802001/children", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "code": "210802001777",
        "name": "x"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "is-invalid" in html and text in html
    with app.app_context():
        assert db.session.get(Area, "210802001777") is None


def test_no_add_form_outside_ones_area(client, people, login):
    login("zhanqian")
    assert "<form" in client.get("/areas/210802001").get_data(as_text=True).split("</nav>", 2)[2]
    other = client.get("/areas/210804100").get_data(as_text=True)
    assert 'action="/areas/210804100/children"' not in other
    page = client.get("/areas/210802001")
    response = client.post("/areas/210804100/children", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "code": "210804100205",
        "name": "x"})
    assert response.status_code == 403


def test_bureau_creates_a_community_worker_by_form(app, client, people, login):
    login("zhanqian")
    page = client.get("/users/new")
    assert page.status_code == 200
    assert 'value="admin"' not in page.get_data(as_text=True)
    response = client.post("/users/new", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "username": "xiaowang",
        "password": "a-long-password", "roles": ["community_worker"],
        "area_code": "210802001001"})
    assert response.status_code == 302
    listing = client.get("/users").get_data(as_text=True)
    assert "xiaowang" in listing and "vol" not in listing.split("<tbody>")[1]


def test_bureau_cannot_create_staff_outside_its_area_by_form(client, people, login):
    login("zhanqian")
    page = client.get("/users/new")
    response = client.post("/users/new", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "username": "outsider",
        "password": "a-long-password", "roles": ["community_worker"],
        "area_code": "210804100201"})
    assert response.status_code == 403


@pytest.mark.parametrize("user,path,status", [
    (None, "/users", 302), ("vol", "/users", 403), ("worker", "/users/new", 403),
    ("zhanqian", "/users", 200), ("admin", "/users", 200), (None, "/areas/0000", 404),
])
def test_page_permissions(client, people, login, user, path, status):
    if user:
        login(user)
    assert client.get(path).status_code == status


@pytest.mark.parametrize("user,heading", [
    ("admin", "Administration"), ("zhanqian", "Civil affairs bureau"),
    ("worker", "Community worker"), ("vol", "Volunteer"),
])
def test_home_shows_each_role_its_next_steps(client, people, login, user, heading):
    login(user)
    html = client.get("/?lang=en").get_data(as_text=True)
    steps = html.split('id="next-steps"')[1]
    assert heading in steps


def test_friendly_403_in_both_languages(client, people, login):
    login("vol")
    zh = client.get("/users?lang=zh")
    assert zh.status_code == 403 and "无权访问" in zh.get_data(as_text=True)
    en = client.get("/users?lang=en")
    assert en.status_code == 403 and "Not allowed" in en.get_data(as_text=True)


def test_500_is_a_friendly_page(app, client, people, monkeypatch):
    from portal.core import views

    def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "render_template", boom)
    response = client.get("/?lang=en")
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)


def test_english_pages_show_no_untranslated_chinese(app, client, people, login):
    """In English, Chinese may appear only in place names and the language switch."""
    login("admin")
    with app.app_context():
        names = " ".join(db.session.scalars(sa.select(Area.name)))
    for path in ("/", "/users", "/users/new", "/areas/2108", "/areas/210802001", "/logout"):
        html = client.get(path + "?lang=en").get_data(as_text=True)
        text = re.sub(r"<[^>]+>", " ", html)
        for chunk in re.findall(r"[\u4e00-\u9fff]+", text):
            assert chunk == "中文" or chunk in names, (path, chunk)
