"""What fanzha found, read from the store, as the scorecard's `Predictions`.

One collector per capability that exists. Warnings: an alert on a phone whose first signal comes
from a warning detector (victim_risk, which every exposure detector feeds through the policy;
the exposure detectors themselves, should a policy alert on them directly) means that person is
warned at the alert's first event time. Dissuasion: the tasks `fanzha dispatch` made from the
alerts, and the outcomes recorded against them. Every other capability stays None (n/a) until
its investigation lands and adds a collector here.
"""

from __future__ import annotations

import polars as pl

from fanzha.sim.score import Predictions
from fanzha.store import Store

WARNING_DETECTORS = ("victim_risk", "fraud_contact", "fraud_url", "fraud_app")


def collect_warnings(store: Store, detectors: tuple[str, ...] = WARNING_DETECTORS) -> pl.DataFrame:
    """phone -> first time a warning alert about that person exists (UTC ms)."""
    alerts = pl.from_arrow(store.alerts())
    signals = pl.from_arrow(store.signals())
    empty = pl.DataFrame(
        {"phone": [], "warned_ts": []}, schema={"phone": pl.String, "warned_ts": pl.Int64}
    )
    if not alerts.height or not signals.height:
        return empty
    first = alerts.filter(pl.col.entity_kind == "phone").with_columns(
        signal_id=pl.col.signal_ids.list.first()
    )
    by = signals.select("signal_id", "detector")
    warned = first.join(by, on="signal_id").filter(pl.col.detector.is_in(list(detectors)))
    if not warned.height:
        return empty
    return (
        warned.group_by("entity")
        .agg(pl.col.first_ts.min())
        .select(phone="entity", warned_ts=pl.col.first_ts.dt.epoch("ms"))
        .sort("phone")
    )


def collect_dissuasion(store: Store) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(tasks, outcomes) with times as UTC ms."""
    tasks = pl.from_arrow(store.tasks()).select(
        "entity",
        "action",
        "status",
        pl.col.created_ts.dt.epoch("ms"),
        pl.col.due_ts.dt.epoch("ms"),
        "task_id",
    )
    due = tasks.select("task_id", "due_ts")
    outcomes = (
        pl.from_arrow(store.outcomes())
        .select("task_id", "outcome", pl.col.outcome_ts.dt.epoch("ms"))
        .join(due, on="task_id", how="left")
    )
    return tasks, outcomes


def collect_predictions(store: Store) -> Predictions:
    tasks, outcomes = collect_dissuasion(store)
    return Predictions(warnings=collect_warnings(store), tasks=tasks, outcomes=outcomes)
