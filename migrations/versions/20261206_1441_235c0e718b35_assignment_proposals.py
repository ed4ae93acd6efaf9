"""Assignment proposals: volunteers placed in an activity's posts with the highest total
score, kept for the organiser to review, trim and apply.

Revision ID: 235c0e718b35
Revises: 198017745d37
Create Date: 2026-12-06 14:41:30.314322

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '235c0e718b35'
down_revision = '198017745d37'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('assignment_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('max_shifts', sa.Integer(), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('objective', sa.Float(), nullable=False),
    sa.Column('optimal', sa.Boolean(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('unfilled', sa.JSON(), nullable=False),
    sa.Column('candidates', sa.Integer(), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.CheckConstraint('max_shifts BETWEEN 1 AND 10', name=op.f('ck_assignment_proposals_max_shifts_range')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_assignment_proposals_activity_id_activities')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_assignment_proposals_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment_proposals'))
    )
    with op.batch_alter_table('assignment_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_proposals_activity_id'), ['activity_id'], unique=False)


def downgrade():
    with op.batch_alter_table('assignment_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_proposals_activity_id'))

    op.drop_table('assignment_proposals')