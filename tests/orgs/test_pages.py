"""The organisation pages, walked as a person would: register, review, resubmit, incubate."""

import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.orgs.models import Org, OrgState
from tests.conftest import csrf_token
from tests.orgs.conftest import URBAN, valid_uscc


def form_post(client, page_url, post_url, data):
    page = client.get(page_url)
    assert page.status_code == 200, page_url
    return client.post(post_url, data=dict(data, csrf_token=csrf_token(
        page.get_data(as_text=True))))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_register_review_and_see_it_listed(app, client, people, login, lang):
    login("founder")
    response = form_post(client, f"/orgs/new?lang={lang}", "/orgs/new", {
        "name": "八田地书画社", "category": "culture_sports", "registration": "registered",
        "uscc": valid_uscc(9, "51"), "community_code": URBAN, "contact_name": "张老师",
        "contact_phone": "13800138000", "founded_on": "2020-03-01", "rating": ""})
    assert response.status_code == 302, response.get_data(as_text=True)
    org_url = response.headers["Location"]
    with app.app_context():
        org = db.session.scalars(sa.select(Org)).one()
        assert org.status is OrgState.pending and org.legal_type.value == "social_group"
    assert "review_form" not in client.get(org_url).get_data(as_text=True)
    client.get("/logout")
    login("zhanqian")
    html = client.get(org_url + f"?lang={lang}").get_data(as_text=True)
    assert f'action="{org_url}/review"' in html
    decided = form_post(client, org_url, org_url + "/review",
                        {"decision": "approve", "comment": ""})
    assert decided.status_code == 302
    listing = client.get(f"/orgs?lang={lang}").get_data(as_text=True)
    assert "八田地书画社" in listing


def test_a_bad_uscc_is_explained_next_to_the_field_and_nothing_saved(app, client, people,
                                                                    login):
    login("founder")
    response = form_post(client, "/orgs/new?lang=en", "/orgs/new", {
        "name": "x", "category": "charity", "registration": "registered",
        "uscc": "52210800MJ00000100", "community_code": URBAN, "contact_name": "y",
        "contact_phone": "13800138000"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "is-invalid" in html and "check" in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Org)) == 0


def test_only_the_bureau_sees_the_override_field_and_only_on_others_applications(
        client, people, login, token, new_org):
    org = new_org(registration="registered", uscc="52210800MJ00000100", uscc_confirmed=True)
    login("founder")
    assert "uscc_override_reason" not in client.get("/orgs/new").get_data(as_text=True)
    assert "uscc_confirmed" in client.get("/orgs/new").get_data(as_text=True)
    assert "uscc_override_reason" not in client.get(f"/orgs/{org['id']}/edit").get_data(
        as_text=True)
    client.get("/logout")
    login("zhanqian")
    assert "uscc_override_reason" not in client.get("/orgs/new").get_data(as_text=True)
    html = client.get(f"/orgs/{org['id']}/edit").get_data(as_text=True)
    assert "uscc_override_reason" in html


def test_request_changes_then_resubmit_by_page(client, people, login, new_org):
    org = new_org()
    url = f"/orgs/{org['id']}"
    login("zhanqian")
    form_post(client, url, url + "/review", {"decision": "request_changes",
                                             "comment": "请上传章程"})
    client.get("/logout")
    login("founder")
    html = client.get(url + "?lang=en").get_data(as_text=True)
    assert "asked for changes" in html and "请上传章程" in html
    edited = form_post(client, url + "/edit", url + "/edit", {
        "name": "八田地互助会", "category": "mutual_aid", "registration": "filed",
        "community_code": URBAN, "contact_name": "王阿姨", "contact_phone": "13800138001",
        "rating": ""})
    assert edited.status_code == 302
    resubmitted = form_post(client, url, url + "/resubmit", {"comment": "已补充"})
    assert resubmitted.status_code == 302
    assert re.search(r'id="org-status">[^<]*(Awaiting review|待审核)',
                     client.get(url).get_data(as_text=True))


def test_incubation_by_page(client, people, login, active_org):
    org = active_org()
    url = f"/orgs/{org['id']}"
    login("founder")
    applied = form_post(client, url, url + "/incubation", {"plan": "培育骨干"})
    assert applied.status_code == 302
    html = client.get(url).get_data(as_text=True)
    incubation_url = re.search(r'href="(/incubations/\d+)"', html).group(1)
    client.get("/logout")
    login("zhanqian")
    moved = form_post(client, incubation_url, incubation_url, {"to": "admitted",
                                                               "comment": "入选"})
    assert moved.status_code == 302
    page = client.get(incubation_url + "?lang=en").get_data(as_text=True)
    assert "Admitted" in page and "入选" in page


def test_workers_page(client, people, login):
    login("worker")
    response = form_post(client, "/workers", "/workers", {
        "name": "刘社工", "kind": "community_worker", "certificate": "assistant",
        "employer_community_code": URBAN, "employer_org_id": ""})
    assert response.status_code == 302
    assert "刘社工" in client.get("/workers").get_data(as_text=True)
    bad = form_post(client, "/workers", "/workers", {
        "name": "x", "kind": "community_worker", "certificate": "none",
        "employer_community_code": "", "employer_org_id": ""})
    assert bad.status_code == 422


def test_a_refused_review_on_the_page_says_why_and_changes_nothing(app, client, people, login,
                                                                   new_org):
    org = new_org()
    url = f"/orgs/{org['id']}"
    login("zhanqian")
    response = form_post(client, url + "?lang=en", url + "/review",
                         {"decision": "reject", "comment": ""})
    assert response.status_code == 302
    html = client.get(url + "?lang=en").get_data(as_text=True)
    assert "alert-danger" in html and "Say why" in html
    with app.app_context():
        assert db.session.get(Org, org["id"]).status is OrgState.pending


def test_a_wrong_file_on_the_page_says_why(client, people, login, new_org):
    import io

    org = new_org()
    url = f"/orgs/{org['id']}"
    login("founder")
    page = client.get(url + "?lang=en")
    client.post(url + "/documents", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "kind": "charter",
        "file": (io.BytesIO(b"plain text"), "charter.pdf")}, content_type="multipart/form-data")
    assert "Only PDF, PNG or JPEG files." in client.get(url + "?lang=en").get_data(as_text=True)


def test_the_review_chooses_nothing_for_the_bureau_and_shows_what_it_rests_on(
        app, client, people, login, new_org):
    """No decision preselected (a form sent without one is refused and changes nothing); the
    review shows when it was submitted, who is in charge, what it does, and warns that no
    documents are attached."""
    org = new_org()
    url = f"/orgs/{org['id']}"
    login("zhanqian")
    html = client.get(url + "?lang=en").get_data(as_text=True)
    review = html[html.index('id="review"'):]
    select = re.search(r'<select[^>]*name="decision"[^>]*>(.*?)</select>', review, re.S).group(1)
    assert select.startswith('<option value="">') and "selected" not in select
    assert 'id="review-facts"' in review and "Submitted on" in review
    assert 'id="no-documents"' in review
    response = form_post(client, url + "?lang=en", url + "/review",
                         {"decision": "", "comment": "ok"})
    assert response.status_code in (302, 422)
    with app.app_context():
        assert db.session.get(Org, org["id"]).status is OrgState.pending


def test_the_review_shows_the_address(app, client, people, login, token, new_org):
    org = new_org()
    login("founder")
    edited = client.patch(f"/api/v1/orgs/{org['id']}", headers=token("founder"),
                          json={"address": "站前区八田地街道建设路12号"})
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["address"] == "站前区八田地街道建设路12号"
    login("zhanqian")
    review = client.get(f"/orgs/{org['id']}?lang=en").get_data(as_text=True)
    facts = review[review.index('id="review-facts"'):]
    assert "站前区八田地街道建设路12号" in facts[:facts.index("</dl>")]
