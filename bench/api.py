"""Benchmark: events/s through the HTTP ingest endpoint, in batches, against in-process ingest.

The same call events (an operator's CDR feed: JSON rows with a local-time timestamp, phone
numbers in mixed formats, 1% bad rows that go to quarantine) are ingested twice in batches:
in-process with `fanzha.ingest.ingest_rows` into one DuckDB file (the baseline: what the API
does under the hood, without HTTP and JSON), and over HTTP into a real `fanzha serve` (uvicorn,
its own process, loopback) with an operator's key, by `--clients` concurrent senders. Prints
events/s for both, the ratio, and the batch latency (p50/p99). Goal: the endpoint sustains
>= 5,000 events/s in batches on a 2-core machine.
Run: .venv/bin/python bench/api.py [--events N] [--batch N] [--clients N]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from fanzha import ids
from fanzha.api.access import add_key
from fanzha.ingest import ingest_rows
from fanzha.store import open_store
from fanzha.testing import served

GOAL = 5_000


def make_batches(n: int, batch: int, seed: int) -> list[list[dict]]:
    rng = random.Random(seed)
    people = [ids.phone.fake_mobile(rng) for _ in range(max(n // 20, 100))]
    fraud = [ids.phone.fake_mobile(rng, "170") for _ in range(200)]
    t0 = dt.datetime(2026, 3, 1)
    rows = []
    for i in range(n):
        caller = rng.choice(fraud) if rng.random() < 0.01 else rng.choice(people)
        callee = rng.choice(people)
        if rng.random() < 0.1:
            callee = f"+86 {callee[:3]}-{callee[3:7]}-{callee[7:]}"  # normalised at ingest
        if rng.random() < 0.01:
            callee = "unknown"  # quarantined
        ts = t0 + dt.timedelta(milliseconds=i * 500 + rng.randrange(500))
        rows.append({"ts": ts.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], "caller": caller,
                     "callee": callee, "duration_s": rng.randrange(600),
                     "caller_county": "350203"})
    return [rows[i : i + batch] for i in range(0, n, batch)]


def in_process(batches: list[list[dict]], db: str) -> tuple[float, int]:
    with open_store(db) as s:
        t = time.perf_counter()
        accepted = sum(ingest_rows(s, "call", b).total("accepted") for b in batches)
        return time.perf_counter() - t, accepted


def over_http(batches: list[list[dict]], db: str, clients: int) -> tuple[float, int, list[float]]:
    with open_store(db) as s:
        token = add_key(s, "operator-a", "operator", "bench")["token"]
    options = ("--engine-every", "0", "--deliver-every", "0", "--log-level", "warning")
    with served(db, *options) as (base, _):
        bodies = [orjson.dumps({"events": b}) for b in batches]  # what a partner's client sends
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        latencies: list[float] = []

        def send(body: bytes) -> int:
            t = time.perf_counter()
            r = client.post(f"{base}/v1/events/call", content=body, headers=headers)
            latencies.append(time.perf_counter() - t)
            r.raise_for_status()
            return r.json()["accepted"]

        with httpx.Client(timeout=600) as client:
            send(orjson.dumps({"events": [{"ts": "warm-up"}]}))  # quarantined: warms the path
            latencies.clear()
            t = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(clients) as pool:
                accepted = sum(pool.map(send, bodies))
            elapsed = time.perf_counter() - t
        return elapsed, accepted, latencies


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=5_000)
    ap.add_argument("--clients", type=int, default=2)
    args = ap.parse_args()
    batches = make_batches(args.events, args.batch, seed=1)
    n = args.events
    with tempfile.TemporaryDirectory() as d:
        t_base, acc_base = in_process(batches, str(Path(d) / "base.duckdb"))
        t_http, acc_http, lat = over_http(batches, str(Path(d) / "http.duckdb"), args.clients)
    assert acc_base == acc_http, (acc_base, acc_http)
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    print(f"events: {n:,} in batches of {args.batch:,} ({len(batches)} batches), "
          f"{acc_http:,} accepted, {n - acc_http:,} quarantined")
    print(f"in-process ingest_rows (baseline): {n / t_base:>10,.0f} events/s  ({t_base:.2f} s)")
    print(f"HTTP POST /v1/events/call, {args.clients} client(s): {n / t_http:>10,.0f} events/s  "
          f"({t_http:.2f} s) = {t_base / t_http:.2f}x the baseline's rate")
    print(f"batch latency: p50 {statistics.median(lat) * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms")
    rate = n / t_http
    print(f"goal >= {GOAL:,} events/s: {'met' if rate >= GOAL else 'NOT met'}")


if __name__ == "__main__":
    main()
