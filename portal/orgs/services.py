"""Every write of the organisations module: one function per use case. Services check, change,
flush and audit; the caller commits."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from portal.core import validators
from portal.core.areas import Area, AreaLevel
from portal.core.audit import record
from portal.core.errors import Conflict, Forbidden, ValidationFailed
from portal.core.permissions import authorize, can
from portal.core.states import transition
from portal.core.uploads import check_upload, path_of, store
from portal.core.users import Role, User, grant_role
from portal.extensions import db
from portal.orgs import uscc as uscc_rules
from portal.orgs.models import (
    DECISIONS,
    ORG_MOVES,
    RATINGS,
    STAGE_MOVES,
    Certificate,
    DocumentKind,
    Incubation,
    IncubationMove,
    LegalType,
    Org,
    OrgAdmin,
    OrgCategory,
    OrgDocument,
    OrgState,
    Registration,
    Stage,
    Worker,
    WorkerKind,
)

# Fields an organisation's admins may still change once it is active; the rest is what the
# bureau approved.
EDITABLE_WHEN_ACTIVE = {"contact_name", "contact_phone", "description", "address"}


@dataclass
class OrgInput:
    name: str | None = None
    category: str | None = None
    registration: str | None = None
    uscc: str | None = None
    uscc_override_reason: str | None = None
    community_code: str | None = None
    founded_on: date | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    description: str | None = None
    address: str | None = None
    rating: str | None = None
    uscc_confirmed: bool = False  # "my registration certificate shows exactly this code"
    given: set[str] = field(default_factory=set)  # which fields the caller sent (for edits)


# What an applicant fills in; the override reason is the bureau's alone.
APPLICANT_FIELDS = [f for f in OrgInput.__dataclass_fields__
                    if f not in ("given", "uscc_override_reason")]


def _uscc_message(reason: str) -> str:
    return {
        "length": _("A unified social credit code has 18 characters."),
        "charset": _("Only digits and the letters A–H, J–N, P–R, T, U, W–Y are used."),
        "org_code": _("The organisation code (characters 9–17) fails its check."),
        "check": _("The last character (the check character) is wrong."),
        "civil_affairs": _("A code registered with civil affairs starts with 51, 52, 53 or 59."),
    }[reason]


def _clean(data: OrgInput, *, actor, org: Org | None) -> dict:
    """Every rule for an organisation's fields, in one place. Returns the values to store."""
    errors: dict[str, list[str]] = {}
    values: dict = {}

    def need(name: str, value, *, max_len: int | None = None):
        text = (value or "").strip() if isinstance(value, str) or value is None else value
        if not text:
            errors.setdefault(name, []).append(_("This field is required."))
        elif max_len and len(text) > max_len:
            errors.setdefault(name, []).append(_("At most {n} characters.").format(n=max_len))
        else:
            values[name] = text

    given = data.given or {k for k in OrgInput.__dataclass_fields__ if k != "given"}
    current = org
    if "name" in given:
        need("name", data.name, max_len=200)
    if "category" in given:
        try:
            values["category"] = OrgCategory(data.category)
        except ValueError:
            errors.setdefault("category", []).append(_("Not one of the allowed values."))
    registration = current.registration if current else None
    if "registration" in given:
        try:
            registration = values["registration"] = Registration(data.registration)
        except ValueError:
            errors.setdefault("registration", []).append(_("Not one of the allowed values."))
    if "community_code" in given:
        area = db.session.get(Area, (data.community_code or "").strip()) \
            if data.community_code else None
        if area is None or area.level is not AreaLevel.community:
            errors.setdefault("community_code", []).append(
                _("Choose the community (12-digit code) the organisation serves."))
        else:
            values["community_code"] = area.code
    if "founded_on" in given and data.founded_on is not None:
        try:
            values["founded_on"] = validators.not_future(data.founded_on)
        except ValueError as exc:
            errors.setdefault("founded_on", []).append(str(exc))
    if "contact_name" in given:
        need("contact_name", data.contact_name, max_len=100)
    if "contact_phone" in given:
        try:
            values["contact_phone"] = validators.phone(data.contact_phone or "")
        except ValueError as exc:
            errors.setdefault("contact_phone", []).append(str(exc))
    if "description" in given:
        values["description"] = (data.description or "").strip() or None
    if "address" in given:
        values["address"] = (data.address or "").strip()[:200] or None
    if "rating" in given:
        rating = (data.rating or "").strip().upper() or None
        if rating is not None and rating not in RATINGS:
            errors.setdefault("rating", []).append(_("A rating is 1A to 5A."))
        values["rating"] = rating

    # USCC: required for registered organisations, absent for filed ones. A code that fails the
    # check (real ones exist) is kept only when the applicant confirms their certificate shows
    # it, and the organisation cannot be approved until the bureau, never the applicant,
    # records why the code is accepted.
    override = (data.uscc_override_reason or "").strip() if "uscc_override_reason" in given \
        else None
    if override and (current is None or not can(actor, "org.override_uscc", current)):
        raise Forbidden(_("Only the bureau, never the applicant, records a code that fails the "
                          "check."))
    if {"uscc", "registration"} & given and registration is not None:
        code = uscc_rules.normalise(data.uscc if "uscc" in given else
                                    (current.uscc if current else ""))
        values.update(uscc_check_failed=False, legal_type=None)
        if registration is Registration.filed:
            if code:
                errors.setdefault("uscc", []).append(
                    _("A group filed with the township has no unified social credit code."))
            values.update(uscc=None, uscc_override_reason=None)
        elif not code:
            errors.setdefault("uscc", []).append(
                _("A registered organisation needs its unified social credit code."))
        else:
            reason = None
            try:
                uscc_rules.validate(code)
            except uscc_rules.USCCError as exc:
                reason = exc.reason
            legal = uscc_rules.legal_type(code)
            if reason is None and legal is None:
                reason = "civil_affairs"
            unchanged = current is not None and current.uscc == code
            if reason is None:
                values["uscc_override_reason"] = None
            elif data.uscc_confirmed or override or (unchanged and current.uscc_check_failed):
                values["uscc_check_failed"] = True
            else:
                errors.setdefault("uscc", []).append(
                    _uscc_message(reason) + " " + _("If your registration certificate shows "
                                                    "exactly this code, confirm it: the bureau "
                                                    "will check it."))
            values["uscc"] = code
            values["legal_type"] = LegalType(legal) if legal else None
    if override:
        values["uscc_override_reason"] = override
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    return values


def _flush_unique_uscc(code: str | None) -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_("An organisation with this unified social credit code is already "
                         "registered."), {"uscc": [_("This code is already registered.")]}) \
            from None


def register_org(data: OrgInput, *, actor: User) -> Org:
    """Anyone signed in registers an organisation and becomes its admin; it awaits review."""
    values = _clean(data, actor=actor, org=None)
    for required in ("name", "category", "registration", "community_code", "contact_name",
                     "contact_phone"):
        if required not in values:  # reported by _clean already unless not given at all
            raise ValidationFailed.on(required, _("This field is required."))
    if values.get("uscc") and db.session.scalar(
            sa.select(Org.id).where(Org.uscc == values["uscc"])) is not None:
        raise Conflict(_("An organisation with this unified social credit code is already "
                         "registered."), {"uscc": [_("This code is already registered.")]})
    org = Org(status=OrgState.pending, created_by=actor.id, **values)
    org.admins.append(OrgAdmin(user_id=actor.id))
    db.session.add(org)
    _flush_unique_uscc(org.uscc)
    grant_role(actor, Role.org_admin, actor=actor)
    record(actor, "org", org.id, "register", to=OrgState.pending.value,
           area_code=org.community_code)
    return org


def update_org(org: Org, data: OrgInput, *, actor: User) -> Org:
    authorize(actor, "org.edit", org)
    is_bureau = can(actor, "org.review", org)
    values = _clean(data, actor=actor, org=org)  # validation first, then state (the contract)
    if not is_bureau:
        if org.status in (OrgState.rejected, OrgState.dissolved, OrgState.suspended):
            raise Conflict(_("This organisation can no longer be edited."))
        if org.status is OrgState.active and data.given - EDITABLE_WHEN_ACTIVE:
            fields = sorted(data.given - EDITABLE_WHEN_ACTIVE)
            raise Conflict(_("Once approved, only the contact, the description and the address "
                             "can be changed here; ask the bureau for the rest."),
                           {f: [_("Approved; ask the bureau to change it.")] for f in fields})
    moving_to = values.get("community_code")
    under_review = org.status in (OrgState.pending, OrgState.changes_requested)
    if moving_to and moving_to != org.community_code and not under_review \
            and not (is_bureau and actor.covers(Role.bureau, moving_to)):
        # An approved organisation moves only between communities its bureau covers.
        raise Forbidden(_("Only the bureau covering both communities can move an approved "
                          "organisation."))
    if values.get("uscc") and values["uscc"] != org.uscc and db.session.scalar(
            sa.select(Org.id).where(Org.uscc == values["uscc"], Org.id != org.id)) is not None:
        raise Conflict(_("An organisation with this unified social credit code is already "
                         "registered."), {"uscc": [_("This code is already registered.")]})
    before = org.to_dict()
    for key, value in values.items():
        setattr(org, key, value)
    _flush_unique_uscc(org.uscc)
    after = org.to_dict()
    changed = sorted(k for k in after if before.get(k) != after.get(k))
    if changed:
        record(actor, "org", org.id, "edit",
               from_=json.dumps({k: before.get(k) for k in changed}, ensure_ascii=False),
               to=json.dumps({k: after.get(k) for k in changed}, ensure_ascii=False),
               area_code=org.community_code)
    if "uscc_override_reason" in changed and org.uscc_override_reason:
        record(actor, "org", org.id, "uscc_override", to=org.uscc,
               reason=org.uscc_override_reason, area_code=org.community_code)
    return org


def resubmit_org(org: Org, *, actor: User, comment: str | None = None) -> Org:
    authorize(actor, "org.resubmit", org)
    transition(org, OrgState.pending, ORG_MOVES, actor=actor, object_type="org",
               area_code=org.community_code, reason=comment, stamp="status_changed_at",
               action="resubmit")
    return org


def review_org(org: Org, decision: str, comment: str | None, *, actor: User) -> Org:
    """The bureau of the organisation's area approves, rejects or asks for changes."""
    authorize(actor, "org.review", org)
    to = DECISIONS.get(decision)
    if to is None:
        raise ValidationFailed.on("decision", _("Not one of the allowed values."))
    comment = (comment or "").strip() or None
    if to is not OrgState.active and not comment:
        raise ValidationFailed.on("comment", _("Say why, so that the applicant knows what to "
                                               "do."))
    if actor.id in org.admin_ids():
        raise Forbidden(_("Nobody reviews an organisation they manage."))
    if org.status is not OrgState.pending:
        raise Conflict(_("Only an organisation awaiting review can be reviewed."))
    if to is OrgState.active and org.uscc_check_failed and not org.uscc_override_reason:
        raise ValidationFailed.on("uscc", _("The code fails the check: record why it is "
                                            "accepted before approving."))
    transition(org, to, ORG_MOVES, actor=actor, object_type="org", area_code=org.community_code,
               reason=comment, stamp="status_changed_at", action="review:" + decision)
    return org


def change_org_status(org: Org, to: str, comment: str | None, *, actor: User) -> Org:
    """Suspend, reinstate or dissolve an approved organisation (the bureau)."""
    authorize(actor, "org.review", org)
    try:
        target = OrgState(to)
    except ValueError:
        raise ValidationFailed.on("to", _("Not one of the allowed values.")) from None
    if target not in (OrgState.suspended, OrgState.active, OrgState.dissolved):
        raise ValidationFailed.on("to", _("Not one of the allowed values."))
    comment = (comment or "").strip() or None
    if not comment:
        raise ValidationFailed.on("comment", _("This field is required."))
    transition(org, target, ORG_MOVES, actor=actor, object_type="org",
               area_code=org.community_code, reason=comment, stamp="status_changed_at")
    return org


def add_org_admin(org: Org, username: str, *, actor: User) -> User:
    authorize(actor, "org.manage_admins", org)
    user = db.session.scalar(sa.select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise ValidationFailed.on("username", _("No account with this username."))
    if user.id in org.admin_ids():
        raise Conflict(_("{name} is already an admin of this organisation.").format(
            name=user.username), {"username": [_("Already an admin.")]})
    org.admins.append(OrgAdmin(user_id=user.id))
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_("{name} is already an admin of this organisation.").format(
            name=user.username)) from None
    grant_role(user, Role.org_admin, actor=actor)
    record(actor, "org", org.id, "add_admin", to=user.username, area_code=org.community_code)
    return user


# --- documents ---------------------------------------------------------------------------------

def add_document(org: Org, kind: str, filename: str, content: bytes, *, actor: User) -> OrgDocument:
    """Store a PDF or image outside the web root; its type is read from its bytes."""
    authorize(actor, "org.edit", org)
    try:
        doc_kind = DocumentKind(kind or "other")
    except ValueError:
        raise ValidationFailed.on("kind", _("Not one of the allowed values.")) from None
    check_upload(filename, content, current_app.config["ORG_DOCUMENT_MAX_MB"])
    if org.status in (OrgState.rejected, OrgState.dissolved) and \
            not can(actor, "org.review", org):
        raise Conflict(_("This organisation can no longer be edited."))
    stored = store(filename, content, current_app.config["ORG_DOCUMENT_MAX_MB"])
    safe_name = stored.filename
    doc = OrgDocument(org_id=org.id, kind=doc_kind, filename=stored.filename,
                      content_type=stored.content_type, size=stored.size,
                      storage_key=stored.storage_key, uploaded_by=actor.id)
    db.session.add(doc)
    db.session.flush()
    record(actor, "org", org.id, "add_document", to=f"{doc_kind.value}: {safe_name}",
           area_code=org.community_code)
    return doc


def document_path(doc: OrgDocument) -> Path:
    return path_of(doc.storage_key)


# --- incubation ----------------------------------------------------------------------------------

def apply_incubation(org: Org, plan: str, *, actor: User) -> Incubation:
    authorize(actor, "incubation.apply", org)
    plan = (plan or "").strip()
    if not plan:
        raise ValidationFailed.on("plan", _("Describe the plan for the incubation."))
    if org.status is not OrgState.active:
        raise ValidationFailed.on("org_id", _("Only an approved (active) organisation can "
                                              "apply."))
    incubation = Incubation(org_id=org.id, plan=plan, stage=Stage.applied)
    incubation.org = org
    db.session.add(incubation)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_("This organisation already has an open incubation application.")) \
            from None
    incubation.moves.append(IncubationMove(from_stage=None, to_stage=Stage.applied,
                                           by_id=actor.id, by_name=actor.username,
                                           comment=plan[:500]))
    record(actor, "incubation", incubation.id, "apply", to=Stage.applied.value,
           area_code=org.community_code)
    db.session.flush()
    return incubation


def move_incubation(incubation: Incubation, to: str, comment: str | None, *,
                    actor: User) -> Incubation:
    try:
        target = Stage(to)
    except ValueError:
        target = None
    authorize(actor, "incubation.move", (incubation, target))
    if target is None:
        raise ValidationFailed.on("to", _("Not one of the allowed values."))
    comment = (comment or "").strip() or None
    previous = transition(incubation, target, STAGE_MOVES, actor=actor, object_type="incubation",
                          area_code=incubation.org.community_code, reason=comment, field="stage",
                          stamp="stage_since")
    incubation.moves.append(IncubationMove(from_stage=previous, to_stage=target, by_id=actor.id,
                                           by_name=actor.username, comment=comment))
    db.session.flush()
    return incubation


# --- workers -----------------------------------------------------------------------------------

@dataclass
class WorkerInput:
    name: str | None = None
    phone: str | None = None
    kind: str | None = None
    certificate: str | None = "none"
    employer_community_code: str | None = None
    employer_org_id: int | None = None


def register_worker(data: WorkerInput, *, actor: User) -> Worker:
    errors: dict[str, list[str]] = {}
    org = db.session.get(Org, data.employer_org_id) if data.employer_org_id else None
    community = db.session.get(Area, data.employer_community_code) \
        if data.employer_community_code else None
    if bool(org) == bool(community):
        errors["employer"] = [_("Choose one employer: a community or an organisation.")]
    elif community is not None and community.level is not AreaLevel.community:
        errors["employer_community_code"] = [_("Choose a community (12-digit code).")]
    if "employer" not in errors:
        authorize(actor, "worker.register", org or community)
    name = (data.name or "").strip()
    if not name:
        errors["name"] = [_("This field is required.")]
    elif len(name) > 100:
        errors["name"] = [_("At most {n} characters.").format(n=100)]
    phone = None
    if data.phone:
        try:
            phone = validators.phone(data.phone)
        except ValueError as exc:
            errors["phone"] = [str(exc)]
    try:
        kind = WorkerKind(data.kind)
    except ValueError:
        errors["kind"] = [_("Not one of the allowed values.")]
        kind = None
    if org is not None and kind is WorkerKind.community_worker:
        # 社区工作者 are employed by a community: an organisation's admins cannot add to the
        # community-worker indicators.
        errors["kind"] = [_("Community workers are employed by a community.")]
    if org is not None and org.status is not OrgState.active \
            and not actor.covers(Role.bureau, org.community_code):
        errors["employer_org_id"] = [_("Only an approved (active) organisation registers its "
                                       "social workers.")]
    try:
        certificate = Certificate(data.certificate or "none")
    except ValueError:
        errors["certificate"] = [_("Not one of the allowed values.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    worker = Worker(name=name, phone=phone, kind=kind, certificate=certificate,
                    employer_community_code=community.code if community else None,
                    employer_org_id=org.id if org else None,
                    area_code=community.code if community else org.community_code)
    db.session.add(worker)
    db.session.flush()
    record(actor, "worker", worker.id, "register", to=f"{kind.value}/{certificate.value}",
           area_code=worker.area_code)
    return worker


def set_worker_certificate(worker: Worker, certificate: str, *, actor: User) -> Worker:
    authorize(actor, "worker.edit", worker)
    try:
        level = Certificate(certificate)
    except ValueError:
        raise ValidationFailed.on("certificate", _("Not one of the allowed values.")) from None
    before = worker.certificate
    worker.certificate = level
    record(actor, "worker", worker.id, "certificate", from_=before.value, to=level.value,
           area_code=worker.area_code)
    return worker


def deactivate_worker(worker: Worker, *, actor: User, reason: str | None = None) -> Worker:
    authorize(actor, "worker.edit", worker)
    if worker.active:
        worker.active = False
        record(actor, "worker", worker.id, "deactivate", reason=reason,
               area_code=worker.area_code)
    return worker
