"""Volunteer registration: real names, encrypted IDs, duplicates, minors, limits, scopes."""

import logging
from datetime import date

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.volunteers.idcards import make_resident_id
from portal.volunteers.models import Volunteer

URBAN = "210802001001"
RURAL = "210804100201"
ELDER_ID = make_resident_id("210802", date(1948, 3, 5), 123)   # 站前区 dates from 1983


def body(**overrides):
    data = {"username": "wangayi", "password": "a-long-password", "real_name": "王阿姨",
            "id_number": ELDER_ID, "phone": "13800138000", "community_code": URBAN,
            "skills": ["first_aid"], "service_types": ["elderly_care"],
            "availability": ["sat_morning"]}
    data.update(overrides)
    return data


@pytest.fixture
def staff(yingkou, make_user):
    make_user("worker", ("community_worker", URBAN))
    make_user("township", ("community_worker", "210802001"))
    make_user("bayuquan", ("bureau", "210804"))
    make_user("city", ("bureau", "2108"))


def test_self_registration_derives_and_masks(app, client, staff):
    response = client.post("/api/v1/volunteers", json=body())
    assert response.status_code == 201, response.get_json()
    v = response.get_json()
    assert v["status"] == "registered" and v["volunteer_code"].startswith("YK")
    assert (v["gender"], v["birth_date"]) == ("male", "1948-03-05")
    assert v["id_number_masked"] == ELDER_ID[:4] + "*" * 10 + ELDER_ID[-4:]
    assert ELDER_ID not in response.get_data(as_text=True)
    with app.app_context():
        row = db.session.get(Volunteer, v["id"])
        stored = " ".join(str(getattr(row, c.key)) for c in Volunteer.__table__.columns)
        assert ELDER_ID not in stored and ELDER_ID[6:14] + ELDER_ID[14:] not in stored
        from portal.core import crypto

        assert crypto.decrypt(row.id_number_encrypted) == ELDER_ID
    token = client.post("/api/v1/auth/tokens", json={"username": "wangayi",
                                                     "password": "a-long-password"})
    assert token.get_json()["user"]["roles"] == ["volunteer"]


def test_the_same_number_twice_is_409_even_in_lower_case(client, staff):
    number = next(n for n in (make_resident_id("210811", date(1952, 2, 2), s)
                              for s in range(1000)) if n.endswith("X"))
    assert client.post("/api/v1/volunteers", json=body(id_number=number)).status_code == 201
    again = client.post("/api/v1/volunteers", json=body(username="another",
                                                        id_number=number.lower()))
    assert again.status_code == 409
    assert number not in again.get_data(as_text=True)


def test_a_wrong_number_is_422_and_never_echoed_or_logged(client, staff, caplog):
    wrong = ELDER_ID[:17] + ("1" if ELDER_ID[17] != "1" else "2")
    with caplog.at_level(logging.DEBUG):
        response = client.post("/api/v1/volunteers", json=body(id_number=wrong))
    assert response.status_code == 422
    assert "id_number" in response.get_json()["error"]["fields"]
    assert wrong not in response.get_data(as_text=True)
    assert wrong not in caplog.text


def test_a_minor_needs_a_guardians_recorded_consent(app, client, staff):
    teen = make_resident_id("210802", date(date.today().year - 15, 6, 1), 22)
    refused = client.post("/api/v1/volunteers", json=body(id_number=teen))
    assert refused.status_code == 422 and "guardian" in refused.get_json()["error"]["fields"]
    ok = client.post("/api/v1/volunteers", json=body(id_number=teen, guardian={
        "name": "王先生", "phone": "13900139000", "consent": True}))
    assert ok.status_code == 201
    assert ok.get_json()["guardian"]["name"] == "王先生"
    assert ok.get_json()["guardian"]["consent_at"]


def test_other_documents_need_a_birth_date(client, staff):
    refused = client.post("/api/v1/volunteers", json=body(id_type="passport",
                                                          id_number="E12345678"))
    assert refused.status_code == 422 and "birth_date" in refused.get_json()["error"]["fields"]
    ok = client.post("/api/v1/volunteers", json=body(id_type="passport", id_number="E12345678",
                                                     birth_date="1990-01-01", gender="female"))
    assert ok.status_code == 201 and ok.get_json()["id_number_masked"] == "E123*5678"


@pytest.mark.parametrize("field,value", [
    ("phone", "0417-2812345"), ("community_code", "210802001"), ("skills", ["juggling"]),
    ("service_types", ["x"]), ("availability", ["someday"]), ("real_name", ""),
    ("id_type", "driving_licence"),
])
def test_invalid_fields_are_422(client, staff, field, value):
    response = client.post("/api/v1/volunteers", json=body(**{field: value}))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_refused_self_registrations_are_limited_per_address(app, client, staff, monkeypatch):
    for _ in range(30):
        response = client.post("/api/v1/volunteers", json=body(phone="1"),
                               environ_base={"REMOTE_ADDR": "10.1.1.1"})
        assert response.status_code == 422
    blocked = client.post("/api/v1/volunteers", json=body(),
                          environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert blocked.status_code == 429
    other = client.post("/api/v1/volunteers", json=body(),
                        environ_base={"REMOTE_ADDR": "10.1.1.2"})
    assert other.status_code == 201


def test_successful_registrations_are_not_limited(client, staff):
    for i in range(35):
        number = make_resident_id("210802", date(1960, 1, 1), i + 1)
        response = client.post("/api/v1/volunteers", json=body(username=f"vol{i:03d}",
                                                                id_number=number))
        assert response.status_code == 201


def test_staff_register_someone_without_a_phone_account(app, client, staff, token):
    response = client.post("/api/v1/volunteers", headers=token("worker"), json=body(
        username=None, password=None))
    assert response.status_code == 201 and response.get_json()["user_id"] is None
    elsewhere = client.post("/api/v1/volunteers", headers=token("worker"), json=body(
        community_code=RURAL, id_number=make_resident_id("210804", date(1950, 1, 1), 5)))
    assert elsewhere.status_code == 403


@pytest.mark.parametrize("who,status", [
    ("worker", 200), ("township", 200), ("city", 200), ("bayuquan", 404),
])
def test_who_verifies(client, staff, token, who, status):
    v = client.post("/api/v1/volunteers", json=body()).get_json()
    response = client.post(f"/api/v1/volunteers/{v['id']}/verify", headers=token(who))
    assert response.status_code == status
    if status == 200:
        assert response.get_json()["status"] == "verified"


def test_a_volunteer_cannot_verify_themself(client, staff, token):
    v = client.post("/api/v1/volunteers", json=body()).get_json()
    response = client.post(f"/api/v1/volunteers/{v['id']}/verify",
                           headers=token("wangayi", "a-long-password"))
    assert response.status_code == 403


def test_lists_and_reads_are_scoped(client, staff, token):
    v = client.post("/api/v1/volunteers", json=body()).get_json()
    assert client.get("/api/v1/volunteers", headers=token("worker")).get_json()["total"] == 1
    assert client.get("/api/v1/volunteers", headers=token("bayuquan")).get_json()["total"] == 0
    assert client.get(f"/api/v1/volunteers?q={v['volunteer_code']}",
                      headers=token("city")).get_json()["total"] == 1
    assert client.get(f"/api/v1/volunteers/{v['id']}", headers=token("bayuquan")).status_code \
        == 404
    own = token("wangayi", "a-long-password")
    assert client.get(f"/api/v1/volunteers/{v['id']}", headers=own).status_code == 200
    assert client.get("/api/v1/volunteers", headers=own).status_code == 403


def test_profile_edits_keep_identity_fixed(client, staff, token):
    v = client.post("/api/v1/volunteers", json=body()).get_json()
    own = token("wangayi", "a-long-password")
    ok = client.patch(f"/api/v1/volunteers/{v['id']}", headers=own,
                      json={"phone": "13700137000", "skills": ["cooking", "repair"]})
    assert ok.status_code == 200 and ok.get_json()["skills"] == ["cooking", "repair"]
    fixed = client.patch(f"/api/v1/volunteers/{v['id']}", headers=own,
                         json={"real_name": "李四"})
    assert fixed.status_code == 422 and "real_name" in fixed.get_json()["error"]["fields"]


def test_deleting_anonymises_and_frees_the_number(app, client, staff, token):
    v = client.post("/api/v1/volunteers", json=body()).get_json()
    own = token("wangayi", "a-long-password")
    assert client.delete(f"/api/v1/volunteers/{v['id']}", headers=own).status_code == 204
    with app.app_context():
        row = db.session.get(Volunteer, v["id"])
        assert row.status.value == "deleted" and row.id_hash is None and row.phone is None
        assert row.volunteer_code == v["volunteer_code"]  # the record stays for its hours
    assert client.get("/api/v1/me", headers=own).status_code == 401
    again = client.post("/api/v1/volunteers", json=body(username="wangayi2"))
    assert again.status_code == 201


def test_registration_page_in_both_languages(app, client, staff):
    from tests.conftest import csrf_token

    for lang, word in (("zh", "志愿者"), ("en", "Become a volunteer")):
        page = client.get(f"/register?lang={lang}")
        assert page.status_code == 200 and word in page.get_data(as_text=True)
    page = client.get("/register")
    form = {"csrf_token": csrf_token(page.get_data(as_text=True)), "real_name": "李大爷",
            "id_type": "resident_id", "id_number": ELDER_ID, "phone": "13800138000",
            "community_code": URBAN, "service_types": ["elderly_care"],
            "availability": ["mon_morning"], "username": "lidaye", "password": "a-long-password"}
    # Without the separate consent to the agreement and the privacy policy: refused, said why.
    refused = client.post("/register?lang=en", data=form)
    assert refused.status_code == 422 and "sensitive personal information" in \
        refused.get_data(as_text=True)
    response = client.post("/register", data={**form, "consent": "y"})
    assert response.status_code == 302 and response.headers["Location"] == "/me"
    me = client.get("/me?lang=en").get_data(as_text=True)
    assert "YK" in me and ELDER_ID not in me and ELDER_ID[:4] + "**" in me


def test_volunteers_feed_the_dashboard(client, staff, token):
    client.post("/api/v1/volunteers", json=body())
    data = client.get("/api/v1/stats/indicators?area=2108", headers=token("city")).get_json()
    assert data["indicators"]["registered_volunteers"] == 1


def test_nothing_is_half_written_when_the_account_is_refused(app, client, staff):
    response = client.post("/api/v1/volunteers", json=body(password="short"))
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Volunteer)) == 0


def test_profile_page_edits_and_deletes(app, client, staff, login):
    from tests.conftest import csrf_token

    client.post("/api/v1/volunteers", json=body(email="wang@example.com"))
    login("wangayi", "a-long-password")
    page = client.get("/me/edit?lang=en")
    html = page.get_data(as_text=True)
    assert 'value="13800138000"' in html
    saved = client.post("/me/edit", data={"csrf_token": csrf_token(html),
                                          "phone": "13700137000", "community_code": URBAN,
                                          "skills": ["cooking"]})
    assert saved.status_code == 302
    assert "烹饪" in client.get("/me?lang=zh").get_data(as_text=True)
    bad = client.post("/me/edit", data={"csrf_token": csrf_token(html), "phone": "123",
                                        "community_code": URBAN})
    assert bad.status_code == 422 and "is-invalid" in bad.get_data(as_text=True)
    unconfirmed = client.post("/me/delete", data={"csrf_token": csrf_token(html)})
    assert unconfirmed.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Volunteer.status)).value == "registered"
    client.post("/me/delete", data={"csrf_token": csrf_token(html), "confirm": "y"})
    with app.app_context():
        assert db.session.scalar(sa.select(Volunteer.status)).value == "deleted"


def test_email_is_optional_and_checked(client, staff):
    bad = client.post("/api/v1/volunteers", json=body(email="not-an-address"))
    assert bad.status_code == 422 and "email" in bad.get_json()["error"]["fields"]


def test_consent_is_recorded_with_its_versions_and_the_bureau_keeps_the_texts(
        app, client, staff, login):
    """The agreement and the privacy policy are pages anyone reads (both languages); the city's
    bureau publishes a new version; a registration records when it consented and to which
    versions (and the audit trail says so)."""
    import sqlalchemy as sa

    from portal.core.audit import AuditEntry
    from portal.extensions import db
    from portal.volunteers.models import Volunteer
    from tests.conftest import csrf_token

    assert "敏感个人信息" in client.get("/privacy?lang=zh").get_data(as_text=True)
    assert "sensitive personal information" in client.get("/privacy?lang=en").get_data(
        as_text=True)
    assert "Version 0" in client.get("/terms?lang=en").get_data(as_text=True)
    login("bayuquan")  # a county's bureau does not keep the city's texts
    assert client.get("/terms/edit").status_code == 403
    login("city")
    edit = client.get("/terms/edit").get_data(as_text=True)
    done = client.post("/terms/edit", data={"csrf_token": csrf_token(edit),
                                            "body_zh": "新的用户协议。", "body_en": "New terms."})
    assert done.status_code == 302
    assert "New terms." in client.get("/terms?lang=en").get_data(as_text=True)
    anonymous = app.test_client()
    page = anonymous.get("/register")
    anonymous.post("/register", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "real_name": "李大爷",
        "id_type": "resident_id", "id_number": ELDER_ID, "phone": "13800138000",
        "community_code": URBAN, "username": "lidaye", "password": "a-long-password",
        "consent": "y"})
    with app.app_context():
        volunteer = db.session.scalar(sa.select(Volunteer))
        assert volunteer.consent_versions == "terms:1;privacy:0"
        assert volunteer.consent_at is not None
        assert db.session.scalar(sa.select(AuditEntry.to_value).where(
            AuditEntry.action == "consent")) == "terms:1;privacy:0"


def test_the_api_records_consent_when_it_is_given(app, client, staff):
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.volunteers.models import Volunteer

    given = client.post("/api/v1/volunteers", json={**body(), "consent": True})
    assert given.status_code == 201, given.get_json()
    with app.app_context():
        volunteer = db.session.scalar(sa.select(Volunteer))
        assert volunteer.consent_versions == "terms:0;privacy:0" and volunteer.consent_at
