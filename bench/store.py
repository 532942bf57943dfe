"""Benchmark: the PostgreSQL store against the DuckDB store on the same simulated world.

One world (fanzha sim), then for each backend, in the same run: the whole ingest (read, validate,
stage, commit), the store's own part of it (the validated events staged and committed again into
an empty store: deduplication, numbering, indexes), the engine over the whole log, and the
Parquet lake (export, and load into an empty store). Prints events/s for each and PostgreSQL's
time as a ratio of DuckDB's, and checks that both found the same signals and alerts. The backends
run alternately (--repeat times each) and each step's best time is kept, so that neither pays
alone for warming up (imports, the policy, caches).

PostgreSQL is a throwaway server on loopback (fsync off: this measures fanzha's use of the
server, not the disk), or --pg URL of a server whose databases the bench may create.
Run: .venv/bin/python bench/store.py [--people N] [--days N] [--pg URL]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fanzha.engine.runner import Engine
from fanzha.events import KINDS
from fanzha.ingest import ingest
from fanzha.lake import export_lake, load_lake
from fanzha.sim import simulate
from fanzha.sim.run import load_manifest
from fanzha.store import Store, open_store
from fanzha.store.local_pg import LocalPostgres, create_database, with_database


def timed(f: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    r = f()
    return time.perf_counter() - t, r


def restage(source: Store, target: Store) -> int:
    """Stage the source's validated events into `target` as one ingest batch, as ingest does."""
    target.begin_ingest({"bench": "restage"})
    n = 0
    for i, k in enumerate(KINDS):
        t = source.read_events(k, 0, source.max_seq())
        if t.num_rows:
            target.stage_events(k, t.drop_columns(["seq", "batch_id"]), i)
            n += t.num_rows
    target.commit_ingest({})
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=2, help="runs per backend (best is kept)")
    ap.add_argument("--pg", help="admin URL of a PostgreSQL server (default: start one here)")
    args = ap.parse_args()
    with (
        tempfile.TemporaryDirectory() as d,
        LocalPostgres() if not args.pg else _Given(args.pg) as pg,
    ):
        world = Path(d) / "world"
        t_sim, _ = timed(lambda: simulate(args.people, args.days, args.seed, world, None))
        sources = load_manifest(world)
        n_db = 0

        def new_url(backend: str) -> str:
            nonlocal n_db
            n_db += 1
            if backend == "duckdb":
                return str(Path(d) / f"b{n_db}.duckdb")
            return create_database(pg.url(), f"fanzha_bench_{n_db}")

        rows: dict[str, dict[str, float]] = {"duckdb": {}, "postgresql": {}}
        outputs = {}
        n_events = 0
        order = ["duckdb", "postgresql"]
        for rep in range(args.repeat):  # alternate, keep each step's best: warm-up is shared
            for backend in order if rep % 2 == 0 else order[::-1]:
                r: dict[str, float] = {}
                with open_store(new_url(backend)) as s:
                    r["ingest"], summary = timed(lambda s=s: ingest(s, sources))
                    n_events = summary.total("accepted")
                    r["engine"], run = timed(lambda s=s: Engine(s).run())
                    outputs[backend] = (s.signals(), s.alerts())
                    lake = str(Path(d) / f"lake-{backend}-{rep}")
                    r["lake export"], _ = timed(lambda s=s, lake=lake: export_lake(s, lake))
                    with open_store(new_url(backend)) as empty:
                        r["store ingest"], _ = timed(lambda s=s, e=empty: restage(s, e))
                    with open_store(new_url(backend)) as empty:
                        r["lake load"], _ = timed(lambda e=empty, lake=lake: load_lake(e, lake))
                for step, t in r.items():
                    rows[backend][step] = min(t, rows[backend].get(step, t))
        same = all(outputs["duckdb"][i].equals(outputs["postgresql"][i]) for i in range(2))
        n_files = sum(1 for _ in Path(d, "lake-duckdb-0").rglob("part-*.parquet"))
    print(
        f"world: {args.people:,} people, {args.days} days, seed {args.seed} "
        f"(simulated in {t_sim:.1f} s): {n_events:,} events; {run.signals:,} signals, "
        f"{outputs['duckdb'][1].num_rows:,} alerts; lake: {n_files:,} files"
    )
    print(f"signals and alerts identical on both backends: {same}")
    print(f"{'step':<14}{'DuckDB ev/s':>14}{'PostgreSQL ev/s':>18}{'PG time / DuckDB time':>24}")
    for step in ("ingest", "store ingest", "engine", "lake export", "lake load"):
        a, b = rows["duckdb"][step], rows["postgresql"][step]
        print(f"{step:<14}{n_events / a:>14,.0f}{n_events / b:>18,.0f}{b / a:>24.2f}")
    if not same:
        raise SystemExit("the backends disagree")


class _Given:
    """A server given by URL (the bench only creates databases on it)."""

    def __init__(self, url: str):
        self._url = url

    def url(self, dbname: str = "postgres") -> str:
        return with_database(self._url, dbname)

    def __enter__(self) -> _Given:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


if __name__ == "__main__":
    main()
