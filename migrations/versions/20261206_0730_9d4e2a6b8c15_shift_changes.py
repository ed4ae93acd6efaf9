"""Shifts that organisers cancel or change: when and why it was cancelled, and how many times
its volunteers were told of a change (a calendar's SEQUENCE).

Revision ID: 9d4e2a6b8c15
Revises: 7c2b9e1f4a63
Create Date: 2026-12-06 07:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9d4e2a6b8c15'
down_revision = '7c2b9e1f4a63'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.drop_column('revision')
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('cancelled_at')
