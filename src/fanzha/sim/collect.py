"""What fanzha found, read from the store, as the scorecard's `Predictions`.

One collector per capability that exists. Warnings: an alert from a warning detector
(`fraud_contact`, `fraud_number`) on a phone means that person is warned at the alert's first event
time. Fraud numbers: the numbers `fraud_number` suspected (its `role: suspect` signals). Every
other capability stays None (n/a) until its investigation lands and adds a collector here.
"""

from __future__ import annotations

import polars as pl

from fanzha.sim.score import Predictions
from fanzha.store import Store

WARNING_DETECTORS = ("fraud_contact", "fraud_number")
NUMBER_DETECTORS = ("fraud_number",)


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


def collect_numbers(store: Store, detectors: tuple[str, ...] = NUMBER_DETECTORS) -> set[str]:
    """The phone numbers a detector suspected of being fraud numbers (role = suspect)."""
    signals = pl.from_arrow(store.signals())
    if not signals.height:
        return set()
    suspects = signals.filter(
        pl.col.detector.is_in(list(detectors))
        & (pl.col.entity_kind == "phone")
        & (pl.col.details.str.json_path_match("$.role") == "suspect")
    )
    return set(suspects["entity"].to_list())


def collect_predictions(store: Store) -> Predictions:
    return Predictions(warnings=collect_warnings(store), fraud_numbers=collect_numbers(store))
