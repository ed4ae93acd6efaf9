"""The cases on pages: the party's home page flags them (overdue in red), it answers on
/rectifications without learning who rated; the rater says on /me whether it satisfies them;
the party appeals and the bureau decides on its list, which names the rater."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.core.db import utcnow
from portal.extensions import db
from portal.ratings.models import Rectification
from tests.conftest import form_post, sign_out
from tests.ratings.conftest import BAD, rate


def test_answered_on_the_page_reviewed_on_me_appealed_and_decided(app, client, token, login,
                                                                  served):
    activity_id = served("wang")
    case = rate(client, token, "wang", **BAD, object_id=activity_id).get_json()[
        "rectification"]["id"]
    with app.app_context():
        db.session.execute(sa.update(Rectification).values(due_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    login("worker")
    home = client.get("/").get_data(as_text=True)
    assert 'id="my-cases"' in home and "alert-danger" in home  # overdue: red
    page = client.get("/rectifications").get_data(as_text=True)
    assert f'id="case-{case}"' in page and "活动开始晚了" in page
    assert "志愿者wang" not in page and "wang" not in page  # never who rated
    form_post(client, f"/rectifications/{case}/answer",
              {"action": "fixed", "text": "已调整集合时间"}, "/rectifications")
    with app.app_context():
        row = db.session.get(Rectification, case)
        assert row.status.value == "answered" and row.answered_late
    sign_out(client)

    login("wang")
    me = client.get("/me").get_data(as_text=True)
    assert 'id="to-review"' in me and "已调整集合时间" in me
    form_post(client, f"/rectifications/{case}/review",
              {"satisfied": "no", "comment": "还是不行", "next": "/me"}, "/me")
    with app.app_context():
        assert db.session.get(Rectification, case).status.value == "reopened"
    sign_out(client)

    login("worker")
    form_post(client, f"/rectifications/{case}/appeal", {"reason": "评价与签到记录不符"},
              "/rectifications")
    sign_out(client)
    login("zhanqian")
    page = client.get("/rectifications?area=210802").get_data(as_text=True)
    assert "wang" in page  # the bureau sees who rated (their name)
    assert 'class="mt-2 decide-form"' in page
    form_post(client, f"/rectifications/{case}/decide",
              {"decision": "void", "reason": "签到记录证明评价不实"}, "/rectifications?area=210802")
    with app.app_context():
        row = db.session.get(Rectification, case)
        assert row.status.value == "voided" and row.rating.voided_at is not None
    english = client.get("/rectifications?area=210802&lang=en").get_data(as_text=True)
    assert "Poor ratings to put right" in english


def test_who_may_not(app, client, token, login, served):
    activity_id = served("wang")
    case = rate(client, token, "wang", **BAD, object_id=activity_id).get_json()[
        "rectification"]["id"]
    login("outsider")  # another community's worker: no such case for them
    assert f'id="case-{case}"' not in client.get("/rectifications").get_data(as_text=True)
    answer = form_post(client, f"/rectifications/{case}/answer",
                       {"action": "fixed", "text": "x"}, "/me/phone")  # (a page with a token)
    assert answer.status_code == 403
    with app.app_context():
        assert db.session.get(Rectification, case).status.value == "open"


def test_the_list_names_what_was_rated_and_pages_by_fifty(app, client, token, login, served):
    """Each case says what was rated (the activity's title, not a number); past 50 cases the
    list goes on a next page, and the last page holds the rest."""
    from portal.ratings.models import RatedKind, Rating
    from portal.ratings.services import month_of

    activity_id = served("wang")
    first = rate(client, token, "wang", **BAD, object_id=activity_id).get_json()[
        "rectification"]["id"]
    now = utcnow()
    with app.app_context():
        for n in range(54):  # more cases of the same community, set up directly
            rating = Rating(object_type=RatedKind.need, object_id=1000 + n, level=1,
                            comment="没人来", rated_community_code="210802001001",
                            area_code="210802001001", served_at=now, created_at=now,
                            month=month_of(now))
            db.session.add(rating)
            db.session.flush()
            db.session.add(Rectification(rating_id=rating.id,
                                         rated_community_code="210802001001",
                                         area_code="210802001001", month=rating.month,
                                         opened_at=now, due_at=now + timedelta(days=n + 1)))
        db.session.commit()
    login("worker")
    html = client.get("/rectifications?lang=en").get_data(as_text=True)
    assert html.count('class="card mb-3 case') == 50
    assert f'id="case-{first}"' in html and "陪伴独居老人 · Dissatisfied" in html
    assert 'id="cases-pages"' in html and "page=2" in html
    last = client.get("/rectifications?page=2&lang=en").get_data(as_text=True)
    assert last.count('class="card mb-3 case') == 5 and "page=1" in last
    assert f'id="case-{first}"' not in last
