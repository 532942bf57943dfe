import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from fanzha.ids import (
    IdError,
    InvalidChecksum,
    InvalidFormat,
    InvalidLength,
    bank_card,
    permits,
    plate,
    uscc,
)


@given(st.integers(0, 2**32))
def test_every_fake_card_passes_luhn_and_names_its_bank(seed):
    value = bank_card.fake(random.Random(seed))
    card = bank_card.parse(value)
    assert card.luhn_ok and card.confidence > 0.9 and card.bank is not None


@given(st.integers(0, 2**32), st.integers(0, 18), st.integers(1, 9))
def test_one_digit_change_breaks_luhn_but_is_not_rejected(seed, pos, delta):
    value = bank_card.fake(random.Random(seed))
    pos %= len(value)
    changed = value[:pos] + str((int(value[pos]) + delta) % 10) + value[pos + 1:]
    card = bank_card.parse(changed)  # a freeze order must not miss a mule over a check digit
    assert not card.luhn_ok
    assert card.confidence < 0.6


def test_card_lengths_unionpay_and_last4():
    card = bank_card.parse("6222 0202 0000 1234 567")
    assert card.value == "6222020200001234567" and card.unionpay and card.last4 == "4567"
    assert card.bank == "中国工商银行" and card.card_kind == "debit"
    with pytest.raises(InvalidLength):
        bank_card.parse("622202020000123")
    with pytest.raises(InvalidFormat):
        bank_card.parse("6222-0202-abcd-1234")


@pytest.mark.parametrize("value", ["91350100M000100Y43", "91110000600037341L"])
def test_real_uscc_codes_validate(value):
    assert uscc.parse(value).value == value


@given(st.integers(0, 2**32), st.sampled_from(sorted(uscc.AUTHORITIES)))
def test_every_authority_code_including_a_n_y(seed, authority):
    value = uscc.fake(random.Random(seed), authority=authority)
    assert uscc.parse(value).authority == authority


def test_stdnum_rejects_authority_n_which_fanzha_accepts():
    value = uscc.fake(random.Random(7), authority="N")
    assert uscc.is_valid(value)
    assert not stdnum_uscc.is_valid(value)


@given(st.integers(0, 2**32), st.integers(0, 17))
def test_one_character_change_in_a_uscc_is_caught(seed, pos):
    value = uscc.fake(random.Random(seed))
    alphabet = uscc.ALPHABET
    repl = alphabet[(alphabet.index(value[pos]) + 1) % len(alphabet)]
    with pytest.raises(IdError):
        uscc.parse(value[:pos] + repl + value[pos + 1:])


def test_uscc_errors():
    with pytest.raises(InvalidChecksum):
        uscc.parse("91350100M000100Y44")
    with pytest.raises(InvalidFormat, match="'I'"):
        uscc.parse("91350100M000100I43")


@pytest.mark.parametrize("kind", ["hk_macau_permit", "home_return_permit", "passport"])
def test_permit_fakes_validate_and_are_told_apart(kind):
    rng = random.Random(3)
    for _ in range(50):
        assert permits.parse(permits.fake(rng, kind)).kind == kind


def test_permit_examples():
    assert permits.parse("C12345678").kind == "hk_macau_permit"
    assert permits.parse("h1234567801").kind == "home_return_permit"
    assert permits.parse("E12345678").kind == "passport"
    assert permits.parse("EA1234567").kind == "passport"
    assert not permits.is_valid("EI1234567")  # no I or O


@pytest.mark.parametrize("value, new_energy", [
    ("京A12345", False), ("粤B·D12345", True), ("沪A12345D", True), ("川R1234学", False),
])
def test_plates(value, new_energy):
    assert plate.parse(value).new_energy is new_energy


@given(st.integers(0, 2**32), st.booleans())
def test_plate_fakes_validate(seed, ne):
    assert plate.is_valid(plate.fake(random.Random(seed), new_energy=ne))


def test_bad_plates():
    assert not plate.is_valid("京I12345")
    assert not plate.is_valid("A12345")
