"""Motor-vehicle licence plates (GA 36), including new-energy plates (D/F, 8 characters).

Plates appear in the free text that the masker must desensitise and in some delivery records.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from fanzha.ids._common import InvalidFormat, clean, shown, validity_check

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "A-HJ-NP-Z"
PATTERN = (
    rf"[{PROVINCES}][{_L}](?:"
    rf"[DF][0-9{_L}][0-9]{{4}}"  # new energy, small car: 粤B D12345
    rf"|[0-9]{{5}}[DF]"  # new energy, large vehicle: 粤B 12345D
    rf"|[0-9{_L}]{{4}}[0-9{_L}挂学警港澳]"  # ordinary
    r")"
)
_RX = re.compile(PATTERN)


@dataclass(frozen=True)
class Plate:
    value: str
    province: str
    new_energy: bool


def parse(value: str) -> Plate:
    s = clean(value)
    if not _RX.fullmatch(s):
        raise InvalidFormat(f"{shown(value)}: not a licence plate")
    return Plate(s, s[0], len(s) == 8)


def fake(rng: random.Random, new_energy: bool = False) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    head = rng.choice(PROVINCES) + rng.choice(letters)
    if new_energy:
        return (
            head
            + rng.choice("DF")
            + rng.choice(letters + "0123456789")
            + f"{rng.randrange(10**4):04d}"
        )
    return head + f"{rng.randrange(10**5):05d}"


is_valid = validity_check(parse)
