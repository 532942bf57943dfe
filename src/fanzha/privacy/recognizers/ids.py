"""ID numbers (GB 11643 resident IDs and residence permits, 15 and 18 digits), USCC of companies,
passports and travel permits: what village-push gangs harvest and what leaked listings carry.
Validation is `fanzha.ids`'."""

from __future__ import annotations

import calendar
import datetime as _dt

from fanzha.ids import IdError, permits, resident_id, uscc
from fanzha.privacy.recognizers._rules import NumberRule, PatternRule

ID_CONTEXT = ("身份证", "证件", "身份号", "公民身份", "id", "证号")


def _resident_id(digits: str) -> float | None:
    if len(digits) == 18:
        return 0.99 if resident_id.is_valid_18(digits) else _id_like(digits)
    try:
        resident_id.parse(digits)
    except IdError:
        return _id_like(digits)
    return 0.99


def _id_like(digits: str) -> float | None:
    """An 18-character number with a real birth date but a wrong check digit or region: a typo'd
    or made-up ID is still an ID to hide."""
    if len(digits) != 18 or not digits[:17].isdigit() or digits[:2] not in _PROVINCES:
        return None
    month_day = digits[10:14]  # a set look-up, not a date object: this runs on every long number
    if month_day not in _MONTH_DAYS:
        return None
    year = int(digits[6:10])
    if month_day == "0229" and not calendar.isleap(year):
        return None
    # the clock is read only for a birth year after the year this module was loaded in
    if year < 1900 or (year > _LOADED_IN and year > _dt.date.today().year):
        return None
    return 0.6


_MONTH_DAYS = frozenset(
    f"{m:02d}{d:02d}" for m in range(1, 13) for d in range(1, calendar.monthrange(2000, m)[1] + 1)
)
_LOADED_IN = _dt.date.today().year
_PROVINCES = frozenset(r.code[:2] for r in resident_id.regions()) | {"81", "82", "83"}


def _uscc(value: str) -> float | None:
    return 0.99 if uscc.is_valid(value) else None


def _permit(value: str) -> float | None:
    try:
        permits.parse(value)
    except IdError:
        return None
    return 0.85


NUMBER_RULES = (
    NumberRule(
        "resident_id.gb11643",
        "resident_id",
        frozenset({15, 18}),
        _resident_id,
        context=ID_CONTEXT,
        context_boost=0.35,  # 身份证 before an ID-like number outweighs a lucky Luhn digit
        allow_x=True,
    ),
)
_USCC_CHARS = "0-9A-HJ-NPQRTUWXY"
PATTERN_RULES = (
    PatternRule(
        "uscc.gb32100",
        "uscc",
        rf"(?<![0-9A-Za-z])(?P<v>[{_USCC_CHARS}]{{18}})(?![0-9A-Za-z])",
        0.99,
        _uscc,
        context=("信用代码", "统一社会", "营业执照", "税号"),
    ),
    PatternRule(
        "permit.passport_or_permit",
        "passport",  # refined to the permit kind by the scanner
        r"(?<![0-9A-Za-z])(?P<v>[CWEGHMcweghm][0-9A-HJ-NP-Za-hj-np-z]?[0-9]{7,10})(?![0-9A-Za-z])",
        0.85,
        _permit,
        context=("护照", "通行证", "回乡证", "passport", "证件"),
        context_boost=0.1,
    ),
)


def permit_kind(value: str) -> str:
    """The fanzha.ids kind of a permit number found by the rule above."""
    return permits.parse(value).kind
