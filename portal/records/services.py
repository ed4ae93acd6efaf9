"""Service records: entry, approval, amendment, correction requests.

Every change goes through here (pages and API alike). The rule "the same hour is never counted
twice" is kept by the database: creating a record first locks the volunteer's row (SELECT ...
FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already admits one writer at a time), so two
simultaneous entries for one volunteer are checked one after the other, never side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from portal.core.audit import entries_for, record
from portal.core.db import SHANGHAI, aware, utcnow
from portal.core.errors import Conflict, Forbidden, ValidationFailed
from portal.core.states import transition
from portal.extensions import db
from portal.records.models import (
    COUNTING,
    CorrectionRequest,
    CorrectionState,
    RecordState,
    ServiceRecord,
)

MOVES = {RecordState.pending: {RecordState.approved, RecordState.rejected}}
MAX_CONTENT = 2000


@dataclass
class RecordInput:
    started_at: datetime | None
    ended_at: datetime | None
    minutes: int | None
    content: str | None = None
    place: str | None = None
    beneficiaries: str | None = None
    leader: str | None = None
    evaluation: str | None = None



def _plausible(value: datetime | None) -> bool:
    return value is None or 1900 <= value.year <= 2100


def check_times(data: RecordInput, *, now: datetime | None = None) -> tuple[datetime, datetime]:
    errors: dict[str, list[str]] = {}
    now = now or utcnow()
    for name in ("started_at", "ended_at"):
        if not _plausible(getattr(data, name)):
            raise ValidationFailed.on(name, _("A date between 1900 and 2100."))
    start = aware(data.started_at)
    end = aware(data.ended_at)
    if start is None:
        errors["started_at"] = [_("Enter when the service started.")]
    if end is None:
        errors["ended_at"] = [_("Enter when the service ended.")]
    elif end > now:
        errors["ended_at"] = [_("A record cannot end in the future.")]
    if start and end and end <= start:
        errors["ended_at"] = [_("The end must be after the start.")]
    if data.minutes is None:
        errors["minutes"] = [_("Enter the minutes of actual service.")]
    elif data.minutes <= 0:
        errors["minutes"] = [_("Minutes must be more than zero.")]
    elif start and end and end > start and data.minutes > (end - start).total_seconds() // 60:
        errors["minutes"] = [_("At most the span from start to end ({n} minutes): travel "
                               "does not count.").format(n=int((end - start).total_seconds()
                                                              // 60))]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    return start, end


def lock_volunteer(volunteer_id: int) -> None:
    """Serialise record-making per volunteer (see the module's docstring)."""
    from portal.volunteers.models import Volunteer

    db.session.execute(sa.select(Volunteer.id).where(Volunteer.id == volunteer_id)
                       .with_for_update())


def overlapping(volunteer_id: int, start: datetime, end: datetime,
                exclude_id: int | None = None) -> ServiceRecord | None:
    query = (sa.select(ServiceRecord)
             .where(ServiceRecord.volunteer_id == volunteer_id,
                    ServiceRecord.status.in_(COUNTING),
                    ServiceRecord.started_at < end, ServiceRecord.ended_at > start)
             .order_by(ServiceRecord.started_at).limit(1))
    if exclude_id is not None:
        query = query.where(ServiceRecord.id != exclude_id)
    return db.session.scalars(query).first()


def add_record(volunteer, activity, data: RecordInput, *, actor, signup_id: int | None = None,
               now: datetime | None = None) -> ServiceRecord:
    """A pending record. The caller has checked that `actor` organised `activity`."""
    if volunteer.user_id is not None and volunteer.user_id == getattr(actor, "id", None) \
            and signup_id is None:
        raise Forbidden(_("Nobody records or approves their own hours."))
    start, end = check_times(data, now=now)
    lock_volunteer(volunteer.id)
    clash = overlapping(volunteer.id, start, end)
    if clash is not None:
        raise Conflict(_("This time overlaps service record {id} of the same volunteer "
                         "({start}–{end}): the same hour is never counted twice.").format(
            id=clash.id, start=clash.started_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
            end=clash.ended_at.astimezone(SHANGHAI).strftime("%H:%M")))
    service = ServiceRecord(
        volunteer_id=volunteer.id, activity_id=activity.id, org_id=activity.org_id,
        signup_id=signup_id, started_at=start, ended_at=end, minutes=data.minutes,
        content=(data.content or activity.title or "")[:MAX_CONTENT],
        place=data.place or activity.location, beneficiaries=data.beneficiaries,
        leader=data.leader, evaluation=data.evaluation, recorded_by=getattr(actor, "id", None))
    db.session.add(service)
    db.session.flush()
    record(actor, "service_record", service.id, "create", to=f"{service.minutes}",
           area_code=activity.community_code)
    return service


def _not_own(service: ServiceRecord, actor) -> None:
    if service.volunteer.user_id is not None and service.volunteer.user_id == actor.id:
        raise Forbidden(_("Nobody records or approves their own hours."))


def decide(service: ServiceRecord, to: RecordState, *, actor, reason: str | None = None):
    """Approve or reject a pending record (rejection needs a reason)."""
    _not_own(service, actor)
    reason = (reason or "").strip() or None
    if to is RecordState.rejected and not reason:
        raise ValidationFailed.on("reason", _("Say why the record is rejected."))
    transition(service, to, MOVES, actor=actor, object_type="service_record",
               area_code=service.activity.community_code, reason=reason,
               action="approve" if to is RecordState.approved else "reject")
    values = {"decided_by": actor.id, "decided_at": utcnow()}
    if to is RecordState.rejected:
        values["reason"] = reason
    for key, value in values.items():
        setattr(service, key, value)
    return service


def approve_many(services_: list[ServiceRecord], *, actor) -> int:
    """Bulk approval (a shift's records on one page): each pending one the actor may approve."""
    done = 0
    for service in services_:
        if service.status is RecordState.pending and \
                not (service.volunteer.user_id and service.volunteer.user_id == actor.id):
            decide(service, RecordState.approved, actor=actor)
            done += 1
    return done


def amend(service: ServiceRecord, minutes: int | None, reason: str | None, *, actor):
    """Change the minutes of a pending or approved record at once; the audit keeps the old
    value, who and why (the record's history)."""
    _not_own(service, actor)
    errors: dict[str, list[str]] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("Say why the record is amended.")]
    span = int((service.ended_at - service.started_at).total_seconds() // 60)
    if minutes is None or minutes <= 0:
        errors["minutes"] = [_("Minutes must be more than zero.")]
    elif minutes > span:
        errors["minutes"] = [_("At most the span from start to end ({n} minutes): travel "
                               "does not count.").format(n=span)]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    if service.status is RecordState.rejected:
        raise Conflict(_("A rejected record cannot be amended."))
    old = service.minutes
    if minutes == old:
        raise Conflict(_("The record already has {n} minutes.").format(n=old))
    # Conditional on the value read: two amendments at once cannot both claim the same old value.
    changed = db.session.execute(
        sa.update(ServiceRecord)
        .where(ServiceRecord.id == service.id, ServiceRecord.minutes == old,
               ServiceRecord.status.in_(COUNTING))
        .values(minutes=minutes).execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        db.session.expire(service)
        raise Conflict(_("Someone else changed this at the same time. Please reload."))
    db.session.expire(service, ["minutes"])
    record(actor, "service_record", service.id, "amend", from_=old, to=minutes, reason=reason,
           area_code=service.activity.community_code)
    return service


def history(service: ServiceRecord) -> list[dict]:
    """The record's history from its audit rows: who did what, when, old and new minutes."""
    rows = db.session.scalars(entries_for("service_record", service.id)).all()
    items = []
    for row in rows:
        from_minutes = to_minutes = None
        if row.action in ("amend", "create", "correction_accepted"):
            from_minutes = int(row.from_value) if (row.from_value or "").isdigit() else None
            to_minutes = int(row.to_value) if (row.to_value or "").isdigit() else None
        items.append({"at": row.at.astimezone(SHANGHAI).isoformat(), "by": row.actor_name,
                      "action": row.action, "from_minutes": from_minutes,
                      "to_minutes": to_minutes, "reason": row.reason})
    return items


# --- correction requests ----------------------------------------------------------------------

def request_correction(service: ServiceRecord, *, actor, reason: str | None,
                       minutes: int | None = None) -> CorrectionRequest:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.on("reason", _("Say what is wrong with the record."))
    if minutes is not None and minutes < 0:
        raise ValidationFailed.on("minutes", _("Minutes must be more than zero."))
    request = CorrectionRequest(record_id=service.id, minutes=minutes, reason=reason,
                                requested_by=actor.id)
    db.session.add(request)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_("A correction of this record is already waiting for an answer.")) \
            from None
    record(actor, "service_record", service.id, "correction_requested", to=minutes,
           reason=reason, area_code=service.activity.community_code)
    return request


def answer_correction(request: CorrectionRequest, *, actor, accept: bool,
                      answer: str | None, minutes: int | None = None) -> CorrectionRequest:
    """The organiser answers; accepting with minutes amends the record (keeping its history)."""
    service = request.record
    _not_own(service, actor)
    answer = (answer or "").strip()
    if not answer:
        raise ValidationFailed.on("answer", _("Write an answer for the volunteer."))
    if request.status is not CorrectionState.open:
        raise Conflict(_("This request has already been answered."))
    if accept:
        new_minutes = minutes if minutes is not None else request.minutes
        if new_minutes is not None and new_minutes != service.minutes:
            amend(service, new_minutes, answer, actor=actor)
    changed = db.session.execute(
        sa.update(CorrectionRequest)
        .where(CorrectionRequest.id == request.id,
               CorrectionRequest.status == CorrectionState.open)
        .values(status=CorrectionState.accepted if accept else CorrectionState.declined,
                answer=answer, answered_by=actor.id, answered_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict(_("This request has already been answered."))
    db.session.expire(request)
    record(actor, "service_record", service.id,
           "correction_accepted" if accept else "correction_declined", reason=answer,
           area_code=service.activity.community_code)
    return request
