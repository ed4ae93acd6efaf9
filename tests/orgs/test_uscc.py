"""GB 32100 with the GB 11714 check inside, against real codes and an independent oracle."""

import random

import pytest
from stdnum.cn import uscc as stdnum_uscc

from portal.orgs import uscc

REAL = ["91110000802100433B", "91350100M000100Y43", "91440300708461136T"]


@pytest.mark.parametrize("code", REAL)
def test_real_codes_pass(code):
    assert uscc.validate(code) == code
    assert uscc.validate(code.lower()) == code


def test_final_character_agrees_with_python_stdnum():
    rng = random.Random(7)
    for _ in range(500):
        body = "".join(rng.choice(uscc.CHARSET) for _ in range(8))
        code = uscc.make("5" + rng.choice("1239") + "210800", body)
        assert stdnum_uscc.is_valid(code)
        assert uscc.validate(code) == code


@pytest.mark.parametrize("code,reason", [
    ("9111000080210043", "length"),
    ("91110000802100433I", "charset"),     # I is not used
    ("91110000802100433O", "charset"),
    ("91110000802100434B", "org_code"),    # organisation code's check digit altered
    ("91110000802100433C", "check"),       # final check altered
])
def test_each_failure_is_named(code, reason):
    with pytest.raises(uscc.USCCError) as failed:
        uscc.validate(code)
    assert failed.value.reason == reason


def test_a_code_passing_the_final_check_but_not_the_org_code_is_refused():
    # python-stdnum accepts this one; GB 11714's own check refuses it.
    right = uscc.org_code_check("MJ000001")
    wrong = "0" if right != "0" else "1"
    first17 = "52210800MJ000001" + wrong
    forged = first17 + uscc.check_character(first17)
    assert stdnum_uscc.is_valid(forged)
    with pytest.raises(uscc.USCCError) as failed:
        uscc.validate(forged)
    assert failed.value.reason == "org_code"


@pytest.mark.parametrize("prefix,legal", [("51", "social_group"), ("52", "private_non_enterprise"),
                                          ("53", "foundation"), ("59", "other"), ("91", None)])
def test_legal_type_from_the_second_character(prefix, legal):
    assert uscc.legal_type(prefix + "0" * 16) == legal
