"""Benchmark: the synchronous transfer decision in process, with a simulated city's state loaded.

Loads `TransferDecider` from a store that `fanzha score` filled (the engine's signals, the card
registry and every transfer as payee history), then decides every transfer of the log again, one
call at a time, and prints p50 / p99 latency and decisions/s, against a baseline measured in the
same run: one dict lookup of the payee per request (the floor of any per-request answer).
Goal (issue 13): p99 <= 20 ms in process.
Run: .venv/bin/python bench/decide.py --db DB   (DB from `fanzha score WORLD --db DB`)
or   .venv/bin/python bench/decide.py --people 5000 --days 7   (makes and scores a world first)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from fanzha.api.access import add_key
from fanzha.decide.transfer import TransferDecider, TransferRequest
from fanzha.store import open_store


def _world_db(people: int, days: int, seed: int, d: Path) -> str:
    from fanzha.sim.run import score_world
    from fanzha.sim.world import simulate

    simulate(people=people, days=days, seed=seed, out=d / "world")
    return score_world(d / "world", str(d / "city.duckdb"))["meta"]["db"]


def _percentiles(ns: list[int]) -> tuple[float, float]:
    a = np.asarray(ns) / 1e6
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="a store filled by `fanzha score`")
    ap.add_argument("--people", type=int, default=5000)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--requests", type=int, default=50_000)
    ap.add_argument("--http", type=int, default=2000, help="requests over HTTP (0: none)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or _world_db(args.people, args.days, args.seed, Path(tmp))
        with open_store(db) as store:
            t0 = time.perf_counter()
            decider = TransferDecider.load(store)
            load_s = time.perf_counter() - t0
            replayer = TransferDecider.load(store, history=False)
            rows = (
                pl.from_arrow(store.read_events("transfer", 0, store.max_seq()))
                .sort("seq")
                .head(args.requests)
                .select("payer_account", "payee_account", "amount_fen", "ts", "payer_phone",
                        "payer_id_number", "transfer_id", "payee_type")
                .to_dicts()
            )
            key = add_key(store, "bank-bench", "bank")["token"] if args.http else None
        http = _over_http(db, key, rows[: args.http]) if args.http else None
    reqs = [TransferRequest(**r) for r in rows]
    floor = {r.payee_account: 1 for r in reqs}
    base_ns, ns, counts = [], [], {}
    for r in reqs:  # baseline: one dict lookup per request
        a = time.perf_counter_ns()
        floor.get(r.payee_account)
        base_ns.append(time.perf_counter_ns() - a)
    t1 = time.perf_counter()
    for r in reqs:
        a = time.perf_counter_ns()
        out = decider.decide(r)
        ns.append(time.perf_counter_ns() - a)
        counts[out.decision] = counts.get(out.decision, 0) + 1
    wall = time.perf_counter() - t1
    # as of just before each transfer (the scorecard's replay): more first payments to new
    # payees, so more requests take the full path
    rns, rcounts = [], {}
    for r in reqs:
        a = time.perf_counter_ns()
        out = replayer.decide(r)
        rns.append(time.perf_counter_ns() - a)
        rcounts[out.decision] = rcounts.get(out.decision, 0) + 1
        replayer.observe(r)
    r50, r99 = _percentiles(rns)
    p50, p99 = _percentiles(ns)
    b50, b99 = _percentiles(base_ns)
    print(f"state loaded in {load_s:.2f} s: {len(decider.mules):,} suspected mules, "
          f"{len(decider.risk):,} people at risk, {len(decider.exposed):,} exposed, "
          f"{len(decider.payees):,} payers with history")
    print(f"{len(reqs):,} decisions {counts}: p50 {p50:.4f} ms, p99 {p99:.4f} ms, "
          f"max {max(ns) / 1e6:.3f} ms, {len(reqs) / wall:,.0f} decisions/s")
    print(f"replayed as of each transfer {rcounts}: p50 {r50:.4f} ms, p99 {r99:.4f} ms")
    print(f"baseline dict lookup: p50 {b50:.5f} ms, p99 {b99:.5f} ms; "
          f"decide / baseline p50 x{p50 / max(b50, 1e-9):,.0f}, p99 x{p99 / max(b99, 1e-9):,.0f}")
    print(f"goal p99 <= 20 ms in process: {'met' if max(p99, r99) <= 20 else 'NOT met'}")
    if http:
        (h50, h99, rate), (g50, g99, _) = http
        print(f"over HTTP (fanzha serve, one client, decision recorded in the audit log): "
              f"p50 {h50:.2f} ms, p99 {h99:.2f} ms, {rate:,.0f} decisions/s; baseline GET "
              f"/v1/health p50 {g50:.2f} ms, p99 {g99:.2f} ms (x{h50 / max(g50, 1e-9):.1f} at p50)")
        print(f"goal p99 <= 50 ms over HTTP: {'met' if h99 <= 50 else 'NOT met'}")


def _over_http(db: str, key: str, rows: list[dict]):
    """The same requests through a real `fanzha serve`, one at a time, against its health check."""
    import httpx

    from fanzha.testing import served

    body = [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()
             if v is not None} for r in rows]
    auth = {"Authorization": f"Bearer {key}"}
    with (
        served(db, "--engine-every", "0", "--log-level", "warning") as (base, _),
        httpx.Client(base_url=base, headers=auth) as c,
    ):
        c.post("/v1/decide/transfer", json=body[0]).raise_for_status()  # loads the state
        out = []
        for path, reqs in (("/v1/decide/transfer", body), ("/v1/health", [None] * len(body))):
            ns = []
            t0 = time.perf_counter()
            for b in reqs:
                a = time.perf_counter_ns()
                r = c.post(path, json=b) if b is not None else c.get(path)
                ns.append(time.perf_counter_ns() - a)
                r.raise_for_status()
            p50, p99 = _percentiles(ns)
            out.append((p50, p99, len(reqs) / (time.perf_counter() - t0)))
    return out


if __name__ == "__main__":
    main()
