"""应急动员 on pages: the coordinator calls out on a form (refusals by their fields, in both
languages), follows the answers on a page that polls a small JSON answer, checks volunteers in
and out; volunteers find the call on /me, answer, and withdraw."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.callouts.models import Callout
from portal.core.db import SHANGHAI
from portal.extensions import db
from tests.conftest import form_post, sign_out


def _local(minutes: int) -> str:
    return (datetime.now(SHANGHAI) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")


FORM = {"title": "站前区暴雨转移群众", "area": "210802", "place": "站前区政府门前广场",
        "skills": "first_aid", "headcount": "2", "call_out": "1"}


@pytest.mark.parametrize("lang, words", [("zh", ("所需人数", "请填写 1 到 10,000 之间的整数。")),
                                         ("en", ("Volunteers needed",
                                                 "A whole number from 1 to 10,000."))])
def test_the_coordinator_calls_out_on_a_form(app, client, login, staff, volunteers, lang,
                                             words):
    volunteers("ann", "bob")
    login("zhanqian")
    page = client.get(f"/callouts/new?lang={lang}").get_data(as_text=True)
    assert words[0] in page and 'value="210802"' in page
    refused = form_post(client, "/callouts/new", {
        **FORM, "headcount": "0", "needed_by": _local(60), "ends_at": _local(30)})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="headcount-err"' in html and words[1] in html and 'id="ends_at-err"' in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Callout)) == 0
    done = form_post(client, "/callouts/new", {
        **FORM, "needed_by": _local(60), "ends_at": _local(300)})
    assert done.status_code == 302
    show = client.get(done.headers["Location"]).get_data(as_text=True)
    assert 'id="live"' in show and 'data-live="accepted">0<' in show
    assert "站前区政府门前广场" in show


def test_volunteers_answer_on_their_phones_and_the_page_follows(app, client, login, token,
                                                                volunteers, callout):
    volunteers("ann", "bob", "cat")
    volunteers("far", community="210804100201")
    made = callout()
    url = f"/callouts/{made['id']}"
    for who, expected in (("ann", "已确认到场"), ("bob", "已确认到场"), ("cat", "候补")):
        login(who)
        me = client.get("/me?lang=zh").get_data(as_text=True)
        assert 'id="my-callouts"' in me and "站前区暴雨转移群众" in me
        page = client.get(url).get_data(as_text=True)
        assert 'id="answer-form"' in page and 'id="live"' not in page  # no roster for them
        answered = form_post(client, url, {"yes": "1", "eta": "20"})
        assert answered.status_code == 302
        assert expected in client.get(url + "?lang=zh").get_data(as_text=True)
        assert client.get(f"{url}/live").status_code == 403
        sign_out(client)
    login("far")  # not called: no such page for them
    assert client.get(url).status_code == 404
    sign_out(client)
    login("zhanqian")
    live = client.get(f"{url}/live?lang=en").get_json()
    assert (live["accepted"], live["standby"], live["status"]) == (2, 1, "filled")
    assert [r["status_title"] for r in live["responses"]] == ["Coming", "Coming", "On standby"]
    assert live["responses"][0]["name"] == "志愿者ann"
    page = client.get(url).get_data(as_text=True)
    assert page.count('name="check_in"') == 2
    first = live["responses"][0]["id"]
    assert form_post(client, url, {"response": str(first), "check_in": "1"}).status_code == 302
    assert form_post(client, url, {"response": str(first),
                                   "check_out": "1"}).status_code == 302
    sign_out(client)
    # bob withdraws: cat, first on standby, is expected now.
    login("bob")
    assert form_post(client, url, {"withdraw": "1"}).status_code == 302
    sign_out(client)
    login("cat")
    assert "已确认到场" in client.get(url + "?lang=zh").get_data(as_text=True)
    sign_out(client)
    login("zhanqian")
    live = client.get(f"{url}/live").get_json()
    assert [r["status"] for r in live["responses"]] == ["accepted", "withdrawn", "accepted"]
    assert live["responses"][0]["checked_out"] is True


def test_a_second_answer_on_the_page_is_refused_with_a_message(client, login, volunteers,
                                                               callout):
    volunteers("ann")
    made = callout()
    url = f"/callouts/{made['id']}"
    login("ann")
    page = client.get(url).get_data(as_text=True)
    from tests.conftest import csrf_token

    token_value = csrf_token(page)
    assert client.post(url, data={"csrf_token": token_value, "yes": "1",
                                  "eta": "10"}).status_code == 302
    again = client.post(url, data={"csrf_token": token_value, "no": "1"},
                        follow_redirects=True)
    assert "您已经回复过这次动员" in again.get_data(as_text=True) or \
        "You have answered this call-out already" in again.get_data(as_text=True)


def test_who_may_call_out_by_page(client, login, staff, volunteers):
    volunteers("ann")
    login("ann")
    assert client.get("/callouts/new").status_code == 403
    assert 'id="new-callout"' not in client.get("/callouts").get_data(as_text=True)
    sign_out(client)
    login("worker")
    page = client.get("/callouts/new").get_data(as_text=True)
    assert 'value="210802001001"' in page and 'value="210802"' not in page


def test_a_call_out_that_reaches_nobody_says_so(client, login, staff):
    login("zhanqian")
    done = form_post(client, "/callouts/new", {
        **FORM, "skills": "sign_language", "needed_by": _local(60), "ends_at": _local(300)})
    assert done.status_code == 302
    page = client.get(done.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "没有通知到任何人" in page or "nobody was told" in page


def test_every_wrong_field_is_named_at_once(client, login, staff):
    login("zhanqian")
    refused = form_post(client, "/callouts/new", {"area": "210802", "call_out": "1"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    for field in ("title", "place", "headcount", "needed_by", "ends_at"):
        assert f'id="{field}-err"' in html, field


def test_the_coordinator_ends_it_on_the_page(client, login, volunteers, callout):
    volunteers("ann")
    made = callout()
    url = f"/callouts/{made['id']}"
    login("zhanqian")
    assert 'id="end-callout"' in client.get(url).get_data(as_text=True)
    assert form_post(client, url, {"end": "1"}).status_code == 302
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert 'id="end-callout"' not in page and "Closed" in page

