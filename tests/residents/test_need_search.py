"""The needs list's `q` and its area on SQLite: a search index of the needs' character pairs
(migration need_search) finds what LIKE finds, whoever writes the need; the planner is told
how much of the city an area holds. PostgreSQL answers the same by LIKE and its statistics."""

from __future__ import annotations

import random
import sqlite3
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.core.db import utcnow
from portal.extensions import db
from portal.needs import queries, search, services
from portal.needs.models import Need, NeedState
from tests.residents.conftest import RURAL, URBAN

TEXTS = [  # (title, description)
    ("老年助餐点就餐不便", "社区老人希望助餐点延长开放时间。"),
    ("楼道扶手损坏", "3号楼2单元楼道扶手松动，老人上下楼不安全。"),
    ("Broken STAIR rail", "The rail on floor 3 is loose; elderly residents fall."),
    ("助浴服务", "高龄老人需要上门助浴"),
    ("快递柜", "希望设置快递柜 方便取件"),
    ("餐", "一个字的标题"),
    ('引号"问题', "标题里有引号与 100% 的百分号"),
]
TERMS = ["助餐", "助餐点", "老年助餐", "餐", "助", "扶手松动", "楼道扶手", "stair", "STAIR",
         "rail on", "ail", "r", "快递柜 方便", "柜 方", "柜方", "，老人", "。", "，", "100%",
         '引号"问', '"', "题社", "便社区", "餐点延长开放时间。", "取件", "件", "一个字",
         "不存在的词", "3号楼", "号楼2单"]


def expected(term: str) -> int:
    """What LIKE finds: the term within the title or the description, ASCII case blind."""
    def holds(text: str) -> bool:
        return term.lower() in text.lower()
    return sum(1 for title, description in TEXTS if holds(title) or holds(description))


@pytest.fixture
def texts(need):
    return [need(verify=True, title=title, description=description)["id"]
            for title, description in TEXTS]


def total(client, term: str) -> int:
    answer = client.get("/api/v1/needs", query_string={"q": term})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["total"]


def test_search_finds_exactly_what_like_finds(client, texts):
    for term in TERMS:
        assert total(client, term) == expected(term), term
    assert expected("助餐") == 1 and expected("餐") == 2 and expected("题社") == 0


def test_the_search_phrase_is_the_terms_pairs():
    assert search.phrase("助餐") == '"助餐"'
    assert search.phrase("老年助餐") == '"老年 年助 助餐"'
    assert search.phrase("餐") == '"餐"*'
    assert search.phrase('引号"问') == '"引号 号"" ""问"'
    assert search.phrase("Rail") == '"Ra ai il"'
    for nothing in ("，", "。。", "%", '"'):
        assert search.phrase(nothing) is None


def _sqlite_only():
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's search index and planner (PostgreSQL reads by LIKE)")


def statements_of(app, client, path: str) -> list[str]:
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def listen(conn, cursor, statement, *args):
        seen.append(statement)
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        assert client.get(path).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    return seen


def test_on_sqlite_a_term_is_looked_up_in_the_index(app, client, texts):
    with app.app_context():
        _sqlite_only()
    counted = [s for s in statements_of(app, client, "/api/v1/needs?q=助餐")
               if "count(" in s]
    assert counted and "need_search" in counted[0] and "MATCH" in counted[0]
    with app.app_context():
        plan = " ".join(str(row[3]) for row in db.session.execute(
            sa.text("EXPLAIN QUERY PLAN SELECT count(*) FROM needs WHERE id IN "
                    "(SELECT rowid FROM need_search WHERE pairs MATCH :p)"), {"p": '"助餐"'}))
        db.session.rollback()
    assert "VIRTUAL TABLE" in plan
    # punctuation alone gives the index nothing: LIKE reads every need
    counted = [s for s in statements_of(app, client, "/api/v1/needs?q=，") if "count(" in s]
    assert "need_search" not in counted[0]


def test_any_client_that_writes_a_need_keeps_the_index(app, client, texts):
    """The triggers are plain SQL: a bare sqlite3 connection, with none of the portal's
    functions, changes a need's text and removes one, and the search follows."""
    with app.app_context():
        _sqlite_only()
        path = db.engine.url.database
        db.engine.dispose()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE needs SET title = '电梯故障', description = '电梯停运三天' "
                     "WHERE id = ?", (texts[0],))
        conn.execute("DELETE FROM needs WHERE id = ?", (texts[4],))
        conn.execute("UPDATE needs SET id = 99999 WHERE id = ?", (texts[1],))
    conn.close()
    found = client.get("/api/v1/needs?q=扶手松动").get_json()["items"]
    assert [n["id"] for n in found] == [99999]
    assert total(client, "助餐") == 0 and total(client, "老年助餐点") == 0
    assert total(client, "电梯") == 1 and total(client, "停运") == 1
    assert total(client, "快递柜") == 0 and total(client, "方便取件") == 0
    assert total(client, "餐") == 1   # the title 餐 is left
    with app.app_context():   # what is left is still what LIKE finds
        left = {(n.title, n.description) for n in db.session.scalars(sa.select(Need))}
        db.session.rollback()
    for term in ("电梯", "梯", "助浴", "扶手"):
        assert total(client, term) == sum(
            1 for t, d in left if term in t or term in d), term


def _plan_of_page(area: str) -> str:
    query = queries.filtered(services.visible_needs(None), {"community": area}, None).limit(20)
    sql = str(query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    return " ".join(str(row[3]) for row in db.session.execute(
        sa.text("EXPLAIN QUERY PLAN " + sql)))


def test_on_sqlite_a_large_area_pages_by_the_order_and_a_small_one_by_its_code(
        app, client, yingkou):
    """Without statistics of ranges, SQLite sorted a county's every need to show 20: it is
    told the area's share of the city (from the tallies), and reads the newest until 20."""
    with app.app_context():
        _sqlite_only()
        now = utcnow()
        db.session.add_all(
            Need(community_code=URBAN if i % 20 else RURAL, category="elderly_care",
                 title=f"需求{i}", description="说明", status=NeedState.verified,
                 created_at=now - timedelta(hours=i), verified_at=now - timedelta(hours=i))
            for i in range(400))
        db.session.commit()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        big = _plan_of_page(URBAN[:6])        # 95% of the city's needs
        small = _plan_of_page(RURAL[:6])      # 5%
        told = str(queries.filtered(services.visible_needs(None), {"community": URBAN[:6]},
                                    None).compile(dialect=db.engine.dialect))
        db.session.rollback()
    assert "ix_needs_created_at_id" in big and "TEMP B-TREE" not in big, big
    assert "ix_needs_community_code_status" in small, small
    assert "likelihood" in told
    # and the answer is the same as without the hint
    assert client.get(f"/api/v1/needs?community={URBAN[:6]}").get_json()["total"] == 380
    listed = client.get(f"/api/v1/needs?community={RURAL[:6]}&per_page=100").get_json()
    assert listed["total"] == 20 and {n["community_code"] for n in listed["items"]} == {RURAL}


def test_the_page_searches_and_filters_by_area_as_the_api_does(client, texts):
    page = client.get("/needs", query_string={"q": "助餐"}).get_data(as_text=True)
    assert "老年助餐点就餐不便" in page and "楼道扶手损坏" not in page
    assert 'name="q"' in page and 'value="助餐"' in page and "需求中的词语" in page  # kept
    page = client.get("/needs", query_string={"q": "stair", "community": URBAN[:6],
                                              "lang": "en"}).get_data(as_text=True)
    assert "Broken STAIR rail" in page and "老年助餐点就餐不便" not in page
    assert "Words in the need" in page and 'value="stair"' in page
    page = client.get("/needs", query_string={"q": "助餐", "community": RURAL[:6]})
    assert page.status_code == 200 and "老年助餐点就餐不便" not in page.get_data(as_text=True)


def _bare_index() -> sqlite3.Connection:
    """An in-memory needs table with the index and its triggers (no application at all)."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE needs (id INTEGER PRIMARY KEY, title TEXT NOT NULL, "
                 "description TEXT)")
    conn.execute(f"CREATE VIRTUAL TABLE {search.TABLE} USING fts5(pairs, content='')")
    for name, body in search.TRIGGERS.items():
        conn.execute(f"CREATE TRIGGER {name} {body}")
    return conn


def test_every_ideograph_of_the_indexed_blocks_is_a_token():
    """search.phrase() looks up any term holding one of these: each must give a token, or a
    need holding it would be missed (unicode61 knows the characters of Unicode 6.1)."""
    conn = _bare_index()
    chars = [chr(c) for block in ((0x3400, 0x4DBF), (0x4E00, 0x9FFF))
             for c in range(block[0], block[1] + 1, 7)] + ["\u4dbf", "\u9fff", "\u9fcf", "a",
                                                            "Z", "0"]
    conn.executemany("INSERT INTO needs (id, title) VALUES (?, ?)",
                     [(i, f"前{c}后") for i, c in enumerate(chars, 1)])
    for i, c in enumerate(chars, 1):
        for term in (c, f"前{c}", f"{c}后"):
            hits = {r[0] for r in conn.execute(
                f"SELECT rowid FROM {search.TABLE} WHERE pairs MATCH ?", (search.phrase(term),))}
            assert i in hits, (hex(ord(c)), term)


ALPHABET = (list("助餐老年点就便楼道扶手服务") + list("abcABCéÉ ,.，。\"'*:^()-+%_\\")
            + ["\u0301", "\u200b", "😀", "👍🏽", "𠀋", "〇", "ｆ", "ﬁ", "\ue000", "\t", "\u3000",
               "NEAR", "AND", "OR"])


def test_the_index_never_misses_what_like_finds_whatever_the_text():
    """Seeded random texts of Chinese, Latin with accents, combining marks, emoji, characters
    past the BMP, punctuation and FTS5's operators, changed, renumbered and removed in between;
    random terms, most of them cut from the texts with their case flipped: every need LIKE finds
    is among the index's candidates."""
    rng = random.Random(13)
    conn = _bare_index()

    def text(n):
        return "".join(rng.choice(ALPHABET) for _ in range(n))
    for i in range(1, 400):
        conn.execute("INSERT INTO needs VALUES (?, ?, ?)",
                     (i, text(rng.randint(1, 20)), text(rng.randint(0, 80)) or None))
    for _ in range(300):
        i, r = rng.randint(1, 420), rng.random()
        if r < 0.4:
            conn.execute("UPDATE needs SET title = ? WHERE id = ?", (text(rng.randint(1, 20)), i))
        elif r < 0.7:
            conn.execute("UPDATE needs SET description = ? WHERE id = ?", (text(50), i))
        elif r < 0.8:
            conn.execute("UPDATE OR IGNORE needs SET id = ? WHERE id = ?", (i + 1000, i))
        elif r < 0.9:
            conn.execute("DELETE FROM needs WHERE id = ?", (i,))
        else:
            conn.execute("INSERT INTO needs (title, description) VALUES (?, ?)",
                         (text(8), text(40)))
    texts = [t + " " + (d or "") for t, d in conn.execute("SELECT title, description FROM needs")]
    looked_up = 0
    for _ in range(2500):
        source = rng.choice(texts)
        start = rng.randrange(len(source))
        term = source[start:start + rng.choice((1, 2, 2, 3, 4, 6))].strip()
        if rng.random() < 0.3:
            term = term.swapcase()
        if rng.random() < 0.1:
            term = text(rng.randint(1, 4)).strip()
        if not term:
            continue
        query = search.phrase(term)
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        like = {r[0] for r in conn.execute(
            "SELECT id FROM needs WHERE title LIKE ? ESCAPE '\\' OR description LIKE ? "
            "ESCAPE '\\'", (pattern, pattern))}
        if query is None:
            continue
        looked_up += 1
        found = {r[0] for r in conn.execute(
            f"SELECT rowid FROM {search.TABLE} WHERE pairs MATCH ?", (query,))}
        assert like <= found, (term, query, like - found)
    assert looked_up > 1500


def test_needs_check_proves_the_index_and_reindex_mends_it(app, client, texts):
    with app.app_context():
        _sqlite_only()
    runner = app.test_cli_runner()
    checked = runner.invoke(args=["needs", "check"])
    assert checked.exit_code == 0 and "0 mismatches" in checked.output, checked.output
    with app.app_context():   # as a batch migration that rebuilt the table would leave it
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER need_search_insert")
            conn.exec_driver_sql("DROP TRIGGER need_search_update")
        db.engine.dispose()
    path = app.config["TEST_TMP"] / "test.db"
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE needs SET title = '电梯故障' WHERE id = ?", (texts[0],))
    conn.close()
    assert total(client, "电梯") == 0   # missed: the index did not follow
    checked = runner.invoke(args=["needs", "check"])
    assert checked.exit_code == 1, checked.output
    assert "need_search_insert is missing" in checked.output
    assert "1 needs are indexed otherwise than their text" in checked.output
    mended = runner.invoke(args=["needs", "reindex"])
    assert mended.exit_code == 0 and f"{len(TEXTS)} needs indexed" in mended.output
    assert total(client, "电梯") == 1 and total(client, "老年助餐") == 0
    assert runner.invoke(args=["needs", "check"]).exit_code == 0
    with sqlite3.connect(path) as conn:   # and the triggers keep it again
        conn.execute("UPDATE needs SET title = '路灯不亮' WHERE id = ?", (texts[0],))
    conn.close()
    assert total(client, "路灯") == 1
