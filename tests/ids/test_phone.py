import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fanzha.ids import InvalidFormat, InvalidLength, InvalidPrefix, phone


@pytest.mark.parametrize("written", [
    "13800138000", "+86 138-0013-8000", "0086 13800138000", "8613800138000",
    "１３８００１３８０００", "138 0013 8000", "(138)00138000",
])
def test_the_ways_people_write_a_mobile_all_normalise_to_11_digits(written):
    assert phone.parse(written) == phone.Phone("13800138000", "mobile")


def test_carrier_and_region_of_a_mobile():
    p = phone.parse("13800138000")
    assert p.carrier() == "中国移动"
    assert p.region() == "北京市"


@pytest.mark.parametrize("written, value, kind", [
    ("010-12345678", "01012345678", "landline"),
    ("(0755)88881234", "075588881234", "landline"),
    ("+86 10 12345678", "01012345678", "landline"),
    ("12381", "12381", "service"),
    ("95588", "95588", "service"),
    ("110", "110", "service"),
    ("10690000123", "10690000123", "service"),
    ("400-123-4567", "4001234567", "service"),
    ("+855 12 345 678", "+85512345678", "international"),
])
def test_landlines_service_and_foreign_numbers(written, value, kind):
    assert phone.parse(written) == phone.Phone(value, kind)


@pytest.mark.parametrize("written, error", [
    ("14012345678", InvalidPrefix),    # 140 is not an allocated mobile segment
    ("abc", InvalidFormat),
    ("123", InvalidFormat),            # not a service number
    ("0", InvalidLength),
    ("", InvalidLength),
    ("+999123", InvalidPrefix),
])
def test_invalid_numbers_say_why(written, error):
    with pytest.raises(error):
        phone.parse(written)


def test_virtual_operator_segments_are_flagged():
    assert phone.parse("17012345678").is_virtual_operator
    assert not phone.parse("13800138000").is_virtual_operator


@given(st.integers(0, 2**32))
def test_every_fake_mobile_and_landline_is_valid(seed):
    rng = random.Random(seed)
    assert phone.parse(phone.fake_mobile(rng)).kind == "mobile"
    assert phone.parse(phone.fake_landline(rng)).kind == "landline"


def test_parse_mobile_refuses_other_kinds():
    with pytest.raises(InvalidPrefix, match="landline"):
        phone.parse_mobile("010-12345678")
    assert phone.is_valid_mobile("13800138000")
    assert not phone.is_valid_mobile("95588")
