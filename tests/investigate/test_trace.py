"""Tracing a victim's money: allocation rules, levels, time order, window, stops, balances."""

from __future__ import annotations

import pytest
from funds_helpers import T0, assert_conserved, at, index

from fanzha.errors import FanzhaError
from fanzha.investigate.funds import (
    TraceSettings,
    roots_by_account,
    roots_by_transfer,
    trace,
)

FIFO, HAIRCUT = TraceSettings(rule="fifo"), TraceSettings(rule="haircut")


def by_account(tr) -> dict[str, dict]:
    return {r["account"]: r for r in tr.accounts.to_dicts()}


CHAIN = [("V", "A", 1000, 0), ("A", "B", 1000, 5), ("B", "C", 1000, 10), ("C", "D", 600, 15)]


@pytest.mark.parametrize("settings", [FIFO, HAIRCUT], ids=["fifo", "haircut"])
def test_chain_three_levels(settings):
    tr = trace(index(CHAIN), roots_by_transfer(index(CHAIN), ["T1"]), settings)
    acc = by_account(tr)
    assert {a: r["hop"] for a, r in acc.items()} == {"A": 1, "B": 2, "C": 3}
    assert acc["C"]["remaining_fen"] == 400 and acc["C"]["left_fen"] == 600  # D is level 4
    assert acc["A"]["forwarded_fen"] == 1000 and acc["A"]["remaining_fen"] == 0
    assert "D" not in acc
    assert tr.traced_transfer_ids() == {"T1", "T2", "T3"}
    assert_conserved(tr)
    deeper = trace(index(CHAIN), roots_by_transfer(index(CHAIN), ["T1"]),
                   TraceSettings(rule=settings.rule, levels=4))
    assert by_account(deeper)["D"]["remaining_fen"] == 600


# A had 500 of its own before the victim's 1000 arrived, then paid 700 and 800
SPLIT = [("X", "A", 500, -60), ("V", "A", 1000, 0), ("A", "B", 700, 5), ("A", "C", 800, 6)]


def test_split_fifo_pays_the_older_money_first():
    ix = index(SPLIT)
    acc = by_account(trace(ix, roots_by_transfer(ix, ["T2"]), FIFO))
    assert acc["B"]["traced_in_fen"] == 200  # 500 of the 700 was A's own money
    assert acc["C"]["traced_in_fen"] == 800
    assert acc["A"]["remaining_fen"] == 0


def test_split_haircut_pays_in_proportion():
    ix = index(SPLIT)
    tr = trace(ix, roots_by_transfer(ix, ["T2"]), HAIRCUT)
    acc = by_account(tr)
    assert acc["B"]["traced_in_fen"] in (466, 467)  # 700 x 1000/1500
    assert acc["B"]["traced_in_fen"] + acc["C"]["traced_in_fen"] == 1000  # A paid out everything
    assert_conserved(tr)


def test_fifo_money_that_stays_is_frozen_where_it_stays():
    rows = [("V", "A", 1000, 0), ("A", "B", 300, 5), ("A", "C", 300, 7)]
    ix = index(rows)
    tr = trace(ix, roots_by_transfer(ix, ["T1"]), FIFO, as_of=at(60))
    acc = by_account(tr)
    assert acc["A"]["remaining_fen"] == 400
    orders = tr.freeze_orders().to_dicts()
    assert [(o["account"], o["amount_fen"]) for o in orders] == [("A", 400), ("B", 300), ("C", 300)]
    o = orders[0]
    assert (o["expires_ts"] - o["issued_ts"]).total_seconds() == 48 * 3600
    assert (o["renew_until_ts"] - o["issued_ts"]).total_seconds() == 96 * 3600
    assert o["renewals_left"] == 1 and o["action"] == "emergency_freeze"


def test_as_of_sees_only_what_had_happened():
    rows = [("V", "A", 1000, 0), ("A", "B", 1000, 30)]
    ix = index(rows)
    early = by_account(trace(ix, roots_by_transfer(ix, ["T1"]), FIFO, as_of=at(10)))
    assert early["A"]["remaining_fen"] == 1000 and "B" not in early
    late = by_account(trace(ix, roots_by_transfer(ix, ["T1"]), FIFO, as_of=at(60)))
    assert late["A"]["remaining_fen"] == 0 and late["B"]["remaining_fen"] == 1000


# victims 1 and 2 pay A and B; both pass it to M, which also gets clean money from Z
MERGE = [("V1", "A", 1000, 0), ("V2", "B", 2000, 1), ("A", "M", 1000, 5), ("B", "M", 2000, 6),
         ("Z", "M", 5000, 7), ("M", "N", 4000, 20), ("V2", "K", 300, 2)]


@pytest.mark.parametrize("settings", [FIFO, HAIRCUT], ids=["fifo", "haircut"])
def test_merge_and_joint_trace_of_several_victims(settings):
    ix = index(MERGE)
    roots = roots_by_transfer(ix, ["T1"], victim="v1") + roots_by_transfer(ix, ["T2", "T7"], victim="v2")
    tr = trace(ix, roots, settings)
    assert_conserved(tr)
    first = tr.accounts.row(0, named=True)
    assert first["n_victims"] == 2 and first["account"] in ("M", "N")
    assert {r["account"] for r in tr.accounts.to_dicts() if r["n_victims"] == 2} == {"M", "N"}
    acc = by_account(tr)
    assert acc["M"]["traced_in_fen"] == 3000
    if settings.rule == "fifo":  # M's queue: 1000 + 2000 traced, then Z's 5000
        assert acc["N"]["traced_in_fen"] == 3000 and acc["M"]["remaining_fen"] == 0
    else:  # 4000 of 8000: half of each
        assert acc["N"]["traced_in_fen"] == 1500 and acc["M"]["remaining_fen"] == 1500
    orders = tr.freeze_orders()
    assert orders["n_victims"][0] == 2  # several-victim accounts are frozen first


@pytest.mark.parametrize("settings", [FIFO, HAIRCUT], ids=["fifo", "haircut"])
def test_cycle_money_coming_back_is_not_counted_twice(settings):
    rows = [("V", "A", 1000, 0), ("A", "B", 1000, 5), ("B", "A", 1000, 10), ("A", "C", 1000, 15)]
    ix = index(rows)
    tr = trace(ix, roots_by_transfer(ix, ["T1"]), settings)
    assert_conserved(tr)
    acc = by_account(tr)
    assert acc["A"]["hops"] == [1, 3]  # back at A as level-3 money
    assert "C" not in acc and acc["A"]["left_fen"] == 1000  # level 4: not followed
    deeper = trace(ix, roots_by_transfer(ix, ["T1"]), TraceSettings(rule=settings.rule, levels=4))
    assert by_account(deeper)["C"]["traced_in_fen"] == 1000
    assert_conserved(deeper)


def test_time_order_money_cannot_leave_before_it_arrives():
    rows = [("A", "B", 900, -60), ("V", "A", 1000, 0), ("A", "C", 400, 30)]
    ix = index(rows)
    acc = by_account(trace(ix, roots_by_transfer(ix, ["T2"]), FIFO))
    assert "B" not in acc and acc["C"]["traced_in_fen"] == 400


def test_window_hops_after_48_hours_are_not_followed():
    rows = [("V", "A", 1000, 0), ("A", "B", 1000, 49 * 60)]
    ix = index(rows)
    acc = by_account(trace(ix, roots_by_transfer(ix, ["T1"]), FIFO))
    assert "B" not in acc and acc["A"]["left_fen"] == 1000 and acc["A"]["remaining_fen"] == 0
    wide = by_account(trace(ix, roots_by_transfer(ix, ["T1"]), TraceSettings(window_hours=72)))
    assert wide["B"]["traced_in_fen"] == 1000


def test_stops_at_aggregators_and_listed_accounts():
    rows = [("V", "A", 1000, 0), ("A", "AGG", 600, 5, {"payee_type": "aggregator"}),
            ("AGG", "X", 600, 6), ("A", "SHOP", 400, 7), ("SHOP", "Y", 400, 8)]
    ix = index(rows)
    tr = trace(ix, roots_by_transfer(ix, ["T1"]),
               TraceSettings(stop_accounts={"SHOP": "merchant"}))
    acc = by_account(tr)
    assert acc["AGG"]["stop"] == "aggregator" and acc["AGG"]["traced_in_fen"] == 600
    assert acc["SHOP"]["stop"] == "merchant"
    assert "X" not in acc and "Y" not in acc
    assert set(tr.freeze_orders()["account"]) == set()  # stops are queried, not frozen
    assert_conserved(tr)


def test_reported_balance_caps_what_is_left():
    rows = [("V", "A", 1000, 0, {"payee_bal": 1000}), ("A", "B", 300, 5, {"payer_bal": 200})]
    ix = index(rows)
    tr = trace(ix, roots_by_transfer(ix, ["T1"]), FIFO)
    acc = by_account(tr)
    assert acc["A"]["remaining_fen"] == 200 and acc["A"]["unseen_out_fen"] == 500
    assert acc["A"]["balance_fen"] == 200
    assert_conserved(tr)


def test_balance_before_arrival_counts_as_older_money():
    rows = [("V", "A", 1000, 0, {"payee_bal": 1500}), ("A", "B", 500, 5)]
    ix = index(rows)
    acc = by_account(trace(ix, roots_by_transfer(ix, ["T1"]), FIFO))
    assert acc["A"]["remaining_fen"] == 1000 and "B" not in acc  # B got A's own 500


def test_roots_from_an_account_and_a_time():
    ix = index(MERGE)
    roots = roots_by_account(ix, "V2", T0)
    assert len(roots) == 2 and {r.victim for r in roots} == {"V2"}
    with pytest.raises(FanzhaError, match="no payment"):
        roots_by_account(ix, "V2", at(10))
    with pytest.raises(FanzhaError, match="made or received no transfer"):
        roots_by_account(ix, "nobody", T0)
    with pytest.raises(FanzhaError, match="no transfer"):
        roots_by_transfer(ix, ["T99"])
    assert roots_by_transfer(ix, ["e3"])[0].eid == 2  # fanzha's event id works too


def test_bad_settings_are_refused():
    with pytest.raises(FanzhaError, match="fifo or haircut"):
        TraceSettings(rule="poison")
    with pytest.raises(FanzhaError, match="levels"):
        TraceSettings(levels=0)
