"""The sign-in page's SMS tab, the community picker and phone verification, as a person uses
them (CSRF tokens and all)."""

from __future__ import annotations

import re

from tests.conftest import csrf_token
from tests.residents.conftest import URBAN

PHONE = "13812345678"


def sms_post(client, data, next_url=None):
    page = client.get("/login/sms" + (f"?next={next_url}" if next_url else ""))
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), **data}
    return client.post("/login/sms" + (f"?next={next_url}" if next_url else ""), data=data)


def test_the_sign_in_page_offers_both_ways(client, outbox):
    page = client.get("/login").get_data(as_text=True)
    assert 'id="tab-sms"' in page and 'id="tab-password"' in page
    sms = client.get("/login/sms").get_data(as_text=True)
    assert 'name="phone"' in sms and 'name="code"' in sms and 'name="send"' in sms


def test_a_resident_signs_in_by_code_and_picks_their_community(client, outbox, yingkou):
    sent = sms_post(client, {"phone": "138 1234 5678", "send": "1"})
    assert sent.status_code == 200
    html = sent.get_data(as_text=True)
    assert "138****5678" in html and 'data-countdown="60"' in html
    code = outbox.last(PHONE)
    assert code not in html
    signed = sms_post(client, {"phone": PHONE, "code": code, "submit": "1"})
    assert signed.status_code == 302 and "/me/community" in signed.headers["Location"]
    counties = client.get("/me/community").get_data(as_text=True)
    assert "站前区" in counties
    townships = client.get("/me/community?county=210802").get_data(as_text=True)
    assert "八田地街道" in townships
    communities = client.get("/me/community?county=210802&township=210802001")
    html = communities.get_data(as_text=True)
    assert "八田地社区" in html
    chosen = client.post("/me/community?next=/needs", data={
        "csrf_token": csrf_token(html), "community_code": URBAN})
    assert chosen.status_code == 302 and chosen.headers["Location"].endswith("/needs")
    assert "八田地社区" in client.get("/me/community").get_data(as_text=True)


def test_wrong_code_and_bad_number_are_said_by_the_field(client, outbox):
    bad = sms_post(client, {"phone": "12345", "send": "1"}, )
    assert bad.status_code == 422
    assert "invalid-feedback" in bad.get_data(as_text=True)
    sms_post(client, {"phone": PHONE, "send": "1"})
    wrong = f"{(int(outbox.last(PHONE)) + 1) % 10 ** 6:06d}"
    refused = sms_post(client, {"phone": PHONE, "code": wrong, "submit": "1"})
    assert refused.status_code == 401
    assert re.search(r'id="code-err"', refused.get_data(as_text=True))
    again = sms_post(client, {"phone": PHONE, "send": "1"})
    assert again.status_code == 429  # within the minute: said by the phone field
    assert 'id="phone-err"' in again.get_data(as_text=True)
    english = client.get("/login/sms?lang=en").get_data(as_text=True)
    assert "Phone and SMS code" in english


def test_a_volunteer_verifies_their_phone_on_a_page(client, outbox, make_user, login):
    make_user("vol", "volunteer")
    login("vol")
    page = client.get("/me/phone")
    sent = client.post("/me/phone", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                          "phone": PHONE, "send": "1"})
    assert sent.status_code == 200
    done = client.post("/me/phone", data={"csrf_token": csrf_token(sent.get_data(as_text=True)),
                                          "phone": PHONE, "code": outbox.last(PHONE),
                                          "submit": "1"})
    assert done.status_code == 302
    assert "138****5678" in client.get("/me/phone").get_data(as_text=True)
