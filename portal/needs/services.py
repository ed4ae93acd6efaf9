"""需求清单 use cases: post, verify or reject, merge, support, match, resolve; projects citing
needs. Each is one transaction's worth of work; the caller commits. Every move is audited
(core.states.transition) and the poster is told of it in their language."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from portal.core import validators
from portal.core.areas import covers, under
from portal.core.audit import record
from portal.core.db import body_id
from portal.core.errors import Conflict, ValidationFailed
from portal.core.notify import tell
from portal.core.states import transition
from portal.extensions import db
from portal.needs.models import (
    NEED_MOVES,
    Channel,
    MatchKind,
    Need,
    NeedMatch,
    NeedState,
    NeedSupport,
    ProjectNeed,
    Urgency,
)
from portal.volunteers.catalogues import SERVICE_TYPES

S = NeedState
MAX_PEOPLE = 100_000


@dataclass
class NeedInput:
    community_code: str | None
    category: str | None
    title: str | None
    description: str | None
    people_affected: int | None = 1
    urgency: str | None = "normal"
    channel: str | None = None
    for_name: str | None = None     # on behalf of a resident (a community worker posting)
    for_phone: str | None = None


def _choice(enum_cls, value, field: str, errors: dict, default):
    if value in (None, ""):
        return default
    try:
        return enum_cls(value)
    except ValueError:
        errors[field] = [_("Not one of the allowed values.")]
        return default


def post_need(data: NeedInput, *, actor) -> Need:
    """A resident's need for their own community, or a worker's for a resident they met (the
    caller has been authorised for `need.post` on the community)."""
    errors: dict[str, list[str]] = {}
    title = (data.title or "").strip()
    description = (data.description or "").strip()
    if not title:
        errors["title"] = [_("This field is required.")]
    elif len(title) > 200:
        errors["title"] = [_("At most {n} characters.").format(n=200)]
    if not description:
        errors["description"] = [_("Say what is needed, for whom and where.")]
    elif len(description) > 5000:
        errors["description"] = [_("At most {n} characters.").format(n=5000)]
    if data.category not in SERVICE_TYPES:
        errors["category"] = [_("Not one of the allowed values.")]
    people = data.people_affected if data.people_affected is not None else 1
    if isinstance(people, bool) or not isinstance(people, int) or not 1 <= people <= MAX_PEOPLE:
        errors["people_affected"] = [_("A whole number from 1 to {n}.").format(n=MAX_PEOPLE)]
    urgency = _choice(Urgency, data.urgency, "urgency", errors, Urgency.normal)
    # A worker (not living there, or naming someone) posts for a resident: name and phone.
    worker = _worker_of(actor, data.community_code) or actor.is_admin
    own = actor.community_code == data.community_code
    for_name = for_phone = None
    if not worker and (data.for_name or data.for_phone):
        errors["on_behalf_of"] = [_("Only the community's workers post for someone else.")]
    if worker and (not own or data.for_name or data.for_phone):
        for_name = (data.for_name or "").strip()
        if not for_name or len(for_name) > 100:
            errors["on_behalf_of.name"] = [_("The resident's name is required.")]
        try:
            for_phone = validators.phone(data.for_phone or "")
        except ValueError as exc:
            errors["on_behalf_of.phone"] = [str(exc)]
    default_channel = Channel.visit if for_name is not None else Channel.online
    channel = _choice(Channel, data.channel, "channel", errors, default_channel)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    need = Need(community_code=data.community_code, category=data.category, title=title,
                description=description, people_affected=people, urgency=urgency,
                channel=channel, posted_by=actor.id, for_name=for_name, for_phone=for_phone)
    db.session.add(need)
    db.session.flush()
    record(actor, "need", need.id, "create", to=S.submitted.value, area_code=need.community_code)
    return need


def _worker_of(user, code: str | None) -> bool:
    from portal.core.users import Role

    return user.covers(Role.community_worker, code)


def _move(need: Need, to: NeedState, *, actor, reason: str | None = None,
          stamp: str | None = None, action: str = "transition") -> None:
    transition(need, to, NEED_MOVES, actor=actor, object_type="need",
               area_code=need.community_code, reason=reason, stamp=stamp, action=action)


def verify(need: Need, comment: str | None, *, actor) -> Need:
    _move(need, S.verified, actor=actor, reason=(comment or "").strip() or None,
          stamp="verified_at", action="verify")
    need.review_comment = (comment or "").strip() or None
    tell_poster(need, "need_verified", actor=actor)
    return need


def _said(text: str | None, field: str, message: str) -> str:
    """What a worker wrote for the resident: required."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed.on(field, message)
    return text


def reject(need: Need, reason: str | None, *, actor) -> Need:
    reason = _said(reason, "reason", _("Say why, for the resident."))
    _move(need, S.rejected, actor=actor, reason=reason, stamp="closed_at", action="reject")
    need.review_comment = reason
    tell_poster(need, "need_rejected", actor=actor, reason=reason)
    return need


def merge(need: Need, into_id, *, actor) -> Need:
    """A duplicate goes into the need kept; its supporters (and its poster) support that one."""
    into_id = body_id(into_id)
    target = db.session.get(Need, into_id) if into_id else None
    if target is None or target.id == need.id or target.community_code != need.community_code:
        raise ValidationFailed.on("into", _("Choose another need of the same community."))
    if target.status not in (S.submitted, S.verified, S.matched):
        raise ValidationFailed.on("into", _("That need is closed ({state}): choose an open one.")
                                  .format(state=target.status.title))
    _move(need, S.merged, actor=actor, reason=f"#{target.id}", stamp="closed_at",
          action="merge")
    need.merged_into_id = target.id
    table = NeedSupport.__table__
    carried = len(db.session.execute(sa.insert(table).from_select(
        ["need_id", "user_id", "created_at"],
        sa.select(sa.literal(target.id), NeedSupport.user_id, NeedSupport.created_at)
        .where(NeedSupport.need_id == need.id, ~_supports(target.id, NeedSupport.user_id))
    ).returning(table.c.id)).all())  # (rowcount is not told for INSERT ... SELECT everywhere)
    poster = need.posted_by
    if poster and poster != target.posted_by and _is_resident_poster(need) and \
            db.session.scalar(sa.select(NeedSupport.id).where(
                NeedSupport.need_id == target.id, NeedSupport.user_id == poster)) is None:
        db.session.add(NeedSupport(need_id=target.id, user_id=poster))
        carried += 1
    db.session.flush()
    if carried:
        db.session.execute(sa.update(Need).where(Need.id == target.id).values(
            supporters=Need.supporters + carried).execution_options(synchronize_session=False))
        db.session.expire(target, ["supporters"])
    tell_poster(need, "need_merged", actor=actor, other=target.title)
    return target


def _supports(need_id: int, user_id_column):
    other = sa.orm.aliased(NeedSupport)
    return sa.exists().where(other.need_id == need_id, other.user_id == user_id_column)


def _is_resident_poster(need: Need) -> bool:
    return need.for_name is None  # posted by the resident themself, not for them


def support(need: Need, *, user) -> int:
    """我也需要: once per person (again: the same answer); only a verified need. The poster's
    own need counts them already: the same answer, nothing added."""
    if need.status is not S.verified:
        raise Conflict(_("Only a verified need can be supported (this one is {state}).").format(
            state=need.status.title))
    if need.posted_by == user.id and _is_resident_poster(need):
        return need.supporters
    try:
        with db.session.begin_nested():
            db.session.add(NeedSupport(need_id=need.id, user_id=user.id))
            db.session.flush()
    except sa.exc.IntegrityError:  # supported already (perhaps a moment ago): same answer
        db.session.expire(need, ["supporters"])
        return need.supporters
    counted = db.session.execute(
        sa.update(Need).where(Need.id == need.id, Need.status == S.verified)
        .values(supporters=Need.supporters + 1)
        .returning(Need.supporters)).scalar()
    if counted is None:  # no longer verified: changed at the same moment
        raise Conflict(_("Someone else changed this at the same time. Please reload."))
    record(user, "need", need.id, "support", to=str(counted), area_code=need.community_code)
    db.session.expire(need, ["supporters"])
    return counted


# --- matches ----------------------------------------------------------------------------------

def match_target(kind: MatchKind, target_id) -> tuple[str, str | None] | None:
    """(title, area code) of a resource a need may be matched to, or None if there is none."""
    from portal.activities.models import Activity, ActivityState
    from portal.orgs.models import Org, OrgState
    from portal.projects.models import Project, ProjectState

    if body_id(target_id) is None:
        return None
    if kind is MatchKind.activity:
        row = db.session.get(Activity, target_id)
        return (row.title, row.community_code) if row is not None and \
            row.status is ActivityState.published else None
    if kind is MatchKind.org:
        row = db.session.get(Org, target_id)
        return (row.name, row.community_code) if row is not None and \
            row.status is OrgState.active else None
    if kind is MatchKind.project:
        row = db.session.get(Project, target_id)
        return (row.title, row.area_code) if row is not None and row.status not in (
            ProjectState.draft, ProjectState.cancelled) else None
    if kind is MatchKind.fund:
        from portal.charity.models import Fund, FundState

        row = db.session.get(Fund, target_id)
        return (row.name, row.area_code) if row is not None and \
            row.status is FundState.open else None
    return None


def add_match(need: Need, kind, target_id, note: str | None, *, actor) -> NeedMatch:
    errors: dict[str, list[str]] = {}
    try:
        kind = MatchKind(kind)
    except ValueError:
        errors["kind"] = [_("Not one of the allowed values.")]
        kind = None
    target = match_target(kind, target_id) if kind else None
    if kind and target is None:
        errors["target_id"] = [_("No such {kind} to match.").format(kind=kind.title)]
    elif kind is MatchKind.fund and not covers(target[1], need.community_code):
        errors["target_id"] = [_("A fund of the need's community or township.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    if need.status not in (S.verified, S.matched):
        raise Conflict(_("Only a verified need is matched (this one is {state}).").format(
            state=need.status.title))
    return _add_match(need, kind, target_id, note, target[0], actor=actor)


def _add_match(need: Need, kind: MatchKind, target_id: int, note: str | None, title: str, *,
               actor, quiet: bool = False) -> NeedMatch | None:
    row = NeedMatch(need_id=need.id, kind=kind, target_id=target_id,
                    note=(note or "").strip() or None, created_by=actor.id if actor else None)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except sa.exc.IntegrityError:
        if quiet:
            return None
        raise Conflict(_("This need is matched to that already.")) from None
    if need.status is S.verified:
        _move(need, S.matched, actor=actor, reason=f"{kind.value}:{target_id}",
              stamp="matched_at", action="match")
        if need.verified_at is not None:
            need.minutes_to_match = max(
                int((need.matched_at - need.verified_at).total_seconds() // 60), 0)
    else:
        record(actor, "need", need.id, "match", to=f"{kind.value}:{target_id}",
               area_code=need.community_code)
    tell_poster(need, "need_matched", actor=actor, subject=f"need:{need.id}:{row.id}",
                other=title)
    return row


def resolve(need: Need, comment: str | None, *, actor) -> Need:
    comment = _said(comment, "comment", _("Say how the need was met, for the resident."))
    _move(need, S.resolved, actor=actor, reason=comment, stamp="resolved_at", action="resolve")
    need.resolution = comment
    tell_poster(need, "need_resolved", actor=actor, reason=comment)
    if _is_resident_poster(need):  # 好差评: they rate how it was met
        from portal.ratings.models import RatedKind
        from portal.ratings.services import ask

        ask(need.posted_by, RatedKind.need, need.id, need.title)
    return need


# --- projects citing needs ------------------------------------------------------------------

def check_citable(area_code: str | None, need_ids, errors: dict) -> list[int]:
    """The needs a new project cites: verified or matched, inside the project's area."""
    if not need_ids:
        return []
    if not isinstance(need_ids, list):
        errors["need_ids"] = [_("A list of different need numbers.")]
        return []
    ids = [n for n in need_ids if body_id(n) is not None]
    if len(ids) != len(need_ids) or len(set(ids)) != len(ids) or len(ids) > 200:
        errors["need_ids"] = [_("A list of different need numbers.")]
        return []
    found = {n.id: n for n in db.session.scalars(sa.select(Need).where(Need.id.in_(ids)))}
    bad = [i for i in ids if i not in found
           or found[i].status not in (S.verified, S.matched)
           or not (area_code and covers(area_code, found[i].community_code))]
    if bad:
        errors["need_ids"] = [_("Needs {ids} are not verified needs of this area.").format(
            ids=", ".join(f"#{i}" for i in bad))]
        return []
    return ids


def cite(project, need_ids: list[int]) -> None:
    for need_id in need_ids:
        db.session.add(ProjectNeed(project_id=project.id, need_id=need_id))
    db.session.flush()


def cited_needs(project_id: int) -> list[Need]:
    return list(db.session.scalars(
        sa.select(Need).join(ProjectNeed, ProjectNeed.need_id == Need.id)
        .where(ProjectNeed.project_id == project_id).order_by(Need.id)))


def project_published(project, *, actor) -> None:
    """The call is out: every need it cites is matched to it."""
    for need in cited_needs(project.id):
        if need.status in (S.verified, S.matched):
            _add_match(need, MatchKind.project, project.id, None, project.title, actor=actor,
                       quiet=True)


def project_closed(project, *, actor) -> None:
    """The project is evaluated and closed: the needs it met are resolved, and those who may
    rate it are asked to (好差评)."""
    from portal.ratings.services import ask_about_project

    posters = set()
    for need in cited_needs(project.id):
        if need.status is S.matched:
            resolve(need, _("Met by the project “{title}”, now closed.").format(
                title=project.title), actor=actor)
        if _is_resident_poster(need):
            posters.add(need.posted_by)
    ask_about_project(project, posters)


def projects_citing(need_id: int, viewer) -> list:
    """The projects citing a need that this reader may see (a draft call is the bureau's)."""
    from portal.core.permissions import can
    from portal.projects.models import Project

    return [p for p in db.session.scalars(
        sa.select(Project).join(ProjectNeed, ProjectNeed.project_id == Project.id)
        .where(ProjectNeed.need_id == need_id).order_by(Project.id))
        if can(viewer, "project.view", p)]


# --- telling the poster ---------------------------------------------------------------------

NOTICES = {
    "need_verified": (_l("Your need is verified"),
                      _l("“{title}” is verified by your community and listed publicly. "
                         "Neighbours can now support it.")),
    "need_rejected": (_l("Your need was not taken up"),
                      _l("“{title}” was not taken up: {reason}")),
    "need_merged": (_l("Your need was joined with another"),
                    _l("“{title}” is the same as “{other}”: it is followed up there, and you "
                       "support it.")),
    "need_matched": (_l("Help is found for your need"),
                     _l("“{title}” is matched to: {other}.")),
    "need_resolved": (_l("Your need is resolved"),
                      _l("“{title}” is resolved: {reason}")),
}


def tell_poster(need: Need, event: str, *, actor, subject: str | None = None,
                **values) -> None:
    """The poster hears of the move in their language (not the worker who posted it for a
    resident: they did it, or their colleague did)."""
    if need.posted_by is None or (actor is not None and need.posted_by == actor.id) \
            or not _is_resident_poster(need):
        return
    title, body = NOTICES[event]
    tell(need.posted_by, event, subject or f"need:{need.id}", title, body, title=need.title,
         **values)


# --- reading ----------------------------------------------------------------------------------

def visible_needs(user, area_code: str | None = None) -> sa.Select:
    """Needs the user may list: the public ones, the user's own, and all of the areas they
    serve (community worker, bureau)."""
    from portal.core.users import Role
    from portal.needs.models import PUBLIC_STATES

    conditions = [Need.status.in_(PUBLIC_STATES)]
    if user is not None and getattr(user, "is_authenticated", False):
        conditions.append(Need.posted_by == user.id)
        for scope in user.scopes(Role.community_worker) + user.scopes(Role.bureau):
            conditions.append(under(Need.community_code, scope))
        if user.is_admin:
            conditions.append(sa.true())
    # A page's communities by their codes afterwards, not joined to every need the page is
    # chosen from: a page of a search sorted 4,800 needs joined to their areas (benchmarks).
    query = sa.select(Need).where(sa.or_(*conditions)).options(selectinload(Need.community))
    if area_code:
        query = query.where(under(Need.community_code, area_code))
    return query

