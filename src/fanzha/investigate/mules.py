"""Mule scores for every account in the transfer log, with the reasons in words.

Fraud caught: mule accounts (卡农 cards) that fraud gangs use to receive victims' money and move it
on (seed 003: three levels of accounts traced within 48 hours). Each account gets the highest score
the streaming detector `fanzha.detectors.mule_account` gives it anywhere in the log (victims,
fan-in/fan-out of new counterparties, money passed on within minutes, near-zero balance, 2- and
3-account cycles), combined with what only the whole log shows:
- scatter-gather: money from one account spread over several others and gathered again in one;
- round trips: the same money (each hop keeps at least `round_trip_keep` of it) coming back to the
  account through up to `cycle_max_len` accounts, in time order unless `cycle_any_order`;
- split payments: several transfers from the same payer to the same payee within a day, more so
  when several payers split into one account (分散转入);
- layering: an account that passes money on within minutes paying, or paid by, another that does
  (a chain of pass-through accounts, 多级转账).
Cannot see: what the detector cannot (cash, unreported banks), nor mules that only ever receive
once and pay once like anybody else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from fanzha.detectors.mule_account import (
    MARKS_SCHEMA,
    MuleAccountSettings,
    _match,
    _pending,
    _table,
    account_rows,
)

DAY_MS = 86_400_000


@dataclass(frozen=True)
class MuleScoreSettings:
    detector: MuleAccountSettings = field(default_factory=MuleAccountSettings)
    threshold: float = 0.5  # label 1 (mule) at or above this score
    gather_window_hours: float = 48.0  # scatter then gather within this long
    gather_min: int = 3  # accounts the money passes through between scatter and gather
    w_gather: float = 0.5
    cycle_max_len: int = 6
    cycle_days: float = 30.0
    cycle_any_order: bool = False  # count cycles whose transfers are not in time order
    round_trip_keep: float = 0.9  # each hop passes on at least this share of the amount
    w_cycle: float = 0.5
    split_min: int = 3  # transfers from one payer to one payee within a day
    w_split: float = 0.3
    smurf_min: int = 2  # payers splitting into the same account
    w_smurf: float = 0.5
    w_layer: float = 0.3  # passes money on fast to, or gets it fast from, another such account


def mule_scores(
    transfers: pl.DataFrame,
    cases: pl.DataFrame | None = None,
    settings: MuleScoreSettings | None = None,
) -> pl.DataFrame:
    """account, score, label (1 = mule), reasons: every account seen, highest score first."""
    s = settings or MuleScoreSettings()
    log = _table(transfers.to_arrow()) if transfers.height else _table(None)
    accounts = pl.concat([log["payer_account"], log["payee_account"]]).unique().to_frame("account")
    if log.height == 0:
        return accounts.with_columns(
            score=pl.lit(0.0), label=pl.lit(0, pl.Int8), reasons=pl.lit("")
        )
    rows = account_rows(log, victim_marks(log, cases), s.detector)
    return combine(accounts, best_rows(rows), graph_reasons(log, passing(rows, s), s), s)


def victim_marks(log: pl.DataFrame, cases: pl.DataFrame | None) -> pl.DataFrame:
    """Each police case's confirmed payment found in the log (transfers of `_table`'s columns;
    only those the cases name, by transfer id or by the victim's account, are needed)."""
    marks = pl.from_arrow(MARKS_SCHEMA.empty_table())
    if cases is not None and cases.height:
        # the whole log is known: a victim counts at every transfer of the account
        marks = _match(_pending(cases), log)[0].with_columns(seq=pl.lit(0, pl.Int64))
    assert isinstance(marks, pl.DataFrame)
    return marks


def best_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """account, row_score, row_reasons: the detector's highest score of each account."""
    return (
        rows.sort("score", "seq", descending=[True, False])
        .unique("account", keep="first")
        .select("account", row_score="score", row_reasons="reasons")
    )


def passing(rows: pl.DataFrame, s: MuleScoreSettings) -> pl.DataFrame:
    """account: the pass-through accounts (the detector's reason: most of what came in went out
    within minutes, at some transfer)."""
    d = s.detector
    fast = (pl.col.fast_out_fen >= d.min_pass_fen) & (
        pl.col.fast_out_fen >= d.pass_share * pl.col.in_fen
    )
    return rows.filter(fast).select("account").unique()


def graph_reasons(log: pl.DataFrame, passing: pl.DataFrame, s: MuleScoreSettings) -> pl.DataFrame:
    """account, why, w: what only the money's paths between accounts show (scatter-gather,
    round trips, split payments, layering). Each reason stays inside a connected part of the
    graph of `_edges`."""
    return pl.concat(
        [
            _scatter_gather(log, s).with_columns(w=pl.lit(s.w_gather)),
            _round_trips(log, s).with_columns(w=pl.lit(s.w_cycle)),
            _split_payments(log, s),
            _layering(log, passing, s).with_columns(w=pl.lit(s.w_layer)),
        ]
    )


def combine(
    accounts: pl.DataFrame, best: pl.DataFrame, extra: pl.DataFrame, s: MuleScoreSettings
) -> pl.DataFrame:
    """account, score, label, reasons: the detector's best row and the graph's reasons of each
    account, noisy-OR, highest score first."""
    extra = extra.group_by("account").agg(
        keep=(1 - pl.col.w).product(), words=pl.col.why.unique().sort().str.join("; ")
    )
    return (
        accounts.join(best, on="account", how="left")
        .join(extra, on="account", how="left")
        .with_columns(
            score=(1 - (1 - pl.col.row_score.fill_null(0.0)) * pl.col.keep.fill_null(1.0)).round(4),
            reasons=pl.concat_str(
                [
                    pl.when(pl.col.row_score >= s.threshold / 2).then(pl.col.row_reasons),
                    pl.col.words,
                ],
                separator="; ",
                ignore_nulls=True,
            ),
        )
        .with_columns(label=(pl.col.score >= s.threshold).cast(pl.Int8))
        .select("account", "score", "label", "reasons")
        .sort(["score", "account"], descending=[True, False])
    )


def _edges(log: pl.DataFrame, s: MuleScoreSettings) -> pl.DataFrame:
    """Transfers between two accounts, less payments to merchants, aggregators and exchanges
    (money gathered at a shop is shopping)."""
    return log.filter(
        (pl.col.payer_account != pl.col.payee_account)
        & ~pl.col.payee_type.is_in(list(s.detector.not_mules)).fill_null(False)
    ).select(
        "seq",
        a="payer_account",
        b="payee_account",
        amt="amount_fen",
        t=pl.col.ts.dt.epoch("ms"),
    )


def _scatter_gather(log: pl.DataFrame, s: MuleScoreSettings) -> pl.DataFrame:
    """A pays X1..Xk, and each Xi pays G within the window: A, the Xi and G."""
    e = _edges(log, s)
    w = int(s.gather_window_hours * 3_600_000)
    two = (
        e.select(src="a", x="b", t1="t")
        .join(e.select(x="a", g="b", t2="t"), on="x")
        .filter((pl.col.t2 >= pl.col.t1) & (pl.col.t2 - pl.col.t1 <= w) & (pl.col.src != pl.col.g))
    )
    groups = (
        two.group_by("src", "g").agg(pl.col.x.unique()).filter(pl.col.x.list.len() >= s.gather_min)
    )
    why = pl.lit("scatter-gather through ") + pl.col.x.list.len().cast(pl.String) + " accounts"
    return pl.concat(
        [
            groups.select(account="src", why=why),
            groups.select(account="g", why=why),
            groups.explode("x").select(account="x", why=pl.lit("between a scatter and a gather")),
        ]
    ).unique()


def _one_path_each(paths: pl.DataFrame) -> pl.DataFrame:
    """One path per (start, end, amount, last time): the earliest-starting, then the first by
    its members, so that which accounts a cycle names does not depend on row order."""
    key = ["start", "cur", "amt", "tl"]
    return paths.sort([*key, "t0", "members"]).unique(key, keep="first", maintain_order=True)


def _round_trips(log: pl.DataFrame, s: MuleScoreSettings) -> pl.DataFrame:
    """Accounts on a path A -> ... -> A of 2..cycle_max_len transfers, each keeping at least
    round_trip_keep of the previous amount, within cycle_days."""
    e = _edges(log, s)
    span = int(s.cycle_days * DAY_MS)
    hop = e.select(cur="a", nxt="b", amt2="amt", t2="t")
    paths = e.select(
        start="a", cur="b", amt="amt", t0="t", tl="t", members=pl.concat_list("a", "b")
    )
    paths = _one_path_each(paths)
    found = []
    for n in range(2, s.cycle_max_len + 1):
        nxt = paths.join(hop, on="cur").filter(
            (pl.col.amt2 <= pl.col.amt) & (pl.col.amt2 >= pl.col.amt * s.round_trip_keep)
        )
        if not s.cycle_any_order:
            nxt = nxt.filter((pl.col.t2 >= pl.col.tl) & (pl.col.t2 - pl.col.t0 <= span))
        else:
            nxt = nxt.filter(
                (pl.max_horizontal("t2", "tl") - pl.min_horizontal("t2", "t0")) <= span
            )
        closed = nxt.filter(pl.col.nxt == pl.col.start)
        found.append(closed.select("members", n=pl.lit(n)))
        paths = (
            nxt.filter((pl.col.nxt != pl.col.start) & ~pl.col.members.list.contains(pl.col.nxt))
            .select(
                "start",
                cur="nxt",
                amt="amt2",
                t0=pl.min_horizontal("t0", "t2"),
                tl=pl.max_horizontal("tl", "t2"),
                members=pl.col.members.list.concat(pl.concat_list("nxt")),
            )
            .pipe(_one_path_each)
        )
        if paths.height == 0:
            break
    cycles = pl.concat(found)
    return (
        cycles.explode("members")
        .group_by(account="members")
        .agg(n=pl.col.n.min())
        .select(
            "account",
            why=pl.lit("the same money came back through a cycle of ")
            + pl.col.n.cast(pl.String)
            + " accounts",
        )
    )


def _split_payments(log: pl.DataFrame, s: MuleScoreSettings) -> pl.DataFrame:
    """Payer and payee of split_min or more transfers between them within a day; weighed more
    (as w) where several payers split into one account (分散转入, smurfing)."""
    e = _edges(log, s).sort("a", "b", "t")
    e = e.with_columns(
        prev=pl.col.t.shift(s.split_min - 1).over("a", "b"),
    ).filter(pl.col.prev.is_not_null() & (pl.col.t - pl.col.prev <= DAY_MS))
    pairs = e.select("a", "b").unique().with_columns(n=pl.col.a.n_unique().over("b"))
    why = pl.lit(f"{s.split_min}+ split payments within a day")
    many = pl.col.n >= s.smurf_min
    smurf = pl.lit(" (one of ") + pl.col.n.cast(pl.String) + " payers splitting into one account)"
    return pl.concat(
        [
            pairs.select(
                account="a",
                why=pl.when(many).then(why + smurf).otherwise(why),
                w=pl.when(many).then(s.w_smurf).otherwise(s.w_split),
            ),
            pairs.select(
                account="b",
                why=pl.when(many)
                .then(
                    pl.lit("collects split payments from ") + pl.col.n.cast(pl.String) + " payers"
                )
                .otherwise(why),
                w=pl.when(many).then(s.w_smurf).otherwise(s.w_split),
            ),
        ]
    ).unique()


def _layering(log: pl.DataFrame, passing: pl.DataFrame, s: MuleScoreSettings) -> pl.DataFrame:
    """Pass-through accounts that paid, or were paid by, another pass-through account."""
    e = _edges(log, s).select("a", "b")
    chain = e.join(passing, left_on="a", right_on="account").join(
        passing, left_on="b", right_on="account"
    )
    why = pl.lit("in a chain of accounts that pass money on within minutes")
    return (
        pl.concat([chain.select(account="a"), chain.select(account="b")])
        .unique()
        .select("account", why=why)
    )
