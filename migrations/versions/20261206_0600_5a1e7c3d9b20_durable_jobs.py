"""Durable jobs: a JobRun keeps what to call again, its tries and a lease, and the recovery finds
live jobs whose lease ran out through a partial index.

Revision ID: 5a1e7c3d9b20
Revises: c1caeef1d9df
Create Date: 2026-12-06 06:00:00.000000

"""
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


def downgrade():
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_job_runs_live_lease', sqlite_where=LIVE, postgresql_where=LIVE)
        batch_op.drop_column('lease_until')
        batch_op.drop_column('attempts')
        batch_op.drop_column('call')
