"""A 差评's case: answered by the party rated, reviewed by the rater (closed, or reopened with a
new deadline), closed by itself when the rater stays silent, overdue past its deadline, a
reminder the day before; an appeal the bureau decides. And the figures, public from 5."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.core.db import utcnow
from portal.core.notify import Notification
from portal.extensions import db
from portal.ratings import services
from portal.ratings.models import Rating, Rectification
from tests.ratings.conftest import BAD, rate


def _case(client, token, served, who="wang"):
    activity_id = served(who)
    made = rate(client, token, who, **BAD, object_id=activity_id)
    assert made.status_code == 201, made.get_json()
    return activity_id, made.get_json()["rectification"]["id"]


def _act(client, token, user, case_id, action, body):
    return client.post(f"/api/v1/rectifications/{case_id}/{action}", headers=token(user),
                       json=body)


def _kinds(app, user_name):
    from portal.core.users import User

    with app.app_context():
        uid = db.session.scalar(sa.select(User.id).where(User.username == user_name))
        return [n.kind for n in db.session.scalars(sa.select(Notification).where(
            Notification.user_id == uid).order_by(Notification.id))]


def test_answered_reviewed_reopened_and_closed(app, client, token, served):
    _a, case = _case(client, token, served)
    for bad, field in (({"action": "sorry", "text": "x"}, "action"),
                       ({"action": "fixed", "text": " "}, "text")):
        answer = _act(client, token, "worker", case, "answer", bad)
        assert answer.status_code == 422 and field in answer.get_json()["error"]["fields"]
    assert _act(client, token, "wang", case, "answer",  # the rater cannot answer for them
                {"action": "fixed", "text": "x"}).status_code == 403
    assert _act(client, token, "outsider", case, "answer",
                {"action": "fixed", "text": "x"}).status_code == 404
    assert _act(client, token, "worker", case, "review", {"satisfied": True}).status_code == 403
    answered = _act(client, token, "worker", case, "answer",
                    {"action": "fixed", "text": "已调整集合时间，并提前一天短信通知。"})
    assert answered.status_code == 200 and answered.get_json()["status"] == "answered"
    assert "rating_answered" in _kinds(app, "wang")  # the rater is told
    assert _act(client, token, "worker", case, "answer",
                {"action": "fixed", "text": "again"}).status_code == 409
    first_due = answered.get_json()["due_at"]
    reopened = _act(client, token, "wang", case, "review",
                    {"satisfied": False, "comment": "第二次活动还是晚了"})
    assert reopened.status_code == 200
    body = reopened.get_json()
    assert body["status"] == "reopened" and body["rounds"] == 2 and body["due_at"] >= first_due
    assert "rating_reopened" in _kinds(app, "worker")
    _act(client, token, "worker", case, "answer", {"action": "explained", "text": "已改进"})
    closed = _act(client, token, "wang", case, "review", {"satisfied": True})
    assert closed.get_json()["status"] == "closed"
    assert _act(client, token, "wang", case, "review", {"satisfied": True}).status_code == 409


def test_silence_closes_an_answered_case_and_deadlines_are_watched(app, client, token, served):
    _a, case = _case(client, token, served)
    _act(client, token, "worker", case, "answer", {"action": "fixed", "text": "已改"})
    with app.app_context():
        services.tick()
        db.session.commit()
        assert db.session.get(Rectification, case).status.value == "answered"  # not yet
        db.session.execute(sa.update(Rectification).values(
            answered_at=utcnow() - timedelta(days=8)))
        db.session.commit()
        services.tick()  # what the worker's tick runs (portal.core.jobs.PERIODIC)
        db.session.commit()
        row = db.session.get(Rectification, case)
        assert row.status.value == "closed" and row.closed_by_itself

    _a, late = _case(client, token, served, who="zhaoliu")
    with app.app_context():  # due in 20 hours: reminded once; then past due: overdue
        db.session.execute(sa.update(Rectification).where(Rectification.id == late).values(
            due_at=utcnow() + timedelta(hours=20)))
        db.session.commit()
        services.tick()
        services.tick()
        db.session.commit()
    assert _kinds(app, "worker").count("rating_due") == 1
    with app.app_context():
        db.session.execute(sa.update(Rectification).where(Rectification.id == late).values(
            due_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    overdue = client.get("/api/v1/rectifications?area=210802&overdue=1",
                         headers=token("zhanqian")).get_json()["items"]
    assert [c["id"] for c in overdue] == [late] and overdue[0]["overdue"] is True
    answered = _act(client, token, "worker", late, "answer", {"action": "fixed", "text": "迟了"})
    assert answered.get_json()["answer"]["late"] is True


def test_an_appeal_the_bureau_decides(app, client, token, served):
    activity_id, case = _case(client, token, served)
    assert _act(client, token, "worker", case, "decide",
                {"void": True, "reason": "x"}).status_code == 403
    assert _act(client, token, "zhanqian", case, "decide",
                {"void": True, "reason": "x"}).status_code == 409  # nothing appealed
    assert _act(client, token, "worker", case, "appeal", {"reason": ""}).status_code == 422
    appealed = _act(client, token, "worker", case, "appeal",
                    {"reason": "当天该志愿者并未到场，评价与事实不符。"})
    assert appealed.status_code == 200
    assert _act(client, token, "worker", case, "appeal", {"reason": "again"}).status_code == 409
    assert _act(client, token, "bayuquan", case, "decide",
                {"void": True, "reason": "x"}).status_code == 404  # another county's bureau
    back = _act(client, token, "zhanqian", case, "decide",
                {"void": False, "reason": "评价属实，请整改。"})
    assert back.status_code == 200 and back.get_json()["status"] == "open"
    _act(client, token, "worker", case, "appeal", {"reason": "补充材料：签到记录"})
    voided = _act(client, token, "zhanqian", case, "decide",
                  {"void": True, "reason": "签到记录证明评价与事实不符"})
    assert voided.get_json()["status"] == "voided"
    with app.app_context():
        rating = db.session.scalar(sa.select(Rating))
        assert rating.voided_at is not None and rating.void_reason
    stats = client.get(f"/api/v1/stats/ratings?object_type=activity&object_id={activity_id}",
                       headers=token("zhanqian")).get_json()
    assert stats["count"] == 0  # a voided rating no longer counts
    assert "rating_decided" in _kinds(app, "worker")


def test_figures_are_public_from_five_ratings(app, client, token, served):
    activity_id = None
    for i, level in enumerate((5, 4, 4, 1)):
        activity_id = served(f"user{i}x")
        body = {"object_type": "activity", "object_id": activity_id, "level": level}
        if level == 1:
            body["comment"] = "很差"
        assert rate(client, token, f"user{i}x", **body).status_code == 201
    url = f"/api/v1/stats/ratings?object_type=activity&object_id={activity_id}"
    assert client.get(url).get_json() == {"count": 4, "mean": None, "good_share": None,
                                          "bad_count": None, "rectified_share": None,
                                          "overdue": None}
    full = client.get(url, headers=token("zhanqian")).get_json()  # the bureau sees all
    assert (full["count"], full["mean"], full["good_share"], full["bad_count"]) == \
        (4, 3.5, 0.75, 1)
    activity_id = served("user9x")
    rate(client, token, "user9x", object_type="activity", object_id=activity_id, level=5)
    public = client.get(url).get_json()
    assert public["count"] == 5 and public["mean"] == 3.8 and public["good_share"] == 0.8
    assert public["rectified_share"] == 0.0 and public["overdue"] == 0
    month = utcnow().strftime("%Y-%m")
    area = client.get(f"/api/v1/stats/ratings?area=210802&month={month}").get_json()
    assert area["count"] == 5
    for bad in ("2026-13", "26-11", "x"):
        assert client.get(f"/api/v1/stats/ratings?area=210802&month={bad}").status_code == 422


def test_cron_without_a_worker_keeps_the_deadlines(app, client, token, served):
    """`flask jobs recover` (cron, where no worker runs) does the worker's tick: an answer the
    rater left 8 days closes by itself."""
    _a, case = _case(client, token, served)
    _act(client, token, "worker", case, "answer", {"action": "fixed", "text": "已改"})
    with app.app_context():
        db.session.execute(sa.update(Rectification).values(
            answered_at=utcnow() - timedelta(days=8)))
        db.session.commit()
    answer = app.test_cli_runner().invoke(args=["jobs", "recover"])
    assert answer.exit_code == 0, answer.output
    with app.app_context():
        assert db.session.get(Rectification, case).closed_by_itself
