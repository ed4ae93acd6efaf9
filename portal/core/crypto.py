"""Sensitive personal data at rest: ID numbers encrypted (Fernet: AES-128-CBC with HMAC) and
found by a keyed hash (HMAC-SHA256), so that a duplicate check never decrypts anything.

Keys come from the environment (ID_ENCRYPTION_KEY, ID_HASH_KEY). In development they are made
once under instance/. Several encryption keys may be given, comma-separated, newest first:
the first encrypts, all decrypt (key rotation).
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, MultiFernet
from flask import current_app


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in current_app.config["ID_ENCRYPTION_KEY"].split(",") if k.strip()]
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def keyed_hash(kind: str, value: str) -> str:
    key = current_app.config["ID_HASH_KEY"].encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def new_fernet_key() -> str:
    return Fernet.generate_key().decode()
