"""The migrations build exactly the models' schema, and go down and up again."""

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.core.db import modelled
from portal.extensions import db

ROOT = Path(__file__).resolve().parent.parent


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "include_name": modelled})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_revisions_have_real_names():
    for path in (ROOT / "migrations" / "versions").glob("*.py"):
        stem = path.stem
        date, time, rev, *what = stem.split("_")
        assert len(date) == 8 and date.isdigit() and len(time) == 4 and time.isdigit(), stem
        assert what and "empty" not in stem and "message" not in stem, stem
        assert "def downgrade" in path.read_text()


def test_downgrade_to_base_and_upgrade_again(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}", "SECRET_KEY": "x",
           "PATH": "/usr/bin:/bin"}
    flask = [sys.executable, "-m", "flask", "--app", "portal", "db"]
    for step in (["upgrade"], ["downgrade", "base"], ["upgrade"]):
        result = subprocess.run(flask + step, cwd=ROOT, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    engine = sa.create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert {"areas", "users", "role_grants", "api_tokens", "audit_log", "job_runs"} <= tables
