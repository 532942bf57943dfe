"""Benchmark: generating a world with `fanzha sim` (events/s), against writing the same number of
rows with pyarrow alone (the floor), measured in the same run.

Goal (issue 4): 100,000 people x 30 days in under 2 minutes on a 2-core machine.
Run: .venv/bin/python bench/sim.py [--people N] [--days D] [--seed S]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from fanzha.sim import simulate


def floor_write(path: Path, n: int, seed: int) -> float:
    """Seconds to make and write n call-like rows (time, two phones, a duration) with pyarrow."""
    t = time.perf_counter()
    rng = np.random.default_rng(seed)
    table = pa.table({
        "ts": pa.array(1_772_400_000_000 + np.sort(rng.integers(0, 30 * 86_400_000, n)),
                       pa.timestamp("ms", "UTC")),
        "caller": pa.array(13_000_000_000 + rng.integers(0, 10**9, n)).cast(pa.string()),
        "callee": pa.array(13_000_000_000 + rng.integers(0, 10**9, n)).cast(pa.string()),
        "duration_s": pa.array(rng.integers(0, 600, n)),
    })
    pacsv.write_csv(table, path)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        world = simulate(args.people, args.days, args.seed, Path(d) / "world")
        t_sim = time.perf_counter() - t
        n = world.total_events
        size = sum(p.stat().st_size for p in (Path(d) / "world").rglob("*") if p.is_file())
        t_floor = floor_write(Path(d) / "floor.csv", n, args.seed)
    print(f"world: {args.people:,} people x {args.days} days: {n:,} events, "
          f"{size / 2**20:,.0f} MiB of partner files; victims {world.truth.get('victims', 0):,}")
    print(f"pyarrow write (floor): {n / t_floor:>12,.0f} rows/s    ({t_floor:.1f} s)")
    print(f"fanzha sim:            {n / t_sim:>12,.0f} events/s  ({t_sim:.1f} s)  "
          f"= {t_sim / t_floor:.1f}x the floor's time   (goal: 100,000 x 30 days < 120 s)")


if __name__ == "__main__":
    main()
