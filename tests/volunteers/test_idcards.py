"""The resident ID rule (GB 11643): everything real passes, nothing else does."""

from datetime import date

import pytest

from portal.volunteers import idcards
from portal.volunteers.idcards import InvalidId, make_resident_id, parse


@pytest.mark.parametrize("region,born,why", [
    ("210802", date(1948, 3, 5), "站前区 exists only from 1983"),
    ("210811", date(1951, 12, 31), "老边区 was created in 1984"),
    ("210821", date(1943, 7, 1), "营口县, renamed 大石桥市 (210882) in 1992"),
    ("210822", date(1955, 1, 20), "盖县, now 盖州市 (210881)"),
    ("110108", date(1912, 2, 29), "a leap day more than a century ago"),
    ("460100", date(1960, 6, 6), "海南, a province only since 1988"),
    ("500101", date(1970, 1, 1), "重庆, a municipality only since 1997"),
])
def test_real_numbers_are_never_refused(region, born, why):
    for sequence in (1, 2, 37, 999):
        number = make_resident_id(region, born, sequence)
        identity = parse("resident_id", number)
        assert identity.birth_date == born, why
        assert identity.gender == ("male" if sequence % 2 else "female")


def test_a_lower_case_x_reads_as_x():
    number = next(n for n in (make_resident_id("210802", date(1950, 1, 1), s)
                              for s in range(1000)) if n.endswith("X"))
    assert parse("resident_id", number.lower()).number == number


@pytest.mark.parametrize("mutate,reason", [
    (lambda n: n[:17], "length"),
    (lambda n: n + "1", "length"),
    (lambda n: "A" + n[1:], "format"),
    (lambda n: "99" + n[2:], "province"),
    (lambda n: n[:10] + "13" + n[12:], "birth_date"),
    (lambda n: n[:10] + "0230" + n[14:], "birth_date"),
    (lambda n: n[:6] + "18800101" + n[14:], "birth_date"),
    (lambda n: n[:17] + ("1" if n[17] != "1" else "2"), "check"),
])
def test_wrong_numbers_are_refused_with_a_reason(mutate, reason):
    number = mutate(make_resident_id("210802", date(1980, 5, 17), 123))
    with pytest.raises(InvalidId) as refused:
        parse("resident_id", number)
    assert refused.value.reason in (reason, "check")
    if reason != "check":
        assert refused.value.reason == reason


def test_a_birth_date_in_the_future_is_refused():
    number = make_resident_id("210802", date(2030, 1, 1), 1)
    with pytest.raises(InvalidId) as refused:
        parse("resident_id", number, today=date(2026, 11, 29))
    assert refused.value.reason == "future"


def test_mask_keeps_first_and_last_four():
    assert idcards.mask("210802194803051234") == "2108**********1234"


@pytest.mark.parametrize("id_type,number,ok", [
    ("passport", "E12345678", True), ("passport", "ea1234567", True), ("passport", "12", False),
    ("hk_macao_permit", "H12345678", True), ("hk_macao_permit", "M1234567890", True),
    ("hk_macao_permit", "X12345678", False), ("taiwan_permit", "12345678", True),
    ("taiwan_permit", "1234567", False), ("driving_licence", "123", False),
])
def test_other_documents_are_checked_for_format(id_type, number, ok):
    if ok:
        assert parse(id_type, number).birth_date is None
    else:
        with pytest.raises(InvalidId):
            parse(id_type, number)
