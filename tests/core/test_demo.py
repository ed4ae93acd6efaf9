"""`flask demo` makes demo data once and can run again without duplicating anything."""

import sqlalchemy as sa

from portal.core.areas import Area
from portal.core.users import User
from portal.demo import ACCOUNTS
from portal.extensions import db
from portal.orgs.models import Org


def counts():
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m))
                 for m in (Area, User, Org))


def test_demo_is_idempotent_and_prints_the_password(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        before = counts()
        assert before[0] == 77 + 6 and before[1] == len(ACCOUNTS) + before[2] and before[2] > 0
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0
    with app.app_context():
        assert counts() == before
    password = (app.instance_path + "/demo-password")
    with open(password) as f:
        assert f.read().strip() in first.output and f"{f.name}" not in second.output


def test_the_demo_gives_every_journey_something_to_do(app):
    """Several organisations with admins of their own and real contacts, incubations in every
    stage, a call under review with bids assigned to demo_reviewer, a shift running now with
    demo_volunteer signed up, and demo_volunteer past the first star."""
    from portal.activities.models import Shift, Signup
    from portal.core.db import utcnow
    from portal.orgs.models import Incubation, OrgAdmin
    from portal.projects.models import Assignment, Bid, Project
    from portal.records.queries import hours
    from portal.volunteers.models import Volunteer

    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        admins = set(db.session.scalars(sa.select(OrgAdmin.user_id)))
        orgs = db.session.scalar(sa.select(sa.func.count()).select_from(Org))
        assert len(admins) >= orgs  # each has an admin of its own
        assert "联系人" not in set(db.session.scalars(sa.select(Org.contact_name)))
        stages = {s.value for s in db.session.scalars(sa.select(Incubation.stage))}
        assert {"applied", "admitted", "incubating", "graduated", "rejected"} <= stages
        reviewer = db.session.scalar(sa.select(User).where(User.username == "demo_reviewer"))
        under_review = db.session.scalars(sa.select(Project).join(
            Assignment, Assignment.project_id == Project.id).where(
            Assignment.user_id == reviewer.id)).all()
        reviewing = [p for p in under_review if p.status.value == "reviewing"]
        assert reviewing and db.session.scalar(sa.select(sa.func.count()).select_from(Bid).where(
            Bid.project_id == reviewing[0].id)) >= 2
        account = db.session.scalar(sa.select(User).where(User.username == "demo_volunteer"))
        volunteer = Volunteer.of_user(account)
        now = utcnow()
        running = db.session.scalars(sa.select(Signup).join(Shift).where(
            Signup.volunteer_id == volunteer.id, Shift.starts_at <= now,
            Shift.ends_at > now)).all()
        assert running and running[0].status.value == "confirmed"
        assert hours(volunteer.id).star_level >= 1
