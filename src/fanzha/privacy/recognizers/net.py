"""E-mail addresses and IP addresses (v4 and v6, checked by the standard library's parser)."""

from __future__ import annotations

import ipaddress

from fanzha.privacy.recognizers._rules import PatternRule

_W = "A-Za-z0-9Ａ-Ｚａ-ｚ０-９"  # letters and digits, full-width too (patterns run on raw text)


def _ip(value: str) -> float | None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return None
    return 0.95


PATTERN_RULES = (
    PatternRule(
        "email.address",
        "email",
        # the look-behind makes every position inside a word fail at once (no 64-char retries)
        rf"(?<![{_W}._%+\-．＿－])(?P<v>[{_W}][{_W}._%+\-．＿－]{{0,63}}[@＠﹫][{_W}\-－]+(?:[.．][{_W}\-－]+)*"
        rf"[.．][A-Za-zＡ-Ｚａ-ｚ]{{2,24}})",
        0.97,
    ),
    PatternRule(
        "ip.v4",
        "ip",
        r"(?<![0-9.０-９])(?P<v>(?:[0-9０-９]{1,3}[.．]){3}[0-9０-９]{1,3})(?![0-9０-９]|[.．][0-9])",
        0.95,
        _ip,
    ),
    PatternRule(
        "ip.v6",
        "ip",
        r"(?<![0-9A-Fa-f:])(?P<v>(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4})(?![0-9A-Fa-f:])",
        0.9,
        _ip,
    ),
)
