"""Activity pages: find, sign up, see it on /me, add it to a calendar; publish by form."""

import re

import pytest

from tests.activities.conftest import URBAN
from tests.conftest import csrf_token


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_sign_up_by_page_and_see_it_on_me(client, people, volunteer, activity, login, lang):
    created = activity(capacity=1)
    volunteer("wang")
    login("wang")
    page = client.get(f"/activities/{created['id']}?lang={lang}")
    html = page.get_data(as_text=True)
    shift_id = created["shifts"][0]["id"]
    assert f'action="/shifts/{shift_id}/signup"' in html
    response = client.post(f"/shifts/{shift_id}/signup",
                           data={"csrf_token": csrf_token(html)})
    assert response.status_code == 302
    me = client.get(f"/me?lang={lang}").get_data(as_text=True)
    assert "陪伴独居老人" in me
    ics_url = re.search(r'href="(/signups/\d+\.ics)"', me).group(1)
    ics = client.get(ics_url)
    assert ics.mimetype == "text/calendar"
    body = ics.get_data(as_text=True)
    assert "BEGIN:VEVENT" in body and "DTSTART;TZID=Asia/Shanghai:" in body
    assert "SUMMARY:陪伴独居老人" in body


def test_the_second_volunteer_joins_the_waiting_list_by_page(client, people, volunteer,
                                                             activity, login):
    created = activity(capacity=1)
    shift_id = created["shifts"][0]["id"]
    for name in ("first", "second"):
        volunteer(name)
        login(name)
        html = client.get(f"/activities/{created['id']}?lang=en").get_data(as_text=True)
        client.post(f"/shifts/{shift_id}/signup", data={"csrf_token": csrf_token(html)})
    html = client.get(f"/activities/{created['id']}?lang=en").get_data(as_text=True)
    assert "On the waiting list" in html and "number 1" in html


def test_calendar_files_are_private(client, people, volunteer, activity, login, token):
    created = activity()
    volunteer("wang")
    volunteer("nosy")
    signup = client.post(f"/api/v1/shifts/{created['shifts'][0]['id']}/signups",
                         headers=token("wang"), json={}).get_json()
    login("nosy")
    assert client.get(f"/signups/{signup['id']}.ics").status_code == 404


def test_publish_by_form(client, people, login):
    login("worker")
    page = client.get("/activities/new?lang=en")
    assert page.status_code == 200
    response = client.post("/activities/new", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "organiser": f"community:{URBAN}", "title": "义诊", "service_type": "health",
        "location": "社区卫生站", "starts_at": "2099-06-01T09:00", "ends_at": "2099-06-01T11:00",
        "capacity": "8", "waitlist": "y"})
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "义诊" in html and "2099-06-01 09:00" in html


def test_publish_needs_an_organiser_role(client, people, volunteer, login):
    volunteer("wang")
    login("wang")
    assert client.get("/activities/new").status_code == 403


def test_the_public_list_filters(client, people, activity):
    activity(title="陪伴独居老人")
    html = client.get("/activities?q=老人&lang=en").get_data(as_text=True)
    assert "陪伴独居老人" in html
    assert "陪伴独居老人" not in client.get("/activities?service_type=legal_aid").get_data(
        as_text=True)


def test_me_recommends_shifts_with_reasons(client, people, volunteer, activity, login):
    activity(title="社区读报")
    volunteer("wang")
    login("wang")
    html = client.get("/me?lang=en").get_data(as_text=True)
    section = html.split('id="recommended"')[1]
    assert "社区读报" in section and "in your community" in section


def test_the_organiser_finds_the_roster_from_the_activity_page(client, people, activity, login,
                                                              make_user):
    """The base template's own variables must not hide a page's: the community worker who
    organises sees the check-in code and the roster; an unrelated organisation admin does not."""
    created = activity()
    shift_id = created["shifts"][0]["id"]
    login("worker")
    html = client.get(f"/activities/{created['id']}?lang=en").get_data(as_text=True)
    assert f"/shifts/{shift_id}/roster" in html
    make_user("orgboss", "org_admin")
    login("orgboss")
    html = client.get(f"/activities/{created['id']}?lang=en").get_data(as_text=True)
    assert f"/shifts/{shift_id}/roster" not in html


def test_check_in_is_offered_only_when_it_opens(app, client, people, activity, volunteer,
                                                token, login):
    from datetime import timedelta

    from tests.activities.test_check_in import move_shift

    created = activity()
    shift_id = created["shifts"][0]["id"]
    volunteer("wang")
    client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token("wang"), json={})
    login("worker")
    early = client.get(f"/shifts/{shift_id}/roster?lang=en").get_data(as_text=True)
    assert "Check-in opens" in early and "/check-in" not in early
    login("wang")
    mine = client.get(f"/activities/{created['id']}?lang=en").get_data(as_text=True)
    assert "Check-in opens" in mine
    move_shift(app, shift_id, timedelta(minutes=30))
    login("worker")
    due = client.get(f"/shifts/{shift_id}/roster?lang=en").get_data(as_text=True)
    assert "/check-in" in due and "Check-in opens" not in due


def test_cancelling_a_signup_asks_first(client, login, people, token, volunteer, activity):
    """One tap must not cancel: the button opens a question, whose answer cancels."""
    volunteer("wang")
    act = activity(capacity=3)
    signup = client.post(f"/api/v1/shifts/{act['shifts'][0]['id']}/signups",
                         headers=token("wang"), json={}).get_json()
    login("wang")
    html = client.get(f"/activities/{act['id']}?lang=en").get_data(as_text=True)
    question = html[html.index('<details class="d-inline-block signup-cancel">'):]
    question = question[:question.index("</details>")]
    assert "<summary" in question and "Your place goes to the next person waiting" in question
    assert "Yes, cancel my signup" in question
    done = client.post(f"/signups/{signup['id']}/cancel", data={"csrf_token": csrf_token(html)})
    assert done.status_code == 302
    assert client.get(f"/api/v1/signups/{signup['id']}", headers=token("wang")
                      ).get_json()["status"] == "cancelled"
