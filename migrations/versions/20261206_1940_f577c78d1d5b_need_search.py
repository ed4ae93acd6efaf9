"""A search index of the needs' words on SQLite: every two characters of a need's title and
description (one FTS5 token each), kept by triggers on needs. The needs list's `q` finds its
candidates there instead of reading every need's text (benchmarks/needs.py: 66 ms for a
two-character Chinese term at city size); PostgreSQL keeps reading them by LIKE, fast enough
there, and gets nothing from this migration.

A two-character token is what a Chinese term needs: a trigram index cannot find a word of two
characters, and Chinese has no spaces to split words at. A term of n >= 2 characters is the
phrase of its n - 1 pairs, a single character the prefix of the pairs it starts (the text's last
character is a token of its own). The pairs are made in SQL (json_each over as many keys as the
text has characters), so any client that writes a need keeps the index, and the 'delete' of a
contentless table gets back exactly the tokens it was given (unicode61 is frozen at Unicode
6.1). Each substr walks the text from its start: a text of 5,000 characters (the forms' and
the API's limit) takes 30 ms, one of 20,000 0.4 s. A table rebuilt by a batch migration loses
its triggers: `flask needs reindex` makes them and the index again (portal/needs/search.py,
where the application's copy of this SQL lives; `flask needs check` proves the index).

Revision ID: f577c78d1d5b
Revises: 235c0e718b35
Create Date: 2026-12-06 19:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f577c78d1d5b'
down_revision = '235c0e718b35'
branch_labels = None
depends_on = None


def _pairs(row: str) -> str:
    """SQL: the character pairs of a need's title and description, separated by spaces (`row`
    is NEW, OLD or the table's name). A pair holding a space or a punctuation mark gives one
    token or none, the same in a need and in a term, so a term's pairs stay a phrase."""
    return ("(SELECT group_concat(substr(t, key + 1, 2), ' ') FROM "
            f"(SELECT {row}.title || ' ' || coalesce({row}.description, '') AS t), "
            "json_each('[' || rtrim(replace(hex(zeroblob(length(t))), '00', '0,'), ',') || ']'))")


def _add(row: str) -> str:
    return f"INSERT INTO need_search (rowid, pairs) VALUES ({row}.id, {_pairs(row)});"


def _remove(row: str) -> str:
    return (f"INSERT INTO need_search (need_search, rowid, pairs) "
            f"VALUES ('delete', {row}.id, {_pairs(row)});")


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE VIRTUAL TABLE need_search USING fts5(pairs, content='')")
    op.execute(f"INSERT INTO need_search (rowid, pairs) SELECT id, {_pairs('needs')} FROM needs")
    op.execute(f"CREATE TRIGGER need_search_insert AFTER INSERT ON needs BEGIN {_add('NEW')} END")
    op.execute("CREATE TRIGGER need_search_update AFTER UPDATE OF id, title, description "
               "ON needs "
               f"BEGIN {_remove('OLD')} {_add('NEW')} END")
    op.execute(f"CREATE TRIGGER need_search_delete AFTER DELETE ON needs BEGIN {_remove('OLD')} END")


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in ("need_search_insert", "need_search_update", "need_search_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS need_search")
