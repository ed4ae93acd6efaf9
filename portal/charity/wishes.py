"""微心愿: a community worker publishes a wish after a home visit; one donor claims it (of many
at once exactly one: a conditional UPDATE), hands it over through the community, and the worker
confirms the beneficiary has it. A claim past WISH_CLAIM_DAYS without fulfilment returns the
wish to the wall by itself: whoever reads the wish first makes the move."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.charity.models import WISH_MOVES, Wish, WishKind, WishState
from portal.core import validators
from portal.core.audit import record
from portal.core.crypto import decrypt, encrypt
from portal.core.db import body_id, utcnow
from portal.core.errors import Conflict, ValidationFailed
from portal.core.money import parse_money
from portal.core.notify import tell
from portal.core.states import transition
from portal.core.users import User
from portal.extensions import db

S = WishState


@dataclass
class WishInput:
    community_code: str | None
    alias: str | None
    title: str | None
    kind: str | None
    estimated_value: object
    story: str | None = None
    name: str | None = None
    phone: str | None = None
    address: str | None = None


def publish_wish(data: WishInput, *, actor) -> Wish:
    """After a home visit (the caller may post for the community: `wish.publish`)."""
    errors: dict[str, list[str]] = {}
    alias = (data.alias or "").strip()
    if not alias or len(alias) > 50:
        errors["alias"] = [_("An alias the public may read, like 王奶奶.")]
    title = (data.title or "").strip()
    if not title or len(title) > 200:
        errors["title"] = [_("What is wished, in a few words.")]
    try:
        kind = WishKind(data.kind)
    except ValueError:
        errors["kind"] = [_("Not one of the allowed values.")]
        kind = None
    value = None
    try:
        value = parse_money(data.estimated_value, "estimated_value")
    except ValidationFailed as exc:
        errors.update(exc.fields)
    ceiling = Decimal(str(current_app.config["WISH_MAX_VALUE"]))
    if value is not None and value > ceiling:
        errors["estimated_value"] = [_("A micro-wish is worth at most {n} yuan.").format(
            n=f"{ceiling:.2f}")]
    name = (data.name or "").strip()
    address = (data.address or "").strip()
    if not name or len(name) > 100:
        errors["beneficiary.name"] = [_("The beneficiary's name (kept for the community's "
                                        "workers only).")]
    phone = None
    try:
        phone = validators.phone(data.phone or "")
    except ValueError as exc:
        errors["beneficiary.phone"] = [str(exc)]
    if not address or len(address) > 300:
        errors["beneficiary.address"] = [_("The beneficiary's address (kept for the "
                                           "community's workers only).")]
    story = (data.story or "").strip()
    if len(story) > 2000:
        errors["story"] = [_("At most {n} characters.").format(n=2000)]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    wish = Wish(community_code=data.community_code, alias=alias, title=title, kind=kind,
                estimated_value=value, story=story or None, created_by=actor.id,
                beneficiary=encrypt(json.dumps({"name": name, "phone": phone,
                                                "address": address}, ensure_ascii=False)))
    db.session.add(wish)
    db.session.flush()
    record(actor, "wish", wish.id, "create", to=S.published.value,
           area_code=wish.community_code)
    return wish


def beneficiary(wish: Wish) -> dict:
    return json.loads(decrypt(wish.beneficiary))


def expire_claim(wish: Wish) -> bool:
    """A claim past its time without fulfilment: back on the wall, and the claimer is told.
    True if this call made the move."""
    if wish.status is not S.claimed or wish.claim_expires_at is None or \
            wish.claim_expires_at > utcnow():
        return False
    claimer = wish.claimed_by
    changed = db.session.execute(
        sa.update(Wish).where(Wish.id == wish.id, Wish.status == S.claimed,
                              Wish.claim_expires_at <= utcnow())
        .values(status=S.published, claimed_by=None, claim_org_id=None, claimed_at=None,
                claim_expires_at=None).execution_options(synchronize_session=False)).rowcount
    db.session.expire(wish)
    if changed != 1:
        return False
    record(None, "wish", wish.id, "claim_expired", from_=S.claimed.value,
           to=S.published.value, area_code=wish.community_code)
    _tell(claimer, "wish_claim_expired", wish)
    return True


def claim(wish: Wish, org_id, *, actor) -> Wish:
    """Of many claims at once exactly one wins (a conditional UPDATE from `published`)."""
    from portal.orgs.models import OrgAdmin

    org = None
    if org_id is not None:
        org = body_id(org_id)
        if not org or db.session.scalar(sa.select(OrgAdmin.id).where(
                OrgAdmin.org_id == org, OrgAdmin.user_id == actor.id)) is None:
            raise ValidationFailed.on("org_id", _("An organisation you administer."))
    expire_claim(wish)
    now = utcnow()
    expires = now + timedelta(days=current_app.config["WISH_CLAIM_DAYS"])
    changed = db.session.execute(
        sa.update(Wish).where(Wish.id == wish.id, Wish.status == S.published)
        .values(status=S.claimed, claimed_by=actor.id, claim_org_id=org, claimed_at=now,
                claim_expires_at=expires).execution_options(synchronize_session=False)).rowcount
    db.session.expire(wish)
    if changed != 1:
        raise Conflict(_("Someone has claimed this wish already. Thank you all the same: "
                         "another wish may be waiting for you."))
    record(actor, "wish", wish.id, "claim", from_=S.published.value, to=S.claimed.value,
           area_code=wish.community_code)
    return wish


def release(wish: Wish, *, actor) -> Wish:
    if wish.status is S.claimed and wish.claimed_by != actor.id:
        raise Conflict(_("Only the claimer may release this wish."))
    transition(wish, S.published, WISH_MOVES, actor=actor, object_type="wish",
               area_code=wish.community_code, action="release")
    wish.claimed_by = wish.claim_org_id = wish.claimed_at = wish.claim_expires_at = None
    return wish


def fulfil(wish: Wish, note: str | None, photo_key: str | None, *, actor) -> Wish:
    transition(wish, S.fulfilled, WISH_MOVES, actor=actor, object_type="wish",
               area_code=wish.community_code, reason=(note or "").strip() or None,
               stamp="fulfilled_at", action="fulfil")
    wish.fulfil_note = (note or "").strip() or None
    wish.photo_key = photo_key
    return wish


def confirm(wish: Wish, *, actor) -> Wish:
    transition(wish, S.confirmed, WISH_MOVES, actor=actor, object_type="wish",
               area_code=wish.community_code, stamp="confirmed_at", action="confirm")
    _tell(wish.claimed_by, "wish_confirmed", wish)
    # 好差评: the worker who confirms rates it on the beneficiary's behalf.
    from portal.ratings.models import RatedKind
    from portal.ratings.services import ask

    ask(actor.id, RatedKind.wish, wish.id, f"{wish.alias}：{wish.title}")
    return wish


def cancel(wish: Wish, reason: str | None, *, actor) -> Wish:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.on("reason", _("Say why the wish is withdrawn."))
    claimer = wish.claimed_by
    transition(wish, S.cancelled, WISH_MOVES, actor=actor, object_type="wish",
               area_code=wish.community_code, reason=reason, action="cancel")
    wish.cancel_reason = reason
    if claimer:
        _tell(claimer, "wish_cancelled", wish)
    return wish


def handover_contact(wish: Wish) -> dict:
    """Whom the claimer hands over through: the community's worker who published the wish
    (never the beneficiary)."""
    worker = db.session.get(User, wish.created_by) if wish.created_by else None
    return {"community": wish.community.name if wish.community else wish.community_code,
            "name": (worker.display_name or worker.username) if worker else None,
            "phone": worker.phone if worker else None}


def expire_due(items: list[dict]) -> bool:
    """Lapsed claims among listed wishes go back on the wall (the list's readers make the
    move, as a wish's do). True if any did."""
    from datetime import datetime

    now = utcnow()
    moved = False
    for item in items:
        if item["status"] == S.claimed.value and item.get("claim_expires_at") and \
                datetime.fromisoformat(item["claim_expires_at"]) <= now:
            wish = db.session.get(Wish, item["id"])
            moved = expire_claim(wish) or moved
    return moved


def store_photo(photo) -> str | None:
    """The hand-over photo (an uploaded file, or None): a PNG or JPEG within
    ORG_DOCUMENT_MAX_MB, stored like an organisation's documents (removed again if the
    transaction rolls back); its storage key. Refusals are said on the field `photo`."""
    from portal.core.errors import DomainError
    from portal.core.uploads import check_upload, store

    if photo is None or not photo.filename:
        return None
    content = photo.read()
    try:
        content_type, _ext, _name = check_upload(photo.filename, content,
                                                 current_app.config["ORG_DOCUMENT_MAX_MB"])
        if not content_type.startswith("image/"):
            raise ValidationFailed.on("photo", _("A photo: PNG or JPEG."))
    except DomainError as exc:  # (check_upload says it of `file`)
        exc.fields = {"photo": [m for ms in exc.fields.values() for m in ms] or [exc.message]}
        raise
    return store(photo.filename, content, current_app.config["ORG_DOCUMENT_MAX_MB"]).storage_key


def fulfil_payload() -> tuple[str | None, str | None]:
    """The note (JSON or a form field) and, in a multipart request, a photo stored like an
    organisation's documents: (note, storage key)."""
    from flask import request

    from portal.core.apiframe import raw_json

    if request.files:
        return request.form.get("note"), store_photo(request.files.get("photo"))
    raw = raw_json() if request.data else None
    note = raw.get("note") if isinstance(raw, dict) else None
    return (note if isinstance(note, str) else None), None


NOTICES = {
    "wish_claim_expired": (_l("Your claim on a micro-wish has lapsed"),
                           _l("“{title}” ({alias}) was not handed over within {days} days and "
                              "is back on the wall for others.")),
    "wish_confirmed": (_l("Your micro-wish reached its owner"),
                       _l("{alias} has received “{title}”. Thank you!")),
    "wish_cancelled": (_l("A micro-wish you claimed was withdrawn"),
                       _l("“{title}” ({alias}) was withdrawn by the community: {reason}")),
}


def _tell(user_id: int | None, event: str, wish: Wish) -> None:
    title, body = NOTICES[event]
    tell(user_id, event, f"wish:{wish.id}:{event}:{utcnow().timestamp():.0f}", title, body,
         title=wish.title, alias=wish.alias, days=current_app.config["WISH_CLAIM_DAYS"],
         reason=wish.cancel_reason or "")
