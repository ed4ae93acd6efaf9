"""Ratings: only those who took part, once, within the window; levels and comments checked; a
差评 opens a case due in working days; the rater protected from the party rated."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.core.notify import Notification
from portal.core.workdays import add_working_days
from portal.extensions import db
from portal.ratings.models import Rating, Rectification
from tests.ratings.conftest import BAD, rate


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_volunteer_who_served_rates_once(app, client, token, served):
    activity_id = served("wang")
    good = rate(client, token, "wang", object_type="activity", object_id=activity_id, level=5,
                dimensions={"attitude": 5, "quality": 4})
    assert good.status_code == 201, good.get_json()
    body = good.get_json()
    assert body["level"] == 5 and body["dimensions"] == {"attitude": 5, "quality": 4}
    assert body["rectification"] is None  # a 好评 opens nothing
    again = rate(client, token, "wang", object_type="activity", object_id=activity_id, level=4)
    assert again.status_code == 409
    assert _count(app, Rating) == 1


@pytest.mark.parametrize("body, field", [
    ({"level": 0}, "level"), ({"level": 6}, "level"), ({"level": "5"}, "level"),
    ({"level": True}, "level"), ({"level": 4.5}, "level"), ({}, "level"),
    ({"level": 2}, "comment"), ({"level": 1, "comment": "  "}, "comment"),
    ({"level": 4, "dimensions": {"speed": 3}}, "dimensions"),
    ({"level": 4, "dimensions": {"quality": 9}}, "dimensions.quality"),
    ({"level": 4, "comment": "x" * 2001}, "comment"),
    ({"level": 4, "object_type": "shift"}, "object_type"),
])
def test_bad_input_is_422_on_its_field_and_writes_nothing(app, client, token, served, body,
                                                          field):
    activity_id = served("wang")
    answer = rate(client, token, "wang", **{"object_type": "activity",
                                            "object_id": activity_id, **body})
    assert answer.status_code == 422 and field in answer.get_json()["error"]["fields"], \
        answer.get_json()
    assert _count(app, Rating) == 0 and _count(app, Rectification) == 0


def test_only_those_who_took_part_within_the_window(app, client, token, served, volunteer):
    activity_id = served("wang")
    volunteer("lisi")  # a volunteer who did not serve
    assert rate(client, token, "lisi", object_type="activity", object_id=activity_id,
                level=5).status_code == 403
    assert rate(client, token, "worker", object_type="activity", object_id=activity_id,
                level=5).status_code == 403
    assert rate(client, token, "wang", object_type="activity", object_id=999999,
                level=5).status_code == 404
    late = served("zhao", ago=timedelta(days=31))
    answer = rate(client, token, "zhao", object_type="activity", object_id=late, level=5)
    assert answer.status_code == 409  # (the same activity: its shift now ended 31 days ago)
    assert _count(app, Rating) == 0


@pytest.mark.contention
def test_twenty_at_once_make_one_rating(app, client, token, served):
    activity_id = served("wang")
    headers = token("wang")
    barrier, codes = threading.Barrier(20), []

    def go():
        barrier.wait()
        codes.append(app.test_client().post("/api/v1/ratings", headers=headers, json={
            **BAD, "object_id": activity_id}).status_code)
    threads = [threading.Thread(target=go) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201] + [409] * 19
    assert _count(app, Rating) == 1 and _count(app, Rectification) == 1


def test_a_bad_rating_opens_a_case_for_the_community_without_the_rater(app, client, token,
                                                                        served):
    activity_id = served("wang")
    made = rate(client, token, "wang", **BAD, object_id=activity_id)
    assert made.status_code == 201
    case = made.get_json()["rectification"]
    assert case["status"] == "open" and case["overdue"] is False
    with app.app_context():
        row = db.session.get(Rectification, case["id"])
        assert row.due_at == add_working_days(row.opened_at, 5)
        told = db.session.scalars(sa.select(Notification).where(
            Notification.kind == "rating_bad")).all()
        assert len(told) == 1  # the community's worker
        assert "wang" not in told[0].title + told[0].body and "志愿者" not in told[0].body
    mine = client.get("/api/v1/rectifications", headers=token("worker")).get_json()["items"]
    assert [c["id"] for c in mine] == [case["id"]]
    assert "rater_id" not in mine[0]["rating"]  # the party never learns who rated
    assert "rater_id" not in client.get(f"/api/v1/rectifications/{case['id']}",
                                        headers=token("worker")).get_json()["rating"]
    bureau = client.get("/api/v1/rectifications?area=210802",
                        headers=token("zhanqian")).get_json()["items"]
    assert bureau[0]["rating"]["rater_id"] is not None  # the bureau does
    assert client.get("/api/v1/rectifications", headers=token("outsider")).get_json()[
        "items"] == []
    assert client.get(f"/api/v1/rectifications/{case['id']}",
                      headers=token("outsider")).status_code == 404
    assert client.get(f"/api/v1/audit?object_type=rating&object_id={case['id']}",
                      headers=token("worker")).status_code in (403, 404)
