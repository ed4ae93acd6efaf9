"""Who may do what with organisations, incubations, workers and the indicators."""

from __future__ import annotations

from portal.core.areas import Area
from portal.core.permissions import policy
from portal.core.users import Role
from portal.orgs.models import Org, OrgState, Stage


def _bureau_of(user, code: str | None) -> bool:
    return user is not None and user.covers(Role.bureau, code)


def _admin_of(user, org: Org) -> bool:
    return user is not None and user.id in org.admin_ids()


@policy("org.register")
def _register(user, _obj) -> bool:
    return user is not None


@policy("org.view")
def _view(user, org: Org) -> bool:
    """Active organisations are public; the rest is seen by their admins and local staff."""
    if org.status is OrgState.active:
        return True
    return user is not None and (_admin_of(user, org) or _bureau_of(user, org.community_code)
                                 or user.covers(Role.community_worker, org.community_code))


@policy("org.view_private")
def _view_private(user, org: Org) -> bool:
    """Contact details, documents and the audit trail."""
    return user is not None and (_admin_of(user, org) or _bureau_of(user, org.community_code))


@policy("org.edit")
def _edit(user, org: Org) -> bool:
    return user is not None and (_admin_of(user, org) or _bureau_of(user, org.community_code))


@policy("org.review", admin=False)
def _review(user, org: Org) -> bool:
    """Only the bureau of the organisation's area reviews it (not the system operator)."""
    return _bureau_of(user, org.community_code)


@policy("org.resubmit")
def _resubmit(user, org: Org) -> bool:
    """The applicant resubmits after changes were requested."""
    return _admin_of(user, org)


@policy("org.override_uscc", admin=False)
def _override(user, org: Org) -> bool:
    """The bureau of the area, never one of the organisation's own admins."""
    return _bureau_of(user, org.community_code) and not _admin_of(user, org)


@policy("org.manage_admins")
def _manage_admins(user, org: Org) -> bool:
    return _admin_of(user, org)


@policy("incubation.apply", admin=False)
def _apply(user, org: Org) -> bool:
    return _admin_of(user, org)


@policy("incubation.move", admin=False)
def _move(user, target) -> bool:
    """The bureau moves an application; its organisation's admins may only withdraw it."""
    incubation, to = target
    if _bureau_of(user, incubation.org.community_code):
        return True
    return to is Stage.withdrawn and _admin_of(user, incubation.org)


@policy("incubation.view")
def _incubation_view(user, incubation) -> bool:
    return _bureau_of(user, incubation.org.community_code) or _admin_of(user, incubation.org)


@policy("incubation.list")
def _incubation_list(user, _obj) -> bool:
    return user is not None and user.has_role(Role.bureau)


@policy("coverage.view")
def _coverage(user, area_code: str | None) -> bool:
    """Community workers see their own community; the bureau its area; nobody else's."""
    return user is not None and area_code is not None and (
        user.covers(Role.bureau, area_code) or user.covers(Role.community_worker, area_code))


@policy("worker.register")
def _worker_register(user, employer) -> bool:
    if user is None:
        return False
    if isinstance(employer, Org):
        return _admin_of(user, employer) or _bureau_of(user, employer.community_code)
    if isinstance(employer, Area):
        return _bureau_of(user, employer.code) or user.covers(Role.community_worker,
                                                              employer.code)
    return False


@policy("worker.edit")
def _worker_edit(user, worker) -> bool:
    if user is None:
        return False
    if worker.employer_org is not None and _admin_of(user, worker.employer_org):
        return True
    return _bureau_of(user, worker.area_code) or (
        worker.employer_community_code is not None
        and user.covers(Role.community_worker, worker.employer_community_code))


@policy("worker.list")
def _worker_list(user, _obj) -> bool:
    return user is not None and (user.has_role(Role.bureau) or user.has_role(
        Role.community_worker) or user.has_role(Role.org_admin))
