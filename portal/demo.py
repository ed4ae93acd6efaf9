"""Demo data for `make run`: Yingkou's divisions, a few communities, staff of each role.

Idempotent: run it any number of times. The demo password is made once, kept in
instance/demo-password (never committed) and printed each time.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from portal.core.areas import Area, AreaData, create_area, import_areas
from portal.core.users import Grant, Role, User, create_user
from portal.extensions import db

COMMUNITIES = [
    # code, name, population, households
    ("210802001001", "八田地社区", 6200, 2300),
    ("210802001002", "胜利社区", 5400, 2050),
    ("210802002001", "建丰社区", 4800, 1800),
    ("210804100201", "熊岳村", 2600, 900),
    ("210804100202", "古城村", 1900, 700),
    ("210881102201", "高屯村", 2100, 760),
]

ACCOUNTS = [
    ("demo_admin", [Grant(Role.admin)]),
    ("demo_bureau", [Grant(Role.bureau, "2108")]),
    ("demo_bureau_zq", [Grant(Role.bureau, "210802")]),
    ("demo_worker", [Grant(Role.community_worker, "210802001001")]),
    ("demo_org", [Grant(Role.org_admin)]),
    ("demo_reviewer", [Grant(Role.reviewer)]),
    ("demo_volunteer", [Grant(Role.volunteer)]),
]


def demo_password() -> str:
    path = Path(current_app.instance_path) / "demo-password"
    if path.exists():
        return path.read_text().strip()
    password = "demo-" + secrets.token_urlsafe(9)
    path.write_text(password)
    path.chmod(0o600)
    return password


def create_demo(divisions_csv: Path) -> tuple[str, bool]:
    password = demo_password()
    import_areas(divisions_csv.read_text(encoding="utf-8"))
    created = False
    for code, name, population, households in COMMUNITIES:
        if db.session.get(Area, code) is None:
            create_area(AreaData(code=code, name=name, population=population,
                                 households=households), actor=None)
            created = True
    for username, grants in ACCOUNTS:
        if db.session.scalar(sa.select(User.id).where(User.username == username)) is None:
            create_user(username, password, grants, actor=None)
            created = True
    return password, created
