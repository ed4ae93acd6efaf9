"""Benchmark: charitable resources at city size, each figure against a comparator of the same run.

Issue 社会慈善资源: 200 community funds with 2,000,000 ledger movements over three years. Times
a fund's public page (`GET /funds/<id>`, and the API's fund and ledger) against the page's
queries written by hand (goal p95 < 50 ms); 16 clients disbursing 1.00 from ONE fund through
gunicorn on PostgreSQL against `GET /healthz` under the same clients (goal >= 300/s, 0
overdrafts, `funds check` at 0 mismatches afterwards); a quarterly statement of 50,000+
movements as a PDF against the raw query of that quarter (goal < 10 s); and 100 claims at
once on one micro-wish (goal: exactly one winner).

    .venv/bin/python benchmarks/charity.py --db sqlite
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:55499/portal_bench_charity \
        .venv/bin/python benchmarks/charity.py --db postgresql --redis-url redis://127.0.0.1:6390/6

Not part of the test suite. PostgreSQL: the database's public schema is DROPPED and recreated,
so the script refuses any database whose name does not contain "bench".
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import signups  # noqa: E402  (Server, in_threads, request, concurrent_healthz, CPU counters)
from common import (  # noqa: E402  (benchmarks/ is the script's own folder on sys.path)
    BENCH_ENV,
    DIVISIONS,
    check_pg_url,
    communities,
    make_app,
    migrate,
    normalise_url,
    pct,
    person,
    phone,
)

from portal.charity import disclosure, ledger  # noqa: E402
from portal.charity.models import (  # noqa: E402
    Fund,
    FundState,
    Movement,
    Pledge,
    Stock,
    Wish,
    WishState,
)
from portal.core.areas import Area, AreaLevel, import_areas  # noqa: E402
from portal.core.audit import AuditEntry  # noqa: E402
from portal.core.db import SHANGHAI  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.orgs.models import Org, OrgAdmin, OrgCategory, OrgState, Registration  # noqa: E402

N_MOVEMENTS = 2_000_000
N_FUNDS = 200
N_ORGS = 300
N_COMMUNITIES = 800
PLEDGES_PER_FUND = 20
LARGE_FUND = 1          # ~55,000 more movements inside the last ended quarter: the statement
RUN_FUND = 2            # the fund the 16 clients disburse from
PAGE_FUNDS = 50
SPREAD = 16             # funds of the comparison row: each client's disbursement on its own row
CLIENTS = 16
WISH_CLAIMERS = 100
PASSWORD = "bench-password-1"
PAGE_GOAL_MS = 50.0
RATE_GOAL = 300.0
PDF_GOAL_S = 10.0
YEARS = 3

# The page's queries by hand: the fund row, the count of its movements, the first 30.
RAW_FUND = sa.text("SELECT * FROM funds WHERE id = :f")
RAW_COUNT = sa.text("SELECT count(*) FROM movements WHERE fund_id = :f")
RAW_FIRST = sa.text("SELECT * FROM movements WHERE fund_id = :f ORDER BY at DESC, id DESC "
                    "LIMIT 30")
# The statement's by hand: the quarter's movements in order, the two sums before it and to its end.
RAW_QUARTER = sa.text("SELECT * FROM movements WHERE fund_id = :f AND at >= :lo AND at < :hi "
                      "ORDER BY at, id")
RAW_SUMS = sa.text("SELECT coalesce(sum(delta), 0), coalesce(sum(goods_delta), 0) FROM movements "
                   "WHERE fund_id = :f AND at < :before")

ORG_WORDS = ("慈善会", "爱心公益协会", "社区发展基金会", "志愿服务协会", "邻里互助会")
PURPOSES = ("困难家庭临时救助", "重阳节慰问空巢老人", "助学金发放", "大病医疗救助",
            "社区助餐点运营补贴", "冬季取暖补贴", "残疾人康复辅具", "留守儿童课外辅导",
            "微心愿物资采购", "防汛应急物资")
GOODS = (("大米", "袋", 5000), ("食用油", "桶", 6990), ("棉被", "床", 15000),
         ("羽绒服", "件", 29900), ("书包", "个", 4500), ("牛奶", "箱", 6000),
         ("口罩", "盒", 2500), ("取暖器", "台", 19900))
COMPANIES = ("营口港务", "鲅鱼圈钢铁", "大石桥镁业", "盖州果业", "老边水产", "站前商贸")
MOVEMENT_COLUMNS = ("id", "fund_id", "type", "amount", "items", "delta", "goods_delta",
                    "purpose", "donor_name", "donor_kind", "anonymous", "reverses_id", "reason",
                    "at")


# --- data ---------------------------------------------------------------------------------------

def cents(c: int) -> str:
    """Cents as a money string: -1234 -> "-12.34"."""
    sign, c = ("-", -c) if c < 0 else ("", c)
    return f"{sign}{c // 100}.{c % 100:02d}"


def last_ended_quarter(now: datetime) -> tuple[str, datetime, datetime]:
    """The last quarter (Beijing's calendar) that has ended: ("2026Q3", start, end)."""
    today = now.astimezone(SHANGHAI).date()
    q = (today.month - 1) // 3  # the running quarter, 0-based
    year, q = (today.year, q - 1) if q else (today.year - 1, 3)
    start = datetime(year, 3 * q + 1, 1, tzinfo=SHANGHAI)
    end = datetime(year + (q == 3), 1 if q == 3 else 3 * q + 4, 1, tzinfo=SHANGHAI)
    return f"{year}Q{q + 1}", start.astimezone(UTC), end.astimezone(UTC)


class Running:
    """The running figures of one fund while its ledger is made (money in cents)."""

    __slots__ = ("balance", "received", "disbursed", "goods_in", "goods_out", "goods_held",
                 "stock", "recent", "count")

    def __init__(self):
        self.balance = self.received = self.disbursed = 0
        self.goods_in = self.goods_out = self.goods_held = 0
        self.stock: dict[int, list[int]] = {}   # GOODS index -> [quantity, value in cents]
        self.recent: list[tuple] = []           # receipts and disbursements a reversal may undo
        self.count = 0


class Plan:
    def __init__(self, now: datetime, n_movements: int):
        self.now = now
        self.start = now - timedelta(days=365 * YEARS)
        self.period, self.q_start, self.q_end = last_ended_quarter(now)
        self.n_movements = n_movements
        self.large_extra = max(1000, round(n_movements * 0.0275))  # 55,000 of 2,000,000
        self.communities: list[dict] = []
        self.orgs: list[dict] = []
        self.funds: list[dict] = []
        self.pledges: list[dict] = []
        self.states = [Running() for _ in range(N_FUNDS + 1)]  # index = fund id
        self.order: list[tuple[int, int]] = []   # (seconds after start, fund id), in time order


def generate(rng: random.Random, plan: Plan) -> None:
    """Communities, organisations, funds, pledges, and when each movement happens."""
    townships = list(db.session.execute(
        sa.select(Area.code, Area.name).where(Area.level == AreaLevel.township)
        .order_by(Area.code)))
    assert len(townships) == 70, len(townships)
    plan.communities = communities(rng, [t.code for t in townships], N_COMMUNITIES)
    names = {t.code: t.name for t in townships} | {c["code"]: c["name"]
                                                   for c in plan.communities}
    codes = [c["code"] for c in plan.communities]

    # Registered organisations (legal persons that may hold a fund), active; uscc left NULL
    # (unique, so NULL or distinct).
    for oid in range(1, N_ORGS + 1):
        community = rng.choice(codes)
        created = plan.start - timedelta(days=rng.randint(200, 2000))
        plan.orgs.append({
            "id": oid, "name": f"{names[community]}{rng.choice(ORG_WORDS)}{oid}",
            "category": OrgCategory.charity, "registration": Registration.registered,
            "uscc": None, "legal_type": None, "uscc_override_reason": None,
            "uscc_check_failed": False, "community_code": community,
            "founded_on": date(2005, 1, 1) + timedelta(days=rng.randint(0, 4000)),
            "contact_name": person(rng), "contact_phone": phone(rng),
            "description": "慈善组织（基准测试数据）", "rating": None,
            "status": OrgState.active, "status_changed_at": created, "created_by": None,
            "created_at": created})
    orgs_in: dict[str, list[int]] = {}
    for org in plan.orgs:
        orgs_in.setdefault(org["community_code"][:9], []).append(org["id"])

    # Funds: a third for townships, the rest for communities; held by an organisation of the
    # township where there is one.
    for fid in range(1, N_FUNDS + 1):
        area = rng.choice(townships).code if rng.random() < 1 / 3 else rng.choice(codes)
        hosts = orgs_in.get(area[:9]) or [rng.randint(1, N_ORGS)]
        plan.funds.append({
            "id": fid, "name": f"{names[area]}{'社区' if len(area) > 9 else ''}慈善基金{fid}",
            "area_code": area, "host_org_id": rng.choice(hosts),
            "purpose": "扶老、救孤、助残、济困（基准测试数据）", "status": FundState.open,
            "created_by": None,
            "created_at": plan.start - timedelta(days=rng.randint(1, 300))})

    # Pledges: money, some outstanding (a few overdue), the rest received.
    today = plan.now.astimezone(SHANGHAI).date()
    span = int((plan.now - plan.start).total_seconds())
    for fid in range(1, N_FUNDS + 1):
        for _ in range(PLEDGES_PER_FUND):
            value = rng.randint(10, 5000) * 100
            status = rng.choices(("pledged", "partly_received", "received", "cancelled"),
                                 weights=(15, 10, 70, 5))[0]
            received = {"pledged": 0, "partly_received": value // 2, "received": value,
                        "cancelled": 0}[status]
            kind = rng.choice(("person", "person", "company", "organisation"))
            plan.pledges.append({
                "fund_id": fid, "kind": "money", "amount": Decimal(cents(value)),
                "value": Decimal(cents(value)), "received": Decimal(cents(received)),
                "donor_name": person(rng) if kind == "person" else
                f"{rng.choice(COMPANIES)}{'有限公司' if kind == 'company' else '商会'}",
                "donor_kind": kind, "anonymous": rng.random() < 0.1, "status": status,
                "due_on": today + timedelta(days=rng.randint(-60, 120))
                if status in ("pledged", "partly_received") else None,
                "created_at": plan.start + timedelta(seconds=rng.randrange(span))})

    # When: uneven spread over the funds (gamma weights), uniform over the three years; the
    # large fund gets its extra movements inside the last ended quarter.
    weights = list(itertools.accumulate(rng.gammavariate(2.0, 1.0) for _ in range(N_FUNDS)))
    rest = plan.n_movements - plan.large_extra
    end = span - 3600  # up to an hour ago
    funds = rng.choices(range(1, N_FUNDS + 1), cum_weights=weights, k=rest)
    order = [(rng.randrange(end), f) for f in funds]
    q_lo = int((plan.q_start - plan.start).total_seconds())
    q_hi = int((plan.q_end - plan.start).total_seconds())
    order += [(rng.randrange(q_lo, q_hi), LARGE_FUND) for _ in range(plan.large_extra)]
    order.sort()
    plan.order = order


def movement_rows(rng: random.Random, plan: Plan):
    """The ledger in time order (ids ascending with time, as it accrues): tuples of
    MOVEMENT_COLUMNS with money in cents and `at` an aware datetime. Each fund's running
    figures stay at or above zero all along; they end in plan.states."""
    states = plan.states
    start = plan.start
    for mid, (offset, fid) in enumerate(plan.order, start=1):
        st = states[fid]
        st.count += 1
        at = start + timedelta(seconds=offset)
        r = rng.random()
        if r < 0.003 and st.recent:
            k = rng.randrange(len(st.recent))
            oid, otype, amount, opurpose, odonor, okind, oanon = st.recent[k]
            if otype == "disbursement" or st.balance >= amount:
                st.recent.pop(k)
                delta = amount if otype == "disbursement" else -amount
                st.balance += delta
                if otype == "receipt":
                    st.received -= amount
                else:
                    st.disbursed -= amount
                yield (mid, fid, "reversal", amount, None, delta, 0, opurpose, odonor, okind,
                       oanon, oid, "录入有误，冲正", at)
                continue
            r = 0.1  # not coverable now: a receipt instead
        if 0.88 <= r < 0.94 or (r >= 0.94 and not any(q for q, _v in st.stock.values())):
            g = rng.randrange(len(GOODS))
            name, unit, unit_value = GOODS[g]
            quantity = rng.randint(1, 40)
            amount = quantity * unit_value
            held = st.stock.setdefault(g, [0, 0])
            held[0] += quantity
            held[1] += amount
            st.goods_in += amount
            st.goods_held += amount
            items = json.dumps([{"name": name, "quantity": str(quantity), "unit": unit,
                                 "unit_value": cents(unit_value), "value": cents(amount)}],
                               ensure_ascii=False)
            donor, donor_kind = f"{rng.choice(COMPANIES)}有限公司", "company"
            yield (mid, fid, "goods_in", amount, items, 0, amount, None, donor, donor_kind,
                   False, None, None, at)
            continue
        if r >= 0.94:
            g = rng.choice([g for g, (q, _v) in st.stock.items() if q])
            name, unit, _unit_value = GOODS[g]
            held = st.stock[g]
            quantity = rng.randint(1, held[0])
            amount = held[1] if quantity == held[0] else held[1] * quantity // held[0]
            held[0] -= quantity
            held[1] -= amount
            st.goods_out += amount
            st.goods_held -= amount
            items = json.dumps([{"name": name, "quantity": str(quantity), "unit": unit,
                                 "unit_value": cents(round(amount / quantity)),
                                 "value": cents(amount)}], ensure_ascii=False)
            yield (mid, fid, "goods_out", amount, items, 0, -amount, rng.choice(PURPOSES),
                   None, None, False, None, None, at)
            continue
        if 0.5 <= r < 0.88 and st.balance >= 1000:
            amount = min(st.balance, max(1000, int(rng.lognormvariate(math.log(40000), 1.0))))
            st.balance -= amount
            st.disbursed += amount
            purpose = rng.choice(PURPOSES)
            row = (mid, fid, "disbursement", amount, None, -amount, 0, purpose, None, None,
                   False, None, None, at)
        else:
            amount = min(20_000_000, max(1000, int(rng.lognormvariate(math.log(30000), 1.1))))
            st.balance += amount
            st.received += amount
            kind = rng.choices(("person", "company", "organisation"), weights=(60, 25, 15))[0]
            donor_kind = kind
            donor = person(rng) if kind == "person" else \
                f"{rng.choice(COMPANIES)}{'有限公司' if kind == 'company' else '商会'}"
            anonymous = rng.random() < 0.1
            row = (mid, fid, "receipt", amount, None, amount, 0, None, donor, donor_kind,
                   anonymous, None, None, at)
        st.recent.append((row[0], row[2], row[3], row[7], row[8], row[9], row[10]))
        if len(st.recent) > 30:
            st.recent.pop(0)
        yield row


def load_movements(url: str, rng: random.Random, plan: Plan) -> None:
    """COPY on PostgreSQL (foreign-key triggers off for the load only: the rows are generated
    consistent); executemany of plain tuples in one transaction on SQLite, stored as the
    portal's SQLAlchemy types store them (numbers as REAL, times as naive UTC text)."""
    rows = movement_rows(rng, plan)
    columns = ", ".join(MOVEMENT_COLUMNS)
    if url.startswith("sqlite"):
        conn = sqlite3.connect(sa.engine.make_url(url).database)
        try:
            conn.execute("BEGIN")
            insert = (f"INSERT INTO movements ({columns}) VALUES "
                      f"({', '.join('?' * len(MOVEMENT_COLUMNS))})")
            while True:
                chunk = [(m, f, t, a / 100, i, d / 100, g / 100, p, dn, dk, int(an), rv, rs,
                          at.strftime("%Y-%m-%d %H:%M:%S.000000"))
                         for m, f, t, a, i, d, g, p, dn, dk, an, rv, rs, at
                         in itertools.islice(rows, 100_000)]
                if not chunk:
                    break
                conn.executemany(insert, chunk)
            conn.commit()
        finally:
            conn.close()
        return
    import psycopg

    pg_url = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    with psycopg.connect(pg_url) as conn:
        with conn.cursor() as cur:
            cur.execute("SET session_replication_role = replica")
            with cur.copy(f"COPY movements ({columns}) FROM STDIN") as copy:
                for m, f, t, a, i, d, g, p, dn, dk, an, rv, rs, at in rows:
                    copy.write_row((m, f, t, cents(a), i, cents(d), cents(g), p, dn, dk, an,
                                    rv, rs, at))
            cur.execute("SET session_replication_role = DEFAULT")
        conn.commit()


def load(app, url: str, args) -> dict:
    from portal.charity import wishes
    from portal.core.users import Grant, Role, User, create_user, issue_token

    rng = random.Random(42)
    t0 = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    plan = Plan(now, args.movements)
    info: dict = {"plan": plan}
    with app.app_context():
        import_areas(DIVISIONS.read_text(encoding="utf-8"))
        db.session.commit()
        generate(rng, plan)
        db.session.execute(sa.insert(Area), plan.communities)
        db.session.commit()
        db.session.remove()
        with db.engine.begin() as conn:
            for model, rows in ((Org, plan.orgs), (Fund, plan.funds), (Pledge, plan.pledges)):
                conn.execute(model.__table__.insert(), rows)
        db.engine.dispose()
    info["generate_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    load_movements(url, rng, plan)
    info["movements_s"] = time.perf_counter() - t1
    with app.app_context():
        # Each fund's kept figures: the sums of its ledger (what each movement would have left).
        stock = []
        with db.engine.begin() as conn:
            conn.execute(sa.update(Fund.__table__).where(
                Fund.__table__.c.id == sa.bindparam("fid")).values(
                balance=sa.bindparam("b_balance"), received_total=sa.bindparam("b_received"),
                disbursed_total=sa.bindparam("b_disbursed"),
                goods_value_in=sa.bindparam("b_goods_in"),
                goods_value_out=sa.bindparam("b_goods_out"),
                goods_value_held=sa.bindparam("b_held")), [
                {"fid": fid, "b_balance": Decimal(cents(st.balance)),
                 "b_received": Decimal(cents(st.received)),
                 "b_disbursed": Decimal(cents(st.disbursed)),
                 "b_goods_in": Decimal(cents(st.goods_in)),
                 "b_goods_out": Decimal(cents(st.goods_out)),
                 "b_held": Decimal(cents(st.goods_held))}
                for fid, st in enumerate(plan.states) if fid])
            for fid, st in enumerate(plan.states):
                for g, (quantity, value) in sorted(st.stock.items()):
                    if quantity:
                        stock.append({"fund_id": fid, "name": GOODS[g][0], "unit": GOODS[g][1],
                                      "quantity": Decimal(quantity),
                                      "value": Decimal(cents(value))})
            conn.execute(Stock.__table__.insert(), stock)
        # Accounts: the run fund's host admin, a worker of a community (publishes the wishes),
        # and the 100 who claim a wish at once; API tokens issued directly (issue_token).
        host = create_user("bench-host", PASSWORD, [Grant(Role.org_admin)], actor=None,
                           display_name="基金管理员")
        db.session.flush()
        # The host's admin keeps the run fund's ledger, and (for the comparison row without a
        # shared row) that of the SPREAD richest other funds.
        spread = sorted((f for f in range(3, N_FUNDS + 1)),
                        key=lambda f: -plan.states[f].balance)[:SPREAD]
        info["spread"] = spread
        for org_id in sorted({plan.funds[f - 1]["host_org_id"] for f in [RUN_FUND, *spread]}):
            db.session.add(OrgAdmin(org_id=org_id, user_id=host.id))
        community = plan.communities[0]["code"]
        worker = create_user("bench-worker", PASSWORD,
                             [Grant(Role.community_worker, community)], actor=None,
                             display_name="社区工作者")
        claimers = [create_user(f"bench-c{i:03d}", PASSWORD, [Grant(Role.volunteer)],
                                actor=None) for i in range(1, WISH_CLAIMERS + 1)]
        db.session.flush()
        info["host_id"], info["worker_id"] = host.id, worker.id
        info["host_token"] = issue_token(host)[0]
        info["claim_tokens"] = {u.id: issue_token(u)[0] for u in claimers}
        info["community"] = community
        db.session.commit()

        def new_wish(n: int) -> int:
            with app.app_context():
                actor = db.session.get(User, info["worker_id"])
                wish = wishes.publish_wish(wishes.WishInput(
                    community_code=community, alias="王奶奶", title=f"一床厚棉被（第{n}轮）",
                    kind="goods", estimated_value="150.00", story="独居老人，冬天怕冷。",
                    name="王某某", phone="13912345678", address="营口市某小区1号楼"),
                    actor=actor)
                db.session.commit()
                return wish.id

        info["new_wish"] = new_wish
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                for table in ("orgs", "funds", "movements"):
                    conn.execute(sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"))
            # What autovacuum does within a minute of such a load (since PostgreSQL 13 an
            # insert-only table is vacuumed too): statistics, and the visibility map that lets
            # a count be answered from the index alone.
            t2 = time.perf_counter()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
            info["vacuum_s"] = time.perf_counter() - t2
        info["counts"] = {name: db.session.scalar(sa.select(sa.func.count()).select_from(m))
                          for name, m in (("movements", Movement), ("funds", Fund),
                                          ("pledges", Pledge), ("stock", Stock))}
        info["by_type"] = dict(db.session.execute(
            sa.select(Movement.type, sa.func.count()).group_by(Movement.type)).all())
        info["large_quarter"] = db.session.scalar(sa.select(sa.func.count()).where(
            Movement.fund_id == LARGE_FUND, Movement.at >= plan.q_start,
            Movement.at < plan.q_end))
        info["large_total"] = plan.states[LARGE_FUND].count
        t3 = time.perf_counter()
        info["mismatches_before"] = ledger.mismatches()
        info["mismatches_s"] = time.perf_counter() - t3
        db.session.remove()
        db.engine.dispose()
    info["load_s"] = time.perf_counter() - t0
    return info


# --- 1. a fund's public page --------------------------------------------------------------------

def measure_pages(app, info: dict, runs: int) -> dict:
    """In-process (Flask's test client, anonymous) against the page's queries by hand on a plain
    connection (each run one transaction), cycling over PAGE_FUNDS random funds. The rows are
    interleaved (run i of every row, then run i + 1), so that the machine's other load falls on
    the comparator and on what it is compared with alike."""
    rng = random.Random(7)
    funds = rng.sample(range(3, N_FUNDS + 1), PAGE_FUNDS)
    client = app.test_client()
    out: dict = {"funds": funds, "sizes": [info["plan"].states[f].count for f in funds]}
    with app.app_context():
        engine = db.engine

    def get(path: str, check: str | None = None):
        def once(f):
            response = client.get(path.format(f=f))
            assert response.status_code == 200, (path, response.status_code)
            data = response.get_data()
            if check is not None:
                assert check.encode() in data, check
        return once

    with engine.connect() as conn:
        def raw(f):
            conn.execute(RAW_FUND, {"f": f}).one()
            conn.execute(RAW_COUNT, {"f": f}).scalar()
            conn.execute(RAW_FIRST, {"f": f}).all()
            conn.rollback()

        rows = {"raw": raw, "page /funds/<id>": get("/funds/{f}", 'id="movements"'),
                "API /api/v1/funds/<id>": get("/api/v1/funds/{f}"),
                "API /api/v1/funds/<id>/movements": get("/api/v1/funds/{f}/movements")}
        out.update(interleaved(rows, [funds[i % len(funds)] for i in range(runs)]))
        large = {"raw: large fund": raw, "page: large fund": rows["page /funds/<id>"],
                 "API movements: large fund": rows["API /api/v1/funds/<id>/movements"]}
        out.update(interleaved(large, [LARGE_FUND] * max(10, runs // 5)))
    # The page shows what the ledger says: its total and the newest movement.
    body = client.get(f"/funds/{funds[0]}").get_data(as_text=True)
    api = client.get(f"/api/v1/funds/{funds[0]}/movements").get_json()
    with engine.connect() as conn:
        n = conn.execute(RAW_COUNT, {"f": funds[0]}).scalar()
        first = conn.execute(RAW_FIRST, {"f": funds[0]}).first()
    out["consistent"] = api["total"] == n and api["items"][0]["id"] == first.id and \
        f"<td>{first.id}</td>" in body
    return out


def interleaved(rows: dict, args: list, warmup: int = 5) -> dict[str, list[float]]:
    """Each row's fn(arg) timed in ms, the rows taking turns; `warmup` untimed rounds first."""
    samples: dict[str, list[float]] = {label: [] for label in rows}
    for i, arg in enumerate(args[:warmup] + args):
        for label, fn in rows.items():
            t0 = time.perf_counter()
            fn(arg)
            if i >= warmup:
                samples[label].append((time.perf_counter() - t0) * 1000)
    return samples


# --- 2. disbursements under 16 clients (PostgreSQL) ---------------------------------------------

def set_balance(app, info: dict, target: Decimal) -> Decimal:
    """Bring the run fund to `target` yuan by one movement through the ledger (as its host)."""
    from portal.core.users import User

    with app.app_context():
        fund = db.session.get(Fund, RUN_FUND)
        diff = target - fund.balance
        if diff:
            ledger.record_movement(fund, ledger.MovementInput(
                type="receipt" if diff > 0 else "disbursement", amount=f"{abs(diff):.2f}",
                purpose="基准测试：调整余额", donor_name="基准测试" if diff > 0 else None),
                actor=db.session.get(User, info["host_id"]))
            db.session.commit()
        db.session.expire_all()
        balance = db.session.get(Fund, RUN_FUND).balance
        db.session.remove()
    return balance


def fund_state(url: str) -> tuple[Decimal, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        balance = conn.scalar(sa.text(f"SELECT balance FROM funds WHERE id = {RUN_FUND}"))
        rows = conn.scalar(sa.text(f"SELECT count(*) FROM movements WHERE fund_id = {RUN_FUND}"))
    engine.dispose()
    return Decimal(balance), rows


def funds_check(url: str) -> tuple[str, float]:
    """`flask --app portal funds check` against the database, as an operator runs it."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "portal", "funds", "check"],
                          cwd=ROOT, env=dict(os.environ, DATABASE_URL=url, **BENCH_ENV),
                          capture_output=True, text=True, timeout=600)
    lines = (done.stdout + done.stderr).strip().splitlines()
    return (lines[-1] if lines else f"exit {done.returncode}") + \
        ("" if done.returncode == 0 else f" (exit {done.returncode})"), time.perf_counter() - t0


def disburse(token: str, funds: list[int]):
    """POST a disbursement of 1.00: request i on funds[i % len(funds)]."""
    body = json.dumps({"type": "disbursement", "amount": "1.00", "purpose": "bench"}).encode()

    def work(conn, i):
        t0 = time.perf_counter()
        status, data = signups.request(conn, "POST", f"/api/v1/funds/{funds[i % len(funds)]}"
                                       "/movements", body, token=token)
        return (time.perf_counter() - t0) * 1000, status
    return work


class Sampler(threading.Thread):
    """What the database's client backends are doing, every 50 ms (pg_stat_activity): running,
    waiting for a lock (the fund's row), idle in a transaction (waiting for the web worker), or
    idle between requests."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        self.seen: Counter = Counter()
        self.halt = threading.Event()

    def run(self):
        with self.engine.connect() as conn:
            while not self.halt.wait(0.05):
                for state, wait_type, wait in conn.execute(sa.text(
                        "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND backend_type = 'client backend'")):
                    if state == "active":
                        key = f"waiting: {wait_type}/{wait}" if wait_type not in (None, "CPU") \
                            else "running"
                    else:
                        key = state or "?"
                    self.seen[key] += 1
                conn.rollback()

    def stop(self) -> dict[str, float]:
        self.halt.set()
        self.join()
        self.engine.dispose()
        total = sum(self.seen.values()) or 1
        return {k: n / total for k, n in self.seen.most_common()}


def burst(work, n: int, url: str | None = None) -> dict:
    sampler = Sampler(url) if url else None
    if sampler:
        sampler.start()
    cpu0, server0 = signups.cpu_seconds(), signups.cpu_seconds(signups.SERVER.process.pid)
    t0 = time.perf_counter()
    results = signups.in_threads(work, list(range(n)), CLIENTS)
    wall = time.perf_counter() - t0
    k = max(1, len(results))
    return {"results": results, "samples": [r[0] for r in results], "wall_s": wall,
            "status": Counter(r[1] for r in results), "rate": len(results) / wall,
            "rate_201": sum(1 for r in results if r[1] == 201) / wall,
            "server_cpu_ms": (signups.cpu_seconds(signups.SERVER.process.pid) - server0)
            * 1000 / k, "cpu_ms": (signups.cpu_seconds() - cpu0) * 1000 / k,
            "backends": sampler.stop() if sampler else {}}


def claim_http(wish_id: int, tokens: dict[int, str]) -> list[tuple[int, int]]:
    """All claimers connected, then all sending at once (a barrier): (user id, status)."""
    barrier = threading.Barrier(len(tokens))
    results: list[tuple[int, int]] = []
    lock = threading.Lock()

    def go(uid: int, token: str):
        conn = signups.SERVER.connection()
        try:
            conn.connect()
            barrier.wait()
            status, _data = signups.request(conn, "POST", f"/api/v1/wishes/{wish_id}/claim",
                                            b"{}", token=token)
        except Exception:  # noqa: BLE001  (counted as 0)
            status = 0
        finally:
            conn.close()
        with lock:
            results.append((uid, status))

    threads = [threading.Thread(target=go, args=item) for item in tokens.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def measure_http(url: str, app, info: dict, args) -> dict:
    """gunicorn (sync workers, gunicorn.conf.py's number; with --redis-url Redis and a worker),
    16 clients: GET /healthz, then disbursements of 1.00 from the run fund: the measured window
    (the balance covers all), then a burst of which the balance covers 70 %; then the wish
    claims through the same server."""
    measured, last = args.disbursements, args.burst
    warm = 64
    cover = round(last * 0.7)
    start_balance = set_balance(app, info, Decimal(warm + measured + cover))
    _b, rows_before = fund_state(url)
    out: dict = {"start_balance": start_balance, "measured": measured, "burst": last,
                 "cover": cover, "warm": warm}
    with tempfile.TemporaryDirectory(prefix="portal-bench-charity-") as tmp:
        log = Path(tmp) / "gunicorn.log"
        server = signups.Server(url, log, redis_url=args.redis_url)
        signups.SERVER = server
        try:
            out["web_workers"] = server.web_workers()
            work = disburse(info["host_token"], [RUN_FUND])
            out["warm_status"] = Counter(r[1] for r in signups.in_threads(
                work, list(range(warm)), CLIENTS))
            health, health_rate, health_cpu = signups.concurrent_healthz(args.healthz)
            out["healthz"], out["healthz_rate"] = health, health_rate
            out["healthz_cpu_ms"] = health_cpu
            out["window"] = burst(work, measured, url)
            out["spread"] = burst(disburse(info["host_token"], info["spread"]),
                                  max(CLIENTS, measured // 2), url)
            out["last"] = burst(work, last)
            out["wish_http"] = []
            for n in range(1, args.wish_rounds + 1):
                wish_id = info["new_wish"](n)
                out["wish_http"].append((wish_id, claim_http(wish_id, info["claim_tokens"])))
        finally:
            server.stop()
            if args.redis_url:
                clean_redis(args.redis_url)
        text = log.read_text(errors="replace")
        out["server_errors"] = [line for line in text.splitlines()
                                if "Traceback" in line or "ERROR" in line]
    balance, rows_after = fund_state(url)
    ok201 = sum(r[1] == 201 for part in ("window", "last") for r in out[part]["results"]) + \
        out["warm_status"].get(201, 0)
    out.update(balance=balance, ok201=ok201, new_rows=rows_after - rows_before)
    out["check"], out["check_s"] = funds_check(url)
    return out


def clean_redis(redis_url: str) -> None:
    """Our keys only (common.Gunicorn's prefix and queue carry this process's id)."""
    try:
        import redis

        conn = redis.Redis.from_url(redis_url)
        mine = f"portal-bench-{os.getpid()}"
        keys = [k for pattern in (f"{mine}:*", f"*{mine}*")
                for k in conn.scan_iter(match=pattern, count=1000)]
        for start in range(0, len(keys), 1000):
            conn.delete(*keys[start:start + 1000])
        conn.close()
    except Exception as exc:  # noqa: BLE001
        print(f"  (Redis clean-up failed: {exc!r})")


# --- 3. the quarterly statement as PDF ----------------------------------------------------------

def measure_pdf(app, info: dict, runs: int) -> dict:
    from portal.charity.statement_pdf import render
    from portal.core.db import iso

    plan = info["plan"]
    out: dict = {"snapshot_s": [], "render_s": [], "raw_s": []}
    with app.app_context():
        engine = db.engine
        for _ in range(runs):
            t0 = time.perf_counter()
            with engine.connect() as conn:
                rows = conn.execute(RAW_QUARTER, {"f": LARGE_FUND, "lo": plan.q_start,
                                                  "hi": plan.q_end}).all()
                for before in (plan.q_start, plan.q_end):
                    conn.execute(RAW_SUMS, {"f": LARGE_FUND, "before": before}).one()
                conn.rollback()
            out["raw_s"].append(time.perf_counter() - t0)
            fund = db.session.get(Fund, LARGE_FUND)
            t0 = time.perf_counter()
            snap = disclosure.snapshot(fund, plan.period)
            t1 = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                pdf = render(snap, iso(datetime.now(UTC)))
            out["warnings"] = sorted({str(w.message).split(".")[0] for w in caught})
            t2 = time.perf_counter()
            db.session.rollback()
            out["snapshot_s"].append(t1 - t0)
            out["render_s"].append(t2 - t1)
        db.session.remove()
    out["movements"] = len(snap["movements"])
    out["raw_rows"] = len(rows)
    out["bytes"] = len(pdf)
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        info_out = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True)
        fonts = subprocess.run(["pdffonts", f.name], capture_output=True, text=True)
    pages = [line.split()[-1] for line in info_out.stdout.splitlines()
             if line.startswith("Pages:")]
    out["pages"] = int(pages[0]) if pages else None
    font_lines = fonts.stdout.splitlines()[2:]
    out["fonts"] = [line.split()[0] for line in font_lines]
    # pdffonts' columns: name type encoding emb sub uni object ID; "emb" is the 4th from the end
    # but two (object, ID) of the last.
    out["embedded"] = bool(font_lines) and all(line.split()[-5] == "yes" for line in font_lines)
    out["pdf_ok"] = info_out.returncode == 0 and bool(out["pages"]) and out["embedded"]
    return out


# --- 4. wish claims -----------------------------------------------------------------------------

def claim_inprocess(app, wish_id: int, tokens: dict[int, str]) -> list[tuple[int, int]]:
    """Flask test clients in threads (each its own app context, session and connection from the
    pool), all released at once by a barrier."""
    barrier = threading.Barrier(len(tokens))
    results: list[tuple[int, int]] = []
    lock = threading.Lock()

    def go(uid: int, token: str):
        client = app.test_client()
        barrier.wait()
        try:
            status = client.post(f"/api/v1/wishes/{wish_id}/claim", json={},
                                 headers={"Authorization": "Bearer " + token}).status_code
        except Exception:  # noqa: BLE001  (counted as 0)
            status = 0
        with lock:
            results.append((uid, status))

    threads = [threading.Thread(target=go, args=item) for item in tokens.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def judge_claims(app, rounds: list[tuple[int, list[tuple[int, int]]]]) -> list[dict]:
    """Per round: the statuses, and in the database one claimer recorded, the winner."""
    out = []
    with app.app_context():
        for wish_id, results in rounds:
            wish = db.session.get(Wish, wish_id)
            winners = [uid for uid, status in results if status == 200]
            audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                       .where(AuditEntry.object_type == "wish",
                                              AuditEntry.object_id == str(wish_id),
                                              AuditEntry.action == "claim"))
            statuses = Counter(status for _uid, status in results)
            out.append({"wish": wish_id, "status": statuses,
                        "ok": statuses == Counter({200: 1, 409: len(results) - 1})
                        and wish.status is WishState.claimed and len(winners) == 1
                        and wish.claimed_by == winners[0] and audits == 1})
        db.session.remove()
    return out


def wish_rounds_inprocess(app, info: dict, n: int) -> list[dict]:
    rounds = []
    for k in range(1, n + 1):
        wish_id = info["new_wish"](100 + k)
        rounds.append((wish_id, claim_inprocess(app, wish_id, info["claim_tokens"])))
    return judge_claims(app, rounds)


# --- explain ------------------------------------------------------------------------------------

class Statements:
    """The SQL statements a block runs on the app's engine, with their times."""

    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self.seen: list[tuple[float, str, object]] = []
        self.starts: dict[int, float] = {}

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self.starts[id(cursor)] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        began = self.starts.pop(id(cursor), time.perf_counter())
        self.seen.append(((time.perf_counter() - began) * 1000, statement, parameters))

    def __enter__(self):
        self.seen.clear()
        sa.event.listen(self.engine, "before_cursor_execute", self._before)
        sa.event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._before)
        sa.event.remove(self.engine, "after_cursor_execute", self._after)

    def show(self, label: str, total: float, plans: int = 2) -> None:
        print(f"  -- {label}: {len(self.seen)} statements, "
              f"{sum(s[0] for s in self.seen):.1f} ms of {total:.1f} ms in SQL")
        for ms, statement, _p in self.seen:
            print(f"     {ms:6.2f} ms  {' '.join(statement.split())[:110]}")
        pg = self.engine.dialect.name == "postgresql"
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN "
        for ms, statement, parameters in sorted(self.seen, key=lambda s: -s[0])[:plans]:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            print(f"     plan of the {ms:.2f} ms statement:")
            with self.engine.connect() as conn:
                for row in conn.exec_driver_sql(prefix + statement, parameters):
                    print("       " + " | ".join(str(v) for v in row))
                conn.rollback()


def explain(app, info: dict, funds: list[int], disbursement: bool) -> None:
    """The page's statements with their times, and the plans of the two slowest; with
    `disbursement`, those of one disbursement (on a fund of the comparison row)."""
    client = app.test_client()
    paths = {f"page, a fund of {info['plan'].states[funds[0]].count:,} movements":
             f"/funds/{funds[0]}",
             f"page, the large fund ({info['large_total']:,} movements)": f"/funds/{LARGE_FUND}",
             "API movements, the large fund": f"/api/v1/funds/{LARGE_FUND}/movements"}
    statements = Statements(app)
    for label, path in paths.items():
        client.get(path)  # warm
        with statements:
            t0 = time.perf_counter()
            client.get(path)
            total = (time.perf_counter() - t0) * 1000
        statements.show(label, total)
    if disbursement:
        fund = info["spread"][0]
        headers = {"Authorization": "Bearer " + info["host_token"]}
        body = {"type": "disbursement", "amount": "1.00", "purpose": "bench"}
        client.post(f"/api/v1/funds/{fund}/movements", json=body, headers=headers)  # warm
        with statements:
            t0 = time.perf_counter()
            status = client.post(f"/api/v1/funds/{fund}/movements", json=body,
                                 headers=headers).status_code
            total = (time.perf_counter() - t0) * 1000
        statements.show(f"a disbursement (POST, {status})", total, plans=0)


# --- report -------------------------------------------------------------------------------------

def line(label: str, samples: list[float], base: float | None = None, goal: float | None = None,
         width: int = 44) -> str:
    p50, p95 = statistics.median(samples), pct(samples, 0.95)
    ratio = f"{p50 / base:6.1f}x" if base else " " * 7
    mark = "" if goal is None else ("  met" if p95 < goal else "  MISSED")
    return f"  {label:{width}} {len(samples):5d} {p50:8.2f} {p95:8.2f} {ratio}{mark}"


def report(name: str, info: dict, pages: dict, pdf: dict, wishes_in: list[dict],
           http: dict | None, args) -> None:
    plan = info["plan"]
    c = info["counts"]
    types = ", ".join(f"{k} {v:,}" for k, v in sorted(info["by_type"].items(),
                                                      key=lambda kv: -kv[1]))
    print(f"\n{name}: {c['movements']:,} movements ({types}) over {c['funds']} funds, "
          f"{c['pledges']:,} pledges, {c['stock']} stock lines; the large fund #{LARGE_FUND} "
          f"{info['large_total']:,} movements, {info['large_quarter']:,} in {plan.period}; "
          f"data made in {info['generate_s']:.0f} s, movements loaded in "
          f"{info['movements_s']:.0f} s"
          + (f", VACUUM ANALYZE {info['vacuum_s']:.0f} s" if "vacuum_s" in info else "")
          + f", all {info['load_s']:.0f} s")
    print(f"  ledger before the run: mismatches() {len(info['mismatches_before'])} "
          f"({info['mismatches_s']:.1f} s)")
    print(f"  load average (1 min) before/after each part, {os.cpu_count()} cores: "
          + ", ".join(f"{k} {a:.2f}/{b:.2f}" for k, (a, b) in info["loads"].items()))
    sizes = sorted(pages["sizes"])
    raw = statistics.median(pages["raw"])
    raw_large = statistics.median(pages["raw: large fund"])
    print(f"  1. a fund's public page, in-process (Flask test client, anonymous), {PAGE_FUNDS} "
          f"random funds ({sizes[0]:,}-{sizes[-1]:,} movements, median "
          f"{statistics.median(sizes):,.0f}); raw: the fund row, count, first 30 by hand")
    print(f"  {'':44} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'vs raw':>7}  goal p95 < "
          f"{PAGE_GOAL_MS:.0f} ms")
    print(line("raw (the page's 3 queries)", pages["raw"]))
    print(line("GET /funds/<id> (the page)", pages["page /funds/<id>"], raw, PAGE_GOAL_MS))
    print(line("GET /api/v1/funds/<id>", pages["API /api/v1/funds/<id>"], raw))
    print(line("GET /api/v1/funds/<id>/movements", pages["API /api/v1/funds/<id>/movements"],
               raw))
    print(line(f"raw, the large fund ({info['large_total']:,})", pages["raw: large fund"]))
    print(line("GET /funds/1, the large fund", pages["page: large fund"], raw_large,
               PAGE_GOAL_MS))
    print(line("GET /api/v1/funds/1/movements, large", pages["API movements: large fund"],
               raw_large))
    print(f"  the page and the API agree with the raw count and newest movement: "
          f"{'yes' if pages['consistent'] else 'NO'}")

    if http is not None:
        w, b = http["window"], http["last"]
        print(f"  2. POST /api/v1/funds/{RUN_FUND}/movements (disbursement 1.00, the host's "
              f"token) over HTTP, gunicorn -w {http['web_workers']} (sync)"
              + (", Redis + worker" if args.redis_url else "") + f", {CLIENTS} clients; "
              f"starting balance {http['start_balance']} (covers {http['warm']} warm-up + "
              f"{http['measured']} measured + {http['cover']} of the last {http['burst']})")
        print(f"  {'':44} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'rate':>9}  statuses")
        h = http["healthz"]
        print(f"  {f'GET /healthz, {CLIENTS} clients (base)':44} {len(h):5d} "
              f"{statistics.median(h):8.2f} {pct(h, 0.95):8.2f} {http['healthz_rate']:7.0f}/s")
        sp = http["spread"]
        for label, part in ((f"disbursements, fund #{RUN_FUND}, measured window", w),
                            (f"  context: over {SPREAD} funds (no shared row)", sp),
                            (f"disbursements, fund #{RUN_FUND}, the last burst", b)):
            s = part["samples"]
            print(f"  {label:44} {len(s):5d} {statistics.median(s):8.2f} {pct(s, 0.95):8.2f} "
                  f"{part['rate']:7.0f}/s  {dict(sorted(part['status'].items()))}"
                  f" (201s {part['rate_201']:.0f}/s)")
        print(f"  CPU per request: gunicorn {w['server_cpu_ms']:.1f} ms a disbursement on one "
              f"fund, {sp['server_cpu_ms']:.1f} ms over {SPREAD} funds, "
              f"{http['healthz_cpu_ms']:.1f} ms a healthz; whole machine (anyone's) "
              f"{w['cpu_ms']:.1f} ms a disbursement; warm-up {dict(http['warm_status'])}")
        for label, part in (("one fund", w), (f"{SPREAD} funds", sp)):
            print(f"  database backends while disbursing ({label}; pg_stat_activity every "
                  "50 ms): " + ", ".join(f"{k} {v:.0%}" for k, v in part["backends"].items()))
        expected = http["start_balance"] - http["ok201"]
        print(f"  after: balance {http['balance']} (>= 0: "
              f"{'yes' if http['balance'] >= 0 else 'NO'}), start - 201s x 1.00 = {expected} "
              f"({'equal' if http['balance'] == expected else 'DIFFERENT'}), new ledger rows "
              f"{http['new_rows']} vs 201s {http['ok201']}; `flask funds check`: "
              f"{http['check']} ({http['check_s']:.1f} s)")
        if http["server_errors"]:
            print(f"  gunicorn log: {len(http['server_errors'])} error lines, first: "
                  f"{http['server_errors'][0]}")
    snap, rend = statistics.median(pdf["snapshot_s"]), statistics.median(pdf["render_s"])
    total = [a + b for a, b in zip(pdf["snapshot_s"], pdf["render_s"], strict=True)]
    raw_q = statistics.median(pdf["raw_s"])
    print(f"  3. statement of fund #{LARGE_FUND} for {plan.period}: {pdf['movements']:,} "
          f"movements (raw query {pdf['raw_rows']:,} rows), {len(total)} runs: raw query + "
          f"sums {raw_q:.2f} s; snapshot() {snap:.2f} s, render() {rend:.2f} s, total "
          f"{statistics.median(total):.2f} s (worst {max(total):.2f} s); PDF "
          f"{pdf['bytes'] / 1e6:.1f} MB, {pdf['pages']} pages, fonts {pdf['fonts']} embedded: "
          f"{'yes' if pdf['embedded'] else 'NO'}"
          + "".join(f"; fpdf2 warned: {w}" for w in pdf["warnings"]))
    rounds_in = "; ".join(f"{dict(sorted(r['status'].items()))}" for r in wishes_in)
    print(f"  4. wish claims, {WISH_CLAIMERS} at once (barrier), in-process test clients in "
          f"threads: {rounds_in}")
    if http is not None:
        rounds = "; ".join(f"{dict(sorted(r['status'].items()))}" for r in http["wish_claims"])
        print(f"  4. wish claims, {WISH_CLAIMERS} at once through gunicorn: {rounds}")

    page = pages["page /funds/<id>"]
    p95 = pct(page, 0.95)
    large95 = pct(pages["page: large fund"], 0.95)
    print(f"{name:<10} goal: fund page p95 < {PAGE_GOAL_MS:.0f} ms {p95:.1f} ms "
          f"{'met' if p95 < PAGE_GOAL_MS else 'MISSED'} (p50 {statistics.median(page):.1f} ms, "
          f"{statistics.median(page) / raw:.1f}x raw {raw:.2f} ms; the large fund's page p95 "
          f"{large95:.1f} ms {'met' if large95 < PAGE_GOAL_MS else 'MISSED'}, "
          f"{statistics.median(pages['page: large fund']) / raw_large:.1f}x its raw)")
    if http is None:
        print(f"{name:<10} goal: disbursements >= {RATE_GOAL:.0f}/s: not measured "
              "(PostgreSQL only)")
    else:
        w = http["window"]
        sound = http["balance"] >= 0 and http["balance"] == http["start_balance"] - \
            http["ok201"] and http["new_rows"] == http["ok201"] and \
            http["check"].startswith("0 mismatches") and \
            set(w["status"]) == {201} and set(http["last"]["status"]) <= {201, 409}
        print(f"{name:<10} goal: disbursements >= {RATE_GOAL:.0f}/s (201s) {w['rate_201']:.0f}/s "
              f"{'met' if w['rate_201'] >= RATE_GOAL and sound else 'MISSED'} (all answers "
              f"{w['rate']:.0f}/s, p50 {statistics.median(w['samples']):.1f} ms, p95 "
              f"{pct(w['samples'], 0.95):.1f} ms; healthz {http['healthz_rate']:.0f}/s, "
              f"{w['rate'] / http['healthz_rate']:.2f}x; overdrafts "
              f"{'0' if http['balance'] >= 0 else 'SOME'}, last burst "
              f"{dict(sorted(http['last']['status'].items()))}, funds check: {http['check']})")
    worst = max(total)
    print(f"{name:<10} goal: statement PDF < {PDF_GOAL_S:.0f} s {worst:.2f} s "
          f"{'met' if worst < PDF_GOAL_S and pdf['pdf_ok'] else 'MISSED'} (worst of "
          f"{len(total)}; {pdf['movements']:,} movements: snapshot {snap:.2f} s + render "
          f"{rend:.2f} s; {statistics.median(total) / raw_q:.1f}x the raw query's "
          f"{raw_q:.2f} s; {pdf['pages']} pages, font embedded "
          f"{'yes' if pdf['embedded'] else 'NO'})")
    claims = wishes_in + (http["wish_claims"] if http else [])
    good = sum(r["ok"] for r in claims)
    print(f"{name:<10} goal: wish claims, exactly one winner of {WISH_CLAIMERS} "
          f"{good}/{len(claims)} rounds {'met' if good == len(claims) else 'MISSED'} "
          f"({'in-process' if http is None else 'in-process and through gunicorn'}; each "
          f"round 1 x 200 + {WISH_CLAIMERS - 1} x 409, the wish claimed by the winner, one "
          "audit row)")


def run(name: str, url: str, args) -> None:
    app = make_app(url)
    migrate(app)
    info = load(app, url, args)
    loads = info["loads"] = {}

    def part(key, fn, *a):
        before = os.getloadavg()[0]
        result = fn(*a)
        loads[key] = (before, os.getloadavg()[0])
        return result

    pages = part("pages", measure_pages, app, info, args.runs)
    pdf = part("pdf", measure_pdf, app, info, args.pdf_runs)
    wishes_in = part("wishes", wish_rounds_inprocess, app, info, args.wish_rounds)
    with app.app_context():
        db.engine.dispose()
    http = None
    if name == "postgresql":
        http = part("http", measure_http, url, app, info, args)
        http["wish_claims"] = judge_claims(app, http.pop("wish_http"))
    else:
        print(f"\n{name}: disbursements under {CLIENTS} clients not measured (PostgreSQL only: "
              "SQLite takes one writer at a time)")
    report(name, info, pages, pdf, wishes_in, http, args)
    if args.explain:
        print(f"  {name}: the page's statements and plans (Flask test client, in-process):")
        explain(app, info, pages["funds"], http is not None)
    with app.app_context():
        db.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="PostgreSQL URL (default: $BENCH_DATABASE_URL); its public schema "
                             "is dropped, and its name must contain 'bench'")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"),
                        help="give gunicorn this REDIS_URL and start a worker (the production "
                             "shape); this run's keys are deleted afterwards")
    parser.add_argument("--runs", type=int, default=100,
                        help="timed requests per page row (default 100, cycling over "
                             f"{PAGE_FUNDS} funds; the large fund's rows get a fifth)")
    parser.add_argument("--movements", type=int, default=N_MOVEMENTS,
                        help=f"ledger movements (default {N_MOVEMENTS:,}); the large fund gets "
                             "2.75 %% of them inside one quarter")
    parser.add_argument("--disbursements", type=int, default=4000,
                        help="disbursements in the measured window (default 4,000)")
    parser.add_argument("--burst", type=int, default=1000,
                        help="disbursements in the last burst, of which the balance covers 70 %% "
                             "(default 1,000)")
    parser.add_argument("--healthz", type=int, default=4000,
                        help="GET /healthz under the same clients (default 4,000)")
    parser.add_argument("--pdf-runs", type=int, default=3, help="statements made (default 3)")
    parser.add_argument("--wish-rounds", type=int, default=3,
                        help="wishes claimed by 100 at once, per way (default 3)")
    parser.add_argument("--explain", action="store_true",
                        help="also print the page's statements and the slowest plans")
    args = parser.parse_args(argv)

    if args.db in ("postgresql", "both"):
        if args.pg_url:
            args.pg_url = normalise_url(args.pg_url)
            check_pg_url(args.pg_url)
        else:
            print("PostgreSQL skipped: set BENCH_DATABASE_URL or pass --pg-url, e.g. "
                  "postgresql+psycopg://postgres@127.0.0.1:55499/portal_bench_charity")

    for name in ("sqlite", "postgresql"):
        if args.db not in (name, "both") or (name == "postgresql" and not args.pg_url):
            continue
        try:
            if name == "sqlite":
                with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
                    run(name, f"sqlite:///{Path(tmp) / 'bench.db'}", args)
            else:
                run(name, args.pg_url, args)
        except Exception:  # noqa: BLE001  (the script always exits 0: read the output)
            import traceback

            traceback.print_exc()
            print(f"{name:<10} goal: run FAILED (traceback above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
