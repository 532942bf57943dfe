"""Figures for issue 13: high-risk cards, new fraud domains and apps on a simulated city.

Cards: precision and recall of card_risk's signals alone and with the batch rules of
`fanzha cards act` (batch mule scores, branches whose cards turn bad), and for every illicit card
of the truth why it is caught or missed: whether it has an agent, whether the streaming mule
detector or the batch mule scores flag its account, and the mule level it sits at.
Sites: the domains and apps `fanzha sites find` lists, each marked true or false.
Speed: `flagged_cards` with the batch rules against card_risk's signals alone, in the same run.

Run: .venv/bin/python bench/cards.py --world DIR --db DB   (DB from `fanzha score DIR --db DB`)
"""

from __future__ import annotations

import argparse
import time

import polars as pl

from fanzha.investigate.cards import flagged_cards
from fanzha.investigate.mules import mule_scores
from fanzha.investigate.sites import find_new_apps, find_new_sites
from fanzha.sim.truth import load_truth
from fanzha.store import open_store


def _pr(pred: set, actual: set) -> str:
    hit = len(pred & actual)
    p = hit / len(pred) if pred else 0.0
    r = hit / len(actual) if actual else 0.0
    return f"listed {len(pred)}, precision {p:.3f}, recall {r:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--world", required=True)
    ap.add_argument("--db", required=True)
    a = ap.parse_args()
    truth = load_truth(a.world)
    bad = truth.get("cards").select("card_type", "card_number", "how")
    actual = set(bad.select("card_type", "card_number").iter_rows())
    with open_store(a.db, read_only=True) as s:
        t0 = time.perf_counter()
        base = flagged_cards(s, batch=False)
        t1 = time.perf_counter()
        full = flagged_cards(s)
        t2 = time.perf_counter()
        top = s.max_seq()
        sig = pl.from_arrow(s.signals())
        transfers = pl.from_arrow(s.read_events("transfer", 0, top))
        cases = pl.from_arrow(s.read_events("case", 0, top))
        cards = pl.from_arrow(s.read_events("card", 0, top))
        sites = find_new_sites(s, exclude_known=False)
        apps = find_new_apps(s, exclude_known=False)
    for name, df in (("card_risk signals", base), ("with the batch rules", full)):
        print(
            f"cards, {name}: {_pr(set(df.select('card_type', 'card_number').iter_rows()), actual)}"
        )
    print(
        f"flagged_cards: {t1 - t0:.2f} s signals only, {t2 - t1:.2f} s with batch rules "
        f"(x{(t2 - t1) / max(t1 - t0, 1e-9):.1f})"
    )
    stream = (
        sig.filter(pl.col.detector == "mule_account")
        .group_by("entity")
        .agg(stream_mule=pl.col.score.max() >= 0.5)
    )
    batch = mule_scores(transfers, cases).select("account", batch_mule=pl.col.label == 1)
    levels = truth.get("mules").select("account", pl.col.level.cast(pl.String))
    why = (
        bad.join(
            full.select("card_type", "card_number", "reasons"),
            on=["card_type", "card_number"],
            how="left",
        )
        .join(
            cards.select(
                "card_type", "card_number", has_agent=pl.col.agent_id.is_not_null()
            ).unique(["card_type", "card_number"]),
            on=["card_type", "card_number"],
            how="left",
        )
        .join(stream, left_on="card_number", right_on="entity", how="left")
        .join(batch, left_on="card_number", right_on="account", how="left")
        .join(levels, left_on="card_number", right_on="account", how="left")
        .with_columns(
            pl.col.stream_mule.fill_null(False),
            pl.col.batch_mule.fill_null(False),
            caught=pl.col.reasons.is_not_null(),
        )
    )
    pl.Config.set_tbl_rows(40)
    pl.Config.set_tbl_width_chars(160)
    print("illicit cards of the truth, caught or missed, and why:")
    print(
        why.group_by("card_type", "how", "caught", "has_agent", "stream_mule", "batch_mule")
        .agg(n=pl.len(), levels=pl.col.level.drop_nulls().unique().sort().str.join(","))
        .sort("card_type", "how", "caught", "stream_mule", "batch_mule")
    )
    print("reasons of the listed cards (true = illicit in the truth):")
    print(
        full.join(bad, on=["card_type", "card_number"], how="left")
        .group_by("reasons", true=pl.col.how.is_not_null())
        .len()
        .sort("reasons", "true")
    )
    for what, found, key, table in (
        ("domains", sites, "domain", "fraud_urls"),
        ("apps", apps, "app_id", "fraud_apps"),
    ):
        real = set(truth.get(table)[key].to_list())
        got = set(found[key].to_list()) if found.height else set()
        print(
            f"new fraud {what}: {_pr(got, real)}; false: {sorted(got - real)}; "
            f"missed: {sorted(real - got)}"
        )


if __name__ == "__main__":
    main()
