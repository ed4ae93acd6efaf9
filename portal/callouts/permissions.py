"""Who calls out volunteers (the bureau or a community worker, for their own area or below)
and who runs a call-out (the staff who could have called it); a call-out's activity is
recorded by its coordinator while they hold that role."""

from __future__ import annotations

from portal.core.permissions import policy
from portal.core.users import Role


def calls_somewhere(user) -> bool:
    """May call out at all (then for which area is `callout.create`'s)."""
    return user is not None and (user.is_admin or user.has_role(Role.bureau)
                                 or user.has_role(Role.community_worker))


def caller_scopes(user) -> list[str]:
    """The areas a user calls out in (and below): their bureau and community-worker areas."""
    return sorted(set(user.scopes(Role.bureau)) | set(user.scopes(Role.community_worker)))


def _calls(user, code: str) -> bool:
    return user is not None and (user.covers(Role.bureau, code)
                                 or user.covers(Role.community_worker, code))


@policy("callout.create")
def _create(user, area_code: str) -> bool:
    return _calls(user, area_code)


@policy("callout.manage")
def _manage(user, callout) -> bool:
    """The staff who could have called it (the caller while they still hold the role)."""
    return _calls(user, callout.area_code)


def coordinates(user, activity) -> bool:
    """A call-out's activity: its coordinator, while they still may call out there."""
    return (user is not None and activity.coordinator_id is not None
            and activity.coordinator_id == user.id and _calls(user, activity.community_code))
