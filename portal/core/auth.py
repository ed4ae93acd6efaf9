"""Signing in, for the page and the API alike: one rule for failures and lock-outs."""

from __future__ import annotations

import sqlalchemy as sa
from flask import request
from flask_babel import gettext as _

from portal.core.errors import TooManyAttempts, Unauthorized
from portal.core.throttle import login_throttles
from portal.core.users import User, verify_password
from portal.extensions import db


def client_address() -> str:
    return request.remote_addr or "unknown"


def authenticate(username: str, password: str) -> User:
    """The user, or Unauthorized / TooManyAttempts.

    Only failures count: 10 per username or 50 per address in 15 minutes (settings) lock that
    username or that address alone, and a locked one is refused before the password is checked.
    """
    by_user, by_addr = login_throttles()
    username = (username or "").strip()
    address = client_address()
    user_key = username.lower()
    if by_user.blocked(user_key) or by_addr.blocked(address):
        raise TooManyAttempts(_("Too many failed sign-ins. Please wait 15 minutes and try "
                                "again."))
    user = db.session.scalar(sa.select(User).where(User.username == username)) if username \
        else None
    if not verify_password(user, password or "") or not user.is_active:
        by_user.hit(user_key)
        by_addr.hit(address)
        raise Unauthorized(_("Wrong username or password."))
    return user
