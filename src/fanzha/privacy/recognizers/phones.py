"""Mobiles (11 digits, allocated segments per libphonenumber), landlines with an area code, local
8-digit landlines and QQ numbers next to the words that announce them, and WeChat ids: the contact
details fraud adverts ask victims to add. Validation is `fanzha.ids.phone`'s."""

from __future__ import annotations

import re

from fanzha.ids import IdError, phone
from fanzha.privacy.recognizers._rules import NumberRule, PatternRule

PHONE_CONTEXT = ("电话", "手机", "联系", "致电", "拨打", "tel", "phone", "号码", "座机", "热线")


_MOBILE = re.compile(phone.MOBILE_PATTERN)  # what phone.parse checks an 11-digit number with


def _kind(digits: str) -> str | None:
    try:
        return phone.parse(digits).kind
    except IdError:
        return None


def _mobile(digits: str) -> float | None:
    if len(digits) == 11:  # the common case, without phone.parse's clean-up of raw input
        return 0.99 if _MOBILE.fullmatch(digits) else None
    return 0.99 if digits.startswith("86") and _kind(digits) == "mobile" else None


def _landline(digits: str) -> float | None:
    return 0.9 if digits.startswith("0") and _kind(digits) == "landline" else None


def _local(digits: str) -> float | None:
    return 0.75 if digits[0] in "2345678" else None


def _qq(digits: str) -> float | None:
    return 0.8 if digits[0] != "0" else None


NUMBER_RULES = (
    NumberRule(
        "phone.mobile",
        "mobile",
        frozenset({11, 13}),
        _mobile,
        context=PHONE_CONTEXT,
        normalise=lambda d: d[-11:],  # 8613800138000 -> 13800138000
    ),
    NumberRule(
        "phone.landline", "landline", frozenset({10, 11, 12}), _landline, context=PHONE_CONTEXT
    ),
    NumberRule(
        "phone.local_landline",
        "landline",
        frozenset({7, 8}),
        _local,
        context=("电话", "座机", "tel", "致电", "拨打", "热线", "传真", "fax"),
        context_required=True,
    ),
    NumberRule(
        "qq.number",
        "qq",
        frozenset(range(5, 12)),
        _qq,
        context=("qq", "q号", "q:", "q：", "加q", "扣扣", "企鹅", "球球", "q群", "群号"),
        context_required=True,
    ),
)
PATTERN_RULES = (
    PatternRule(
        "wechat.id",
        "wechat",
        r"(?:微信|威信|薇信|徽信|v信|vx|wx|weixin|wechat|加v|加微)(?:号|id)?\s*[:：]?\s*"
        r"(?P<v>[A-Za-z][-_A-Za-z0-9]{5,19})(?![-_A-Za-z0-9])",
        0.85,
        flags=2,  # re.IGNORECASE
    ),
)
