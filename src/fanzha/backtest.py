"""Backtest: replay the recorded log under a candidate policy beside the live one, touching nothing.

The live store is only read: its event log is copied into a throwaway in-memory DuckDB store, and
the engine replays it there once per policy (detectors configured by that policy, then its
decider). Alerts whose first event time lies in [start, end) are compared: alerts per tier and
day, people alerted by both / only one, precision and recall against what the log itself says
happened (case events: confirmed victims; dissuasion outcomes), against the truth of a simulated
world when given, warnings per 10,000 people, and each channel's daily load against the policy's
capacity. A flood of home visits or a dropped high tier shows in these numbers before it goes live.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import polars as pl

from fanzha.decide import TIERS
from fanzha.decide.policy import Policy
from fanzha.events import KINDS
from fanzha.store import Store

WARNING_ACTIONS = ("sms", "flash_sms", "call", "home_visit", "family_notice")


def _replay(log: dict[str, Any], policy: Policy) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(alerts, warnings) of the whole log replayed under `policy` in a throwaway store."""
    from fanzha.dispatch import alert_areas, alert_contexts
    from fanzha.engine.runner import Engine
    from fanzha.sim.collect import collect_warnings
    from fanzha.store.duckdb_store import DuckDBStore

    tmp = DuckDBStore(":memory:")
    try:
        if log:
            tmp.append_log(log, {"backtest": True})
        Engine(tmp, policy=policy).run()
        alerts = pl.from_arrow(tmp.alerts())
        if alerts.height:  # the capacity area of each alert's person, as dispatch sees it
            rows = alerts.select("alert_id", "signal_ids").to_dicts()
            area = alert_areas(rows, alert_contexts(tmp, rows), policy.areas)
            alerts = alerts.with_columns(area=pl.col.alert_id.replace_strict(area))
        warned = collect_warnings(tmp)
    finally:
        tmp.close()
    return alerts, warned


def _labels(log: dict[str, Any], outcomes: pl.DataFrame, tasks: pl.DataFrame) -> dict[str, Any]:
    """People the log says were targeted by fraud: case victims (with when they paid) and people
    whose dissuasion task had an outcome other than 'unreachable'."""
    victims: dict[str, dt.datetime | None] = {}
    case = log.get("case")
    if case is not None and case.num_rows:
        for r in case.select(["victim_phone", "paid_at", "ts"]).to_pylist():
            if r["victim_phone"]:
                t = r["paid_at"] or r["ts"]
                old = victims.get(r["victim_phone"])
                victims[r["victim_phone"]] = t if old is None else min(old, t)
    reached: set[str] = set()
    if outcomes.height and tasks.height:
        hit = outcomes.filter(pl.col.outcome != "unreachable").join(
            tasks.select("task_id", "entity"), on="task_id"
        )
        reached = set(hit["entity"].to_list())
    return {"victims": victims, "reached": reached}


def _in_window(df: pl.DataFrame, col: str, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
    if not df.height:
        return df
    return df.filter((pl.col(col) >= start) & (pl.col(col) < end))


def _policy_figures(
    policy: Policy,
    alerts: pl.DataFrame,
    warned: pl.DataFrame,
    labels: dict[str, Any],
    people: int | None,
    truth: Any,
    start: dt.datetime,
    end: dt.datetime,
) -> dict[str, Any]:
    alerts = _in_window(alerts, "first_ts", start, end)
    rows = alerts.to_dicts() if alerts.height else []
    per_tier = {t: sum(1 for r in rows if r["tier"] == t) for t in TIERS}
    per_day: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(TIERS, 0))
    load: dict[str, Counter] = defaultdict(Counter)
    area_load: dict[str, Counter] = defaultdict(Counter)  # action -> (area, day) -> tasks
    for r in rows:
        day = r["first_ts"].date().isoformat()
        per_day[day][r["tier"]] += 1
        for a in r["actions"] or []:
            load[a][day] += 1
            area_load[a][(r.get("area") or "unknown", day)] += 1
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    w = warned.filter((pl.col.warned_ts >= start_ms) & (pl.col.warned_ts < end_ms))
    warned_at = dict(zip(w["phone"].to_list(), w["warned_ts"].to_list(), strict=True))
    victims = {p: t for p, t in labels["victims"].items() if t is None or start <= t < end}
    positives = set(victims) | labels["reached"]
    hits = positives & set(warned_at)
    in_time = [
        p
        for p, t in victims.items()
        if p in warned_at and (t is None or warned_at[p] < int(t.timestamp() * 1000))
    ]
    high = {r["entity"] for r in rows if r["tier"] == TIERS[-1] and r["entity_kind"] == "phone"}
    out: dict[str, Any] = {
        "version": policy.version,
        "name": policy.name,
        "alerts": len(rows),
        "alerts_per_tier": per_tier,
        "alerts_per_day": {d: per_day[d] for d in sorted(per_day)},
        "people_warned": len(warned_at),
        "warnings_per_10k_people": (len(warned_at) / people * 10_000) if people else None,
        "outcomes": {
            "labelled_positive": len(positives),
            "case_victims": len(victims),
            # unlabelled warned people count as false here: a lower bound on precision
            "precision": (len(hits) / len(warned_at)) if warned_at else None,
            "recall": (len(hits) / len(positives)) if positives else None,
            "case_victims_warned_before_paying": (len(in_time) / len(victims)) if victims else None,
            # the top tier is the one that visits and holds the money
            "case_victims_high_tier": (len(high & set(victims)) / len(victims))
            if victims
            else None,
        },
        "channel_load": _load(policy, load, area_load),
    }
    if truth is not None:
        out["truth"] = _truth_figures(truth, w, high, start_ms, end_ms)
    return out


def _load(
    policy: Policy, load: dict[str, Counter], area_load: dict[str, Counter]
) -> dict[str, Any]:
    """Tasks per channel and day, the channel's daily capacity, and days over it; for a channel
    with a per-area capacity (home visits per police station) the same per area and day."""
    out: dict[str, Any] = {}
    for action in sorted(set(load) | set(policy.capacity)):
        days = load.get(action, Counter())
        cap = policy.capacity.get(action)
        daily = cap.daily if cap is not None else None
        if cap is not None and cap.per_area is not None:
            per = area_load.get(action, Counter())
            over = {k: n - cap.per_area for k, n in per.items() if n > cap.per_area}
            out[action] = {
                "per_area": {
                    area: {d: n for (a2, d), n in sorted(per.items()) if a2 == area}
                    for area in sorted({a2 for a2, _ in per})
                },
                "capacity_per_area_day": cap.per_area,
                "area_days_over_capacity": len(over),
                "over_area_capacity": sum(over.values()),
                "over_by_area": {
                    area: sum(n for (a2, _), n in over.items() if a2 == area)
                    for area in sorted({a2 for a2, _ in over})
                },
            }
        out[action] = {
            "per_day": {d: days[d] for d in sorted(days)},
            "peak": max(days.values(), default=0),
            "capacity_per_day": daily,
            "days_over_capacity": (
                sum(1 for n in days.values() if n > daily) if daily is not None else None
            ),
            "over_capacity": (
                sum(max(0, n - daily) for n in days.values()) if daily is not None else None
            ),
            **out.get(action, {}),
        }
    return out


def _truth_figures(
    truth: Any, warned: pl.DataFrame, high: set[str], start_ms: int, end_ms: int
) -> dict[str, Any]:
    """The scorecard's warning figures over the window, plus precision (warned people whom fraud
    really contacted) and recall (victims warned before their first payment)."""
    from fanzha.sim.score import score_warning
    from fanzha.sim.truth import Truth

    def window(df: pl.DataFrame) -> pl.DataFrame:
        if not df.height:
            return df
        ms = pl.col.first_contact_ts.dt.epoch("ms")
        return df.filter((ms >= start_ms) & (ms < end_ms))

    victims = window(truth.get("victims"))
    targets = window(truth.get("targets"))
    t = Truth(truth.world, {**truth.tables, "victims": victims, "targets": targets})
    if victims.height:
        t.tables["victims"] = victims.with_columns(
            first_payment_ts=pl.col.first_payment_ts.dt.epoch("ms"),
            first_contact_ts=pl.col.first_contact_ts.dt.epoch("ms"),
        )
    figures = score_warning(t, warned)
    contacted = (
        set(truth.get("targets")["phone"].to_list()) if truth.get("targets").height else set()
    )
    n = warned.height
    figures["precision"] = (
        (warned.filter(pl.col.phone.is_in(list(contacted))).height / n) if n else None
    )
    figures["recall"] = figures.pop("victims_warned_before_payment")
    figures["victims_high_tier"] = (
        len(high & set(victims["phone"].to_list())) / victims.height if victims.height else None
    )
    figures["victims"] = victims.height
    return figures


def overlap(live: pl.DataFrame, cand: pl.DataFrame) -> dict[str, Any]:
    """Who is alerted by both policies, only one, and at which tier."""

    def best(df: pl.DataFrame) -> dict[tuple[str, str], int]:
        rank = {t: i for i, t in enumerate(TIERS)}
        out: dict[tuple[str, str], int] = {}
        for r in df.select("entity_kind", "entity", "tier").to_dicts() if df.height else []:
            k = (r["entity_kind"], r["entity"])
            out[k] = max(out.get(k, -1), rank[r["tier"]])
        return out

    a, b = best(live), best(cand)
    both = a.keys() & b.keys()
    return {
        "entities_both": len(both),
        "entities_live_only": len(a.keys() - b.keys()),
        "entities_candidate_only": len(b.keys() - a.keys()),
        "same_tier": sum(1 for k in both if a[k] == b[k]),
        "candidate_higher_tier": sum(1 for k in both if b[k] > a[k]),
        "candidate_lower_tier": sum(1 for k in both if b[k] < a[k]),
        "high_live_not_high_candidate": sum(
            1 for k, v in a.items() if v == len(TIERS) - 1 and b.get(k, -1) < v
        ),
        "examples_live_only": sorted(f"{k[0]}:{k[1]}" for k in a.keys() - b.keys())[:10],
        "examples_candidate_only": sorted(f"{k[0]}:{k[1]}" for k in b.keys() - a.keys())[:10],
    }


def read_log(store: Store) -> dict[str, Any]:
    """The whole event log, per kind that has events (reads only)."""
    top = store.max_seq()
    out = {}
    for k in KINDS:
        t = store.read_events(k, 0, top)
        if t.num_rows:
            out[k] = t
    return out


def backtest(
    store: Store,
    live: Policy,
    candidate: Policy,
    start: dt.datetime,
    end: dt.datetime,
    truth_dir: str | Path | None = None,
    people: int | None = None,
) -> dict[str, Any]:
    """Both policies' figures over [start, end) and how they differ; the store is only read."""
    from fanzha.sim.truth import load_truth

    truth = load_truth(truth_dir) if truth_dir is not None else None
    source = "given" if people is not None else None
    if people is None and truth is not None:
        people, source = truth.people, "truth"
    log = read_log(store)
    if people is None and "card" in log:  # the SIM registry: one line per subscriber's number
        cards = pl.from_arrow(log["card"].select(["card_type", "card_number"]))
        people = cards.filter(pl.col.card_type == "sim")["card_number"].n_unique() or None
        source = "sim registry (card events)" if people else None
    labels = _labels(log, pl.from_arrow(store.outcomes()), pl.from_arrow(store.tasks()))
    live_alerts, live_warned = _replay(log, live)
    cand_alerts, cand_warned = _replay(log, candidate)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "events": sum(t.num_rows for t in log.values()),
        "people": people,
        "people_from": source,
        "live": _policy_figures(live, live_alerts, live_warned, labels, people, truth, start, end),
        "candidate": _policy_figures(
            candidate, cand_alerts, cand_warned, labels, people, truth, start, end
        ),
        "overlap": overlap(
            _in_window(live_alerts, "first_ts", start, end),
            _in_window(cand_alerts, "first_ts", start, end),
        ),
    }
