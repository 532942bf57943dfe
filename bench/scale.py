"""Benchmark: events/s of the JetStream path (fanzha publish + 1 or 2 `fanzha worker` processes)
against the embedded engine (ingest + run), on the same simulated world, in the same run.

All three write to PostgreSQL (a throwaway server on loopback, fsync off), since two workers
cannot share a DuckDB file. The embedded figure is ingest + engine in this process; the stream
figures are the publish (validation + broker) and, separately, the workers' wall time from
start to drained (process start and imports included: the "idle worker" line shows that fixed
cost). Every path must find the same alerts, or the bench fails.
Run: .venv/bin/python bench/scale.py [--people N] [--days N] [--slice-events N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fanzha.engine.runner import Engine
from fanzha.ingest import ingest
from fanzha.sim import simulate
from fanzha.sim.run import load_manifest
from fanzha.store import open_store
from fanzha.store.local_pg import LocalPostgres, create_database
from fanzha.stream.local_nats import LocalNats
from fanzha.stream.publish import publish


def workers(n: int, broker: str, db: str) -> float:
    t = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fanzha",
                "worker",
                "--broker",
                broker,
                "--db",
                db,
                "--until-idle",
                "0.2",
                "--ack-wait",
                "10",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(n)
    ]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            sys.exit(f"worker failed: {err.decode()[-500:]}")
    return time.perf_counter() - t


def alerts(db: str) -> list[dict]:
    s = open_store(db)
    try:
        return s.alerts().to_pylist()
    finally:
        s.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=3000)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--slice-events", type=int, default=5000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, LocalPostgres() as pg:
        world = Path(tmp) / "world"
        simulate(args.people, args.days, args.seed, world, None)
        sources = load_manifest(world)

        db = create_database(pg.url(), "embedded")
        s = open_store(db)
        t = time.perf_counter()
        summary = ingest(s, sources)
        run = Engine(s).run()
        t_embedded = time.perf_counter() - t
        s.close()
        n = summary.total("accepted")
        expected = alerts(db)
        print(
            f"world: {args.people} people x {args.days} days, {n:,} events, "
            f"{run.signals:,} signals, {len(expected):,} alerts; slices of {args.slice_events}"
        )
        print(f"embedded (ingest + run)     {t_embedded:7.2f} s  {n / t_embedded:9,.0f} events/s")

        with LocalNats(str(Path(tmp) / "idle")) as nats:
            idle_db = create_database(pg.url(), "idle")
            open_store(idle_db).close()
            t_idle = workers(1, nats.url, idle_db)
        print(f"idle worker (start, drain)  {t_idle:7.2f} s  (fixed cost in the figures below)")

        for k in (1, 2):
            with LocalNats(str(Path(tmp) / f"nats{k}")) as nats:
                db = create_database(pg.url(), f"stream{k}")
                s = open_store(db)
                t = time.perf_counter()
                publish(s, sources, nats.url, slice_events=args.slice_events)
                t_pub = time.perf_counter() - t
                s.close()
                t_work = workers(k, nats.url, db)
            same = alerts(db) == expected
            if not same:
                sys.exit(f"{k} worker(s) found other alerts than the embedded engine")
            total = t_pub + t_work
            print(
                f"jetstream, {k} worker(s)      {total:7.2f} s  {n / total:9,.0f} events/s "
                f"(publish {t_pub:.2f} s, workers {t_work:.2f} s; {total / t_embedded:.2f}x "
                f"embedded time; same alerts: {same})"
            )


if __name__ == "__main__":
    main()
