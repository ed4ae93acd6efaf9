"""The one policy layer: every permission, for pages, API and templates alike.

`can(user, "action", obj)` answers; `authorize(...)` raises Forbidden. Each module registers the
rules for its own actions with @policy. An admin may do everything, except where a rule is
registered with admin=False (acts that belong to a person, such as scoring an assigned bid).
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _

from portal.core.audit import NO_AREA, object_area
from portal.core.errors import Forbidden
from portal.core.users import SCOPE_LEVELS, Grant, Role

_POLICIES: dict[str, tuple[Callable, bool]] = {}


def policy(action: str, *, admin: bool = True):
    def decorator(fn):
        if action in _POLICIES:
            raise RuntimeError(f"policy {action!r} registered twice")
        _POLICIES[action] = (fn, admin)
        return fn
    return decorator


def can(user, action: str, obj=None) -> bool:
    fn, admin_may = _POLICIES[action]  # an unknown action is a programming error
    if user is None or not getattr(user, "is_authenticated", False):
        user = None
    elif admin_may and user.is_admin:
        return True
    return bool(fn(user, obj))


def authorize(user, action: str, obj=None) -> None:
    if not can(user, action, obj):
        raise Forbidden(_("You are not allowed to do this."))


def local_staff(user, code: str | None) -> bool:
    """A community worker or the bureau of an area covering `code`: the staff who see and act
    for the people, needs and resources of that place."""
    return user is not None and (user.covers(Role.community_worker, code)
                                 or user.covers(Role.bureau, code))


def default_area(user) -> str | None:
    """The area a staff member's figures open on: their bureau area, else their community's."""
    for role in (Role.bureau, Role.community_worker):
        scopes = user.scopes(role)
        if scopes:
            return scopes[0]
    return "2108" if user.is_admin else None


def asked_area(user, action: str, code: str | None):
    """The area of a dashboard or a statistic (?area=, else the user's own): Forbidden unless
    `action` is allowed on it, NotFound if there is no such area. Pages and API alike."""
    from portal.core.areas import Area
    from portal.core.errors import NotFound
    from portal.extensions import db

    code = code or default_area(user)
    if code is None or not can(user, action, code):
        raise Forbidden(_("You are not allowed to do this."))
    area = db.session.get(Area, code)
    if area is None:
        raise NotFound(_("No such area."))
    return area


# --- areas ---------------------------------------------------------------------------------

@policy("area.create")
def _area_create(user, parent_code: str | None) -> bool:
    """Bureau staff add areas inside their own area; the city itself only an admin."""
    if user is None or not parent_code:
        return False
    return user.covers(Role.bureau, parent_code)


@policy("area.manage_any")
def _area_manage_any(user, _obj) -> bool:
    """May this user add areas at all? (Shows the form; the parent is checked on submit.)"""
    return user is not None and user.has_role(Role.bureau)


# --- users ---------------------------------------------------------------------------------

@policy("user.create")
def _user_create(user, _obj) -> bool:
    return user is not None and user.has_role(Role.bureau)


@policy("user.grant")
def _user_grant(user, grants: list[Grant]) -> bool:
    """A bureau user creates staff only inside their own area, and never an admin."""
    if user is None or not user.has_role(Role.bureau):
        return False
    for grant in grants:
        if grant.role == Role.admin:
            return False
        if grant.role in SCOPE_LEVELS and not (grant.area_code
                                               and user.covers(Role.bureau, grant.area_code)):
            return False
    return True


@policy("user.list")
def _user_list(user, _obj) -> bool:
    return user is not None and user.has_role(Role.bureau)


@policy("policy.publish")
def _policy_publish(user, _kind) -> bool:
    """The user agreement and the privacy policy: the city's bureau (and the admin)."""
    return user is not None and any(len(code) <= 4 for code in user.scopes(Role.bureau))


# --- audit and jobs -------------------------------------------------------------------------

@policy("audit.read")
def _audit_read(user, target: tuple[str, str]) -> bool:
    """The bureau reads the trail of objects in its area."""
    if user is None or not user.has_role(Role.bureau):
        return False
    area = object_area(*target)
    return bool(area) and area != NO_AREA and user.covers(Role.bureau, area)


@policy("job.view")
def _job_view(user, run) -> bool:
    return user is not None and run is not None and run.created_by == user.id
