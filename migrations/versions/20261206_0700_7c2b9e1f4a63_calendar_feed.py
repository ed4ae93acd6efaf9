"""A volunteer's private calendar feed: the hash of its address's token.

Revision ID: 7c2b9e1f4a63
Revises: 5a1e7c3d9b20
Create Date: 2026-12-06 07:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c2b9e1f4a63'
down_revision = '5a1e7c3d9b20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_token_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_volunteers_calendar_token_hash'),
                                          ['calendar_token_hash'])


def downgrade():
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_volunteers_calendar_token_hash'), type_='unique')
        batch_op.drop_column('calendar_token_hash')
