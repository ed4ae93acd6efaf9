"""Benchmark: 好差评 at city size, each figure against a raw query of the same run.

Issue 好差评: 3 million ratings over three years for 4,500 organisations (and the communities'
needs and wishes), with a rectification case for every 差评. Times, in-process against
hand-written SQL on a plain connection:

- an organisation's 12-month figures (its page's chart: queries.monthly), goal p95 < 20 ms;
- the monthly figures of an area (city, county, township, community: queries.figures, what
  `GET /api/v1/stats/ratings?area=&month=` answers), goal within 2x of the raw GROUP BY;
- the ranking (`GET /api/v1/projects/{id}/ranking` and the bureau's project page, 40 bids) with
  each bidder's ratings, goal no slower than 1.2x the same without them;
- the deadline arithmetic (5 working days) checked day by day against a table of 2026's
  holidays and make-up working days (调休) written out from the State Council's notice.

    .venv/bin/python benchmarks/ratings.py --db sqlite
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:55499/portal_bench \
        .venv/bin/python benchmarks/ratings.py --db postgresql

Not part of the test suite. PostgreSQL: the database's public schema is DROPPED and recreated,
so the script refuses any database whose name does not contain "bench".
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common import (  # noqa: E402  (benchmarks/ is the script's own folder on sys.path)
    DIVISIONS,
    accumulate,
    check_pg_url,
    make_app,
    migrate,
    normalise_url,
    pct,
)
from dashboard import generate as org_dataset  # noqa: E402  (areas + 4,500 organisations)
from dashboard import timed  # noqa: E402

from portal.core.areas import Area, import_areas  # noqa: E402
from portal.core.db import SHANGHAI  # noqa: E402
from portal.core.users import RoleGrant, User  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.orgs.models import Org, OrgState  # noqa: E402
from portal.projects.models import (  # noqa: E402
    Bid,
    BidState,
    Criterion,
    Project,
    ProjectKind,
    ProjectState,
    ScoreSheet,
)
from portal.ratings.models import CaseState, RatedKind  # noqa: E402

N_RATINGS = 3_000_000
N_RATERS = 200_000
MONTHS = 36
N_BIDS = 40
N_REVIEWERS = 5
CHUNK = 20_000
CITY = "2108"
PASSWORD = "bench-password-1"

GOAL_ORG_P95_MS = 20.0
GOAL_AREA_RATIO = 2.0
GOAL_RANKING_RATIO = 1.2

# What is rated, and by whom it is answered for (an organisation or the community).
KINDS = ((RatedKind.activity, 0.55), (RatedKind.org, 0.15), (RatedKind.project, 0.05),
         (RatedKind.need, 0.15), (RatedKind.wish, 0.10))
OBJECTS = {RatedKind.activity: 200_000, RatedKind.project: 3_000, RatedKind.need: 300_000,
           RatedKind.wish: 50_000}
LEVELS = ((5, 0.50), (4, 0.28), (3, 0.12), (2, 0.06), (1, 0.04))
COMMENTS = ("活动开始晚了，也没有通知。", "服务人员态度不好。", "答应的上门服务没有来。",
            "物资发放不公平。", "排队太久。")


# --- the data ----------------------------------------------------------------------------------

def month_key(at: datetime) -> int:
    local = at.astimezone(SHANGHAI)
    return local.year * 100 + local.month


def generate(rng: random.Random, now: datetime, n: int, orgs: list[dict],
             communities: list[str]) -> tuple[list[tuple], list[tuple]]:
    """Ratings (as column tuples in RATING_COLUMNS' order) and the cases of their 差评s."""
    from portal.core.workdays import add_working_days

    span = MONTHS * 30.4 * 86400
    weights = list(accumulate(rng.gammavariate(1.5, 1.0) for _ in orgs))
    kinds, kind_w = zip(*KINDS, strict=True)
    levels, level_w = zip(*LEVELS, strict=True)
    kind_cum, level_cum = list(accumulate(kind_w)), list(accumulate(level_w))
    due_of: dict[date, datetime] = {}
    seen: set[tuple[int, str, int]] = set()
    ratings: list[tuple] = []
    cases: list[tuple] = []
    rid = 0
    while rid < n:
        kind = rng.choices(kinds, cum_weights=kind_cum)[0]
        rater = rng.randint(1, N_RATERS)
        org = community = None
        if kind in (RatedKind.activity, RatedKind.org, RatedKind.project):
            org = rng.choices(orgs, cum_weights=weights)[0]
            object_id = org["id"] if kind is RatedKind.org else rng.randint(1, OBJECTS[kind])
            area = org["community_code"]
        else:
            community = area = rng.choice(communities)
            object_id = rng.randint(1, OBJECTS[kind])
        if (rater, kind.value, object_id) in seen:
            continue
        seen.add((rater, kind.value, object_id))
        rid += 1
        created = now - timedelta(seconds=rng.uniform(0, span))
        level = rng.choices(levels, cum_weights=level_cum)[0]
        bad = level <= 2
        voided = bad and rng.random() < 0.02
        ratings.append((
            rid, kind.value, object_id, rater, level, rng.randint(3, 5) if rng.random() < 0.5
            else None, COMMENTS[rid % len(COMMENTS)] if bad else None,
            org["id"] if org else None, community, area, created - timedelta(days=1), created,
            month_key(created), created + timedelta(days=3) if voided else None,
            "不实评价" if voided else None))
        if not bad:
            continue
        day = created.astimezone(SHANGHAI).date()
        if day not in due_of:
            due_of[day] = add_working_days(created, 5)
        due = due_of[day]
        age = (now - created).days
        answered = age > 12 or rng.random() < 0.5
        late = answered and rng.random() < 0.08
        answered_at = (due + timedelta(days=1) if late else created + timedelta(
            days=rng.uniform(0.2, 4))) if answered else None
        if answered_at and answered_at > now:
            answered_at = now
        status = (CaseState.voided if voided else CaseState.closed if age > 12
                  else CaseState.answered if answered else CaseState.open)
        cases.append((len(cases) + 1, rid, org["id"] if org else None, community, area,
                       month_key(created), status.value, created, due,
                       "fixed" if answered else None, "已整改" if answered else None,
                       answered_at, late,
                       answered_at + timedelta(days=7) if status is CaseState.closed else None,
                       status is CaseState.closed, 1))
    return ratings, cases


RATING_COLUMNS = ("id", "object_type", "object_id", "rater_id", "level", "attitude", "comment",
                  "rated_org_id", "rated_community_code", "area_code", "served_at",
                  "created_at", "month", "voided_at", "void_reason")
CASE_COLUMNS = ("id", "rating_id", "rated_org_id", "rated_community_code", "area_code",
                "month", "status", "opened_at", "due_at", "answer_action", "answer_text",
                "answered_at", "answered_late", "closed_at", "closed_by_itself", "rounds")


def bulk(conn, table: str, columns: tuple[str, ...], rows: list[tuple], pg: bool) -> None:
    """COPY on PostgreSQL; executemany on SQLite (times stored naive UTC, as UTCDateTime does)."""
    if pg:
        with conn.connection.dbapi_connection.cursor() as cur, cur.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    def plain(value):
        if isinstance(value, datetime):
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
        return value
    marks = ", ".join("?" for _ in columns)
    cursor = conn.connection.dbapi_connection.cursor()
    for start in range(0, len(rows), CHUNK):
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                           [tuple(plain(v) for v in row) for row in rows[start:start + CHUNK]])


def load(app, args) -> dict:
    """Divisions, organisations, raters, the ratings and cases, and a call under review with
    N_BIDS bids by the most rated organisations; a bureau account (city) signed in."""
    from portal.core.users import Grant, Role, create_user, issue_token

    t0 = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    rng = random.Random(42)
    with app.app_context():
        import_areas(DIVISIONS.read_text(encoding="utf-8"))
        db.session.commit()
        communities, orgs, _workers = org_dataset(rng)
        db.session.execute(sa.insert(Area), communities)
        db.session.execute(sa.insert(Org), orgs)
        db.session.commit()
        active = [o for o in orgs if o["status"] is OrgState.active]  # those who serve
        ratings, cases = generate(rng, now, args.ratings, active,
                                  [c["code"] for c in communities])
        generated = time.perf_counter() - t0
        pg = db.engine.dialect.name == "postgresql"
        users = [{"id": uid, "username": f"r{uid:06d}", "password_hash": "!sms",
                  "display_name": None, "email": None, "locale": None, "phone": None,
                  "phone_verified_at": None, "active": True, "created_at": now}
                 for uid in range(1, N_RATERS + 1 + N_REVIEWERS)]
        with db.engine.begin() as conn:
            for start in range(0, len(users), CHUNK):
                conn.execute(User.__table__.insert(), users[start:start + CHUNK])
            conn.execute(RoleGrant.__table__.insert(), [
                {"user_id": N_RATERS + i, "role": "reviewer", "area_code": None}
                for i in range(1, N_REVIEWERS + 1)])
            bulk(conn, "ratings", RATING_COLUMNS, ratings, pg)
            bulk(conn, "rectifications", CASE_COLUMNS, cases, pg)
        if pg:
            with db.engine.begin() as conn:
                for table in ("users", "ratings", "rectifications"):
                    conn.execute(sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"))
        # The call under review: the most rated organisations bid, five experts scored.
        volume = Counter(r[7] for r in ratings if r[7] is not None)
        bidders = [org_id for org_id, _n in volume.most_common(N_BIDS)]
        project = Project(
            title="基准测试：社区居家养老服务项目", kind=ProjectKind.venture_philanthropy,
            area_code=CITY, year=now.year, budget=Decimal(500_000), description="基准测试数据",
            contract_months=12, tiers=[], bid_deadline=now - timedelta(days=3),
            allow_filed=True, blind_review=False, status=ProjectState.reviewing,
            created_at=now - timedelta(days=40), published_at=now - timedelta(days=39))
        db.session.add(project)
        db.session.flush()
        for position, (name, weight) in enumerate((("服务方案", 40), ("团队能力", 30),
                                                   ("预算合理性", 30))):
            db.session.add(Criterion(project_id=project.id, position=position, name=name,
                                     weight=weight))
        for org_id in bidders:
            bid = Bid(project_id=project.id, org_id=org_id, status=BidState.submitted,
                      requested_amount=Decimal(rng.randrange(100, 500) * 1000),
                      proposal="每周上门探访两次", created_at=now - timedelta(days=10),
                      updated_at=now - timedelta(days=10))
            db.session.add(bid)
            db.session.flush()
            for reviewer in range(1, N_REVIEWERS + 1):
                scores = {"服务方案": rng.randint(50, 100), "团队能力": rng.randint(50, 100),
                          "预算合理性": rng.randint(50, 100)}
                weighted = Decimal(scores["服务方案"] * 40 + scores["团队能力"] * 30
                                   + scores["预算合理性"] * 30) / 100
                db.session.add(ScoreSheet(bid_id=bid.id, reviewer_id=N_RATERS + reviewer,
                                          scores=scores, weighted=weighted))
        bureau = create_user("bench-bureau", PASSWORD, [Grant(Role.bureau, CITY)], actor=None)
        token, _row = issue_token(bureau)
        project_id = project.id
        db.session.commit()
        if pg:  # what autovacuum does within a minute of such a load
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        else:  # what the portal's PRAGMA optimize does (portal/core/sqlite.py)
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        db.engine.dispose()
    by_area = Counter(r[9][:6] for r in ratings)
    by_township = Counter(r[9][:9] for r in ratings)
    by_community = Counter(r[9] for r in ratings)
    months = sorted({r[12] for r in ratings})
    return {"token": token, "project_id": project_id, "generate_s": generated,
            "load_s": time.perf_counter() - t0, "ratings": len(ratings), "cases": len(cases),
            "orgs": len(orgs), "rated_orgs": len(active), "bidders": bidders,
            "busiest_orgs": [o for o, _n in volume.most_common(50)],
            "all_orgs": [o["id"] for o in active],
            "areas": {"city": CITY, "county": by_area.most_common(1)[0][0],
                      "township": by_township.most_common(1)[0][0],
                      "community": by_community.most_common(1)[0][0]},
            "month": months[-2],  # the last whole month
            "bad": sum(1 for r in ratings if r[4] <= 2)}


# --- 1. an organisation's 12 months --------------------------------------------------------------

RAW_ORG = """
SELECT month, count(*), avg(level), sum(CASE WHEN level <= 2 THEN 1 ELSE 0 END)
FROM ratings WHERE rated_org_id = :org AND month >= :since AND voided_at IS NULL
GROUP BY month"""


def measure_org(app, info: dict, runs: int) -> dict[str, list[float]]:
    """queries.monthly over the busiest organisations and random ones, against the raw GROUP
    BY of the months; and the organisation's public page over HTTP."""
    from portal.ratings import queries

    rng = random.Random(7)
    sample = info["busiest_orgs"][:runs // 2] + rng.sample(info["all_orgs"], runs - runs // 2)
    out: dict[str, list[float]] = {"monthly()": [], "raw": [], "page": []}
    with app.app_context():
        since = queries.months_ago(12)
        # (Each statement's transaction ends before the next: SQLite's are BEGIN IMMEDIATE.)
        with db.engine.connect() as conn:
            for n, org_id in enumerate(sample[:3] + sample):
                t0 = time.perf_counter()
                conn.execute(sa.text(RAW_ORG), {"org": org_id, "since": since}).all()
                conn.rollback()
                if n >= 3:  # the first three warm
                    out["raw"].append((time.perf_counter() - t0) * 1000)
        for n, org_id in enumerate(sample[:3] + sample):
            t0 = time.perf_counter()
            queries.monthly(queries.object_filter(RatedKind.org, org_id), full=False)
            db.session.rollback()
            if n >= 3:
                out["monthly()"].append((time.perf_counter() - t0) * 1000)
        db.session.remove()
    client = app.test_client()
    for org_id in sample[:3]:
        client.get(f"/orgs/{org_id}")
    for org_id in sample:
        t0 = time.perf_counter()
        response = client.get(f"/orgs/{org_id}")
        out["page"].append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.status_code
    return out


# --- 2. the monthly figures of an area -------------------------------------------------------

RAW_AREA = """
SELECT count(*), avg(level), sum(CASE WHEN level >= 4 THEN 1 ELSE 0 END),
       sum(CASE WHEN level <= 2 THEN 1 ELSE 0 END)
FROM ratings WHERE area_code BETWEEN :low AND :high AND month = :month AND voided_at IS NULL
GROUP BY month"""


def measure_areas(app, info: dict, runs: int) -> dict[str, dict[str, list[float]]]:
    from portal.core.areas import code_bounds
    from portal.ratings import queries

    month = info["month"]
    key = f"{month // 100}-{month % 100:02d}"
    headers = {"Authorization": "Bearer " + info["token"]}
    client = app.test_client()
    out: dict[str, dict[str, list[float]]] = {}
    with app.app_context():
        for level, code in info["areas"].items():
            low, high = code_bounds(code)
            with db.engine.connect() as conn:
                def raw_query():
                    row = conn.execute(sa.text(RAW_AREA), {  # noqa: B023
                        "low": low, "high": high, "month": month}).one()  # noqa: B023
                    conn.rollback()  # noqa: B023
                    return row
                raw = timed(raw_query, runs)
                expected = raw_query()

            def figures():
                result = queries.figures(queries.area_filter(code, month),  # noqa: B023
                                         full=True)
                db.session.rollback()
                return result
            got = figures()
            assert got["count"] == expected[0], (got, expected)
            out[level] = {"raw": raw, "figures()": timed(figures, runs)}
        db.session.remove()
    for level, code in info["areas"].items():  # outside: each request its own app context
        def http():
            response = client.get(f"/api/v1/stats/ratings?area={code}&month={key}",  # noqa: B023
                                  headers=headers)
            assert response.status_code == 200, response.get_json()
        out[level]["HTTP"] = timed(http, runs)
    return out


# --- 3. the ranking with and without ratings ------------------------------------------------

def sign_in(client) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)
    response = client.post("/login", data={"username": "bench-bureau", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, response.status_code


def measure_ranking(app, info: dict, runs: int) -> dict[str, list[float]]:
    """The ranking's API and the bureau's project page, alternating runs with the ratings and
    without them (queries.orgs_recent answering nothing, as before 好差评)."""
    from portal.ratings import queries

    headers = {"Authorization": "Bearer " + info["token"]}
    api = app.test_client()
    page = app.test_client()
    sign_in(page)
    url = f"/projects/{info['project_id']}"
    real = queries.orgs_recent

    def blank(org_ids, months=12):
        return {}

    def get_api():
        response = api.get(f"/api/v1/projects/{info['project_id']}/ranking", headers=headers)
        assert response.status_code == 200
        return response.get_json()["items"]

    def get_page():
        response = page.get(url)
        assert response.status_code == 200 and 'id="ranking"' in response.get_data(as_text=True)

    items = get_api()
    assert len(items) == N_BIDS and all(i["ratings"]["count"] for i in items), items[:2]
    out: dict[str, list[float]] = {"API with": [], "API without": [], "page with": [],
                                   "page without": []}
    for label, fn in (("API", get_api), ("page", get_page)):
        for _ in range(3):
            fn()
        for _ in range(runs):
            for ratings in (True, False):
                queries.orgs_recent = real if ratings else blank
                try:
                    t0 = time.perf_counter()
                    fn()
                    out[f"{label} {'with' if ratings else 'without'}"].append(
                        (time.perf_counter() - t0) * 1000)
                finally:
                    queries.orgs_recent = real
    return out


# --- 4. the deadline arithmetic against 2026's calendar ---------------------------------------

# 国务院办公厅关于2026年部分节假日安排的通知, as it reads: (holiday from, to), and the weekend
# days worked instead.
NOTICE_2026 = {
    "元旦": (("01-01", "01-03"), ("01-04",)),
    "春节": (("02-15", "02-23"), ("02-14", "02-28")),
    "清明节": (("04-04", "04-06"), ()),
    "劳动节": (("05-01", "05-05"), ("05-09",)),
    "端午节": (("06-19", "06-21"), ()),
    "中秋节": (("09-25", "09-27"), ()),
    "国庆节": (("10-01", "10-07"), ("09-20", "10-10")),
}


def calendar_2026() -> dict[date, bool]:
    """Each day of 2026 (and early 2027): a working day or not, from the notice's table."""
    off, on = set(), set()
    for (first, last), worked in NOTICE_2026.values():
        day = date.fromisoformat(f"2026-{first}")
        while day <= date.fromisoformat(f"2026-{last}"):
            off.add(day)
            day += timedelta(days=1)
        on.update(date.fromisoformat(f"2026-{d}") for d in worked)
    days = {}
    day = date(2026, 1, 1)
    while day < date(2027, 2, 1):
        days[day] = day in on or (day.weekday() < 5 and day not in off)
        day += timedelta(days=1)
    return days


def check_deadlines(app) -> dict:
    """For each day of 2026 a case opened at 10:00 and at 23:30 (Beijing): the portal's due time
    against the end of the 5th working day counted on the notice's table."""
    from portal.core.workdays import add_working_days, is_working_day

    table = calendar_2026()
    mismatches, checked = [], 0
    with app.app_context():
        day = date(2026, 1, 1)
        t0 = time.perf_counter()
        while day.year == 2026:
            if is_working_day(day) is not table[day]:
                mismatches.append(f"{day}: working day {is_working_day(day)}, table {table[day]}")
            left, due = 5, day
            while left:
                due += timedelta(days=1)
                left -= table[due]
            expected = datetime.combine(due + timedelta(days=1), datetime.min.time(), SHANGHAI)
            for clock in ("10:00", "23:30"):
                opened = datetime.fromisoformat(f"{day} {clock}").replace(tzinfo=SHANGHAI)
                got = add_working_days(opened.astimezone(UTC), 5)
                checked += 1
                if got != expected:
                    mismatches.append(f"opened {opened}: due {got}, table {expected}")
            day += timedelta(days=1)
        elapsed = time.perf_counter() - t0
    return {"checked": checked, "mismatches": mismatches, "us_each": elapsed / checked * 1e6}


# --- the report -----------------------------------------------------------------------------

def line(label: str, samples: list[float], base: list[float] | None = None) -> str:
    median, p95 = statistics.median(samples), pct(samples, 0.95)
    ratio = f"{median / statistics.median(base):5.2f}x" if base else ""
    return f"  {label:24} median {median:7.2f} ms  p95 {p95:7.2f} ms  {ratio}"


def run(name: str, url: str, args) -> bool:
    app = make_app(url, SECRET_KEY="bench")
    migrate(app)
    info = load(app, args)
    print(f"\n{name}: {info['ratings']:,} ratings ({info['bad']:,} 差评, {info['cases']:,} "
          f"cases) of the {info['rated_orgs']:,} active of {info['orgs']:,} organisations and "
          f"the communities over {MONTHS} months; generated in "
          f"{info['generate_s']:.0f} s, loaded in {info['load_s']:.0f} s; {args.runs} runs each")
    met = True

    org = measure_org(app, info, args.runs)
    org_p95 = pct(org["monthly()"], 0.95)
    ok = org_p95 < GOAL_ORG_P95_MS
    met &= ok
    print("an organisation's 12 months (busiest and random organisations):")
    print(line("raw GROUP BY month", org["raw"]))
    print(line("queries.monthly()", org["monthly()"], org["raw"]))
    print(line("its public page (HTTP)", org["page"]))
    print(f"  goal: monthly() p95 {org_p95:.2f} ms < {GOAL_ORG_P95_MS:.0f} ms "
          f"{'met' if ok else 'MISSED'}")

    areas = measure_areas(app, info, args.runs)
    print(f"an area's figures for {info['month'] // 100}-{info['month'] % 100:02d}:")
    for level, samples in areas.items():
        ratio = statistics.median(samples["figures()"]) / statistics.median(samples["raw"])
        ok = ratio <= GOAL_AREA_RATIO
        met &= ok
        print(f" {level} {info['areas'][level]}:")
        print(line("raw GROUP BY", samples["raw"]))
        print(line("queries.figures()", samples["figures()"], samples["raw"]))
        print(line("GET /stats/ratings", samples["HTTP"], samples["raw"]))
        print(f"  goal: figures() {ratio:.2f}x raw <= {GOAL_AREA_RATIO:.0f}x "
              f"{'met' if ok else 'MISSED'}")

    ranking = measure_ranking(app, info, args.runs)
    print(f"the ranking of {N_BIDS} bids, with each bidder's 12 months of ratings and without:")
    for label in ("API", "page"):
        with_, without = ranking[f"{label} with"], ranking[f"{label} without"]
        print(line(f"{label} without ratings", without))
        print(line(f"{label} with ratings", with_, without))
        ratio = statistics.median(with_) / statistics.median(without)
        ok = ratio <= GOAL_RANKING_RATIO
        met &= ok
        print(f"  goal: {label} with ratings {ratio:.2f}x without <= {GOAL_RANKING_RATIO}x "
              f"{'met' if ok else 'MISSED'}")

    deadlines = check_deadlines(app)
    ok = not deadlines["mismatches"]
    met &= ok
    for mismatch in deadlines["mismatches"][:10]:
        print("  " + mismatch)
    print(f"deadlines: {deadlines['checked']} cases opened across 2026 against the notice's "
          f"table, {len(deadlines['mismatches'])} mismatches ({deadlines['us_each']:.0f} us "
          f"each); goal: 0 mismatches {'met' if ok else 'MISSED'}")
    print(f"{name}: {'all goals met' if met else 'goals MISSED'}")
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="PostgreSQL URL (default: $BENCH_DATABASE_URL); its public schema "
                             "is dropped, and its name must contain 'bench'")
    parser.add_argument("--runs", type=int, default=50, help="timed runs of each (default 50)")
    parser.add_argument("--ratings", type=int, default=N_RATINGS,
                        help=f"ratings to make (default {N_RATINGS:,})")
    args = parser.parse_args(argv)

    if args.db in ("postgresql", "both"):
        if args.pg_url:
            args.pg_url = normalise_url(args.pg_url)
            check_pg_url(args.pg_url)
        else:
            print("PostgreSQL skipped: set BENCH_DATABASE_URL or pass --pg-url, e.g. "
                  "postgresql+psycopg://postgres@127.0.0.1:55432/portal_bench")
    met = True
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
            met &= run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    if args.db in ("postgresql", "both") and args.pg_url:
        met &= run("postgresql", args.pg_url, args)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
