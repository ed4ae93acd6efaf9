"""好差评's figures at city size: each organisation's counted ratings by month
(rating_org_months), kept by triggers on ratings; a case keeps its rating's month (backfilled);
partial covering indexes of the counted ratings and covering indexes of the cases serve an
organisation's months and an area's month without joins.

Revision ID: 016f4857141e
Revises: 087049f1acac
Create Date: 2026-12-06 14:06:16.172034

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '016f4857141e'
down_revision = '087049f1acac'
branch_labels = None
depends_on = None


COUNTED = "{row}.voided_at IS NULL AND {row}.rated_org_id IS NOT NULL"


def _figures(row: str) -> dict[str, str]:
    """The tallied columns of one rating (`row` is NEW, OLD or the table's name)."""
    return {"n": "1", "level_sum": f"{row}.level",
            "good": f"CASE WHEN {row}.level >= 4 THEN 1 ELSE 0 END",
            "bad": f"CASE WHEN {row}.level <= 2 THEN 1 ELSE 0 END"}


def _add(row: str) -> str:
    figures = _figures(row)
    sets = ", ".join(f"{c} = rating_org_months.{c} + excluded.{c}" for c in figures)
    return (f"INSERT INTO rating_org_months (org_id, month, {', '.join(figures)}) "
            f"VALUES ({row}.rated_org_id, {row}.month, {', '.join(figures.values())}) "
            f"ON CONFLICT (org_id, month) DO UPDATE SET {sets};")


def _take(row: str) -> str:
    sets = ", ".join(f"{c} = {c} - ({v})" for c, v in _figures(row).items())
    return (f"UPDATE rating_org_months SET {sets} "
            f"WHERE org_id = {row}.rated_org_id AND month = {row}.month;")


WATCHED = "voided_at, rated_org_id, month, level"
CASE_FIGURES = ['status', 'due_at', 'answered_late', 'answered_at']


def upgrade():
    op.create_table('rating_org_months',
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('level_sum', sa.Integer(), nullable=False),
    sa.Column('good', sa.Integer(), nullable=False),
    sa.Column('bad', sa.Integer(), nullable=False),
    sa.CheckConstraint('n >= 0 AND level_sum >= 0 AND good >= 0 AND bad >= 0', name=op.f('ck_rating_org_months_rating_org_months_not_negative')),
    sa.PrimaryKeyConstraint('org_id', 'month', name=op.f('pk_rating_org_months'))
    )
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
        batch_op.create_index('ix_rectifications_month_area', ['month', 'area_code', *CASE_FIGURES], unique=False)
        batch_op.create_index('ix_rectifications_org_month', ['rated_org_id', 'month', *CASE_FIGURES], unique=False)

    figures = _figures("ratings")
    op.execute(f"INSERT INTO rating_org_months (org_id, month, {', '.join(figures)}) "
               f"SELECT rated_org_id, month, "
               + ", ".join(f"sum({v})" for v in figures.values())
               + f" FROM ratings WHERE {COUNTED.format(row='ratings')} "
               "GROUP BY rated_org_id, month")
    new, old = COUNTED.format(row="NEW"), COUNTED.format(row="OLD")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION rating_org_months_keep() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'INSERT' AND {old} THEN
                    {_take("OLD")}
                END IF;
                IF TG_OP <> 'DELETE' AND {new} THEN
                    {_add("NEW")}
                END IF;
                RETURN NULL;
            END $$;
        """)
        op.execute(f"""
            CREATE TRIGGER rating_org_months_keep
            AFTER INSERT OR DELETE OR UPDATE OF {WATCHED} ON ratings
            FOR EACH ROW EXECUTE FUNCTION rating_org_months_keep();
        """)
    else:
        for name, event, when, body in (
                ("insert", "INSERT", new, _add("NEW")),
                ("delete", "DELETE", old, _take("OLD")),
                ("update_old", f"UPDATE OF {WATCHED}", old, _take("OLD")),
                ("update_new", f"UPDATE OF {WATCHED}", new, _add("NEW"))):
            op.execute(f"CREATE TRIGGER rating_org_months_{name} AFTER {event} ON ratings "
                       f"WHEN {when} BEGIN {body} END;")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS rating_org_months_keep ON ratings")
        op.execute("DROP FUNCTION IF EXISTS rating_org_months_keep()")
    else:
        for name in ("insert", "delete", "update_old", "update_new"):
            op.execute(f"DROP TRIGGER IF EXISTS rating_org_months_{name}")
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.drop_index('ix_rectifications_org_month')
        batch_op.drop_index('ix_rectifications_month_area')
        batch_op.drop_column('month')

    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_index('ix_ratings_org_month_counted', sqlite_where=sa.text('voided_at IS NULL'), postgresql_where=sa.text('voided_at IS NULL'))
        batch_op.drop_index('ix_ratings_month_area_counted', sqlite_where=sa.text('voided_at IS NULL'), postgresql_where=sa.text('voided_at IS NULL'))
        batch_op.create_index(batch_op.f('ix_ratings_org_month'), ['rated_org_id', 'month'], unique=False)
        batch_op.create_index(batch_op.f('ix_ratings_area_month'), ['area_code', 'month'], unique=False)

    op.drop_table('rating_org_months')
