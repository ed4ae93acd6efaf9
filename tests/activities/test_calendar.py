"""Shifts in a phone's calendar: the .ics is built by a library (folded at 75 octets, a
VTIMEZONE for Asia/Shanghai, METHOD and SEQUENCE), and a private, revocable feed of all of a
volunteer's shifts drops a cancelled one."""

from __future__ import annotations

import re

from icalendar import Calendar

from tests.activities.conftest import later
from tests.conftest import csrf_token

LONG_TITLE = ("八田地社区“邻里守望”独居老人上门探访与健康监测志愿服务"
              "（第三期，含血压测量和用药提醒）")


def sign(client, token, shift_id, username):
    return client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token(username), json={})


def lines_of(body: bytes) -> list[bytes]:
    assert b"\r\n" in body
    return body.split(b"\r\n")


def test_a_shift_file_is_valid_icalendar_with_its_time_zone_and_folded_lines(
        client, login, people, token, volunteer, activity):
    volunteer("wang")
    act = activity(title=LONG_TITLE)
    signup = sign(client, token, act["shifts"][0]["id"], "wang").get_json()
    login("wang")
    answer = client.get(f"/signups/{signup['id']}.ics")
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    body = answer.data
    assert all(len(line) <= 75 for line in lines_of(body)), "a line over 75 octets"
    assert b"BEGIN:VTIMEZONE" in body and b"TZID:Asia/Shanghai" in body
    assert b"DTSTART;TZID=Asia/Shanghai:" in body and b"METHOD:PUBLISH" in body
    event = Calendar.from_ical(body).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == LONG_TITLE  # unfolded, unescaped: the same title
    assert event["STATUS"] == "CONFIRMED" and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART").utcoffset().total_seconds() == 8 * 3600
    assert client.get(f"/signups/{signup['id'] + 1000}.ics").status_code == 404


def test_a_private_feed_of_my_shifts_that_drops_a_cancelled_one_and_can_be_revoked(
        app, client, login, people, token, volunteer, activity):
    volunteer("wang")
    first = activity(title="陪伴独居老人")["shifts"][0]["id"]
    second = activity(title="社区垃圾分类宣传", shifts=[
        {"starts_at": later(72), "ends_at": later(75), "capacity": 5}])["shifts"][0]["id"]
    kept = sign(client, token, first, "wang").get_json()
    dropped = sign(client, token, second, "wang").get_json()
    login("wang")
    me = client.get("/me").get_data(as_text=True)
    made = client.post("/me/calendar-link", data={"csrf_token": csrf_token(me)},
                       follow_redirects=True).get_data(as_text=True)
    assert 'id="calendar-url"' in made and 'href="webcal://' in made  # shown where asked
    url = re.search(r"(http://[^\s<\"]+/calendar/[\w-]+\.ics)", made).group(1)
    path = url.split("localhost", 1)[1]
    stranger = app.test_client()  # no sign-in: the address is the key
    feed = Calendar.from_ical(stranger.get(path).data)
    events = {str(e["UID"]): e for e in feed.walk("VEVENT")}
    assert set(events) == {f"signup-{kept['id']}@wushe-portal",
                           f"signup-{dropped['id']}@wushe-portal"}
    assert client.delete(f"/api/v1/signups/{dropped['id']}",
                         headers=token("wang")).status_code == 204
    feed = Calendar.from_ical(stranger.get(path).data)
    cancelled = next(e for e in feed.walk("VEVENT")
                     if str(e["UID"]) == f"signup-{dropped['id']}@wushe-portal")
    assert cancelled["STATUS"] == "CANCELLED" and int(cancelled["SEQUENCE"]) == 1
    # A new address revokes the old one; a made-up one is nobody's.
    client.post("/me/calendar-link", data={"csrf_token": csrf_token(me)})
    assert stranger.get(path).status_code == 404
    assert stranger.get("/calendar/not-a-token.ics").status_code == 404


def test_activities_are_listed_soonest_first(client, people, activity):
    """By the start of each activity's next shift, whatever order they were published in."""
    late = activity(title="下周的活动", shifts=[
        {"starts_at": later(24 * 7), "ends_at": later(24 * 7 + 2), "capacity": 5}])["id"]
    soon = activity(title="明天的活动", shifts=[
        {"starts_at": later(20), "ends_at": later(22), "capacity": 5}])["id"]
    middle = activity(title="后天的活动", shifts=[
        {"starts_at": later(24 * 30), "ends_at": later(24 * 30 + 2), "capacity": 5},
        {"starts_at": later(44), "ends_at": later(46), "capacity": 5}])["id"]
    listed = [a["id"] for a in client.get("/api/v1/activities").get_json()["items"]]
    assert listed == [soon, middle, late]
    page = client.get("/activities").get_data(as_text=True)
    assert page.index("明天的活动") < page.index("后天的活动") < page.index("下周的活动")


def test_places_are_chosen_by_name_not_by_code(client, people, activity):
    """The activity filter and the registration's community picker name places (county ·
    township · community); nobody types or reads a 12-digit code."""
    import re as regex

    activity(title="八田地的活动")
    listing = client.get("/activities?lang=zh").get_data(as_text=True)
    picker = regex.search(r'<select[^>]*name="area"[^>]*>(.*?)</select>', listing, regex.S)
    assert picker and "站前区 · 八田地街道" in picker.group(1)
    assert "八田地的活动" in client.get("/activities?area=210802001").get_data(as_text=True)
    assert "八田地的活动" not in client.get("/activities?area=210804").get_data(as_text=True)
    register = client.get("/register?lang=zh").get_data(as_text=True)
    select = regex.search(r'<select[^>]*name="community_code"[^>]*>(.*?)</select>', register,
                          regex.S).group(1)
    assert '<optgroup label="站前区 · 八田地街道">' in select
    assert ">八田地社区</option>" in select
    assert not regex.search(r">[^<]*\d{12}[^<]*</option>", select)  # no code in a label
