"""The needs list's `q` and its area on SQLite: a search index of the needs' character pairs
(migration need_search) finds what LIKE finds, whoever writes the need; the planner is told
how much of the city an area holds. PostgreSQL answers the same by LIKE and its statistics."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.core.db import utcnow
from portal.extensions import db
from portal.needs import queries, services
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
    assert queries.search_phrase("助餐") == '"助餐"'
    assert queries.search_phrase("老年助餐") == '"老年 年助 助餐"'
    assert queries.search_phrase("餐") == '"餐"*'
    assert queries.search_phrase('引号"问') == '"引号 号"" ""问"'
    assert queries.search_phrase("Rail") == '"Ra ai il"'
    for nothing in ("，", "。。", "%", '"'):
        assert queries.search_phrase(nothing) is None


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
    conn.close()
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
    page = client.get("/needs", query_string={"q": "stair", "community": URBAN[:6],
                                              "lang": "en"}).get_data(as_text=True)
    assert "Broken STAIR rail" in page and "老年助餐点就餐不便" not in page
    page = client.get("/needs", query_string={"q": "助餐", "community": RURAL[:6]})
    assert page.status_code == 200 and "老年助餐点就餐不便" not in page.get_data(as_text=True)
