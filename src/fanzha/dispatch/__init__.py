"""Dissuasion: alerts become tasks on channels (SMS, flash SMS, call, visit, family, bank hold).

Seed 003: warnings in tiers, by SMS, phone call and home visit, within seconds (Xiamen), the
elderly person's family number told too (12381). `dispatch()` turns every action of every alert
into one task (id = hash of alert and action), fills in its message by fraud type, hands it to a
sink and records it in the store. It is idempotent: a task already sent (or skipped, e.g. no
family number) is never sent again; a failed one is retried by the next dispatch. One alert is
one person and one campaign (the policy's dedup), so a person gets each action once per campaign;
when new signals escalate the alert, its new actions become new tasks. Each task has an SLA
deadline in event time (the alert's `sla_due`); outcomes (reached and dissuaded, unreachable,
already paid) are recorded against tasks with `record_outcome()`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import polars as pl
import pyarrow as pa

from fanzha.decide import TIERS

if TYPE_CHECKING:  # fanzha.decide.policy imports the engine, which imports dispatch's users
    from fanzha.decide.policy import Capacity
from fanzha.dispatch.capacity import Verdict, Want, plan
from fanzha.dispatch.channels import CHANNELS, Templates, build
from fanzha.dispatch.sinks import FileSink, Sink, SinkError, WebhookSink, open_sink
from fanzha.errors import FanzhaError
from fanzha.hashing import sha256_32_one
from fanzha.store import Store
from fanzha.store.tables import OUTCOME_SCHEMA, OUTCOMES, TASK_SCHEMA

__all__ = [
    "CHANNELS",
    "OUTCOMES",
    "DispatchSummary",
    "FileSink",
    "Sink",
    "WebhookSink",
    "dispatch",
    "open_sink",
    "record_outcome",
]

CHUNK = 200  # tasks sent between two commits to the store


@dataclass
class DispatchSummary:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    already: int = 0  # sent or skipped by an earlier dispatch
    carried: int = 0  # served on a later day than due: their day's capacity was full
    # over capacity: who waits and why (pending: the next dispatch tries again)
    deferred: list[dict[str, Any]] = field(default_factory=list)
    deferred_per_area: dict[str, int] = field(default_factory=dict)  # area -> deferred tasks
    escalate: list[dict[str, Any]] = field(default_factory=list)  # the deferred high-tier ones
    by_channel: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _now() -> dt.datetime:
    t = dt.datetime.now(dt.UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def task_id(alert_id: str, action: str) -> str:
    return sha256_32_one(f"{alert_id}\x1f{action}")


def alert_contexts(store: Store, alerts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """alert_id -> details of its latest signal that carries them (victim risk's)."""
    sigs = pl.from_arrow(store.signals().select(["signal_id", "seq", "details"]))
    ids = pl.DataFrame(
        [(a["alert_id"], s) for a in alerts for s in a["signal_ids"] or []],
        schema={"alert_id": pl.String, "signal_id": pl.String},
        orient="row",
    )
    latest = (
        ids.join(sigs, on="signal_id")
        .filter(pl.col.details.is_not_null())
        .sort("seq")
        .group_by("alert_id")
        .agg(pl.col.details.last())
    )
    out = {}
    for aid, d in latest.iter_rows():
        try:
            v = orjson.loads(d)
        except orjson.JSONDecodeError:
            v = {}
        out[aid] = v if isinstance(v, dict) else {}
    return out


def alert_areas(
    alerts: list[dict[str, Any]], ctx: dict[str, dict[str, Any]], areas: dict[str, str] | None
) -> dict[str, str]:
    """alert_id -> the capacity area of its person: victim risk's `area` (a county code) through
    the policy's `areas` (county -> police station); "unknown" when the signal has none."""
    areas = areas or {}
    out = {}
    for a in alerts:
        county = ctx.get(a["alert_id"], {}).get("area")
        out[a["alert_id"]] = areas.get(str(county), str(county)) if county else "unknown"
    return out


def _verdicts(
    alerts: list[dict[str, Any]],
    known: dict[str, dict[str, Any]],
    area: dict[str, str],
    ctx: dict[str, dict[str, Any]],
    capacity: dict[str, Capacity],
) -> dict[str, Verdict]:
    """Which pending tasks each channel's daily capacity lets through (see capacity.py)."""
    used: Counter = Counter()
    for t in known.values():
        if t["status"] == "sent" and t["action"] in capacity:
            served = orjson.loads(t["payload"] or "{}").get("served_day")
            day = dt.date.fromisoformat(served) if served else t["created_ts"].date()
            used[(t["action"], day)] += 1
            used[(t["action"], area.get(t["alert_id"], "unknown"), day)] += 1
    wants = []
    for a in alerts:
        amount = ctx.get(a["alert_id"], {}).get("amount_fen")
        for action in a["actions"] or []:
            tid = task_id(a["alert_id"], action)
            prev = known.get(tid)
            if prev is not None and prev["status"] in ("sent", "skipped"):
                continue
            due = prev["created_ts"] if prev else a["first_ts"]
            wants.append(
                Want(
                    tid,
                    action,
                    area[a["alert_id"]],
                    due.date(),
                    a["tier"],
                    a["score"],
                    amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
                )
            )
    last = max((a["last_ts"] for a in alerts), default=None)
    return plan(wants, capacity, used, last.date() if last else None)


def dispatch(
    store: Store,
    sink: Sink,
    templates: Templates | None = None,
    limit: int | None = None,
    capacity: dict[str, Capacity] | None = None,
    areas: dict[str, str] | None = None,
) -> DispatchSummary:
    """Send every alert action not sent yet; record each task. Returns what happened.

    With `capacity` (the policy's), tasks beyond a channel's day are served by expected loss
    averted, carried to the next day, and what still does not fit is recorded as deferred.
    `areas` (the policy's) maps a person's county to the police station whose capacity serves it."""
    templates = templates or Templates.load()
    summary = DispatchSummary()
    alerts = [a for a in store.alerts().to_pylist() if a["entity_kind"] == "phone"]
    known = {t["task_id"]: t for t in store.tasks().to_pylist()}
    had_tasks = {t["alert_id"] for t in known.values()}
    alerts.sort(key=lambda a: (a["first_ts"], a["alert_id"]))
    ctx = alert_contexts(store, alerts)
    area = alert_areas(alerts, ctx, areas)
    verdicts = _verdicts(alerts, known, area, ctx, capacity) if capacity else {}
    pending: list[dict[str, Any]] = []
    try:
        for a in alerts:
            for action in a["actions"] or []:
                tid = task_id(a["alert_id"], action)
                prev = known.get(tid)
                if prev is not None and prev["status"] in ("sent", "skipped"):
                    summary.already += 1
                    continue
                if limit is not None and summary.sent + summary.failed >= limit:
                    break
                v = verdicts.get(tid)
                if v is not None and v.served_day is None:
                    pending.append(
                        _deferred(
                            sink, a, action, tid, prev, v.reason or "", area[a["alert_id"]], summary
                        )
                    )
                    continue
                if v is not None and v.reason:
                    summary.carried += 1
                pending.append(
                    _send(
                        sink,
                        a,
                        action,
                        tid,
                        prev,
                        ctx.get(a["alert_id"], {}),
                        templates,
                        a["alert_id"] in had_tasks,
                        summary,
                        v.served_day if v is not None else None,
                    )
                )
                if len(pending) >= CHUNK:
                    store.put_tasks(pa.Table.from_pylist(pending, schema=TASK_SCHEMA))
                    pending = []
    finally:
        if pending:
            store.put_tasks(pa.Table.from_pylist(pending, schema=TASK_SCHEMA))
        sink.close()
    return summary


def _deferred(
    sink: Sink,
    a: dict[str, Any],
    action: str,
    tid: str,
    prev: dict[str, Any] | None,
    reason: str,
    area: str,
    summary: DispatchSummary,
) -> dict[str, Any]:
    """A task over capacity: recorded as deferred with its reason, sent by a later dispatch."""
    item = {
        "task_id": tid,
        "entity": a["entity"],
        "area": area,
        "action": action,
        "tier": a["tier"],
        "score": a["score"],
        "reason": reason,
    }
    summary.deferred.append(item)
    summary.deferred_per_area[area] = summary.deferred_per_area.get(area, 0) + 1
    if a["tier"] == TIERS[-1]:
        summary.escalate.append(item)
    return {
        "task_id": tid,
        "alert_id": a["alert_id"],
        "action": action,
        "channel": CHANNELS.get(action),
        "entity": a["entity"],
        "recipient": None,
        "tier": a["tier"],
        "fraud_type": a["fraud_type"],
        "created_ts": prev["created_ts"] if prev else a["first_ts"],
        "due_ts": prev["due_ts"] if prev else a["sla_due"],
        "status": "deferred",
        "sink": sink.name,
        "sent_at": None,
        "attempts": prev["attempts"] if prev else 0,
        "payload": None,
        "error": reason,
    }


def _send(
    sink: Sink,
    a: dict[str, Any],
    action: str,
    tid: str,
    prev: dict[str, Any] | None,
    ctx: dict[str, Any],
    templates: Templates,
    escalated: bool,
    summary: DispatchSummary,
    served_day: dt.date | None = None,
) -> dict[str, Any]:
    channel = CHANNELS.get(action)
    # an action added by an escalation became due when the alert last changed
    created = prev["created_ts"] if prev else (a["last_ts"] if escalated else a["first_ts"])
    row = {
        "task_id": tid,
        "alert_id": a["alert_id"],
        "action": action,
        "channel": channel,
        "entity": a["entity"],
        "tier": a["tier"],
        "fraud_type": a["fraud_type"],
        "created_ts": created,
        "due_ts": prev["due_ts"] if prev else a["sla_due"],
        "sink": sink.name,
        "attempts": (prev["attempts"] if prev else 0) + 1,
        "sent_at": None,
        "error": None,
    }
    if channel is None:
        recipient, payload, why = None, {}, f"no channel for action {action!r}"
    else:
        recipient, payload, why = build(action, a, ctx, templates)
    row["recipient"] = recipient
    task = {
        k: row[k]
        for k in (
            "task_id",
            "alert_id",
            "action",
            "channel",
            "tier",
            "fraud_type",
            "created_ts",
            "due_ts",
        )
    } | {"entity": a["entity"], "recipient": recipient, **payload}
    if served_day is not None:  # the day whose capacity it took (capacity.py)
        task["served_day"] = served_day.isoformat()
    row["payload"] = orjson.dumps(task, default=str).decode()
    if why is not None:
        row.update(status="skipped", error=why)
        summary.skipped += 1
        return row
    try:
        sink.send(task)
    except SinkError as e:
        row.update(status="failed", error=str(e))
        summary.failed += 1
        if len(summary.errors) < 5:
            summary.errors.append(str(e))
        return row
    row.update(status="sent", sent_at=_now())
    summary.sent += 1
    summary.by_channel[channel or action] = summary.by_channel.get(channel or action, 0) + 1
    return row


def record_outcome(
    store: Store,
    task: str,
    outcome: str,
    at: dt.datetime | None = None,
    by: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Record what came of a task (its id, or a unique prefix of at least 8 characters)."""
    if outcome not in OUTCOMES:
        raise FanzhaError(f"outcome must be one of {', '.join(OUTCOMES)}")
    if len(task) < 8:
        raise FanzhaError("give the task id (at least its first 8 characters)")
    tasks = [t for t in store.tasks().to_pylist() if t["task_id"].startswith(task)]
    if not tasks:
        raise FanzhaError(f"no task {task!r}; see `fanzha tasks`")
    if len(tasks) > 1:
        raise FanzhaError(f"task {task!r} is ambiguous ({len(tasks)} tasks); give more of the id")
    t = tasks[0]
    at = at or _now()
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    row = {
        "outcome_id": sha256_32_one(f"{t['task_id']}\x1f{outcome}\x1f{at.isoformat()}"),
        "task_id": t["task_id"],
        "alert_id": t["alert_id"],
        "outcome": outcome,
        "outcome_ts": at,
        "by": by,
        "note": note,
        "recorded_at": _now(),
    }
    added = store.add_outcomes(pa.Table.from_pylist([row], schema=OUTCOME_SCHEMA))
    return {**row, "added": bool(added), "within_sla": t["due_ts"] is None or at <= t["due_ts"]}
