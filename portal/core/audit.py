"""The audit trail: who did what to which object, from what to what, and why.

Append-only: the ORM refuses to change or delete a row, and database triggers (see the
migration) refuse it too, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.core.db import UTCDateTime, parse_id, utcnow
from portal.extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_object", "object_type", "object_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str | None] = mapped_column(sa.String(64))
    object_type: Mapped[str] = mapped_column(sa.String(32))
    object_id: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(32))
    from_value: Mapped[str | None] = mapped_column(sa.String(500))
    to_value: Mapped[str | None] = mapped_column(sa.String(500))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    # The area the object belonged to when this happened: scopes who may read the row.
    area_code: Mapped[str | None] = mapped_column(sa.String(12), index=True)

    def to_dict(self) -> dict:
        return {"id": self.id, "at": self.at.isoformat(), "by": self.actor_name,
                "object_type": self.object_type, "object_id": self.object_id,
                "action": self.action, "from": self.from_value, "to": self.to_value,
                "reason": self.reason}


def record(actor, object_type: str, object_id, action: str, *, from_=None, to=None,
           reason: str | None = None, area_code: str | None = None) -> AuditEntry:
    """Add one audit row to the current transaction (it commits, or vanishes, with the change)."""
    entry = AuditEntry(**row(actor, object_type, object_id, action, from_=from_, to=to,
                             reason=reason, area_code=area_code))
    db.session.add(entry)
    return entry


# The columns `row` gives, in its order (for a statement that inserts them by parameters).
COLUMNS = ("at", "actor_id", "actor_name", "object_type", "object_id", "action", "from_value",
           "to_value", "reason", "area_code")


def row(actor, object_type: str, object_id, action: str, *, from_=None, to=None,
        reason: str | None = None, area_code: str | None = None) -> dict:
    """An audit row's column values, as `record` writes them (for a statement that inserts the
    row itself, in the same round trip as the change it records)."""
    return {"at": utcnow(), "actor_id": getattr(actor, "id", None),
            "actor_name": getattr(actor, "username", None), "object_type": object_type,
            "object_id": str(object_id), "action": action,
            "from_value": None if from_ is None else str(from_)[:500],
            "to_value": None if to is None else str(to)[:500],
            "reason": reason, "area_code": area_code}


def entries_for(object_type: str, object_id) -> sa.Select:
    return (sa.select(AuditEntry)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
            .order_by(AuditEntry.id))


# object_type -> function(object_id) -> the area code the object belongs to now, or None when
# there is no such object. Each module registers its own types.
OBJECT_AREAS: dict[str, Callable[[str], str | None]] = {}
NO_AREA = ""


def register_object(object_type: str):
    def decorator(fn):
        OBJECT_AREAS[object_type] = fn
        return fn
    return decorator


# object_type -> (endpoint, its id argument): the page an audit row links back to.
OBJECT_PAGES = {
    "org": ("orgs.org_show", "org_id"), "incubation": ("orgs.incubation_show", "incubation_id"),
    "activity": ("activities.activity_show", "activity_id"),
    "service_record": ("records.record_show", "record_id"),
    "certificate": ("records.certificate_show", "certificate_id"),
    "project": ("projects.project_show", "project_id"),
    "volunteer": ("records.volunteer_service", "volunteer_id"), "area": ("core.areas", "code"),
    "callout": ("callouts.callout_show", "callout_id"),
}


def object_page(object_type: str, object_id) -> str | None:
    """The address of the object's own page, where it has one."""
    from flask import url_for

    page = OBJECT_PAGES.get(object_type)
    if page is None:
        return None
    endpoint, arg = page
    value = str(object_id)
    if arg != "code":
        if not value.isdigit():
            return None
        value = int(value)
    return url_for(endpoint, **{arg: value})


def object_area(object_type: str, object_id: str) -> str | None:
    """The object's area code, NO_AREA for an object with none, None if it does not exist."""
    resolver = OBJECT_AREAS.get(object_type)
    return resolver(str(object_id)) if resolver else None


@register_object("area")
def _area_of_area(code: str) -> str | None:
    from portal.core.areas import Area

    return code if db.session.get(Area, code) is not None else None


@register_object("user")
def _area_of_user(user_id: str) -> str | None:
    from portal.core.users import User

    user = db.session.get(User, parse_id(user_id) or 0)
    if user is None:
        return None
    return user.primary_area_code or NO_AREA


@event.listens_for(Session, "before_flush")
def _refuse_audit_edits(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("audit_log is append-only")


# How the trail reads on a page: actions, object types and state values in the reader's language.
ACTION_TITLES = {
    "create": _l("created"), "import": _l("imported"), "update": _l("updated"),
    "grant": _l("role granted"), "register": _l("registered"), "edit": _l("edited"),
    "uscc_override": _l("failing code accepted by the bureau"),
    "add_admin": _l("admin added"), "add_document": _l("document added"),
    "resubmit": _l("resubmitted"), "transition": _l("status changed"),
    "review:approve": _l("approved"), "review:reject": _l("rejected"),
    "review:request_changes": _l("changes requested"), "apply": _l("applied"),
    "verify": _l("verified"), "delete": _l("deleted"),
    "guardian_consent": _l("guardian's consent recorded"), "certificate": _l("certificate changed"),
    "deactivate": _l("deactivated"), "token_issue": _l("API token issued"),
    "token_revoke": _l("API token revoked"), "import_volunteers": _l("volunteers imported"),
    "signup": _l("signed up"), "cancel_signup": _l("signup cancelled"),
    "calendar_link": _l("new calendar address made"),
    "roster_export": _l("roster exported (with phone numbers)"),
    "publish_policy": _l("new version published"), "consent": _l("consent given"),
    "add_shifts": _l("shifts added"), "edit_shift": _l("shift changed"),
    "cancel_shift": _l("shift cancelled"),
    "phone_verify": _l("phone number verified"), "community_choose": _l("community chosen"),
    "support": _l("supported"), "match": _l("matched"), "merge": _l("merged"),
    "resolve": _l("resolved"),
    "claim": _l("claimed"), "claim_expired": _l("claim lapsed"), "release": _l("released"),
    "fulfil": _l("handed over"), "confirm": _l("receipt confirmed"), "close": _l("closed"),
    "publish_statement": _l("statement published"), "receipt": _l("money received"),
    "hours": _l("service hours given"),
    "answer": _l("answered"), "review": _l("reviewed by the rater"),
    "appeal": _l("appealed"), "void": _l("voided"), "appeal_refused": _l("appeal refused"),
    "disbursement": _l("money paid out"), "goods_in": _l("goods received"),
    "goods_out": _l("goods given out"), "reversal": _l("corrected by a reversal"),
    "check_in": _l("checked in"), "check_out": _l("checked out"),
    "propose": _l("placement proposed"), "assign": _l("placement applied"),
    "insurance": _l("insurance recorded"),
    "approve": _l("approved"), "reject": _l("rejected"), "amend": _l("amended"),
    "correction_requested": _l("correction requested"),
    "correction_accepted": _l("correction accepted"),
    "correction_declined": _l("correction declined"),
    "request": _l("requested"), "issue": _l("issued"), "download": _l("downloaded"),
    "revoke": _l("revoked"), "national_export": _l("exported for the national system"),
    "national_export_download": _l("national export downloaded"),
    "publish": _l("published"), "publish_catalogue": _l("catalogue published"),
    "bid": _l("bid submitted"), "edit_bid": _l("bid edited"), "withdraw_bid": _l("bid withdrawn"),
    "deadline": _l("bidding closed at the deadline"), "pool_add": _l("added to the reviewer pool"),
    "assign_reviewer": _l("reviewer assigned"), "score": _l("bid scored"),
    "conflict_declared": _l("conflict of interest declared"), "award": _l("awarded"),
    "award_to": _l("award recorded"), "cancel": _l("cancelled"), "start": _l("started"),
    "milestone": _l("milestone added"), "milestone_report": _l("milestone reported"),
    "milestone_accept": _l("milestone accepted"), "evaluate": _l("evaluated"),
    "grade": _l("graded"),
}
OBJECT_TITLES = {"area": _l("Area"), "user": _l("Account"), "org": _l("Organisation"),
                 "policy": _l("Agreement or policy"),
                 "incubation": _l("Incubation"), "worker": _l("Worker"),
                 "volunteer": _l("Volunteer"), "activity": _l("Activity"),
                 "service_record": _l("Service record"),
                 "certificate": _l("Volunteer service certificate"), "project": _l("Project"),
                 "catalogue": _l("Catalogue item"), "callout": _l("Call-out")}
STATE_TITLES: dict[str, object] = {}


def register_states(*enums) -> None:
    """Let the trail show a module's state values by their titles."""
    for enum_cls in enums:
        for member in enum_cls:
            STATE_TITLES.setdefault(member.value, member)


def action_title(action: str) -> str:
    return str(ACTION_TITLES.get(action, action))


def value_title(value: str | None) -> str:
    if value is None:
        return ""
    member = STATE_TITLES.get(value)
    return member.title if member is not None else value


def object_title(object_type: str) -> str:
    return str(OBJECT_TITLES.get(object_type, object_type))
