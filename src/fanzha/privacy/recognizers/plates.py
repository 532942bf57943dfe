"""Licence plates (GA 36, new-energy plates too), written with or without a dot or space after the
issuing-office letter (粤B·12345). Validation is `fanzha.ids.plate`'s."""

from __future__ import annotations

from fanzha.ids import plate
from fanzha.privacy.recognizers._rules import PatternRule


def _plate(value: str) -> float | None:
    return 0.9 if plate.is_valid(value) else None


PATTERN_RULES = (
    PatternRule(
        "plate.ga36",
        "plate",
        rf"(?P<v>[{plate.PROVINCES}][A-Za-z][·・.\s\-]?[0-9A-Za-z]{{4,5}}[0-9A-Za-z挂学警港澳])"
        r"(?![0-9A-Za-z])",
        0.9,
        _plate,
        context=("车牌", "车号", "号牌"),
    ),
)
