"""An organisation's address (where it meets or works), shown to the reviewing bureau.

Revision ID: 6f3c8b2a1e57
Revises: 2e8a5d1c7f94
Create Date: 2026-12-06 08:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6f3c8b2a1e57'
down_revision = '2e8a5d1c7f94'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orgs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('orgs', schema=None) as batch_op:
        batch_op.drop_column('address')
