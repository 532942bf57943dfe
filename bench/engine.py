"""Benchmark: 1M call events through ingest and the engine with the example detector.

Prints events/s for ingest and for the engine, and each as a ratio to reading the same rows with
pyarrow alone (the floor), measured in the same run. Goal for the engine: >= 50,000 events/s on a
2-core machine. Run: .venv/bin/python bench/engine.py [--calls N] [--listed N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from fanzha.engine import Engine
from fanzha.ingest import Source, ingest
from fanzha.store import open_store


def make_calls(path: Path, n: int, listed: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    people = 13_800_000_000 + rng.choice(10**8, size=max(n // 20, 1000), replace=False)
    fraud = 17_000_000_000 + rng.choice(10**8, size=listed, replace=False)
    caller = rng.choice(people, size=n)
    from_fraud = rng.random(n) < 0.01
    caller[from_fraud] = rng.choice(fraud, size=int(from_fraud.sum()))
    callee = rng.choice(people, size=n)
    start = int(dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp() * 1000)
    ts = np.sort(start + rng.integers(0, 14 * 86_400_000, size=n))
    table = pa.table({
        "ts": pa.array(ts, pa.timestamp("ms", "UTC")),
        "caller": pa.array(caller.astype(str)), "callee": pa.array(callee.astype(str)),
        "duration_s": pa.array(rng.integers(0, 600, size=n) * (rng.random(n) < 0.7)),
    })
    pacsv.write_csv(table, path)
    return [str(f) for f in fraud]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--listed", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=200_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        calls = Path(d) / "calls.csv"
        fraud = make_calls(calls, args.calls, args.listed, seed=1)
        reports = Path(d) / "reports.csv"
        reports.write_text("ts,reporter_kind,target_kind,target_value,verdict\n" + "".join(
            f"2026-03-01T00:00:00Z,police,phone,{f},confirm\n" for f in fraud))

        t = time.perf_counter()
        floor = pacsv.read_csv(calls, convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in ("ts", "caller", "callee", "duration_s")}))
        t_floor = time.perf_counter() - t
        assert floor.num_rows == args.calls

        store = open_store(str(Path(d) / "bench.duckdb"))
        ingest(store, [Source(str(reports), "report")])
        t = time.perf_counter()
        summary = ingest(store, [Source(str(calls), "call")]).to_dict()
        t_ingest = time.perf_counter() - t
        assert summary["accepted"] + summary["duplicate"] == args.calls, summary

        t = time.perf_counter()
        run = Engine(store, batch_size=args.batch_size).run()
        t_engine = time.perf_counter() - t
        store.close()

    n = args.calls
    print(f"calls: {n:,}   listed numbers: {args.listed:,}   signals: {run.signals:,}   "
          f"alerts: {run.alerts_touched:,}")
    print(f"pyarrow read_csv (floor): {n / t_floor:>12,.0f} events/s  ({t_floor:.2f} s)")
    print(f"fanzha ingest:            {n / t_ingest:>12,.0f} events/s  ({t_ingest:.2f} s)  "
          f"= {t_ingest / t_floor:.1f}x the floor's time")
    print(f"fanzha engine:            {n / t_engine:>12,.0f} events/s  ({t_engine:.2f} s)  "
          f"= {t_engine / t_floor:.1f}x the floor's time   (goal >= 50,000 events/s)")


if __name__ == "__main__":
    main()
