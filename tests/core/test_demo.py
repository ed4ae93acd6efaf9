"""`flask demo` makes demo data once and can run again without duplicating anything."""

import sqlalchemy as sa

from portal.core.areas import Area
from portal.core.users import User
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
        assert before[0] == 77 + 6 and before[1] == 7 and before[2] > 0
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0
    with app.app_context():
        assert counts() == before
    password = (app.instance_path + "/demo-password")
    with open(password) as f:
        assert f.read().strip() in first.output and f"{f.name}" not in second.output
