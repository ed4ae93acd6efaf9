"""Who may run, bid on, review and evaluate projects."""

from __future__ import annotations

from portal.core.permissions import policy
from portal.core.users import Role


def _bureau_of(user, area_code: str | None) -> bool:
    return user is not None and user.covers(Role.bureau, area_code)


@policy("project.create")
def _create(user, area_code) -> bool:
    return _bureau_of(user, area_code)


@policy("project.manage")
def _manage(user, project) -> bool:
    """Publish, assign reviewers, see every sheet, award, milestones: the bureau of the area."""
    return _bureau_of(user, project.area_code)


@policy("project.view")
def _view(user, project) -> bool:
    """Drafts belong to the bureau; everything published is public (信息公开)."""
    from portal.projects.models import ProjectState

    return project.status is not ProjectState.draft or _manage(user, project)


@policy("project.evaluate")
def _evaluate(user, project) -> bool:
    """The bureau, or a third-party evaluator of the area."""
    return _manage(user, project) or (user is not None
                                      and user.covers(Role.evaluator, project.area_code))


@policy("catalogue.manage")
def _catalogue(user, area_code) -> bool:
    return _bureau_of(user, area_code)


@policy("bid.create", admin=False)
def _bid_create(user, org) -> bool:
    """Only an organisation's admin bids for it."""
    return user is not None and user.id in org.admin_ids()


@policy("bid.edit", admin=False)
def _bid_edit(user, bid) -> bool:
    return user is not None and user.id in bid.org.admin_ids()


def assigned(user, project) -> bool:
    from portal.extensions import db
    from portal.projects.models import Assignment

    if user is None:
        return False
    return db.session.query(Assignment.id).filter_by(project_id=project.id,
                                                     user_id=user.id).first() is not None


def sealed(project) -> bool:
    """Bids are sealed until bidding closes: reviewers see them only from `reviewing` on."""
    from portal.core.db import utcnow
    from portal.projects.models import ProjectState

    return project.status is ProjectState.draft or (
        project.status is ProjectState.open and utcnow() < project.bid_deadline)


@policy("bid.view")
def _bid_view(user, bid) -> bool:
    return _bid_edit(user, bid) or _manage(user, bid.project) or (
        assigned(user, bid.project) and not sealed(bid.project))


@policy("bid.score", admin=False)
def _bid_score(user, bid) -> bool:
    """A personal act: only an assigned reviewer scores, never the admin on their behalf."""
    return assigned(user, bid.project)


@policy("milestone.report", admin=False)
def _report(user, milestone) -> bool:
    bid = milestone.project.awarded_bid
    return user is not None and bid is not None and user.id in bid.org.admin_ids()
