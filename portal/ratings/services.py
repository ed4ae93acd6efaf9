"""好差评: who may rate what (those who took part, within RATING_WINDOW_DAYS of it), the rating,
and the rectification case every 差评 opens: answered by the party rated within
RECTIFY_WORKING_DAYS working days, reviewed by the rater (closed, or reopened with a new
deadline), closed by itself RATING_REVIEW_DAYS after the answer without the rater's word, appealed
to the bureau, which voids the rating or sends the case back.

The rater's identity never reaches the party rated: notifications to it name the service and the
level, never the rater; its audit rows are of the object "rating" (the bureau's to read).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.core.areas import covers, under
from portal.core.audit import record
from portal.core.db import SHANGHAI, body_id, utcnow
from portal.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.core.notify import tell
from portal.core.users import Role, RoleGrant
from portal.core.workdays import add_working_days
from portal.extensions import db
from portal.ratings.models import (
    BAD,
    DIMENSIONS,
    LIVE_CASES,
    CaseState,
    RatedKind,
    Rating,
    Rectification,
)


@dataclass
class Served:
    """What a rater took part in: when, who answers for it, where."""
    at: datetime
    org_id: int | None
    community_code: str | None
    area_code: str
    title: str


def _window() -> timedelta:
    return timedelta(days=current_app.config["RATING_WINDOW_DAYS"])


def _volunteer_completed(user, activity_filter) -> datetime | None:
    """The end of the latest shift the user's volunteer completed among the activities."""
    from portal.activities.models import Activity, Shift, Signup, SignupState
    from portal.volunteers.models import Volunteer

    volunteer = Volunteer.of_user(user)
    if volunteer is None:
        return None
    return db.session.scalar(
        sa.select(sa.func.max(Shift.ends_at)).select_from(Signup)
        .join(Shift, Shift.id == Signup.shift_id).join(Activity, Activity.id == Shift.activity_id)
        .where(Signup.volunteer_id == volunteer.id, Signup.status == SignupState.completed,
               activity_filter))


def took_part(kind: RatedKind, object_id: int, user) -> Served:
    """What `user` took part in, or NotFound (no such object) / Forbidden (not theirs to rate:
    they did not take part, or it has not ended)."""
    from portal.activities.models import Activity
    from portal.charity.models import Wish, WishState
    from portal.needs.models import MatchKind, Need, NeedMatch, NeedState, ProjectNeed
    from portal.orgs.models import Org
    from portal.projects.models import Bid, Evaluation, Project, ProjectState

    refused = Forbidden(_("Only those who took part in it rate a service, once it is done."))
    if kind is RatedKind.activity:
        activity = db.session.get(Activity, object_id)
        if activity is None:
            raise NotFound(_("No such service to rate."))
        at = _volunteer_completed(user, Activity.id == activity.id)
        if at is None:
            raise refused
        return Served(at, activity.org_id, None if activity.org_id else activity.community_code,
                      activity.community_code, activity.title)
    if kind is RatedKind.org:
        org = db.session.get(Org, object_id)
        if org is None:
            raise NotFound(_("No such service to rate."))
        times = [_volunteer_completed(user, Activity.org_id == org.id), db.session.scalar(
            sa.select(sa.func.max(NeedMatch.created_at)).join(Need, Need.id == NeedMatch.need_id)
            .where(NeedMatch.kind == MatchKind.org, NeedMatch.target_id == org.id,
                   Need.posted_by == user.id))]
        times = [t for t in times if t is not None]
        if not times:
            raise refused
        return Served(max(times), org.id, None, org.community_code, org.name)
    if kind is RatedKind.need:
        need = db.session.get(Need, object_id)
        if need is None:
            raise NotFound(_("No such service to rate."))
        if need.posted_by != user.id or need.status is not NeedState.resolved:
            raise refused
        return Served(need.resolved_at, None, need.community_code, need.community_code,
                      need.title)
    if kind is RatedKind.wish:
        wish = db.session.get(Wish, object_id)
        if wish is None:
            raise NotFound(_("No such service to rate."))
        if wish.status is not WishState.confirmed or \
                not user.covers(Role.community_worker, wish.community_code):
            raise refused
        return Served(wish.confirmed_at, None, wish.community_code, wish.community_code,
                      wish.title)
    project = db.session.get(Project, object_id)
    if project is None or project.status is ProjectState.draft:
        raise NotFound(_("No such service to rate."))
    if project.status not in (ProjectState.in_progress, ProjectState.closed):
        raise refused
    worker_here = any(covers(project.area_code, scope) or covers(scope, project.area_code)
                      for scope in user.scopes(Role.community_worker))
    cited_poster = db.session.scalar(sa.select(sa.exists().where(
        ProjectNeed.project_id == project.id, ProjectNeed.need_id == Need.id,
        Need.posted_by == user.id)))
    if not (worker_here or cited_poster):
        raise refused
    org_id = db.session.scalar(sa.select(Bid.org_id).where(Bid.id == project.awarded_bid_id))
    at = utcnow()
    if project.status is ProjectState.closed:
        at = db.session.scalar(sa.select(Evaluation.evaluated_at).where(
            Evaluation.project_id == project.id)) or at
    return Served(at, org_id, None if org_id else project.area_code, project.area_code,
                  project.title)


def ask(user_id: int | None, kind: RatedKind, object_id: int, title: str) -> None:
    """Ask one who took part to rate, when the service ends (once per person and object); the
    list on /me asks too."""
    tell(user_id, "rating_asked", f"{kind.value}:{object_id}:{user_id}", _l("How did it go?"),
         _l("Rate “{title}” within {days} days, from your page."), title=title,
         days=current_app.config["RATING_WINDOW_DAYS"])


def ask_about_project(project, posters) -> None:
    """A project closes: ask who may rate it (took_part's rule): the residents whose needs it
    cited (`posters`) and the community workers of its area (at, above or under it)."""
    from portal.core.areas import in_line
    from portal.core.users import Role, RoleGrant

    workers = db.session.scalars(sa.select(RoleGrant.user_id).where(
        RoleGrant.role == Role.community_worker,
        in_line(RoleGrant.area_code, project.area_code))).all()
    for user_id in sorted(set(posters) | set(workers)):
        ask(user_id, RatedKind.project, project.id, project.title)


def _level(value, field: str, errors: dict) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        errors[field] = [_("A whole number from 1 (very dissatisfied) to 5 (very satisfied).")]
        return None
    return value


@dataclass
class RatingInput:
    object_type: object = None
    object_id: object = None
    level: object = None
    comment: object = None
    dimensions: object = None


def rate(data: RatingInput, *, rater) -> Rating:
    """A rating by someone who took part; a 差评 opens its rectification case."""
    errors: dict[str, list[str]] = {}
    try:
        kind = RatedKind(data.object_type)
    except ValueError:
        errors["object_type"] = [_("Not one of the allowed values.")]
        kind = None
    object_id = body_id(data.object_id)
    if object_id is None:
        errors["object_id"] = [_("The number of what is rated.")]
    level = _level(data.level, "level", errors)
    dims: dict[str, int] = {}
    if data.dimensions is not None:
        if not isinstance(data.dimensions, dict) or set(data.dimensions) - set(DIMENSIONS):
            errors["dimensions"] = [_("Attitude, quality and timeliness, each 1 to 5.")]
        else:
            for name, value in data.dimensions.items():
                dims[name] = _level(value, f"dimensions.{name}", errors)
    comment = data.comment.strip() if isinstance(data.comment, str) else None
    if data.comment is not None and not isinstance(data.comment, str) or \
            comment and len(comment) > 2000:
        errors["comment"] = [_("At most 2,000 characters.")]
    elif level in BAD and not comment:
        errors["comment"] = [_("Say what went wrong: a poor rating is answered and put right.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    served = took_part(kind, object_id, rater)
    now = utcnow()
    if now - served.at > _window():
        raise Conflict(_("Ratings are given within {days} days of the service.").format(
            days=current_app.config["RATING_WINDOW_DAYS"]))
    rating = Rating(object_type=kind, object_id=object_id, rater_id=rater.id, level=level,
                    comment=comment or None, rated_org_id=served.org_id,
                    rated_community_code=served.community_code, area_code=served.area_code,
                    served_at=served.at, created_at=now, month=month_of(now), **dims)
    try:
        with db.session.begin_nested():
            db.session.add(rating)
            db.session.flush()
    except sa.exc.IntegrityError:  # rated at the same moment, or before
        raise Conflict(_("You have rated this already.")) from None
    record(rater, "rating", rating.id, "create", to=str(level), area_code=served.area_code)
    if rating.bad:
        _open_case(rating, served, now)
    return rating


def month_of(at: datetime) -> int:
    local = at.astimezone(SHANGHAI)
    return local.year * 100 + local.month


def _due(now: datetime) -> datetime:
    return add_working_days(now, current_app.config["RECTIFY_WORKING_DAYS"])


def _open_case(rating: Rating, served: Served, now: datetime) -> Rectification:
    case = Rectification(rating_id=rating.id, rated_org_id=rating.rated_org_id,
                         rated_community_code=rating.rated_community_code,
                         area_code=rating.area_code, month=rating.month, opened_at=now,
                         due_at=_due(now))
    db.session.add(case)
    db.session.flush()
    _tell_party(case, "rating_bad", _l("A poor rating to put right"),
                _l("“{title}” was rated {level} of 5: “{comment}”. Answer by {due}."),
                title=served.title, level=rating.level, comment=rating.comment,
                due=_local(case.due_at))
    return case


def _local(at: datetime) -> str:
    """A deadline as people say it: the last day (due_at is the end of it, 24:00 Beijing)."""
    return (at - timedelta(seconds=1)).astimezone(SHANGHAI).strftime("%Y-%m-%d")


def party_ids(case: Rectification) -> list[int]:
    """The accounts that answer for a case: the organisation's admins, else the community's
    workers (grants on the community or an area above it)."""
    from portal.orgs.models import OrgAdmin

    if case.rated_org_id is not None:
        return list(db.session.scalars(sa.select(OrgAdmin.user_id).where(
            OrgAdmin.org_id == case.rated_org_id)))
    code = case.rated_community_code
    return list(db.session.scalars(sa.select(RoleGrant.user_id).where(
        RoleGrant.role == Role.community_worker,
        RoleGrant.area_code.in_([code[:n] for n in (4, 6, 9, 12) if n <= len(code)]))
        .distinct()))


def party_scope(user):
    """SQL: the cases `user` answers for (an organisation's admin, a community's worker), or
    None when they answer for none. `party_ids` is the same rule read the other way (the
    accounts of one case, to tell them)."""
    from portal.orgs.models import OrgAdmin

    conditions = []
    orgs = sa.select(OrgAdmin.org_id).where(OrgAdmin.user_id == user.id)
    if db.session.scalar(sa.select(sa.exists(orgs))):
        conditions.append(Rectification.rated_org_id.in_(orgs))
    for scope in user.scopes(Role.community_worker):
        conditions.append(under(Rectification.rated_community_code, scope))
    return sa.or_(*conditions) if conditions else None


def is_party(user, case: Rectification) -> bool:
    if user is None:
        return False
    scope = party_scope(user)
    return scope is not None and bool(db.session.scalar(sa.select(sa.exists().where(
        Rectification.id == case.id, scope))))


def _tell_party(case: Rectification, kind: str, heading, text, **values) -> None:
    """Once per case, kind and deadline; never the rater's name (they are protected)."""
    for user_id in party_ids(case):
        tell(user_id, kind, f"rectification:{case.id}:{case.due_at.isoformat()}", heading, text,
             **values)


def _transition(case: Rectification, expected, **values) -> None:
    """A case's move, from the state read: a change at the same moment is a 409."""
    changed = db.session.execute(
        sa.update(Rectification).where(Rectification.id == case.id,
                                       Rectification.status.in_(expected))
        .values(**values).execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict(_("This case is {state}: it cannot be done now.").format(
            state=case.status.title))
    db.session.expire(case)


def answer(case: Rectification, action, text, *, actor) -> Rectification:
    if not is_party(actor, case):
        raise Forbidden(_("Only the party rated answers its case."))
    errors: dict[str, list[str]] = {}
    if action not in ("fixed", "explained"):
        errors["action"] = [_("Fixed, or explained.")]
    text = text.strip() if isinstance(text, str) else ""
    if not text or len(text) > 5000:
        errors["text"] = [_("Say what was done, or why (the rater reads it).")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    now = utcnow()
    if case.status not in LIVE_CASES:
        raise Conflict(_("This case is {state}: it cannot be done now.").format(
            state=case.status.title))
    _transition(case, LIVE_CASES, status=CaseState.answered, answer_action=action,
                answer_text=text, answered_at=now, answered_late=now > case.due_at)
    record(actor, "rating", case.rating_id, "answer", to=action, area_code=case.area_code)
    tell(case.rating.rater_id, "rating_answered", f"rectification:{case.id}:{case.rounds}",
         _l("Your poor rating was answered"),
         _l("“{answer}” Are you satisfied? Say so within {days} days on your page."),
         answer=text, days=current_app.config["RATING_REVIEW_DAYS"])
    return case


def review(case: Rectification, satisfied, comment, *, actor) -> Rectification:
    if actor is None or case.rating.rater_id != actor.id:
        raise Forbidden(_("Only the rater reviews the answer."))
    if not isinstance(satisfied, bool):
        raise ValidationFailed.on("satisfied", _("Yes or no."))
    comment = comment.strip() if isinstance(comment, str) else None
    now = utcnow()
    if satisfied:
        _transition(case, (CaseState.answered,), status=CaseState.closed, reviewed_at=now,
                    review_comment=comment or None, closed_at=now)
    else:
        _transition(case, (CaseState.answered,), status=CaseState.reopened, reviewed_at=now,
                    review_comment=comment or None, due_at=_due(now),
                    rounds=Rectification.rounds + 1)
        _tell_party(case, "rating_reopened", _l("A poor rating was reopened"),
                    _l("The rater is not satisfied: “{comment}”. Answer again by {due}."),
                    comment=comment or "", due=_local(case.due_at))
    record(actor, "rating", case.rating_id, "review",
           to="satisfied" if satisfied else "reopened", area_code=case.area_code)
    return case


def appeal(case: Rectification, reason, *, actor) -> Rectification:
    if not is_party(actor, case):
        raise Forbidden(_("Only the party rated appeals."))
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationFailed.on("reason", _("Say why the rating is mistaken or malicious."))
    changed = db.session.execute(
        sa.update(Rectification).where(
            Rectification.id == case.id, Rectification.status != CaseState.voided,
            Rectification.status != CaseState.closed,
            sa.or_(Rectification.appealed_at.is_(None),
                   Rectification.decided_at.is_not(None)))
        .values(appeal_reason=reason, appealed_at=utcnow(), decided_at=None,
                decision_reason=None).execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict(_("An appeal is pending, or the case is over."))
    db.session.expire(case)
    record(actor, "rating", case.rating_id, "appeal", reason=reason, area_code=case.area_code)
    return case


def decide(case: Rectification, void, reason, *, actor) -> Rectification:
    """The bureau: the rating voided (it no longer counts) or the case back to the party."""
    if actor is None or not actor.covers(Role.bureau, case.area_code):
        raise Forbidden(_("The bureau of the area decides appeals."))
    if not isinstance(void, bool):
        raise ValidationFailed.on("void", _("Yes or no."))
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationFailed.on("reason", _("Say why (the party rated reads it)."))
    if case.appealed_at is None or case.decided_at is not None:
        raise Conflict(_("No appeal is pending on this case."))
    now = utcnow()
    if void:
        _transition(case, tuple(s for s in CaseState if s is not CaseState.voided),
                    status=CaseState.voided, decided_at=now, decision_reason=reason,
                    closed_at=now)
        db.session.execute(sa.update(Rating).where(Rating.id == case.rating_id).values(
            voided_at=now, void_reason=reason).execution_options(synchronize_session=False))
        db.session.expire(case.rating)
    else:
        _transition(case, tuple(s for s in CaseState if s is not CaseState.voided),
                    status=CaseState.open, decided_at=now, decision_reason=reason,
                    due_at=_due(now))
    record(actor, "rating", case.rating_id, "void" if void else "appeal_refused",
           reason=reason, area_code=case.area_code)
    _tell_party(case, "rating_decided", _l("Your appeal was decided"),
                _l("The bureau {outcome}: {reason}"),
                outcome=_l("voided the rating") if void else _l("sent the case back to you"),
                reason=reason)
    return case


# --- the worker's tick -----------------------------------------------------------------------

def close_unreviewed(now: datetime | None = None) -> int:
    """Answered cases the rater left unreviewed for RATING_REVIEW_DAYS close by themselves."""
    now = now or utcnow()
    cutoff = now - timedelta(days=current_app.config["RATING_REVIEW_DAYS"])
    return db.session.execute(
        sa.update(Rectification).where(Rectification.status == CaseState.answered,
                                       Rectification.answered_at < cutoff)
        .values(status=CaseState.closed, closed_at=now, closed_by_itself=True)
        .execution_options(synchronize_session=False)).rowcount


def remind_due(now: datetime | None = None) -> int:
    """The party is told the day before a live case is due (once per deadline)."""
    now = now or utcnow()
    sent = 0
    for case in db.session.scalars(sa.select(Rectification).where(
            Rectification.status.in_(LIVE_CASES), Rectification.due_at > now,
            Rectification.due_at <= now + timedelta(days=1),
            sa.or_(Rectification.reminded_for.is_(None),
                   Rectification.reminded_for != Rectification.due_at))):
        _tell_party(case, "rating_due", _l("A poor rating is due tomorrow"),
                    _l("Answer the case of “{comment}” by {due}."),
                    comment=case.rating.comment or "", due=_local(case.due_at))
        case.reminded_for = case.due_at
        sent += 1
    return sent


def tick() -> dict:
    """What the worker does for 好差评 every tick (portal.core.jobs.PERIODIC)."""
    return {"closed": close_unreviewed(), "reminded": remind_due()}
