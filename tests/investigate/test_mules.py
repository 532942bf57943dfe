"""Batch mule scores: what only the whole log shows, each on a hand-made log, and its trap."""

from __future__ import annotations

import polars as pl
from funds_helpers import transfers

from fanzha.investigate.mules import MuleScoreSettings, mule_scores


def scores(rows: list[tuple], **kw) -> dict[str, tuple[float, int, str]]:
    got = mule_scores(transfers(rows), None, MuleScoreSettings(**kw))
    return {r["account"]: (r["score"], r["label"], r["reasons"]) for r in got.to_dicts()}


def test_every_account_seen_gets_a_row_with_a_label():
    got = mule_scores(transfers([("a", "b", 100, 0), ("c", "a", 5, 1)]))
    assert sorted(got["account"]) == ["a", "b", "c"]
    assert got.columns == ["account", "score", "label", "reasons"]
    assert set(got["label"]) == {0}
    empty = mule_scores(transfers([("a", "b", 100, 0)]).head(0))
    assert empty.height == 0


def test_scatter_gather():
    rows = [("S", f"X{i}", 100_000, i) for i in range(4)]
    rows += [(f"X{i}", "G", 99_000, 60 + i) for i in range(4)]
    got = scores(rows)
    assert got["S"][1] == 1 and got["G"][1] == 1 and got["X0"][1] == 1
    assert "scatter-gather through 4 accounts" in got["G"][2]
    shop = [(a, b, m, t, {"payee_type": "merchant"} if b == "G" else {}) for a, b, m, t in rows]
    assert scores(shop)["G"][1] == 0  # many people paying one shop is shopping


def test_round_trip_in_time_order_and_in_any_order():
    rows = [("A", "B", 500_000, 0), ("B", "C", 490_000, 60), ("C", "D", 480_000, 120),
            ("D", "A", 470_000, 180)]
    got = scores(rows)
    assert all(got[a][1] == 1 for a in "ABCD")
    assert "came back through a cycle of 4 accounts" in got["A"][2]
    shuffled = [("A", "B", 500_000, 180), ("B", "C", 490_000, 60), ("C", "D", 480_000, 0),
                ("D", "A", 470_000, 120)]
    assert scores(shuffled)["A"][1] == 0
    assert scores(shuffled, cycle_any_order=True)["A"][1] == 1
    halved = [("A", "B", 500_000, 0), ("B", "C", 250_000, 60), ("C", "A", 240_000, 120)]
    assert scores(halved)["A"][1] == 0  # not the same money coming back


def test_split_payments_into_one_account():
    rows = [(p, "C", 4000 + i, 10 * i + k) for k, p in enumerate(("P1", "P2")) for i in range(3)]
    got = scores(rows)
    assert got["C"][1] == 1 and "collects split payments from 2 payers" in got["C"][2]
    assert got["P1"][1] == 1
    one = scores([("P1", "C", 4000 + i, 10 * i) for i in range(3)])
    assert one["C"][1] == 0  # one payer paying in instalments


def test_layering_chain_of_pass_through_accounts():
    rows = [("V", "L1", 900_000, 0), ("L1", "L2", 890_000, 5), ("L2", "L3", 880_000, 10),
            ("L3", "X", 870_000, 15)]
    got = scores(rows)
    assert got["L2"][1] == 1 and "chain of accounts that pass money on" in got["L2"][2]
    alone = scores([("V", "L1", 900_000, 0), ("L1", "X", 890_000, 5)])
    assert alone["L1"][1] == 0  # passing money on once is not enough


def test_victims_from_cases_count_everywhere():
    rows = [("V1", "M", 500_000, 0), ("V2", "M", 600_000, 30)]
    cases = pl.DataFrame({
        "seq": [10, 11], "ts": [None, None], "case_id": ["J1", "J2"],
        "transfer_id": ["T1", "T2"], "victim_account": [None, None], "paid_at": [None, None],
        "loss_fen": [None, None]}, schema_overrides={
        "ts": pl.Datetime("ms", "UTC"), "paid_at": pl.Datetime("ms", "UTC"),
        "victim_account": pl.String, "loss_fen": pl.Int64})
    got = mule_scores(transfers(rows), cases)
    m = got.filter(pl.col.account == "M").row(0, named=True)
    assert m["score"] == 0.9 and "2 confirmed victims (cases J1, J2)" in m["reasons"]
