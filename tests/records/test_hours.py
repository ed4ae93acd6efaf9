"""Hours and stars: approved and pending minutes, one decimal, the star thresholds, by year and by
organisation, and /me showing them."""

from datetime import timedelta

import sqlalchemy as sa

from portal.core.db import utcnow
from portal.extensions import db
from tests.records.conftest import record_body

API = "/api/v1/service-records"


def checked_out(app, client, token, names, volunteer_factory=None):
    """Volunteers `names` sign up for a fresh shift, which is then moved into the past and
    checked in and out by the organiser: (shift_id, [record ids])."""
    from portal.activities import services
    from portal.activities.models import Shift, Signup
    from portal.core.users import User
    from tests.activities.conftest import URBAN, later

    body = {"title": "社区清扫", "community_code": URBAN, "service_type": "environment",
            "skills": [], "location": "八田地社区",
            "shifts": [{"starts_at": later(48), "ends_at": later(50), "capacity": 10}]}
    shift_id = client.post("/api/v1/activities", headers=token("worker"),
                           json=body).get_json()["shifts"][0]["id"]
    signups = []
    for name in names:
        if volunteer_factory is not None:
            volunteer_factory(name)
        signups.append(client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token(name),
                                   json={}).get_json()["id"])
    with app.app_context():
        shift = db.session.get(Shift, shift_id)
        start = utcnow().replace(second=0, microsecond=0) - timedelta(hours=30)
        shift.starts_at, shift.ends_at = start, start + timedelta(hours=2)
        db.session.commit()
        organiser = db.session.scalar(sa.select(User).where(User.username == "worker"))
        ids = []
        for signup_id in signups:
            services.check_in(db.session.get(Signup, signup_id), actor=organiser, now=start)
            db.session.commit()
            _s, service = services.check_out(db.session.get(Signup, signup_id), actor=organiser,
                                             now=start + timedelta(hours=2))
            db.session.commit()
            ids.append(service.id)
        return shift_id, ids


def hours_of(client, token, vid, by="wang"):
    response = client.get(f"/api/v1/volunteers/{vid}/hours", headers=token(by))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_99_5_hours_is_no_star_and_an_amendment_to_100_5_makes_one(client, token, setting):
    vid, aid = setting
    # 99.5 h = 5970 minutes, as 3 records (entered afterwards, weeks ago)
    ids = []
    for i, minutes in enumerate((2000, 2000, 1970)):
        body = record_body(vid, aid, 24 * (60 - 3 * i), 40, minutes=minutes)
        response = client.post(API, headers=token("worker"), json=body)
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    pending = hours_of(client, token, vid)
    assert (pending["approved_minutes"], pending["pending_minutes"], pending["star_level"]) == \
        (0, 5970, 0)
    for rid in ids:
        assert client.post(f"{API}/{rid}/approve", headers=token("worker")).status_code == 200
    before = hours_of(client, token, vid)
    assert (before["approved_minutes"], before["approved_hours"], before["star_level"],
            before["next_star_hours"]) == (5970, 99.5, 0, 100)
    amended = client.post(f"{API}/{ids[-1]}/amend", headers=token("worker"),
                          json={"minutes": 2030, "reason": "漏记一小时"})
    assert amended.status_code == 200
    after = hours_of(client, token, vid)
    assert (after["approved_minutes"], after["approved_hours"], after["star_level"]) == \
        (6030, 100.5, 1)
    assert after["by_org"][0]["issuer"] == "八田地社区" and \
        after["by_org"][0]["approved_minutes"] == 6030
    assert sum(y["approved_minutes"] for y in after["by_year"]) == 6030


def test_star_thresholds(app):
    from portal.records.queries import star_level

    with app.app_context():
        levels = [star_level(h * 60) for h in (0, 99, 100, 299, 300, 599, 600, 999, 1000, 1499,
                                                 1500, 9999)]
    assert levels == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_hours_one_decimal_rounds_half_up():
    from portal.records.models import hours_text

    assert [hours_text(m) for m in (0, 1, 2, 3, 59, 60, 87, 5970, 6030)] == \
        ["0.0", "0.0", "0.0", "0.1", "1.0", "1.0", "1.5", "99.5", "100.5"]


def test_hours_are_private(client, token, setting, bureau):
    vid, _aid = setting
    assert client.get(f"/api/v1/volunteers/{vid}/hours", headers=token("outsider")) \
        .status_code == 404
    assert client.get(f"/api/v1/volunteers/{vid}/hours").status_code == 401
    assert hours_of(client, token, vid, by="worker")["approved_minutes"] == 0
    assert hours_of(client, token, vid, by="zhanqian")["approved_minutes"] == 0
    assert client.get(f"/api/v1/volunteers/{vid}/hours", headers=token("bayuquan")) \
        .status_code == 404


def test_check_out_records_then_approval_counts(app, client, token, people, volunteer):
    _shift, ids = checked_out(app, client, token, ["wang"], volunteer)
    record = client.get(f"{API}/{ids[0]}", headers=token("wang")).get_json()
    assert (record["minutes"], record["status"]) == (120, "pending")
    client.post(f"{API}/{ids[0]}/approve", headers=token("worker"))
    vid = record["volunteer_id"]
    assert hours_of(client, token, vid)["approved_minutes"] == 120


def test_me_shows_hours_and_stars(app, client, token, login, setting):
    vid, aid = setting
    rid = client.post(API, headers=token("worker"),
                      json=record_body(vid, aid, 24 * 10, 101, minutes=6030)).get_json()["id"]
    client.post(f"{API}/{rid}/approve", headers=token("worker"))
    login("wang")
    page = client.get("/me")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "100.5" in html and "★" in html
    english = client.get("/me?lang=en").get_data(as_text=True)
    assert "Approved hours" in english and "100.5" in english


def test_the_hours_carry_the_latest_50_records_of_any_status(client, token, setting):
    vid, aid = setting
    ids = []
    for i in range(52):
        body = record_body(vid, aid, 24 * (60 - i), 1, minutes=30)
        ids.append(client.post(API, headers=token("worker"), json=body).get_json()["id"])
    client.post(f"{API}/{ids[-1]}/reject", headers=token("worker"), json={"reason": "重复"})
    body = hours_of(client, token, vid)
    records = body["records"]
    assert len(records) == 50 and [r["id"] for r in records] == ids[::-1][:50]
    assert records[0]["status"] == "rejected"
    assert set(records[0]) >= {"id", "activity_id", "org_id", "started_at", "ended_at",
                               "minutes", "status", "content"}
