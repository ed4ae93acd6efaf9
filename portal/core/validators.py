"""Field validators shared by pages, API and imports. Each returns the clean value or raises
ValueError with a translated message (pydantic turns it into a 422 on the field)."""

from __future__ import annotations

import re
from datetime import date

from flask_babel import gettext as _

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def phone(value: str) -> str:
    """A mainland mobile (13800138000, however typed: see `mobile`) or a landline with its area
    code (0417-1234567)."""
    try:
        return mobile(value)
    except ValueError:
        pass
    cleaned = re.sub(r"[\s()（）]", "", value if isinstance(value, str) else "")
    if cleaned.startswith("+86"):
        cleaned = cleaned[3:]
    if not LANDLINE_RE.match(cleaned):
        raise ValueError(_("Enter a mainland mobile number (11 digits) or a landline with its "
                           "area code."))
    return cleaned


def mobile(value: str) -> str:
    """A mainland mobile number from what people type: spaces, dashes, dots and brackets go, and
    a +86 / 0086 / 86 prefix; what is left must be 1[3-9] and 9 more digits."""
    cleaned = re.sub(r"[\s\-.()（）\u00a0]", "", value if isinstance(value, str) else "")
    for prefix in ("+86", "0086"):
        if cleaned.startswith(prefix):
            cleaned = cleaned[len(prefix):]
    if len(cleaned) == 13 and cleaned.startswith("86"):
        cleaned = cleaned[2:]
    if not MOBILE_RE.match(cleaned):
        raise ValueError(_("Enter a mainland mobile number (11 digits)."))
    return cleaned


def not_future(value: date | None) -> date | None:
    if value is not None and value > date.today():
        raise ValueError(_("This date is in the future."))
    return value
