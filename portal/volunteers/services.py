"""Every write of the volunteers module. Services check, change, flush and audit; callers commit.

The ID number never leaves this module in clear: it is encrypted before it is stored, and no
message, log line or audit row repeats it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from portal.core import crypto, validators
from portal.core.areas import Area, AreaLevel
from portal.core.audit import record
from portal.core.db import utcnow
from portal.core.errors import Conflict, ValidationFailed
from portal.core.permissions import authorize
from portal.core.users import Grant, Role, User, create_user, grant_role
from portal.extensions import db
from portal.volunteers import idcards
from portal.volunteers.catalogues import SERVICE_TYPES, SKILLS, SLOTS
from portal.volunteers.models import Volunteer, VolunteerState

ADULT_AGE = 18


@dataclass
class VolunteerInput:
    real_name: str | None = None
    id_type: str = "resident_id"
    id_number: str | None = None
    phone: str | None = None
    community_code: str | None = None
    skills: list[str] = field(default_factory=list)
    service_types: list[str] = field(default_factory=list)
    availability: list[str] = field(default_factory=list)
    birth_date: date | None = None     # only for documents that do not carry it
    gender: str | None = None          # likewise
    guardian_name: str | None = None
    guardian_phone: str | None = None
    guardian_consent: bool = False
    consent: bool = False              # to the user agreement and the privacy policy
    consent_required: bool = False     # pages ask for it; the API records it when given
    username: str | None = None
    password: str | None = None
    email: str | None = None


def id_message(reason: str) -> str:
    """A refusal that names what is wrong, never the number itself."""
    return {
        "length": _("A resident ID number has 18 characters."),
        "format": _("The number has characters that do not belong there."),
        "province": _("The first two digits are not a province."),
        "birth_date": _("The birth date inside the number is not a real date."),
        "future": _("The birth date inside the number is in the future."),
        "check": _("The last character does not match: please check the number."),
        "type": _("Not one of the allowed values."),
    }[reason]


def _check_choices(values, allowed, name, errors) -> list[str]:
    unknown = [v for v in values if v not in allowed]
    if unknown:
        errors[name] = [_("Unknown: {codes}").format(codes=", ".join(unknown))]
    return list(dict.fromkeys(values))


PROFILE_FIELDS = ("phone", "community_code", "skills", "service_types", "availability")


def _clean_profile(data: VolunteerInput, errors: dict, fields=PROFILE_FIELDS) -> dict:
    """The fields a volunteer keeps up to date: one rule each, for registration and edits."""
    values: dict = {}
    if "phone" in fields:
        try:
            values["phone"] = validators.mobile(data.phone or "")
        except ValueError as exc:
            errors["phone"] = [str(exc)]
    if "community_code" in fields:
        community = db.session.get(Area, data.community_code) if data.community_code else None
        if community is None or community.level is not AreaLevel.community:
            errors["community_code"] = [_("Choose your community (12-digit code).")]
        else:
            values["community_code"] = community.code
    for name, allowed in (("skills", SKILLS), ("service_types", SERVICE_TYPES),
                          ("availability", SLOTS)):
        if name in fields:
            values[name] = _check_choices(getattr(data, name) or [], allowed, name, errors)
    return values


def _clean_identity(data: VolunteerInput, errors: dict) -> tuple[str, idcards.IdentityNumber |
                                                                  None]:
    name = (data.real_name or "").strip()
    if not name:
        errors["real_name"] = [_("This field is required.")]
    elif len(name) > 50:
        errors["real_name"] = [_("At most {n} characters.").format(n=50)]
    try:
        identity = idcards.parse(data.id_type or "resident_id", data.id_number or "")
    except idcards.InvalidId as exc:
        errors["id_type" if exc.reason == "type" else "id_number"] = [id_message(exc.reason)]
        return name, None
    if identity.birth_date is None:
        if data.birth_date is None:
            errors["birth_date"] = [_("The birth date is required for this document.")]
        elif data.birth_date > date.today():
            errors["birth_date"] = [_("This date is in the future.")]
        if data.gender not in (None, "male", "female"):
            errors["gender"] = [_("Not one of the allowed values.")]
    return name, identity


def register_volunteer(data: VolunteerInput, *, actor: User | None) -> Volunteer:
    """Self-registration (actor None: an account is made from username and password) or by
    staff for someone without a phone or account (username and password optional)."""
    errors: dict[str, list[str]] = {}
    real_name, identity = _clean_identity(data, errors)
    values = _clean_profile(data, errors)
    birth = identity.birth_date if identity and identity.birth_date else data.birth_date
    minor = birth is not None and _age(birth) < ADULT_AGE
    guardian = {}
    if minor:
        problems = []
        if not data.guardian_consent:
            problems.append(_("A volunteer under 18 needs a guardian's consent."))
        if not (data.guardian_name or "").strip():
            problems.append(_("Give the guardian's name."))
        try:
            guardian_phone = validators.phone(data.guardian_phone or "")
        except ValueError:
            problems.append(_("Give the guardian's phone number."))
            guardian_phone = None
        if problems:
            errors["guardian"] = problems
        guardian = {"guardian_name": (data.guardian_name or "").strip()[:50],
                    "guardian_phone": guardian_phone, "guardian_consent_at": utcnow()}
    email = (data.email or "").strip() or None
    if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        errors["email"] = [_("Enter an e-mail address like name@example.com.")]
    if actor is None and not (data.username and data.password):
        errors.setdefault("username", []).append(_("Choose a username and a password."))
    if data.consent_required and not data.consent:
        errors["consent"] = [_("Registration needs this consent: the ID number is sensitive "
                               "personal information.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    id_hash = crypto.keyed_hash(identity.id_type, identity.number)
    if db.session.scalar(sa.select(Volunteer.id).where(Volunteer.id_hash == id_hash)):
        raise Conflict(_("A volunteer with this document number is already registered."),
                       {"id_number": [_("Already registered.")]})
    user = None
    if data.username or data.password:
        user = create_user(data.username or "", data.password or "", [Grant(Role.volunteer)],
                           actor=actor)
        user.email = email
    volunteer = Volunteer(
        user_id=user.id if user else None, id_type=identity.id_type,
        id_number_encrypted=crypto.encrypt(identity.number), id_hash=id_hash,
        id_number_masked=identity.masked, birth_date=birth,
        gender=identity.gender or data.gender, registered_by=getattr(actor, "id", None),
        status=VolunteerState.registered, real_name=real_name, **values, **guardian)
    db.session.add(volunteer)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_("A volunteer with this document number is already registered."),
                       {"id_number": [_("Already registered.")]}) from None
    volunteer.volunteer_code = f"YK{volunteer.id:08d}"
    record(actor or user, "volunteer", volunteer.id, "register", to=volunteer.volunteer_code,
           area_code=volunteer.community_code)
    if minor:
        record(actor or user, "volunteer", volunteer.id, "guardian_consent",
               to=guardian["guardian_name"], area_code=volunteer.community_code)
    if data.consent:
        from portal.core.policies import versions

        volunteer.consent_at, volunteer.consent_versions = utcnow(), versions()
        record(actor or user, "volunteer", volunteer.id, "consent",
               to=volunteer.consent_versions, area_code=volunteer.community_code)
    db.session.flush()
    return volunteer


def _age(born: date) -> int:
    today = date.today()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def verify_volunteer(volunteer: Volunteer, *, actor: User) -> Volunteer:
    authorize(actor, "volunteer.verify", volunteer)
    if volunteer.status is VolunteerState.deleted:
        raise Conflict(_("This account has been deleted."))
    if volunteer.status is not VolunteerState.verified:
        volunteer.status = VolunteerState.verified
        volunteer.verified_by, volunteer.verified_at = actor.id, utcnow()
        record(actor, "volunteer", volunteer.id, "verify", from_="registered", to="verified",
               area_code=volunteer.community_code)
    return volunteer


def update_volunteer(volunteer: Volunteer, data: VolunteerInput, given: set[str], *,
                     actor: User) -> Volunteer:
    """A volunteer edits their own profile; the identity fields are fixed once registered."""
    authorize(actor, "volunteer.edit", volunteer)
    if volunteer.status is VolunteerState.deleted:
        raise Conflict(_("This account has been deleted."))
    fixed = given & {"real_name", "id_type", "id_number", "birth_date", "gender"}
    if fixed:
        raise ValidationFailed(_("Name and document are fixed once registered; ask your "
                                 "community worker to correct them."),
                               {f: [_("Fixed once registered.")] for f in sorted(fixed)})
    errors: dict[str, list[str]] = {}
    values = _clean_profile(data, errors, [f for f in PROFILE_FIELDS if f in given])
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    changed = [k for k in values if getattr(volunteer, k) != values[k]]
    for key in changed:
        setattr(volunteer, key, values[key])
    if changed:
        record(actor, "volunteer", volunteer.id, "edit", to=", ".join(changed),
               area_code=volunteer.community_code)
    return volunteer


def delete_volunteer(volunteer: Volunteer, *, actor: User) -> Volunteer:
    """Anonymise: the person's data goes, the record (and later its approved hours) stays."""
    authorize(actor, "volunteer.delete", volunteer)
    if volunteer.status is VolunteerState.deleted:
        return volunteer
    before = volunteer.status.value
    volunteer.real_name = _("(deleted)")
    volunteer.id_number_encrypted = volunteer.id_hash = None
    volunteer.id_number_masked = "****"
    volunteer.phone = volunteer.guardian_name = volunteer.guardian_phone = None
    volunteer.birth_date = volunteer.gender = None
    volunteer.skills, volunteer.service_types, volunteer.availability = [], [], []
    volunteer.status = VolunteerState.deleted
    if volunteer.user is not None:
        volunteer.user.active = False
        volunteer.user_id = None
    record(actor, "volunteer", volunteer.id, "delete", from_=before, to="deleted",
           area_code=volunteer.community_code)
    return volunteer


def link_account(volunteer: Volunteer, user: User, *, actor: User) -> None:
    grant_role(user, Role.volunteer, actor=actor)
    volunteer.user_id = user.id
