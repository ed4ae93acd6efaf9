"""Benchmark: 应急动员 at city size.

Issue 应急动员: 366,000 volunteers (90% verified, a fifth knowing first aid, a third with a
verified phone, 1% confirmed for a shift during the call-out); the city's bureau calls out 200
first-aiders for the whole city:

- calling out writes a notification for everyone eligible (and their SMS numbers) in one
  statement, beside the raw count of the eligible on a plain connection. Goal: < 5 s. SQLite:
  in-process, the embedded default (jobs inline, so the request also delivers them);
  PostgreSQL: `POST /api/v1/callouts` over HTTP in the production shape (gunicorn, 2 sync
  workers, Redis and a real worker, which delivers them after the commit, timed apart).
- then, PostgreSQL only, on the same server, 2,000 of the called answer yes in one burst from
  16 clients. Goal:
  exactly 200 accepted, the rest on standby in arrival order (the accepted are the 200 first
  answers to commit, by id), p95 < 50 ms; and /healthz of the same run beside it.

    .venv/bin/python benchmarks/callouts.py --db sqlite
    .venv/bin/python benchmarks/callouts.py --db postgresql \
        --pg-url postgresql+psycopg://postgres@127.0.0.1:55499/portal_bench_callouts \
        --redis-url redis://127.0.0.1:6390/7

Not part of the test suite. PostgreSQL: the database's public schema is DROPPED and recreated,
so the script refuses any database whose name does not contain "bench".

Assignment (`--part assign`, or both parts by default), on the same volunteers:

- a proposal for an activity of 1,000 posts (capacity 1-20; three days of three blocks, the
  posts of a block starting 0, 30 or 60 minutes apart, so that they overlap) for 10,000 of the
  volunteers, by `assignments.services.propose` on the database (reading them, scoring with the
  recommendation's score, solving, saving the proposal), max_shifts 1 and 2. Goal: < 5 s each.
- exactness: 50 random instances small enough (30 volunteers, 20 posts, overlaps of every kind,
  max_shifts 1 and 2) solved by `assignments.solver.solve` and by an independent exact model
  (CP-SAT on a boolean per volunteer and post, a constraint per overlapping pair, proven
  optimal). Goal: the objectives equal on all 50.
- against greedy first-come placement (volunteers in a random arrival order, each placed in the
  first post in the list with a place left and no clash, up to max_shifts) on the 10,000 x
  1,000 instance, scored alike. Goal: >= 15 % higher.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import signups  # noqa: E402  (Server, in_threads, request, concurrent_healthz)
from common import (  # noqa: E402
    DIVISIONS,
    check_pg_url,
    communities,
    make_app,
    migrate,
    normalise_url,
    pct,
    person,
)

from portal.core.areas import Area, AreaLevel, import_areas  # noqa: E402
from portal.core.db import SHANGHAI as SHANGHAI_TZ  # noqa: E402
from portal.extensions import db  # noqa: E402

N_VOLUNTEERS = 366_000
HEADCOUNT = 200
N_ANSWERS = 2_000
CLIENTS = 16
CITY = "2108"
PASSWORD = "bench-password-1"
CHUNK = 20_000
GOAL_NOTIFY_S = 5.0
GOAL_P95_MS = 50.0
GOAL_PROPOSAL_S = 5.0
GOAL_OVER_GREEDY = 1.15
N_POSTS, N_CANDIDATES, N_SMALL = 1_000, 10_000, 50
SKILLS = ("first_aid", "nursing", "driving", "cooking", "repair", "it", "psychology")
SERVICE_TYPES = ("health", "elderly_care", "emergency", "environment", "culture_sports")
SLOTS = [f"{day}_{part}" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
         for part in ("morning", "afternoon", "evening")]


def load(app, n: int) -> dict:
    """Divisions, 800 communities, `n` volunteers with accounts; 1% confirmed for a shift in
    the next hours; the city's bureau account."""
    from portal.activities.models import Activity, Shift, Signup, SignupState
    from portal.core.users import Grant, Role, User, create_user
    from portal.volunteers.models import Volunteer, VolunteerState

    rng = random.Random(42)
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = time.perf_counter()
    with app.app_context():
        import_areas(DIVISIONS.read_text(encoding="utf-8"))
        db.session.commit()
        townships = list(db.session.scalars(sa.select(Area.code).where(
            Area.level == AreaLevel.township).order_by(Area.code)))
        rows = communities(rng, townships)
        db.session.execute(sa.insert(Area), rows)
        db.session.commit()
        codes = [c["code"] for c in rows]
        users, volunteers = [], []
        for vid in range(1, n + 1):
            verified_phone = rng.random() < 1 / 3
            number = f"13{vid:09d}"
            users.append({"id": vid, "username": f"bench-v{vid:06d}", "password_hash": "!",
                          "display_name": None, "email": None,
                          "locale": "en" if rng.random() < 0.05 else None, "phone": number,
                          "phone_verified_at": now if verified_phone else None,
                          "active": True, "created_at": now})
            skills = rng.sample(SKILLS, rng.randint(0, 2))
            if rng.random() < 0.2 and "first_aid" not in skills:
                skills.append("first_aid")
            volunteers.append({
                "id": vid, "user_id": vid, "real_name": person(rng), "id_type": "resident_id",
                "id_number_masked": "2108**********0000", "phone": number,
                "community_code": rng.choice(codes), "skills": skills,
                "service_types": rng.sample(SERVICE_TYPES, rng.randint(0, 2)),
                "availability": rng.sample(SLOTS, rng.randint(0, 6)), "created_at": now,
                "status": VolunteerState.verified if rng.random() < 0.9
                else VolunteerState.registered})
        with db.engine.begin() as conn:
            for model, items in ((User, users), (Volunteer, volunteers)):
                for start in range(0, len(items), CHUNK):
                    conn.execute(model.__table__.insert(), items[start:start + CHUNK])
            if conn.dialect.name == "postgresql":  # the ids given: the sequences follow
                for table in ("users", "volunteers"):
                    conn.execute(sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"))
        activity = Activity(title="社区义诊", community_code=codes[0], service_type="health",
                            location="社区卫生站")
        db.session.add(activity)
        db.session.flush()
        shift = Shift(activity_id=activity.id, starts_at=now + timedelta(hours=1),
                      ends_at=now + timedelta(hours=3), capacity=n)
        db.session.add(shift)
        db.session.flush()
        busy = rng.sample(range(1, n + 1), n // 100)
        db.session.execute(sa.insert(Signup), [
            {"shift_id": shift.id, "volunteer_id": vid, "status": SignupState.confirmed}
            for vid in busy])
        shift.signed_up = len(busy)
        create_user("bench-bureau", PASSWORD, [Grant(Role.bureau, CITY)], actor=None)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        else:
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        db.engine.dispose()
    return {"load_s": time.perf_counter() - t0, "volunteers": n, "busy": len(busy)}


RAW_ELIGIBLE = {
    "postgresql": """
SELECT count(*) FROM volunteers v JOIN users u ON u.id = v.user_id
WHERE v.status = 'verified' AND u.active AND v.community_code BETWEEN :low AND :high
  AND v.skills::jsonb ?| array['first_aid']
  AND NOT EXISTS (SELECT 1 FROM signups s JOIN shifts sh ON sh.id = s.shift_id
                  WHERE s.volunteer_id = v.id AND s.status IN ('confirmed', 'checked_in')
                    AND sh.starts_at < :ends AND sh.ends_at > :needed)""",
    "sqlite": """
SELECT count(*) FROM volunteers v JOIN users u ON u.id = v.user_id
WHERE v.status = 'verified' AND u.active AND v.community_code BETWEEN :low AND :high
  AND EXISTS (SELECT 1 FROM json_each(v.skills) WHERE value = 'first_aid')
  AND NOT EXISTS (SELECT 1 FROM signups s JOIN shifts sh ON sh.id = s.shift_id
                  WHERE s.volunteer_id = v.id AND s.status IN ('confirmed', 'checked_in')
                    AND sh.starts_at < :ends AND sh.ends_at > :needed)"""}


def call_out(app, count_only: bool = False) -> dict:
    """The city's call for 200 first-aiders, in-process: services.create (everyone eligible
    told, one statement) timed, beside the raw count of the eligible."""
    from portal.callouts import services
    from portal.core.db import UTCDateTime
    from portal.core.users import User

    with app.app_context():
        now = datetime.now(UTC)
        needed, ends = now + timedelta(minutes=60), now + timedelta(hours=8)
        dialect = db.engine.dialect.name
        with db.engine.connect() as conn:
            t0 = time.perf_counter()
            raw = conn.execute(sa.text(RAW_ELIGIBLE[dialect]).bindparams(
                sa.bindparam("ends", type_=UTCDateTime()),
                sa.bindparam("needed", type_=UTCDateTime())),
                {"low": CITY, "high": CITY + "9" * 8, "ends": ends, "needed": needed}).scalar()
            raw_s = time.perf_counter() - t0
            conn.rollback()
        if count_only:
            return {"raw_eligible": raw, "raw_s": raw_s}
        bureau = db.session.scalar(sa.select(User).where(User.username == "bench-bureau"))
        # The inline drain that follows the commit is timed apart: what is measured against the
        # goal is everyone's notification written and committed.
        from portal.core import notify

        drain_after_commit, services.deliver_after_commit = (services.deliver_after_commit,
                                                              lambda: None)
        try:
            t0 = time.perf_counter()
            callout = services.create(services.CalloutInput(
                title="全市暴雨应急：急救志愿者集结", area_code=CITY, place="营口市应急指挥中心",
                skills=["first_aid"], headcount=HEADCOUNT, needed_by=needed, ends_at=ends),
                actor=bureau, now=now)
            created_s = time.perf_counter() - t0
            db.session.commit()
            committed_s = time.perf_counter() - t0
        finally:
            services.deliver_after_commit = drain_after_commit
        t0 = time.perf_counter()
        notify.deliver_outbox()  # what the request's inline job then does
        delivered_s = time.perf_counter() - t0
        sms = db.session.scalar(sa.text(
            "SELECT count(*) FROM notifications WHERE kind = 'callout' AND sms_to IS NOT NULL"))
        info = {"id": callout.id, "notified": callout.notified, "raw_eligible": raw,
                "raw_s": raw_s, "create_s": created_s, "commit_s": committed_s, "sms": sms,
                "delivered_s": delivered_s}
        db.session.remove()
    return info


def call_out_http(app, server, token: str) -> dict:
    """The same call over HTTP in the production shape: the request writes the notifications
    and commits; the worker delivers them (timed apart, not a goal)."""
    now = datetime.now(SHANGHAI_TZ)
    body = json.dumps({
        "title": "全市暴雨应急：急救志愿者集结", "area_code": CITY, "place": "营口市应急指挥中心",
        "skills": ["first_aid"], "headcount": HEADCOUNT,
        "needed_by": (now + timedelta(minutes=60)).isoformat(),
        "ends_at": (now + timedelta(hours=8)).isoformat()}).encode()
    conn = server.connection()
    t0 = time.perf_counter()
    status, data = signups.request(conn, "POST", "/api/v1/callouts", body, token=token)
    request_s = time.perf_counter() - t0
    assert status == 201, (status, data[:300])
    made = json.loads(data)
    with app.app_context():
        while True:  # the worker drains the outbox
            left = db.session.scalar(sa.text(
                "SELECT count(*) FROM notifications WHERE sent_at IS NULL AND error IS NULL"))
            db.session.rollback()
            if not left or time.perf_counter() - t0 > 600:
                break
            time.sleep(0.5)
        delivered_s = time.perf_counter() - t0
        sms = db.session.scalar(sa.text(
            "SELECT count(*) FROM notifications WHERE kind = 'callout' AND sms_to IS NOT NULL"))
        db.session.remove()
    return {"id": made["id"], "notified": made["notified"], "commit_s": request_s,
            "delivered_s": delivered_s, "left": left, "sms": sms}


def answers(app, callout_id: int) -> dict:
    """2,000 of the called answer yes at once from 16 clients, over HTTP (signups.SERVER)."""
    from portal.core.users import User, issue_token

    with app.app_context():
        called = db.session.scalars(sa.text(
            "SELECT user_id FROM notifications WHERE kind = 'callout' ORDER BY random() "
            "LIMIT :n"), {"n": N_ANSWERS}).all()
        tokens = {}
        for uid in called:
            token, _row = issue_token(db.session.get(User, uid))
            tokens[uid] = token
        db.session.commit()
        db.session.remove()
    _health, health_rate, _cpu = signups.concurrent_healthz(N_ANSWERS)
    body = json.dumps({"answer": "yes", "eta_minutes": 20}).encode()

    def answer(conn, uid):
        t0 = time.perf_counter()
        status, data = signups.request(conn, "POST", f"/api/v1/callouts/{callout_id}/responses",
                                       body, token=tokens[uid])
        elapsed = (time.perf_counter() - t0) * 1000
        outcome = json.loads(data).get("status") if status == 201 else \
            f"{status} {data[:120]!r}"
        return elapsed, outcome

    t0 = time.perf_counter()
    results = signups.in_threads(answer, list(tokens), CLIENTS)
    burst_s = time.perf_counter() - t0
    latencies = [r[0] for r in results]
    outcomes = [r[1] for r in results]
    with app.app_context():
        rows = db.session.execute(sa.text(
            "SELECT id, status FROM callout_responses WHERE callout_id = :c ORDER BY id"),
            {"c": callout_id}).all()
        kept = db.session.execute(sa.text("SELECT accepted, status FROM callouts WHERE id = :c"),
                                  {"c": callout_id}).one()
        db.session.remove()
    statuses = [r.status for r in rows]
    in_order = statuses == ["accepted"] * statuses.count("accepted") + \
        ["standby"] * (len(statuses) - statuses.count("accepted"))
    return {"latencies": latencies, "rate": len(results) / burst_s, "health_rate": health_rate,
            "accepted": outcomes.count("accepted"), "standby": outcomes.count("standby"),
            "errors": [o for o in outcomes if o not in ("accepted", "standby")],
            "rows": len(rows), "in_order": in_order, "kept": tuple(kept)}


# --- assignment ------------------------------------------------------------------------------

def make_event(app, rng: random.Random) -> int:
    """An activity of N_POSTS posts in three days of three blocks (posts of a block start 0, 30
    or 60 minutes apart: they overlap), capacity 1-20, some places taken already."""
    from portal.activities.models import Activity, Shift
    from portal.core.db import SHANGHAI as CN

    with app.app_context():
        activity = Activity(title="城市马拉松志愿服务", community_code=db.session.scalar(
            sa.select(Area.code).where(Area.level == AreaLevel.community).order_by(Area.code)),
            service_type="health", skills=["first_aid"], location="营口市奥体中心")
        db.session.add(activity)
        db.session.flush()
        first = (datetime.now(CN) + timedelta(days=7)).replace(hour=0, minute=0, second=0,
                                                                microsecond=0)
        rows = []
        for n in range(N_POSTS):
            day, block, stagger = n % 3, (n // 3) % 3, (n // 9) % 3
            starts = first + timedelta(days=day, hours=7 + 5 * block, minutes=30 * stagger)
            capacity = rng.randint(1, 20)
            rows.append({"activity_id": activity.id, "starts_at": starts,
                         "ends_at": starts + timedelta(hours=4), "capacity": capacity,
                         "confirmed_count": rng.randint(0, capacity // 3), "waitlist": True})
        db.session.execute(sa.insert(Shift), rows)
        db.session.commit()
        return activity.id


def measure_proposals(app, activity_id: int, rng: random.Random) -> dict:
    from portal.activities.models import Activity
    from portal.assignments import services
    from portal.core.users import User
    from portal.volunteers.models import Volunteer, VolunteerState

    out = {}
    with app.app_context():
        bureau = db.session.scalar(sa.select(User).where(User.username == "bench-bureau"))
        activity = db.session.get(Activity, activity_id)
        activity.coordinator_id = bureau.id  # the bureau organises the event
        db.session.commit()
        # Those near it, as the default candidates are: the activity's county.
        county = activity.community_code[:6]
        ids = db.session.scalars(sa.select(Volunteer.id).where(
            Volunteer.status == VolunteerState.verified,
            Volunteer.community_code.between(county, county + "999999"))
            .order_by(Volunteer.id).limit(N_CANDIDATES)).all()
        for k in (1, 2):
            t0 = time.perf_counter()
            proposal = services.propose(db.session.get(Activity, activity_id), actor=bureau,
                                        volunteer_ids=ids, max_shifts=k)
            db.session.commit()
            out[k] = {"s": time.perf_counter() - t0, "lines": len(proposal.lines),
                      "objective": proposal.objective, "optimal": proposal.optimal,
                      "method": proposal.method, "unfilled": sum(proposal.unfilled.values())}
            db.session.rollback()
        out["greedy"] = greedy_on(activity_id, ids, rng)
        db.session.remove()
    return out


def greedy_on(activity_id: int, ids: list[int], rng: random.Random) -> dict:
    """First-come placement on the same posts and scores: each volunteer, in a random arrival
    order, takes the first post in the list (by start) with a place left and no clash."""
    from portal.activities.models import Activity
    from portal.activities.queries import fill_bonus, fit
    from portal.assignments.services import SCALE, posts_of
    from portal.core.db import SHANGHAI as CN
    from portal.volunteers.models import Volunteer

    activity = db.session.get(Activity, activity_id)
    posts = posts_of(activity)
    people = db.session.scalars(sa.select(Volunteer).where(Volunteer.id.in_(ids))).all()
    order = list(people)
    rng.shuffle(order)
    result = {}
    for k in (1, 2):
        left = {p.id: p.capacity - p.confirmed_count for p in posts}
        total = 0
        for v in order:
            mine: list = []
            for p in posts:
                if len(mine) == k:
                    break
                if left[p.id] <= 0 or any(p.starts_at < e and s < p.ends_at for s, e in mine):
                    continue
                left[p.id] -= 1
                mine.append((p.starts_at, p.ends_at))
                score, _why = fit(set(v.skills or []), set(v.service_types or []),
                                  set(v.availability or []), v.community_code, activity.skills,
                                  activity.service_type, activity.community_code,
                                  p.starts_at.astimezone(CN))
                bonus, _ = fill_bonus(p.confirmed_count, p.capacity)
                total += round(score * SCALE) + round(bonus * SCALE)
        result[k] = total / SCALE
    return result


def small_instances(n: int) -> list[dict]:
    """Our solver against an independent exact model on `n` random small instances."""
    from ortools.sat.python import cp_model

    from portal.assignments.solver import Post, Volunteer, overlaps, solve

    rows = []
    for seed in range(n):
        rng = random.Random(1000 + seed)
        k = 1 + seed % 2
        posts = []
        for pid in range(1, 21):
            start = rng.randrange(0, 40) / 2
            posts.append(Post(pid, (start, start + rng.choice((2, 3, 4, 6))),
                              rng.randint(1, 3), rng.randint(0, 200)))
        classes = sorted({p.times for p in posts})
        people = [Volunteer(vid, {t: rng.randint(0, 1500) for t in classes
                                  if rng.random() < 0.85}) for vid in range(1, 31)]
        t0 = time.perf_counter()
        ours = solve(people, posts, k)
        ours_s = time.perf_counter() - t0
        model = cp_model.CpModel()
        x = {(v.id, p.id): model.new_bool_var("") for v in people for p in posts
             if p.times in v.fit}
        for v in people:
            mine = [p for p in posts if (v.id, p.id) in x]
            model.add(sum(x[v.id, p.id] for p in mine) <= k)
            for a, b in itertools.combinations(mine, 2):
                if overlaps(a.times, b.times):
                    model.add(x[v.id, a.id] + x[v.id, b.id] <= 1)
        for p in posts:
            model.add(sum(x[key] for key in x if key[1] == p.id) <= p.places)
        fits = {v.id: v.fit for v in people}
        by_id = {p.id: p for p in posts}
        model.maximize(sum((fits[vid][by_id[pid].times] + by_id[pid].bonus) * var
                           for (vid, pid), var in x.items()))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 2
        t0 = time.perf_counter()
        status = solver.solve(model)
        rows.append({"k": k, "ours": ours.objective, "method": ours.method,
                     "optimal": ours.optimal, "exact": int(solver.objective_value),
                     "proven": status == cp_model.OPTIMAL, "ours_s": ours_s,
                     "exact_s": time.perf_counter() - t0})
    return rows


def run_assign(app) -> bool:
    rng = random.Random(7)
    activity_id = make_event(app, rng)
    proposals = measure_proposals(app, activity_id, rng)
    met = True
    for k in (1, 2):
        r = proposals[k]
        ok = r["s"] < GOAL_PROPOSAL_S and r["optimal"]
        met &= ok
        ratio = r["objective"] / proposals["greedy"][k] if proposals["greedy"][k] else 0
        ok_greedy = ratio >= GOAL_OVER_GREEDY
        met &= ok_greedy
        print(f"  proposal, {N_CANDIDATES:,} volunteers x {N_POSTS:,} posts, max_shifts {k}: "
              f"{r['s']:.2f} s ({r['method']}, {r['lines']:,} places, {r['unfilled']:,} "
              f"unfilled, optimal {r['optimal']}); goal < {GOAL_PROPOSAL_S:.0f} s "
              f"{'met' if ok else 'MISSED'}")
        print(f"    objective {r['objective']:,.2f} against greedy first-come "
              f"{proposals['greedy'][k]:,.2f}: {ratio:.3f}x; goal >= {GOAL_OVER_GREEDY}x "
              f"{'met' if ok_greedy else 'MISSED'}")
    rows = small_instances(N_SMALL)
    equal = sum(1 for r in rows if r["ours"] == r["exact"] and r["proven"])
    by = {m: sum(1 for r in rows if r["method"] == m) for m in ("min_cost_flow", "cp_sat")}
    ok = equal == len(rows)
    met &= ok
    ours_ms = statistics.median(r["ours_s"] for r in rows) * 1000
    exact_ms = statistics.median(r["exact_s"] for r in rows) * 1000
    print(f"  {len(rows)} small instances (30 volunteers x 20 posts, overlaps of every kind): "
          f"objective equal to the exact model's on {equal} ({by['min_cost_flow']} by the flow, "
          f"{by['cp_sat']} by CP-SAT); ours {ours_ms:.0f} ms, the exact model {exact_ms:.0f} ms "
          f"(medians); goal: all equal {'met' if ok else 'MISSED'}")
    return met


def run(name: str, url: str, args) -> bool:
    app = make_app(url, SECRET_KEY="bench")
    migrate(app)
    info = load(app, args.volunteers)
    print(f"\n{name}: {info['volunteers']:,} volunteers ({info['busy']:,} confirmed for a shift "
          f"during the call), loaded in {info['load_s']:.0f} s")
    met = True
    if args.part in ("assign", "both"):
        met &= run_assign(app)
    if args.part == "assign":
        print(f"{name}: {'all goals met' if met else 'goals MISSED'}")
        return met
    return run_callout(name, url, args, app) and met


def run_callout(name: str, url: str, args, app) -> bool:
    if name == "postgresql" and not args.redis_url:
        print("  skipped: pass --redis-url (the production shape: Redis and a worker)")
        return False
    if name == "sqlite":  # the embedded default: jobs inline, delivery in the request
        call = call_out(app)
        print(f"  raw count of the eligible     {call['raw_s'] * 1000:8.0f} ms  "
              f"({call['raw_eligible']:,})")
        print(f"  call-out created, all told    {call['create_s'] * 1000:8.0f} ms  "
              f"({call['notified']:,} notifications, {call['sms']:,} with an SMS number; "
              f"{call['create_s'] / call['raw_s']:.1f}x the raw count)")
        print(f"  ... committed                 {call['commit_s'] * 1000:8.0f} ms")
        print(f"  ... then delivered inline in {call['delivered_s']:.1f} s (jobs inline: the "
              "request drains the outbox after its commit; a worker takes that out of it)")
        ok = call["commit_s"] < GOAL_NOTIFY_S and call["notified"] == call["raw_eligible"]
        print(f"  goal: everyone eligible told in {call['commit_s']:.2f} s < "
              f"{GOAL_NOTIFY_S:.0f} s {'met' if ok else 'MISSED'}")
        print(f"{name}: {'all goals met' if ok else 'goals MISSED'}")
        return ok
    raw = call_out(app, count_only=True)
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        server = signups.Server(url, Path(tmp) / "gunicorn.log", redis_url=args.redis_url)
        signups.SERVER = server
        try:
            token = bureau_token(app)
            call = call_out_http(app, server, token)
            burst = answers(app, call["id"])
        finally:
            server.stop()
    ok_notify = call["commit_s"] < GOAL_NOTIFY_S and call["notified"] == raw["raw_eligible"]
    print(f"  raw count of the eligible     {raw['raw_s'] * 1000:8.0f} ms  "
          f"({raw['raw_eligible']:,})")
    print(f"  POST /api/v1/callouts         {call['commit_s'] * 1000:8.0f} ms  "
          f"({call['notified']:,} notifications written and committed, {call['sms']:,} with "
          f"an SMS number; {call['commit_s'] / raw['raw_s']:.1f}x the raw count)")
    print(f"  ... all delivered by the worker after {call['delivered_s']:.1f} s "
          f"({call['left']} left)")
    print(f"  goal: everyone eligible told in {call['commit_s']:.2f} s < {GOAL_NOTIFY_S:.0f} s "
          f"{'met' if ok_notify else 'MISSED'}")
    p95 = pct(burst["latencies"], 0.95)
    exact = (burst["accepted"], burst["standby"]) == (HEADCOUNT, N_ANSWERS - HEADCOUNT) \
        and burst["kept"] == (HEADCOUNT, "filled") and not burst["errors"]
    ok = exact and burst["in_order"] and p95 < GOAL_P95_MS
    ratio = burst["rate"] / burst["health_rate"]
    print(f"  {N_ANSWERS:,} yes-answers from {CLIENTS} clients: {burst['rate']:.0f}/s "
          f"(/healthz {burst['health_rate']:.0f}/s, {ratio:.2f}x);"
          f" median {statistics.median(burst['latencies']):.1f} ms, p95 {p95:.1f} ms")
    print(f"  accepted {burst['accepted']}, standby {burst['standby']}, errors "
          f"{len(burst['errors'])} {burst['errors'][:3]}; the call-out keeps "
          f"{burst['kept']}; accepted before every standby by id: {burst['in_order']}")
    print(f"  goal: exactly {HEADCOUNT} accepted, the rest on standby in order "
          f"{'met' if exact and burst['in_order'] else 'MISSED'}; p95 {p95:.1f} ms < "
          f"{GOAL_P95_MS:.0f} ms {'met' if p95 < GOAL_P95_MS else 'MISSED'}")
    met = ok_notify and ok
    print(f"{name}: {'all goals met' if met else 'goals MISSED'}")
    return met


def bureau_token(app) -> str:
    from portal.core.users import User, issue_token

    with app.app_context():
        token, _row = issue_token(db.session.scalar(sa.select(User).where(
            User.username == "bench-bureau")))
        db.session.commit()
        db.session.remove()
    return token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"))
    parser.add_argument("--volunteers", type=int, default=N_VOLUNTEERS)
    parser.add_argument("--part", choices=("callout", "assign", "both"), default="both")
    args = parser.parse_args(argv)
    met = True
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
            met &= run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    if args.db in ("postgresql", "both"):
        if not args.pg_url:
            print("PostgreSQL skipped: set BENCH_DATABASE_URL or pass --pg-url")
        else:
            args.pg_url = normalise_url(args.pg_url)
            check_pg_url(args.pg_url)
            met &= run("postgresql", args.pg_url, args)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
