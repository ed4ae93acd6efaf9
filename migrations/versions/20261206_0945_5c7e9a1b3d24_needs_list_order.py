"""The needs list's two orders (newest first, most supported first) as indexes: a page is read
off the index instead of sorting every matching need.

Revision ID: 5c7e9a1b3d24
Revises: 1a021985c8c9
Create Date: 2026-12-06 09:45:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5c7e9a1b3d24'
down_revision = '1a021985c8c9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.create_index('ix_needs_created_at_id', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_needs_supporters_id', ['supporters', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_index('ix_needs_supporters_id')
        batch_op.drop_index('ix_needs_created_at_id')
