"""The two shapes of a recogniser: a rule over digit runs, and a rule over a regular expression."""

from __future__ import annotations

import re
from collections.abc import Callable
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
    """A regular expression over the folded text; group `v` (if present) is the finding's span.

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
    compiled: re.Pattern[str] = field(init=False, compare=False)
    context_rx: re.Pattern[str] | None = field(default=None, init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", re.compile(self.regex, self.flags))
        if self.context:
            object.__setattr__(self, "context_rx", context_regex(self.context))


def context_regex(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(w.lower()) for w in sorted(words, key=len, reverse=True)))


def has_context(rx: re.Pattern[str] | None, text: str, start: int, floor: int = 0) -> bool:
    """True if a context word ends within CONTEXT_WINDOW characters before `start` (not before
    `floor`, the start of the text in a batch); full-width and upper case count."""
    if rx is None:
        return False
    window = text[max(floor, start - CONTEXT_WINDOW) : start]
    return rx.search(window.translate(FOLD).lower()) is not None
