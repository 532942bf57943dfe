"""The fast paths of numbers-only scanning against the plain ways they replace.

Each fast path must give the same answers as the obvious slow code (kept here as the reference):
context words matched on the raw text instead of a folded, lower-cased copy; a disguised digit run
classified whole before it is cut into groups, and an ASCII run read with bytes.translate; e-mail
found from each @ outwards; findings that do not overlap kept without ranking; an ID-like
number's birth date checked without a date object; a Finding made without the frozen dataclass's
__init__; one batch or many. (The ID check digit and is_valid_18 are tested in tests/ids.)
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanzha.ids import phone, resident_id
from fanzha.privacy import PATTERN_TYPES, TYPES, detect
from fanzha.privacy.findings import Finding, finding, resolve
from fanzha.privacy.normalize import (
    ASCII_RUN_SEPARATORS,
    ASCII_RUN_X,
    FOLD,
    RUN,
    RUN_DIGITS,
    SEPARATORS,
    run_groups,
)
from fanzha.privacy.recognizers import NUMBER_RULES, PATTERN_RULES, ids, net
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


# --- digit runs: the whole run classified at once, the groups only when that fails ------------


def numbers_by_groups(text, rules):
    """The reference: every run cut into groups, the longest accepted sequence taken first."""
    out = []
    for m in RUN.finditer(text):
        groups = run_groups(m.group(), m.start())
        n, i = len(groups), 0
        while i < n:
            ends, total = [], 0
            for j in range(i, n):
                d = groups[j].digits
                if d == "X" and j == i:
                    break
                total += len(d)
                if total > detect.MAX_DIGITS:
                    break
                ends.append(j)
                if d == "X":
                    break
            hit = None
            for j in reversed(ends):
                digits = "".join(g.digits for g in groups[i : j + 1])
                if len(digits) not in rules:
                    continue
                s, e = groups[i].start, groups[j].end
                plain = j == i and text[s:e].isascii()
                hit = detect._classify(digits, plain, rules, text, s, 0)
                if hit is not None:
                    out.append(Finding(hit[0], s, e, text[s:e], *hit[1:]))
                    i = j + 1
                    break
            if hit is None:
                i += 1
    return out


_WIDE = {str(i): chr(0xFF10 + i) for i in range(10)}
_CN = dict(zip("0123456789", "零一二三四五六七八九", strict=True))


def _disguise(value: str, style: int, cut: int) -> str:
    if style == 1:
        return "".join(_WIDE.get(c, c) for c in value)
    if style == 2:
        return "".join(_CN.get(c, c) for c in value[:cut]) + value[cut:]
    if style == 3:
        return value[:cut] + " " + value[cut:]
    if style == 4:
        return "-".join(value[k : k + 3] for k in range(0, len(value), 3))
    return value


@st.composite
def number_texts(draw):
    seed = draw(st.integers(0, 2**32))
    rng = random.Random(seed)
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        value = draw(
            st.sampled_from(
                [
                    resident_id.fake(rng),
                    resident_id.fake(rng)[:17] + "X",
                    phone.fake_mobile(rng),
                    "86" + phone.fake_mobile(rng),
                    str(rng.randrange(10**4, 10**20)),
                    str(rng.randrange(10, 10**7)),  # makes a run of two numbers the wrong length
                    "0" + str(rng.randrange(10**9, 10**11)),
                ]
            )
        )
        value = _disguise(value, draw(st.integers(0, 5)), draw(st.integers(1, 10)))
        parts.append(value)
        parts.append(
            draw(st.sampled_from(["", " ", ".", "**", "，", "号码", "身份证", "电话", "qq:"]))
        )
    return draw(st.sampled_from(["", "联系", "证件"])) + "".join(parts)


@settings(max_examples=400)
@given(text=number_texts())
def test_whole_run_first_gives_what_cutting_into_groups_gives(text):
    for types in ({"resident_id", "mobile", "email"}, set(PATTERN_TYPES)):
        rules = detect._number_rules(frozenset(types))
        found: list[list[Finding]] = [[]]
        detect._numbers(text, rules, [0], found)
        assert found[0] == numbers_by_groups(text, rules), text


# --- e-mail: from each @ outwards instead of the pattern tried at every position ---------------

_EMAIL_RX = re.compile(net.EMAIL)


def emails_by_regex(text: str) -> list[tuple[int, int]]:
    return [m.span("v") for m in _EMAIL_RX.finditer(text)]


@settings(max_examples=500)
@given(st.text(alphabet="ab9Ｚｚ０._%+-．＿－@＠﹫ 中c.om", max_size=60))
def test_email_spans_equal_the_pattern_on_any_text(text):
    assert list(net.email_spans(text)) == emails_by_regex(text)


@settings(max_examples=200)
@given(
    local=st.integers(0, 70),
    gap=st.sampled_from(["", ".", "-", "a", "中", "@", " "]),
    domain=st.sampled_from(["b.cn", "163.com", "x.c", "a-b.co.uk", "", ".com", "b.cc.d"]),
    repeat=st.integers(1, 3),
)
def test_email_spans_equal_the_pattern_on_long_and_glued_addresses(local, gap, domain, repeat):
    text = gap.join(["x" * local + "@" + domain] * repeat)
    assert list(net.email_spans(text)) == emails_by_regex(text)


@pytest.mark.parametrize(
    "text, emails",
    [
        ("邮箱keshiteng@163.com或", ["keshiteng@163.com"]),
        ("ｋｅ＠１６３．ｃｏｍ", ["ｋｅ＠１６３．ｃｏｍ"]),  # full-width
        ("x_y+z@mail.qq.com，a.b@c.cn", ["x_y+z@mail.qq.com", "a.b@c.cn"]),
        ("a@b.com.x@y.com", ["a@b.com"]),  # the second one starts inside the first
        ("a@b@c.com", ["b@c.com"]),  # 'b' is no domain; an @ starts a new local part
        (".a@b.com", []),  # a dot starts the run, so no start inside it is allowed
        ("中.a@b.com", []),
        ("a" * 64 + "@b.com", ["a" * 64 + "@b.com"]),  # the longest local part
        ("a" * 65 + "@b.com", []),
        ("@b.com", []),
        ("a@b", []),
        ("a@b.c", []),
        ("李@x.com", []),
        ("test@中国.cn", []),
    ],
)
def test_email_tricky_cases(text, emails):
    found = [text[s:e] for s, e in net.email_spans(text)]
    assert found == emails
    assert [text[s:e] for s, e in emails_by_regex(text)] == emails


# --- resolve: findings that do not overlap are returned in order without ranking -------------


def resolve_by_ranking(findings):
    """The reference: longest, then surest, first; one that overlaps a taken one is dropped."""
    ranked = sorted(findings, key=lambda f: (-(f.end - f.start), -f.confidence, f.start))
    starts, taken = [], []
    for f in ranked:
        i = bisect.bisect_right(starts, f.start)
        if i and taken[i - 1].end > f.start:
            continue
        if i < len(starts) and starts[i] < f.end:
            continue
        starts.insert(i, f.start)
        taken.insert(i, f)
    return taken


_spans = st.tuples(st.integers(0, 30), st.integers(0, 6), st.floats(0, 1), st.sampled_from("ab"))


@settings(max_examples=500)
@given(st.lists(_spans, max_size=6))
def test_resolve_equals_ranking(spans):
    findings = [Finding(t, s, s + n, "x" * n, c, "r") for s, n, c, t in spans]
    assert resolve(findings) == resolve_by_ranking(findings)


# --- an ID-like number's birth date checked without making a date -----------------------------


def id_like_by_date(digits: str) -> float | None:
    """The reference: a real date from 1900 to this year and a province code."""
    if len(digits) != 18 or not digits[:17].isdigit() or digits[:2] not in ids._PROVINCES:
        return None
    try:
        born = dt.date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return None
    return 0.6 if 1900 <= born.year <= dt.date.today().year else None


@settings(max_examples=500)
@given(
    head=st.sampled_from(["110105", "440524", "990000", "810000"]),
    year=st.integers(0, 2200),
    month=st.integers(0, 13),
    day=st.integers(0, 32),
    tail=st.sampled_from(["123X", "0019", "12X4"]),
)
def test_id_like_dates_equal_the_calendar(head, year, month, day, tail):
    digits = f"{head}{year:04d}{month:02d}{day:02d}{tail}"
    assert ids._id_like(digits) == id_like_by_date(digits)


# --- finding(): a Finding without the frozen dataclass's __init__ -----------------------------


@given(
    typ=st.sampled_from(TYPES),
    start=st.integers(0, 10**6),
    n=st.integers(0, 30),
    confidence=st.floats(0, 1),
    value=st.none() | st.text(max_size=5),
)
def test_finding_is_the_same_frozen_finding(typ, start, n, confidence, value):
    args = (typ, start, start + n, "x" * n, confidence, "rule.name", value)
    fast, slow = finding(*args), Finding(*args)
    assert fast == slow and hash(fast) == hash(slow) and fast.to_dict() == slow.to_dict()
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.start = 0  # type: ignore[misc]


def test_folding_leaves_ascii_alone():
    # the pattern rules skip fold() for an ASCII match
    assert all(k > 0x7F for k in FOLD)
    ascii_text = "".join(map(chr, range(0x80)))
    assert ascii_text.translate(FOLD) == ascii_text


def test_one_batch_and_many_batches_find_the_same(monkeypatch):
    texts = ["身份证110105194912310021 手机13800138000", "", "邮箱a@b.cn 电话：87654321", "x" * 50]
    scanner = detect.Scanner(types=frozenset(PATTERN_TYPES), ner="off")
    one = scanner.scan_many(texts)
    monkeypatch.setattr(detect, "_BATCH_CHARS", 10)  # every text a batch of its own
    assert scanner.scan_many(texts) == one == [scanner.scan(t) for t in texts]
    assert [f.type for f in one[0]] == ["resident_id", "mobile"]


@given(st.text(alphabet="0123456789xX" + "".join(c for c in SEPARATORS if c.isascii())))
def test_an_ascii_run_reads_as_str_translate_reads_it(run):
    fast = run.encode().translate(ASCII_RUN_X, ASCII_RUN_SEPARATORS).decode()
    assert fast == run.translate(RUN_DIGITS)


@given(st.text(alphabet="0123456789０１２３４５６７８９", min_size=1, max_size=25))
def test_a_full_width_run_reads_as_str_translate_reads_it(run):
    assert str(int(run)).zfill(len(run)) == run.translate(RUN_DIGITS)


def test_only_full_width_and_ascii_digits_of_a_run_are_decimal():
    # the scanner reads a decimal run with int(): nothing else a run may hold can be decimal
    others = set(RUN_DIGITS) - {0xFF10 + i for i in range(10)}
    assert not any(chr(c).isdecimal() for c in others)


def test_a_huge_run_of_full_width_digits_is_no_crash():
    text = "电话" + "１" * 5000 + "，手机１３８００１３８０００"
    found = detect.Scanner(types=frozenset(PATTERN_TYPES), ner="off").scan(text)
    assert [f.value for f in found if f.type == "mobile"] == ["13800138000"]
