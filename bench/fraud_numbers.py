"""Benchmark: the fraud-number detector (sliding-window features, LightGBM, exposures) and the
fraud-contact detector over 1M calls with 10k listed (police-confirmed) numbers.

The log: people calling each other from their one handset, couriers calling many strangers, a few
SIM-farm numbers (many handsets and counties), and calls from the listed numbers; cut into
micro-batches as the engine cuts it. Each detector steps over the batches with its look-ups
answered from memory (no database), so the figures are the detectors' own. The baseline, measured
in the same run over the same batches, is the least a per-number detector does: turn the batch
into Polars and count calls per caller. Prints events/s and the p50/p99 batch latency of each, and
the ratio to the baseline.
Run: .venv/bin/python bench/fraud_numbers.py [--calls N] [--listed N] [--batch N]
(Not bench/numbers.py: run as a script, that name would hide the standard library's `numbers`.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import polars as pl
import pyarrow as pa

from fanzha.detectors import FraudContact, FraudNumber
from fanzha.engine.check import LogStore, _slice
from fanzha.engine.protocol import inputs
from fanzha.engine.runner import answer_lookups
from fanzha.events import KINDS

DAY = 86_400_000


def make_log(n: int, listed: int, seed: int, days: int = 7) -> dict[str, pa.Table]:
    rng = np.random.default_rng(seed)
    people = 13_800_000_000 + rng.choice(10**8, size=max(n // 10, 1000), replace=False)
    imei = 860_000_000_000_000 + np.arange(len(people))
    county = rng.choice(["450802", "450803", "450821", "450881", "450902"], size=len(people))
    fraud = 17_000_000_000 + rng.choice(10**8, size=listed, replace=False)
    farms = 17_100_000_000 + rng.choice(10**8, size=50, replace=False)
    couriers = rng.choice(len(people), size=200, replace=False)
    start = int(dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp() * 1000)
    ts = np.sort(start + rng.integers(0, days * DAY, size=n))
    kind = rng.choice(4, size=n, p=[0.95, 0.01, 0.01, 0.03])  # person, listed, farm, courier
    a = rng.integers(0, len(people), size=n)
    a = np.where(kind == 3, couriers[rng.integers(0, len(couriers), n)], a)
    b = rng.integers(0, len(people), size=n)
    caller = people[a].astype(str).astype(object)
    caller[kind == 1] = fraud[rng.integers(0, listed, int((kind == 1).sum()))].astype(str)
    caller[kind == 2] = farms[rng.integers(0, len(farms), int((kind == 2).sum()))].astype(str)
    caller_imei = imei[a].astype(str).astype(object)
    caller_imei[kind == 2] = (870_000_000_000_000 + rng.integers(0, 40, int((kind == 2).sum()))).astype(str)
    caller_county = county[a].astype(object)
    caller_county[kind == 2] = rng.choice(["532801", "440305", "450921"], int((kind == 2).sum()))
    dur = np.where(rng.random(n) < 0.7, rng.integers(1, 600, n), 0)
    calls = pa.table(
        {
            "seq": pa.array(np.arange(1, n + 1), pa.int64()),
            "event_id": pa.array(np.char.add("e", np.arange(n).astype(str))),
            "batch_id": pa.array(np.ones(n, np.int64)),
            "source": pa.nulls(n, pa.string()),
            "ts": pa.array(ts, pa.timestamp("ms", "UTC")),
            "caller": pa.array(caller.astype(str)),
            "callee": pa.array(people[b].astype(str)),
            "duration_s": pa.array(dur),
            "answered": pa.array(dur > 0),
            "caller_imei": pa.array(caller_imei.astype(str)),
            "caller_cell": pa.nulls(n, pa.string()),
            "caller_county": pa.array(caller_county.astype(str)),
            "callee_county": pa.array(county[b]),
            "call_id": pa.nulls(n, pa.string()),
        }
    ).cast(KINDS["call"].schema)
    reports = pa.table(
        {
            "seq": pa.array(np.arange(n + 1, n + 1 + listed), pa.int64()),
            "event_id": pa.array(np.char.add("r", np.arange(listed).astype(str))),
            "batch_id": pa.array(np.ones(listed, np.int64)),
            "ts": pa.array(np.full(listed, start + days * DAY // 2), pa.timestamp("ms", "UTC")),
            "reporter_kind": pa.array(["police"] * listed),
            "target_kind": pa.array(["phone"] * listed),
            "target_value": pa.array(fraud.astype(str)),
            "verdict": pa.array(["confirm"] * listed),
        }
    )
    reports = pa.table(
        {f.name: reports[f.name] if f.name in reports.column_names else pa.nulls(listed, f.type)
         for f in KINDS["report"].schema}
    ).cast(KINDS["report"].schema)
    return {"call": calls, "sms": KINDS["sms"].schema.empty_table(), "report": reports}


class Baseline:
    """Count calls per caller in each batch: the floor of any per-number detector."""

    name = "baseline"
    kinds = ("call",)

    def initial_state(self):
        return {}

    def step(self, batch, state):
        pl.from_arrow(batch["call"]).group_by("caller").len()
        return None, state


def run(det, log: dict[str, pa.Table], cuts: list[int]) -> tuple[list[float], int]:
    store = LogStore(log)
    state = det.initial_state()
    times, signals = [], 0
    for lo, hi in zip([0, *cuts[:-1]], cuts, strict=True):
        batch = _slice(log, tuple(inputs(det)) if hasattr(det, "settings") else det.kinds, lo, hi)
        t = time.perf_counter()
        batch.update(answer_lookups(store, det, batch, state, hi))
        sigs, state = det.step(batch, state)
        times.append(time.perf_counter() - t)
        signals += 0 if sigs is None else sigs.num_rows
    return times, signals


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--listed", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=10_000)
    args = ap.parse_args()
    log = make_log(args.calls, args.listed, seed=1)
    top = args.calls + args.listed
    cuts = [*range(args.batch, top, args.batch), top]
    n = top
    print(f"calls: {args.calls:,}   listed numbers: {args.listed:,}   batches: {len(cuts)} of "
          f"{args.batch:,} events")
    base = None
    for det in (Baseline(), FraudContact(), FraudNumber()):
        times, signals = run(det, log, cuts)
        total = sum(times)
        p50, p99 = np.percentile(np.array(times) * 1000, [50, 99])
        base = base or total
        print(f"{det.name:<14} {n / total:>10,.0f} events/s  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms"
              f"  signals {signals:>8,}  = {total / base:5.1f}x the baseline's time")


if __name__ == "__main__":
    main()
