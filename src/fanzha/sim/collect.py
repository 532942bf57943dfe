"""What fanzha found, read from the store, as the scorecard's `Predictions`.

One collector per capability that exists. Warnings: an alert from a warning detector
(`fraud_contact`) on a phone means that person is warned at the alert's first event time.
Accounts: the freeze / cancel list entries of the rings investigation (`ref` "rings:<ring>"):
accounts are black accounts in that ring, orders are promotion abuse. Every other capability
stays None (n/a) until its investigation lands and adds a collector here.
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


def _ring_entries(store: Store, entity_kind: str) -> pl.DataFrame:
    from fanzha.investigate.rings import REF

    lists = pl.from_arrow(store.list_entries())
    if not lists.height:
        return pl.DataFrame(schema={"entity": pl.String, "ring": pl.String})
    return (
        lists.filter(
            pl.col.list_name.is_in(["freeze", "cancel"])
            & (pl.col.entity_kind == entity_kind)
            & pl.col.ref.str.starts_with(REF)
        )
        .select("entity", ring=pl.col.ref.str.strip_prefix(REF))
        .unique("entity", keep="first")
        .sort("entity")
    )


def collect_account_rings(store: Store) -> pl.DataFrame:
    """platform, account_id, ring of every account on a freeze or cancel list of the rings
    investigation (entity "platform:account_id")."""
    e = _ring_entries(store, "account")
    parts = e["entity"].str.split_exact(":", 1).struct.rename_fields(["platform", "account_id"])
    return e.with_columns(parts.alias("p")).unnest("p").select("platform", "account_id", "ring")


def collect_black_accounts(store: Store) -> set[tuple[str, str]]:
    r = collect_account_rings(store)
    return set(zip(r["platform"].to_list(), r["account_id"].to_list(), strict=True))


def collect_promo_orders(store: Store) -> set[str]:
    return set(_ring_entries(store, "order")["entity"].to_list())


def collect_predictions(store: Store) -> Predictions:
    return Predictions(
        warnings=collect_warnings(store),
        black_accounts=collect_black_accounts(store),
        account_rings=collect_account_rings(store),
        promo_orders=collect_promo_orders(store),
    )
