"""Operator commands: `flask --app portal areas import PATH`, `users create`, `demo`, `worker`,
`backup`, `restore`, `jobs recover`."""

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
        from portal.demo import ACCOUNTS

        click.echo(f"demo accounts (password: {password}): "
                   + ", ".join(name for name, _grants in ACCOUNTS))

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

    @app.cli.command("backup")
    @click.argument("path", type=click.Path(dir_okay=False))
    def backup_command(path):
        """Back up the database to PATH, consistent under writes (SQLite: the online backup API;
        PostgreSQL: pg_dump -Fc). Keep the keys and UPLOAD_DIR too: see README, Backups."""
        from portal.core.backup import BackupFailed, backup

        try:
            kind = backup(path)
        except BackupFailed as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"backup of the {kind} database written to {path}")

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--force", is_flag=True, help="Replace a database that holds data.")
    def restore_command(path, force):
        """Restore the database from a backup made by `backup` (refuses a database that holds
        data unless --force)."""
        from portal.core.backup import BackupFailed, restore, rows_present

        full = rows_present()
        if full and not force:
            raise click.ClickException(
                f"the database is not empty ({len(full)} tables hold rows, e.g. "
                f"{', '.join(full[:3])}): nothing restored; add --force to replace it")
        try:
            kind = restore(path)
        except BackupFailed as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{kind} database restored from {path}")

    jobs_cli = AppGroup("jobs", help="Background jobs.")

    @jobs_cli.command("recover")
    def recover_command():
        """What a worker does every JOB_TICK_SECONDS (`periodic_work`): queue again (or run,
        without Redis) the jobs that were lost, drain the notifications' outbox, the day's
        statement reminders, 好差评's deadlines (reminders, cases closing by themselves). From
        cron where no worker runs."""
        from portal.core.jobs import periodic_work

        results = periodic_work()
        counts = results["portal.core.jobs:recover_jobs"] or {
            "requeued": 0, "failed": 0, "waiting": 0}
        sent = results["portal.core.notify:deliver_outbox"] or {"sent": 0, "failed": 0}
        failed = [path for path, answer in results.items() if answer is None]
        click.echo(f"jobs: {counts['requeued']} queued again, {counts['failed']} failed, "
                   f"{counts['waiting']} still waiting; notifications: {sent['sent']} sent, "
                   f"{sent['failed']} failed")
        if failed:  # (logged with the reason): cron sees it
            click.echo("failed: " + ", ".join(failed))
            raise SystemExit(1)

    funds_cli = AppGroup("funds", help="Community funds.")

    @funds_cli.command("check")
    def funds_check_command():
        """Recompute every fund's balance and goods held from its ledger; print each mismatch
        with the kept figure (exit 1 if any), or `0 mismatches`."""
        from portal.charity.ledger import mismatches

        wrong = mismatches()
        for row in wrong:
            click.echo(f"fund {row['fund_id']} {row['name']}: balance kept {row['balance']}, "
                       f"ledger {row['ledger_balance']}; goods kept {row['goods']}, ledger "
                       f"{row['ledger_goods']}")
        click.echo(f"{len(wrong)} mismatches")
        if wrong:
            raise SystemExit(1)

    @funds_cli.command("remind")
    def funds_remind_command():
        """Tell each host of a statement due within 7 days (daily, from cron; the worker's tick
        does it too). Safe to run twice."""
        from portal.charity.disclosure import remind_due

        click.echo(f"{remind_due()} reminders queued")
        db.session.commit()

    needs_cli = AppGroup("needs", help="Residents' needs (需求清单).")

    @needs_cli.command("check")
    def needs_check_command():
        """Count every area's needs by status and category afresh and compare the dashboard's
        tallies (kept by triggers); on SQLite, also the search index against one made afresh.
        Print each mismatch (exit 1 if any), or `0 mismatches`."""
        from portal.needs import search
        from portal.needs.queries import tally_mismatches

        wrong = tally_mismatches()
        for row in wrong:
            click.echo(f"{row['area_code']} {row['status']} {row['category']}: kept "
                       f"{row['kept']}, counted {row['counted']} (n, verified, quick, timed)")
        index = search.problems()
        db.session.rollback()
        for problem in index:
            click.echo(f"search index: {problem} (flask needs reindex makes it again)")
        click.echo(f"{len(wrong) + len(index)} mismatches")
        if wrong or index:
            raise SystemExit(1)

    @needs_cli.command("reindex")
    def needs_reindex_command():
        """SQLite: make the needs' search index and its triggers again from the needs (after a
        migration that rebuilt the needs table, or when `needs check` says so)."""
        from portal.needs import search

        count = search.rebuild()
        db.session.commit()
        click.echo(f"{count} needs indexed")

    ratings_cli = AppGroup("ratings", help="好差评.")

    @ratings_cli.command("check")
    def ratings_check_command():
        """Count every organisation's ratings by month afresh and compare the tallies the
        ranking reads (kept by triggers); print each mismatch (exit 1 if any), or
        `0 mismatches`."""
        from portal.ratings.queries import tally_mismatches

        wrong = tally_mismatches()
        for row in wrong:
            click.echo(f"organisation {row['org_id']} {row['month']}: kept {row['kept']}, "
                       f"counted {row['counted']} (n, level sum, good, bad)")
        click.echo(f"{len(wrong)} mismatches")
        if wrong:
            raise SystemExit(1)

    app.cli.add_command(areas_cli)
    app.cli.add_command(ratings_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(funds_cli)
    app.cli.add_command(needs_cli)
