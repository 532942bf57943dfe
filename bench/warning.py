"""Benchmarks of the warning detectors.

1. fraud_contact over 1M calls with 10k listed numbers (9k confirmed before the calls start, 1k
   during them, so look-backs run too): events/s and p50/p99 latency of a micro-batch (the step
   plus its look-ups answered from memory), against the floor measured in the same run: a Polars
   filter of the same batches on the listed numbers, which is the least any contact detector does.
2. With --world DIR (a `fanzha sim` world): what each warning detector contributes on it, by
   running the engine with the detectors added one by one and scoring the warnings.

Run: .venv/bin/python bench/warning.py [--calls N] [--listed N] [--batch N] [--world DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from fanzha.detectors import FraudApp, FraudContact, FraudUrl, VictimRisk
from fanzha.detectors.fraud_contact import FraudContactSettings
from fanzha.detectors.fraud_url import FraudUrlSettings
from fanzha.detectors.victim_risk import VictimRiskSettings
from fanzha.engine.runner import answer_lookups
from fanzha.events import KINDS

START_MS = 1_772_323_200_000  # 2026-03-01 UTC


def make_log(n: int, listed: int, seed: int) -> tuple[dict[str, pa.Table], np.ndarray]:
    rng = np.random.default_rng(seed)
    people = 13_800_000_000 + rng.choice(10**8, size=max(n // 20, 1000), replace=False)
    fraud = 17_000_000_000 + rng.choice(10**8, size=listed, replace=False)
    caller = rng.choice(people, size=n)
    from_fraud = rng.random(n) < 0.01
    caller[from_fraud] = rng.choice(fraud, size=int(from_fraud.sum()))
    callee = rng.choice(people, size=n)
    call_ts = np.sort(START_MS + rng.integers(0, 14 * 86_400_000, size=n))
    early = listed - listed // 10
    rep_ts = np.concatenate([np.full(early, START_MS - 1000),
                             np.sort(START_MS + rng.integers(0, 14 * 86_400_000, listed - early))])
    # one log in event-time order: reports and calls interleaved
    kind = np.concatenate([np.zeros(listed, np.int8), np.ones(n, np.int8)])
    ts = np.concatenate([rep_ts, call_ts])
    order = np.lexsort((kind, ts))
    seq = np.empty(len(ts), np.int64)
    seq[order] = np.arange(1, len(ts) + 1)
    dur = rng.integers(0, 600, size=n) * (rng.random(n) < 0.7)
    calls = pa.table({
        "seq": seq[listed:], "event_id": pa.array([f"c{i}" for i in range(n)]),
        "batch_id": np.ones(n, np.int64), "source": pa.nulls(n, pa.string()),
        "ts": pa.array(call_ts, pa.timestamp("ms", "UTC")),
        "caller": caller.astype(str), "callee": callee.astype(str), "duration_s": dur,
        "answered": dur > 0,
    })
    reports = pa.table({
        "seq": seq[:listed], "event_id": pa.array([f"r{i}" for i in range(listed)]),
        "batch_id": np.ones(listed, np.int64), "source": pa.nulls(listed, pa.string()),
        "ts": pa.array(rep_ts, pa.timestamp("ms", "UTC")), "reporter_kind": ["police"] * listed,
        "target_kind": ["phone"] * listed, "target_value": fraud.astype(str),
        "verdict": ["confirm"] * listed,
    })
    out = {}
    for k, t in (("call", calls), ("report", reports)):
        schema = KINDS[k].schema
        cols = {f.name: (t[f.name] if f.name in t.column_names else pa.nulls(t.num_rows, f.type))
                for f in schema}
        out[k] = pa.table(cols).cast(schema).sort_by("seq")
    out["sms"] = KINDS["sms"].schema.empty_table()
    return out, fraud.astype(str)


class FrameStore:
    """Answers look-ups like the store does (a scan with the same filter), from frames converted
    once: the engine's DuckDB store does the same scan on its table."""

    def __init__(self, log: dict[str, pa.Table]):
        self.frames = {k: pl.from_arrow(t) for k, t in log.items()}
        self.schemas = {k: t.schema for k, t in log.items()}

    def lookup_events(self, kind, fields, values, upto_seq, since=None):
        cond = pl.any_horizontal([pl.col(f).is_in(values) for f in fields]) & (
            pl.col.seq <= upto_seq)
        if since is not None:
            cond = cond & (pl.col.ts >= since)
        return self.frames[kind].filter(cond).to_arrow().cast(self.schemas[kind])


def contact_benchmark(n: int, listed: int, batch: int, warm: bool = True) -> None:
    if warm:  # first use of Polars/Arrow kernels and imports: not what a running engine pays
        contact_benchmark(min(n, 20_000), min(listed, 200), batch, warm=False)
    log, fraud = make_log(n, listed, seed=1)
    top = n + listed
    det = FraudContact()
    store = FrameStore(log)
    seqs = {k: pl.from_arrow(t.select(["seq"]))["seq"] for k, t in log.items()}
    state = det.initial_state()
    times, floor, signals = [], [], 0
    listed_s = pl.Series(fraud)
    for lo in range(0, top, batch):
        hi = min(lo + batch, top)
        b = {k: t.filter(((seqs[k] > lo) & (seqs[k] <= hi)).to_arrow()) for k, t in log.items()}
        t0 = time.perf_counter()
        pl.from_arrow(b["call"]).filter(
            pl.col.caller.is_in(listed_s.implode()) | pl.col.callee.is_in(listed_s.implode()))
        floor.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        full = {**b, **answer_lookups(store, det, b, state, hi)}  # type: ignore[arg-type]
        sigs, state = det.step(full, state)
        times.append(time.perf_counter() - t0)
        signals += sigs.num_rows
    t, f = np.array(times), np.array(floor)
    if not warm:
        return
    print(f"fraud_contact: {n:,} calls, {listed:,} listed numbers ({listed // 10:,} listed during "
          f"the calls), batches of {batch:,} log positions: {signals:,} signals")
    print(f"  detector: {n / t.sum():>12,.0f} events/s  p50 {np.percentile(t, 50) * 1000:7.1f} ms"
          f"  p99 {np.percentile(t, 99) * 1000:7.1f} ms per batch")
    print(f"  floor:    {n / f.sum():>12,.0f} events/s  p50 {np.percentile(f, 50) * 1000:7.1f} ms"
          f"  p99 {np.percentile(f, 99) * 1000:7.1f} ms   (detector = {t.sum() / f.sum():.1f}x "
          "the floor's time)")


def contributions(world: Path) -> None:
    from fanzha.decide.policy import default_policy_text, parse_policy
    from fanzha.engine import Engine
    from fanzha.ingest import ingest
    from fanzha.sim.collect import collect_warnings
    from fanzha.sim.run import load_manifest
    from fanzha.sim.score import score_warning
    from fanzha.sim.truth import load_truth
    from fanzha.store import open_store

    truth = load_truth(world)
    text = default_policy_text()
    policy = parse_policy(text.split("\ndetectors:")[0] + "\n")  # settings given below instead
    no_look = FraudUrlSettings(brands=(), lure_words=(), risky_tlds=())
    no_lure = FraudUrlSettings(lure_words=(), risky_tlds=())

    def risk(*inputs: str) -> VictimRisk:
        return VictimRisk(VictimRiskSettings(inputs=inputs))

    configs = [
        ("fraud_contact (confirmed/suspected numbers)", [FraudContact(), risk("fraud_contact")]),
        ("+ fraud_url, listed sites only", [FraudContact(), FraudUrl(no_look),
                                            risk("fraud_contact", "fraud_url")]),
        ("+ look-alikes of brands (no lure words)", [FraudContact(), FraudUrl(no_lure),
                                                      risk("fraud_contact", "fraud_url")]),
        ("+ lure words on cheap TLDs", [FraudContact(), FraudUrl(),
                                        risk("fraud_contact", "fraud_url")]),
        ("+ fraud_app", [FraudContact(), FraudUrl(), FraudApp(),
                         risk("fraud_contact", "fraud_url", "fraud_app")]),
        ("+ fraud_contact lists fraud_url's suspects (default)", [
            FraudContact(dataclasses.replace(FraudContactSettings(),
                                             suspect_inputs=("fraud_url",))),
            FraudUrl(), FraudApp(), risk("fraud_contact", "fraud_url", "fraud_app")]),
    ]
    with tempfile.TemporaryDirectory() as d:
        store = open_store(str(Path(d) / "w.duckdb"))
        ingest(store, load_manifest(world))
        print(f"\ncontributions on {world} ({truth.people:,} people, "
              f"{truth.get('victims').height} victims):")
        print(f"  {'detectors':<55} {'before pay':>10} {'median s':>9} {'false/10k':>9} "
              f"{'targets':>8} {'engine s':>8}")
        for label, dets in configs:
            store.reset_engine()
            t0 = time.perf_counter()
            Engine(store, detectors=dets, policy=policy).run()
            secs = time.perf_counter() - t0
            w = score_warning(truth, collect_warnings(store))
            med = w["median_seconds_to_warning"]
            print(f"  {label:<55} {w['victims_warned_before_payment']:>10.1%} "
                  f"{med if med is not None else float('nan'):>9.0f} "
                  f"{w['false_warnings_per_10k']:>9.1f} {w['targets_warned_share']:>8.1%} "
                  f"{secs:>8.1f}")
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--listed", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--world", type=Path, default=None)
    args = ap.parse_args()
    contact_benchmark(args.calls, args.listed, args.batch)
    if args.world is not None:
        contributions(args.world)


if __name__ == "__main__":
    main()
