"""Benchmark and figures for issue 8: leak source and insider detection on a simulated city.

Figures (printed): the rank of the true leaking site for every refund-scam victim (the scorecard's
source_top1_share), the rank of each leak's true operator account among the operator accounts of
the report, and insider recall / false-positive rate when the alert budget is a share of the
account-days (1% of the accounts per day, and more), against the leaks' true accesses.
Speed: the leak-source investigation against reading its inputs from the store (the floor), and
the two access detectors against the whole engine, in the same run.

Run: .venv/bin/python bench/leaks.py [--world DIR] [--people 20000 --days 14 --seed 1]
(without --world it simulates and scores a world in a temporary directory first).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import polars as pl

from fanzha.detectors.access_anomaly import AccessAnomalySettings
from fanzha.investigate.leaks import leak_source
from fanzha.sim import simulate
from fanzha.sim.collect import collect_insider_accesses
from fanzha.sim.run import score_world
from fanzha.sim.truth import load_truth
from fanzha.store import open_store

DAY_MS = 86_400_000


def account_days(acc: pl.DataFrame) -> pl.DataFrame:
    off = int(AccessAnomalySettings().utc_offset_hours * 3_600_000)
    return acc.with_columns(day=(pl.col.ts.dt.epoch("ms") + off) // DAY_MS)


def budget_curve(store, truth, shares=(0.01, 0.02, 0.05, 0.069, 0.10)) -> list[dict]:
    """Rank every account-day by access_anomaly's score; alert the top `share` of them."""
    acc = account_days(pl.from_arrow(store.read_events("waybill_access", 0, store.max_seq())))
    days = acc.group_by("site", "operator_account", "day").len()
    sig = pl.from_arrow(store.signals()).filter(pl.col.detector == "access_anomaly")
    scored = sig.select(
        site=pl.col.details.str.json_path_match("$.site"),
        operator_account="entity",
        day=pl.col.details.str.json_path_match("$.local_day").cast(pl.Int64),
        score="score",
    )
    days = days.join(scored, on=["site", "operator_account", "day"], how="left").with_columns(
        score=pl.col.score.fill_null(0.0)
    )
    la = truth.get("leak_accesses").with_columns(
        ts=pl.from_epoch(pl.col.ts, "ms").dt.replace_time_zone("UTC")
    )
    leak_days = account_days(la).select("site", "operator_account", "day").unique()
    days = days.join(leak_days.with_columns(leak=pl.lit(True)),
                     on=["site", "operator_account", "day"], how="left")  # fmt: skip
    days = days.with_columns(leak=pl.col.leak.fill_null(False)).sort(
        ["score", "site", "operator_account", "day"], descending=[True, False, False, False]
    )
    n_days = days["day"].n_unique()
    out = []
    for share in shares:
        k = math.floor(share * days.height)
        top = days.head(k)
        tp = int(top["leak"].sum())
        leak_n = int(days["leak"].sum())
        neg = days.height - leak_n
        # accesses of the leaks inside the alerted account-days
        hit = la.join(account_days(la).select("access_id", "day"), on="access_id").join(
            top.select("site", "operator_account", "day"), on=["site", "operator_account", "day"]
        )
        out.append({
            "share": share, "alerts": k, "per_day": round(k / max(n_days, 1), 2),
            "leak_account_days": leak_n, "recall_account_days": tp / leak_n if leak_n else None,
            "recall_accesses": hit.height / la.height if la.height else None,
            "fpr": (k - tp) / neg if neg else None,
            "precision": tp / k if k else None,
        })  # fmt: skip
    return out


def operator_ranks(report, truth) -> list[dict]:
    """Rank of each leak's true account (and PC) among the report's touchpoints of that kind,
    ordered as the report orders them (blame, then p-value)."""
    t = report.touchpoints
    out = []
    for lk in truth.get("leaks").iter_rows(named=True):
        row = {"leak_id": lk["leak_id"], "method": lk["method"], "site": lk["site"]}
        for kind, value in (("operator", lk["operator_account"]), ("device", lk["device_id"])):
            k = t.filter(pl.col.kind == kind).with_row_index("r", 1)
            hit = k.filter(pl.col.tp == f"{kind}:{lk['site']}/{value}")
            row[f"{kind}_rank"] = int(hit["r"][0]) if hit.height else None
        out.append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--world", type=Path)
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    tmp = None
    world = args.world
    if world is None:
        tmp = tempfile.TemporaryDirectory()
        world = Path(tmp.name) / "w"
        simulate(args.people, args.days, args.seed, world)
    db = world / "fanzha.duckdb"
    if not db.exists():
        score_world(world)
    res = __import__("json").loads((world / "score.json").read_text())
    truth = load_truth(world)
    with open_store(str(db), read_only=True) as store:
        t0 = time.perf_counter()
        top = store.max_seq()
        for k in ("case", "report", "order", "waybill_access"):
            store.read_events(k, 0, top)
        store.signals()
        t_floor = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = leak_source(store, "fake_customer_service")
        t_trace = time.perf_counter() - t0
        curve = budget_curve(store, truth)
        ids = collect_insider_accesses(store)
    true_ids = set(truth.get("leak_accesses")["access_id"].to_list())
    print(f"world {world}: {truth.people} people, {truth.world.get('days')} days")
    print(f"leaks: {truth.get('leaks').select('leak_id', 'site', 'method').rows()}")
    lk = res["leaks"]
    print(f"scorecard: source_top1_share {lk['source_top1_share']:.3f}, source_mean_rank "
          f"{lk['source_mean_rank']:.2f}, insider precision {lk['insider_precision']:.3f}, "
          f"recall {lk['insider_recall']:.3f}")
    print(f"pipeline insider accesses (rules + budgeted days): {len(ids)} flagged, "
          f"{len(ids & true_ids)} of {len(true_ids)} true")
    for r in operator_ranks(report, truth):
        print(f"  {r}")
    print("alert budget as a share of account-days (access_anomaly's day score):")
    for r in curve:
        print(f"  {r}")
    print(f"leak source: {t_trace:.2f} s vs reading its inputs {t_floor:.2f} s "
          f"(ratio {t_trace / max(t_floor, 1e-9):.1f}x); {report.victims_n} people, "
          f"{report.customers_n} customers")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
