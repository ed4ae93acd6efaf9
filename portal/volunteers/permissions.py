"""Who may see and change a volunteer."""

from __future__ import annotations

from portal.core.permissions import local_staff, policy
from portal.core.users import Role


def _self(user, volunteer) -> bool:
    return user is not None and volunteer.user_id is not None and volunteer.user_id == user.id


@policy("volunteer.view")
def _view(user, volunteer) -> bool:
    return _self(user, volunteer) or local_staff(user, volunteer.community_code)


@policy("volunteer.verify")
def _verify(user, volunteer) -> bool:
    """Community workers verify volunteers of their community; the bureau of their area too."""
    return local_staff(user, volunteer.community_code)


@policy("volunteer.edit")
def _edit(user, volunteer) -> bool:
    return _self(user, volunteer) or local_staff(user, volunteer.community_code)


@policy("volunteer.delete")
def _delete(user, volunteer) -> bool:
    return _self(user, volunteer)


@policy("volunteer.list")
def _list(user, _obj) -> bool:
    return user is not None and (user.has_role(Role.community_worker)
                                 or user.has_role(Role.bureau))


@policy("volunteer.register_for")
def _register_for(user, community_code: str | None) -> bool:
    """Staff register someone without a phone, in their own area."""
    return local_staff(user, community_code)
