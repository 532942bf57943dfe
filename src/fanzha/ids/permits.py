"""Travel permits and passports that fraud victims and mule-account openers present.

- hk_macau_permit: 往来港澳通行证 of mainland residents (C + 8, new since 2014; W + 8, old);
- home_return_permit: 港澳居民来往内地通行证 (H or M + 8 digits, + 2-digit issue count);
- passport: ordinary PRC passport (E + 8 digits or E + letter + 7 digits; G + 8 digits, old).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Literal

from fanzha.ids._common import InvalidFormat, clean, shown, validity_check

PermitKind = Literal["hk_macau_permit", "home_return_permit", "passport"]
_L = "A-HJ-NP-Z"  # letters except I and O
PATTERNS: dict[PermitKind, str] = {
    "hk_macau_permit": rf"C[0-9{_L}][0-9]{{7}}|W[0-9]{{8}}",
    "home_return_permit": r"[HM][0-9]{8}(?:[0-9]{2})?",
    "passport": rf"E[0-9{_L}][0-9]{{7}}|G[0-9]{{8}}",
}
_COMPILED = {k: re.compile(v) for k, v in PATTERNS.items()}


@dataclass(frozen=True)
class Permit:
    value: str
    kind: PermitKind


def parse(value: str, kind: PermitKind | None = None) -> Permit:
    s = clean(value)
    for k, rx in _COMPILED.items():
        if (kind is None or k == kind) and rx.fullmatch(s):
            return Permit(s, k)
    what = kind or "permit or passport"
    raise InvalidFormat(f"{shown(value)}: not a valid {what} number")


def fake(rng: random.Random, kind: PermitKind) -> str:
    digits = "".join(str(rng.randrange(10)) for _ in range(8))
    if kind == "hk_macau_permit":
        return "C" + digits
    if kind == "home_return_permit":
        return rng.choice("HM") + digits + f"{rng.randrange(100):02d}"
    return "E" + digits


is_valid = validity_check(parse)
