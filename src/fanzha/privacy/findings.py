"""What a detection is, and how overlapping detections become one answer.

Every finding says what it is (`type`), where (`start`, `end` in characters of the text), how sure
(`confidence` in [0, 1]) and which rule or model found it (`rule`), so an analyst can see why a
piece of a waybill or a chat was masked.
"""

from __future__ import annotations

import bisect
import dataclasses
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa

#: Every type the detectors report; policies and operators use the same names.
TYPES: tuple[str, ...] = (
    "name",
    "address",
    "resident_id",
    "mobile",
    "landline",
    "bank_card",
    "email",
    "uscc",
    "passport",
    "hk_macau_permit",
    "home_return_permit",
    "plate",
    "ip",
    "qq",
    "wechat",
)
#: Types found by patterns alone (the numbers-only mode).
PATTERN_TYPES: tuple[str, ...] = tuple(t for t in TYPES if t not in ("name", "address"))


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of personal information in a text."""

    type: str
    start: int
    end: int
    text: str
    confidence: float
    rule: str
    value: str | None = None  # normalised value (digits of an obfuscated phone, ...), if known

    def to_dict(self) -> dict[str, object]:
        return {
            "type": self.type,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "confidence": round(self.confidence, 3),
            "rule": self.rule,
            "value": self.value,
        }


def finding(
    type: str,
    start: int,
    end: int,
    text: str,
    confidence: float,
    rule: str,
    value: str | None = None,
) -> Finding:
    """`Finding(...)` twice as fast, for the scanner's hot path (one per number found): the frozen
    dataclass's __init__ goes through object.__setattr__ seven times, this sets the slots
    through their descriptors. Same object, still frozen."""
    f = _new(Finding)
    _set_type(f, type)
    _set_start(f, start)
    _set_end(f, end)
    _set_text(f, text)
    _set_confidence(f, confidence)
    _set_rule(f, rule)
    _set_value(f, value)
    return f


_new = object.__new__
# one setter per field, in order: a field added to Finding breaks this line, not the findings
_set_type, _set_start, _set_end, _set_text, _set_confidence, _set_rule, _set_value = (
    getattr(Finding, f.name).__set__ for f in dataclasses.fields(Finding)
)
_START = operator.attrgetter("start")


class _Twin:
    """Finding's slots without its frozen __setattr__: the compiled scan makes each finding as
    this (plain slot stores) and then sets its class to Finding (the same layout)."""

    __slots__ = ("type", "start", "end", "text", "confidence", "rule", "value")  # noqa: RUF023


# a field added to Finding breaks this line, not the findings
assert _Twin.__slots__ == Finding.__slots__ == tuple(f.name for f in dataclasses.fields(Finding))


def resolve(findings: list[Finding]) -> list[Finding]:
    """Non-overlapping findings in text order.

    Where two overlap, the longer span wins (an e-mail over the phone number inside it, a full
    address over the district in it), then the more confident; a loser is dropped, never merged
    into a different type.
    """
    if len(findings) < 2:
        return list(findings)
    in_order = sorted(findings, key=_START)
    end = 0
    for f in in_order:
        if f.start < end or f.start >= f.end:
            break
        end = f.end
    else:
        return in_order  # nothing overlaps (the usual case): every finding stays
    ranked = sorted(findings, key=lambda f: (-(f.end - f.start), -f.confidence, f.start))
    starts: list[int] = []  # taken spans, sorted and disjoint
    taken: list[Finding] = []
    for f in ranked:
        i = bisect.bisect_right(starts, f.start)
        if i and taken[i - 1].end > f.start:
            continue
        if i < len(starts) and starts[i] < f.end:
            continue
        starts.insert(i, f.start)
        taken.insert(i, f)
    return taken


def spans_of(found: Mapping[int, Sequence[Finding]]) -> pa.Table:
    """Findings as the columns of `Scanner.scan_spans`, keyed by their text's index."""
    flat = [(i, f) for i, fs in found.items() for f in fs]
    return pa.table(
        {
            "text": pa.array([i for i, _ in flat], pa.int64()),
            "start": pa.array([f.start for _, f in flat], pa.int64()),
            "end": pa.array([f.end for _, f in flat], pa.int64()),
            "type": pa.array([f.type for _, f in flat], pa.string()).dictionary_encode(),
            "confidence": pa.array([f.confidence for _, f in flat], pa.float64()),
            "rule": pa.array([f.rule for _, f in flat], pa.string()).dictionary_encode(),
        }
    )
