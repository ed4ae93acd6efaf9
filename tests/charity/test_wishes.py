"""微心愿 through the API: published by the community's worker after a visit, the beneficiary's
details for workers only, exactly one claim of many, the hand-over through the community, a
lapsed claim back on the wall, and the moves that are refused."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.charity.models import Wish
from portal.core.db import utcnow
from portal.core.notify import Notification
from portal.core.users import User
from portal.extensions import db
from tests.charity.conftest import URBAN

WISH = {"community_code": URBAN, "alias": "王奶奶", "title": "一台电暖器", "kind": "goods",
        "estimated_value": "300.00", "story": "独居，冬天屋里冷。",
        "beneficiary": {"name": "王桂兰", "phone": "13904170003", "address": "八田地社区3号楼"}}


@pytest.fixture
def wish(client, token, people):
    def make(**fields):
        answer = client.post("/api/v1/wishes", headers=token("worker"), json={**WISH, **fields})
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()
    return make


def test_published_by_the_communitys_worker_private_details_kept(client, token, wish):
    made = wish()
    assert made["status"] == "published" and made["beneficiary"]["name"] == "王桂兰"
    public = client.get(f"/api/v1/wishes/{made['id']}").get_json()
    for private in ("王桂兰", "13904170003", "3号楼", "beneficiary"):
        assert private not in str(public)
    assert client.get("/api/v1/wishes").get_json()["items"][0]["alias"] == "王奶奶"
    assert "王桂兰" in str(client.get(f"/api/v1/wishes/{made['id']}",
                                      headers=token("zhanqian")).get_json())
    assert "王桂兰" not in str(client.get(f"/api/v1/wishes/{made['id']}",
                                          headers=token("outsider")).get_json())
    assert client.post("/api/v1/wishes", headers=token("outsider"), json=WISH).status_code == 403
    assert client.post("/api/v1/wishes", headers=token("donor"), json=WISH).status_code == 403


@pytest.mark.parametrize("fields, field", [
    ({"estimated_value": "500.01"}, "estimated_value"), ({"estimated_value": 300.0},
                                                         "estimated_value"),
    ({"kind": "cash"}, "kind"), ({"alias": ""}, "alias"),
    ({"beneficiary": {"name": "", "phone": "13904170003", "address": "x"}}, "beneficiary.name"),
    ({"beneficiary": {"name": "王", "phone": "12", "address": "x"}}, "beneficiary.phone")])
def test_bad_wishes_are_422_and_write_nothing(app, client, token, people, fields, field):
    answer = client.post("/api/v1/wishes", headers=token("worker"), json={**WISH, **fields})
    assert answer.status_code == 422 and field in answer.get_json()["error"]["fields"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Wish)) == 0


def test_claim_hand_over_confirm(app, client, token, wish):
    made = wish()
    url = f"/api/v1/wishes/{made['id']}"
    claimed = client.post(f"{url}/claim", headers=token("donor"), json={})
    assert claimed.status_code == 200
    body = claimed.get_json()
    assert body["status"] == "claimed" and body["claim_expires_at"]
    assert body["handover_contact"]["community"] == "八田地社区"
    assert "王桂兰" not in str(body) and "13904170003" not in str(body)
    assert client.post(f"{url}/claim", headers=token("other"), json={}).status_code == 409
    assert client.post(f"{url}/release", headers=token("other")).status_code == 409
    assert client.post(f"{url}/confirm", headers=token("worker")).status_code == 409
    done = client.post(f"{url}/fulfil", headers=token("donor"), json={"note": "已送到社区"})
    assert done.status_code == 200 and done.get_json()["status"] == "fulfilled"
    assert client.post(f"{url}/confirm", headers=token("donor")).status_code == 403
    confirmed = client.post(f"{url}/confirm", headers=token("worker"))
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "confirmed"
    for action in ("claim", "release", "fulfil"):
        assert client.post(f"{url}/{action}", headers=token("donor"), json={}).status_code \
            == 409
    with app.app_context():
        told = db.session.execute(sa.select(Notification.kind, Notification.user_id)
                                  .order_by(Notification.id)).all()
        worker = db.session.scalar(sa.select(User.id).where(User.username == "worker"))
        donor = db.session.scalar(sa.select(User.id).where(User.username == "donor"))
        # The claimer is told; the worker who confirms is asked to rate on the beneficiary's
        # behalf (好差评).
        assert told == [("wish_confirmed", donor), ("rating_asked", worker)]


def test_a_lapsed_claim_returns_to_the_wall_and_the_claimer_is_told(app, client, token, wish):
    made = wish()
    client.post(f"/api/v1/wishes/{made['id']}/claim", headers=token("donor"), json={})
    with app.app_context():
        db.session.execute(sa.update(Wish).values(claim_expires_at=utcnow()
                                                  - timedelta(minutes=1)))
        db.session.commit()
    listed = client.get("/api/v1/wishes").get_json()["items"][0]
    assert listed["status"] == "published"
    assert client.get(f"/api/v1/wishes/{made['id']}").get_json()["status"] == "published"
    assert client.post(f"/api/v1/wishes/{made['id']}/claim", headers=token("other"),
                       json={}).status_code == 200
    with app.app_context():
        kinds = db.session.scalars(sa.select(Notification.kind)).all()
        assert kinds == ["wish_claim_expired"]


def test_the_claimer_may_release_and_the_worker_may_withdraw(client, token, wish):
    made = wish()
    url = f"/api/v1/wishes/{made['id']}"
    client.post(f"{url}/claim", headers=token("donor"), json={})
    assert client.post(f"{url}/release", headers=token("donor")).get_json()["status"] == \
        "published"
    assert client.post(f"{url}/cancel", headers=token("worker"), json={}).status_code == 422
    gone = client.post(f"{url}/cancel", headers=token("worker"), json={"reason": "已由亲属解决"})
    assert gone.status_code == 200 and gone.get_json()["status"] == "cancelled"


@pytest.mark.contention
def test_a_hundred_claims_at_once_one_winner(app, client, token, wish, make_user):
    made = wish()
    headers = []
    for i in range(100):
        make_user(f"kind{i:03d}")
        headers.append(token(f"kind{i:03d}"))
    barrier = threading.Barrier(len(headers))
    codes: list[int] = []

    def go(h):
        barrier.wait()
        codes.append(app.test_client().post(f"/api/v1/wishes/{made['id']}/claim", headers=h,
                                            json={}).status_code)
    threads = [threading.Thread(target=go, args=(h,)) for h in headers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] + [409] * 99


# --- the hand-over photo -----------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_a_hand_over_photo_for_the_claimer_and_the_community_only(app, client, token, wish,
                                                                  login, tmp_path,
                                                                  monkeypatch):
    import io

    from tests.conftest import sign_out

    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path))
    made = wish()
    url = f"/api/v1/wishes/{made['id']}"
    client.post(f"{url}/claim", headers=token("donor"), json={})
    for name, content, said in (("x.pdf", b"%PDF-1.4 ...", "PNG"), ("x.png", b"GIF89a", "PNG")):
        refused = client.post(f"{url}/fulfil", headers=token("donor"), data={
            "note": "已送到", "photo": (io.BytesIO(content), name)},
            content_type="multipart/form-data")
        assert refused.status_code == 422 and said in refused.get_json()["error"]["fields"][
            "photo"][0]
    assert list(tmp_path.iterdir()) == []  # nothing kept of a refused hand-over
    assert client.get(url).get_json()["status"] == "claimed"
    done = client.post(f"{url}/fulfil", headers=token("donor"), data={
        "note": "已送到", "photo": (io.BytesIO(PNG), "handover.png")},
        content_type="multipart/form-data")
    assert done.status_code == 200 and done.get_json()["status"] == "fulfilled"
    with app.app_context():
        key = db.session.get(Wish, made["id"]).photo_key
    assert key and (tmp_path / key).read_bytes() == PNG

    photo = f"/wishes/{made['id']}/photo"
    assert client.get(photo).status_code == 404  # anonymous: no such thing
    for name, status in (("other", 404), ("outsider", 404), ("donor", 200), ("worker", 200),
                         ("zhanqian", 200)):
        login(name)
        answer = client.get(photo)
        assert answer.status_code == status, name
        if status == 200:
            assert answer.data == PNG
        sign_out(client)


def test_the_communitys_worker_rates_a_confirmed_wish(client, token, wish):
    made = wish()
    url = f"/api/v1/wishes/{made['id']}"
    body = {"object_type": "wish", "object_id": made["id"], "level": 5}
    client.post(f"{url}/claim", headers=token("donor"), json={})
    client.post(f"{url}/fulfil", headers=token("donor"), json={"note": "送到"})
    assert client.post("/api/v1/ratings", headers=token("worker"), json=body).status_code == 403
    client.post(f"{url}/confirm", headers=token("worker"))
    for name in ("donor", "outsider"):  # the claimer, another community's worker
        assert client.post("/api/v1/ratings", headers=token(name),
                           json=body).status_code == 403, name
    assert client.post("/api/v1/ratings", headers=token("worker"), json=body).status_code == 201
