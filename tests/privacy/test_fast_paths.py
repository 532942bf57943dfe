"""The fast paths of numbers-only scanning against the plain ways they replace.

Each fast path must give the same answers as the obvious slow code (kept here as the reference):
context words matched on the raw text instead of a folded, lower-cased copy, ...
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from fanzha.privacy.normalize import FOLD
from fanzha.privacy.recognizers import NUMBER_RULES, PATTERN_RULES
from fanzha.privacy.recognizers._rules import CONTEXT_WINDOW, context_regex, has_context

RULES_WITH_CONTEXT = [r for r in (*NUMBER_RULES, *PATTERN_RULES) if r.context]


def context_by_folding(words: tuple[str, ...], text: str, start: int, floor: int = 0) -> bool:
    """The reference: fold and lower-case the window and the words, then look for a word."""
    window = text[max(floor, start - CONTEXT_WINDOW) : start].translate(FOLD).lower()
    return any(w.translate(FOLD).lower() in window for w in words)


# Characters of every context word in every form (case, full-width, Chinese numerals), the
# characters that look alike (Kelvin sign, dotted I) and plain filler.
_WORD_CHARS = "".join(sorted({c for r in RULES_WITH_CONTEXT for w in r.context for c in w}))
_ALPHABET = (
    _WORD_CHARS
    + _WORD_CHARS.upper()
    + "".join(chr(ord(c) + 0xFEE0) for c in _WORD_CHARS if "!" <= c <= "~")
    + "ＱｑＩｄＴＥＬ：:一壹１①\u212a\u0130ſ 的号0123456789"
)


@settings(max_examples=300)
@given(text=st.text(alphabet=_ALPHABET, max_size=40), floor=st.integers(0, 10))
def test_context_on_raw_text_equals_context_on_folded_text(text, floor):
    for rule in RULES_WITH_CONTEXT:
        for start in range(len(text) + 1):
            want = context_by_folding(rule.context, text, start, min(floor, start))
            assert has_context(rule.context_rx, text, start, min(floor, start)) == want, (
                rule.name,
                text,
                start,
            )


def test_context_words_in_every_form():
    rx = context_regex(("qq", "q:", "身份证", "统一社会"))
    for written in ("QQ", "ｑＱ", "q：", "Ｑ:", "身份证", "统一社会", "统壹社会", "统1社会"):
        assert has_context(rx, f"{written}号码", len(written)), written
    assert not has_context(rx, "q号码", 1)
    assert not has_context(rx, "身份证" + "x" * CONTEXT_WINDOW, 3 + CONTEXT_WINDOW)  # too far
    assert not has_context(rx, "身份证号码", 3, floor=1)  # before the text's start in a batch
    assert not has_context(None, "身份证", 3)


def test_context_regex_has_no_empty_class():
    for r in RULES_WITH_CONTEXT:
        assert "[]" not in r.context_rx.pattern and re.compile(r.context_rx.pattern)
