"""Recommendations: only shifts one can take, ranked by fit and nearness, each with reasons."""

from datetime import date, datetime, timedelta

from portal.core.db import SHANGHAI
from tests.activities.conftest import later


def recommend(client, token, volunteer_id, who):
    response = client.get(f"/api/v1/volunteers/{volunteer_id}/recommendations",
                          headers=token(who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def saturday_morning() -> datetime:
    now = datetime.now(SHANGHAI)
    day = now + timedelta(days=(5 - now.weekday()) % 7 + 7)
    return day.replace(hour=9, minute=0, second=0, microsecond=0)


def test_ranked_with_reasons(app, client, people, token, volunteer, activity):
    vid = volunteer("wang")
    client.patch(f"/api/v1/volunteers/{vid}", headers=token("wang"), json={
        "skills": ["first_aid"], "service_types": ["elderly_care"],
        "availability": ["sat_morning"]})
    start = saturday_morning()
    best = activity(title="best", shifts=[{"starts_at": start.isoformat(),
                                           "ends_at": (start + timedelta(hours=2)).isoformat(),
                                           "capacity": 4}])
    plain = activity(title="plain", service_type="environment", skills=[],
                     community_code="210802001001",
                     shifts=[{"starts_at": later(30), "ends_at": later(31), "capacity": 4}])
    items = recommend(client, token, vid, "wang")
    titles = [i["activity"]["title"] for i in items]
    assert titles[:2] == ["best", "plain"]
    reasons = items[0]["reasons"]
    for reason in ("skill:first_aid", "service_type:elderly_care", "same_community",
                   "available", "under_filled"):
        assert reason in reasons
    assert items[0]["score"] > items[1]["score"]
    assert best["id"] != plain["id"]


def test_only_shifts_one_can_take(app, client, people, token, volunteer, activity):
    vid = volunteer("young", born=date(2000, 1, 1))
    full = activity(title="full", capacity=1)
    volunteer("other")
    client.post(f"/api/v1/shifts/{full['shifts'][0]['id']}/signups", headers=token("other"),
                json={})
    activity(title="old only", min_age=60)
    activity(title="risky", risky=True)
    mine = activity(title="mine", shifts=[{"starts_at": later(100), "ends_at": later(102),
                                           "capacity": 5}])
    client.post(f"/api/v1/shifts/{mine['shifts'][0]['id']}/signups", headers=token("young"),
                json={})
    activity(title="clash", shifts=[{"starts_at": later(101), "ends_at": later(103),
                                             "capacity": 5}])
    activity(title="ok", shifts=[{"starts_at": later(200), "ends_at": later(201),
                                       "capacity": 5}])
    titles = [i["activity"]["title"] for i in recommend(client, token, vid, "young")]
    assert titles == ["ok"]  # not full, old-enough-only, risky, mine, or clashing ones


def test_who_may_ask(client, people, token, volunteer):
    vid = volunteer("wang")
    volunteer("nosy")
    assert client.get(f"/api/v1/volunteers/{vid}/recommendations",
                      headers=token("nosy")).status_code == 404
    assert client.get(f"/api/v1/volunteers/{vid}/recommendations",
                      headers=token("worker")).status_code == 200


def test_nearer_shifts_rank_higher(app, client, people, token, volunteer, activity, make_user):
    from portal.core.areas import AreaData, create_area
    from portal.extensions import db

    with app.app_context():
        for code in ("210802001002", "210802002001"):
            create_area(AreaData(code=code, name="社区" + code[-3:]), actor=None)
        db.session.commit()
    make_user("township", ("community_worker", "210802001"))
    make_user("county", ("community_worker", "210802002"))
    vid = volunteer("wang")
    shift = [{"starts_at": later(40), "ends_at": later(41), "capacity": 5}]
    activity(title="county", community_code="210802002001", by="county", shifts=shift)
    activity(title="township", community_code="210802001002", by="township", shifts=shift)
    activity(title="home", shifts=shift)
    activity(title="far", community_code="210804100201", by="outsider", shifts=shift)
    items = recommend(client, token, vid, "wang")
    assert [i["activity"]["title"] for i in items] == ["home", "township", "county", "far"]
    assert "same_township" in items[1]["reasons"] and "same_county" in items[2]["reasons"]
