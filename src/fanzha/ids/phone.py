"""Phone numbers as operators and partners write them, normalised to one form.

Mobiles become 11 digits (allocation checked against Google's libphonenumber metadata, so a number
in an unallocated segment is rejected); landlines become 0 + area code + number; service numbers
(110, 12381, 95588, 106… SMS ports, 400/800) stay as digits; foreign numbers become +CC… .
Accepts +86, 0086, spaces, dashes, brackets and full-width digits. Fraud calls come from all of
these: SIM-farm mobiles, virtual-operator segments, spoofed landlines and foreign numbers.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import carrier as _carrier
from phonenumbers import geocoder as _geocoder

from fanzha.ids._common import (
    InvalidFormat,
    InvalidLength,
    InvalidPrefix,
    clean,
    shown,
    validity_check,
)

PhoneKind = Literal["mobile", "landline", "service", "international"]

_CN = phonenumbers.PhoneMetadata.metadata_for_region("CN")
#: libphonenumber's pattern of allocated CN mobile numbers (11 digits, no prefix).
MOBILE_PATTERN: str = _CN.mobile.national_number_pattern
_MOBILE = re.compile(rf"(?:{MOBILE_PATTERN})")
_FIXED = re.compile(rf"(?:{_CN.fixed_line.national_number_pattern})")
_SERVICE = re.compile(
    r"11[0249]|12[02]"  # 110, 112, 114, 119, 120, 122
    r"|1[0-2][0-9]{3}"  # 10086, 10010, 11185, 12315, 12345, 12381 ...
    r"|106[0-9]{5,17}"  # SMS service ports (shops, platforms, banks)
    r"|9[5-6][0-9]{3,6}"  # 95588, 96110 ...
    r"|[48]00[0-9]{7}"  # 400 / 800 numbers
)
# Segments real operators issue (used to make fakes; validation uses the metadata pattern).
MOBILE_SEGMENTS: tuple[str, ...] = (
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "145",
    "147",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "170",
    "171",
    "172",
    "173",
    "175",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "184",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "193",
    "195",
    "196",
    "198",
    "199",
)
VIRTUAL_SEGMENTS: tuple[str, ...] = ("162", "165", "167", "170", "171")


@dataclass(frozen=True)
class Phone:
    value: str
    kind: PhoneKind

    @property
    def is_virtual_operator(self) -> bool:
        """Numbers of MVNO segments (170/171/162/165/167), favoured by SIM farms."""
        return self.kind == "mobile" and self.value[:3] in VIRTUAL_SEGMENTS

    def carrier(self) -> str | None:
        """Operator of a mobile number ('中国移动', ...), from the original allocation."""
        if self.kind != "mobile":
            return None
        return _carrier.name_for_number(_numobj(self.value), "zh") or None

    def region(self) -> str | None:
        """Province/city the number is allocated to (mobile) or located in (landline)."""
        if self.kind not in ("mobile", "landline"):
            return None
        return _geocoder.description_for_number(_numobj(self.value), "zh") or None


@functools.lru_cache(maxsize=65536)
def _numobj(value: str) -> phonenumbers.PhoneNumber:
    return phonenumbers.parse(value, "CN")


def _strip_cn(s: str) -> str | None:
    """Drop a +86 / 0086 / 86 country prefix; None if the number is foreign."""
    if s.startswith("+"):
        return s[3:] if s.startswith("+86") else None
    if s.startswith("00"):
        return s[4:] if s.startswith("0086") else None
    if s.startswith("86") and len(s) == 13 and _MOBILE.fullmatch(s[2:]):
        return s[2:]
    return s


def parse(value: str) -> Phone:
    """Normalise any dialable number; raise an IdError subclass that says why it is not one."""
    s = clean(value)
    if not s:
        raise InvalidLength("empty phone number")
    if not re.fullmatch(r"\+?[0-9]+", s):
        raise InvalidFormat(f"{shown(value)}: a phone number has digits only (and a leading +)")
    national = _strip_cn(s)
    if national is None:
        try:
            num = phonenumbers.parse("+" + s.lstrip("+").removeprefix("00"), None)
        except phonenumbers.NumberParseException as e:
            raise InvalidPrefix(f"{shown(value)}: unknown country code ({e})") from None
        if not phonenumbers.is_possible_number(num):
            raise InvalidLength(f"{shown(value)}: not a possible number for +{num.country_code}")
        return Phone(f"+{num.country_code}{num.national_number}", "international")
    if len(national) == 11 and national[0] == "1":
        if _MOBILE.fullmatch(national):
            return Phone(national, "mobile")
        if not _SERVICE.fullmatch(national):
            raise InvalidPrefix(
                f"{shown(value)}: segment {national[:3]} is not an allocated mobile segment"
            )
    if national.startswith("0") and _FIXED.fullmatch(national[1:]):
        return Phone(national, "landline")
    if _SERVICE.fullmatch(national):
        return Phone(national, "service")
    if not national.startswith("0") and 9 <= len(national) <= 11 and _FIXED.fullmatch(national):
        return Phone("0" + national, "landline")  # +86 10 12345678 written without the trunk 0
    if len(national) < 3:
        raise InvalidLength(f"{shown(value)}: too short for a phone number")
    raise InvalidFormat(f"{shown(value)}: not a mobile, landline or service number")


def parse_mobile(value: str) -> Phone:
    p = parse(value)
    if p.kind != "mobile":
        raise InvalidPrefix(f"{shown(value)}: a {p.kind} number, not a mobile")
    return p


def fake_mobile(rng: random.Random, segment: str | None = None) -> str:
    """A valid, allocated-looking mobile number."""
    while True:
        seg = segment or rng.choice(MOBILE_SEGMENTS)
        n = seg + f"{rng.randrange(10**8):08d}"
        if _MOBILE.fullmatch(n):
            return n
        if segment:
            raise InvalidPrefix(f"segment {segment} is not allocated")


_AREA_CODES = (
    "010",
    "020",
    "021",
    "022",
    "023",
    "024",
    "025",
    "027",
    "028",
    "029",
    "0371",
    "0431",
    "0451",
    "0531",
    "0551",
    "0571",
    "0591",
    "0592",
    "0731",
    "0755",
    "0817",
)


def fake_landline(rng: random.Random) -> str:
    while True:
        area = rng.choice(_AREA_CODES)
        n = area + f"{rng.randrange(2 * 10**7, 9 * 10**7):08d}"[: 11 - len(area) + 1]
        if _FIXED.fullmatch(n[1:]):
            return n


is_valid = validity_check(parse)
is_valid_mobile = validity_check(parse_mobile)
