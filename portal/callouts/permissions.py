"""Who calls out volunteers (the bureau or a community worker, for their own area or below)
and who runs a call-out (its coordinator, and the staff who could have called it)."""

from __future__ import annotations

from portal.core.permissions import policy
from portal.core.users import Role


def _calls(user, code: str) -> bool:
    return user is not None and (user.covers(Role.bureau, code)
                                 or user.covers(Role.community_worker, code))


@policy("callout.create")
def _create(user, area_code: str) -> bool:
    return _calls(user, area_code)


@policy("callout.manage")
def _manage(user, callout) -> bool:
    if user is None:
        return False
    return callout.created_by == user.id or _calls(user, callout.area_code)
