"""What the benchmarks share: the database URL rules, the app, migrations, names and numbers."""

from __future__ import annotations

import http.client
import math
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Settings for the benchmark's process and the servers and workers it starts (they inherit the
# environment): nothing is made under instance/.
BENCH_ENV = {
    "SECRET_KEY": "bench",
    "ID_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "ID_HASH_KEY": "bench-id-hash-key",
    "CERTIFICATE_KEY": "bench-certificate-key",
    # Cheap password hashes: the stored hashes are made with exactly these parameters, so the
    # portal verifies them fast and never re-hashes them.
    "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "8", "ARGON2_PARALLELISM": "1",
}
os.environ.update(BENCH_ENV)  # before anything imports the portal

MIGRATIONS = ROOT / "migrations"
DIVISIONS = ROOT / "portal" / "core" / "yingkou_divisions.csv"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文辉鹏"


def normalise_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def check_pg_url(url: str) -> None:
    name = sa.engine.make_url(url).database or ""
    if "bench" not in name:
        raise SystemExit(f"refusing to run against database {name!r}: this benchmark drops the "
                         "public schema, so the database name must contain 'bench'")


def make_app(url: str, **extra):
    from portal import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": url,
        "TESTING": True,
        "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8, "ARGON2_PARALLELISM": 1,
        "REDIS_URL": None,
        **extra,
    })


def migrate(app) -> None:
    """Empty the database (PostgreSQL: drop the public schema) and migrate to head."""
    from flask_migrate import upgrade

    from portal.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        upgrade(directory=str(MIGRATIONS))


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def phone(rng: random.Random) -> str:
    return "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))


def accumulate(values) -> list[float]:
    out, total = [], 0.0
    for value in values:
        total += value
        out.append(total)
    return out


def communities(rng: random.Random, townships: list[str], n: int = 800) -> list[dict]:
    """`n` generated communities under the real townships (rows for `areas`), as dashboard.py
    and signups.py make them: every township gets one, the rest at random; codes 001-199 urban
    (60%), 200-399 rural; population 1,000-12,000. Sorted by code."""
    from portal.core.areas import AreaKind, AreaLevel

    owners = townships + [rng.choice(townships) for _ in range(n - len(townships))]
    used: set[str] = set()
    rows: list[dict] = []
    for i, township in enumerate(owners, start=1):
        urban = rng.random() < 0.6
        low, high = (1, 199) if urban else (200, 399)
        while True:
            code = f"{township}{rng.randint(low, high):03d}"
            if code not in used:
                used.add(code)
                break
        population = rng.randint(1000, 12000)
        rows.append({
            "code": code, "name": f"第{i}{'社区' if urban else '村'}",
            "level": AreaLevel.community, "kind": AreaKind.urban if urban else AreaKind.rural,
            "parent_code": township, "population": population,
            "households": int(population / rng.uniform(2.4, 3.2))})
    rows.sort(key=lambda c: c["code"])
    return rows


def pct(samples: list[float], q: float) -> float:
    """The q-quantile (0.95 for p95) by the nearest-rank method."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn (sync workers: gunicorn.conf.py's number unless `workers` is given) against the
    benchmark database, in a subprocess, with the benchmark's settings and no REDIS_URL; with
    `redis_url` also a real `flask --app portal worker` on a queue and key prefix of its own
    (the production shape: jobs queued, delivered by the worker). Both write to `log_path`."""

    def __init__(self, url: str, log_path: Path, *, redis_url: str | None = None,
                 workers: int | None = None):
        self.port = free_port()
        self.log_path = log_path
        gunicorn = Path(sys.executable).parent / "gunicorn"
        command = [str(gunicorn)] if gunicorn.exists() else [sys.executable, "-m", "gunicorn"]
        env = dict(os.environ, DATABASE_URL=url, **BENCH_ENV)
        env.pop("REDIS_URL", None)
        if redis_url:
            env.update(REDIS_URL=redis_url, REDIS_PREFIX=f"portal-bench-{os.getpid()}:",
                       RQ_QUEUES=f"portal-bench-{os.getpid()}")
        self.log = open(log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.worker = None
        if redis_url:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "portal", "worker"], cwd=ROOT, env=env,
                stdout=self.log, stderr=subprocess.STDOUT)
        self.process = subprocess.Popen(
            [*command, *(["-w", str(workers)] if workers else []), "-b",
             f"127.0.0.1:{self.port}", "--no-control-socket", "wsgi:app"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.call("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit("gunicorn did not start:\n" + log_path.read_text()[-3000:])
            time.sleep(0.2)

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def call(self, method: str, path: str, body: bytes | None = None,
             headers: dict | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:
        """One request on a fresh connection (sync workers close it after each response)."""
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read(), response
        finally:
            conn.close()

    def stop(self) -> None:
        for process in (self.process, self.worker):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.log.close()
