"""Operator commands: `flask --app portal areas import PATH`, `users create`, `demo`, `worker`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import gettext as _

from portal.extensions import db

YINGKOU_CSV = Path(__file__).parent / "core" / "yingkou_divisions.csv"


def register_cli(app: Flask) -> None:
    areas_cli = AppGroup("areas", help="Administrative divisions (行政区划).")
    users_cli = AppGroup("users", help="Accounts.")

    @areas_cli.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    def import_areas_command(path):
        """Import a CSV of code,name,level,parent_code[,population,households]."""
        from portal.core.areas import ImportFailed, import_areas

        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise click.ClickException("the file is not UTF-8 text") from None
        try:
            result = import_areas(text)
        except ImportFailed as exc:
            db.session.rollback()
            for line in exc.errors:
                click.echo(line, err=True)
            click.echo(_("Nothing imported: {n} error(s).").format(n=len(exc.errors)), err=True)
            sys.exit(1)
        db.session.commit()
        click.echo(_("created {created}, updated {updated}, unchanged {unchanged}").format(
            created=result.created, updated=result.updated, unchanged=result.unchanged))

    @users_cli.command("create")
    @click.argument("username")
    @click.option("--password", required=True, help="At least 8 characters.")
    @click.option("--role", "roles", multiple=True,
                  help="admin, bureau, community_worker, org_admin, reviewer, volunteer.")
    @click.option("--area", "area_code", default=None, help="Area code for bureau and "
                  "community_worker.")
    def create_user_command(username, password, roles, area_code):
        """Create an account."""
        from portal.core.errors import DomainError
        from portal.core.users import create_user, parse_grants

        try:
            user = create_user(username, password, parse_grants(list(roles), area_code),
                               actor=None)
        except DomainError as exc:
            db.session.rollback()
            details = "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.fields.items())
            raise click.ClickException(f"{exc.message} {details}".strip()) from None
        db.session.commit()
        click.echo(f"created user {user.username} (id {user.id}) roles={user.roles}")

    @app.cli.command("demo")
    def demo_command():
        """Create demo data once (idempotent): divisions, communities, staff of each role."""
        from portal.demo import create_demo

        password, created = create_demo(YINGKOU_CSV)
        db.session.commit()
        click.echo("demo data " + ("created" if created else "already present"))
        click.echo(f"demo accounts (password: {password}): demo_admin, demo_bureau, "
                   "demo_bureau_zq, demo_worker, demo_org, demo_reviewer, demo_volunteer")

    @app.cli.command("remind")
    def remind_command():
        """Queue tomorrow's shift reminders (run daily from cron; safe to run twice)."""
        from portal.activities.services import queue_reminders

        count = queue_reminders()
        db.session.commit()
        click.echo(_("Reminders checked for {n} signups.").format(n=count))

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Quit when the queues are empty.")
    def worker_command(burst):
        """Run an RQ worker on the configured queues (needs REDIS_URL)."""
        from flask import current_app

        from portal.core.jobs import start_worker

        if not current_app.config.get("REDIS_URL"):
            raise click.ClickException("REDIS_URL is not set: jobs run inline, no worker needed")
        start_worker(burst=burst)

    app.cli.add_command(areas_cli)
    app.cli.add_command(users_cli)
