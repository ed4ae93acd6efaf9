"""Benchmark: service records, hours and certificates (issue 5), over HTTP and in one worker.

Issue 5: 366,000 volunteers and 3,000,000 service records. Measures GET
/api/v1/volunteers/{id}/hours and the /me page for a volunteer with exactly 1,000 records
through gunicorn, `hours()` in-process beside the raw GROUP BY it rests on, and certificates
built per minute by one worker. Every figure is set beside its base on the same run: the raw
query on a plain connection, GET /healthz on the same server. Goals: hours under 20 ms (p95) for
a volunteer with 1,000 records; at least 60 certificates a minute on one worker.

    .venv/bin/python benchmarks/records.py --db sqlite --redis-url redis://127.0.0.1:56366/0
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:55466/portal_bench_records \
        .venv/bin/python benchmarks/records.py --db postgresql --redis-url redis://...

Not part of the test suite. PostgreSQL: the database's public schema is DROPPED and recreated,
so the script refuses any database whose name does not contain "bench".
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import math
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402
from common import (  # noqa: E402  (benchmarks/ is the script's own folder on sys.path)
    BENCH_ENV,
    DIVISIONS,
    Gunicorn,
    accumulate,
    check_pg_url,
    communities,
    make_app,
    migrate,
    normalise_url,
    pct,
    person,
    phone,
)

from portal.activities.models import Activity, ActivityState  # noqa: E402
from portal.core.areas import Area, AreaLevel, import_areas  # noqa: E402
from portal.core.db import SHANGHAI  # noqa: E402
from portal.core.jobs import JobRun  # noqa: E402
from portal.core.users import RoleGrant, User  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.orgs.models import Org, OrgCategory, OrgState, Registration  # noqa: E402
from portal.records.models import Certificate, CertificateState, ServiceRecord  # noqa: E402
from portal.volunteers.catalogues import SERVICE_TYPES, SKILLS, SLOTS  # noqa: E402
from portal.volunteers.models import Volunteer, VolunteerState  # noqa: E402

N_VOLUNTEERS = 366_000
N_RECORDS = 3_000_000
N_COMMUNITIES = 800
N_ACTIVITIES = 8_000
N_ORGS = 400                  # community organisations that organise about a third of them
N_PROBES = 5                  # volunteers 1..5: exactly PROBE_RECORDS records each
PROBE_RECORDS = 1_000
N_ACCOUNTS = 60               # volunteers 1..60 have accounts (the certificates' requesters)
MAX_RECORDS = 999             # nobody else has as many as the probes
FIRST_DAY = date(2021, 1, 1)  # records from here to yesterday (Beijing time)
CHUNK = 10_000
PASSWORD = "bench-password-1"
HOURS_GOAL_MS = 20.0
CERTS_GOAL_PER_MIN = 60.0
CEILING_SHARE_GOAL = 0.5      # issue 17: one worker at half the renderer's own rate at least
SIZE_GOAL = 3.0               # and a certificate of 1,000 records within 3x of one of 10

TITLES = [
    ("关爱空巢老人上门探访", "elderly_care"), ("老年食堂助餐服务", "elderly_care"),
    ("助残陪伴与康复协助", "disability_support"), ("留守儿童周末课堂", "child_care"),
    ("中小学生课业辅导", "education"), ("社区义诊与健康咨询", "health"),
    ("垃圾分类宣传与环境清洁", "environment"), ("防汛应急演练保障", "emergency"),
    ("法律咨询进社区", "legal_aid"), ("广场文艺汇演志愿服务", "culture_sports"),
    ("楼院议事协商会", "community_governance"), ("困难家庭走访帮扶", "poverty_relief"),
    ("防范电信诈骗宣传", "other"),
]
PLACES = ("党群服务中心", "文化广场", "日间照料中心", "新时代文明实践站", "村委会大院",
          "社区卫生服务站")
ORG_WORDS = ("便民服务队", "爱心公益协会", "邻里互助会", "文体协会", "志愿服务团")
CONTENTS = ("陪同老人就医", "上门打扫卫生", "协助发放物资", "辅导作业", "维持现场秩序",
            "入户宣传讲解", "测量血压", "整理图书", None, None, None, None, None, None)

# The hand-written bases. RAW_TOTALS is the issue's; the other two are the rest of what hours()
# answers (by year, by organiser), written by hand, for context.
RAW_TOTALS = ("SELECT status, SUM(minutes) FROM service_records WHERE volunteer_id = :v "
              "GROUP BY status")
RAW_BY_YEAR = {
    "postgresql": "SELECT CAST(EXTRACT(YEAR FROM timezone('Asia/Shanghai', started_at)) AS "
                  "INTEGER) AS y, SUM(minutes) FROM service_records WHERE volunteer_id = :v AND "
                  "status = 'approved' GROUP BY y ORDER BY y DESC",
    "sqlite": "SELECT CAST(strftime('%Y', started_at, '+8 hours') AS INTEGER) AS y, "
              "SUM(minutes) FROM service_records WHERE volunteer_id = :v AND status = "
              "'approved' GROUP BY y ORDER BY y DESC",
}
RAW_BY_ORG = ("SELECT r.org_id, o.name, a.community_code, ar.name, SUM(r.minutes) "
              "FROM service_records r JOIN activities a ON a.id = r.activity_id "
              "LEFT JOIN orgs o ON o.id = r.org_id JOIN areas ar ON ar.code = a.community_code "
              "WHERE r.volunteer_id = :v AND r.status = 'approved' "
              "GROUP BY r.org_id, o.name, a.community_code, ar.name")
RAW_PERIOD = ("SELECT COALESCE(SUM(minutes), 0), COUNT(*) FROM service_records "
              "WHERE volunteer_id = :v AND status = 'approved' AND started_at >= :lo "
              "AND started_at < :hi")


# --- setup ------------------------------------------------------------------------------------

class Plan:
    def __init__(self, now: datetime):
        self.now = now
        self.today = now.astimezone(SHANGHAI).date()
        self.last_day = self.today - timedelta(days=1)
        self.communities: list[dict] = []
        self.orgs: list[dict] = []
        self.users: list[dict] = []
        self.grants: list[dict] = []
        self.volunteers: list[dict] = []
        self.activities: list[dict] = []
        self.counts: list[int] = []          # records per volunteer (index = id - 1)
        self.records_by_day: list[list[tuple]] = []


def generate(rng: random.Random, now: datetime) -> Plan:
    plan = Plan(now)
    townships = list(db.session.scalars(
        sa.select(Area.code).where(Area.level == AreaLevel.township).order_by(Area.code)))
    assert len(townships) == 70, len(townships)
    plan.communities = communities(rng, townships, N_COMMUNITIES)
    codes = [c["code"] for c in plan.communities]
    names = {c["code"]: c["name"] for c in plan.communities}
    by_people = accumulate(c["population"] for c in plan.communities)

    # Organisations (active, filed with their township), in communities by population.
    for oid in range(1, N_ORGS + 1):
        community = rng.choices(codes, cum_weights=by_people)[0]
        created = now - timedelta(days=rng.randint(400, 2500))
        plan.orgs.append({
            "id": oid, "name": f"{names[community]}{rng.choice(ORG_WORDS)}{oid}",
            "category": rng.choice(list(OrgCategory)), "registration": Registration.filed,
            "uscc": None, "legal_type": None, "uscc_override_reason": None,
            "uscc_check_failed": False, "community_code": community,
            "founded_on": date(2010, 1, 1) + timedelta(days=rng.randint(0, 4000)),
            "contact_name": person(rng), "contact_phone": phone(rng),
            "description": "社区社会组织（基准测试数据）", "rating": None,
            "status": OrgState.active, "status_changed_at": created, "created_by": None,
            "created_at": created})
    orgs_of: dict[str, list[int]] = {}
    for org in plan.orgs:
        orgs_of.setdefault(org["community_code"], []).append(org["id"])

    # Accounts for volunteers 1..N_ACCOUNTS; one cheap argon2 hash for all.
    password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    for uid in range(1, N_ACCOUNTS + 1):
        plan.users.append({"id": uid, "username": f"bench-v{uid:05d}",
                           "password_hash": password_hash, "display_name": f"志愿者{uid}",
                           "email": None, "locale": None, "active": True,
                           "created_at": now - timedelta(days=rng.randint(1000, 2000))})
        plan.grants.append({"user_id": uid, "role": "volunteer", "area_code": None})

    # Volunteers, as registration leaves them (the ID number is a stand-in token).
    skills, types = list(SKILLS), list(SERVICE_TYPES)
    for vid in range(1, N_VOLUNTEERS + 1):
        account = vid <= N_ACCOUNTS
        age = rng.randint(18, 65) if account else rng.randint(14, 80)
        minor = age < 18
        plan.volunteers.append({
            "id": vid, "volunteer_code": f"YK{vid:08d}", "user_id": vid if account else None,
            "real_name": person(rng), "id_type": "resident_id",
            "id_number_encrypted": f"gAAAAABbench{vid:010d}",
            "id_hash": hashlib.sha256(f"bench-volunteer-{vid}".encode()).hexdigest(),
            "id_number_masked": f"2108**********{vid % 10000:04d}",
            "gender": rng.choice(("male", "female")),
            "birth_date": plan.today - timedelta(days=age * 365 + rng.randint(30, 330)),
            "phone": phone(rng), "community_code": rng.choices(codes, cum_weights=by_people)[0],
            "skills": rng.sample(skills, rng.randint(0, 3)),
            "service_types": rng.sample(types, rng.randint(1, 3)),
            "availability": rng.sample(SLOTS, rng.randint(0, 6)),
            "guardian_name": person(rng) if minor else None,
            "guardian_phone": phone(rng) if minor else None,
            "guardian_consent_at": now - timedelta(days=30) if minor else None,
            "status": VolunteerState.verified if account or rng.random() < 0.8
            else VolunteerState.registered,
            "registered_by": None, "verified_by": None, "verified_at": None,
            "created_at": now - timedelta(days=rng.randint(1, 2200))})

    # Activities: by communities (in the bigger ones more), a third by an organisation there.
    for aid in range(1, N_ACTIVITIES + 1):
        community = rng.choices(codes, cum_weights=by_people)[0]
        title, service_type = rng.choice(TITLES)
        org_id = rng.choice(orgs_of[community]) if community in orgs_of and \
            rng.random() < 0.35 else None
        plan.activities.append({
            "id": aid, "title": f"{names[community]}{title}", "org_id": org_id,
            "community_code": community, "service_type": service_type,
            "skills": rng.sample(skills, rng.randint(0, 2)),
            "location": names[community] + rng.choice(PLACES), "description": "基准测试数据",
            "min_age": None, "risky": False, "insurance": None, "insured_at": None,
            "status": ActivityState.published, "created_by": None,
            "created_at": datetime.combine(FIRST_DAY, datetime.min.time(), UTC)
            - timedelta(days=rng.randint(1, 30))})
    plan.counts = record_counts(rng)
    plan.records_by_day = records(rng, plan)
    return plan


def record_counts(rng: random.Random) -> list[int]:
    """Records per volunteer: the probes 1,000 each; the other account holders 20-990
    (log-uniform); of the rest a quarter none and the others a long tail (log-normal, median
    about 5), scaled so that the total is exactly N_RECORDS, nobody above MAX_RECORDS."""
    counts = [0] * N_VOLUNTEERS
    for i in range(N_PROBES):
        counts[i] = PROBE_RECORDS
    for i in range(N_PROBES, N_ACCOUNTS):
        counts[i] = int(math.exp(rng.uniform(math.log(20), math.log(990))))
    remaining = N_RECORDS - sum(counts)
    active = [i for i in range(N_ACCOUNTS, N_VOLUNTEERS) if rng.random() < 0.75]
    weights = {i: rng.lognormvariate(1.6, 1.1) for i in active}
    scale = remaining / sum(weights.values())
    for i, w in weights.items():
        counts[i] = min(MAX_RECORDS, int(w * scale))
    short = N_RECORDS - sum(counts)
    while short > 0:
        i = rng.choice(active)
        if counts[i] < MAX_RECORDS:
            counts[i] += 1
            short -= 1
    assert sum(counts) == N_RECORDS
    return counts


def records(rng: random.Random, plan: Plan) -> list[list[tuple]]:
    """Each volunteer's records on distinct days (one a day, so none overlaps another) within
    a stretch of active years, 08:00-19:30 Beijing time, 1-4 hours, minutes <= the span. Older
    than 30 days: 93% approved, 4% pending, 3% rejected; newer: 70% pending. Bucketed by day:
    they are inserted in time order, as they accrue, so a volunteer's rows lie all over the
    table (not side by side, which would flatter every read)."""
    ndays = (plan.last_day - FIRST_DAY).days + 1
    by_day: list[list[tuple]] = [[] for _ in range(ndays)]
    county_of = {c["code"]: c["code"][:6] for c in plan.communities}
    by_county: dict[str, list[int]] = {}
    for a in plan.activities:
        by_county.setdefault(county_of[a["community_code"]], []).append(a["id"])
    everything = list(range(1, N_ACTIVITIES + 1))
    spans = (2, 2, 3, 4, 4, 4, 6, 8)            # half hours
    unpaid = (0, 0, 0, 0, 0, 10, 15, 20, 30)    # minutes not counted (travel, breaks)
    ncontents = len(CONTENTS)
    recent = ndays - 30
    random_, randrange, choice = rng.random, rng.randrange, rng.choice
    for index, n in enumerate(plan.counts):
        if not n:
            continue
        vid = index + 1
        local = by_county[county_of[plan.volunteers[index]["community_code"]]]
        length = ndays if vid <= N_PROBES else min(ndays, max(n, int(n * rng.uniform(1.5, 8)),
                                                               60))
        start = randrange(0, ndays - length + 1)
        for day in rng.sample(range(start, start + length), n):
            span = choice(spans)
            slot = randrange(0, 24)                  # UTC half hours 00:00-11:30
            minutes = max(0, span * 30 - choice(unpaid))
            r = random_()
            if day >= recent:
                status = 0 if r < 0.70 else 1 if r < 0.98 else 2
            else:
                status = 0 if r < 0.04 else 1 if r < 0.97 else 2
            activity = choice(local) if r < 0.85 else choice(everything)
            by_day[day].append((vid, activity, slot, span, minutes, status, randrange(1, 8),
                                randrange(ncontents)))
    return by_day


STATUSES = ("pending", "approved", "rejected")


def record_rows(plan: Plan, dialect: str):
    """The service_records rows in time order, as tuples for RECORD_COLUMNS, with times
    formatted as each database stores them (UTC)."""
    suffix = ".000000" if dialect == "sqlite" else "+00"
    ndays = len(plan.records_by_day)
    days = [(FIRST_DAY + timedelta(days=d)).isoformat() for d in range(ndays + 10)]
    clock = [f"{h // 2:02d}:{(h % 2) * 30:02d}:00{suffix}" for h in range(48)]
    org_of = {a["id"]: a["org_id"] for a in plan.activities}
    today = (plan.today - FIRST_DAY).days
    record_id = 0
    for day, bucket in enumerate(plan.records_by_day):
        stamp = days[day] + " "
        for vid, activity, slot, span, minutes, status, later, content in bucket:
            record_id += 1
            end = slot + span
            decided = None if status == 0 else (
                days[min(today, day + later)] + " " + clock[2 + later])
            yield (record_id, vid, activity, org_of[activity], stamp + clock[slot],
                   stamp + clock[end], minutes, CONTENTS[content], STATUSES[status],
                   "时长与签到记录不符" if status == 2 else None, decided,
                   stamp + clock[min(47, end + 1)])


RECORD_COLUMNS = ("id", "volunteer_id", "activity_id", "org_id", "started_at", "ended_at",
                  "minutes", "content", "status", "reason", "decided_at", "created_at")


def load_records(url: str, plan: Plan) -> None:
    """3,000,000 rows the fast way: COPY on PostgreSQL (foreign-key triggers off for the load:
    the rows are generated consistent), one executemany transaction on SQLite. Indexes stay
    in place and grow as the rows arrive."""
    columns = ", ".join(RECORD_COLUMNS)
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        conn = sqlite3.connect(path)
        try:
            conn.execute("BEGIN")
            conn.executemany(f"INSERT INTO service_records ({columns}) VALUES "
                             f"({', '.join('?' * len(RECORD_COLUMNS))})",
                             record_rows(plan, "sqlite"))
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
            with cur.copy(f"COPY service_records ({columns}) FROM STDIN") as copy:
                lines: list[str] = []
                for row in record_rows(plan, "postgresql"):
                    lines.append("\t".join(r"\N" if v is None else str(v) for v in row))
                    if len(lines) >= 50_000:
                        copy.write("\n".join(lines) + "\n")
                        lines.clear()
                if lines:
                    copy.write("\n".join(lines) + "\n")
            cur.execute("SET session_replication_role = DEFAULT")
        conn.commit()


def load(app, url: str, rng: random.Random) -> tuple[Plan, dict]:
    t0 = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        import_areas(DIVISIONS.read_text(encoding="utf-8"))
        db.session.commit()
        plan = generate(rng, now)
        generated = time.perf_counter() - t0
        db.session.execute(sa.insert(Area), plan.communities)
        db.session.commit()
        db.session.remove()
        with db.engine.begin() as conn:
            for model, rows in ((Org, plan.orgs), (User, plan.users), (RoleGrant, plan.grants),
                                (Volunteer, plan.volunteers), (Activity, plan.activities)):
                for start in range(0, len(rows), CHUNK):
                    conn.execute(model.__table__.insert(), rows[start:start + CHUNK])
        db.engine.dispose()
    t1 = time.perf_counter()
    load_records(url, plan)
    records_s = time.perf_counter() - t1
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                for table in ("orgs", "users", "volunteers", "activities", "service_records"):
                    conn.execute(sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"))
            # What autovacuum does within a minute of such a load; plans need statistics.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))
        db.engine.dispose()
    info = {"generate_s": generated, "load_s": time.perf_counter() - t0 - generated,
            "records_s": records_s}
    return plan, info


# --- timing helpers ---------------------------------------------------------------------------

def timed(fn, runs: int, warmup: int = 5) -> list[float]:
    samples = []
    for i in range(warmup + runs):
        t0 = time.perf_counter()
        fn(i)
        if i >= warmup:
            samples.append((time.perf_counter() - t0) * 1000)
    return samples


def row(label: str, samples: list[float], base: float | None, base_name: str = "") -> str:
    p50 = statistics.median(samples)
    ratio = f"{p50 / base:7.1f}x {base_name}" if base else ""
    return (f"  {label:40} {len(samples):5d} {p50:8.2f} {pct(samples, 0.95):8.2f} "
            f"{pct(samples, 0.99):8.2f}  {ratio}")


# --- in-process: hours() against the raw query -------------------------------------------------

def in_process(app, runs: int) -> dict:
    from portal.records.queries import hours

    probes = list(range(1, N_PROBES + 1))
    out: dict = {}
    with app.app_context():
        dialect = db.engine.dialect.name
        by_year_sql = sa.text(RAW_BY_YEAR[dialect])
        # Sanity: hours() agrees with the hand-written queries for every probe. (One side at a
        # time: on SQLite the portal begins every transaction IMMEDIATE.)
        expected = {}
        for vid in probes:
            with db.engine.connect() as conn:
                totals = dict(conn.execute(sa.text(RAW_TOTALS), {"v": vid}).all())
                years = [tuple(r) for r in conn.execute(by_year_sql, {"v": vid}).all()]
                n = conn.scalar(sa.text("SELECT count(*) FROM service_records "
                                        "WHERE volunteer_id = :v"), {"v": vid})
                conn.rollback()
            mine = hours(vid)
            db.session.rollback()
            assert n == PROBE_RECORDS, (vid, n)
            assert mine.approved_minutes == totals.get("approved", 0), (vid, totals)
            assert mine.pending_minutes == totals.get("pending", 0), (vid, totals)
            assert [(y["year"], y["approved_minutes"]) for y in mine.by_year] == years, vid
            assert sum(o["approved_minutes"] for o in mine.by_org) == mine.approved_minutes
            expected[vid] = totals
        out["expected"] = expected
        # The first probe's first record reads back as stored (aware UTC, Beijing daytime).
        first = db.session.scalars(sa.select(ServiceRecord).where(
            ServiceRecord.volunteer_id == 1).order_by(ServiceRecord.started_at).limit(1)).one()
        local = first.started_at.astimezone(SHANGHAI)
        assert first.started_at.tzinfo is not None and 8 <= local.hour < 20, first.started_at
        assert first.minutes <= (first.ended_at - first.started_at).total_seconds() / 60
        out["records_of"] = {s.value: n for s, n in db.session.execute(
            sa.select(ServiceRecord.status, sa.func.count()).where(
                ServiceRecord.volunteer_id == 1).group_by(ServiceRecord.status)).all()}
        db.session.remove()

        # Each timed unit is one transaction on both sides (begin, queries, rollback): on
        # SQLite the portal begins every transaction IMMEDIATE.
        with db.engine.connect() as conn:
            def raw_once(i):
                rows = conn.execute(sa.text(RAW_TOTALS), {"v": probes[i % N_PROBES]}).all()
                conn.rollback()
                return rows

            def raw_all(i):
                v = {"v": probes[i % N_PROBES]}
                rows = (conn.execute(sa.text(RAW_TOTALS), v).all(),
                        conn.execute(by_year_sql, v).all(),
                        conn.execute(sa.text(RAW_BY_ORG), v).all())
                conn.rollback()
                return rows

            out["raw"] = timed(raw_once, runs)
            out["raw x3"] = timed(raw_all, runs)

        def hours_once(i):
            result = hours(probes[i % N_PROBES]).to_dict()
            db.session.rollback()
            return result

        out["hours()"] = timed(hours_once, runs)
        db.session.remove()
    return out


# --- the server and its clients ---------------------------------------------------------------

def cookie_from(response: http.client.HTTPResponse, name: str = "session") -> str | None:
    for header, value in response.getheaders():
        if header.lower() == "set-cookie" and value.startswith(name + "="):
            return value.split(";", 1)[0]
    return None


def token_for(server: Gunicorn, uid: int) -> str:
    """Sign in through POST /api/v1/auth/tokens (setup, not timed)."""
    body = json.dumps({"username": f"bench-v{uid:05d}", "password": PASSWORD}).encode()
    status, data, _r = server.call("POST", "/api/v1/auth/tokens", body,
                                   {"Content-Type": "application/json"})
    assert status == 201, (status, data[:300])
    return json.loads(data)["token"]


def session_for(server: Gunicorn, uid: int) -> str:
    """Sign in through the login form, CSRF token and all, as a browser does; the cookie."""
    status, data, response = server.call("GET", "/login")
    assert status == 200, status
    cookie = cookie_from(response)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', data.decode()) or \
        re.search(r'name="csrf_token" value="([^"]+)"', data.decode())
    assert match and cookie, "no CSRF token or session cookie on /login"
    form = urlencode({"username": f"bench-v{uid:05d}", "password": PASSWORD,
                      "csrf_token": match.group(1)}).encode()
    status, data, response = server.call(
        "POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded",
                                 "Cookie": cookie})
    assert status == 302, (status, data[:300])
    return cookie_from(response) or cookie


def sequential(server: Gunicorn, paths: list[tuple[str, dict]], runs: int, check=None,
               warmup: int = 12) -> list[float]:
    """One request at a time, cycling through (path, headers). The warm-up reaches each of the
    4 workers a few times (a worker's first request of a shape compiles its SQL)."""
    samples = []
    for i in range(warmup + runs):
        path, headers = paths[i % len(paths)]
        t0 = time.perf_counter()
        status, data, _r = server.call("GET", path, headers=headers)
        elapsed = (time.perf_counter() - t0) * 1000
        assert status == 200, (path, status, data[:300])
        if check is not None:
            check(i % len(paths), data)
        if i >= warmup:
            samples.append(elapsed)
    return samples


def over_http(url: str, runs: int, expected: dict) -> tuple[dict, list[str]]:
    probes = list(range(1, N_PROBES + 1))
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="portal-bench-gunicorn-") as tmp:
        log_path = Path(tmp) / "gunicorn.log"
        server = Gunicorn(url, log_path, workers=4)
        try:
            tokens = [token_for(server, vid) for vid in probes]
            cookies = [session_for(server, vid) for vid in probes]
            accept = {"Accept": "application/json"}

            def check_hours(k, data):
                body = json.loads(data)
                want = expected[probes[k]]
                assert body["approved_minutes"] == want.get("approved", 0), body
                assert body["pending_minutes"] == want.get("pending", 0), body

            def check_me(k, data):
                want = expected[probes[k]].get("approved", 0)
                tenths = (want * 10 + 30) // 60
                text = data.decode()
                assert f'id="approved-hours">{tenths // 10}.{tenths % 10}<' in text, \
                    "wrong hours on /me"
                assert 'id="my-records"' in text

            out["healthz"] = sequential(server, [("/healthz", accept)], runs)
            out["hours"] = sequential(
                server, [(f"/api/v1/volunteers/{vid}/hours",
                          dict(accept, Authorization="Bearer " + token))
                         for vid, token in zip(probes, tokens, strict=True)], runs, check_hours)
            out["me"] = sequential(server, [("/me", {"Cookie": cookie}) for cookie in cookies],
                                   runs, check_me)
            out["healthz after"] = sequential(server, [("/healthz", accept)], runs)
        finally:
            server.stop()
        errors = [line for line in log_path.read_text(errors="replace").splitlines()
                  if "Traceback" in line or "ERROR" in line]
    return out, errors


# --- certificates -----------------------------------------------------------------------------

def certificate_periods(plan: Plan, n: int, offset: int = 0) -> list[tuple[int, date, date]]:
    """(volunteer, first day, last day) for n certificates of distinct volunteers and periods:
    volunteers 1..60 in turn (the five probes first: all their 1,000 records), every second
    one over all their years, the others over one calendar year; later rounds take other
    years."""
    out = []
    years = list(range(plan.last_day.year, FIRST_DAY.year - 1, -1))
    for k in range(offset, offset + n):
        vid = k % N_ACCOUNTS + 1
        turn = k // N_ACCOUNTS
        if turn == 0 and (vid <= N_PROBES or vid % 2 == 0):
            out.append((vid, FIRST_DAY, plan.last_day))
            continue
        year = years[(vid + turn) % len(years)]
        out.append((vid, date(year, 1, 1), min(plan.last_day, date(year, 12, 31))))
    return out


def request_all(app, periods, base_url: str) -> tuple[list[int], float]:
    """Ask for each certificate as its volunteer does (request_certificate, committed one by
    one: with REDIS_URL the job is queued at commit, without it it is built right there)."""
    from portal.core.errors import ValidationFailed
    from portal.records.certificates import request_certificate

    ids, times = [], []
    last_day = max(end for _vid, _start, end in periods)
    with app.app_context():
        for vid, start, end in periods:
            volunteer = db.session.get(Volunteer, vid)
            user = db.session.get(User, vid)
            t0 = time.perf_counter()
            # A year without approved hours is refused (nothing to certify): then another
            # year, and at last the whole period.
            tries = [(start, end)] + [(date(y, 1, 1), min(last_day, date(y, 12, 31)))
                                      for y in range(last_day.year, FIRST_DAY.year - 1, -1)
                                      if y != start.year] + [(FIRST_DAY, last_day)]
            for first, last in tries:
                try:
                    cert = request_certificate(volunteer, first, last, actor=user,
                                               base_url=base_url)
                    break
                except ValidationFailed:
                    db.session.rollback()
            else:
                raise RuntimeError(f"volunteer {vid} has no approved hours at all")
            db.session.commit()
            times.append((time.perf_counter() - t0) * 1000)
            ids.append(cert.id)
            db.session.remove()
    return ids, times


def check_certificates(app, ids: list[int]) -> dict:
    """Every certificate ready, its minutes equal to the raw sum over its period; the job rows'
    times; records per certificate."""
    from portal.records.certificates import day_bounds

    with app.app_context():
        certs = [(c.volunteer_id, c.period_from, c.period_to, c.status, c.approved_minutes,
                  c.job_id) for c in db.session.scalars(
                      sa.select(Certificate).where(Certificate.id.in_(ids)))]
        sizes = [n for n in db.session.scalars(
            sa.select(sa.func.length(Certificate.pdf)).where(Certificate.id.in_(ids),
                                                             Certificate.pdf.is_not(None)))]
        runs = list(db.session.scalars(sa.select(JobRun).where(
            JobRun.id.in_([c[5] for c in certs]))))
        db.session.remove()  # (SQLite: one transaction at a time)
        statuses: dict[str, int] = {}
        wrong, counts = 0, []
        with db.engine.connect() as conn:
            for vid, first, last, status, approved, _job in certs:
                statuses[status.value] = statuses.get(status.value, 0) + 1
                lo, hi = (v.astimezone(UTC) for v in day_bounds(first, last))
                if conn.dialect.name == "sqlite":
                    lo, hi = (v.replace(tzinfo=None).isoformat(" ", "microseconds")
                              for v in (lo, hi))
                minutes, n = conn.execute(sa.text(RAW_PERIOD),
                                          {"v": vid, "lo": lo, "hi": hi}).one()
                conn.rollback()
                if status is CertificateState.ready:
                    counts.append(n)
                    wrong += approved != minutes
    started = [j.started_at for j in runs if j.started_at]
    ended = [j.ended_at for j in runs if j.ended_at]
    return {"statuses": statuses, "wrong": wrong, "records": counts, "bytes": sizes,
            "job_statuses": {s: sum(1 for j in runs if j.status == s)
                             for s in {j.status for j in runs}},
            "durations": [(j.ended_at - j.started_at).total_seconds() * 1000 for j in runs
                          if j.started_at and j.ended_at],
            "first_started": min(started) if started else None,
            "last_ended": max(ended) if ended else None}


def _worker_ready(log_path: Path, process, limit_s: float) -> float:
    """Seconds until the worker listens (RQ logs "Listening on" once its warm-up is done)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        if process.poll() is not None:
            break
        if "Listening on" in log_path.read_text(errors="replace"):
            break
        time.sleep(0.1)
    return time.perf_counter() - t0


def rss_of(pid: int) -> float:
    from portal.records.renderer import rss_mb

    return rss_mb(pid)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (the worker's renderer is its fork server's child)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(text[text.rindex(")") + 2:].split()[1])
    found, frontier = [], [pid]
    while frontier:
        below = [child for child, parent in parents.items() if parent in frontier]
        found += below
        frontier = below
    return found


def worker_run(url: str, plan: Plan, n: int, redis_url: str, limit_s: float) -> dict:
    """ONE real worker (`flask --app portal worker`, RQ: it forks a work horse per job) is
    started and left to get ready, as in production where it runs all day; then n
    certificates are asked for, and timed from the first request to the last finished."""
    queue_name = f"bench-records-{uuid.uuid4().hex[:8]}"  # ours alone on that Redis
    app = make_app(url, REDIS_URL=redis_url, RQ_QUEUES=[queue_name],
                   REDIS_PREFIX="portal-bench:")
    periods = certificate_periods(plan, n)
    env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_url, RQ_QUEUES=queue_name,
               REDIS_PREFIX="portal-bench:", **BENCH_ENV)
    with tempfile.TemporaryDirectory(prefix="portal-bench-worker-") as tmp:
        log_path = Path(tmp) / "worker.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "portal", "worker"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                startup_s = _worker_ready(log_path, process, 120)
                first_enqueue = datetime.now(UTC)
                t0 = time.perf_counter()
                ids, _times = request_all(app, periods, "http://127.0.0.1:8000/")
                _wait_built(app, ids, limit_s)
                worker_s = time.perf_counter() - t0
                rss = rss_of(process.pid)
                renderer_rss = max((rss_of(pid) for pid in descendants(process.pid)),
                                   default=0.0)
            finally:  # a failed run leaves no worker behind
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
        log_text = log_path.read_text(errors="replace")
    result = check_certificates(app, ids)
    with app.app_context():
        from portal.core.jobs import redis_connection

        redis_connection().delete(f"rq:queue:{queue_name}")
        db.engine.dispose()
    result.update(n=n, worker_s=worker_s, startup_s=startup_s, returncode=process.returncode,
                  first_enqueue=first_enqueue, ids=ids, rss_mb=rss, renderer_rss_mb=renderer_rss,
                  errors=[line for line in log_text.splitlines()
                          if "Traceback" in line or "ERROR" in line])
    return result


def _wait_built(app, ids: list[int], limit_s: float) -> None:
    """Until every certificate is built (ready or failed), or the limit."""
    t0 = time.perf_counter()
    with app.app_context():
        while time.perf_counter() - t0 < limit_s:
            left = db.session.scalar(sa.select(sa.func.count()).select_from(Certificate).where(
                Certificate.id.in_(ids), Certificate.status == CertificateState.pending))
            db.session.rollback()
            if not left:
                break
            time.sleep(0.2)
        db.session.remove()


def sequential_run(url: str, plan: Plan, n: int, offset: int) -> dict:
    """n certificates built one after another in this process (no Redis: each is built inline
    when its request commits, as a command would)."""
    app = make_app(url)
    periods = certificate_periods(plan, n, offset)
    t0 = time.perf_counter()
    ids, times = request_all(app, periods, "http://127.0.0.1:8000/")
    wall = time.perf_counter() - t0
    result = check_certificates(app, ids)
    with app.app_context():
        db.engine.dispose()
    result.update(n=n, wall_s=wall, times=times)
    return result


def renderer_ceiling(app, ids: list[int], base_url: str) -> dict:
    """The ceiling the worker is measured against: the same certificates' frozen snapshots
    rendered one after another in this process (the template and WeasyPrint; no database,
    no queue, no job)."""
    from portal.records.certificates import render_pdf, verify_link

    with app.app_context():
        snaps = [(c.snapshot, c.serial) for c in db.session.scalars(
            sa.select(Certificate).where(Certificate.id.in_(ids),
                                         Certificate.status == CertificateState.ready)
            .order_by(Certificate.id))]
        db.session.remove()
        render_pdf(snaps[0][0], verify_link(snaps[0][1], base_url))  # warm: loads the fonts
        t0 = time.perf_counter()
        for snap, serial in snaps:
            render_pdf(snap, verify_link(serial, base_url))
        wall = time.perf_counter() - t0
    return {"n": len(snaps), "wall_s": wall, "rate": len(snaps) / wall * 60, "snaps": snaps}


def size_ratio(app, plan: Plan, runs: int = 5) -> dict:
    """A certificate of 1,000 records against one of 10, built in this process as the job
    builds it (the snapshot's query and grouping, then the PDF): medians of `runs`."""
    from portal.records.certificates import render_pdf, snapshot, verify_link

    with app.app_context():
        small = db.session.execute(sa.text(
            "SELECT volunteer_id FROM service_records WHERE status = 'approved' AND "
            f"volunteer_id > {N_ACCOUNTS} GROUP BY volunteer_id HAVING count(*) = 10 "
            "ORDER BY volunteer_id LIMIT 1")).scalar()
        db.session.rollback()
        times = {}
        for label, vid in (("1,000 records", 1), ("10 records", small)):
            volunteer = db.session.get(Volunteer, vid)
            cert = Certificate(volunteer_id=vid, period_from=FIRST_DAY, period_to=plan.last_day,
                               serial="2026ABCDEFGHJKLMNP")
            cert.volunteer = volunteer
            samples, records = [], 0
            with db.session.no_autoflush:
                for _ in range(runs + 1):
                    t0 = time.perf_counter()
                    snap = snapshot(cert)
                    render_pdf(snap, verify_link(cert.serial, "http://127.0.0.1:8000/"))
                    samples.append((time.perf_counter() - t0) * 1000)
                    records = sum(g["records"] for g in snap["groups"])
            if cert in db.session:
                db.session.expunge(cert)
            db.session.rollback()
            times[label] = (statistics.median(samples[1:]), records)
        db.session.remove()
    return times


def renderer_memory(app, snaps: list, n: int, every: int = 250) -> list[tuple]:
    """Memory (RSS, MiB) of a long-lived renderer and of this process (which makes each
    certificate's HTML and QR code, as the worker does) as `n` PDFs of these snapshots are
    made in turn, the renderer never replaced (CERTIFICATE_RENDERER_MAX_RENDERS out of the
    way): does anything pile up?"""
    from portal.records import renderer
    from portal.records.certificates import render_pdf, verify_link

    with app.app_context():
        renderer.start(10**9, 10**6)
        try:
            def now(i):
                return i, renderer.rss_mb(renderer.renderer().process.pid), \
                    renderer.rss_mb(os.getpid())
            render_pdf(snaps[0][0], verify_link(snaps[0][1], "http://127.0.0.1:8000/"))  # warm
            seen = [now(0)]
            for i in range(1, n + 1):
                snap, serial = snaps[i % len(snaps)]
                render_pdf(snap, verify_link(serial, "http://127.0.0.1:8000/"))
                if i % every == 0 or i == n:
                    seen.append(now(i))
        finally:
            renderer.stop()
    return seen


# --- report -----------------------------------------------------------------------------------

def run(name: str, url: str, args) -> None:
    rng = random.Random(42)
    app = make_app(url)
    migrate(app)
    plan, info = load(app, url, rng)
    with app.app_context():
        db.engine.dispose()
    counts = sorted(plan.counts)
    print(f"\n{name}: {N_VOLUNTEERS:,} volunteers ({N_ACCOUNTS} with accounts), "
          f"{N_ACTIVITIES:,} activities ({sum(1 for a in plan.activities if a['org_id']):,} by "
          f"{N_ORGS} organisations), {N_RECORDS:,} service records {FIRST_DAY} – "
          f"{plan.last_day} ({sum(1 for c in counts if c):,} volunteers with any; median "
          f"{statistics.median([c for c in counts if c]):.0f}, p99 {pct(counts, 0.99)}, "
          f"max besides the probes {max(plan.counts[N_PROBES:])}; {N_PROBES} probes with "
          f"{PROBE_RECORDS:,}); made in {info['generate_s']:.0f} s, loaded in "
          f"{info['load_s']:.0f} s (records {info['records_s']:.0f} s)")

    inproc = in_process(app, args.runs)
    print(f"  probe volunteer 1's records by status: {inproc['records_of']}")
    print(f"  in-process, {args.runs} runs cycling over the {N_PROBES} probes; times in ms")
    print(f"  {'':40} {'n':>5} {'p50':>8} {'p95':>8} {'p99':>8}  vs base")
    base = statistics.median(inproc["raw"])
    print(row("raw GROUP BY status (base)", inproc["raw"], base, "raw"))
    print(row("raw x3 (totals, by year, by organiser)", inproc["raw x3"], base, "raw"))
    print(row("hours(vid).to_dict()", inproc["hours()"], base, "raw")
          + f"; {statistics.median(inproc['hours()']) / statistics.median(inproc['raw x3']):.1f}"
            "x raw x3")

    http, errors = over_http(url, args.runs, inproc["expected"])
    h = statistics.median(http["healthz"])
    print(f"  over HTTP: gunicorn -w 4 (sync), one client, {args.runs} requests after 12 "
          "warm-up, cycling over the probes; times in ms")
    print(row("GET /healthz (base)", http["healthz"], h, "healthz"))
    print(row("GET /api/v1/volunteers/{id}/hours", http["hours"], h, "healthz")
          + f"; {statistics.median(http['hours']) / statistics.median(inproc['hours()']):.1f}x "
            "in-process hours()")
    print(row("GET /me (signed in, session cookie)", http["me"], h, "healthz"))
    print(row("GET /healthz, after", http["healthz after"], h, "healthz"))
    if errors:
        print(f"  gunicorn log: {len(errors)} error lines, first: {errors[0]}")

    certs_rate, certs_how, share, size_x = None, "", None, None
    if args.redis_url and args.certificates:
        w = worker_run(url, plan, args.certificates, args.redis_url, args.limit)
        span = (w["last_ended"] - w["first_started"]).total_seconds() if w["last_ended"] else 0
        overall = (w["last_ended"] - w["first_enqueue"]).total_seconds() if w["last_ended"] \
            else 0
        done = w["statuses"].get("ready", 0)
        certs_rate = done / overall * 60 if overall else 0.0
        certs_how = "one real running worker, first request to last finished"
        durations = w["durations"] or [0.0]
        print(f"  certificates, one real worker (flask worker, running; each built in the "
              f"worker, its PDF by the worker's renderer): {w['n']} asked for (records in "
              f"period: min {min(w['records'] or [0])}, "
              f"median {statistics.median(w['records'] or [0]):.0f}, max "
              f"{max(w['records'] or [0])}; PDF {statistics.median(w['bytes'] or [0]) / 1024:.0f}"
              f" KiB median)")
        print(f"    ready {done}/{w['n']} {w['statuses']}, jobs {w['job_statuses']}, minutes "
              f"differing from the raw sum: {w['wrong']}; worker exit {w['returncode']}")
        print(f"    first enqueue to last finished {overall:.1f} s = {certs_rate:.1f}/min; first "
              f"job started to last finished {span:.1f} s = "
              f"{done / span * 60 if span else 0:.1f}/min; the worker was ready "
              f"{w['startup_s']:.1f} s after it started (not counted)")
        print(f"    per job (started to finished, fork not included): p50 "
              f"{statistics.median(durations):.0f} ms, p95 {pct(durations, 0.95):.0f} ms, max "
              f"{max(durations):.0f} ms")
        if w["errors"]:
            print(f"    worker log: {len(w['errors'])} error lines, first: {w['errors'][0]}")
        ceiling = renderer_ceiling(app, w["ids"], "http://127.0.0.1:8000/")
        share = certs_rate / ceiling["rate"] if ceiling["rate"] else 0.0
        print(f"    the ceiling: the same {ceiling['n']} snapshots rendered one after another in "
              f"this process {ceiling['wall_s']:.1f} s = {ceiling['rate']:.1f}/min; the worker "
              f"{share:.2f}x of it; worker RSS after the run {w['rss_mb']:.0f} MiB, its "
              f"renderer {w['renderer_rss_mb']:.0f} MiB")
        sizes = size_ratio(app, plan)
        big, little = sizes["1,000 records"], sizes["10 records"]
        size_x = big[0] / little[0]
        print(f"    built in this process (snapshot and PDF, median of 5): {big[1]:,} records "
              f"{big[0]:.0f} ms, {little[1]} records {little[0]:.0f} ms: {size_x:.2f}x")
        if args.rss_renders:
            seen = renderer_memory(app, ceiling["snaps"], args.rss_renders)
            print("    RSS (MiB) after n PDFs by one renderer never replaced, renderer / this "
                  "process (the HTML): " + ", ".join(f"{k:,}: {r:.0f} / {p:.0f}"
                                                    for k, r, p in seen))
    if args.sequential:
        n = args.sequential if args.redis_url else args.certificates
        s = sequential_run(url, plan, n, offset=args.certificates if args.redis_url else 0)
        done = s["statuses"].get("ready", 0)
        rate = done / s["wall_s"] * 60 if s["wall_s"] else 0.0
        print(f"  certificates built one after another in this process (inline at commit): "
              f"{s['n']}, ready {done} {s['statuses']}, minutes differing from the raw sum: "
              f"{s['wrong']}; {s['wall_s']:.1f} s = {rate:.1f}/min; per certificate p50 "
              f"{statistics.median(s['times']):.0f} ms, p95 {pct(s['times'], 0.95):.0f} ms "
              f"(records in period max {max(s['records'] or [0])})")
        if certs_rate is None:
            certs_rate, certs_how = rate, "sequential in one process, no worker"

    hours_p95 = pct(http["hours"], 0.95)
    verdict_hours = f"{hours_p95:.1f} ms {'met' if hours_p95 < HOURS_GOAL_MS else 'MISSED'}"
    if certs_rate is None:
        verdict_certs = "not measured"
    else:
        verdict_certs = (f"{certs_rate:.1f}/min "
                         f"{'met' if certs_rate >= CERTS_GOAL_PER_MIN else 'MISSED'} "
                         f"({certs_how})")
    if share is None:
        verdict_share = "not measured (no --redis-url)"
    else:
        verdict_share = (f"{share:.2f}x {'met' if share >= CEILING_SHARE_GOAL else 'MISSED'}; "
                         f"1,000 records within {SIZE_GOAL:.0f}x of 10: {size_x:.2f}x "
                         f"{'met' if size_x <= SIZE_GOAL else 'MISSED'}")
    print(f"{name:<10} goal: hours p95 < {HOURS_GOAL_MS:.0f} ms (HTTP, {PROBE_RECORDS:,} "
          f"records) {verdict_hours} (p50 {statistics.median(http['hours']):.1f}); "
          f"certificates >= {CERTS_GOAL_PER_MIN:.0f}/min on one worker {verdict_certs}; "
          f"one worker >= {CEILING_SHARE_GOAL:.2f}x the in-process rendering of the same "
          f"snapshots {verdict_share}; /me p95 {pct(http['me'], 0.95):.1f} ms (no goal)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="PostgreSQL URL (default: $BENCH_DATABASE_URL); its public schema "
                             "is dropped, and its name must contain 'bench'")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"),
                        help="Redis for the certificate worker (default: $BENCH_REDIS_URL); "
                             "a queue of its own is used and deleted. Without it the "
                             "certificates are built one after another in this process")
    parser.add_argument("--runs", type=int, default=200,
                        help="timed requests (and in-process runs) per row (default 200)")
    parser.add_argument("--certificates", type=int, default=60,
                        help="certificates for the worker to build (default 60)")
    parser.add_argument("--sequential", type=int, default=20,
                        help="certificates also built in-process one after another, for "
                             "comparison (default 20; 0: none)")
    parser.add_argument("--rss-renders", type=int, default=2000,
                        help="PDFs rendered by one long-lived renderer, never replaced, with "
                             "its memory reported along the way (default 2000; 0: none)")
    parser.add_argument("--limit", type=float, default=900.0,
                        help="seconds the worker may take at most (default 900)")
    args = parser.parse_args(argv)

    if args.db in ("postgresql", "both"):
        if args.pg_url:
            args.pg_url = normalise_url(args.pg_url)
            check_pg_url(args.pg_url)
        else:
            print("PostgreSQL skipped: set BENCH_DATABASE_URL or pass --pg-url, e.g. "
                  "postgresql+psycopg://postgres@127.0.0.1:55466/portal_bench_records")
    if not args.redis_url:
        print("no --redis-url: certificates are built in this process one after another "
              "(no worker)")

    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
            guarded(run, "sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    if args.db in ("postgresql", "both") and args.pg_url:
        guarded(run, "postgresql", args.pg_url, args)
    return 0


def guarded(fn, name: str, *args) -> None:
    """A failed check or run is reported, not raised: the script always exits 0."""
    try:
        fn(name, *args)
    except Exception:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        print(f"{name:<10} goal: not judged: the run FAILED (above)")


if __name__ == "__main__":
    sys.exit(main())
