"""应急动员 fixtures: coordinators (the bureau of 站前区, a community worker of 八田地社区, one of
another county) and verified volunteers of 八田地社区 with skills, with accounts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import count

import pytest

from portal.core.db import SHANGHAI
from portal.extensions import db
from tests.activities.conftest import URBAN

OTHER_COUNTY = "210804100201"
_serial = count(1)


def later(minutes: float) -> str:
    return (datetime.now(SHANGHAI) + timedelta(minutes=minutes)).replace(
        microsecond=0).isoformat()


@pytest.fixture
def staff(yingkou, make_user):
    make_user("zhanqian", ("bureau", "210802"))
    make_user("worker", ("community_worker", URBAN))
    make_user("outsider", ("community_worker", OTHER_COUNTY))


@pytest.fixture
def volunteers(app):
    """volunteers(*usernames, skills=("first_aid",), community=URBAN, verified=True,
    phone_verified=False) -> {username: volunteer id}, each with an account."""
    from portal.core.db import utcnow
    from portal.core.users import User
    from portal.volunteers.idcards import make_resident_id
    from portal.volunteers.models import Volunteer, VolunteerState
    from portal.volunteers.services import VolunteerInput, register_volunteer
    from tests.conftest import PASSWORD

    def make(*usernames, skills=("first_aid",), community=URBAN, verified=True,
             phone_verified=False) -> dict[str, int]:
        made = {}
        with app.app_context():
            for name in usernames:
                volunteer = register_volunteer(VolunteerInput(
                    real_name="志愿者" + name, id_number=make_resident_id(
                        "210802", date(1970, 5, 1), next(_serial)),
                    phone=f"139{next(_serial):08d}", community_code=community,
                    skills=list(skills), username=name, password=PASSWORD), actor=None)
                db.session.flush()
                if verified:
                    volunteer.status = VolunteerState.verified
                    volunteer.verified_at = utcnow()
                if phone_verified:
                    user = db.session.get(User, volunteer.user_id)
                    user.phone, user.phone_verified_at = volunteer.phone, utcnow()
                made[name] = volunteer.id
            db.session.commit()
            assert all(db.session.get(Volunteer, i) for i in made.values())
        return made
    return make


CALL = {"title": "站前区暴雨转移群众", "area_code": "210802", "place": "站前区政府门前广场",
        "skills": ["first_aid"], "headcount": 2}


@pytest.fixture
def callout(client, token, staff):
    """callout(by="zhanqian", **fields) -> the call-out's JSON (201)."""
    def make(by="zhanqian", **fields):
        body = {**CALL, "needed_by": later(60), "ends_at": later(6 * 60), **fields}
        response = client.post("/api/v1/callouts", headers=token(by), json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()
    return make
