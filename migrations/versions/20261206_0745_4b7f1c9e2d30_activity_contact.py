"""An activity's contact person and phone, and how long before a shift its signups close.

Revision ID: 4b7f1c9e2d30
Revises: 9d4e2a6b8c15
Create Date: 2026-12-06 07:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4b7f1c9e2d30'
down_revision = '9d4e2a6b8c15'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('signup_closes_hours', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_column('signup_closes_hours')
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_name')
