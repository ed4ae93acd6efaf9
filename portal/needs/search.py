"""SQLite's search index of the needs' text (migration need_search): every two characters of a
need's title and description, one FTS5 token each, kept by triggers on needs in plain SQL.

The needs list's `q` takes its candidates from here on SQLite (a Chinese word of two characters
has no trigram, and LIKE read every need's text: 66 ms at city size); LIKE then has the last
word, so the index need only hold every need that could match, never miss one. A term of n >= 2
characters is the phrase of its n - 1 pairs; a single character, the prefix of the pairs it
starts (the text's last character is a token of its own). A pair holding a space or punctuation
gives one token or none, the same in a need and in a term, so a term's tokens stay adjacent.

`problems()` proves the index (`flask needs check`), and `rebuild()` makes it again from the
needs (`flask needs reindex`): a migration that rebuilds the needs table in batch mode drops its
triggers, and needs written after that would be missing.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from portal.core.db import dialect
from portal.extensions import db

TABLE = "need_search"

_SEARCH = sa.table(TABLE, sa.column("rowid", sa.Integer), sa.column("pairs", sa.Text))
# A term holding one of these gives at least one token: ASCII letters and digits, and the CJK
# ideographs of the two main blocks (each is a token of unicode61, tested one by one).
_INDEXED = re.compile(r"[0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff]")


def pairs_sql(row: str) -> str:
    """SQL: the character pairs of a need's title and description, separated by spaces (`row`
    is NEW, OLD or the table's name); json_each gives as many keys as the text has characters.
    The migration keeps a copy of its own, as migrations do. Each substr walks the text from
    its start: a text of 5,000 characters (the forms' and the API's limit) takes 30 ms."""
    return ("(SELECT group_concat(substr(t, key + 1, 2), ' ') FROM "
            f"(SELECT {row}.title || ' ' || coalesce({row}.description, '') AS t), "
            "json_each('[' || rtrim(replace(hex(zeroblob(length(t))), '00', '0,'), ',') || ']'))")


def _add(row: str) -> str:
    return f"INSERT INTO {TABLE} (rowid, pairs) VALUES ({row}.id, {pairs_sql(row)});"


def _remove(row: str) -> str:
    return (f"INSERT INTO {TABLE} ({TABLE}, rowid, pairs) "
            f"VALUES ('delete', {row}.id, {pairs_sql(row)});")


# The triggers that keep the index, by name (the migration creates the same).
TRIGGERS = {
    "need_search_insert": f"AFTER INSERT ON needs BEGIN {_add('NEW')} END",
    "need_search_update": "AFTER UPDATE OF id, title, description ON needs "
                          f"BEGIN {_remove('OLD')} {_add('NEW')} END",
    "need_search_delete": f"AFTER DELETE ON needs BEGIN {_remove('OLD')} END",
}


def phrase(term: str) -> str | None:
    """The FTS5 query of the needs whose text may hold `term` (every one that does is among
    them); None when the term gives the index nothing to look up (punctuation alone), and LIKE
    reads every need's text. Inside the quotes FTS5 reads no operators: quotes are doubled."""
    if not _INDEXED.search(term):
        return None
    if len(term) == 1:
        return f'"{term}"*'
    pairs = " ".join(term[i:i + 2] for i in range(len(term) - 1))
    return '"' + pairs.replace('"', '""') + '"'


def candidates(query: str) -> sa.Select:
    """The ids of the needs the index finds for an FTS5 query from phrase()."""
    return sa.select(_SEARCH.c.rowid).where(_SEARCH.c.pairs.op("MATCH")(query))


def problems() -> list[str]:
    """What is wrong with the index (SQLite; nothing elsewhere): a trigger missing, or tokens
    that differ from the index made afresh from the needs (compared token by token)."""
    if dialect() != "sqlite":
        return []
    conn = db.session.connection()
    found = set(conn.scalars(sa.text(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'needs'")))
    wrong = [f"trigger {name} is missing" for name in TRIGGERS if name not in found]
    conn.exec_driver_sql("CREATE VIRTUAL TABLE temp.need_search_fresh USING fts5(pairs, "
                         "content='')")
    try:
        conn.exec_driver_sql("INSERT INTO temp.need_search_fresh (rowid, pairs) "
                             f"SELECT id, {pairs_sql('needs')} FROM needs")
        conn.exec_driver_sql("CREATE VIRTUAL TABLE temp.need_search_kept USING "
                             "fts5vocab(main, need_search, instance)")
        conn.exec_driver_sql("CREATE VIRTUAL TABLE temp.need_search_made USING "
                             "fts5vocab(temp, need_search_fresh, instance)")
        kept = "SELECT term, doc, offset FROM temp.need_search_kept"
        made = "SELECT term, doc, offset FROM temp.need_search_made"
        differ = conn.execute(sa.text(
            f"SELECT count(DISTINCT doc) FROM (SELECT * FROM ({kept} EXCEPT {made}) "
            f"UNION ALL SELECT * FROM ({made} EXCEPT {kept}))")).scalar()
    finally:
        for name in ("need_search_made", "need_search_kept", "need_search_fresh"):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
    if differ:
        wrong.append(f"{differ} needs are indexed otherwise than their text")
    return wrong


def rebuild() -> int:
    """The index made again from the needs, and its triggers (SQLite; 0 elsewhere): every token
    removed, every need's pairs added. Returns the needs indexed. The caller commits."""
    if dialect() != "sqlite":
        return 0
    conn = db.session.connection()
    for name, body in TRIGGERS.items():
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql(f"CREATE TRIGGER {name} {body}")
    conn.exec_driver_sql(f"INSERT INTO {TABLE} ({TABLE}) VALUES ('delete-all')")
    conn.exec_driver_sql(f"INSERT INTO {TABLE} (rowid, pairs) "
                         f"SELECT id, {pairs_sql('needs')} FROM needs")
    return conn.scalar(sa.text("SELECT count(*) FROM needs"))
