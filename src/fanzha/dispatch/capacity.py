"""Capacity-aware dispatch: when a channel's day is full, serve the largest expected loss first.

A police station makes so many home visits a day, an agent so many calls, the SMS budget is
fixed (the policy's `capacity`). Tasks are queued by the event-time day they became due; each
day, the queue is served by expected loss averted (the alert's score x the amount at risk: the
signal's `amount_fen` when known, else DEFAULT_AMOUNT_FEN as a stated proxy), higher tier first
on ties. What a day cannot carry waits for the next day ("carried"); what is still waiting after
the last day of the log is deferred with its reason and stays pending, so the next dispatch tries
it again. Deferred high-tier tasks are listed apart ("escalate"): nobody in the high tier is
dropped silently. Pure functions: no store, no sink.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fanzha.decide import TIERS

if TYPE_CHECKING:  # fanzha.decide.policy imports the engine, which imports dispatch's users
    from fanzha.decide.policy import Capacity

DEFAULT_AMOUNT_FEN = 1_000_000  # 10,000 yuan at risk when the signal does not say
_RANK = {t: i for i, t in enumerate(TIERS)}


@dataclass(frozen=True)
class Want:
    """One task that wants a channel's slot."""

    task_id: str
    action: str
    area: str  # the police station / county of the person ("unknown" if not known)
    day: dt.date  # event-time day it became due
    tier: str
    score: float
    amount_fen: int | None

    @property
    def expected_loss(self) -> float:
        return self.score * (self.amount_fen or DEFAULT_AMOUNT_FEN)


@dataclass(frozen=True)
class Verdict:
    served_day: dt.date | None  # None: deferred
    reason: str | None = None


def plan(
    wants: list[Want],
    capacity: dict[str, Capacity],
    used: Counter | None = None,
    last_day: dt.date | None = None,
) -> dict[str, Verdict]:
    """task_id -> the day it is served on, or deferred with the reason.

    `used` counts slots already taken by earlier dispatches: keys (action, day) and
    (action, area, day). Actions without a capacity are always served on their day."""
    used = Counter(used or {})
    out: dict[str, Verdict] = {}
    limited = [w for w in wants if w.action in capacity]
    for w in wants:
        if w.action not in capacity:
            out[w.task_id] = Verdict(w.day)
    if not limited:
        return out
    days = sorted({w.day for w in limited})
    end = max(days[-1], last_day or days[-1])
    queue: list[Want] = []
    by_day: dict[dt.date, list[Want]] = {}
    for w in limited:
        by_day.setdefault(w.day, []).append(w)
    day = days[0]
    full: dict[str, str] = {}  # task_id -> why it waited last
    while day <= end:
        queue.extend(by_day.get(day, ()))
        queue.sort(key=lambda w: (-w.expected_loss, -_RANK.get(w.tier, 0), w.task_id))
        waiting = []
        for w in queue:
            cap = capacity[w.action]
            daily, per_area = cap.daily, cap.per_area
            if daily is not None and used[(w.action, day)] >= daily:
                full[w.task_id] = f"{w.action} capacity {daily}/day full on {day}"
                waiting.append(w)
                continue
            if per_area is not None and used[(w.action, w.area, day)] >= per_area:
                full[w.task_id] = (
                    f"{w.action} capacity {per_area}/day in area {w.area} full on {day}"
                )
                waiting.append(w)
                continue
            used[(w.action, day)] += 1
            used[(w.action, w.area, day)] += 1
            out[w.task_id] = Verdict(day, f"carried from {w.day}" if day != w.day else None)
        queue = waiting
        day += dt.timedelta(days=1)
    for w in queue:
        out[w.task_id] = Verdict(
            None,
            f"{full[w.task_id]}; expected loss averted {w.expected_loss / 100:,.0f} yuan "
            "below those served; pending for the next day",
        )
    return out
