"""Resident identity numbers (GB 11643-1999) and the cards that share their format.

Accepts: 18-digit resident ID (region code valid in the birth year per GB/T 2260, using
python-stdnum's table), the old 15-digit form (upgraded to 18), residence permits of Hong Kong,
Macau and Taiwan residents (prefixes 810000 / 820000 / 830000) and the 2023 foreigner's permanent
residence card (18 digits starting with 9). The ID is the key that ties a person's phone cards,
bank cards and platform accounts together, and the village-push gangs harvest exactly this number.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import random
from dataclasses import dataclass
from typing import Literal

import stdnum

from fanzha.ids._common import (
    InvalidChecksum,
    InvalidDate,
    InvalidFormat,
    InvalidLength,
    InvalidRegion,
    clean,
    shown,
    validity_check,
)

Kind = Literal[
    "resident",
    "hk_residence_permit",
    "macau_residence_permit",
    "taiwan_residence_permit",
    "permanent_residence",
]

_PERMIT_PREFIX: dict[str, Kind] = {
    "810000": "hk_residence_permit",
    "820000": "macau_residence_permit",
    "830000": "taiwan_residence_permit",
}
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK = "10X98765432"
# Province-level codes that a permanent residence card's digits 2-3 may carry.
_PROVINCES = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
    }
)


def check_digit(first17: str) -> str:
    """GB 11643 check character for the first 17 digits.

    The weights are 2**(17-i) mod 11 and 13 = 2 (mod 11), so the weighted sum is 2 * (the digits
    read in base 13) mod 11: one C-level int() instead of 17 (ten times faster, on the hot path of
    free-text scanning). Anything but 17 ASCII digits takes the textbook sum (and its errors).
    """
    if len(first17) == 17 and first17.isdigit() and first17.isascii():
        return _CHECK[2 * int(first17, 13) % 11]
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


@dataclass(frozen=True)
class ResidentId:
    value: str
    kind: Kind
    birth_date: _dt.date
    sex: Literal["M", "F"]
    region_code: str
    upgraded_from_15: bool = False

    def age_on(self, day: _dt.date) -> int:
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))

    @property
    def region_name(self) -> str | None:
        """Province / city / county names of the region code, where the table knows it."""
        return region_name(self.region_code)


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    start: int | None  # first year the code was valid, None = always
    end: int | None  # last year, None = still valid


@functools.cache
def regions() -> tuple[Region, ...]:
    """All county-level codes of python-stdnum's GB/T 2260 table with the years they were valid."""
    path = os.path.join(os.path.dirname(stdnum.__file__), "cn", "loc.dat")
    out: list[Region] = []
    province = ""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip() or line.startswith("#"):
                continue
            if not line.startswith(" "):
                province = line.split()[0]
                continue
            code, _, rest = line.strip().partition(" ")
            value = rest.partition("=")[2].strip().strip('"')
            for entry in value.split(","):
                start = end = None
                if entry.startswith("["):
                    years, _, entry = entry[1:].partition("]")
                    a, _, b = years.partition("-")
                    start, end = (int(a) if a else None), (int(b) if b else None)
                out.append(Region(province + code, entry, start, end))
    return tuple(out)


@functools.cache
def _regions_by_code() -> dict[str, tuple[Region, ...]]:
    by: dict[str, list[Region]] = {}
    for r in regions():
        by.setdefault(r.code, []).append(r)
    return {k: tuple(v) for k, v in by.items()}


def region_valid_in(code: str, year: int) -> bool:
    return any(
        (r.start is None or year >= r.start) and (r.end is None or year <= r.end)
        for r in _regions_by_code().get(code, ())
    )


@functools.cache
def region_name(code: str) -> str | None:
    """'四川省 南充市 仪陇县' for a county code; None if the table does not know it."""
    by = _regions_by_code()
    parts = []
    for prefix in (code[:2] + "0000", code[:4] + "00", code):
        r = by.get(prefix)
        if r and r[-1].name not in parts and r[-1].name not in ("市辖区", "县"):
            parts.append(r[-1].name)
    if code not in by:
        return None
    prov = _province_names().get(code[:2])
    if prov and prov not in parts:
        parts.insert(0, prov)
    return " ".join(parts)


@functools.cache
def _province_names() -> dict[str, str]:
    path = os.path.join(os.path.dirname(stdnum.__file__), "cn", "loc.dat")
    out = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line[:1].isdigit():
                code, _, rest = line.strip().partition(" ")
                out[code] = rest.partition("=")[2].strip().strip('"')
    return out


def _date(s: str, value: str, today: _dt.date) -> _dt.date:
    try:
        d = _dt.date(int(s[:4]), int(s[4:6]), int(s[6:8]))
    except ValueError:
        raise InvalidDate(f"{shown(value)}: birth date {s} does not exist") from None
    if d.year < 1900:
        raise InvalidDate(f"{shown(value)}: birth year {d.year} is before 1900")
    if d > today:
        raise InvalidDate(f"{shown(value)}: birth date {d} is in the future")
    return d


def upgrade_15(value: str) -> str:
    """Old 15-digit number (born 19yy) to its 18-digit form."""
    body = value[:6] + "19" + value[6:15]
    return body + check_digit(body)


def parse(value: str, *, today: _dt.date | None = None) -> ResidentId:
    """Normalise and validate; raise an IdError subclass that says which rule failed."""
    today = today or _dt.date.today()
    s = clean(value)
    upgraded = False
    if len(s) == 15:
        if not s.isdigit():
            raise InvalidFormat(f"{shown(value)}: a 15-digit ID number has digits only")
        s, upgraded = upgrade_15(s), True
    if len(s) != 18:
        raise InvalidLength(f"{shown(value)}: an ID number has 18 characters (or 15), got {len(s)}")
    if not s[:17].isdigit() or not (s[17].isdigit() or s[17] == "X"):
        raise InvalidFormat(f"{shown(value)}: 17 digits then a digit or X expected")
    if s[17] != check_digit(s[:17]):
        raise InvalidChecksum(f"{shown(value)}: check character should be {check_digit(s[:17])}")
    birth = _date(s[6:14], value, today)
    sex: Literal["M", "F"] = "M" if int(s[16]) % 2 else "F"
    if s[:6] in _PERMIT_PREFIX:
        return ResidentId(s, _PERMIT_PREFIX[s[:6]], birth, sex, s[:6], upgraded)
    if s[0] == "9":
        if s[1:3] not in _PROVINCES:
            raise InvalidRegion(f"{shown(value)}: {s[1:3]} is not a province code")
        return ResidentId(s, "permanent_residence", birth, sex, s[1:3] + "0000", upgraded)
    if not region_valid_in(s[:6], birth.year):
        why = "unknown" if s[:6] not in _regions_by_code() else f"not in use in {birth.year}"
        raise InvalidRegion(f"{shown(value)}: region code {s[:6]} is {why}")
    return ResidentId(s, "resident", birth, sex, s[:6], upgraded)


def is_valid_18(s: str, *, today: _dt.date | None = None) -> bool:
    """`is_valid` for 18 characters already clean (17 ASCII digits, then a digit or X): parse's
    answer without its clean-up, messages and result object, four times faster. Free-text
    scanning asks this of every 18-digit number it meets."""
    if len(s) != 18 or not s.isascii() or not s[:17].isdigit():
        return False
    if s[17] != check_digit(s[:17]):  # also refuses a last character that is not a digit or X
        return False
    try:
        birth = _dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    if birth.year < 1900:
        return False
    # a year before the one this module was loaded in is never in the future: no clock read
    if (today is not None or birth.year >= _LOADED_IN) and birth > (today or _dt.date.today()):
        return False
    if s[:6] in _PERMIT_PREFIX:
        return True
    if s[0] == "9":
        return s[1:3] in _PROVINCES
    return region_valid_in(s[:6], birth.year)


_LOADED_IN = _dt.date.today().year


@functools.cache
def _county_codes() -> tuple[Region, ...]:
    return tuple(r for r in regions() if not r.code.endswith("00"))


def fake(
    rng: random.Random,
    *,
    birth_date: _dt.date | None = None,
    region: str | None = None,
    sex: Literal["M", "F"] | None = None,
    kind: Kind = "resident",
) -> str:
    """A valid number for tests and simulation: region valid in the birth year, right checksum."""
    if birth_date is None:
        birth_date = _dt.date(1940, 1, 1) + _dt.timedelta(days=rng.randrange(365 * 65))
    y = birth_date.year
    if kind == "resident":
        if region is None:
            pool = [
                r.code
                for r in _county_codes()
                if (r.start is None or y >= r.start) and (r.end is None or y <= r.end)
            ]
            region = rng.choice(pool)
        elif not region_valid_in(region, y):
            raise InvalidRegion(f"region {region} is not valid in {y}")
        head = region
    elif kind == "permanent_residence":
        head = "9" + rng.choice(sorted(_PROVINCES)) + f"{rng.randrange(4, 900):03d}"
    else:
        head = next(p for p, k in _PERMIT_PREFIX.items() if k == kind)
    seq = rng.randrange(0, 1000)
    if sex is not None and (seq % 2 == 1) != (sex == "M"):
        seq = seq ^ 1
    body = head[:6] + birth_date.strftime("%Y%m%d") + f"{seq:03d}"
    return body + check_digit(body)


is_valid = validity_check(parse)
