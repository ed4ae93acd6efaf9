"""Identity documents: the 居民身份证 number checked in full (GB 11643-1999), other documents for
format. One validator for page, API and import.

No real person's valid number may be refused. The region code (characters 1–6) is the county
that first issued the number and is never re-checked against today's divisions: an elderly
resident keeps the code of a county created after their birth, and renamed or merged counties
keep their old codes. Only the province (characters 1–2) must be one that exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"
PROVINCES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83",
}
EARLIEST_BIRTH = date(1890, 1, 1)

OTHER_FORMATS = {
    "passport": re.compile(r"^[A-Z0-9]{5,20}$"),
    "hk_macao_permit": re.compile(r"^[HM]\d{8}(\d{2})?$"),
    "taiwan_permit": re.compile(r"^(\d{8}|\d{10})$"),
}
ID_TYPES = ("resident_id", "passport", "hk_macao_permit", "taiwan_permit")


class InvalidId(ValueError):
    """Why a number is refused: 'length', 'format', 'province', 'birth_date', 'future',
    'check' or 'type'. The message shown to people never repeats the number."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IdentityNumber:
    id_type: str
    number: str
    birth_date: date | None = None
    gender: str | None = None  # "male" / "female", from a resident ID only

    @property
    def masked(self) -> str:
        return mask(self.number)


def mask(number: str) -> str:
    """First 4 and last 4 characters kept, the rest starred (DESIGN.md)."""
    if len(number) <= 8:
        return number[:1] + "*" * (len(number) - 1)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def check_character(first17: str) -> str:
    return CHECK[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def parse_resident_id(raw: str, today: date | None = None) -> IdentityNumber:
    number = (raw or "").strip().upper()
    if len(number) != 18:
        raise InvalidId("length")
    if not (number[:17].isascii() and number[:17].isdigit()) or number[17] not in "0123456789X":
        raise InvalidId("format")
    if number[:2] not in PROVINCES:
        raise InvalidId("province")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidId("birth_date") from None
    if born > (today or date.today()):
        raise InvalidId("future")
    if born < EARLIEST_BIRTH:
        raise InvalidId("birth_date")
    if number[17] != check_character(number[:17]):
        raise InvalidId("check")
    return IdentityNumber("resident_id", number, born, "male" if int(number[16]) % 2 else
                          "female")


def parse(id_type: str, raw: str, today: date | None = None) -> IdentityNumber:
    if id_type == "resident_id":
        return parse_resident_id(raw, today)
    pattern = OTHER_FORMATS.get(id_type)
    if pattern is None:
        raise InvalidId("type")
    number = re.sub(r"\s", "", raw or "").upper()
    if not pattern.match(number):
        raise InvalidId("format")
    return IdentityNumber(id_type, number)


def make_resident_id(region: str, born: date, sequence: int) -> str:
    """A valid number (for tests, demo data and benchmarks)."""
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)
