"""需求清单: needs, their supporters and matches, and the needs a project cites.

Revision ID: 8e2c4a6f0b13
Revises: 3b9d5f7a1c42
Create Date: 2026-12-06 09:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8e2c4a6f0b13'
down_revision = '3b9d5f7a1c42'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _enum(name, *values, length=16):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def upgrade():
    op.create_table('needs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_code', sa.String(length=12), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('people_affected', sa.Integer(), nullable=False),
    sa.Column('urgency', _enum('urgency', 'normal', 'urgent'), nullable=False),
    sa.Column('channel', _enum('channel', 'online', 'visit', 'phone', 'meeting'),
              nullable=False),
    sa.Column('status', _enum('needstate', 'submitted', 'verified', 'rejected', 'matched',
                              'resolved', 'merged'), nullable=False),
    sa.Column('posted_by', sa.Integer(), nullable=True),
    sa.Column('for_name', sa.String(length=100), nullable=True),
    sa.Column('for_phone', sa.String(length=20), nullable=True),
    sa.Column('supporters', sa.Integer(), server_default='0', nullable=False),
    sa.Column('review_comment', sa.Text(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('verified_at', TS, nullable=True),
    sa.Column('matched_at', TS, nullable=True),
    sa.Column('resolved_at', TS, nullable=True),
    sa.Column('minutes_to_match', sa.Integer(), nullable=True),
    sa.Column('closed_at', TS, nullable=True),
    sa.CheckConstraint('people_affected >= 1', name=op.f('ck_needs_people_affected_positive')),
    sa.CheckConstraint('supporters >= 0', name=op.f('ck_needs_supporters_not_negative')),
    sa.ForeignKeyConstraint(['community_code'], ['areas.code'],
                            name=op.f('fk_needs_community_code_areas')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['needs.id'],
                            name=op.f('fk_needs_merged_into_id_needs')),
    sa.ForeignKeyConstraint(['posted_by'], ['users.id'], name=op.f('fk_needs_posted_by_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_needs'))
    )
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.create_index('ix_needs_community_code_status', ['community_code', 'status'],
                              unique=False)
        batch_op.create_index('ix_needs_status_category', ['status', 'category'], unique=False)
        batch_op.create_index('ix_needs_posted_by', ['posted_by'], unique=False)
    op.create_table('need_supports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_need_supports_need_id_needs'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_need_supports_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_need_supports')),
    sa.UniqueConstraint('need_id', 'user_id', name='uq_need_supports')
    )
    with op.batch_alter_table('need_supports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_need_supports_user_id'), ['user_id'], unique=False)
    op.create_table('need_matches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('kind', _enum('matchkind', 'activity', 'org', 'fund', 'project'), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'],
                            name=op.f('fk_need_matches_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_need_matches_need_id_needs'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_need_matches')),
    sa.UniqueConstraint('need_id', 'kind', 'target_id', name='uq_need_matches')
    )
    with op.batch_alter_table('need_matches', schema=None) as batch_op:
        batch_op.create_index('ix_need_matches_kind_target', ['kind', 'target_id'], unique=False)
    op.create_table('project_needs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_project_needs_need_id_needs'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                            name=op.f('fk_project_needs_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_needs')),
    sa.UniqueConstraint('project_id', 'need_id', name='uq_project_needs')
    )
    with op.batch_alter_table('project_needs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_needs_need_id'), ['need_id'], unique=False)


def downgrade():
    op.drop_table('project_needs')
    op.drop_table('need_matches')
    op.drop_table('need_supports')
    op.drop_table('needs')
