"""Durable jobs: a JobRun keeps what to call again, its tries and a lease, and the recovery finds
live jobs whose lease ran out through a partial index.

Revision ID: 5a1e7c3d9b20
Revises: c1caeef1d9df
Create Date: 2026-12-06 06:00:00.000000

"""
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5a1e7c3d9b20'
down_revision = 'c1caeef1d9df'
branch_labels = None
depends_on = None

LIVE = sa.text("status IN ('queued', 'started')")


def upgrade():
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('call', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_job_runs_live_lease', ['lease_until'], unique=False,
                              sqlite_where=LIVE, postgresql_where=LIVE)
    _adopt_live_jobs()


def _adopt_live_jobs():
    """Jobs queued or running when this runs (a deploy) did not keep their call: give the
    certificates' and exports' theirs (the rows that name them say it), and a fresh lease, so
    that they are recovered rather than failed. Others (an import) are failed by the recovery
    with the reason."""
    conn = op.get_bind()
    jobs = sa.table('job_runs', sa.column('id', sa.String), sa.column('status', sa.String),
                    sa.column('call', sa.JSON),
                    sa.column('lease_until', sa.DateTime(timezone=True)))
    lease = datetime.now(timezone.utc) + timedelta(minutes=5)
    for table in ('certificates', 'export_files'):
        rows = conn.execute(sa.text(
            f"SELECT t.id, t.job_id FROM {table} t JOIN job_runs j ON j.id = t.job_id "
            "WHERE j.status IN ('queued', 'started')")).all()
        for object_id, job_id in rows:
            call = {"args": [object_id, None] if table == 'certificates' else [object_id],
                    "kwargs": {}}
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(
                call=call, lease_until=lease))
    conn.execute(jobs.update().where(jobs.c.status.in_(('queued', 'started')),
                                     jobs.c.lease_until.is_(None)).values(lease_until=lease))


def downgrade():
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_job_runs_live_lease', sqlite_where=LIVE, postgresql_where=LIVE)
        batch_op.drop_column('lease_until')
        batch_op.drop_column('attempts')
        batch_op.drop_column('call')
