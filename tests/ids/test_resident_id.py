import datetime as dt
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fanzha.ids import IdError, InvalidChecksum, InvalidDate, InvalidLength, InvalidRegion
from fanzha.ids import resident_id as rid

dates = st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2020, 12, 31))
kinds = st.sampled_from(["resident", "hk_residence_permit", "macau_residence_permit",
                         "taiwan_residence_permit", "permanent_residence"])


@given(seed=st.integers(0, 2**32), birth=dates, sex=st.sampled_from(["M", "F"]), kind=kinds)
def test_every_fake_parses_back_with_its_birth_date_and_sex(seed, birth, sex, kind):
    value = rid.fake(random.Random(seed), birth_date=birth, sex=sex, kind=kind)
    got = rid.parse(value)
    assert got.value == value
    assert got.kind == kind
    assert got.birth_date == birth
    assert got.sex == sex


@given(seed=st.integers(0, 2**32), pos=st.integers(0, 17), delta=st.integers(1, 9))
def test_any_one_character_change_is_caught(seed, pos, delta):
    value = rid.fake(random.Random(seed))
    chars = list(value)
    if chars[pos] == "X":
        chars[pos] = str(delta)
    else:
        chars[pos] = str((int(chars[pos]) + delta) % 10)
    changed = "".join(chars)
    with pytest.raises(IdError):
        rid.parse(changed)


@given(seed=st.integers(0, 2**32), birth=st.dates(dt.date(1930, 1, 1), dt.date(1999, 12, 31)))
def test_15_digit_numbers_upgrade_to_their_18_digit_form(seed, birth):
    full = rid.fake(random.Random(seed), birth_date=birth)
    old = full[:6] + full[8:17]
    got = rid.parse(old)
    assert got.value == full and got.upgraded_from_15


def test_region_code_must_be_valid_in_the_birth_year():
    # 110103 was Beijing's Chongwen district until 2010 (merged into Dongcheng)
    body_ok = "110103" + "19900101" + "123"
    assert rid.parse(body_ok + rid.check_digit(body_ok)).region_code == "110103"
    body_late = "110103" + "20120101" + "123"
    with pytest.raises(InvalidRegion, match="not in use in 2012"):
        rid.parse(body_late + rid.check_digit(body_late))
    body_unknown = "119999" + "19900101" + "123"
    with pytest.raises(InvalidRegion, match="unknown"):
        rid.parse(body_unknown + rid.check_digit(body_unknown))


def test_lower_case_x_spaces_and_full_width_digits_are_normalised():
    assert rid.parse("110105 19491231 002x").value == "11010519491231002X"
    assert rid.parse("１１０１０５１９４９１２３１００２Ｘ").value == "11010519491231002X"


@pytest.mark.parametrize("value, error", [
    ("1101051949123100", InvalidLength),
    ("110105194912310021", InvalidChecksum),
    ("", InvalidLength),
])
def test_typed_errors_say_why(value, error):
    with pytest.raises(error):
        rid.parse(value)


def test_impossible_and_future_birth_dates_are_rejected():
    body = "110105" + "19490230" + "002"  # 30 February
    with pytest.raises(InvalidDate, match="does not exist"):
        rid.parse(body + rid.check_digit(body))
    body = "110105" + "20300101" + "002"
    with pytest.raises(InvalidDate, match="future"):
        rid.parse(body + rid.check_digit(body), today=dt.date(2026, 1, 1))


def test_age_and_region_name():
    got = rid.parse("11010519491231002X")
    assert got.age_on(dt.date(2026, 12, 30)) == 76
    assert got.age_on(dt.date(2026, 12, 31)) == 77
    assert got.sex == "F"
    assert "朝阳区" in (got.region_name or "")


def test_is_valid_is_parse_without_the_error():
    assert rid.is_valid("11010519491231002X")
    assert not rid.is_valid("11010519491231002Y")


def _check_digit_by_the_standard(first17: str) -> str:
    """GB 11643-1999 7.2 as written: weights 2**(17-i) mod 11, then the table."""
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(first17))
    return "10X98765432"[total % 11]


@given(st.text("0123456789", min_size=17, max_size=17))
def test_the_fast_check_digit_agrees_with_the_standard(first17):
    assert rid.check_digit(first17) == _check_digit_by_the_standard(first17)


def test_the_check_digit_of_known_numbers():
    assert rid.check_digit("11010519491231002") == "X"  # GB 11643's own example
    assert rid.check_digit("44052418800101001") == "4"


def test_the_check_digit_of_odd_input_is_the_textbook_sums():
    # full-width digits are digits to int(): same answer as their ASCII form
    assert rid.check_digit("１１０１０５１９４９１２３１００２") == "X"
    for bad in ("1101051949123100", "110105194912310021", "1_010519491231002", "1101051949123100a"):
        with pytest.raises(ValueError):
            rid.check_digit(bad)


@given(
    seed=st.integers(0, 2**32),
    kind=kinds,
    birth=st.dates(dt.date(1890, 1, 1), dt.date(2030, 12, 31)),
    region=st.sampled_from([None, "110103", "119999", "142622", "990000", "954321", "910000"]),
    date_part=st.sampled_from([None, "19490230", "20000229", "19000229", "18991231", "00000000"]),
    fix_check=st.booleans(),
    today=st.sampled_from([None, dt.date(2000, 1, 1), dt.date(2026, 1, 1)]),
)
def test_is_valid_18_answers_as_parse_does(seed, kind, birth, region, date_part, fix_check, today):
    rng = random.Random(seed)
    value = rid.fake(rng, birth_date=dt.date(1980, 5, 17), kind=kind)
    body = (region or value[:6]) + (date_part or birth.strftime("%Y%m%d")) + value[14:17]
    value = body + (rid.check_digit(body) if fix_check else rng.choice("0123456789X"))
    try:
        rid.parse(value, today=today)
        want = True
    except IdError:
        want = False
    assert rid.is_valid_18(value, today=today) == want


@pytest.mark.parametrize(
    "odd", ["11010519491231002x", "1101051949123100２X", "110105 9491231002X", ""]
)
def test_is_valid_18_refuses_what_is_not_clean(odd):
    assert not rid.is_valid_18(odd)
