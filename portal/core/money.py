"""Money: yuan as decimals with two places, never a float (api-v1.md)."""

from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import gettext as _

from portal.core.errors import ValidationFailed

MAX_AMOUNT = Decimal("9999999999.99")
MONEY_RE = re.compile(r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$")  # plain digits: no 1e3, no NaN
GROUPED_RE = re.compile(r"^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]{1,2})?$")
CENT = Decimal("0.01")


def parse_money(value, field_name: str) -> Decimal:
    """Yuan with at most two decimal places, as a string ("50000.00") or a whole number; more
    than zero. A float, NaN, an exponent or a third decimal is refused (422 on the field)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValidationFailed.on(field_name, _("An amount in yuan like 50000.00."))
    text = str(value).strip()
    if GROUPED_RE.match(text):  # 48,000.00 as the pages show amounts
        text = text.replace(",", "")
    if not MONEY_RE.match(text):
        raise ValidationFailed.on(field_name, _("An amount in yuan like 50000.00."))
    amount = Decimal(text)
    if amount <= 0:
        raise ValidationFailed.on(field_name, _("The amount must be more than zero."))
    if amount > MAX_AMOUNT:
        raise ValidationFailed.on(field_name, _("The amount is too large."))
    return amount.quantize(CENT)


def money(value: Decimal | None) -> str | None:
    """"50000.00": the contract's decimal string."""
    return None if value is None else f"{Decimal(value):.2f}"
