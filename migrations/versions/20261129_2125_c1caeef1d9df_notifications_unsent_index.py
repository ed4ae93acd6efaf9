"""The notifications outbox: a partial index of the rows still to deliver, the drain's queue.

Revision ID: c1caeef1d9df
Revises: 0d7ea652706c
Create Date: 2026-11-29 21:25:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c1caeef1d9df'
down_revision = '0d7ea652706c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_unsent', ['id'], unique=False,
                              sqlite_where=sa.text('sent_at IS NULL AND error IS NULL'),
                              postgresql_where=sa.text('sent_at IS NULL AND error IS NULL'))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_unsent',
                            sqlite_where=sa.text('sent_at IS NULL AND error IS NULL'),
                            postgresql_where=sa.text('sent_at IS NULL AND error IS NULL'))
