"""统一社会信用代码 (GB 32100-2015), with the organisation code's own check (GB 11714-1997).

One validator for pages, API and imports. python-stdnum's cn.uscc checks the final character but
not the organisation code inside, which our rule requires.
"""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 3^(i-1) mod 31
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]

# Registration authority 5 (civil affairs) and the type that follows it.
LEGAL_TYPES = {"51": "social_group", "52": "private_non_enterprise", "53": "foundation",
               "59": "other"}


class USCCError(ValueError):
    """Why a code fails: one of 'length', 'charset', 'org_code', 'check'."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def normalise(code: str) -> str:
    return (code or "").strip().upper()


def check_character(first17: str) -> str:
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def org_code_check(body8: str) -> str:
    """GB 11714: digits are 0–9, letters A=10 … Z=35; 11 → '0', 10 → 'X'."""
    total = sum(int(c, 36) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return "0" if value == 11 else "X" if value == 10 else str(value)


def validate(code: str) -> str:
    """The normalised code, or USCCError saying what is wrong."""
    code = normalise(code)
    if len(code) != 18:
        raise USCCError("length")
    if any(c not in CHARSET for c in code):
        raise USCCError("charset")
    if code[16] != org_code_check(code[8:16]):
        raise USCCError("org_code")
    if code[17] != check_character(code[:17]):
        raise USCCError("check")
    return code


def legal_type(code: str) -> str | None:
    """社会团体 / 民办非企业单位 / 基金会 / 其他 for a civil-affairs code, else None."""
    return LEGAL_TYPES.get(normalise(code)[:2])


def make(prefix8: str, org_body8: str) -> str:
    """Build a valid code (for tests, demo data and benchmarks)."""
    first17 = prefix8 + org_body8 + org_code_check(org_body8)
    return first17 + check_character(first17)
