"""Assignment proposals by the API and the pages: a 40-post event filled so that nobody sits in
two posts at once, the proposal applied through the signup rules (a place taken meanwhile is
skipped and reported), lines removed, and the refusals."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import combinations

import pytest
import sqlalchemy as sa

from portal.core.db import SHANGHAI
from portal.extensions import db
from tests.activities.conftest import activity  # noqa: F401  (a fixture)
from tests.callouts.conftest import staff, volunteers  # noqa: F401  (fixtures)
from tests.conftest import form_post, sign_out

API = "/api/v1/assignments"


def _at(day: int, hour: int) -> str:
    base = (datetime.now(SHANGHAI) + timedelta(days=day)).replace(hour=hour, minute=0,
                                                                  second=0, microsecond=0)
    return base.isoformat()


@pytest.fixture
def event(activity, staff):  # noqa: F811
    """A 40-post event: 10 posts 08–12 and 10 posts 10–14 (they overlap), 10 posts 14–18 the
    same day, 10 posts 08–12 the next; one place each."""
    def make():
        shifts = []
        for day, start, end in ((3, 8, 12), (3, 10, 14), (3, 14, 18), (4, 8, 12)):
            shifts += [{"starts_at": _at(day, start), "ends_at": _at(day, end), "capacity": 1,
                        "waitlist": False} for _ in range(10)]
        return activity(shifts=shifts, title="马拉松赛道服务")
    return make


def _signups(app, activity_id):
    from portal.activities.models import Shift, Signup, SignupState

    with app.app_context():
        return db.session.execute(
            sa.select(Signup.volunteer_id, Shift.starts_at, Shift.ends_at, Shift.id)
            .join(Shift, Shift.id == Signup.shift_id)
            .where(Shift.activity_id == activity_id,
                   Signup.status == SignupState.confirmed)).all()


def _no_clash(rows) -> None:
    by_volunteer: dict[int, list] = {}
    for vid, starts, ends, _sid in rows:
        by_volunteer.setdefault(vid, []).append((starts, ends))
    for times in by_volunteer.values():
        for a, b in combinations(times, 2):
            assert not (a[0] < b[1] and b[0] < a[1]), times


def test_a_40_post_event_is_filled_one_post_each_without_a_clash(app, client, token, event,
                                                                 volunteers):  # noqa: F811
    made = event()
    volunteers(*[f"runner{n:02d}" for n in range(45)])
    proposal = client.post(API, headers=token("worker"),
                           json={"activity_id": made["id"], "max_shifts": 1})
    assert proposal.status_code == 200, proposal.get_json()
    body = proposal.get_json()
    assert body["optimal"] is True and len(body["assignments"]) == 40
    assert body["unfilled"] == {}
    assert {"volunteer_id", "shift_id", "score", "reasons"} <= set(body["assignments"][0])
    assert len({a["volunteer_id"] for a in body["assignments"]}) == 40  # one post each
    applied = client.post(f"{API}/{body['proposal_id']}/apply", headers=token("worker"), json={})
    assert applied.status_code == 200
    assert applied.get_json() == {"signed_up": 40, "skipped": []}
    rows = _signups(app, made["id"])
    assert len(rows) == 40 and len({r[0] for r in rows}) == 40
    again = client.post(f"{API}/{body['proposal_id']}/apply", headers=token("worker"), json={})
    assert again.status_code == 409


def test_two_posts_each_never_overlapping_and_a_place_taken_meanwhile(app, client, token,
                                                                      event, volunteers):  # noqa: F811
    made = event()
    ids = volunteers(*[f"runner{n:02d}" for n in range(15)])
    proposal = client.post(API, headers=token("worker"), json={
        "activity_id": made["id"], "max_shifts": 2,
        "volunteer_ids": list(ids.values())}).get_json()
    lines = proposal["assignments"]
    assert len(lines) == 30 and proposal["optimal"] is True
    per = {}
    for line in lines:
        per[line["volunteer_id"]] = per.get(line["volunteer_id"], 0) + 1
    assert max(per.values()) == 2
    # Meanwhile someone else takes the post of the first line; the organiser removes another.
    first, removed = lines[0], lines[1]
    volunteers("latecomer")
    taken = client.post(f"/api/v1/shifts/{first['shift_id']}/signups",
                        headers=token("latecomer"), json={})
    assert taken.status_code == 201
    result = client.post(f"{API}/{proposal['proposal_id']}/apply", headers=token("worker"),
                         json={"exclude": [[removed["volunteer_id"], removed["shift_id"]]]})
    body = result.get_json()
    assert body["signed_up"] == 28
    assert [(s["volunteer_id"], s["shift_id"]) for s in body["skipped"]] == [
        (first["volunteer_id"], first["shift_id"])]
    assert body["skipped"][0]["why"]
    rows = [r for r in _signups(app, made["id"]) if r[0] != ids.get("latecomer")]
    _no_clash(rows)


@pytest.mark.parametrize("body, status, field", [
    ({"max_shifts": 0}, 422, "max_shifts"), ({"max_shifts": "2"}, 422, "max_shifts"),
    ({"max_shifts": 11}, 422, "max_shifts"), ({"volunteer_ids": "all"}, 422, "volunteer_ids"),
    ({"volunteer_ids": [1, True]}, 422, "volunteer_ids"), ({"activity_id": None}, 422,
                                                          "activity_id"),
    ({"activity_id": 999999}, 404, None),
])
def test_bad_input(app, client, token, event, body, status, field):
    from portal.assignments.models import Proposal

    made = event()
    answer = client.post(API, headers=token("worker"),
                         json={"activity_id": made["id"], **body})
    assert answer.status_code == status, answer.get_json()
    if field:
        assert field in answer.get_json()["error"]["fields"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Proposal)) == 0


def test_only_the_organiser(client, token, event, volunteers):  # noqa: F811
    made = event()
    volunteers("runner01")
    for who in ("outsider", "zhanqian", "runner01"):
        refused = client.post(API, headers=token(who),
                              json={"activity_id": made["id"], "max_shifts": 0})
        assert refused.status_code == 403, who  # before anything about the body
    mine = client.post(API, headers=token("worker"), json={"activity_id": made["id"]}).get_json()
    assert client.post(f"{API}/{mine['proposal_id']}/apply", headers=token("outsider"),
                       json={}).status_code == 403
    assert client.get(f"{API}/{mine['proposal_id']}", headers=token("outsider")).status_code \
        == 403


def test_the_organiser_reviews_and_applies_on_a_page(app, client, login, event, volunteers):  # noqa: F811
    made = event()
    volunteers(*[f"runner{n:02d}" for n in range(12)])
    login("worker")
    show = client.get(f"/activities/{made['id']}?lang=en").get_data(as_text=True)
    assert 'id="assign-link"' in show
    page = client.get(f"/activities/{made['id']}/assign?lang=en").get_data(as_text=True)
    assert "40 places left" in page
    proposed = form_post(client, f"/activities/{made['id']}/assign",
                         {"max_shifts": "2", "propose": "1"})
    assert proposed.status_code == 302
    url = proposed.headers["Location"]
    html = client.get(url).get_data(as_text=True)
    ticks = html.count('name="line"')
    assert ticks == 24 and "No placement scores higher." in html
    import re

    keep = re.findall(r'name="line" value="([\d-]+)"', html)[1:]  # one line removed
    from tests.conftest import csrf_token

    applied = client.post(url, data={"csrf_token": csrf_token(html), "apply": "1",
                                     "line": keep})
    assert applied.status_code == 302
    done = client.get(url + "?lang=en").get_data(as_text=True)
    assert 'id="applied"' in done and "signups made: 23; lines skipped: 0." in done
    assert done.count("<li>") >= 23  # who went where stays on the page
    _no_clash(_signups(app, made["id"]))
    sign_out(client)
    login("outsider")
    assert client.get(url).status_code == 403


def test_a_large_proposal_is_a_job_with_a_progress_bar(app, client, login, event, volunteers,  # noqa: F811
                                                      monkeypatch, worker):
    from portal.assignments import services

    monkeypatch.setattr(services, "LARGE", 10)
    made = event()
    volunteers(*[f"runner{n:02d}" for n in range(6)])
    login("worker")
    started = form_post(client, f"/activities/{made['id']}/assign",
                        {"max_shifts": "1", "propose": "1"})
    assert started.status_code == 302 and "/jobs/" in started.headers["Location"]
    job = client.get(started.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "job-progress" in job
    from tests.conftest import wait_for_job

    job_id = started.headers["Location"].rsplit("/", 1)[1]
    from portal.core.users import User, issue_token

    with app.app_context():
        token, _row = issue_token(db.session.scalar(sa.select(User).where(
            User.username == "worker")))
        db.session.commit()
    done = wait_for_job(client, job_id, {"Authorization": "Bearer " + token})
    assert done["status"] == "finished", done
    assert done["result"]["places"] == 6 and "/assignments/" in done["result"]["open"]
    page = client.get(started.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert 'id="job-open"' in page


@pytest.mark.parametrize("lang, words", [
    ("zh", ("请修改标注的字段。", "请填写 1 到 10 之间的整数。")),
    ("en", ("Please correct the marked fields.", "A whole number from 1 to 10.")),
])
def test_refusals_speak_the_readers_language(client, token, event, lang, words):
    made = event()
    answer = client.post(f"{API}?lang={lang}", headers=token("worker"),
                         json={"activity_id": made["id"], "max_shifts": 0})
    error = answer.get_json()["error"]
    assert (error["message"], error["fields"]["max_shifts"][0]) == words


def test_applying_with_every_line_unticked_keeps_the_proposal(app, client, login, event,
                                                              volunteers):  # noqa: F811
    from portal.assignments.models import Proposal
    from tests.conftest import csrf_token

    made = event()
    volunteers("runner01")
    login("worker")
    proposed = form_post(client, f"/activities/{made['id']}/assign",
                         {"max_shifts": "1", "propose": "1"})
    url = proposed.headers["Location"]
    html = client.get(url).get_data(as_text=True)
    refused = client.post(url, data={"csrf_token": csrf_token(html), "apply": "1"})
    assert refused.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Proposal.applied_at)) is None
    assert not _signups(app, made["id"])
