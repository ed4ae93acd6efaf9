"""Benchmark: the city-wide organisations coverage dashboard against one raw SQL GROUP BY.

Issue 3: a Yingkou-sized dataset (6 counties, 70 townships, 800 communities, 4,500
organisations, 6,000 community workers), the dashboard (`portal.orgs.queries.coverage` and
`GET /api/v1/stats/org-coverage?area=2108`) timed against one hand-written GROUP BY over the same
tables, on SQLite and PostgreSQL. Goal: the dashboard within 2x of the raw query and under 300 ms.

    .venv/bin/python benchmarks/dashboard.py --db sqlite
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:55432/portal_bench \
        .venv/bin/python benchmarks/dashboard.py --db postgresql

Not part of the test suite. PostgreSQL: the database's public schema is DROPPED and recreated,
so the script refuses any database whose name does not contain "bench".
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# create_app reads the environment first; keep it from making a secret under instance/.
os.environ.setdefault("SECRET_KEY", "bench")

from common import (  # noqa: E402  (benchmarks/ is the script's own folder on sys.path)
    DIVISIONS,
    accumulate,
    check_pg_url,
    make_app,
    migrate,
    normalise_url,
    person,
    phone,
)
from common import communities as generated_communities  # noqa: E402

from portal.core.areas import Area, AreaKind, AreaLevel, import_areas  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.orgs import uscc  # noqa: E402
from portal.orgs.models import (  # noqa: E402
    Certificate,
    LegalType,
    Org,
    OrgCategory,
    OrgState,
    Registration,
    Worker,
    WorkerKind,
)
from portal.orgs.queries import coverage  # noqa: E402

CITY = "2108"

N_COMMUNITIES = 800
N_ORGS = 4500
N_COMMUNITY_WORKERS = 6000  # the figure
N_SOCIAL_WORKERS = 900     # at organisations, on top
GOAL_MS = 300.0
GOAL_RATIO = 2.0

RAW_SQL = sa.text(
    "SELECT a.code, a.kind, COUNT(o.id) FROM areas a "
    "LEFT JOIN orgs o ON o.community_code = a.code AND o.status = 'active' "
    "WHERE a.level = 'community' AND a.code LIKE :prefix "
    "GROUP BY a.code, a.kind")
# For context only (not the goal): the other GROUP BY that coverage() needs, for indicators 4
# and 9 (community workers per 10,000 urban residents, certified share), also hand-written.
RAW_WORKERS_SQL = sa.text(
    "SELECT w.area_code, COUNT(*), SUM(CASE WHEN w.certificate IN "
    "('assistant', 'intermediate', 'senior') THEN 1 ELSE 0 END) FROM workers w "
    "WHERE w.kind = 'community_worker' AND w.active AND w.area_code LIKE :prefix "
    "GROUP BY w.area_code")

ORG_WORDS = {
    OrgCategory.life_service: "便民服务队",
    OrgCategory.charity: "爱心公益协会",
    OrgCategory.mutual_aid: "邻里互助会",
    OrgCategory.culture_sports: "文体协会",
    OrgCategory.rural_tech: "农技服务社",
    OrgCategory.community_affairs: "议事会",
    OrgCategory.other: "志愿服务团",
}
STATUS_WEIGHTS = {OrgState.active: 76, OrgState.pending: 8, OrgState.changes_requested: 2,
                  OrgState.rejected: 5, OrgState.suspended: 4, OrgState.dissolved: 5}
CERT_WEIGHTS = {Certificate.none: 62, Certificate.assistant: 22, Certificate.intermediate: 12,
                Certificate.senior: 4}
USCC_TYPES = {"1": LegalType.social_group, "2": LegalType.private_non_enterprise,
              "3": LegalType.foundation, "9": LegalType.other}


# --- setup ------------------------------------------------------------------------------------













def generate(rng: random.Random) -> tuple[list[dict], list[dict], list[dict]]:
    """Communities, organisations and workers for the 70 townships already imported."""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    townships = list(db.session.scalars(
        sa.select(Area.code).where(Area.level == AreaLevel.township).order_by(Area.code)))
    assert len(townships) == 70, len(townships)

    communities = generated_communities(rng, townships, N_COMMUNITIES)

    # Organisations: uneven spread (urban communities have more), so some meet the target.
    weights = [rng.gammavariate(2.0, 1.0) * (1.6 if c["kind"] is AreaKind.urban else 0.6)
               for c in communities]
    cum = list(accumulate(weights))
    statuses, status_w = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    categories = list(OrgCategory)
    bodies: set[str] = set()
    orgs: list[dict] = []
    for org_id in range(1, N_ORGS + 1):
        community = rng.choices(communities, cum_weights=cum)[0]
        category = rng.choice(categories)
        status = rng.choices(statuses, weights=status_w)[0]
        registered = rng.random() < 1 / 3
        code = legal = None
        if registered:
            while True:
                body = f"{rng.randrange(10 ** 8):08d}"
                if body not in bodies:
                    bodies.add(body)
                    break
            kind_digit = rng.choice("1112229")
            code = uscc.make("5" + kind_digit + community["code"][:6], body)
            legal = USCC_TYPES[kind_digit]
        created = now - timedelta(days=rng.randint(1, 2000))
        orgs.append({
            "id": org_id,
            "name": f"{community['name']}{ORG_WORDS[category]}{org_id}",
            "category": category,
            "registration": Registration.registered if registered else Registration.filed,
            "uscc": code, "legal_type": legal, "uscc_override_reason": None,
            "community_code": community["code"],
            "founded_on": date(2010, 1, 1) + timedelta(days=rng.randint(0, 5800)),
            "contact_name": person(rng), "contact_phone": phone(rng),
            "description": "社区社会组织（基准测试数据）",
            "rating": rng.choice(("1A", "2A", "3A", "4A", "5A"))
            if registered and status is OrgState.active and rng.random() < 0.3 else None,
            "status": status,
            "status_changed_at": created + timedelta(days=rng.randint(0, 30)),
            "created_by": None, "created_at": created,
        })

    # Workers: most are community workers of a community (by population), some social workers
    # of an organisation, counted in the organisation's home community.
    pop_cum = list(accumulate(c["population"] * (1.3 if c["kind"] is AreaKind.urban else 0.5)
                               for c in communities))
    certs, cert_w = list(CERT_WEIGHTS), list(CERT_WEIGHTS.values())
    workers: list[dict] = []
    for index in range(N_COMMUNITY_WORKERS + N_SOCIAL_WORKERS):
        common = {"name": person(rng), "phone": phone(rng),
                  "certificate": rng.choices(certs, weights=cert_w)[0],
                  "active": rng.random() < 0.97,
                  "created_at": now - timedelta(days=rng.randint(1, 1500))}
        if index < N_COMMUNITY_WORKERS:
            community = rng.choices(communities, cum_weights=pop_cum)[0]
            workers.append(dict(common, kind=WorkerKind.community_worker,
                                employer_community_code=community["code"],
                                employer_org_id=None, area_code=community["code"]))
        else:
            org = rng.choice(orgs)
            workers.append(dict(common, kind=WorkerKind.social_worker,
                                employer_community_code=None, employer_org_id=org["id"],
                                area_code=org["community_code"]))
    return communities, orgs, workers




def load(app) -> dict:
    """Divisions, generated data and an admin with an API token; returns the token."""
    from portal.core.users import Grant, Role, create_user

    t0 = time.perf_counter()
    with app.app_context():
        import_areas(DIVISIONS.read_text(encoding="utf-8"))
        db.session.commit()
        communities, orgs, workers = generate(random.Random(42))
        db.session.execute(sa.insert(Area), communities)
        db.session.execute(sa.insert(Org), orgs)
        db.session.execute(sa.insert(Worker), workers)
        create_user("bench-admin", "bench-password-1", [Grant(Role.admin)], actor=None)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text(
                    "SELECT setval(pg_get_serial_sequence('orgs', 'id'), (SELECT max(id) FROM "
                    "orgs))"))
                # What autovacuum does within a minute of such a load; plans need statistics.
                conn.execute(sa.text("ANALYZE"))
        counts = {name: db.session.scalar(sa.select(sa.func.count()).select_from(model))
                  for name, model in (("areas", Area), ("orgs", Org), ("workers", Worker))}
        counts["active_orgs"] = db.session.scalar(
            sa.select(sa.func.count()).where(Org.status == OrgState.active))
        counts["community_workers"] = db.session.scalar(
            sa.select(sa.func.count()).where(Worker.kind == WorkerKind.community_worker))
        db.session.remove()
    client = app.test_client()
    response = client.post("/api/v1/auth/tokens",
                           json={"username": "bench-admin", "password": "bench-password-1"})
    assert response.status_code == 201, response.get_json()
    counts["token"] = response.get_json()["token"]
    counts["load_s"] = time.perf_counter() - t0
    return counts


# --- measuring --------------------------------------------------------------------------------

def timed(fn: Callable[[], object], runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def measure(app, token: str, runs: int) -> dict[str, list[float]]:
    headers = {"Authorization": "Bearer " + token}
    client = app.test_client()
    results: dict[str, list[float]] = {}

    with app.app_context():
        city = db.session.get(Area, CITY)
        # Sanity: the dashboard's counts are the raw query's counts, community by community.
        cov = coverage(city)
        db.session.rollback()  # end the read, as a request's teardown does
        with db.engine.connect() as conn:
            raw_rows = conn.execute(RAW_SQL, {"prefix": CITY + "%"}).all()
        raw = {code: (kind, n) for code, kind, n in raw_rows}
        mine = {r.code: (r.kind, r.active_orgs) for r in cov.rows}
        assert mine == raw, "coverage() and the raw GROUP BY disagree"
        assert len(mine) == N_COMMUNITIES, len(mine)
        with db.engine.connect() as conn:
            per_area = conn.execute(RAW_WORKERS_SQL, {"prefix": CITY + "%"}).all()
        urban = {code for code, (kind, _n) in raw.items() if kind == AreaKind.urban.value}
        assert cov.workers["urban_community_workers"] == sum(
            n for code, n, _c in per_area if code in urban), "worker indicators disagree"
        body = client.get(f"/api/v1/stats/org-coverage?area={CITY}", headers=headers).get_json()
        assert {c["code"]: (c["kind"], c["active_orgs"]) for c in body["communities"]} == raw
        assert body["summary"]["active_orgs"] == sum(n for _k, n in raw.values())
        db.session.rollback()  # that request shared this context's session

        # Each timed unit is one transaction (begin, queries, rollback), on both sides: on SQLite
        # the portal begins every transaction IMMEDIATE, so an open one would block the other.
        with db.engine.connect() as conn:
            def raw_once():
                rows = conn.execute(RAW_SQL, {"prefix": CITY + "%"}).all()
                conn.rollback()
                return rows

            def raw_and_workers():
                rows = (conn.execute(RAW_SQL, {"prefix": CITY + "%"}).all(),
                        conn.execute(RAW_WORKERS_SQL, {"prefix": CITY + "%"}).all())
                conn.rollback()
                return rows

            results["raw"] = timed(raw_once, runs)
            results["raw+workers"] = timed(raw_and_workers, runs)

        def coverage_once():
            result = coverage(city, indicators=False)
            db.session.rollback()
            return result

        def dashboard_once():
            result = coverage(city)
            db.session.rollback()
            return result

        # coverage(): the org-coverage answer (the API's), in the app context's session as in a
        # request; the dashboard page adds the work-force indicators (the second GROUP BY).
        results["coverage()"] = timed(coverage_once, runs)
        results["+indicators"] = timed(dashboard_once, runs)
        db.session.remove()

    # HTTP: outside any app context, so that each request gets its own context and session,
    # as under gunicorn (inside one, requests would share this context's session).
    def http():
        response = client.get(f"/api/v1/stats/org-coverage?area={CITY}", headers=headers)
        assert response.status_code == 200, response.status_code
        response.get_data()

    results["HTTP"] = timed(http, runs)
    return results


def explain(app) -> None:
    """Query plans of coverage()'s queries and of the raw query."""
    with app.app_context():
        pg = db.engine.dialect.name == "postgresql"
        prefix = "EXPLAIN ANALYZE " if pg else "EXPLAIN QUERY PLAN "
        queries = {
            "communities": "SELECT code, name, kind, population FROM areas WHERE level = "
                           "'community' AND code LIKE '2108%' ORDER BY code",
            "org counts": "SELECT community_code, count(*) FROM orgs WHERE status = 'active' "
                          "AND community_code LIKE '2108%' GROUP BY community_code",
            "worker counts": "SELECT area_code, count(*) FROM workers WHERE kind = "
                             "'community_worker' AND active AND area_code LIKE '2108%' "
                             "GROUP BY area_code",
            "raw": RAW_SQL.text.replace(":prefix", "'2108%'"),
        }
        with db.engine.connect() as conn:
            if pg:
                collation = conn.execute(sa.text(
                    "SELECT datcollate FROM pg_database WHERE datname = current_database()"
                )).scalar()
                print(f"  database collation: {collation}")
            for name, sql in queries.items():
                print(f"  -- {name}")
                for row in conn.execute(sa.text(prefix + sql)):
                    print("    " + " | ".join(str(v) for v in row))


def report(name: str, counts: dict, results: dict[str, list[float]]) -> bool:
    raw = statistics.median(results["raw"])
    print(f"\n{name}: {counts['areas']} areas ({N_COMMUNITIES} communities), {counts['orgs']} "
          f"organisations ({counts['active_orgs']} active), {counts['workers']} workers "
          f"({counts['community_workers']} community workers); loaded in "
          f"{counts['load_s']:.1f} s; {len(results['raw'])} runs each")
    print(f"  {'':12} {'median':>9} {'p95':>9} {'vs raw':>8}")
    for label, samples in results.items():
        median = statistics.median(samples)
        ratio = "" if label == "raw" else f"{median / raw:.1f}x"
        note = {"raw+workers": "  (the two GROUP BYs the whole dashboard page needs)",
                "+indicators": f"  ({median / statistics.median(results['raw+workers']):.1f}x"
                               " raw+workers)"}.get(label, "")
        print(f"  {label:12} {median:7.2f}ms {p95(samples):7.2f}ms {ratio:>8}{note}")
    cov = statistics.median(results["coverage()"])
    http = statistics.median(results["HTTP"])
    ok_time = cov < GOAL_MS and http < GOAL_MS
    ok_ratio = cov <= GOAL_RATIO * raw
    print(f"{name:<10} raw {raw:.1f} ms  coverage() {cov:.1f} ms ({cov / raw:.1f}x)  "
          f"HTTP {http:.1f} ms ({http / raw:.1f}x)  goal: <{GOAL_MS:.0f} ms "
          f"{'met' if ok_time else 'MISSED'}, <={GOAL_RATIO:.0f}x "
          f"{'met' if ok_ratio else 'MISSED'}")
    return ok_time and ok_ratio


def run(name: str, url: str, args) -> bool:
    app = make_app(url, SECRET_KEY="bench")
    migrate(app)
    counts = load(app)
    token = counts.pop("token")
    results = measure(app, token, args.runs)
    met = report(name, counts, results)
    if args.explain:
        explain(app)
    with app.app_context():
        db.engine.dispose()
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="PostgreSQL URL (default: $BENCH_DATABASE_URL); its public schema "
                             "is dropped, and its name must contain 'bench'")
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each (default 30)")
    parser.add_argument("--explain", action="store_true", help="also print the query plans")
    args = parser.parse_args(argv)

    if args.db in ("postgresql", "both"):
        if args.pg_url:
            args.pg_url = normalise_url(args.pg_url)
            check_pg_url(args.pg_url)
        else:
            print("PostgreSQL skipped: set BENCH_DATABASE_URL or pass --pg-url, e.g. "
                  "postgresql+psycopg://postgres@127.0.0.1:55432/portal_bench")

    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
            run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    if args.db in ("postgresql", "both") and args.pg_url:
        run("postgresql", args.pg_url, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
