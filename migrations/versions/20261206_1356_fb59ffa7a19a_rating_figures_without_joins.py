"""好差评's figures without joins: a case keeps its rating's month (backfilled), and partial
covering indexes of the ratings that count serve an organisation's months and an area's month.

Revision ID: fb59ffa7a19a
Revises: 087049f1acac
Create Date: 2026-12-06 13:56:11.385008

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'fb59ffa7a19a'
down_revision = '087049f1acac'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ratings_area_month'))
        batch_op.drop_index(batch_op.f('ix_ratings_org_month'))
        batch_op.create_index('ix_ratings_month_area_counted', ['month', 'area_code', 'level'], unique=False, sqlite_where=sa.text('voided_at IS NULL'), postgresql_where=sa.text('voided_at IS NULL'))
        batch_op.create_index('ix_ratings_org_month_counted', ['rated_org_id', 'month', 'level'], unique=False, sqlite_where=sa.text('voided_at IS NULL'), postgresql_where=sa.text('voided_at IS NULL'))

    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('month', sa.Integer(), nullable=True))
    op.execute("UPDATE rectifications SET month = (SELECT month FROM ratings "
               "WHERE ratings.id = rectifications.rating_id)")
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.alter_column('month', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index('ix_rectifications_month_area', ['month', 'area_code'], unique=False)
        batch_op.create_index('ix_rectifications_org_month', ['rated_org_id', 'month'], unique=False)


def downgrade():
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.drop_index('ix_rectifications_org_month')
        batch_op.drop_index('ix_rectifications_month_area')
        batch_op.drop_column('month')

    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_index('ix_ratings_org_month_counted', sqlite_where=sa.text('voided_at IS NULL'), postgresql_where=sa.text('voided_at IS NULL'))
        batch_op.drop_index('ix_ratings_month_area_counted', sqlite_where=sa.text('voided_at IS NULL'), postgresql_where=sa.text('voided_at IS NULL'))
        batch_op.create_index(batch_op.f('ix_ratings_org_month'), ['rated_org_id', 'month'], unique=False)
        batch_op.create_index(batch_op.f('ix_ratings_area_month'), ['area_code', 'month'], unique=False)
