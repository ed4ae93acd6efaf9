"""Benchmark: 需求清单 at city size, each figure against a raw query of the same run.

Issue 需求清单: 200,000 resident accounts, 60,000 needs over three years with their supports and
matches, and the resources suggestions look through (4,500 organisations, 20,000 activities with
shifts, open calls). Times, in-process through Flask's test client against hand-written SQL on a
plain connection: the public needs list with each filter (goal p95 < 50 ms), a need's
suggestions (p95 < 100 ms), the city's needs dashboard (figures() within 2x of the raw GROUP
BY); then, over HTTP against gunicorn with Redis, SMS-code issuance under 16 clients (goal
>= 500 codes/s to the log gateway, PostgreSQL + Redis).

    .venv/bin/python benchmarks/needs.py --db sqlite
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:55499/portal_bench \
        .venv/bin/python benchmarks/needs.py --db postgresql --redis-url redis://127.0.0.1:6390/5

Not part of the test suite. PostgreSQL: the database's public schema is DROPPED and recreated,
so the script refuses any database whose name does not contain "bench".
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import signups  # noqa: E402  (in_threads, concurrent_healthz, Server, CPU counters, titles)
from common import (  # noqa: E402  (benchmarks/ is the script's own folder on sys.path)
    DIVISIONS,
    accumulate,
    check_pg_url,
    make_app,
    migrate,
    normalise_url,
    pct,
    person,
    phone,
)
from dashboard import generate as org_dataset  # noqa: E402  (areas + 4,500 organisations)
from dashboard import timed  # noqa: E402

from portal.activities.models import Activity, ActivityState, Shift  # noqa: E402
from portal.core.areas import Area, import_areas  # noqa: E402
from portal.core.db import UTCDateTime, utcnow  # noqa: E402
from portal.core.users import RoleGrant, User  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.needs import queries  # noqa: E402
from portal.needs.models import (  # noqa: E402
    Channel,
    MatchKind,
    Need,
    NeedMatch,
    NeedState,
    NeedSupport,
    ProjectNeed,
    Urgency,
)
from portal.orgs.models import Org, OrgState  # noqa: E402
from portal.projects.models import Project, ProjectKind, ProjectState  # noqa: E402

CITY = "2108"
N_USERS = 200_000
N_NEEDS = 60_000
N_ACTIVITIES = 20_000
N_OPEN_PROJECTS = 60      # open calls, deadline ahead: what suggestions offer
N_OTHER_PROJECTS = 240    # past calls: what needs were matched to
N_SUGGESTED = 50          # verified needs whose suggestions are timed
N_CODES = 4_000
CLIENTS = 16
YEARS = 3
CHUNK = 10_000
DAY = 86_400.0
BUREAU_PASSWORD = "bench-password-1"

LIST_GOAL_MS = 50.0
SUGGEST_GOAL_MS = 100.0
DASHBOARD_RATIO = 2.0
SMS_GOAL_RATE = 500.0

STATE_WEIGHTS = {NeedState.submitted: 10, NeedState.rejected: 5, NeedState.merged: 3,
                 NeedState.verified: 20, NeedState.matched: 25, NeedState.resolved: 37}
PUBLIC = ("verified", "matched", "resolved")
CATEGORY_WEIGHTS = {"elderly_care": 22, "disability_support": 6, "child_care": 9, "education": 7,
                    "health": 10, "environment": 11, "emergency": 4, "legal_aid": 5,
                    "culture_sports": 8, "community_governance": 8, "poverty_relief": 5,
                    "other": 5}
NEED_TITLES = {
    "elderly_care": ("老年助餐点就餐不便", "独居老人需要定期上门探访", "高龄老人需要助浴服务",
                     "老旧楼老人上下楼困难"),
    "disability_support": ("残疾人出行需要陪同", "无障碍坡道损坏需修缮", "重度残疾人需要康复护理"),
    "child_care": ("双职工家庭放学后孩子无人看护", "暑期儿童托管", "留守儿童需要陪伴"),
    "education": ("中小学生课业辅导", "老年人智能手机使用培训", "家庭教育讲座"),
    "health": ("慢性病老人需要定期测血压", "希望开展社区义诊", "居民心理健康咨询"),
    "environment": ("楼道堆物需要清理", "垃圾分类点异味严重", "小区绿化带缺乏养护"),
    "emergency": ("防汛物资储备不足", "老旧小区消防通道堵塞", "希望开展应急救护培训"),
    "legal_aid": ("物业纠纷需要法律咨询", "赡养纠纷需要调解", "农民工讨薪需要法律援助"),
    "culture_sports": ("广场舞场地不足", "老年合唱队缺少排练场所", "篮球场照明损坏"),
    "community_governance": ("楼栋议事会需要组织", "停车位分配需要协商", "物业服务质量需要监督"),
    "poverty_relief": ("困难家庭冬季取暖帮扶", "低保户子女助学", "失业人员再就业培训"),
    "other": ("希望设置快递柜", "小区路灯不亮", "需要公共晾晒区"),
}
DETAILS = ("涉及{n}户居民，希望社区协调解决。", "已持续一段时间，居民多次反映。",
           "附近没有合适的服务点，希望有组织或志愿者帮助。", "周末和晚上尤其需要。",
           "老人较多，行动不便。", "希望与物业、社会组织一起想办法。")
Q_WORD = "助餐"           # in one elderly_care title: the text filter's word
USER_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "150", "151", "152",
                 "155", "156", "157", "158", "159", "176", "177", "178", "180", "181", "182",
                 "183", "185", "186", "187", "188", "189")   # 139 is left for the SMS run


# --- data --------------------------------------------------------------------------------------

class Plan:
    def __init__(self, now: datetime):
        self.now = now
        self.communities: list[dict] = []
        self.orgs: list[dict] = []
        self.users: list[dict] = []
        self.grants: list[dict] = []
        self.projects: list[dict] = []
        self.activities: list[dict] = []
        self.shifts: list[dict] = []
        self.needs: list[dict] = []
        self.supports: list[dict] = []
        self.matches: list[dict] = []
        self.project_needs: list[dict] = []


def _timeline(rng: random.Random, state: NeedState, span: float) -> dict[str, float]:
    """Seconds before now of each stamp the state has (created, verified, matched, resolved,
    closed), and the minutes from verification to match."""
    verify = rng.uniform(0.05, 7) * DAY
    match = min(rng.lognormvariate(math.log(10 * DAY), 1.0), 300 * DAY)   # median 10 days
    resolve = rng.uniform(1, 60) * DAY
    if state is NeedState.submitted:
        return {"created": rng.uniform(60, 20 * DAY)}
    if state in (NeedState.rejected, NeedState.merged):
        close = rng.uniform(0.05, 10) * DAY
        created = rng.uniform(close + 60, span)
        return {"created": created, "closed": created - close}
    if state is NeedState.verified:   # a good share stale (verified more than 30 days ago)
        idle = rng.uniform(0, 30 * DAY) if rng.random() < 0.35 else rng.uniform(30 * DAY,
                                                                                 span - verify)
        return {"created": verify + idle, "verified": idle}
    if state is NeedState.matched:    # matched, not yet resolved: mostly recent
        idle = rng.uniform(0, 90 * DAY)
        return {"created": idle + match + verify, "verified": idle + match, "matched": idle,
                "minutes": match / 60}
    idle = rng.uniform(0, span - verify - match - resolve)
    return {"created": idle + resolve + match + verify, "verified": idle + resolve + match,
            "matched": idle + resolve, "resolved": idle, "minutes": match / 60}


def generate(rng: random.Random, now: datetime, n_users: int, n_needs: int) -> Plan:
    plan = Plan(now)
    span = YEARS * 365 * DAY
    ago = lambda seconds: now - timedelta(seconds=seconds)  # noqa: E731

    # Areas and organisations: dashboard.py's dataset (800 communities, 4,500 organisations).
    plan.communities, plan.orgs, _workers = org_dataset(rng)
    codes = [c["code"] for c in plan.communities]
    names = {c["code"]: c["name"] for c in plan.communities}
    by_people = accumulate(c["population"] for c in plan.communities)
    townships = sorted({c["parent_code"] for c in plan.communities})
    counties = sorted({t[:6] for t in townships})

    # Residents: SMS-only accounts (no password), most with a verified phone, each with their
    # community (the resident grant).
    phones: set[str] = set()
    residents: dict[str, list[int]] = defaultdict(list)
    for uid in range(1, n_users + 1):
        community = rng.choices(codes, cum_weights=by_people)[0]
        number = None
        if rng.random() < 0.9:
            while True:
                number = rng.choice(USER_PREFIXES) + f"{rng.randrange(10 ** 8):08d}"
                if number not in phones:
                    phones.add(number)
                    break
        created = ago(rng.uniform(0, span))
        plan.users.append({
            "id": uid, "username": f"r{uid:06d}", "password_hash": "!sms",
            "display_name": number[:3] + "****" + number[-4:] if number else None,
            "email": None, "locale": None, "phone": number,
            "phone_verified_at": created if number else None, "active": True,
            "created_at": created})
        plan.grants.append({"user_id": uid, "role": "resident", "area_code": community})
        residents[community].append(uid)
    # A community worker per township: they post for residents who come in or phone, and record
    # the matches.
    worker_of: dict[str, int] = {}
    for uid, township in enumerate(townships, start=n_users + 1):
        worker_of[township] = uid
        plan.users.append({
            "id": uid, "username": f"bench-cw-{township}", "password_hash": "!bench",
            "display_name": person(rng), "email": None, "locale": None, "phone": None,
            "phone_verified_at": None, "active": True, "created_at": ago(span)})
        plan.grants.append({"user_id": uid, "role": "community_worker", "area_code": township})

    # Projects: open calls (deadline ahead) and past ones, for a county or a township.
    for pid in range(1, N_OPEN_PROJECTS + N_OTHER_PROJECTS + 1):
        is_open = pid <= N_OPEN_PROJECTS
        area = rng.choice(counties) if rng.random() < 1 / 3 else rng.choice(townships)
        created = ago(rng.uniform(5, 40) * DAY if is_open else rng.uniform(60, span))
        deadline = now + timedelta(days=rng.uniform(5, 60)) if is_open else \
            created + timedelta(days=rng.uniform(20, 40))
        category = rng.choice(list(NEED_TITLES))
        plan.projects.append({
            "id": pid, "title": f"{'政府购买' if pid % 2 else '公益创投'}："
                                f"{rng.choice(NEED_TITLES[category])}服务项目{pid}",
            "kind": ProjectKind.government_purchase if pid % 2 else
            ProjectKind.venture_philanthropy,
            "area_code": area, "year": created.year, "catalogue_item_id": None,
            "budget": Decimal(rng.randrange(20, 500) * 1000), "description": "基准测试数据",
            "service_targets": None, "contract_months": 12, "tiers": [],
            "bid_deadline": deadline, "allow_filed": False, "blind_review": False,
            "status": ProjectState.open if is_open else rng.choice(
                (ProjectState.in_progress, ProjectState.closed, ProjectState.awarded)),
            "created_by": None, "created_at": created,
            "published_at": created + timedelta(days=1)})

    # Activities: by communities or by an active organisation, over the three years; a quarter
    # have shifts ahead (what suggestions offer), the rest past ones.
    active_orgs: dict[str, list[dict]] = defaultdict(list)
    for org in plan.orgs:
        if org["status"] is OrgState.active:
            active_orgs[org["community_code"][:6]].append(org)
    by_county_type: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_county: dict[str, list[int]] = defaultdict(list)
    sid = 0
    for aid in range(1, N_ACTIVITIES + 1):
        community = rng.choices(codes, cum_weights=by_people)[0]
        org = None
        if rng.random() < 0.4 and active_orgs[community[:6]]:
            org = rng.choice(active_orgs[community[:6]])
            community = org["community_code"]
        title, service_type = rng.choice(signups.TITLES)
        future = rng.random() < 0.25
        created = ago(rng.uniform(1, 30) * DAY if future else rng.uniform(20 * DAY, span))
        plan.activities.append({
            "id": aid, "title": f"{names[community]}{title}",
            "org_id": org["id"] if org else None, "project_id": None,
            "community_code": community, "service_type": service_type, "skills": [],
            "location": names[community] + rng.choice(signups.PLACES),
            "description": "基准测试数据", "min_age": None, "contact_name": None,
            "contact_phone": None, "signup_closes_hours": 0, "risky": False, "insurance": None,
            "insured_at": None, "status": ActivityState.cancelled if rng.random() < 0.03
            else ActivityState.published, "created_by": None, "created_at": created})
        by_county_type[(community[:6], service_type)].append(aid)
        by_county[community[:6]].append(aid)
        for _ in range(rng.choice((1, 1, 2, 3))):
            sid += 1
            if future:
                starts = now + timedelta(days=rng.uniform(1, 60))
            else:
                starts = min(created + timedelta(days=rng.uniform(1, 20)),
                             now - timedelta(hours=rng.uniform(2, 48)))
            starts = starts.replace(minute=0, second=0, microsecond=0)
            cancelled = rng.random() < 0.03
            plan.shifts.append({
                "id": sid, "activity_id": aid, "starts_at": starts,
                "ends_at": starts + timedelta(hours=rng.randint(2, 4)),
                "capacity": rng.randint(5, 30), "waitlist": True, "confirmed_count": 0,
                "check_in_code": f"{rng.randrange(10 ** 6):06d}",
                "cancelled_at": starts - timedelta(days=1) if cancelled else None,
                "cancel_reason": "天气原因" if cancelled else None, "revision": 0})
    past_projects: dict[str, list[int]] = defaultdict(list)
    for project in plan.projects[N_OPEN_PROJECTS:]:
        past_projects[project["area_code"][:6]].append(project["id"])

    # Needs: created over three years, then numbered in time order (as they arrive).
    states, state_w = list(STATE_WEIGHTS), list(STATE_WEIGHTS.values())
    categories, category_w = list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values())
    drafts = []
    for _ in range(n_needs):
        state = rng.choices(states, weights=state_w)[0]
        drafts.append((state, _timeline(rng, state, span)))
    drafts.sort(key=lambda d: -d[1]["created"])
    earlier: dict[str, list[int]] = defaultdict(list)
    for nid, (state, t) in enumerate(drafts, start=1):
        community = rng.choices(codes, cum_weights=by_people)[0]
        category = rng.choices(categories, weights=category_w)[0]
        people = 1 if rng.random() < 0.6 else rng.randint(2, 200)
        worker = worker_of[community[:9]]
        behalf = rng.random() < 0.05 or not residents[community]
        poster = worker if behalf else rng.choice(residents[community])
        stamp = {key: ago(t[key]) if key in t else None
                 for key in ("created", "verified", "matched", "resolved", "closed")}
        need = {
            "id": nid, "community_code": community, "category": category,
            "title": rng.choice(NEED_TITLES[category]),
            "description": f"{names[community]}：{rng.choice(NEED_TITLES[category])}。"
                           + rng.choice(DETAILS).format(n=people),
            "people_affected": people,
            "urgency": Urgency.urgent if rng.random() < 0.1 else Urgency.normal,
            "channel": rng.choice((Channel.visit, Channel.phone)) if behalf else
            (Channel.meeting if rng.random() < 0.05 else Channel.online),
            "status": state, "posted_by": poster,
            "for_name": person(rng) if behalf else None,
            "for_phone": phone(rng) if behalf else None, "supporters": 0,
            "review_comment": "不属于社区服务范围，已转交相关部门" if state is NeedState.rejected
            else None,
            "resolution": "已由社会组织和志愿者解决，居民满意" if state is NeedState.resolved
            else None,
            "merged_into_id": None, "created_at": stamp["created"],
            "verified_at": stamp["verified"], "matched_at": stamp["matched"],
            "resolved_at": stamp["resolved"],
            "minutes_to_match": int(t["minutes"]) if "minutes" in t else None,
            "closed_at": stamp["closed"]}
        if state is NeedState.merged and earlier[community]:
            need["merged_into_id"] = rng.choice(earlier[community][-50:])
        earlier[community].append(nid)
        plan.needs.append(need)

        if state.value in PUBLIC:
            # Neighbours who need it too: about three a need, a long tail; each once.
            pool = [u for u in residents[community] if u != poster]
            k = min(int(rng.lognormvariate(0.8, 1.0)), len(pool))
            end = need["matched_at"] or now
            for uid in rng.sample(pool, k):
                plan.supports.append({
                    "need_id": nid, "user_id": uid,
                    "created_at": need["verified_at"] + (end - need["verified_at"])
                    * rng.random()})
            need["supporters"] = k
        if state in (NeedState.matched, NeedState.resolved):
            county = community[:6]
            taken: set[tuple[MatchKind, int]] = set()
            for n in range(1 if rng.random() < 0.9 else 2):
                kind = rng.choices((MatchKind.activity, MatchKind.org, MatchKind.project),
                                   weights=(50, 35, 15))[0]
                if kind is MatchKind.project and not past_projects[county]:
                    kind = MatchKind.org
                if kind is MatchKind.org and not active_orgs[county]:
                    kind = MatchKind.activity
                if kind is MatchKind.activity:
                    target = rng.choice(by_county_type[(county, category)] or by_county[county])
                elif kind is MatchKind.org:
                    target = rng.choice(active_orgs[county])["id"]
                else:
                    target = rng.choice(past_projects[county])
                if (kind, target) in taken:
                    continue
                taken.add((kind, target))
                plan.matches.append({
                    "need_id": nid, "kind": kind, "target_id": target, "note": None,
                    "created_by": worker,
                    "created_at": need["matched_at"] + timedelta(hours=n * rng.uniform(1, 48))})
                if kind is MatchKind.project:
                    plan.project_needs.append({"project_id": target, "need_id": nid})
    for i, row in enumerate(plan.supports, start=1):
        row["id"] = i
    for i, row in enumerate(plan.matches, start=1):
        row["id"] = i
    for i, row in enumerate(plan.project_needs, start=1):
        row["id"] = i
    return plan


def load(app, args) -> dict:
    """Divisions and the generated data; an account of the bureau (city) with an API token."""
    from portal.core.users import Grant, Role, create_user, issue_token

    t0 = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        import_areas(DIVISIONS.read_text(encoding="utf-8"))
        db.session.commit()
        plan = generate(random.Random(42), now, args.users, args.needs)
        generated = time.perf_counter() - t0
        db.session.execute(sa.insert(Area), plan.communities)
        db.session.commit()
        db.session.remove()
        with db.engine.begin() as conn:
            for model, rows in ((User, plan.users), (RoleGrant, plan.grants), (Org, plan.orgs),
                                (Project, plan.projects), (Activity, plan.activities),
                                (Shift, plan.shifts), (Need, plan.needs),
                                (NeedSupport, plan.supports), (NeedMatch, plan.matches),
                                (ProjectNeed, plan.project_needs)):
                for start in range(0, len(rows), CHUNK):
                    conn.execute(model.__table__.insert(), rows[start:start + CHUNK])
        pg = db.engine.dialect.name == "postgresql"
        if pg:
            with db.engine.begin() as conn:
                for table in ("users", "role_grants", "orgs", "projects", "activities",
                              "shifts", "needs", "need_supports", "need_matches",
                              "project_needs"):
                    conn.execute(sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"))
        bureau = create_user("bench-bureau", BUREAU_PASSWORD, [Grant(Role.bureau, CITY)],
                             actor=None)
        token, _row = issue_token(bureau)
        db.session.commit()
        if pg:  # what autovacuum does within a minute of such a load: statistics for the
            # plans, and the visibility map that lets index-only scans skip the table
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        else:  # what the portal's `PRAGMA optimize` does within OPTIMIZE_SECONDS of the
            # first queries of these tables (portal/core/sqlite.py): their statistics
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        with db.engine.connect() as conn:
            by_state = dict(conn.execute(sa.text(
                "SELECT status, count(*) FROM needs GROUP BY status")).all())
            stale = conn.execute(sa.text(
                "SELECT count(*) FROM needs WHERE status = 'verified' AND verified_at < :cut"
            ).bindparams(sa.bindparam("cut", type_=UTCDateTime())),
                {"cut": now - timedelta(days=30)}).scalar()
            conn.rollback()
        db.engine.dispose()
    need_counts = Counter(n["community_code"] for n in plan.needs
                          if n["status"].value in PUBLIC)
    county_counts = Counter(code[:6] for code in need_counts.elements())
    verified = [n["id"] for n in plan.needs if n["status"] is NeedState.verified]
    return {
        "token": token, "generate_s": generated, "load_s": time.perf_counter() - t0,
        "users": len(plan.users), "needs": len(plan.needs), "by_state": by_state,
        "stale": stale, "supports": len(plan.supports), "matches": len(plan.matches),
        "orgs": len(plan.orgs), "activities": len(plan.activities),
        "future_activities": len({s["activity_id"] for s in plan.shifts
                                  if s["starts_at"] > now}),
        "shifts": len(plan.shifts), "projects": len(plan.projects),
        "community": need_counts.most_common(1)[0][0],
        "county": county_counts.most_common(1)[0][0],
        "suggested": random.Random(43).sample(verified, min(N_SUGGESTED, len(verified))),
    }


# --- 1. the public list ------------------------------------------------------------------------

PAGE_COLUMNS = ("n.id, n.community_code, a.name, n.category, n.title, n.description, "
                "n.people_affected, n.urgency, n.channel, n.status, n.supporters, "
                "n.created_at, n.verified_at, n.matched_at, n.resolved_at, n.resolution, "
                "n.merged_into_id")


def raw_list(args: dict, pg: bool) -> tuple[sa.TextClause, sa.TextClause, dict]:
    """The hand-written COUNT and page of 20 for the list's filters, as anyone would write
    them for the public: the public states (or the one asked for), the area as a code range."""
    where = ["n.status = :status" if "status" in args else
             "n.status IN ('verified', 'matched', 'resolved')"]
    params: dict = {}
    if "status" in args:
        params["status"] = args["status"]
    if "community" in args:
        where.append("n.community_code BETWEEN :lo AND :hi")
        params.update(lo=args["community"], hi=args["community"].ljust(12, "9"))
    if "category" in args:
        where.append("n.category = :category")
        params["category"] = args["category"]
    if "q" in args:
        like = "ILIKE" if pg else "LIKE"   # SQLite's LIKE ignores ASCII case already
        where.append(f"(n.title {like} :pattern OR n.description {like} :pattern)")
        params["pattern"] = f"%{args['q']}%"
    cut = None
    if "older_than_days" in args:
        where.append("n.created_at < :cut")
        cut = sa.bindparam("cut", type_=UTCDateTime())
    order = "n.supporters DESC, n.id DESC" if args.get("sort") == "support" else \
        "n.created_at DESC, n.id DESC"
    condition = " AND ".join(where)
    count = sa.text(f"SELECT count(*) FROM needs n WHERE {condition}")
    page = sa.text(f"SELECT {PAGE_COLUMNS} FROM needs n JOIN areas a ON a.code = "
                   f"n.community_code WHERE {condition} ORDER BY {order} LIMIT 20")
    if cut is not None:
        count, page = count.bindparams(cut), page.bindparams(cut)
    return count, page, params


def list_filters(info: dict) -> dict[str, dict]:
    return {
        "none": {},
        f"community={info['community']}": {"community": info["community"]},
        f"community={info['county']} (county)": {"community": info["county"]},
        "category=elderly_care": {"category": "elderly_care"},
        "status=matched": {"status": "matched"},
        f"q={Q_WORD}": {"q": Q_WORD},
        "older_than_days=365": {"older_than_days": "365"},
        "sort=support": {"sort": "support"},
    }


def measure_filter(engine, client, label: str, args: dict, runs: int) -> dict:
    count_sql, page_sql, params = raw_list(args, engine.dialect.name == "postgresql")
    path = "/api/v1/needs" + ("?" + urlencode(args) if args else "")

    def bind() -> dict:
        if "older_than_days" in args:
            return {**params, "cut": utcnow() - timedelta(days=int(args["older_than_days"]))}
        return params

    with engine.connect() as conn:
        def raw_once():
            p = bind()
            total = conn.execute(count_sql, p).scalar()
            rows = conn.execute(page_sql, p).all()
            conn.rollback()  # one transaction a unit (SQLite begins them IMMEDIATE)
            return total, rows

        # The same answer: the total and the page's ids.
        total, rows = raw_once()
        body = client.get(path).get_json()
        assert body["total"] == total, (label, body["total"], total)
        assert [i["id"] for i in body["items"]] == [r.id for r in rows], label
        raw = timed(raw_once, runs)

    def http():
        response = client.get(path)
        assert response.status_code == 200, (label, response.status_code)
        response.get_data()

    return {"raw": raw, "http": timed(http, runs), "total": total, "path": path}


def measure_list(app, info: dict, runs: int) -> dict[str, dict]:
    """Each filter: the raw COUNT + page on a plain connection, then the API without a token
    through the test client (outside any app context: each request has its own session)."""
    client = app.test_client()
    with app.app_context():
        engine = db.engine
    return {label: measure_filter(engine, client, label, args, runs)
            for label, args in list_filters(info).items()}


# --- 2. suggestions -----------------------------------------------------------------------------

def raw_suggestions(conn, need_id: int, now: datetime) -> set[tuple[str, int]]:
    """The need, its matches and the three candidate queries of suggestions(), by hand."""
    code, category = conn.execute(sa.text(
        "SELECT community_code, category FROM needs WHERE id = :id"), {"id": need_id}).one()
    taken = conn.execute(sa.text(
        "SELECT kind, target_id FROM need_matches WHERE need_id = :id"), {"id": need_id}).all()
    county, township = code[:6], code[:9]
    p = {"code": code, "cat": category, "clo": county, "chi": county.ljust(12, "9"),
         "tlo": township, "thi": township.ljust(12, "9"), "now": now}
    near = ("CASE WHEN {c} = :code THEN 3 WHEN {c} BETWEEN :tlo AND :thi THEN 2 ELSE 1 END")
    ts = sa.bindparam("now", type_=UTCDateTime())
    found = {("activity", r[0]) for r in conn.execute(sa.text(
        "SELECT a.id, a.title, a.community_code FROM activities a "
        "WHERE a.community_code BETWEEN :clo AND :chi AND a.status = 'published' "
        "AND a.service_type = :cat AND EXISTS (SELECT 1 FROM shifts s WHERE s.activity_id = a.id "
        "AND s.starts_at > :now AND s.cancelled_at IS NULL) "
        f"ORDER BY {near.format(c='a.community_code')} DESC, a.id DESC LIMIT 20"
    ).bindparams(ts), p)}
    categories = ", ".join(f"'{c}'" for c in queries.CATEGORY_ORGS.get(category, ())) or "NULL"
    found |= {("org", r[0]) for r in conn.execute(sa.text(
        "SELECT o.id, o.name, o.community_code, o.category, o.id IN (SELECT org_id FROM "
        "activities WHERE org_id IS NOT NULL AND service_type = :cat AND community_code "
        "BETWEEN :clo AND :chi) AS ran FROM orgs o WHERE o.community_code BETWEEN :clo AND :chi "
        f"AND o.status = 'active' AND (o.category IN ({categories}) OR o.id IN (SELECT org_id "
        "FROM activities WHERE org_id IS NOT NULL AND service_type = :cat AND community_code "
        f"BETWEEN :clo AND :chi)) ORDER BY {near.format(c='o.community_code')} DESC, o.id "
        "LIMIT 20"), p)}
    found |= {("project", r[0]) for r in conn.execute(sa.text(
        "SELECT p.id, p.title, p.area_code FROM projects p WHERE p.area_code IN "
        "(:c4, :c6, :c9, :c12) AND p.status = 'open' AND p.bid_deadline > :now "
        "ORDER BY p.bid_deadline LIMIT 20").bindparams(ts),
        {"c4": code[:4], "c6": county, "c9": township, "c12": code, "now": now})}
    return found - {(k, t) for k, t in taken}


def measure_suggestions(app, info: dict, runs: int) -> dict:
    headers = {"Authorization": "Bearer " + info["token"]}
    client = app.test_client()
    needs = info["suggested"]
    with app.app_context():
        engine = db.engine
    counts = []
    with engine.connect() as conn:
        for need_id in needs:   # the API's items are among the raw queries' candidates
            found = raw_suggestions(conn, need_id, utcnow())
            conn.rollback()
            body = client.get(f"/api/v1/needs/{need_id}/suggestions", headers=headers).get_json()
            items = {(i["kind"], i["target_id"]) for i in body["items"]}
            assert items <= found, (need_id, items - found)
            counts.append(len(items))
        turn = iter(range(10 ** 9))

        def raw_once():
            found = raw_suggestions(conn, needs[next(turn) % len(needs)], utcnow())
            conn.rollback()
            return found

        raw = timed(raw_once, runs)
    turn_http = iter(range(10 ** 9))

    def http():
        need_id = needs[next(turn_http) % len(needs)]
        response = client.get(f"/api/v1/needs/{need_id}/suggestions", headers=headers)
        assert response.status_code == 200, response.status_code
        response.get_data()

    return {"raw": raw, "http": timed(http, runs), "items": counts}


# --- 3. the dashboard ---------------------------------------------------------------------------

RAW_GROUP = sa.text("SELECT status, category, count(*) FROM needs GROUP BY status, category")
# Context: what figures() asks, by hand (the grouped counts with its three conditional sums, the
# count and the middle row(s) of minutes_to_match), to tell its SQL from the ORM around it.
_CUT = sa.bindparam("cut", type_=UTCDateTime())
_MONTH = sa.bindparam("month", type_=UTCDateTime())
_AREA = "community_code BETWEEN :lo AND :hi"
RAW_FIGURES = (
    sa.text("SELECT status, category, count(*), "
            "sum(CASE WHEN status = 'verified' AND verified_at < :cut THEN 1 ELSE 0 END), "
            "sum(CASE WHEN verified_at < :month THEN 1 ELSE 0 END), "
            "sum(CASE WHEN verified_at < :month AND minutes_to_match <= 43200 THEN 1 ELSE 0 END) "
            f"FROM needs WHERE {_AREA} GROUP BY status, category").bindparams(_CUT, _MONTH),
    sa.text(f"SELECT count(*) FROM needs WHERE {_AREA} AND minutes_to_match IS NOT NULL"),
    sa.text(f"SELECT minutes_to_match FROM needs WHERE {_AREA} AND minutes_to_match IS NOT NULL "
            "ORDER BY minutes_to_match LIMIT :n OFFSET :skip"),
)


def measure_dashboard(app, info: dict, runs: int) -> dict[str, list[float]]:
    headers = {"Authorization": "Bearer " + info["token"]}
    client = app.test_client()
    results: dict[str, list[float]] = {}
    with app.app_context():
        # The same counts: by status, by category of the verified and later, and the stale.
        now = utcnow()
        mine = queries.figures(CITY, now=now)
        db.session.rollback()
        with db.engine.connect() as conn:
            stale = conn.execute(sa.text(
                "SELECT count(*) FROM needs WHERE status = 'verified' AND verified_at < :cut"
            ).bindparams(sa.bindparam("cut", type_=UTCDateTime())),
                {"cut": now - timedelta(days=app.config["NEED_STALE_DAYS"])}).scalar()
            rows = conn.execute(RAW_GROUP).all()
            by_status: Counter = Counter()
            by_category: Counter = Counter()
            for status, category, n in rows:
                by_status[status] += n
                if status not in ("merged", "rejected"):
                    by_category[category] += n
            assert {k: v for k, v in mine.by_status.items() if v} == dict(by_status)
            assert mine.by_category == dict(by_category)
            assert mine.stale == stale, (mine.stale, stale)
            # ... and every other figure as counting every need by hand gives it.
            area = {"lo": CITY, "hi": CITY.ljust(12, "9")}
            by_hand = conn.execute(RAW_FIGURES[0], {
                **area, "cut": now - timedelta(days=app.config["NEED_STALE_DAYS"]),
                "month": now - timedelta(days=30)}).all()
            assert (mine.stale, mine.due, mine.on_time) == tuple(
                sum(int(r[i] or 0) for r in by_hand) for i in (3, 4, 5))
            count = conn.execute(RAW_FIGURES[1], area).scalar()
            middle = conn.execute(RAW_FIGURES[2], {
                **area, "n": 2 - count % 2, "skip": (count - 1) // 2}).scalars().all()
            assert mine.median_days_to_match == round(sum(middle) / len(middle) / 1440, 1)
            conn.rollback()

            def raw_once():
                result = conn.execute(RAW_GROUP).all()
                conn.rollback()
                return result

            results["raw GROUP BY"] = timed(raw_once, runs)
            stale_days = app.config["NEED_STALE_DAYS"]

            def raw_figures():
                now = utcnow()
                area = {"lo": CITY, "hi": CITY.ljust(12, "9")}
                rows = conn.execute(RAW_FIGURES[0], {
                    **area, "cut": now - timedelta(days=stale_days),
                    "month": now - timedelta(days=30)}).all()
                count = conn.execute(RAW_FIGURES[1], area).scalar()
                middle = conn.execute(RAW_FIGURES[2], {
                    **area, "n": 2 - count % 2, "skip": (count - 1) // 2}).scalars().all()
                conn.rollback()
                return rows, middle

            results["raw figures, by hand"] = timed(raw_figures, runs)

        def figures_once():
            result = queries.figures(CITY)
            db.session.rollback()
            return result

        def by_child_once():
            result = queries.figures_by_child(CITY)
            db.session.rollback()
            return result

        results["figures()"] = timed(figures_once, runs)
        results["figures_by_child()"] = timed(by_child_once, runs)
        db.session.remove()

    def http():
        response = client.get(f"/api/v1/stats/needs?area={CITY}", headers=headers)
        assert response.status_code == 200, response.status_code
        response.get_data()

    results["HTTP stats/needs"] = timed(http, runs)
    return results


# --- 4. SMS codes over HTTP ---------------------------------------------------------------------

def post_code(conn, item: tuple[str, str]) -> tuple[float, int, str]:
    """POST /api/v1/auth/sms-codes from a distinct address (X-Forwarded-For, PROXY_COUNT=1).
    signups.request() sends no extra headers, hence this small variant of it."""
    number, address = item
    body = json.dumps({"phone": number}).encode()
    headers = {"Accept": "application/json", "Content-Type": "application/json",
               "X-Forwarded-For": address}
    t0 = time.perf_counter()
    try:
        conn.request("POST", "/api/v1/auth/sms-codes", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
    except OSError:
        conn.close()
        raise
    if response.will_close:
        conn.close()
    return (time.perf_counter() - t0) * 1000, response.status, number


def redis_cpu() -> float:
    """CPU seconds of every live redis-server on this machine (as signups.postgres_cpu)."""
    try:
        return sum(signups._own_and_children_seconds(fields)
                   for _pid, name, fields in signups._processes() if name == "redis-server")
    except (OSError, ValueError):
        return 0.0


def measure_sms(url: str, redis_url: str, args) -> dict:
    import redis

    rng = random.Random(44)
    numbers = [f"139{n:08d}" for n in rng.sample(range(10 ** 8), args.codes + 64)]
    address = lambda i: f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"  # noqa: E731
    warm = [(numbers[i], address(i + 1)) for i in range(32)]
    run = [(numbers[32 + i], address(1000 + i)) for i in range(args.codes)]
    one_address = [(numbers[32 + args.codes + i], "192.0.2.1") for i in range(21)]
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="portal-bench-sms-") as tmp:
        outbox = Path(tmp) / "sms-outbox.jsonl"
        # common.Gunicorn copies os.environ: set what the server needs for this run only.
        extra = {"PROXY_COUNT": "1", "SMS_ADAPTER": "log", "SMS_OUTBOX": str(outbox)}
        saved = {k: os.environ.get(k) for k in extra}
        os.environ.update(extra)
        try:
            server = signups.Server(url, Path(tmp) / "gunicorn.log", redis_url=redis_url,
                                    workers=args.workers)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        # signups.in_threads and concurrent_healthz take their connections from signups.SERVER.
        signups.SERVER = server
        prefix = f"portal-bench-{os.getpid()}:"  # common.Gunicorn's REDIS_PREFIX
        try:
            out["web_workers"] = server.web_workers()
            health, health_rate, _cpu = signups.concurrent_healthz(N_CODES)
            out["healthz"], out["healthz_rate"] = health, health_rate
            warm_results = signups.in_threads(post_code, warm, CLIENTS)
            cpu0, server0 = signups.cpu_seconds(), signups.cpu_seconds(server.process.pid)
            pg0, client0 = signups.postgres_cpu(), time.process_time()
            redis0, worker0 = redis_cpu(), server.worker_cpu()
            t0 = time.perf_counter()
            results = signups.in_threads(post_code, run, args.clients)
            wall = time.perf_counter() - t0
            n = max(1, len(results))
            out.update(
                wall_s=wall, results=results,
                cpu_ms=(signups.cpu_seconds() - cpu0) * 1000 / n,
                server_cpu_ms=(signups.cpu_seconds(server.process.pid) - server0) * 1000 / n,
                postgres_cpu_ms=(signups.postgres_cpu() - pg0) * 1000 / n,
                redis_cpu_ms=(redis_cpu() - redis0) * 1000 / n,
                worker_cpu_ms=(server.worker_cpu() - worker0) * 1000 / n,
                client_cpu_ms=(time.process_time() - client0) * 1000 / n)
            # The throttle works: the same number again at once, 21 codes from one address.
            again = signups.in_threads(post_code, [run[0]], 1)
            burst = signups.in_threads(post_code, one_address, 1)
            out["again"] = again[0][1] if again else None
            out["burst"] = Counter(r[1] for r in burst)
        finally:
            server.stop()
        log_text = (Path(tmp) / "gunicorn.log").read_text(errors="replace")
        out["server_errors"] = [line for line in log_text.splitlines()
                                if "Traceback" in line or "ERROR" in line]
        sent = [r[2] for r in warm_results + results + again + burst if r[1] == 202]
        lines = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()] \
            if outbox.exists() else []
        out["outbox_lines"] = len(lines)
        out["bad_codes"] = sum(1 for m in lines
                               if not re.fullmatch(r"\d{6}", m["params"].get("code", "")))
        out["outbox_matches"] = sorted(m["phone"] for m in lines) == sorted(sent)
        out["sent"] = len(sent)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out["rows"] = conn.scalar(sa.text("SELECT count(*) FROM sms_codes"))
    engine.dispose()
    conn = redis.Redis.from_url(redis_url)
    keys = list(conn.scan_iter(match=prefix + "*", count=1000))
    out["redis_numbers"] = sum(1 for k in keys if b":throttle:sms-phone:" in k)
    for start in range(0, len(keys), 1000):   # ours only: this run's prefix
        conn.delete(*keys[start:start + 1000])
    conn.close()
    return out


# --- explain ------------------------------------------------------------------------------------

def explain(app, info: dict) -> None:
    """Each request's statements with their times, and the plans of the two slowest."""
    with app.app_context():
        engine = db.engine
    pg = engine.dialect.name == "postgresql"
    seen: list[tuple[float, str, object]] = []
    starts: dict[int, float] = {}

    def before(conn, cursor, statement, parameters, context, executemany):
        starts[id(cursor)] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        seen.append(((time.perf_counter() - starts.pop(id(cursor), time.perf_counter())) * 1000,
                     statement, parameters))

    client = app.test_client()
    bureau = {"Authorization": "Bearer " + info["token"]}
    paths = {f"list: {label}": ("/api/v1/needs" + ("?" + urlencode(a) if a else ""), {})
             for label, a in list_filters(info).items()}
    paths["suggestions"] = (f"/api/v1/needs/{info['suggested'][0]}/suggestions", bureau)
    paths["stats/needs"] = (f"/api/v1/stats/needs?area={CITY}", bureau)
    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        for label, (path, headers) in paths.items():
            client.get(path, headers=headers)   # warm
            seen.clear()
            t0 = time.perf_counter()
            client.get(path, headers=headers)
            total = (time.perf_counter() - t0) * 1000
            print(f"  -- {label}: {len(seen)} statements, {sum(s[0] for s in seen):.1f} ms of "
                  f"{total:.1f} ms in SQL")
            for ms, statement, _p in seen:
                print(f"     {ms:6.2f} ms  {' '.join(statement.split())[:110]}")
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN "
            for ms, statement, parameters in sorted(seen, key=lambda s: -s[0])[:2]:
                print(f"     plan of the {ms:.2f} ms statement:")
                with engine.connect() as conn:
                    for row in conn.exec_driver_sql(prefix + statement, parameters):
                        print("       " + " | ".join(str(v) for v in row))
                    conn.rollback()
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)


# --- report -------------------------------------------------------------------------------------

def line(label: str, samples: list[float], base: float | None = None, goal: float | None = None,
         width: int = 42) -> str:
    p50, p95 = statistics.median(samples), pct(samples, 0.95)
    ratio = f"{p50 / base:6.2f}x" if base else " " * 7
    mark = "" if goal is None else ("  met" if p95 < goal else "  MISSED")
    return f"  {label:{width}} {p50:8.2f} {p95:8.2f} {ratio}{mark}"


def report(name: str, info: dict, lists: dict, suggest: dict, dash: dict, sms: dict | None,
           args) -> None:
    states = ", ".join(f"{s.value} {info['by_state'].get(s.value, 0):,}" for s in STATE_WEIGHTS)
    print(f"\n{name}: {info['users']:,} users, {info['needs']:,} needs ({states}; "
          f"{info['stale']:,} stale), {info['supports']:,} supports, {info['matches']:,} "
          f"matches, {info['orgs']:,} organisations, {info['activities']:,} activities "
          f"({info['future_activities']:,} with shifts ahead), {info['shifts']:,} shifts, "
          f"{info['projects']} projects ({N_OPEN_PROJECTS} open); data made in "
          f"{info['generate_s']:.0f} s, loaded in {info['load_s']:.0f} s; "
          f"{args.runs} runs a row")
    print("  load average (1 min) before/after each part, "
          f"{os.cpu_count()} cores: " + ", ".join(
              f"{key} {a:.2f}/{b:.2f}" for key, (a, b) in info["loads"].items()))
    head = f"  {'':42} {'p50 ms':>8} {'p95 ms':>8} {'vs raw':>7}"
    print("  1. GET /api/v1/needs (anonymous, Flask test client) vs raw COUNT + page of 20")
    print(head + "  goal p95 < 50 ms")
    worst = ("", 0.0, 0.0)
    met_lists = 0
    for label, r in lists.items():
        raw = statistics.median(r["raw"])
        print(line(f"raw: {label}", r["raw"]))
        print(line(f"API: {label} ({r['total']:,})", r["http"], raw, LIST_GOAL_MS))
        p95 = pct(r["http"], 0.95)
        met_lists += p95 < LIST_GOAL_MS
        if p95 > worst[1]:
            worst = (label, p95, statistics.median(r["http"]) / raw)
    print("  2. GET /api/v1/needs/<id>/suggestions (bureau token), "
          f"{len(suggest['items'])} verified needs ({statistics.mean(suggest['items']):.1f} "
          "items each) vs raw need + matches + the 3 candidate queries")
    print(head + "  goal p95 < 100 ms")
    s_raw = statistics.median(suggest["raw"])
    print(line("raw", suggest["raw"]))
    print(line("API suggestions", suggest["http"], s_raw, SUGGEST_GOAL_MS))
    print("  3. the city's needs dashboard vs raw SELECT status, category, count(*) GROUP BY")
    print(head)
    d_raw = statistics.median(dash["raw GROUP BY"])
    for label, samples in dash.items():
        print(line(label, samples, None if label == "raw GROUP BY" else d_raw)
              + ("  (context: the same figures by counting every need, as before the tallies)"
                 if label.startswith("raw figures") else ""))
    s_p95 = pct(suggest["http"], 0.95)
    fig = statistics.median(dash["figures()"])
    print(f"{name:<10} goal: list p95 < {LIST_GOAL_MS:.0f} ms {met_lists}/{len(lists)} filters "
          f"{'met' if met_lists == len(lists) else 'MISSED'} (worst {worst[0]}: p95 "
          f"{worst[1]:.1f} ms, p50 {worst[2]:.1f}x raw)")
    print(f"{name:<10} goal: suggestions p95 < {SUGGEST_GOAL_MS:.0f} ms {s_p95:.1f} ms "
          f"{'met' if s_p95 < SUGGEST_GOAL_MS else 'MISSED'} (p50 "
          f"{statistics.median(suggest['http']):.1f} ms, "
          f"{statistics.median(suggest['http']) / s_raw:.1f}x raw)")
    print(f"{name:<10} goal: dashboard figures() <= {DASHBOARD_RATIO:.0f}x raw GROUP BY "
          f"{fig / d_raw:.2f}x {'met' if fig <= DASHBOARD_RATIO * d_raw else 'MISSED'} "
          f"(figures() {fig:.1f} ms, raw {d_raw:.1f} ms; figures() "
          f"{fig / statistics.median(dash['raw figures, by hand']):.2f}x counting every need "
          "by hand; HTTP "
          f"{statistics.median(dash['HTTP stats/needs']):.1f} ms)")
    if sms is None:
        return
    results = sms["results"]
    samples = [r[0] for r in results]
    statuses = Counter(r[1] for r in results)
    rate = statuses.get(202, 0) / sms["wall_s"]
    checks = (sms["outbox_lines"] == sms["sent"] and sms["outbox_matches"]
              and not sms["bad_codes"] and sms["rows"] == sms["sent"]
              and sms["redis_numbers"] == sms["sent"])
    print(f"  4. POST /api/v1/auth/sms-codes over HTTP: gunicorn -w {sms['web_workers']} (sync), "
          f"Redis limits, log gateway, {args.clients} clients, distinct numbers and addresses")
    print(f"  {'':34} {'p50 ms':>8} {'p95 ms':>8} {'rate':>9}")
    print(f"  {f'healthz, {CLIENTS} clients':34} {statistics.median(sms['healthz']):8.2f} "
          f"{pct(sms['healthz'], 0.95):8.2f} {sms['healthz_rate']:7.0f}/s")
    print(f"  {f'sms-codes, {args.clients} clients':34} {statistics.median(samples):8.2f} "
          f"{pct(samples, 0.95):8.2f} {rate:7.0f}/s  (p99 {pct(samples, 0.99):.1f} ms)")
    ours = (sms["server_cpu_ms"] + sms["postgres_cpu_ms"] + sms["redis_cpu_ms"]
            + sms["worker_cpu_ms"] + sms["client_cpu_ms"])
    cores = os.cpu_count() or 1
    print(f"  {len(results)} of {args.codes} requests in {sms['wall_s']:.1f} s, status "
          f"{dict(sorted(statuses.items()))}; CPU per code: gunicorn {sms['server_cpu_ms']:.2f} "
          f"ms, postgres {sms['postgres_cpu_ms']:.2f} ms, redis {sms['redis_cpu_ms']:.2f} ms, "
          f"job worker {sms['worker_cpu_ms']:.2f} ms, these clients "
          f"{sms['client_cpu_ms']:.2f} ms: {ours:.2f} ms; whole machine {sms['cpu_ms']:.2f} ms "
          f"({cores} cores), so other processes took {max(0.0, sms['cpu_ms'] - ours):.2f} ms; "
          f"with the machine to itself the CPU would allow ~{cores * 1000 / ours:.0f} codes/s")
    print(f"  checks {'OK' if checks else 'FAILED'}: {sms['sent']} codes answered 202 (warm-up "
          f"and limit checks included), outbox {sms['outbox_lines']} lines "
          f"({'the same numbers' if sms['outbox_matches'] else 'OTHER numbers'}, "
          f"{sms['bad_codes']} codes not 6 digits), {sms['rows']} sms_codes rows, "
          f"{sms['redis_numbers']} numbers counted in Redis; the same number again at once: "
          f"{sms['again']}; 21 codes from one address: {dict(sorted(sms['burst'].items()))}")
    if sms["server_errors"]:
        print(f"  gunicorn log: {len(sms['server_errors'])} error lines, first: "
              f"{sms['server_errors'][0]}")
    print(f"{name:<10} goal: SMS codes >= {SMS_GOAL_RATE:.0f}/s {rate:.0f}/s "
          f"{'met' if rate >= SMS_GOAL_RATE and checks else 'MISSED'} (p50 "
          f"{statistics.median(samples):.1f} ms, p95 {pct(samples, 0.95):.1f} ms; healthz "
          f"{sms['healthz_rate']:.0f}/s; {statuses.get(202, 0)}/{args.codes} sent; checks "
          f"{'OK' if checks else 'FAILED'})")


def run(name: str, url: str, args) -> None:
    app = make_app(url)
    migrate(app)
    info = load(app, args)
    loads = info["loads"] = {}   # the machine's load average (1 min) before and after each part

    def part(key, fn, *a):
        before = os.getloadavg()[0]
        result = fn(*a)
        loads[key] = (before, os.getloadavg()[0])
        return result

    lists = part("list", measure_list, app, info, args.runs)
    suggest = part("suggestions", measure_suggestions, app, info, args.runs)
    dash = part("dashboard", measure_dashboard, app, info, args.runs)
    with app.app_context():
        db.engine.dispose()
    sms = None
    if name != "postgresql":
        print(f"\n{name}: SMS codes not measured (PostgreSQL + Redis only)")
    elif not args.redis_url:
        print(f"\n{name}: SMS codes not measured: give --redis-url (or BENCH_REDIS_URL)")
    else:
        sms = part("sms", measure_sms, url, args.redis_url, args)
    report(name, info, lists, suggest, dash, sms, args)
    if args.explain:
        print(f"  {name}: statements and plans (Flask test client, in-process):")
        explain(app, info)
    with app.app_context():
        db.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="PostgreSQL URL (default: $BENCH_DATABASE_URL); its public schema "
                             "is dropped, and its name must contain 'bench'")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"),
                        help="Redis for the SMS run's limits (default: $BENCH_REDIS_URL); its "
                             "keys get a prefix of the run's own and are deleted afterwards")
    parser.add_argument("--runs", type=int, default=50,
                        help="timed runs of each row (default 50, after 3 warm-up runs)")
    parser.add_argument("--users", type=int, default=N_USERS,
                        help=f"resident accounts (default {N_USERS:,})")
    parser.add_argument("--needs", type=int, default=N_NEEDS,
                        help=f"needs (default {N_NEEDS:,})")
    parser.add_argument("--codes", type=int, default=N_CODES,
                        help=f"SMS codes asked for in the timed run (default {N_CODES:,})")
    parser.add_argument("--clients", type=int, default=CLIENTS,
                        help=f"client threads of the SMS run (default {CLIENTS})")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn's sync workers (default: gunicorn.conf.py's)")
    parser.add_argument("--explain", action="store_true",
                        help="also print each request's statements and the slowest plans")
    args = parser.parse_args(argv)

    if args.db in ("postgresql", "both"):
        if args.pg_url:
            args.pg_url = normalise_url(args.pg_url)
            check_pg_url(args.pg_url)
        else:
            print("PostgreSQL skipped: set BENCH_DATABASE_URL or pass --pg-url, e.g. "
                  "postgresql+psycopg://postgres@127.0.0.1:55499/portal_bench")

    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
            run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    if args.db in ("postgresql", "both") and args.pg_url:
        run("postgresql", args.pg_url, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
