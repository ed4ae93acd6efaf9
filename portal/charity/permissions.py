"""Who may do what with funds, pledges, the ledger, statements and micro-wishes."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g

from portal.core.permissions import local_staff, policy
from portal.core.users import Role
from portal.extensions import db
from portal.orgs.models import OrgAdmin


def _bureau_of(user, code: str | None) -> bool:
    return user is not None and user.covers(Role.bureau, code)



@policy("fund.open")
def _open(user, area_code: str | None) -> bool:
    """The bureau of the area opens a fund (for a township or community in it)."""
    return _bureau_of(user, area_code)


@policy("fund.open_any")
def _open_any(user, _obj) -> bool:
    return user is not None and user.has_role(Role.bureau)


@policy("fund.manage")
def _manage(user, fund) -> bool:
    """Pledges of offline donors, receipts and payments, statements: the host's admins.

    Asked of the database (an index probe), once per request, user and host: the ledger's
    writes need not load the host's admins, and a list of pledges asks once, not per row."""
    if user is None or fund is None or fund.host_org_id is None:
        return False
    known = g.setdefault("fund_admins", {})
    key = (user.id, fund.host_org_id)
    if key not in known:
        known[key] = db.session.scalar(sa.select(_keeps(fund.host_org_id, user.id)))
    return known[key]


def _keeps(org_id, user_id) -> sa.Exists:
    return sa.exists().where(OrgAdmin.org_id == org_id, OrgAdmin.user_id == user_id)


def fund_for(user, fund_id: int, *options):
    """The fund, and whether `user` keeps it (the answer `fund.manage` then gives without
    asking again), in one statement; None if there is no such fund."""
    from portal.charity.models import Fund

    row = db.session.execute(
        sa.select(Fund, _keeps(Fund.host_org_id, user.id).label("keeps"))
        .where(Fund.id == fund_id).options(*options)).one_or_none()
    if row is None:
        return None
    if row.Fund.host_org_id is not None:
        g.setdefault("fund_admins", {})[(user.id, row.Fund.host_org_id)] = row.keeps
    return row.Fund


@policy("fund.close")
def _close(user, fund) -> bool:
    return fund is not None and _bureau_of(user, fund.area_code)


@policy("fund.pledge")
def _pledge(user, _fund) -> bool:
    return user is not None


@policy("charity.stats")
def _stats(user, area_code: str | None) -> bool:
    return _bureau_of(user, area_code)


@policy("wish.publish")
def _publish(user, community_code: str | None) -> bool:
    """After a home visit: the community's workers."""
    return user is not None and bool(community_code) and \
        user.covers(Role.community_worker, community_code)


@policy("wish.manage")
def _wish_manage(user, wish) -> bool:
    """The beneficiary's name, phone and address, confirming and withdrawing: the community's
    workers and the bureau above."""
    return wish is not None and local_staff(user, wish.community_code)


@policy("wish.claim")
def _claim(user, _wish) -> bool:
    return user is not None
