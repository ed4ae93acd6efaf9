"""Benchmark: signups under concurrency, the activities list and recommendations, over HTTP.

Issue 4: 366,000 volunteers and 20,000 open shifts; gunicorn (sync workers as
gunicorn.conf.py says) serves the portal and 16 client threads post signups, some of them
racing for the same few places; then the activities list with filters and one volunteer's
recommendations, one request at a time. Every figure is set beside GET /healthz (one SELECT 1)
on the same server in the same run. After the run, SQL checks that no shift is overbooked.
Goals (PostgreSQL): signup p95 < 50 ms, list and recommendations < 100 ms.

    .venv/bin/python benchmarks/signups.py --db sqlite
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:55488/portal_bench_signups \
        .venv/bin/python benchmarks/signups.py --db postgresql

Not part of the test suite. PostgreSQL: the database's public schema is DROPPED and recreated,
so the script refuses any database whose name does not contain "bench".
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402
from common import (  # noqa: E402  (benchmarks/ is the script's own folder on sys.path)
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

from portal.activities.models import (  # noqa: E402
    Activity,
    ActivityState,
    Shift,
    Signup,
)
from portal.core.areas import Area, AreaLevel, import_areas  # noqa: E402
from portal.core.db import SHANGHAI  # noqa: E402
from portal.core.users import RoleGrant, User  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.volunteers.catalogues import SERVICE_TYPES, SKILLS, SLOTS  # noqa: E402
from portal.volunteers.models import Volunteer, VolunteerState  # noqa: E402

N_VOLUNTEERS = 366_000
N_USERS = 2_000               # volunteers 1..N_USERS have accounts and take part in the run
REC_VOLUNTEER = N_USERS + 1   # has an account too: the one whose recommendations are timed
N_COMMUNITIES = 800
N_ACTIVITIES = 8_000
N_SHIFTS = 20_000             # all in the next 60 days
N_HOT = 200                   # shifts of 10 places that many volunteers race for
HOT_CAPACITY = 10
HOT_SIGNUPS = 14              # requests per hot shift, sent back to back
N_SIGNUPS = 4_000             # requests in the run: 2 per volunteer with an account
N_SEQUENTIAL = 200            # and first, one at a time, a third for the first 200 of them
CLIENTS = 16
CHUNK = 10_000
PASSWORD = "bench-password-1"
SIGNUP_GOAL_MS = 50.0
RATE_GOAL = 0.40              # issue 17: signups at 16 clients, as a share of /healthz's rate
READ_GOAL_MS = 100.0
HOLDING = ("confirmed", "checked_in", "completed")

# Activity titles with their service type; the list's text filter looks for "探访".
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


# --- setup ------------------------------------------------------------------------------------















class Plan:
    """The generated data and, derived from it, the requests of the run."""

    def __init__(self, now: datetime):
        self.now = now
        self.communities: list[dict] = []
        self.users: list[dict] = []
        self.grants: list[dict] = []
        self.volunteers: list[dict] = []
        self.activities: list[dict] = []
        self.shifts: list[dict] = []
        self.signups: list[dict] = []
        self.hot: list[int] = []
        self.requests: list[tuple[int, int]] = []   # (volunteer id = user id, shift id)
        self.sequential: list[tuple[int, int]] = []
        self.rec_community = ""


def generate(rng: random.Random, now: datetime) -> Plan:
    plan = Plan(now)
    townships = list(db.session.scalars(
        sa.select(Area.code).where(Area.level == AreaLevel.township).order_by(Area.code)))
    assert len(townships) == 70, len(townships)

    plan.communities = communities(rng, townships, N_COMMUNITIES)
    codes = [c["code"] for c in plan.communities]
    names = {c["code"]: c["name"] for c in plan.communities}
    by_people = accumulate(c["population"] for c in plan.communities)

    # Users: one per volunteer of the run, and the one whose recommendations are timed. One cheap
    # argon2 hash for all, made with the parameters the portal is configured with.
    password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    for uid in range(1, REC_VOLUNTEER + 1):
        plan.users.append({"id": uid, "username": f"bench-v{uid:05d}",
                           "password_hash": password_hash, "display_name": f"志愿者{uid}",
                           "locale": None, "active": True,
                           "created_at": now - timedelta(days=rng.randint(1, 900))})
        plan.grants.append({"user_id": uid, "role": "volunteer", "area_code": None})

    # Volunteers: rows as registration leaves them (the ID number is a stand-in token: nothing
    # here decrypts it), spread over communities by population.
    today = now.astimezone(SHANGHAI).date()
    skills, types = list(SKILLS), list(SERVICE_TYPES)
    for vid in range(1, N_VOLUNTEERS + 1):
        account = vid <= REC_VOLUNTEER
        age = rng.randint(18, 65) if account else rng.randint(14, 80)
        born = today - timedelta(days=age * 365 + rng.randint(30, 330))
        minor = age < 18
        plan.volunteers.append({
            "id": vid, "volunteer_code": f"YK{vid:08d}", "user_id": vid if account else None,
            "real_name": person(rng), "id_type": "resident_id",
            "id_number_encrypted": f"gAAAAABbench{vid:010d}",
            "id_hash": hashlib.sha256(f"bench-volunteer-{vid}".encode()).hexdigest(),
            "id_number_masked": f"2108**********{vid % 10000:04d}",
            "gender": rng.choice(("male", "female")), "birth_date": born, "phone": phone(rng),
            "community_code": rng.choices(codes, cum_weights=by_people)[0],
            "skills": rng.sample(skills, rng.randint(0, 3)),
            "service_types": rng.sample(types, rng.randint(1, 3)),
            "availability": rng.sample(SLOTS, rng.randint(0, 6)),
            "guardian_name": person(rng) if minor else None,
            "guardian_phone": phone(rng) if minor else None,
            "guardian_consent_at": now - timedelta(days=30) if minor else None,
            "status": VolunteerState.verified if rng.random() < 0.8
            else VolunteerState.registered,
            "registered_by": None, "verified_by": None, "verified_at": None,
            "created_at": now - timedelta(days=rng.randint(1, 1500))})

    # Activities: organised by communities, more of them in the bigger ones.
    for aid in range(1, N_ACTIVITIES + 1):
        community = rng.choices(codes, cum_weights=by_people)[0]
        title, service_type = rng.choice(TITLES)
        risky = rng.random() < 0.06
        plan.activities.append({
            "id": aid, "title": f"{names[community]}{title}", "org_id": None,
            "community_code": community, "service_type": service_type,
            "skills": rng.sample(skills, rng.randint(0, 2)),
            "location": names[community] + rng.choice(PLACES),
            "description": "基准测试数据", "min_age": rng.choices(
                (None, 18, 16), weights=(83, 12, 5))[0],
            "risky": risky, "insurance": "团体意外险" if risky and rng.random() < 0.7 else None,
            "insured_at": None, "status": ActivityState.cancelled if rng.random() < 0.03
            else ActivityState.published,
            "created_by": None, "created_at": now - timedelta(days=rng.randint(1, 30))})
    for activity in plan.activities:
        if activity["insurance"]:
            activity["insured_at"] = activity["created_at"]
    open_activity = {a["id"] for a in plan.activities
                     if a["status"] is ActivityState.published
                     and (not a["risky"] or a["insured_at"] is not None)}
    rec_home = Counter(a["community_code"] for a in plan.activities).most_common(1)[0][0]
    plan.rec_community = rec_home
    plan.volunteers[REC_VOLUNTEER - 1].update(
        community_code=rec_home, skills=["first_aid", "nursing"],
        service_types=["elderly_care", "health"],
        availability=["wed_evening", "sat_morning", "sat_afternoon", "sun_morning"],
        status=VolunteerState.verified)

    # Shifts: one per activity and 12,000 more at random, on days 1-60 from now, 08:00-19:00
    # Beijing time, 2-4 hours long.
    owners_of_shifts = list(range(1, N_ACTIVITIES + 1)) + [
        rng.randint(1, N_ACTIVITIES) for _ in range(N_SHIFTS - N_ACTIVITIES)]
    owners_of_shifts.sort()
    for sid, aid in enumerate(owners_of_shifts, start=1):
        day = today + timedelta(days=rng.randint(1, 60))
        starts = datetime.combine(day, dtime(rng.randint(8, 19), rng.choice((0, 30))),
                                  SHANGHAI).astimezone(UTC)
        plan.shifts.append({
            "id": sid, "activity_id": aid, "starts_at": starts,
            "ends_at": starts + timedelta(hours=rng.randint(2, 4)),
            "capacity": rng.randint(5, 30), "waitlist": rng.random() < 0.85,
            "confirmed_count": 0, "check_in_code": f"{rng.randrange(10 ** 6):06d}"})
    open_shifts = [s for s in plan.shifts if s["activity_id"] in open_activity]
    hot = rng.sample(open_shifts, N_HOT)
    for index, shift in enumerate(hot):
        shift.update(capacity=HOT_CAPACITY, waitlist=index % 4 != 0)  # a quarter: no waitlist
    plan.hot = sorted(s["id"] for s in hot)
    hot_ids = set(plan.hot)
    others = [s for s in open_shifts if s["id"] not in hot_ids]

    # Places already taken: by volunteers without accounts (each at most once, so nobody
    # clashes), most shifts partly filled, a tenth full, some of those with a waiting list.
    pool = list(range(REC_VOLUNTEER + 1, N_VOLUNTEERS + 1))
    rng.shuffle(pool)
    taken = plan.signups

    def add_signup(shift: dict, volunteer_id: int, status: str) -> None:
        taken.append({"id": len(taken) + 1, "shift_id": shift["id"],
                      "volunteer_id": volunteer_id, "status": status, "created_by": None,
                      "created_at": now - timedelta(hours=rng.randint(1, 600))})
        if status in HOLDING:
            shift["confirmed_count"] += 1

    for shift in plan.shifts:
        if shift["id"] in hot_ids:
            continue
        r, capacity = rng.random(), shift["capacity"]
        if r < 0.40:
            continue
        full = r >= 0.90
        for _ in range(capacity if full else rng.randint(1, capacity - 1)):
            add_signup(shift, pool.pop(), "confirmed")
        if full and shift["waitlist"]:
            for _ in range(rng.randint(0, 3)):
                add_signup(shift, pool.pop(), "waitlisted")

    # Half the volunteers of the run already hold a place (their clash checks have work to
    # do); the recommended volunteer holds three.
    held: dict[int, list[dict]] = {}
    for vid in [v for v in range(1, N_USERS + 1) if rng.random() < 0.5] + [REC_VOLUNTEER] * 3:
        while True:
            shift = rng.choice(others)
            if shift["confirmed_count"] < shift["capacity"] and not any(
                    h["id"] == shift["id"] or (h["starts_at"] < shift["ends_at"]
                                               and h["ends_at"] > shift["starts_at"])
                    for h in held.get(vid, [])):
                break
        held.setdefault(vid, []).append(shift)
        add_signup(shift, vid, "confirmed")

    # The run: each volunteer with an account signs up twice, for distinct shifts. A hot
    # shift's 14 requests are sent back to back (16 clients: they race), 6 random ones between.
    slots = list(range(1, N_USERS + 1)) * 2
    rng.shuffle(slots)
    waiting = list(slots)
    blocks: list[list[tuple[int, int]]] = []
    for sid in plan.hot:
        block: list[tuple[int, int]] = []
        for _ in range(HOT_SIGNUPS):
            i = next(i for i, v in enumerate(waiting) if all(v != b[0] for b in block))
            block.append((waiting.pop(i), sid))
        blocks.append(block)
    chosen = {pair for block in blocks for pair in block}
    randoms: list[tuple[int, int]] = []
    for index, vid in enumerate(waiting + list(range(1, N_SEQUENTIAL + 1))):
        while True:
            shift = rng.choice(others)
            pair = (vid, shift["id"])
            if pair not in chosen and all(h["id"] != shift["id"] for h in held.get(vid, [])):
                break
        chosen.add(pair)
        (randoms if index < len(waiting) else plan.sequential).append(pair)
    per_block = len(randoms) // len(blocks)
    for index, block in enumerate(blocks):
        plan.requests.extend(block)
        plan.requests.extend(randoms[index * per_block:(index + 1) * per_block])
    plan.requests.extend(randoms[len(blocks) * per_block:])
    assert len(plan.requests) == N_SIGNUPS == len(set(plan.requests)), len(plan.requests)
    return plan


def load(app, rng: random.Random) -> tuple[Plan, dict]:
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
            for model, rows in ((User, plan.users), (RoleGrant, plan.grants),
                                (Volunteer, plan.volunteers), (Activity, plan.activities),
                                (Shift, plan.shifts), (Signup, plan.signups)):
                for start in range(0, len(rows), CHUNK):
                    conn.execute(model.__table__.insert(), rows[start:start + CHUNK])
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                for table in ("users", "volunteers", "activities", "shifts", "signups"):
                    conn.execute(sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"))
            # What autovacuum does within a minute of such a load; plans need statistics.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))
        db.engine.dispose()
    info = {"generate_s": generated, "load_s": time.perf_counter() - t0,
            "signups_before": len(plan.signups)}
    return plan, info


# --- the server and its clients -------------------------------------------------------------

def _processes():
    """(pid, name, fields after the name) of every live process, from /proc/*/stat."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # exited meanwhile
        yield int(stat.parent.name), text[text.index("(") + 1:text.rindex(")")], \
            text[text.rindex(")") + 2:].split()


def _own_and_children_seconds(fields: list[str]) -> float:
    """utime, stime, cutime, cstime: the process and the children it has reaped."""
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of a process and its children (live ones, and those it has
    reaped: an RQ worker forks one per job), or with no pid of the whole machine (all cores:
    the server, the worker, the database and these clients). Linux /proc; 0 elsewhere."""
    try:
        if pid is None:
            fields = Path("/proc/stat").read_text().split("\n")[0].split()[1:]
            return sum(int(v) for v in fields[:3] + fields[5:8]) / os.sysconf("SC_CLK_TCK")
        return sum(_own_and_children_seconds(fields) for own, _name, fields in _processes()
                   if own == pid or int(fields[1]) == pid)
    except (OSError, ValueError):
        return 0.0


def postgres_cpu() -> float:
    """CPU time of every live process named `postgres` on this machine (the server and its
    backends, and through the server's count of its reaped children those that exited).
    0 elsewhere."""
    try:
        return sum(_own_and_children_seconds(fields) for _pid, name, fields in _processes()
                   if name == "postgres")
    except (OSError, ValueError):
        return 0.0


class Server(Gunicorn):
    """The benchmark's gunicorn, which also counts its workers and the job worker's CPU."""

    def web_workers(self) -> int:
        """gunicorn's worker processes (the master's children)."""
        return sum(1 for _pid, _name, fields in _processes()
                   if int(fields[1]) == self.process.pid)

    def worker_cpu(self) -> float:
        return cpu_seconds(self.worker.pid) if self.worker else 0.0


def request(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None,
            token: str | None = None) -> tuple[int, bytes]:
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = "Bearer " + token
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    except (http.client.HTTPException, OSError):
        conn.close()  # sync workers close after each response: the next call reconnects
        raise
    if response.will_close:
        conn.close()
    return response.status, data


def in_threads(work, items: list, clients: int, deadline: float | None = None) -> list:
    """Feed `items` to `clients` threads in order, each with its own connection; results in
    completion order. Stops taking new items after `deadline` (time.monotonic)."""
    lock = threading.Lock()
    position = iter(range(len(items)))
    results: list = []
    errors: list[BaseException] = []

    def worker(conn):
        while True:
            with lock:
                index = next(position, None)
            if index is None or (deadline is not None and time.monotonic() > deadline):
                return
            try:
                result = work(conn, items[index])
            except BaseException as exc:  # reported after the run
                with lock:
                    errors.append(exc)
                continue
            with lock:
                results.append(result)

    threads = [threading.Thread(target=worker, args=(SERVER.connection(),), daemon=True)
               for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        print(f"  {len(errors)} requests failed at the client: {errors[0]!r}")
    return results


SERVER: Server  # set by run()


def tokens_for(user_ids: list[int]) -> dict[int, str]:
    """Sign in through POST /api/v1/auth/tokens (setup, not timed)."""
    def sign_in(conn, uid):
        body = json.dumps({"username": f"bench-v{uid:05d}", "password": PASSWORD}).encode()
        status, data = request(conn, "POST", "/api/v1/auth/tokens", body)
        assert status == 201, (status, data[:300])
        return uid, json.loads(data)["token"]

    return dict(in_threads(sign_in, user_ids, CLIENTS))


def sequential(path: str, runs: int, token: str | None = None, warmup: int = 12) -> list[float]:
    """One request at a time. The warm-up reaches each worker a few times: a worker's
    first request of a new shape compiles its SQL (up to ~100 ms here), which is not steady
    state."""
    conn = SERVER.connection()
    samples = []
    for i in range(warmup + runs):
        t0 = time.perf_counter()
        status, data = request(conn, "GET", path, token=token)
        elapsed = (time.perf_counter() - t0) * 1000
        assert status == 200, (path, status, data[:300])
        if i >= warmup:
            samples.append(elapsed)
    return samples


def concurrent_healthz(total: int) -> tuple[list[float], float, float]:
    def get(conn, _i):
        t0 = time.perf_counter()
        status, _data = request(conn, "GET", "/healthz")
        assert status == 200, status
        return (time.perf_counter() - t0) * 1000

    server0, t0 = cpu_seconds(SERVER.process.pid), time.perf_counter()
    samples = in_threads(get, list(range(total)), CLIENTS)
    rate = len(samples) / (time.perf_counter() - t0)
    return samples, rate, (cpu_seconds(SERVER.process.pid) - server0) * 1000 / max(1, total)


def signup_run(pairs: list[tuple[int, int]], tokens: dict[int, str], limit_s: float,
               clients: int, url: str) -> dict:
    def sign_up(conn, pair):
        vid, sid = pair
        t0 = time.perf_counter()
        status, data = request(conn, "POST", f"/api/v1/shifts/{sid}/signups", b"{}",
                               token=tokens[vid])
        elapsed = (time.perf_counter() - t0) * 1000
        body = json.loads(data) if data.startswith(b"{") else {}
        if status == 201:
            outcome = body.get("status")
        else:
            error = body.get("error", {}) if isinstance(body.get("error"), dict) else {}
            outcome = error.get("message") or body.get("message") or data[:80].decode(
                errors="replace")
        return elapsed, status, outcome, sid

    cpu0, server0 = cpu_seconds(), cpu_seconds(SERVER.process.pid)
    worker0, pg0, client0 = SERVER.worker_cpu(), postgres_cpu(), time.process_time()
    t0 = time.perf_counter()
    results = in_threads(sign_up, pairs, clients, time.monotonic() + limit_s)
    wall = time.perf_counter() - t0
    # The notifications are part of a signup's cost: wait until the outbox is empty (inline:
    # it already is), so that the worker's CPU is counted to the end of its work.
    client_ms = (time.process_time() - client0) * 1000
    drain_s = wait_for_outbox(url)
    n = max(1, len(results))
    return {"samples": [r[0] for r in results], "wall_s": wall, "results": results,
            "rate": len(results) / wall, "drain_s": drain_s,
            "cpu_ms": (cpu_seconds() - cpu0) * 1000 / n,
            "server_cpu_ms": (cpu_seconds(SERVER.process.pid) - server0) * 1000 / n,
            "worker_cpu_ms": (SERVER.worker_cpu() - worker0) * 1000 / n,
            "postgres_cpu_ms": (postgres_cpu() - pg0) * 1000 / n, "client_cpu_ms": client_ms / n}


def wait_for_outbox(url: str, limit_s: float = 120.0) -> float:
    """Seconds until no notification waits for delivery (neither sent nor failed)."""
    engine = sa.create_engine(url)
    t0 = time.perf_counter()
    try:
        while time.perf_counter() - t0 < limit_s:
            with engine.connect() as conn:
                if not conn.scalar(sa.text("SELECT count(*) FROM notifications "
                                           "WHERE sent_at IS NULL AND error IS NULL")):
                    break
            time.sleep(0.05)
    finally:
        engine.dispose()
    return time.perf_counter() - t0


# --- checks ---------------------------------------------------------------------------------

def check_capacity(url: str, results: list, before: int, hot: list[int]) -> tuple[bool, list[str]]:
    """After the run, in SQL: no shift over capacity, every count equal to the places held, no
    one waiting for a shift with a free place; and the rows match what the clients were told."""
    engine = sa.create_engine(url)
    holding = ", ".join(f"'{s}'" for s in HOLDING)
    with engine.connect() as conn:
        over = conn.scalar(sa.text("SELECT count(*) FROM shifts WHERE confirmed_count > capacity"))
        drift = conn.scalar(sa.text(
            "SELECT count(*) FROM shifts s LEFT JOIN (SELECT shift_id, count(*) AS n FROM "
            f"signups WHERE status IN ({holding}) GROUP BY shift_id) c ON c.shift_id = s.id "
            "WHERE s.confirmed_count <> coalesce(c.n, 0)"))
        stranded = conn.scalar(sa.text(
            "SELECT count(DISTINCT s.id) FROM shifts s JOIN signups g ON g.shift_id = s.id "
            "WHERE g.status = 'waitlisted' AND s.confirmed_count < s.capacity"))
        rows = dict(conn.execute(sa.text(
            f"SELECT status, count(*) FROM signups WHERE id > {before} GROUP BY status")).all())
        hot_full = conn.scalar(sa.select(sa.func.count()).select_from(Shift).where(
            Shift.id.in_(hot), Shift.confirmed_count == Shift.capacity))
        # Every new signup told once, and delivered (inline, or by the worker).
        notes = dict(conn.execute(sa.text(
            "SELECT n.sent_at IS NOT NULL, count(*) FROM notifications n JOIN signups g "
            "ON n.subject_key = 'signup:' || CAST(g.id AS VARCHAR(20)) AND n.kind = g.status "
            f"WHERE g.id > {before} GROUP BY n.sent_at IS NOT NULL")).all())
    engine.dispose()
    told = Counter(r[2] for r in results if r[1] == 201)
    lines = [f"over capacity {over}, count out of step {drift}, waiting beside a free place "
             f"{stranded}; new rows {dict(sorted(rows.items()))} vs 201s "
             f"{dict(sorted(told.items()))}"
             f"; hot shifts now full: {hot_full}/{len(hot)}"
             f"; notifications delivered {notes.get(True, 0)}, undelivered {notes.get(False, 0)}"]
    ok = over == 0 and drift == 0 and stranded == 0 and rows == dict(told) \
        and notes.get(True, 0) == sum(told.values()) and not notes.get(False)
    return ok, lines


# --- query profile (in-process, after the server is stopped) ---------------------------------

def profile(app, paths: dict[str, str], token: str, explain: bool) -> None:
    """Statements per request and the slowest of them, through Flask's test client. The last
    is a signup of this token's volunteer for their first recommendation."""
    with app.app_context():
        engine = db.engine
    seen: list[tuple[float, str, object]] = []
    starts: dict[int, float] = {}

    def before(conn, cursor, statement, parameters, context, executemany):
        starts[id(cursor)] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        seen.append(((time.perf_counter() - starts.pop(id(cursor), time.perf_counter())) * 1000,
                     statement, parameters))

    client = app.test_client()
    headers = {"Authorization": "Bearer " + token}
    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        for label, path in paths.items():
            method = "GET"
            if label == "signup":
                best = client.get(paths["recommendations"], headers=headers).get_json()
                method, path = "POST", path.format(shift=best["items"][0]["shift"]["id"])
            else:
                client.get(path, headers=headers)  # warm
            seen.clear()
            t0 = time.perf_counter()
            response = client.open(path, method=method, headers=headers,
                                   json={} if method == "POST" else None)
            total = (time.perf_counter() - t0) * 1000
            assert response.status_code in (200, 201), response.status_code
            sql_ms = sum(s[0] for s in seen)
            kinds = Counter(" ".join(s[1].split()[:8])[:70] for s in seen).most_common(2)
            print(f"  {label}: {len(seen)} statements, {sql_ms:.1f} ms of {total:.1f} ms in SQL;"
                  f" most repeated: " + "; ".join(f"{n}x {k}..." for k, n in kinds))
            slowest = max(seen, key=lambda s: s[0])
            print(f"    slowest {slowest[0]:.1f} ms: {' '.join(slowest[1].split())[:160]}...")
            if explain:
                pg = engine.dialect.name == "postgresql"
                prefix = "EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN "
                with engine.connect() as conn:
                    for row in conn.exec_driver_sql(prefix + slowest[1], slowest[2]):
                        print("      " + " | ".join(str(v) for v in row))
                    conn.rollback()
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)


# --- report ---------------------------------------------------------------------------------

def row(label: str, samples: list[float], base: float, rate: float | None = None) -> str:
    p50 = statistics.median(samples)
    rate_text = f"{rate:7.0f}/s" if rate else " " * 9
    return (f"  {label:34} {len(samples):5d} {p50:8.1f} {pct(samples, 0.95):8.1f} "
            f"{pct(samples, 0.99):8.1f} {rate_text} {p50 / base:7.1f}x")


def run(name: str, url: str, args) -> None:
    global SERVER
    rng = random.Random(42)
    app = make_app(url)
    migrate(app)
    plan, info = load(app, rng)
    today = plan.now.astimezone(SHANGHAI).date()
    county, township = plan.rec_community[:6], plan.rec_community[:9]
    soon = (today + timedelta(days=14)).isoformat()
    lists = {
        "list: no filter": {},
        "list: service_type": {"service_type": "elderly_care"},
        "list: community=county": {"community": county},
        "list: township+service_type": {"community": township, "service_type": "elderly_care"},
        "list: q=探访": {"q": "探访"},
        "list: from=+14d": {"from": soon},
        "list: county+type+q+from": {"community": county, "service_type": "elderly_care",
                                     "q": "探访", "from": soon},
    }
    with tempfile.TemporaryDirectory(prefix="portal-bench-gunicorn-") as tmp:
        SERVER = Server(url, Path(tmp) / "gunicorn.log", redis_url=args.redis_url,
                        workers=args.workers)
        try:
            t0 = time.perf_counter()
            tokens = tokens_for(list(range(1, REC_VOLUNTEER + 1)))
            web_workers = SERVER.web_workers()
            token_s = time.perf_counter() - t0
            health_1 = sequential("/healthz", args.runs * 4)
            health_16, health_rate, health_cpu = concurrent_healthz(N_SIGNUPS)
            one = signup_run(plan.sequential, tokens, args.limit, 1, url)
            signups = signup_run(plan.requests, tokens, args.limit, CLIENTS, url)
            time.sleep(2)  # let the database settle (autovacuum notices the new rows)
            if args.signups_only:
                lists = {"list: no filter": {}}
            list_samples = {label: sequential("/api/v1/activities?" + urlencode(query), args.runs)
                            for label, query in lists.items()}
            rec_path = f"/api/v1/volunteers/{REC_VOLUNTEER}/recommendations"
            rec_samples = sequential(rec_path, 5 if args.signups_only else args.runs,
                                     token=tokens[REC_VOLUNTEER])
            health_after = sequential("/healthz", args.runs * 4)
        finally:
            SERVER.stop()
        server_errors = [line for line in (Path(tmp) / "gunicorn.log").read_text(
            errors="replace").splitlines() if "Traceback" in line or "ERROR" in line]

    ok, check_lines = check_capacity(url, one["results"] + signups["results"],
                                     info["signups_before"], plan.hot)
    base1 = statistics.median(health_1)
    base16 = statistics.median(health_16)
    statuses = Counter(r[1] for r in signups["results"])
    outcomes = Counter((r[1], r[2]) for r in signups["results"])
    hot = set(plan.hot)
    hot_samples = [r[0] for r in signups["results"] if r[3] in hot]
    other_samples = [r[0] for r in signups["results"] if r[3] not in hot]

    print(f"\n{name}: {N_VOLUNTEERS:,} volunteers ({REC_VOLUNTEER:,} with accounts), "
          f"{N_ACTIVITIES:,} activities, {N_SHIFTS:,} future shifts ({N_HOT} hot, "
          f"{HOT_CAPACITY} places, {HOT_SIGNUPS} requests each), {info['signups_before']:,} "
          f"signups before the run; data made in {info['generate_s']:.0f} s, loaded in "
          f"{info['load_s']:.0f} s; {len(tokens)} tokens in {token_s:.0f} s")
    print(f"  gunicorn -w {web_workers} (sync), {CLIENTS} client threads for the concurrent "
          "rows; times in ms")
    print(f"  {'':34} {'n':>5} {'p50':>8} {'p95':>8} {'p99':>8} {'rate':>9} {'vs base':>8}")
    print(row("healthz, 1 client (base)", health_1, base1))
    print(row(f"healthz, {CLIENTS} clients (base16)", health_16, base1, health_rate))
    print(row("signup, 1 client", one["samples"], base1, one["rate"]))
    print(row(f"signup, {CLIENTS} clients", signups["samples"], base1, signups["rate"])
          + f"  ({statistics.median(signups['samples']) / base16:.1f}x base16)")
    print(row("  of which hot shifts", hot_samples, base1))
    print(row("  of which other shifts", other_samples, base1))
    all_lists = [s for samples in list_samples.values() for s in samples]
    for label, samples in list_samples.items():
        print(row(label, samples, base1))
    print(row("list: all of the above", all_lists, base1))
    print(row("recommendations", rec_samples, base1))
    print(row("healthz, 1 client, after", health_after, base1))
    print(f"  signups: {signups['wall_s']:.1f} s for {len(signups['samples'])} of {N_SIGNUPS} "
          f"requests; status {dict(sorted(statuses.items()))}; CPU per signup: gunicorn "
          f"{signups['server_cpu_ms']:.1f} ms"
          + (f" + worker {signups['worker_cpu_ms']:.1f} ms" if args.redis_url else "")
          + (f", postgres {signups['postgres_cpu_ms']:.1f} ms" if name == "postgresql" else "")
          + f", these clients {signups['client_cpu_ms']:.1f} ms"
          + f", whole machine (anyone's) {signups['cpu_ms']:.1f} "
          f"ms ({os.cpu_count()} cores; 1 client: {one['server_cpu_ms']:.1f} / "
          f"{one['cpu_ms']:.1f} ms; healthz: gunicorn {health_cpu:.1f} ms); jobs "
          + (f"queued in Redis, delivered by a worker ({signups['drain_s']:.1f} s after the "
             "last response)" if args.redis_url else "inline"))
    for (status, outcome), n in sorted(outcomes.items(), key=lambda kv: (kv[0][0], -kv[1])):
        print(f"    {status} {outcome}: {n}")
    print(f"    (1 client: {dict(sorted(Counter((r[1], r[2]) for r in one['results']).items()))})")
    print(f"  capacity check: {'OK' if ok else 'FAILED'}: " + "; ".join(check_lines))
    if server_errors:
        print(f"  gunicorn log: {len(server_errors)} error lines, first: {server_errors[0]}")

    sign_p95 = pct(signups["samples"], 0.95)
    list_p95 = max(pct(s, 0.95) for s in list_samples.values())
    list_p50 = max(statistics.median(s) for s in list_samples.values())
    rec_p95 = pct(rec_samples, 0.95)
    complete = len(signups["samples"]) == N_SIGNUPS and set(statuses) <= {201, 409}

    def verdict(value: float, goal: float, p50: float | None = None) -> str:
        median = "" if p50 is None else f" (p50 {p50:.1f} {'met' if p50 < goal else 'MISSED'})"
        return f"{value:.1f} ms {'met' if value < goal else 'MISSED'}{median}"

    share = signups["rate"] / health_rate
    print(f"{name:<10} goal: signup p95 < {SIGNUP_GOAL_MS:.0f} ms "
          f"{verdict(sign_p95, SIGNUP_GOAL_MS)}; signups at {CLIENTS} clients >= "
          f"{RATE_GOAL:.2f}x the healthz rate of this run: {signups['rate']:.0f}/s against "
          f"{health_rate:.0f}/s = {share:.2f}x {'met' if share >= RATE_GOAL else 'MISSED'}"
          f"; list p95 (worst filter) < {READ_GOAL_MS:.0f} ms "
          f"{verdict(list_p95, READ_GOAL_MS, list_p50)}; recommendations p95 < "
          f"{READ_GOAL_MS:.0f} ms {verdict(rec_p95, READ_GOAL_MS, statistics.median(rec_samples))}"
          f"; overbooking {'none' if ok else 'FOUND'}"
          f"{'' if complete else '; run INCOMPLETE or unexpected statuses'}")

    if args.profile or args.explain:
        plans = " and plans" if args.explain else ""
        print(f"  query profile (Flask test client, in-process){plans}:")
        profile(app, {**({"list: county+type+q+from": "/api/v1/activities?" + urlencode(
                          lists["list: county+type+q+from"])} if not args.signups_only else {}),
                      "list: no filter": "/api/v1/activities",
                      "recommendations": rec_path,
                      "signup": "/api/v1/shifts/{shift}/signups"},
                tokens[REC_VOLUNTEER], args.explain)
    with app.app_context():
        db.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="PostgreSQL URL (default: $BENCH_DATABASE_URL); its public schema "
                             "is dropped, and its name must contain 'bench'")
    parser.add_argument("--runs", type=int, default=50,
                        help="sequential requests per list filter and for recommendations "
                             "(default 50; healthz gets 4x)")
    parser.add_argument("--limit", type=float, default=300.0,
                        help="seconds the signup run may take at most (default 300)")
    parser.add_argument("--redis-url", default=None,
                        help="give gunicorn this REDIS_URL, so that jobs (the notifications) are "
                             "queued rather than run inline, and start a real `flask worker` "
                             "(its CPU is counted) to deliver them")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn's sync workers (default: gunicorn.conf.py's, one per "
                             "core)")
    parser.add_argument("--signups-only", action="store_true",
                        help="skip the list and recommendations rows")
    parser.add_argument("--profile", action="store_true",
                        help="also count the SQL statements of the list and recommendations")
    parser.add_argument("--explain", action="store_true",
                        help="--profile, and the plan of each one's slowest statement")
    args = parser.parse_args(argv)

    if args.db in ("postgresql", "both"):
        if args.pg_url:
            args.pg_url = normalise_url(args.pg_url)
            check_pg_url(args.pg_url)
        else:
            print("PostgreSQL skipped: set BENCH_DATABASE_URL or pass --pg-url, e.g. "
                  "postgresql+psycopg://postgres@127.0.0.1:55488/portal_bench_signups")

    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
            run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    if args.db in ("postgresql", "both") and args.pg_url:
        run("postgresql", args.pg_url, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
