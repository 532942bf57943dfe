"""Undo the tricks used to slip numbers past keyword filters, keeping every character's position.

Fraud adverts and leaked-data listings write "加q:56793.***6", "壹叁捌 0013 8000", "１３８００１３８０００"
or "138 0013 8000" so that a plain `1[3-9]\\d{9}` never fires. `fold()` maps full-width forms and
Chinese numerals to ASCII one character for one character, so a span found in the folded text is
the same span in the original; `run_regex()` finds runs of digits that separators (spaces, dots,
dashes, stars, brackets) or a change of script split into groups (`run_groups()`), and RUN_DIGITS
reads a run's digits in one translate.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

CN_DIGITS = {
    "零": "0", "〇": "0", "○": "0",
    "一": "1", "壹": "1", "幺": "1",
    "二": "2", "贰": "2", "貳": "2", "两": "2", "兩": "2",
    "三": "3", "叁": "3",
    "四": "4", "肆": "4",
    "五": "5", "伍": "5",
    "六": "6", "陆": "6", "陸": "6",
    "七": "7", "柒": "7",
    "八": "8", "捌": "8",
    "九": "9", "玖": "9",
}  # fmt: skip
# Digits that stand for themselves in other scripts: circled, parenthesised, full stop forms.
_OTHER_DIGITS = {chr(0x2460 + i): str(i + 1) for i in range(9)}  # ①..⑨
_OTHER_DIGITS |= {chr(0x2474 + i): str(i + 1) for i in range(9)}  # ⑴..⑼
_OTHER_DIGITS |= {chr(0x2488 + i): str(i + 1) for i in range(9)}  # ⒈..⒐
_OTHER_DIGITS |= {chr(0x278A + i): str(i + 1) for i in range(9)}  # ➊..➒ (sans-serif circled)
_OTHER_DIGITS |= {"⓪": "0", "⓿": "0"}

FOLD: dict[int, str] = {0xFF01 + i: chr(0x21 + i) for i in range(0x5E)}  # full-width ASCII
FOLD |= {0x3000: " ", 0x3002: ".", 0xFF61: "."}  # ideographic space and full stop
FOLD |= {ord(k): v for k, v in {**CN_DIGITS, **_OTHER_DIGITS}.items()}
FOLD |= {ord(k): "@" for k in "﹫"}


def fold(text: str) -> str:
    """Same length as `text`; full-width letters/digits/punctuation and Chinese numerals in ASCII."""
    return text.translate(FOLD)


# Character classes on the *original* text: every digit script, and the separators used to split.
_ASCII = "0-9"
_WIDE = "０-９"
_CN = "".join(CN_DIGITS)
_OTHER = "".join(_OTHER_DIGITS)
DIGIT_CLASS = f"{_ASCII}{_WIDE}{_CN}{_OTHER}"
SEPARATORS = " \t\u3000-‐‑‒–—―_.·・*＊/／()（）[]【】,，'’~～"
SEP_CLASS = "".join(re.escape(c) for c in SEPARATORS)
MAX_SEP = 4  # "56793.***6": up to four separator characters between two digits


@functools.cache
def run_regex(min_digits: int = 5) -> re.Pattern[str]:
    """A run: at least `min_digits` digits of any script, separated by at most MAX_SEP
    separators, optionally closed by X (the check character of an ID number). A run is matched
    whole or not at all, so a larger minimum only drops the shorter runs (in the regex engine,
    not in Python)."""
    return re.compile(
        rf"[{DIGIT_CLASS}](?:[{SEP_CLASS}]{{0,{MAX_SEP}}}[{DIGIT_CLASS}]){{{min_digits - 1},}}"
        rf"(?:[{SEP_CLASS}]{{0,2}}[XxＸｘ×])?"
    )


RUN = run_regex(5)
DROP_SEPARATORS = {ord(c): None for c in SEPARATORS}
_X = "XxＸｘ×"
_GROUP = re.compile(rf"[{_ASCII}]+|[{_WIDE}]+|[{_CN}]+|[{_OTHER}]+|[{_X}]")
#: A run (a match of RUN) to its ASCII digits and X in one translate: separators dropped.
RUN_DIGITS: dict[int, str | None] = {0xFF10 + i: str(i) for i in range(10)}
RUN_DIGITS |= {ord(c): FOLD[ord(c)] for c in _CN + _OTHER}
RUN_DIGITS |= {ord(c): "X" for c in _X} | DROP_SEPARATORS
#: The same for an ASCII run, as bytes.translate tables: three times faster than str.translate.
ASCII_RUN_X = bytes.maketrans(b"x", b"X")
ASCII_RUN_SEPARATORS = "".join(c for c in SEPARATORS if c.isascii()).encode()


@dataclass(frozen=True, slots=True)
class Group:
    """Digits of one script with nothing between them: '138' in '138 0013 8000'."""

    digits: str  # ASCII digits (or 'X')
    start: int
    end: int


def run_groups(run: str, base: int = 0) -> list[Group]:
    """The groups of one run (a match of RUN) at offset `base`: '138', '0013', '8000'."""
    return [
        Group(g.group().translate(RUN_DIGITS), base + g.start(), base + g.end())
        for g in _GROUP.finditer(run)
    ]


def strip_separators(text: str) -> str:
    """The text with every separator and space removed and digits folded: how a leak is checked."""
    return re.sub(rf"[{SEP_CLASS}\s]+", "", fold(text))
