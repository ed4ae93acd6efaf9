"""The needs dashboard's tallies (needs by area, status and category at the four levels of
areas), kept by triggers on needs; the indexes of its time-bound figures and its median.

Revision ID: 7d3f5b9e2c61
Revises: 5c7e9a1b3d24
Create Date: 2026-12-06 11:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '7d3f5b9e2c61'
down_revision = '5c7e9a1b3d24'
branch_labels = None
depends_on = None

LEVELS = (4, 6, 9, 12)  # the code lengths of a city, county, township and community
MONTH = 30 * 24 * 60


def _figures(row: str) -> dict[str, str]:
    """The tallied columns of one need (`row` is NEW, OLD or a table's name)."""
    verified = f"{row}.verified_at IS NOT NULL"
    return {
        "n": "1",
        "verified": f"CASE WHEN {verified} THEN 1 ELSE 0 END",
        "quick": f"CASE WHEN {verified} AND {row}.minutes_to_match <= {MONTH} THEN 1 ELSE 0 END",
        "timed": f"CASE WHEN {row}.minutes_to_match IS NOT NULL THEN 1 ELSE 0 END",
    }


def _add(row: str, length: int) -> str:
    figures = _figures(row)
    columns = ", ".join(figures)
    values = ", ".join(figures.values())
    sets = ", ".join(f"{c} = need_tallies.{c} + excluded.{c}" for c in figures)
    return (f"INSERT INTO need_tallies (area_code, status, category, {columns}) "
            f"VALUES (substr({row}.community_code, 1, {length}), {row}.status, {row}.category, "
            f"{values}) ON CONFLICT (area_code, status, category) DO UPDATE SET {sets};")


def _take(row: str, length: int) -> str:
    sets = ", ".join(f"{c} = {c} - ({v})" for c, v in _figures(row).items())
    return (f"UPDATE need_tallies SET {sets} "
            f"WHERE area_code = substr({row}.community_code, 1, {length}) "
            f"AND status = {row}.status AND category = {row}.category;")


WATCHED = "community_code, status, category, verified_at, minutes_to_match"


def upgrade():
    op.create_table('need_tallies',
    sa.Column('area_code', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('verified', sa.Integer(), nullable=False),
    sa.Column('quick', sa.Integer(), nullable=False),
    sa.Column('timed', sa.Integer(), nullable=False),
    sa.CheckConstraint('n >= 0 AND verified >= 0 AND quick >= 0 AND timed >= 0', name=op.f('ck_need_tallies_need_tallies_not_negative')),
    sa.PrimaryKeyConstraint('area_code', 'status', 'category', name=op.f('pk_need_tallies'))
    )
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.create_index('ix_needs_verified_at', ['verified_at', 'community_code', 'status', 'minutes_to_match'], unique=False)
        batch_op.create_index('ix_needs_minutes_to_match', ['minutes_to_match', 'community_code'], unique=False, postgresql_where=sa.text('minutes_to_match IS NOT NULL'), sqlite_where=sa.text('minutes_to_match IS NOT NULL'))
        batch_op.create_index('ix_needs_community_minutes', ['community_code', 'minutes_to_match'], unique=False, postgresql_where=sa.text('minutes_to_match IS NOT NULL'), sqlite_where=sa.text('minutes_to_match IS NOT NULL'))

    figures = _figures("needs")
    for length in LEVELS:
        op.execute(
            f"INSERT INTO need_tallies (area_code, status, category, {', '.join(figures)}) "
            f"SELECT substr(community_code, 1, {length}), status, category, "
            + ", ".join(f"sum({v})" for v in figures.values())
            + f" FROM needs GROUP BY substr(community_code, 1, {length}), status, category")

    if op.get_bind().dialect.name == "postgresql":
        take = "\n".join(_take("OLD", n) for n in LEVELS)
        add = "\n".join(_add("NEW", n) for n in LEVELS)
        op.execute(f"""
            CREATE FUNCTION need_tallies_keep() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'INSERT' THEN
                    {take}
                END IF;
                IF TG_OP <> 'DELETE' THEN
                    {add}
                END IF;
                RETURN NULL;
            END $$;
        """)
        op.execute(f"""
            CREATE TRIGGER need_tallies_keep
            AFTER INSERT OR DELETE OR UPDATE OF {WATCHED} ON needs
            FOR EACH ROW EXECUTE FUNCTION need_tallies_keep();
        """)
    else:
        for event, body in (
                ("INSERT", [_add("NEW", n) for n in LEVELS]),
                ("DELETE", [_take("OLD", n) for n in LEVELS]),
                (f"UPDATE OF {WATCHED}", [_take("OLD", n) for n in LEVELS]
                 + [_add("NEW", n) for n in LEVELS])):
            name = event.split()[0].lower()
            op.execute(f"CREATE TRIGGER need_tallies_{name} AFTER {event} ON needs "
                       f"BEGIN {' '.join(body)} END;")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS need_tallies_keep ON needs")
        op.execute("DROP FUNCTION IF EXISTS need_tallies_keep()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS need_tallies_{name}")
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_index('ix_needs_community_minutes', postgresql_where=sa.text('minutes_to_match IS NOT NULL'), sqlite_where=sa.text('minutes_to_match IS NOT NULL'))
        batch_op.drop_index('ix_needs_minutes_to_match', postgresql_where=sa.text('minutes_to_match IS NOT NULL'), sqlite_where=sa.text('minutes_to_match IS NOT NULL'))
        batch_op.drop_index('ix_needs_verified_at')

    op.drop_table('need_tallies')
