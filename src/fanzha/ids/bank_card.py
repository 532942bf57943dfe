"""Bank card numbers (16-19 digits; UnionPay cards start with 62).

A card number that fails the Luhn check is not rejected: some issuers' numbers and many typed
numbers fail it, and a freeze order must not miss a mule account over a check digit. Failure lowers
the confidence instead. A small table of the largest issuers' common BINs names the bank and the
product kind for 一键查卡 look-ups; unknown BINs leave them empty.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from fanzha.ids._common import InvalidFormat, InvalidLength, clean, shown, validity_check

# BIN -> (bank, kind, length). Public, widely printed prefixes of the largest issuers.
BINS: dict[str, tuple[str, str, int]] = {
    "622202": ("中国工商银行", "debit", 19),
    "621226": ("中国工商银行", "debit", 19),
    "621700": ("中国建设银行", "debit", 19),
    "436742": ("中国建设银行", "debit", 19),
    "622700": ("中国建设银行", "debit", 19),
    "622848": ("中国农业银行", "debit", 19),
    "622845": ("中国农业银行", "debit", 19),
    "621661": ("中国银行", "debit", 19),
    "621790": ("中国银行", "debit", 19),
    "622262": ("交通银行", "debit", 19),
    "622588": ("招商银行", "debit", 16),
    "621483": ("招商银行", "debit", 16),
    "622575": ("招商银行", "credit", 16),
    "621799": ("中国邮政储蓄银行", "debit", 19),
    "622188": ("中国邮政储蓄银行", "debit", 19),
    "622909": ("兴业银行", "debit", 18),
    "622521": ("上海浦东发展银行", "debit", 16),
    "622690": ("中信银行", "debit", 16),
    "625330": ("中国工商银行", "credit", 16),
    "625967": ("中国建设银行", "credit", 16),
}


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_digit(body: str) -> str:
    for d in "0123456789":
        if luhn_ok(body + d):
            return d
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class BankCard:
    value: str
    luhn_ok: bool
    confidence: float
    bank: str | None
    card_kind: str | None  # debit / credit where the BIN is known

    @property
    def unionpay(self) -> bool:
        return self.value.startswith("62")

    @property
    def last4(self) -> str:
        return self.value[-4:]


def parse(value: str) -> BankCard:
    s = clean(value)
    if not re.fullmatch(r"[0-9]+", s):
        raise InvalidFormat(f"{shown(value)}: a card number has digits only")
    if not 16 <= len(s) <= 19:
        raise InvalidLength(f"{shown(value)}: a bank card has 16 to 19 digits, got {len(s)}")
    ok = luhn_ok(s)
    info = BINS.get(s[:6])
    confidence = (0.97 if info else 0.9) if ok else 0.5
    return BankCard(s, ok, confidence, info[0] if info else None, info[1] if info else None)


def fake(rng: random.Random, bin_: str | None = None) -> str:
    """A Luhn-valid card number from a known BIN."""
    bin_ = bin_ or rng.choice(sorted(BINS))
    length = BINS.get(bin_, ("", "", 19))[2]
    body = bin_ + "".join(str(rng.randrange(10)) for _ in range(length - len(bin_) - 1))
    return body + luhn_digit(body)


is_valid = validity_check(parse)
