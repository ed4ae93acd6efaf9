"""Accounts, roles with their scopes, passwords and API tokens."""

from __future__ import annotations

import contextlib
import enum
import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, contains_eager, mapped_column, relationship

from portal.core.areas import Area, AreaLevel, covers
from portal.core.db import UTCDateTime, str_enum, utcnow
from portal.core.errors import Conflict, ValidationFailed
from portal.extensions import db


class Role(enum.StrEnum):
    admin = "admin"
    bureau = "bureau"
    community_worker = "community_worker"
    org_admin = "org_admin"
    reviewer = "reviewer"
    evaluator = "evaluator"
    volunteer = "volunteer"
    resident = "resident"

    @property
    def title(self) -> str:
        return str(ROLE_TITLES[self])


ROLE_TITLES = {
    Role.admin: _l("System administrator"),
    Role.bureau: _l("Civil affairs bureau"),
    Role.community_worker: _l("Community worker"),
    Role.org_admin: _l("Organisation manager"),
    Role.reviewer: _l("Expert reviewer"),
    Role.evaluator: _l("Third-party evaluator"),
    Role.volunteer: _l("Volunteer"),
    Role.resident: _l("Resident"),
}
# The levels at which each scoped role may sit; roles not listed carry no area.
SCOPE_LEVELS = {
    Role.bureau: (AreaLevel.city, AreaLevel.county),
    Role.community_worker: (AreaLevel.township, AreaLevel.community),
    Role.evaluator: (AreaLevel.city, AreaLevel.county),
    Role.resident: (AreaLevel.community,),
}
# Accounts holding these roles never sign in by an SMS code alone (a phone is not enough).
NO_SMS_SIGN_IN = (Role.admin, Role.bureau)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    display_name: Mapped[str | None] = mapped_column(sa.String(100))
    email: Mapped[str | None] = mapped_column(sa.String(254))  # for notifications by e-mail
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    # A mainland mobile number this account proved it holds by an SMS code (one account each).
    phone: Mapped[str | None] = mapped_column(sa.String(11), unique=True)
    phone_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin",
        order_by="RoleGrant.id")

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    @property
    def roles(self) -> list[str]:
        seen: list[str] = []
        for grant in self.grants:
            if grant.role.value not in seen:
                seen.append(grant.role.value)
        return seen

    def has_role(self, role: Role | str) -> bool:
        return any(g.role == role for g in self.grants)

    def scopes(self, role: Role) -> list[str]:
        """Area codes this user holds `role` for."""
        return [g.area_code for g in self.grants if g.role == role and g.area_code]

    def staff_scopes(self) -> list[str]:
        """The areas this user serves as local staff (community worker or bureau)."""
        return self.scopes(Role.community_worker) + self.scopes(Role.bureau)

    def covers(self, role: Role, code: str | None) -> bool:
        return code is not None and any(covers(s, code) for s in self.scopes(role))

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.admin)

    @property
    def primary_area_code(self) -> str | None:
        for grant in self.grants:
            if grant.area_code:
                return grant.area_code
        return None

    @property
    def community_code(self) -> str | None:
        """A resident's own community (where their needs go), once they chose it."""
        return next(iter(self.scopes(Role.resident)), None)

    @property
    def may_sign_in_by_sms(self) -> bool:
        return self.active and not any(self.has_role(r) for r in NO_SMS_SIGN_IN)

    def to_dict(self) -> dict:
        from portal.core.sms import mask_phone

        return {"id": self.id, "username": self.username, "roles": self.roles,
                "area_code": self.primary_area_code, "community_code": self.community_code,
                "phone_masked": mask_phone(self.phone), "phone_verified": self.phone is not None,
                "grants": [g.to_dict() for g in self.grants]}

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class RoleGrant(db.Model):
    """One role held by one user, with the area it covers where the role has one."""

    __tablename__ = "role_grants"
    __table_args__ = (
        sa.Index("uq_role_grants_scoped", "user_id", "role", "area_code", unique=True,
                 sqlite_where=sa.text("area_code IS NOT NULL"),
                 postgresql_where=sa.text("area_code IS NOT NULL")),
        sa.Index("uq_role_grants_unscoped", "user_id", "role", unique=True,
                 sqlite_where=sa.text("area_code IS NULL"),
                 postgresql_where=sa.text("area_code IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, 32))
    area_code: Mapped[str | None] = mapped_column(sa.ForeignKey("areas.code"), index=True)

    user: Mapped[User] = relationship(back_populates="grants")
    area = relationship("Area", lazy="select")  # for pages: names, not codes

    def to_dict(self) -> dict:
        return {"role": self.role.value, "area_code": self.area_code}


class ApiToken(db.Model):
    """A bearer token. Only its SHA-256 is stored: the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None and self.expires_at > utcnow()


# --- passwords --------------------------------------------------------------------------

def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(time_cost=cfg["ARGON2_TIME_COST"], memory_cost=cfg["ARGON2_MEMORY_COST"],
                          parallelism=cfg["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


# A real hash to verify against when the username is unknown, so that a miss costs as much as
# a wrong password and timing tells nothing about which usernames exist.
_DUMMY_HASH: dict[tuple, str] = {}


def verify_password(user: User | None, password: str) -> bool:
    hasher = _hasher()
    if user is None:
        key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
        dummy = _DUMMY_HASH.setdefault(key, hasher.hash(secrets.token_hex(8)))
        with contextlib.suppress(VerificationError, InvalidHashError):
            hasher.verify(dummy, password)
        return False
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


# --- use cases ---------------------------------------------------------------------------

USERNAME_RE = re.compile(r"^[\w.@+-]{3,64}$")
MIN_PASSWORD = 8


@dataclass
class Grant:
    role: Role
    area_code: str | None = None


def parse_grants(roles: list[str], area_code: str | None) -> list[Grant]:
    """Roles from a form or the API, with the one area code that scoped roles share."""
    errors: list[str] = []
    grants: list[Grant] = []
    for name in roles:
        try:
            role = Role(name)
        except ValueError:
            errors.append(_("Unknown role: {role}").format(role=name))
            continue
        if any(g.role == role for g in grants):
            continue
        grants.append(Grant(role, area_code if role in SCOPE_LEVELS else None))
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), {"roles": errors})
    return grants


def check_grants(grants: list[Grant]) -> None:
    """Scoped roles need an existing area of the right level."""
    for grant in grants:
        if grant.role not in SCOPE_LEVELS:
            continue
        if not grant.area_code:
            raise ValidationFailed.on("area_code", _("An area is required for the role {role}.")
                                      .format(role=grant.role.title))
        area = db.session.get(Area, grant.area_code)
        if area is None:
            raise ValidationFailed.on("area_code", _("No such area: {code}").format(
                code=grant.area_code))
        if area.level not in SCOPE_LEVELS[grant.role]:
            levels = " / ".join(level.title for level in SCOPE_LEVELS[grant.role])
            raise ValidationFailed.on("area_code", _("The role {role} sits at: {levels}.").format(
                role=grant.role.title, levels=levels))


def check_credentials(username: str, password: str) -> None:
    errors: dict[str, list[str]] = {}
    if not USERNAME_RE.match(username or ""):
        errors["username"] = [_("3–64 letters, digits or . _ @ + -")]
    if len(password or "") < MIN_PASSWORD:
        errors["password"] = [_("At least {n} characters.").format(n=MIN_PASSWORD)]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)


def create_user(username: str, password: str, grants: list[Grant], *, actor,
                display_name: str | None = None) -> User:
    """Create an account. The caller has already been authorised for these grants."""
    from portal.core.audit import record

    username = (username or "").strip()
    check_credentials(username, password)
    check_grants(grants)
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise Conflict(_("The username {name} is taken.").format(name=username),
                       {"username": [_("This username is taken.")]})
    user = User(username=username, password_hash=hash_password(password),
                display_name=display_name)
    user.grants = [RoleGrant(role=g.role, area_code=g.area_code) for g in grants]
    db.session.add(user)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        # Two requests for the same name at once: the unique index decides.
        raise Conflict(_("The username {name} is taken.").format(name=username),
                       {"username": [_("This username is taken.")]}) from None
    record(actor, "user", user.id, "create",
           to=",".join(f"{g.role.value}@{g.area_code}" if g.area_code else g.role.value
                       for g in grants) or "-",
           area_code=user.primary_area_code)
    return user


def grant_role(user: User, role: Role, area_code: str | None = None, *, actor) -> RoleGrant:
    """Give a role (idempotent). Used by later modules: founding an org, registering."""
    from portal.core.audit import record

    for grant in user.grants:
        if grant.role == role and grant.area_code == area_code:
            return grant
    grant = RoleGrant(user_id=user.id, role=role, area_code=area_code)
    try:
        with db.session.begin_nested():
            db.session.add(grant)
            db.session.flush()
    except sa.exc.IntegrityError:
        # Granted at the same moment by another request: the unique index decided; same result.
        db.session.expire(user, ["grants"])
        return next(g for g in user.grants if g.role == role and g.area_code == area_code)
    db.session.expire(user, ["grants"])
    record(actor, "user", user.id, "grant", to=f"{role.value}@{area_code}" if area_code
           else role.value, area_code=area_code)
    return grant


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, ApiToken]:
    token = secrets.token_urlsafe(32)
    ttl = timedelta(hours=current_app.config["API_TOKEN_TTL_HOURS"])
    from portal.core.audit import record

    row = ApiToken(user=user, token_hash=token_digest(token), expires_at=utcnow() + ttl)
    db.session.add(row)
    db.session.flush()
    record(user, "user", user.id, "token_issue", to=str(row.id),
           area_code=user.primary_area_code)
    return token, row


def live_token() -> sa.ColumnElement:
    """SQL: the token of parameter `digest` (`token_digest`) is live at parameter `now`: not
    revoked, not expired, of an active account (a statement with api_tokens joined to users)."""
    return sa.and_(ApiToken.token_hash == sa.bindparam("digest"), ApiToken.revoked_at.is_(None),
                   ApiToken.expires_at > sa.bindparam("now"), User.active.is_(True))


@functools.cache
def _live_token() -> sa.Select:
    """Built once (on first use, when every mapper exists): every API request runs it, and a
    statement reused skips its construction and cache key."""
    return (sa.select(ApiToken).join(ApiToken.user).where(live_token())
            .options(contains_eager(ApiToken.user).joinedload(User.grants)))


def find_token(token: str) -> ApiToken | None:
    """The live token with its user and the user's grants, in one statement (every API request
    asks): revoked, expired or of an inactive account is None, judged by the database."""
    return db.session.scalars(_live_token(), {"digest": token_digest(token), "now": utcnow()}
                              ).unique().first()


def revoke_token(row: ApiToken) -> None:
    from portal.core.audit import record

    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record(row.user, "user", row.user_id, "token_revoke", to=str(row.id),
               area_code=row.user.primary_area_code)


def visible_users(actor: User) -> sa.Select:
    """Accounts the actor may list: all for an admin, those with a role in a bureau's area."""
    from portal.core.areas import under

    query = sa.select(User)
    if not actor.is_admin:
        query = query.where(User.id.in_(sa.select(RoleGrant.user_id).where(sa.or_(
            sa.false(), *[under(RoleGrant.area_code, s) for s in actor.scopes(Role.bureau)]))))
    return query
