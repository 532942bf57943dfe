"""Benchmark: events/s of the JetStream path (fanzha publish + 1 or 2 `fanzha worker` processes)
against the embedded engine (ingest + run), on the same simulated world, in the same run.

All three write to PostgreSQL (a throwaway server on loopback, fsync off), since two workers
cannot share a DuckDB file. The embedded figure is ingest + engine in this process; the stream
figures are the publish (validation + broker) and, separately, the workers' wall time from
start to drained (process start and imports included: the "idle worker" line shows that fixed
cost). Every path must find the same alerts, or the bench fails.

Spark (`--part spark`, or all): each `fanzha spark` job on local[2] and on a standalone master with
two one-core workers on loopback, against the embedded investigation on the same world (the
embedded path reads the DuckDB store, Spark the Parquet lake exported from it; session start is
printed apart). Every job must give the embedded rows, or the bench fails. The embedded times
include reading the store (rings: `find_rings_in`, leaks: `leak_counts` for the fraud type of
most cases, mules: `mule_scores` with the cases).
Keyed (`--part keyed`, or all): a keyed-heavy world (`--accesses` waybill/CRM accesses at
`--sites` sites, the calls of the simulated world) through 1 and 2 workers without the keyed tier
and with `--partitions` keyed partitions, against the embedded engine in the same run; every path
must find the embedded alerts.
Run: .venv/bin/python bench/scale.py [--people N] [--days N] [--slice-events N] [--part P]
     [--jobs number-features,trace,mules,rings,leaks] [--accesses N] [--sites N]
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from fanzha.engine.runner import Engine
from fanzha.ingest import ingest
from fanzha.investigate.funds import TraceSettings, TransferIndex, case_traces
from fanzha.investigate.leaks import leak_counts
from fanzha.investigate.mules import mule_scores
from fanzha.investigate.rings import find_rings_in
from fanzha.lake import export_lake
from fanzha.models import number_features as nf
from fanzha.sim import simulate
from fanzha.sim.run import load_manifest
from fanzha.store import open_store
from fanzha.store.local_pg import LocalPostgres, create_database
from fanzha.stream.local_nats import LocalNats
from fanzha.stream.publish import publish


def workers(n: int, broker: str, db: str, partitions: int = 1) -> float:
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
                "--partitions",
                str(partitions),
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


def embedded(pg, name: str, sources) -> tuple[str, int, int, float]:
    """The embedded path on a new PostgreSQL database: (url, events accepted, signals, seconds
    of ingest + run)."""
    db = create_database(pg.url(), name)
    s = open_store(db)
    try:
        t = time.perf_counter()
        summary = ingest(s, sources)
        run = Engine(s).run()
        return db, summary.total("accepted"), run.signals, time.perf_counter() - t
    finally:
        s.close()


def streamed(
    pg, tmp: str, name: str, sources, slice_events: int, k: int, partitions: int = 1
) -> tuple[str, float, float]:
    """The stream path on a new PostgreSQL database and broker: `fanzha publish` of the sources,
    then k workers drain it: (url, publish seconds, workers seconds)."""
    with LocalNats(str(Path(tmp) / name)) as nats:
        db = create_database(pg.url(), name)
        s = open_store(db)
        try:
            t = time.perf_counter()
            publish(s, sources, nats.url, slice_events=slice_events)
            t_pub = time.perf_counter() - t
        finally:
            s.close()
        return db, t_pub, workers(k, nats.url, db, partitions)


def outputs(db: str) -> tuple[list[dict], list[str]]:
    """Alerts and the sorted signal ids (the keyed tier must give both)."""
    s = open_store(db)
    try:
        return s.alerts().to_pylist(), sorted(s.signals()["signal_id"].to_pylist())
    finally:
        s.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=3000)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--slice-events", type=int, default=5000)
    ap.add_argument("--part", choices=["all", "jetstream", "spark", "keyed"], default="all")
    ap.add_argument("--accesses", type=int, default=40_000)
    ap.add_argument("--sites", type=int, default=40)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--jobs", default="number-features,trace,mules,rings,leaks")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world"
        simulate(args.people, args.days, args.seed, world, None)
        if args.part in ("all", "jetstream"):
            jetstream(args, Path(tmp), world)
        if args.part in ("all", "spark"):
            spark(args, Path(tmp), world)
        if args.part in ("all", "keyed"):
            keyed(args, Path(tmp), world)


def _embedded_jobs(db: str) -> dict[str, tuple[float, pl.DataFrame]]:
    """Each job's embedded investigation, timed from the store's log to its rows."""
    out = {}
    with open_store(db, read_only=True) as s:
        top = s.max_seq()
        t = time.perf_counter()
        rows = nf.offline(
            s.read_events("call", 0, top), s.read_events("sms", 0, top), nf.WindowSettings()
        )
        out["number-features"] = (time.perf_counter() - t, rows)
        t = time.perf_counter()
        cases = pl.from_arrow(s.read_events("case", 0, top))
        rows = case_traces(TransferIndex.from_store(s), cases, TraceSettings())  # type: ignore[arg-type]
        out["trace"] = (time.perf_counter() - t, rows)
        t = time.perf_counter()
        transfers = pl.from_arrow(s.read_events("transfer", 0, top))
        rows = mule_scores(transfers, pl.from_arrow(s.read_events("case", 0, top)))  # type: ignore[arg-type]
        out["mules"] = (time.perf_counter() - t, rows)
        t = time.perf_counter()
        rows = find_rings_in(s).accounts
        out["rings"] = (time.perf_counter() - t, rows)
        t = time.perf_counter()
        ft = _fraud_type(s)
        rows = leak_counts(s, ft)
        out["leaks"] = (time.perf_counter() - t, rows)
    return out


def _fraud_type(s) -> str:
    """The fraud type of most cases in the store (the leaks job traces one)."""
    cases = pl.from_arrow(s.read_events("case", 0, s.max_seq()))
    assert isinstance(cases, pl.DataFrame)
    types = cases["fraud_type"].drop_nulls()
    if not types.len():
        sys.exit("the world has no police cases for the leaks job: try --seed 11 --days 5")
    return str(types.mode().sort()[0])


def _same(job: str, got: pl.DataFrame, expected: pl.DataFrame) -> bool:
    key = {"number-features": ["number", "seq"], "trace": ["case_id", "measure", "key"],
           "mules": ["account"], "rings": ["account"], "leaks": ["tp"]}[job]  # fmt: skip
    got = got.with_columns(
        pl.col(c).dt.cast_time_unit("ms") for c, t in got.schema.items() if t == pl.Datetime
    )
    return got.sort(key).equals(expected.sort(key))


def spark(args: argparse.Namespace, tmp: Path, world: Path) -> None:
    from fanzha.spark import leaks, mules, number_features, rings, trace
    from fanzha.spark.local_cluster import LocalSparkCluster
    from fanzha.spark.session import session

    db, lake = str(tmp / "spark.duckdb"), str(tmp / "lake")
    with open_store(db) as s:
        n = ingest(s, load_manifest(world)).total("accepted")
        export_lake(s, lake)
    embedded = _embedded_jobs(db)
    print(f"spark: world of {n:,} events in a lake; {args.partitions} partitions per step")
    jobs = {"number-features": number_features.run, "trace": trace.run, "mules": mules.run,
            "rings": rings.run, "leaks": leaks.run}  # fmt: skip
    jobs = {j: jobs[j] for j in args.jobs.split(",")}
    with open_store(db, read_only=True) as s:
        ft = _fraud_type(s)
    if "leaks" in jobs:
        jobs["leaks"] = functools.partial(leaks.run, fraud_type=ft)
    embedded = {j: embedded[j] for j in jobs}
    for job, (sec, rows) in embedded.items():
        print(f"  embedded {job:16s} {sec:7.2f} s  {rows.height:,} rows")
    for name in ("local[2]", "standalone 2x1 core"):
        cluster = LocalSparkCluster(workers=2) if name.startswith("standalone") else None
        master = cluster.start().url if cluster else "local[2]"
        try:
            t = time.perf_counter()
            sp = session(master, args.partitions)
            sp.sparkContext.setLogLevel("ERROR")
            sp.range(4).count()  # executors up
            print(f"  {name}: session start {time.perf_counter() - t:.2f} s")
            for job, run in jobs.items():
                for attempt in ("cold", "warm"):  # warm: Python workers and JIT already up
                    t = time.perf_counter()
                    got = pl.from_arrow(run(sp, lake, partitions=args.partitions).toArrow())
                    sec = time.perf_counter() - t
                    assert isinstance(got, pl.DataFrame)
                    same = _same(job, got, embedded[job][1])
                    if not same:
                        sys.exit(f"spark {job} on {name} gave other rows than the embedded path")
                    print(
                        f"  {name:20s} {job:16s} {attempt} {sec:7.2f} s  "
                        f"{sec / embedded[job][0]:6.1f}x embedded time (same rows: {same})"
                    )
            sp.stop()
        finally:
            if cluster:
                cluster.stop()


def jetstream(args: argparse.Namespace, tmp_: Path, world: Path) -> None:
    tmp = str(tmp_)
    with LocalPostgres() as pg:
        sources = load_manifest(world)

        db, n, signals, t_embedded = embedded(pg, "embedded", sources)
        expected = alerts(db)
        print(
            f"world: {args.people} people x {args.days} days, {n:,} events, "
            f"{signals:,} signals, {len(expected):,} alerts; slices of {args.slice_events}"
        )
        print(f"embedded (ingest + run)     {t_embedded:7.2f} s  {n / t_embedded:9,.0f} events/s")

        with LocalNats(str(Path(tmp) / "idle")) as nats:
            idle_db = create_database(pg.url(), "idle")
            open_store(idle_db).close()
            t_idle = workers(1, nats.url, idle_db)
        print(f"idle worker (start, drain)  {t_idle:7.2f} s  (fixed cost in the figures below)")

        for k in (1, 2):
            db, t_pub, t_work = streamed(pg, tmp, f"stream{k}", sources, args.slice_events, k)
            same = alerts(db) == expected
            if not same:
                sys.exit(f"{k} worker(s) found other alerts than the embedded engine")
            total = t_pub + t_work
            print(
                f"jetstream, {k} worker(s)      {total:7.2f} s  {n / total:9,.0f} events/s "
                f"(publish {t_pub:.2f} s, workers {t_work:.2f} s; {total / t_embedded:.2f}x "
                f"embedded time; same alerts: {same})"
            )


def access_world(n: int, sites: int, seed: int, start, folder: Path) -> list:
    """Waybill/CRM accesses at `sites` sites over three days (printers by day, some night
    readers, exports, remote tools, sequential scans) and their rosters, as ingest sources."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from fanzha.ingest import Source

    rng = np.random.default_rng(seed)
    per = 8
    site = rng.integers(0, sites, n)
    acct = rng.integers(0, per, n)
    day = rng.integers(0, 3, n)
    night = rng.random(n) < 0.05
    hour = np.where(night, rng.random(n) * 5, 8 + rng.random(n) * 10)
    ms = (day * 86_400_000 + hour * 3_600_000).astype("int64")
    action = rng.choice(
        ["query", "print", "view", "export", "login"], n, p=[0.5, 0.3, 0.12, 0.03, 0.05]
    )
    scan = rng.random(n) < 0.1  # runs of consecutive waybills at a few accounts
    num = np.where(scan, 5_000_000 + site * 10_000 + acct * 1000 + (ms // 4000) % 1000,
                   rng.integers(1_000_000, 9_000_000, n))  # fmt: skip
    t0 = int(start.timestamp() * 1000)
    acc = pa.table(
        {
            "ts": pa.array(t0 + np.sort(ms), pa.timestamp("ms", "UTC")),
            "site": pa.array([f"wh-{x}" for x in site]),
            "operator_account": pa.array([f"wh-{x}-{a}" for x, a in zip(site, acct, strict=True)]),
            "action": pa.array(action),
            "device_id": pa.array(
                [f"wh-{x}-pc-{d}" for x, d in zip(site, rng.integers(0, 4, n), strict=True)]
            ),
            "ip": pa.array(
                [f"10.{x % 250}.1.{d}" for x, d in zip(site, rng.integers(2, 9, n), strict=True)]
            ),
            "waybill_no": pa.array([f"YT{v}" for v in num]),
            "record_count": pa.array(np.where(action == "export", rng.integers(10, 3000, n), 1)),
            "remote_tools": pa.array(np.where(rng.random(n) < 0.01, "ToDesk.exe", None)),
            "access_id": pa.array([f"L{i:08d}" for i in range(n)]),
        }
    )
    ros = pa.table(
        {
            "ts": pa.array([t0 - 86_400_000 * 30] * (sites * per), pa.timestamp("ms", "UTC")),
            "site": pa.array([f"wh-{x}" for x in range(sites) for _ in range(per)]),
            "operator_account": pa.array([f"wh-{x}-{a}" for x in range(sites) for a in range(per)]),
            "action": pa.array(["hire"] * (sites * per)),
            "role": pa.array(["printer"] * (sites * per)),
        }
    )
    out = []
    for name, t in (("waybill_access", acc), ("roster", ros)):
        path = folder / f"{name}.csv"
        pacsv.write_csv(t, path)
        out.append(Source(str(path), name))
    return out


def keyed(args: argparse.Namespace, tmp_: Path, world: Path) -> None:
    """The keyed tier against the ordered log alone and the embedded engine, same world."""
    import datetime as dt

    tmp = str(tmp_)
    sources = [s for s in load_manifest(world) if s.kind in ("call",)]
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    sources += access_world(args.accesses, args.sites, args.seed, start, tmp_)
    with LocalPostgres() as pg:
        db, n, signals, t_embedded = embedded(pg, "keyed_embedded", sources)
        expected = outputs(db)
        print(
            f"keyed-heavy world: {n:,} events ({args.accesses:,} accesses at {args.sites} sites, "
            f"the simulated calls), {signals:,} signals, {len(expected):,} alerts; slices of "
            f"{args.slice_events}"
        )
        print(
            f"embedded (ingest + run)              {t_embedded:7.2f} s  {n / t_embedded:9,.0f} events/s"
        )
        for parts in (1, args.partitions):
            for k in (1, 2):
                db, t_pub, t_work = streamed(
                    pg, tmp, f"keyed{parts}_{k}", sources, args.slice_events, k, parts
                )
                same = outputs(db) == expected
                if not same:
                    sys.exit(
                        f"{k} worker(s), {parts} partition(s): other alerts or signals than embedded"
                    )
                total = t_pub + t_work
                tier = f"{parts} keyed partitions" if parts > 1 else "no keyed tier"
                print(
                    f"{k} worker(s), {tier:20s} {total:7.2f} s  {n / total:9,.0f} events/s "
                    f"(publish {t_pub:.2f} s, workers {t_work:.2f} s; {total / t_embedded:.2f}x "
                    f"embedded time; same alerts and signals: {same})"
                )


if __name__ == "__main__":
    main()
