"""What fanzha found, read from the store, as the scorecard's `Predictions`.

One collector per capability that exists: warnings (an alert from a warning detector on a phone
means that person is warned at the alert's first event time) and funds (fanzha.investigate.funds:
each case traced as of its report, what a freeze then could hold, batch mule labels). Every other
capability stays None (n/a) until its investigation lands and adds a collector here.
"""

from __future__ import annotations

import polars as pl

from fanzha.sim.score import Predictions
from fanzha.store import Store

WARNING_DETECTORS = ("fraud_contact",)


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


def collect_predictions(store: Store) -> Predictions:
    from fanzha.investigate.funds import scorecard_predictions

    return Predictions(warnings=collect_warnings(store), **scorecard_predictions(store))
