"""Who may do what with funds, pledges, the ledger, statements and micro-wishes."""

from __future__ import annotations

from portal.core.permissions import policy
from portal.core.users import Role


def _bureau_of(user, code: str | None) -> bool:
    return user is not None and user.covers(Role.bureau, code)


def _workers_of(user, code: str | None) -> bool:
    return user is not None and (user.covers(Role.community_worker, code)
                                 or user.covers(Role.bureau, code))


@policy("fund.open")
def _open(user, area_code: str | None) -> bool:
    """The bureau of the area opens a fund (for a township or community in it)."""
    return _bureau_of(user, area_code)


@policy("fund.open_any")
def _open_any(user, _obj) -> bool:
    return user is not None and user.has_role(Role.bureau)


@policy("fund.manage")
def _manage(user, fund) -> bool:
    """Pledges of offline donors, receipts and payments, statements: the host's admins."""
    return user is not None and fund is not None and fund.host is not None and \
        user.id in fund.host.admin_ids()


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
    return wish is not None and _workers_of(user, wish.community_code)


@policy("wish.claim")
def _claim(user, _wish) -> bool:
    return user is not None
