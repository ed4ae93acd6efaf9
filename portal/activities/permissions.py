"""Who may publish activities and who may sign whom up."""

from __future__ import annotations

from portal.callouts.permissions import coordinates
from portal.core.areas import Area
from portal.core.permissions import policy
from portal.core.users import Role
from portal.orgs.models import Org


def _organiser(user, activity) -> bool:
    """The activity's organisation's admins, or community workers of its community."""
    if user is None:
        return False
    if coordinates(user, activity):
        return True  # a call-out's coordinator
    if activity.org is not None and user.id in activity.org.admin_ids():
        return True
    return user.covers(Role.community_worker, activity.community_code)


@policy("activity.create")
def _create(user, organiser) -> bool:
    if user is None:
        return False
    if isinstance(organiser, Org):
        return user.id in organiser.admin_ids()
    if isinstance(organiser, Area):
        return user.covers(Role.community_worker, organiser.code)
    return False


@policy("activity.manage")
def _manage(user, activity) -> bool:
    return _organiser(user, activity)


@policy("signup.create")
def _signup(user, target) -> bool:
    """A volunteer signs themself up; the organiser may sign up someone on their behalf."""
    shift, volunteer = target
    if user is None:
        return False
    if volunteer.user_id is not None and volunteer.user_id == user.id:
        return True
    return _organiser(user, shift.activity)


@policy("signup.view")
def _view(user, signup) -> bool:
    if user is None:
        return False
    return signup.volunteer.user_id == user.id or _organiser(user, signup.shift.activity)


@policy("signup.manage")
def _manage_signup(user, signup) -> bool:
    return _view(user, signup)
