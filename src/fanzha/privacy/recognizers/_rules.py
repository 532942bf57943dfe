"""The two shapes of a recogniser: a rule over digit runs, and a rule over a regular expression."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from fanzha.privacy.normalize import FOLD

#: How far before a match context words are looked for (characters).
CONTEXT_WINDOW = 12


@dataclass(frozen=True)
class NumberRule:
    """A number of `lengths` digits (after separators are removed) that `validate` accepts.

    `validate(digits)` returns a confidence, or None to reject. A match written with separators
    or in other scripts loses `obfuscated_penalty`; context words add `context_boost`.
    """

    name: str
    type: str
    lengths: frozenset[int]
    validate: Callable[[str], float | None]
    context: tuple[str, ...] = ()
    context_required: bool = False
    context_boost: float = 0.05
    allow_x: bool = False  # the last character may be X (ID check character)
    obfuscated_penalty: float = 0.05
    normalise: Callable[[str], str] | None = None  # the value a finding reports (default: digits)
    context_rx: re.Pattern[str] | None = field(default=None, init=False, compare=False)

    def __post_init__(self) -> None:
        if self.context:
            object.__setattr__(self, "context_rx", context_regex(self.context))


@dataclass(frozen=True)
class PatternRule:
    """A regular expression over the raw text; group `v` (if present) is the finding's span.

    `validate(matched)` returns a confidence (or None to reject), or is None to use `score`.
    """

    name: str
    type: str
    regex: str
    score: float
    validate: Callable[[str], float | None] | None = None
    context: tuple[str, ...] = ()
    context_required: bool = False
    context_boost: float = 0.05
    flags: int = 0
    # A faster finder of the same spans as the regex's group `v` (tested equal to it), if any.
    spans: Callable[[str], Iterable[tuple[int, int]]] | None = None
    compiled: re.Pattern[str] = field(init=False, compare=False)
    context_rx: re.Pattern[str] | None = field(default=None, init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", re.compile(self.regex, self.flags))
        if self.context:
            object.__setattr__(self, "context_rx", context_regex(self.context))


def context_regex(words: tuple[str, ...]) -> re.Pattern[str]:
    """Matches the words in raw text however they are written: upper case, full-width forms and
    Chinese numerals too ('ＴＥＬ', 'QQ', 'q：', '统一社会'), as if text and words were folded (FOLD)
    and lower-cased, so a scan never folds or lower-cases the text around a number."""
    alts = ("".join(_any_form(c) for c in w) for w in sorted(words, key=len, reverse=True))
    return re.compile("|".join(dict.fromkeys(alts)))


def _any_form(c: str) -> str:
    """A class of the characters that read as `c` once folded and lower-cased."""
    want = c.translate(FOLD).lower()
    candidates = {c, want, want.upper(), "\u212a"}  # U+212A KELVIN SIGN lower-cases to 'k'
    candidates |= {chr(k) for k, v in FOLD.items() if v.lower() == want}
    forms = sorted(x for x in candidates if len(x) == 1 and x.translate(FOLD).lower() == want)
    if not forms:  # a character whose lower case is two characters: as it is written
        return re.escape(c)
    return re.escape(forms[0]) if len(forms) == 1 else "[" + "".join(map(re.escape, forms)) + "]"


def has_context(rx: re.Pattern[str] | None, text: str, start: int, floor: int = 0) -> bool:
    """True if a context word ends within CONTEXT_WINDOW characters before `start` (not before
    `floor`, the start of the text in a batch); full-width and upper case count (`context_regex`)."""
    return rx is not None and rx.search(text, max(floor, start - CONTEXT_WINDOW), start) is not None
