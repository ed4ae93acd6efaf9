from datetime import date, datetime, timedelta

import pytest

from portal.core.db import SHANGHAI
from portal.extensions import db
from portal.volunteers import services as volunteer_services
from portal.volunteers.idcards import make_resident_id

URBAN = "210802001001"


def later(hours: float) -> str:
    return (datetime.now(SHANGHAI) + timedelta(hours=hours)).replace(microsecond=0).isoformat()


@pytest.fixture
def people(yingkou, make_user):
    make_user("worker", ("community_worker", URBAN))
    make_user("outsider", ("community_worker", "210804100201"))


@pytest.fixture
def volunteer(app):
    """volunteer(username, born=...) -> volunteer id, with an account (password as PASSWORD)."""
    counter = iter(range(1, 10_000))

    def make(username: str, born: date = date(1960, 5, 1)) -> int:
        from tests.conftest import PASSWORD

        with app.app_context():
            v = volunteer_services.register_volunteer(volunteer_services.VolunteerInput(
                real_name="志愿者" + username, id_number=make_resident_id(
                    "210802", born, next(counter)), phone="13800138000", community_code=URBAN,
                username=username, password=PASSWORD), actor=None)
            db.session.commit()
            return v.id
    return make


@pytest.fixture
def activity(client, token):
    """activity(capacity=…, waitlist=…, **fields) -> the activity JSON (with shifts)."""
    def create(capacity=10, waitlist=True, shifts=None, by="worker", **fields):
        body = {"title": "陪伴独居老人", "community_code": URBAN, "service_type": "elderly_care",
                "skills": ["first_aid"], "location": "八田地社区活动室",
                "shifts": shifts or [{"starts_at": later(48), "ends_at": later(51),
                                      "capacity": capacity, "waitlist": waitlist}]}
        body.update(fields)
        response = client.post("/api/v1/activities", headers=token(by), json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()
    return create
