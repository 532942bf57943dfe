"""Unified Social Credit Code (统一社会信用代码, GB 32100-2015) of companies, shops and other bodies.

Shops, warehouses and promotion companies are named by this code in leak reports and freeze lists.
Accepts every registration-authority code of the standard, including A (military reform office),
N (agriculture) and Y (other), which python-stdnum rejects.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from fanzha.ids._common import (
    InvalidChecksum,
    InvalidFormat,
    InvalidLength,
    InvalidPrefix,
    clean,
    shown,
    validity_check,
)

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
AUTHORITIES = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "市场监督管理(工商)",
    "A": "中央军委改革和编制办公室",
    "N": "农业",
    "Y": "其他",
}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def check_char(first17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def org_check_char(first8: str) -> str:
    """GB 11714 organisation-code check character (position 17 of the USCC)."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


@dataclass(frozen=True)
class Uscc:
    value: str
    authority: str
    org_type: str
    region_code: str

    @property
    def authority_name(self) -> str:
        return AUTHORITIES[self.authority]


def parse(value: str) -> Uscc:
    s = clean(value)
    if len(s) != 18:
        raise InvalidLength(f"{shown(value)}: a USCC has 18 characters, got {len(s)}")
    bad = [c for c in s if c not in ALPHABET]
    if bad:
        raise InvalidFormat(f"{shown(value)}: character {bad[0]!r} is not used in a USCC")
    if s[0] not in AUTHORITIES:
        raise InvalidPrefix(f"{shown(value)}: {s[0]!r} is not a registration authority code")
    if not s[2:8].isdigit():
        raise InvalidFormat(f"{shown(value)}: characters 3-8 are a region code (digits)")
    if s[16] != org_check_char(s[8:16]):
        raise InvalidChecksum(
            f"{shown(value)}: organisation code check should be {org_check_char(s[8:16])}"
        )
    if s[17] != check_char(s[:17]):
        raise InvalidChecksum(f"{shown(value)}: check character should be {check_char(s[:17])}")
    return Uscc(s, s[0], s[1], s[2:8])


def fake(rng: random.Random, authority: str | None = None, region: str = "110105") -> str:
    authority = authority or rng.choice(sorted(AUTHORITIES))
    org = "".join(rng.choice(ALPHABET[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    body = authority + rng.choice("123") + region + org + org_check_char(org)
    return body + check_char(body)


is_valid = validity_check(parse)
