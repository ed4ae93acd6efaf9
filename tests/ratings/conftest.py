"""好差评 fixtures: a community activity whose shift a volunteer completed (ended `ago`)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.activities.models import Shift, Signup, SignupState
from portal.core.db import utcnow
from portal.extensions import db
from tests.activities.conftest import URBAN, activity, people, volunteer  # noqa: F401

BAD = {"object_type": "activity", "level": 2, "comment": "活动开始晚了一个小时，也没有通知。"}


@pytest.fixture
def staff(make_user, people):  # noqa: F811
    make_user("zhanqian", ("bureau", "210802"))
    make_user("bayuquan", ("bureau", "210804"))


@pytest.fixture
def served(app, client, token, volunteer, activity, staff):  # noqa: F811
    """served(username, ago=timedelta(days=1)) -> the activity's id, a shift of which the
    volunteer `username` completed, ended `ago`."""
    made = {}

    def serve(username: str, ago: timedelta = timedelta(days=1)) -> int:
        if "activity" not in made:
            made["activity"] = activity()
        shift_id = made["activity"]["shifts"][0]["id"]
        volunteer(username)
        with app.app_context():  # open for signup again (an earlier call ended it)
            shift = db.session.get(Shift, shift_id)
            shift.starts_at = utcnow() + timedelta(days=2)
            shift.ends_at = shift.starts_at + timedelta(hours=2)
            db.session.commit()
        signup = client.post(f"/api/v1/shifts/{shift_id}/signups", headers=token(username),
                             json={}).get_json()
        with app.app_context():
            shift = db.session.get(Shift, shift_id)
            shift.ends_at = utcnow() - ago
            shift.starts_at = shift.ends_at - timedelta(hours=2)
            db.session.get(Signup, signup["id"]).status = SignupState.completed
            db.session.commit()
        return made["activity"]["id"]
    return serve


def rate(client, token, username, **body):
    return client.post("/api/v1/ratings", headers=token(username), json=body)
