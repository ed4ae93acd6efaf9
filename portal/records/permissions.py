"""Who may see, enter, approve and amend service records, and issue and revoke certificates.

谁组织谁记录，谁记录谁证明: the activity's organiser (its organisation's admins, or community
workers of its community) records and approves; the bureau of the area may see; the volunteer
sees their own and may ask for a correction. Nobody approves their own hours (services check it).
"""

from __future__ import annotations

from portal.callouts.permissions import coordinates
from portal.core.permissions import can, local_staff, policy
from portal.core.users import Role


def _own(user, volunteer) -> bool:
    return user is not None and volunteer.user_id is not None and volunteer.user_id == user.id


@policy("record.view")
def _view(user, service) -> bool:
    if user is None:
        return False
    return (_own(user, service.volunteer) or can(user, "activity.manage", service.activity)
            or user.covers(Role.bureau, service.activity.community_code))


def _recorder(user, activity) -> bool:
    """谁组织谁记录: an organisation's activity is recorded by its admins; a community's by its
    community workers."""
    if user is None:
        return False
    if coordinates(user, activity):
        return True  # a call-out's coordinator records its hours
    if activity.org is not None:
        return user.id in activity.org.admin_ids()
    return user.covers(Role.community_worker, activity.community_code)


@policy("record.create")
def _create(user, activity) -> bool:
    return _recorder(user, activity)


def recordable_activities(user):
    """`_recorder` as SQL, for lists: a condition on Activity true for the activities the user
    may record for (every one for an admin, as `policy` grants them)."""
    import sqlalchemy as sa

    from portal.activities.models import Activity
    from portal.core.areas import under
    from portal.orgs.models import OrgAdmin

    if user.is_admin:
        return sa.true()
    orgs = Activity.org_id.in_(sa.select(OrgAdmin.org_id).where(OrgAdmin.user_id == user.id))
    areas = [sa.and_(Activity.org_id.is_(None), under(Activity.community_code, code))
             for code in user.scopes(Role.community_worker)]
    coordinated = Activity.coordinator_id == user.id \
        if user.has_role(Role.bureau) or user.has_role(Role.community_worker) else sa.false()
    return sa.or_(orgs, coordinated, *areas)


@policy("record.decide")
def _decide(user, service) -> bool:
    """Approve, reject, amend, answer a correction: whoever organised (and recorded) it."""
    return _recorder(user, service.activity)


@policy("record.request_correction", admin=False)
def _correct(user, service) -> bool:
    return _own(user, service.volunteer)


@policy("certificate.request")
def _request(user, volunteer) -> bool:
    """The volunteer, or staff of the volunteer's area, for them."""
    if user is None:
        return False
    return _own(user, volunteer) or local_staff(user, volunteer.community_code)


@policy("certificate.view")
def _cert_view(user, cert) -> bool:
    return _request(user, cert.volunteer) or _cert_issuer(user, cert)


def _cert_issuer(user, cert) -> bool:
    if user is None:
        return False
    if cert.org is not None:
        return user.id in cert.org.admin_ids()
    return user.covers(Role.bureau, cert.volunteer.community_code)


@policy("certificate.revoke")
def _revoke(user, cert) -> bool:
    """The issuer's staff: the organisation's admins, or (a certificate over all organisers)
    the bureau of the volunteer's area."""
    return _cert_issuer(user, cert)


@policy("national.export")
def _export(user, area_code) -> bool:
    return user is not None and bool(area_code) and user.covers(Role.bureau, area_code)
