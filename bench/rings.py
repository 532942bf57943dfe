"""Benchmark: account-ring detection (fanzha.investigate.rings) on 1M registrations.

Makes 1M registrations in memory: ordinary sign-ups (own phone, home network; some through busy
public Wi-Fi, some families sharing a phone) and village-push gangs (each: a few dozen upstream
devices and IPs, ~5 accounts per harvested identity, 1-cent deals shipped to a few depots), plus
their orders. Times the registration_risk detector over them (batches of 100,000, look-ups
answered in memory), then `find_rings` (graph, Leiden, FRAUDAR, scoring) and, as the baseline measured
in the same run, the naive rule "accounts per registering device" with one Polars group-by over
the same rows; prints the ratio and the quality of both against the planted gangs.
Run: .venv/bin/python bench/rings.py [--registrations N] [--gangs G]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import polars as pl

from fanzha.detectors import RegistrationRisk
from fanzha.engine.check import run_detector
from fanzha.events import KINDS
from fanzha.investigate.rings import find_rings

START_MS = int(dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp() * 1000)
DAY = 86_400_000


def make(n: int, gangs: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, set[str]]:
    rng = np.random.default_rng(seed)
    per_gang = n // 10 // max(gangs, 1)  # 10% of the accounts are black
    n_black = per_gang * gangs
    n_ok = n - n_black
    # ordinary sign-ups: one account per person mostly; 5% through 200 busy Wi-Fi IPs; 3% on a
    # family phone shared by 2-4 people
    person = np.arange(n_ok)
    dev = np.char.add("own-", person.astype(str))
    fam = rng.random(n_ok) < 0.03
    dev[fam] = np.char.add("fam-", (person[fam] // 3).astype(str))
    ip_a, ip_b = 64 + person % 60, (person // 60) % 250
    ip = np.char.add(np.char.add(np.char.add("113.", ip_a.astype(str)), "."), ip_b.astype(str))
    ip = np.char.add(np.char.add(ip, "."), (person % 200 + 2).astype(str))
    wifi = rng.random(n_ok) < 0.05
    ip[wifi] = np.char.add("36.1.1.", rng.integers(2, 200, int(wifi.sum())).astype(str))
    county = (450821 + (person % 12)).astype(str)
    ok = pl.DataFrame(
        {
            "ts": START_MS + rng.integers(0, 30 * DAY, n_ok),
            "platform": np.array(["shop-a", "shop-b", "social-c", "video-d"])[person % 4],
            "account_id": np.char.add("u", person.astype(str)),
            "phone": (13_000_000_000 + person).astype(str),
            "device_id": dev,
            "ip": ip,
            "code_device_id": dev,
            "code_ip": ip,
            "code_ip_county": county,
            "phone_county": county,
            "ip_county": county,
        }
    )
    frames, black = [ok], set()
    for g in range(gangs):
        ids = per_gang // 5
        who = np.repeat(np.arange(ids), 5)[:per_gang]
        devs = np.char.add(f"g{g}-d", rng.integers(0, 40, per_gang).astype(str))
        ips = np.char.add(f"183.{g}.", rng.integers(0, 12, per_gang).astype(str))
        ips = np.char.add(ips, ".9")
        acct = np.char.add(f"b{g}-", np.arange(per_gang).astype(str))
        t0 = START_MS + g * 2 * DAY
        frames.append(
            pl.DataFrame(
                {
                    "ts": t0 + who * 60_000 + rng.integers(0, 600_000, per_gang),
                    "platform": np.array(["shop-a", "shop-b", "social-c", "video-d", "live-g"])[
                        np.arange(per_gang) % 5
                    ],
                    "account_id": acct,
                    "phone": (17_000_000_000 + g * 10**6 + who).astype(str),
                    "device_id": devs,
                    "ip": ips,
                    "code_device_id": devs,
                    "code_ip": ips,
                    "code_ip_county": "440113",
                    "phone_county": str(450821 + g % 12),
                    "ip_county": "440113",
                }
            )
        )
        black |= {f"{p}:{a}" for p, a in zip(frames[-1]["platform"], acct, strict=True)}
    reg = pl.concat(frames).with_columns(
        pl.from_epoch("ts", "ms").dt.replace_time_zone("UTC"),
        seq=pl.int_range(pl.len()) + 1,
        id_number=pl.lit(None, pl.String),
        name=pl.lit(None, pl.String),
        promoter_id=pl.lit(None, pl.String),
    )
    shopping = reg.filter(pl.col.platform.is_in(["shop-a", "shop-b"]))
    is_black = shopping["account_id"].str.starts_with("b")
    k = shopping.height
    orders = shopping.select(
        "platform",
        "account_id",
        ts=pl.col.ts + pl.duration(days=3),
        order_id=pl.format("O{}", pl.int_range(pl.len())),
        deal_id=pl.when(is_black)
        .then(pl.lit("newuser-rice-1fen"))
        .otherwise(pl.when(pl.Series(rng.random(k) < 0.05)).then(pl.lit("coupon-20off"))),
        amount_fen=pl.when(is_black).then(1).otherwise(5000),
        list_price_fen=pl.lit(5990),
        ship_address=pl.when(is_black)
        .then(
            pl.format(
                "depot-{}-{}", pl.col.account_id.str.slice(1, 1), pl.Series(rng.integers(0, 4, k))
            )
        )
        .otherwise(pl.format("home-{}", pl.col.phone)),
        ship_phone=pl.col.phone,
        payment_account=pl.lit(None, pl.String),
    )
    return reg, orders, black


def quality(found: set[str], black: set[str]) -> str:
    hit = len(found & black)
    p = hit / len(found) if found else 0.0
    return f"precision {p:.3f} recall {hit / len(black):.3f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--registrations", type=int, default=1_000_000)
    ap.add_argument("--gangs", type=int, default=10)
    args = ap.parse_args()
    t = time.perf_counter()
    reg, orders, black = make(args.registrations, args.gangs, seed=1)
    print(
        f"made {reg.height:,} registrations and {orders.height:,} orders "
        f"({len(black):,} black) in {time.perf_counter() - t:.1f} s"
    )

    t = time.perf_counter()
    per_dev = reg.group_by("device_id").agg(pl.col.phone.n_unique().alias("n"))
    naive = reg.join(per_dev.filter(pl.col.n >= 5), on="device_id", how="semi")
    t_base = time.perf_counter() - t
    naive_set = set((naive["platform"] + ":" + naive["account_id"]).to_list())

    t = time.perf_counter()
    log = {
        "registration": reg.with_columns(
            event_id=pl.col.platform + ":" + pl.col.account_id,
            batch_id=pl.lit(1),
            source=pl.lit(None, pl.String),
        )
        .select(KINDS["registration"].schema.names)
        .to_arrow()
        .cast(KINDS["registration"].schema),
        "promoter": KINDS["promoter"].schema.empty_table(),
    }
    cuts = [*range(100_000, reg.height, 100_000), reg.height]
    sigs, _ = run_detector(RegistrationRisk(), log, cuts)
    t_detect = time.perf_counter() - t
    signals = pl.from_arrow(sigs)
    print(
        f"registration_risk in batches of 100,000: {t_detect:.1f} s, "
        f"{reg.height / t_detect:,.0f} registrations/s, {signals.height:,} signals"
    )

    t = time.perf_counter()
    rings = find_rings(reg, orders, signals)
    t_rings = time.perf_counter() - t
    found = set(rings.black()["account"].to_list())
    print(
        f"baseline (accounts per device >= 5 identities): {t_base:.2f} s, "
        f"{quality(naive_set, black)}"
    )
    print(
        f"find_rings (graph + Leiden + FRAUDAR + scoring): {t_rings:.1f} s, "
        f"{reg.height / t_rings:,.0f} registrations/s, {quality(found, black)}"
    )
    print(
        f"ratio find_rings / baseline: {t_rings / t_base:.0f}x; "
        f"{rings.clusters.height:,} clusters, "
        f"{rings.clusters.filter(pl.col.label == 'black').height} black rings, "
        f"{rings.blocks['block'].n_unique() if rings.blocks.height else 0} lockstep blocks"
    )


if __name__ == "__main__":
    main()
