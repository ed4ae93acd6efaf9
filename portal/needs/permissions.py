"""Who may do what with needs: one rule each, for pages and API alike (portal/core/permissions)."""

from __future__ import annotations

from portal.core.permissions import local_staff, policy
from portal.core.users import Role
from portal.needs.models import PUBLIC_STATES


@policy("need.post")
def _post(user, community_code: str | None) -> bool:
    """A resident for their own community; a community worker for a community they serve."""
    if user is None or not community_code:
        return False
    return user.community_code == community_code or \
        user.covers(Role.community_worker, community_code)


@policy("need.post_any")
def _post_any(user, _obj) -> bool:
    """May this user post needs at all (shows the form)?"""
    return user is not None and (user.has_role(Role.resident)
                                 or user.has_role(Role.community_worker))


@policy("need.manage")
def _manage(user, need) -> bool:
    """Verify, reject, merge, match, resolve: the community's workers and the bureau above."""
    return need is not None and local_staff(user, need.community_code)


@policy("need.manage_area")
def _manage_area(user, area_code: str | None) -> bool:
    return local_staff(user, area_code)


@policy("need.view")
def _view(user, need) -> bool:
    if need is None:
        return False
    if need.status in PUBLIC_STATES:
        return True
    return user is not None and (need.posted_by == user.id
                                 or local_staff(user, need.community_code))


@policy("need.contact")
def _contact(user, need) -> bool:
    """The name and phone of the resident a worker posted for, in full: the community's workers
    only (everyone else sees them masked, the public not at all)."""
    return need is not None and user is not None and \
        user.covers(Role.community_worker, need.community_code)


@policy("need.support")
def _support(user, _need) -> bool:
    return user is not None
