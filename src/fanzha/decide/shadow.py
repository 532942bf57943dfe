"""Shadow mode: a candidate policy decides beside the live one on the live stream, acting on nothing.

`start` saves the candidate (not live) and the engine, from its next micro-batch on, runs the
candidate's decider over the same signals as the live one, writing its alerts to a separate
table (no task, no list entry, no intelligence reads it). `report` compares the two on what both
saw since the shadow started; `promote` makes the candidate live, `drop` forgets it. The shadow
covers the decide step only: a candidate whose detector settings differ is checked by a
backtest (fanzha.backtest), which replays the detectors too.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from fanzha.backtest import overlap
from fanzha.decide import TIERS
from fanzha.decide.versions import apply_policy, checked_policy, live_policy
from fanzha.errors import FanzhaError
from fanzha.store import Store


def start(store: Store, text: str, author: str, reason: str) -> str:
    """Run `text` in shadow from the current watermark on; returns its version."""
    if not author.strip() or not reason.strip():
        raise FanzhaError("policy shadow start needs an author and a reason")
    policy = checked_policy(text)
    if policy.detectors != live_policy(store).detectors:
        raise FanzhaError(
            "the candidate changes detector settings: shadow mode runs the live detectors; "
            "check it with `fanzha policy backtest` instead"
        )
    store.save_policy(policy.version, text, author, reason, activate=False)
    store.set_shadow_policy(policy.version)
    store.append_audit(author, "analyst", "policy.shadow_start", policy.version, reason)
    return policy.version


def _current(store: Store) -> tuple[str, str, int]:
    got = store.shadow_policy()
    if got is None:
        raise FanzhaError("no policy runs in shadow (start one with `fanzha policy shadow start`)")
    return got


def report(store: Store) -> dict[str, Any]:
    """Live and shadow alerts on the log positions both have seen, side by side."""
    version, _, since = _current(store)
    watermark, _ = store.load_engine()
    live = pl.from_arrow(store.alerts())
    live = live.filter(pl.col.first_seq > since) if live.height else live
    shadow = pl.from_arrow(store.shadow_alerts())

    def tiers(df: pl.DataFrame) -> dict[str, int]:
        got = dict(df.group_by("tier").len().iter_rows()) if df.height else {}
        return {t: int(got.get(t, 0)) for t in TIERS}

    def actions(df: pl.DataFrame) -> dict[str, int]:
        if not df.height:
            return {}
        got = df.explode("actions").drop_nulls("actions").group_by("actions").len()
        return dict(sorted(got.iter_rows()))

    return {
        "shadow_version": version,
        "live_version": live_policy(store).version,
        "since_seq": since,
        "watermark": watermark,
        "live": {"alerts": live.height, "alerts_per_tier": tiers(live), "actions": actions(live)},
        "shadow": {
            "alerts": shadow.height,
            "alerts_per_tier": tiers(shadow),
            "actions": actions(shadow),
        },
        "overlap": overlap(live, shadow),
    }


def promote(store: Store, author: str, reason: str) -> str:
    """Make the shadow policy live and stop the shadow."""
    version, text, _ = _current(store)
    apply_policy(store, text, author, reason)
    store.set_shadow_policy(None)
    return version


def drop(store: Store, author: str, reason: str) -> str:
    """Stop the shadow and forget what it would have done."""
    version, _, _ = _current(store)
    if not author.strip() or not reason.strip():
        raise FanzhaError("policy shadow drop needs an author and a reason")
    store.set_shadow_policy(None)
    store.append_audit(author, "analyst", "policy.shadow_drop", version, reason)
    return version
