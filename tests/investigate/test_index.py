"""The transfer index: appended segment by segment, it answers as if it had been built at once."""

from __future__ import annotations

import random

import numpy as np
import polars as pl
import pytest
from funds_helpers import assert_conserved, transfers
from hypothesis import given, settings
from hypothesis import strategies as st

from fanzha.errors import FanzhaError
from fanzha.ingest import Source, ingest
from fanzha.investigate.funds import TraceSettings, TransferIndex, roots_by_transfer, trace
from fanzha.store import open_store
from fanzha.testing import random_events, rows_for_csv, write_csv


def random_rows(n: int, accounts: int, seed: int) -> list[tuple]:
    rng = random.Random(seed)
    return [(f"a{rng.randrange(accounts)}", f"a{rng.randrange(accounts)}", rng.randint(1, 5000),
             rng.uniform(0, 3000)) for _ in range(n)]


def answers(ix: TransferIndex, accounts: list[str]) -> list:
    ids = np.array([ix.account_id(a) for a in accounts])
    t0 = np.full(len(ids), ix.ts.view.min())
    t1 = np.full(len(ids), ix.ts.view.max())
    out = []
    for d in ("out", "in"):
        o, e = ix.edges(d, ids, t0 + 600_000, t1 - 600_000)
        out.append(list(zip(o.tolist(), ix.ts.view[e].tolist(), ix.seq.view[e].tolist(), strict=True)))
        out.append(ix.sum_before(d, ids, t0 + 900_000).tolist())
    return out


def test_appended_index_answers_like_one_built_at_once():
    df = transfers(random_rows(3000, 80, seed=1))
    whole = TransferIndex.from_table(df)
    grown = TransferIndex(max_segments=3, compact_ratio=10.0)
    for part in df.iter_slices(200):
        grown.append(part)
    assert len(grown.segments) <= 1 + 3 + 1 and grown.stats["segment_merges"] >= 1
    accounts = [f"a{i}" for i in range(80)]
    assert answers(grown, accounts) == answers(whole, accounts)
    roots = roots_by_transfer(whole, ["T10", "T700"])
    assert trace(grown, roots).accounts.equals(trace(whole, roots).accounts)
    assert grown.find_transfer("T2999") == 2998
    grown.compact()
    assert len(grown.segments) == 1 and answers(grown, accounts) == answers(whole, accounts)


def test_a_large_share_of_new_transfers_sorts_everything_again():
    df = transfers(random_rows(1000, 30, seed=2))
    ix = TransferIndex(compact_ratio=0.25)
    ix.append(df.head(400))
    ix.append(df.slice(400, 50))
    assert len(ix.segments) == 2
    ix.append(df.slice(450, 550))
    assert len(ix.segments) == 1 and ix.stats["full_sorts"] == 2


def test_transfers_far_outside_the_indexed_times_are_placed_right():
    df = transfers(random_rows(100, 10, seed=3))
    ix = TransferIndex.from_table(df)
    late = df.head(5).with_columns(pl.col.ts + pl.duration(days=3000), seq=pl.col.seq + 1000,
                                   transfer_id=pl.lit("L") + pl.col.transfer_id)
    ix.append(late)
    a = np.array([ix.account_id(late["payer_account"][0])])
    _, e = ix.edges("out", a, np.array([ix.ts.view.max() - 1000]), np.array([ix.ts.view.max()]))
    assert len(e) >= 1 and ix.find_transfer("LT1") == 100


def test_bad_transfers_are_refused():
    with pytest.raises(FanzhaError, match="lack"):
        TransferIndex.from_table(pl.DataFrame({"payer_account": ["a"]}))
    bad = transfers([("a", "b", 100, 0)]).with_columns(amount_fen=pl.lit(0, pl.Int64))
    with pytest.raises(FanzhaError, match="positive amount"):
        TransferIndex.from_table(bad)


def test_index_follows_the_store(db, tmp_path):
    rng = random.Random(4)
    t = random_events("transfer", 120, rng)
    with open_store(db) as s:
        for i, part in enumerate((t.slice(0, 70), t.slice(70))):
            p = tmp_path / f"transfers-{i}.csv"
            write_csv(str(p), rows_for_csv(part), columns=part.column_names)
            ingest(s, [Source(str(p), "transfer")])
            if i == 0:
                ix = TransferIndex.from_store(s)
                first = s.count_events()["transfer"]
                assert ix.n_transfers == first
        assert ix.refresh(s) == s.count_events()["transfer"] - first > 0
        assert ix.n_transfers == s.count_events()["transfer"] and ix.refresh(s) == 0
        assert ix.max_seq == s.max_seq()
        assert ix.account_id(t["payer_account"][0].as_py()) is not None


@st.composite
def graphs(draw):
    n_acc = draw(st.integers(2, 7))
    acct = st.sampled_from([f"a{i}" for i in range(n_acc)])
    rows = draw(st.lists(st.tuples(acct, acct, st.integers(1, 10_000), st.integers(0, 4000)),
                         min_size=1, max_size=40))
    extra = draw(st.lists(st.sampled_from([{}, {}, {"payee_type": "aggregator"},
                                           {"payer_bal": 0}, {"payee_bal": 50_000}]),
                          min_size=len(rows), max_size=len(rows)))
    return [(*r, e) for r, e in zip(rows, extra, strict=True)], draw(st.integers(1, 4)), \
        draw(st.sampled_from(["fifo", "haircut"])), draw(st.integers(1, 3))


@settings(max_examples=150, deadline=None)
@given(graphs())
def test_money_is_conserved_on_random_graphs(case):
    rows, levels, rule, n_roots = case
    ix = TransferIndex.from_table(transfers(rows))
    ids = [f"T{i}" for i in range(1, min(n_roots, len(rows)) + 1)]
    tr = trace(ix, roots_by_transfer(ix, ids), TraceSettings(rule=rule, levels=levels,
                                                             window_hours=40))
    assert_conserved(tr)
    assert tr.accounts["hop"].max() <= levels
    paid = tr.flows.filter(pl.col.hop > 1).group_by("payer").agg(pl.col.traced_fen.sum())
    got = dict(zip(tr.accounts["account"], tr.accounts["traced_in_fen"], strict=True))
    for payer, out in paid.iter_rows():
        if payer in got:  # an account never passes on more traced money than it received
            assert out <= got[payer]
