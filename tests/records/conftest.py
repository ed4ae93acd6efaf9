from datetime import datetime, timedelta

import pytest

from portal.core.db import SHANGHAI
from tests.activities.conftest import URBAN, activity, people, volunteer  # noqa: F401

__all__ = ["URBAN", "ago", "record_body"]


def ago(hours: float, *, base: datetime | None = None) -> str:
    """A time `hours` ago in Asia/Shanghai, on the minute."""
    base = base or datetime.now(SHANGHAI).replace(second=0, microsecond=0)
    return (base - timedelta(hours=hours)).isoformat()


def record_body(volunteer_id: int, activity_id: int, start_hours_ago: float, length_hours: float,
                minutes: int | None = None, **extra) -> dict:
    base = datetime.now(SHANGHAI).replace(second=0, microsecond=0)
    body = {"volunteer_id": volunteer_id, "activity_id": activity_id,
            "started_at": ago(start_hours_ago, base=base),
            "ended_at": ago(start_hours_ago - length_hours, base=base),
            "minutes": int(length_hours * 60) if minutes is None else minutes,
            "content": "陪老人聊天、读报"}
    body.update(extra)
    return body


@pytest.fixture
def setting(people, volunteer, activity):
    """A volunteer 'wang' and a community activity organised by 'worker'."""
    vid = volunteer("wang")
    act = activity()
    return vid, act["id"]


@pytest.fixture
def approved(client, token, setting):
    """wang has 99.5 approved hours (two records, weeks ago): (volunteer id, record ids)."""
    vid, aid = setting
    ids = []
    for start, minutes in ((24 * 30, 2970), (24 * 20, 3000)):
        rid = client.post("/api/v1/service-records", headers=token("worker"),
                          json=record_body(vid, aid, start, 60, minutes=minutes)).get_json()["id"]
        assert client.post(f"/api/v1/service-records/{rid}/approve",
                           headers=token("worker")).status_code == 200
        ids.append(rid)
    return vid, ids


@pytest.fixture
def bureau(make_user, people):
    make_user("zhanqian", ("bureau", "210802"))
    make_user("bayuquan", ("bureau", "210804"))


@pytest.fixture
def org(client, token, make_user, bureau):
    """org(admin='boss', name=...) -> the id of an active organisation administered by admin."""
    from tests.orgs.conftest import org_body

    def create(admin="boss", name="八田地老年协会", **fields):
        make_user(admin)
        response = client.post("/api/v1/orgs", headers=token(admin),
                               json=org_body(name=name, **fields))
        assert response.status_code == 201, response.get_json()
        org_id = response.get_json()["id"]
        review = client.post(f"/api/v1/orgs/{org_id}/review", headers=token("zhanqian"),
                             json={"decision": "approve", "comment": "ok"})
        assert review.status_code == 200, review.get_json()
        return org_id
    return create
