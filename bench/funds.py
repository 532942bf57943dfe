"""Benchmark: the transfer index and three-level tracing against networkx, in the same run.

Generates transfers with numpy (default 10M over 1M accounts in 30 days; a tenth of the payers and
payees are a busy 0.1% of the accounts, so that traces through them fan out), then measures:
- building the index, and appending 100k new transfers (no rebuild) against a full rebuild;
- per query, the 3-level time-respecting reach within 48 h (the graph search) with the index and
  with networkx on the same graph and queries (ratio), and the full trace (reach + FIFO replay of
  every transfer of the reached accounts + freeze orders) with the index: p50 / p99.
networkx on 10M edges needs several GB and minutes to build: by default it gets the first
`--nx-transfers` transfers (1M), and the index answers the same queries on that same subgraph for
the ratio; `--nx-transfers 0` gives networkx the whole graph. The script prints what it did.
Goal: p99 <= 100 ms per 3-level trace on 10M transfers. Run: .venv/bin/python bench/funds.py
"""

from __future__ import annotations

import argparse
import resource
import time

import networkx as nx
import numpy as np
import polars as pl

from fanzha.investigate.funds import (
    MS_HOUR,
    Root,
    TraceSettings,
    TransferIndex,
    reachable,
    trace,
)

DAY_MS = 24 * MS_HOUR
START_MS = 1_772_323_200_000  # 2026-03-01 UTC


def make(n: int, accounts: int, days: int, seed: int, first_seq: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    hot = max(accounts // 1000, 1)

    def pick(size: int) -> np.ndarray:
        a = rng.integers(0, accounts, size)
        use_hot = rng.random(size) < 0.1
        a[use_hot] = rng.integers(0, hot, int(use_hot.sum()))
        return a

    payer, payee = pick(n), pick(n)
    ts = np.sort(START_MS + rng.integers(0, days * DAY_MS, n))
    return pl.DataFrame(
        {
            "seq": np.arange(first_seq, first_seq + n, dtype=np.int64),
            "ts": ts,
            "payer_account": pl.Series(payer).cast(pl.String),
            "payee_account": pl.Series(payee).cast(pl.String),
            "amount_fen": np.maximum(rng.lognormal(10, 1.2, n).astype(np.int64), 1),
        }
    )


def nx_graph(df: pl.DataFrame) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    g.add_edges_from(
        (a, b, {"ts": t, "amount": m})
        for a, b, t, m in zip(
            df["payer_account"].to_list(),
            df["payee_account"].to_list(),
            df["ts"].to_list(),
            df["amount_fen"].to_list(),
            strict=True,
        )
    )
    return g


def nx_reach(g: nx.MultiDiGraph, payee: str, t0: int, levels: int, window: int) -> dict:
    """The same search in networkx: earliest arrival per account, level by level."""
    deadline = t0 + window
    reach = {payee: t0}
    frontier = {payee: t0}
    for _ in range(levels - 1):
        nxt: dict[str, int] = {}
        for a, arr in frontier.items():
            for _, b, d in g.out_edges(a, data=True):
                t = d["ts"]
                if arr <= t <= deadline and t < reach.get(b, 1 << 62) and t < nxt.get(b, 1 << 62):
                    nxt[b] = t
        for b, t in nxt.items():
            reach[b] = min(reach.get(b, t), t)
        frontier = nxt
    return reach


def pct(xs: list[float]) -> str:
    a = np.array(xs) * 1000
    return f"p50 {np.percentile(a, 50):7.2f} ms  p99 {np.percentile(a, 99):7.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--transfers", type=int, default=10_000_000)
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--append", type=int, default=100_000)
    ap.add_argument("--nx-transfers", type=int, default=1_000_000, help="0: the whole graph")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    s = TraceSettings()
    window = int(s.window_hours * MS_HOUR)

    t = time.perf_counter()
    df = make(a.transfers, a.accounts, a.days, a.seed)
    print(f"generated {df.height:,} transfers over {a.accounts:,} accounts, {a.days} days "
          f"({time.perf_counter() - t:.1f} s)")
    t = time.perf_counter()
    index = TransferIndex.from_table(df)
    build = time.perf_counter() - t
    print(f"index built in {build:.1f} s: {index.n_accounts:,} accounts, "
          f"{index.nbytes() / 2**20:,.0f} MiB of arrays "
          f"({index.nbytes() / index.n_transfers:.0f} bytes/transfer)")

    # append 100k new transfers without a rebuild, against a rebuild from scratch
    new = make(a.append, a.accounts, 1, a.seed + 1, first_seq=a.transfers + 1).with_columns(
        ts=pl.col.ts + a.days * DAY_MS
    )
    t = time.perf_counter()
    index.append(new)
    append_s = time.perf_counter() - t
    t = time.perf_counter()
    rebuilt = TransferIndex.from_table(pl.concat([df, new]))
    rebuild_s = time.perf_counter() - t
    print(f"append {a.append:,} transfers: {append_s * 1000:.0f} ms (segments: "
          f"{len(index.segments)}); rebuild of all {rebuilt.n_transfers:,}: {rebuild_s:.1f} s; "
          f"append is {rebuild_s / append_s:.0f}x faster")

    rng = np.random.default_rng(a.seed + 2)
    hot = max(a.accounts // 1000, 1)
    cutoff = START_MS + (a.days - 2) * DAY_MS  # the trace looks 48 h ahead
    sets = query_sets(df, cutoff, hot, a.queries, rng)
    same = 0
    for e in sets["random payments"][:20].tolist():
        r = [Root(e, "v")]
        as_of = int(index.ts.data[e]) + window
        same += trace(index, r, s, as_of).accounts.equals(trace(rebuilt, r, s, as_of).accounts)
    print(f"appended index and rebuilt index give the same trace on {same}/20 queries")
    del rebuilt

    for name, roots in sets.items():
        t_reach, t_trace, sizes = [], [], []
        for e in roots.tolist():
            t0 = int(index.ts.data[e])
            t = time.perf_counter()
            reach = reachable(index, np.array([e]), np.array([t0 + window]), s.levels, t0 + window)
            t_reach.append(time.perf_counter() - t)
            t = time.perf_counter()
            tr = trace(index, [Root(e, "v")], s, as_of=t0 + window)
            tr.freeze_orders()
            t_trace.append(time.perf_counter() - t)
            sizes.append(len(reach))
        print(f"{len(roots)} {name} on {index.n_transfers:,} transfers, 3 levels, 48 h; accounts "
              f"reached: median {int(np.median(sizes))}, max {max(sizes)}")
        print(f"  index reach (graph search)          {pct(t_reach)}")
        print(f"  index full trace + freeze orders    {pct(t_trace)}   goal p99 <= 100 ms")

    # networkx on the same graph (or its first --nx-transfers transfers) and the same queries
    part = df if a.nx_transfers in (0, None) or a.nx_transfers >= df.height else df.head(
        a.nx_transfers
    )
    what = "the whole graph" if part.height == df.height else (
        f"the first {part.height:,} transfers, {part.height / df.height * a.days:.1f} days of "
        f"the same log (--nx-transfers 0: the whole graph, several GB and minutes to build)"
    )
    t = time.perf_counter()
    g = nx_graph(part)
    nx_build = time.perf_counter() - t
    sub = index if part.height == df.height else TransferIndex.from_table(part)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"networkx on {what}: built in {nx_build:.1f} s; peak RSS so far {rss:.1f} GiB")
    sub_sets = query_sets(part, int(part["ts"].max()) - window, hot, a.queries, rng)
    for name, roots in sub_sets.items():
        t_nx, t_sub = [], []
        for e in roots.tolist():
            t0 = int(sub.ts.data[e])
            payee = sub.accounts[int(sub.dst.data[e])]
            t = time.perf_counter()
            want = nx_reach(g, payee, t0, s.levels, window)
            t_nx.append(time.perf_counter() - t)
            t = time.perf_counter()
            got = reachable(sub, np.array([e]), np.array([t0 + window]), s.levels, t0 + window)
            t_sub.append(time.perf_counter() - t)
            assert {sub.accounts[k]: v[0] for k, v in got.items()} == want, "answers differ"
        print(f"  {name}: same answers from both on all {len(roots)} queries")
        print(f"    networkx reach                    {pct(t_nx)}")
        print(f"    index reach, same graph           {pct(t_sub)}")
        print(f"    ratio networkx / index: p50 {np.median(t_nx) / np.median(t_sub):.1f}x, "
              f"p99 {np.percentile(t_nx, 99) / np.percentile(t_sub, 99):.1f}x")


def query_sets(
    df: pl.DataFrame, cutoff: int, hot: int, n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Edge ids (row numbers) of victims' payments: any payment, and payments into the busy
    accounts (a first-level mule account that many victims pay and that fans out)."""
    rows = df.with_row_index("e").filter(pl.col.ts < cutoff)
    busy = rows.filter(pl.col.payee_account.cast(pl.Int64) < hot)
    return {
        "random payments": rng.choice(rows["e"].to_numpy(), n).astype(np.int64),
        "payments into busy accounts": rng.choice(busy["e"].to_numpy(), n).astype(np.int64),
    }

if __name__ == "__main__":
    main()
