"""应急动员: call-outs and the volunteers' answers (one each, accepted at most the headcount
under a CHECK); an activity's coordinator (a call-out's, who records its hours); a
notification may also go out by SMS (sms_to).

Revision ID: 198017745d37
Revises: 016f4857141e
Create Date: 2026-12-06 14:11:19.308295

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '198017745d37'
down_revision = '016f4857141e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('callouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('headcount', sa.Integer(), nullable=False),
    sa.Column('needed_by', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('open', 'filled', 'closed', name='calloutstate', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('notified', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('accepted >= 0 AND accepted <= headcount', name=op.f('ck_callouts_accepted_at_most')),
    sa.CheckConstraint('ends_at > needed_by', name=op.f('ck_callouts_ends_after_needed')),
    sa.CheckConstraint('headcount BETWEEN 1 AND 10000', name=op.f('ck_callouts_headcount_range')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_callouts_activity_id_activities')),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], name=op.f('fk_callouts_area_code_areas')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_callouts_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callouts')),
    sa.UniqueConstraint('activity_id', name=op.f('uq_callouts_activity_id'))
    )
    with op.batch_alter_table('callouts', schema=None) as batch_op:
        batch_op.create_index('ix_callouts_area_status', ['area_code', 'status'], unique=False)
        batch_op.create_index('ix_callouts_status_ends', ['status', 'ends_at'], unique=False)

    op.create_table('callout_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('callout_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('answer', sa.String(length=8), nullable=False),
    sa.Column('status', sa.Enum('accepted', 'standby', 'declined', 'withdrawn', name='answerstate', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('eta_minutes', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('eta_minutes IS NULL OR eta_minutes BETWEEN 0 AND 1440', name=op.f('ck_callout_responses_eta_range')),
    sa.ForeignKeyConstraint(['callout_id'], ['callouts.id'], name=op.f('fk_callout_responses_callout_id_callouts')),
    sa.ForeignKeyConstraint(['record_id'], ['service_records.id'], name=op.f('fk_callout_responses_record_id_service_records')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_callout_responses_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callout_responses')),
    sa.UniqueConstraint('callout_id', 'volunteer_id', name='uq_callout_responses_once')
    )
    with op.batch_alter_table('callout_responses', schema=None) as batch_op:
        batch_op.create_index('ix_callout_responses_callout_status', ['callout_id', 'status', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callout_responses_volunteer_id'), ['volunteer_id'], unique=False)

    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coordinator_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_activities_coordinator_id_users'), 'users', ['coordinator_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sms_to', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('sms_to')

    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_activities_coordinator_id_users'), type_='foreignkey')
        batch_op.drop_column('coordinator_id')

    with op.batch_alter_table('callout_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callout_responses_volunteer_id'))
        batch_op.drop_index('ix_callout_responses_callout_status')

    op.drop_table('callout_responses')
    with op.batch_alter_table('callouts', schema=None) as batch_op:
        batch_op.drop_index('ix_callouts_status_ends')
        batch_op.drop_index('ix_callouts_area_status')

    op.drop_table('callouts')