"""Fraud intelligence: what is known about a number, URL, app or account, derived from the log.

Intelligence is not a separate mutable list: it is a fold over `report` events (citizen reports,
police and centre confirmations and clearances), so it can always be rebuilt and explained, and
the streaming detectors see exactly the same facts in the same order.
Status: reported (someone reported it) -> suspected (reports from several independent people)
-> confirmed (police or the centre confirmed it); cleared (confirmed not fraud) stops alerting.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fanzha import ids
from fanzha.ingest.validate import host_of

SUSPECT_AFTER_REPORTERS = 3
CONFIRMERS = ("police", "centre")


@dataclass
class IntelEntry:
    kind: str
    value: str
    status: str
    fraud_type: str | None
    first_seen: dt.datetime
    last_seen: dt.datetime
    reports: int
    reporters: int
    history: list[dict[str, Any]] = field(default_factory=list)

    def explain(self) -> list[str]:
        lines = [
            f"{self.kind} {self.value}: {self.status}"
            + (f" ({self.fraud_type})" if self.fraud_type else "")
        ]
        lines.append(
            f"  {self.reports} report(s) from {self.reporters} reporter(s); first seen "
            f"{self.first_seen:%Y-%m-%d %H:%M} UTC, last seen {self.last_seen:%Y-%m-%d %H:%M} UTC"
        )
        for h in self.history:
            lines.append(
                f"  {h['ts']:%Y-%m-%d %H:%M} {h['by']:<8} {h['verdict']:<8} -> {h['status']}"
                + (f"  {h['text']}" if h.get("text") else "")
            )
        return lines


def normalize_target(kind: str, value: str) -> str:
    """The form a target is stored in (the same normalisation ingest applies)."""
    if kind == "phone":
        return ids.phone.parse(value).value
    if kind == "domain":
        return host_of(value)
    return value.strip()


def fold(kind: str, value: str, reports: list[dict[str, Any]]) -> IntelEntry | None:
    """Fold report events (in log order) about one target into its current entry."""
    if not reports:
        return None
    status = "reported"
    fraud_type = None
    reporters: set[str] = set()
    history = []
    for r in reports:
        by = r["reporter_kind"]
        verdict = r.get("verdict") or "report"
        if verdict == "confirm" and by in CONFIRMERS:
            status = "confirmed"
        elif verdict == "clear" and by in CONFIRMERS:
            status = "cleared"
        elif verdict == "report":
            reporters.add(r.get("reporter") or f"anonymous:{r['event_id']}")
            if status == "reported" and len(reporters) >= SUSPECT_AFTER_REPORTERS:
                status = "suspected"
        fraud_type = r.get("fraud_type") or fraud_type
        history.append(
            {"ts": r["ts"], "by": by, "verdict": verdict, "status": status, "text": r.get("text")}
        )
    return IntelEntry(
        kind,
        value,
        status,
        fraud_type,
        reports[0]["ts"],
        reports[-1]["ts"],
        len(reports),
        len(reporters),
        history,
    )
