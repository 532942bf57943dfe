"""Mule accounts: accounts that receive fraud victims' money and pass it on within minutes.

Fraud caught: the first-, second- and third-level accounts (卡农 cards bought or rented by gangs)
through which victims' payments are split and moved before cash-out. Seed 003: the centre traces
three levels of accounts within 48 hours, and banks stop and freeze fraud-linked payments.
Looks at: transfer events (both sides of every transfer) and police-confirmed losses (case events,
matched to the victim's payment by transfer id, or by the victim's account and time). At every
transfer it weighs, over the last `window_hours` of the account: payments from several victims;
many new payers (fan-in) or new payees (fan-out); money passed on within `fast_minutes` of arriving;
a near-zero balance after paying out (where the bank reports balances); and money coming back to
the account through one or two others (short cycles). An account is signalled when its score
first reaches 0.5, and again when it rises to 0.7 and 0.9, with the reasons in words.
Cannot see: cash withdrawals, transfers at banks that do not report, money moved through
aggregators (merchants, aggregators and exchanges are not scored), and patterns longer than the
window; `fanzha.investigate.mules` scores the whole log, with scatter-gather and longer cycles.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import polars as pl
import pyarrow as pa

from fanzha.engine.protocol import Batch, Lookup, State, empty_signals, history_key, signals_from
from fanzha.events import TS_TYPE

TS = pl.Datetime("ms", "UTC")
MATCH_MINUTES = 10  # a case's paid_at and the bank's transfer time may differ this much

MARKS_SCHEMA = pa.schema(  # a victim's confirmed payment reached this account
    [
        pa.field("account", pa.string()),
        pa.field("case_id", pa.string()),
        pa.field("victim", pa.string()),  # the paying account
        pa.field("seq", pa.int64()),
        pa.field("ts", TS_TYPE),
        pa.field("event_id", pa.string()),
    ]
)
PENDING_SCHEMA = pa.schema(  # confirmed losses whose payment is not in the log yet
    [
        pa.field("case_id", pa.string()),
        pa.field("transfer_id", pa.string()),
        pa.field("victim_account", pa.string()),
        pa.field("paid_at", TS_TYPE),
        pa.field("loss_fen", pa.int64()),
        pa.field("seq", pa.int64()),
        pa.field("ts", TS_TYPE),
    ]
)
BANDS_SCHEMA = pa.schema([pa.field("account", pa.string()), pa.field("band", pa.int64())])


@dataclass(frozen=True)
class MuleAccountSettings:
    window_hours: float = 24.0  # behaviour is weighed over this long
    new_payer_days: float = 7.0  # a counterparty is new if not seen with the account this long
    fast_minutes: float = 30.0  # "passes money on within minutes" (0: times too coarse to tell)
    fan_in: int = 5  # new payers within the window
    fan_out: int = 5  # new payees within the window
    pass_share: float = 0.8  # share of the window's inflow paid on fast
    min_pass_fen: int = 20_000  # passing on less than 200 yuan is not weighed
    near_zero_fen: int = 10_000  # balance after a payment at most 100 yuan
    w_victim: float = 0.6  # one confirmed victim paid the account
    w_victims: float = 0.9  # two or more
    w_fan_in: float = 0.35
    w_fan_out: float = 0.3
    w_pass: float = 0.35
    w_near_zero: float = 0.15
    w_cycle: float = 0.35
    bands: tuple[float, ...] = (0.5, 0.7, 0.9)  # a signal when the score first reaches each
    not_mules: tuple[str, ...] = ("merchant", "aggregator", "exchange")  # payee types not scored


@dataclass(frozen=True)
class MuleAccount:
    """Signals accounts that behave like mule accounts (money-laundering cards of fraud gangs)."""

    settings: MuleAccountSettings = field(default_factory=MuleAccountSettings)
    name: ClassVar[str] = "mule_account"
    kinds: ClassVar[tuple[str, ...]] = ("transfer", "case")

    def initial_state(self) -> State:
        return {
            "marks": MARKS_SCHEMA.empty_table(),
            "pending": PENDING_SCHEMA.empty_table(),
            "bands": BANDS_SCHEMA.empty_table(),
        }

    def lookups(self, batch: Batch, state: State) -> list[Lookup]:
        s = self.settings
        out = []
        t = batch.get("transfer")
        if t is not None and t.num_rows:
            df = pl.from_arrow(t.select(["ts", "payer_account", "payee_account"]))
            accounts = pl.concat([df["payer_account"], df["payee_account"]]).unique().sort()
            back = dt.timedelta(hours=s.window_hours, days=s.new_payer_days)
            out.append(
                Lookup(
                    "transfer",
                    ("payer_account", "payee_account"),
                    tuple(accounts.to_list()),
                    df["ts"].min() - back,
                )
            )
        c = batch.get("case")
        if c is not None and c.num_rows:
            cases = pl.from_arrow(c.select(["transfer_id", "victim_account", "paid_at"]))
            ids = cases["transfer_id"].drop_nulls().unique().sort()
            if len(ids):
                out.append(Lookup("transfer", ("transfer_id",), tuple(ids.to_list())))
            by_acct = cases.filter(
                pl.col.transfer_id.is_null()
                & pl.col.victim_account.is_not_null()
                & pl.col.paid_at.is_not_null()
            )
            if by_acct.height:
                out.append(
                    Lookup(
                        "transfer",
                        ("payer_account",),
                        tuple(by_acct["victim_account"].unique().sort().to_list()),
                        by_acct["paid_at"].min() - dt.timedelta(minutes=MATCH_MINUTES),
                    )
                )
        return out

    def step(self, batch: Batch, state: State) -> tuple[pa.Table, State]:
        s = self.settings
        new = _table(batch.get("transfer"))
        cases = batch.get("case")
        has_cases = cases is not None and cases.num_rows > 0
        if new.height == 0 and not has_cases:
            return empty_signals(), state
        log = pl.concat([_table(batch.get(history_key("transfer"))), new]).unique(
            "seq", keep="first"
        )
        pending = pl.from_arrow(state["pending"])
        if has_cases:
            pending = pl.concat([pending, _pending(pl.from_arrow(cases))])
        marks_new, pending = _match(pending, log)
        marks = pl.concat([pl.from_arrow(state["marks"]), marks_new])
        rows = account_rows(log, marks, s, only_seq=new["seq"]) if new.height else pl.DataFrame()
        rows = pl.concat([rows, _mark_rows(marks_new, marks, s)], how="diagonal")
        signals, bands = self._signals(rows, pl.from_arrow(state["bands"]))
        out = dict(state)
        if marks_new.height or has_cases:
            out["marks"] = marks.to_arrow().cast(MARKS_SCHEMA)
            out["pending"] = pending.sort("seq", "case_id").to_arrow().cast(PENDING_SCHEMA)
        if bands is not None:
            out["bands"] = bands.to_arrow().cast(BANDS_SCHEMA)
        return signals, out

    def _signals(
        self, rows: pl.DataFrame, bands: pl.DataFrame
    ) -> tuple[pa.Table, pl.DataFrame | None]:
        s = self.settings
        if rows.height == 0:
            return empty_signals(), None
        cuts = list(s.bands)
        rows = rows.with_columns(
            band=pl.sum_horizontal([(pl.col.score >= c).cast(pl.Int64) for c in cuts])
        ).filter(pl.col.band > 0)
        if rows.height == 0:
            return empty_signals(), None
        rows = (
            rows.join(bands.rename({"band": "had"}), on="account", how="left")
            .with_columns(pl.col.had.fill_null(0))
            .sort("account", "seq")
            .with_columns(
                before=pl.max_horizontal(
                    "had", pl.col.band.cum_max().shift(1).over("account").fill_null(0)
                )
            )
            .filter(pl.col.band > pl.col.before)
        )
        if rows.height == 0:
            return empty_signals(), None
        top = rows.group_by("account").agg(pl.col.band.max())
        bands = pl.concat([bands, top]).group_by("account").agg(pl.col.band.max()).sort("account")
        df = rows.select(
            "seq",
            "ts",
            entity_kind=pl.lit("account"),
            entity="account",
            score=pl.col.score.clip(0, 1),
            evidence=pl.col.account + pl.lit(": ") + pl.col.reasons,
            details=pl.struct(
                "band",
                "n_victims",
                "in_fen",
                "new_payers",
                "new_payees",
                "fast_out_fen",
                "balance_fen",
                "cycle",
            ).struct.json_encode(),
            event_ids=pl.concat_list("event_id"),
            band="band",
        )
        return signals_from(df, self.name, ["entity", "band"]), bands


_LOG = {
    "seq": pl.Int64,
    "ts": TS,
    "event_id": pl.String,
    "transfer_id": pl.String,
    "payer_account": pl.String,
    "payee_account": pl.String,
    "amount_fen": pl.Int64,
    "payee_type": pl.String,
    "payer_balance_after_fen": pl.Int64,
    "payee_balance_after_fen": pl.Int64,
}


def _table(t: pa.Table | None) -> pl.DataFrame:
    if t is None or t.num_rows == 0:
        return pl.DataFrame(schema=_LOG)
    return pl.from_arrow(t.select(list(_LOG))).cast(_LOG)  # type: ignore[union-attr]


def _pending(cases: pl.DataFrame) -> pl.DataFrame:
    """Losses that name their payment (by transfer id, or by the victim's account and time)."""
    return (
        cases.filter(
            pl.col.transfer_id.is_not_null()
            | (pl.col.victim_account.is_not_null() & pl.col.paid_at.is_not_null())
        )
        .select("case_id", "transfer_id", "victim_account", "paid_at", "loss_fen", "seq", "ts")
        .cast({"paid_at": TS, "loss_fen": pl.Int64, "seq": pl.Int64, "ts": TS})
    )


def _match(pending: pl.DataFrame, log: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Confirmed losses matched to their payment in the log: (marks, still pending)."""
    empty = pl.from_arrow(MARKS_SCHEMA.empty_table())
    if pending.height == 0 or log.height == 0:
        return empty, pending
    pay = log.select(
        t_seq="seq",
        t_ts="ts",
        event_id="event_id",
        transfer_id="transfer_id",
        payer="payer_account",
        account="payee_account",
        amount="amount_fen",
    )
    p = pending.with_row_index("_p")
    by_id = p.filter(pl.col.transfer_id.is_not_null()).join(
        pay.filter(pl.col.transfer_id.is_not_null()), on="transfer_id"
    )
    win = pl.duration(minutes=MATCH_MINUTES)
    by_acct = (
        p.filter(pl.col.transfer_id.is_null())
        .drop("transfer_id")
        .join(pay, left_on="victim_account", right_on="payer")
        .with_columns(payer=pl.col.victim_account)
        .filter(
            (pl.col.t_ts - pl.col.paid_at).abs() <= win,
            pl.col.loss_fen.is_null() | (pl.col.loss_fen == pl.col.amount),
        )
    )
    hits = (
        pl.concat([by_id.select(by_acct.columns), by_acct], how="vertical_relaxed")
        .sort("_p", "t_seq")
        .unique("_p", keep="first")
    )
    marks = hits.select(
        "account",
        "case_id",
        victim="payer",
        seq=pl.max_horizontal("seq", "t_seq"),
        ts=pl.max_horizontal("ts", "t_ts"),
        event_id="event_id",
    ).cast(dict(empty.schema))
    return marks, p.join(hits.select("_p"), on="_p", how="anti").drop("_p")


def _mark_rows(
    marks_new: pl.DataFrame, marks: pl.DataFrame, s: MuleAccountSettings
) -> pl.DataFrame:
    """A row for each victim mark made in this batch, scored on the victims alone (what else the
    account did is weighed at its transfers)."""
    if marks_new.height == 0:
        return pl.DataFrame()
    counted = _victims_at(marks_new.select("account", "seq", "ts", "event_id"), marks)
    zero = ("in_fen", "new_payers", "new_payees", "fast_out_fen", "near_zero_n", "cycle_n")
    return _score(
        counted.with_columns(pl.lit(0, pl.Int64).alias(c) for c in zero).with_columns(
            balance_fen=pl.lit(None, pl.Int64), cycle=pl.lit(False)
        ),
        s,
    )


def _victims_at(rows: pl.DataFrame, marks: pl.DataFrame) -> pl.DataFrame:
    """Rows with n_victims: distinct victims whose confirmed payment reached the account by the
    row's seq, and their cases."""
    if marks.height == 0:
        return rows.with_columns(n_victims=pl.lit(0, pl.Int64), cases=pl.lit(""))
    m = marks.select("account", "case_id", "victim", m_seq="seq")
    got = (
        rows.select("account", "seq")
        .unique()
        .join(m, on="account")
        .filter(pl.col.m_seq <= pl.col.seq)
        .group_by("account", "seq")
        .agg(
            n_victims=pl.col.victim.n_unique().cast(pl.Int64),
            cases=pl.col.case_id.unique().sort().head(5).str.join(", "),
        )
    )
    return rows.join(got, on=["account", "seq"], how="left").with_columns(
        pl.col.n_victims.fill_null(0), pl.col.cases.fill_null("")
    )


def account_rows(
    log: pl.DataFrame,
    marks: pl.DataFrame,
    s: MuleAccountSettings,
    only_seq: pl.Series | None = None,
    closing: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Both sides of every transfer of `log` (the rows of `only_seq`, if given), with what the
    account did over the window before it (seeing only transfers logged before it), the score and
    the reasons in words. The log must hold every transfer of those accounts over the window and
    the new-payer look-back before them. `closing` (seq, account, cp: `closing_transfers`) when
    the cycles were found elsewhere (the Spark job), else they are found in `log`."""
    if log.height == 0:
        return pl.DataFrame()
    w_ms = int(s.window_hours * 3_600_000)
    touch = _touches(log, s)
    if closing is None:
        closing = _closing(touch, log, w_ms)
    touch = _windowed(touch.with_columns(cycle=_cycle_flags(touch, closing)), w_ms)
    if only_seq is not None:
        touch = touch.filter(pl.col.seq.is_in(only_seq.implode()))
    touch = touch.filter(~pl.col.typed)
    touch = _victims_at(touch, marks)
    return _score(touch, s)


def closing_transfers(log: pl.DataFrame, s: MuleAccountSettings) -> pl.DataFrame:
    """seq, account, cp of the transfers cp -> account of `log` that close a cycle (`_closing`);
    right for an account whose every transfer is in `log`, with the transfers between its
    payees and its payers."""
    if log.height == 0:
        return pl.DataFrame(schema={"seq": pl.Int64, "account": pl.String, "cp": pl.String})
    return _closing(_touches(log, s), log, int(s.window_hours * 3_600_000))


def _touches(log: pl.DataFrame, s: MuleAccountSettings) -> pl.DataFrame:
    """Each transfer seen from both accounts, with what only that account's own transfers tell
    (time as known so far, typed, new counterparty, passed on fast, near-zero balance)."""
    new_ms = int(s.new_payer_days * 86_400_000)
    fast_ms = int(s.fast_minutes * 60_000)
    typed = pl.col.payee_type.is_in(list(s.not_mules)).fill_null(False)
    touch = (
        pl.concat(
            [  # each transfer seen from the payee (money in) and from the payer (money out)
                log.select(
                    "seq",
                    "ts",
                    "event_id",
                    "amount_fen",
                    account=account,
                    cp=cp,
                    out=pl.lit(out),
                    bal=bal,
                    typed=typed if not out else pl.lit(False),
                )
                for account, cp, out, bal in (
                    ("payee_account", "payer_account", False, "payee_balance_after_fen"),
                    ("payer_account", "payee_account", True, "payer_balance_after_fen"),
                )
            ]
        )
        .filter(pl.col.account != pl.col.cp)
        .sort("account", "seq", "out")
        .with_columns(
            t=pl.col.ts.dt.epoch("ms").cum_max().over("account"),
            typed=pl.col.typed.cast(pl.Int64).cum_sum().over("account") > 0,  # as known so far
        )
    )
    touch = touch.with_columns(
        prev_cp=pl.col.t.shift(1).over("account", "out", "cp"),
        last_in=pl.when(~pl.col.out).then(pl.col.t).forward_fill().over("account"),
        code=pl.col.account.rank("dense").cast(pl.Int64),
    ).with_columns(
        new_cp=pl.col.prev_cp.is_null() | (pl.col.t - pl.col.prev_cp > new_ms),
        fast=pl.col.out & (pl.col.t - pl.col.last_in <= fast_ms) & pl.lit(fast_ms > 0),
        near_zero=pl.col.out & pl.col.bal.is_not_null() & (pl.col.bal <= s.near_zero_fen),
    )
    return touch


def _windowed(touch: pl.DataFrame, w_ms: int) -> pl.DataFrame:
    """Sums over each row's window: rows of the same account with t in [t - w, t], logged before
    it (rows are in log order per account and t never goes back, so the window is a run)."""
    t = touch["t"].to_numpy()
    code = touch["code"].to_numpy()
    t0 = int(t.min())
    span = 1 << int(int(t.max()) - t0 + w_ms + 1).bit_length()
    key = code * span + (t - t0)
    start = np.searchsorted(key, key - w_ms, "left")
    amt = touch["amount_fen"].to_numpy()
    out = touch["out"].to_numpy()
    cols = {
        "in_n": ~out,
        "in_fen": np.where(out, 0, amt),
        "out_fen": np.where(out, amt, 0),
        "fast_out_fen": np.where(touch["fast"].to_numpy(), amt, 0),
        "new_payers": ~out & touch["new_cp"].to_numpy(),
        "new_payees": out & touch["new_cp"].to_numpy(),
        "near_zero_n": touch["near_zero"].to_numpy(),
        "cycle_n": touch["cycle"].to_numpy(),
    }
    got = {}
    for name, v in cols.items():
        cum = np.concatenate([[0], np.cumsum(v.astype(np.int64))])
        got[name] = cum[np.arange(1, len(v) + 1)] - cum[start]
    return touch.with_columns(pl.Series(k, v) for k, v in got.items()).with_columns(
        balance_fen=pl.when(pl.col.out).then(pl.col.bal), cycle=pl.col.cycle_n > 0
    )


def _closing(touch: pl.DataFrame, log: pl.DataFrame, w_ms: int) -> pl.DataFrame:
    """Transfers C -> A (seq, account A, cp C) that close a cycle: money went A -> C, or
    A -> B -> C, earlier in the window (money coming back to A through one or two accounts)."""
    back = touch.filter(~pl.col.out).select("account", "cp", "seq", "t", "event_id")
    outs = touch.filter(pl.col.out).select(a="account", b="cp", s1="seq", t1="t")
    hop1 = back.join(outs, left_on="account", right_on="a").filter(
        (pl.col.s1 < pl.col.seq) & (pl.col.t - pl.col.t1 <= w_ms)
    )
    two = hop1.filter(pl.col.b == pl.col.cp).select("seq", "account", "cp")
    mid = log.select(b="payer_account", c="payee_account", s2="seq", t2=pl.col.ts.dt.epoch("ms"))
    three = (
        hop1.filter(pl.col.b != pl.col.cp)
        .join(mid, left_on=["b", "cp"], right_on=["b", "c"])
        .filter((pl.col.s1 < pl.col.s2) & (pl.col.s2 < pl.col.seq) & (pl.col.t2 >= pl.col.t1))
        .select("seq", "account", "cp")
    )
    return pl.concat([two, three]).unique()


def _cycle_flags(touch: pl.DataFrame, closing: pl.DataFrame) -> pl.Series:
    """Each row of `touch` on a transfer that closes a cycle: both A and C are flagged."""
    hit = (
        pl.concat(
            [
                closing.select("seq", "account", out=pl.lit(False)),
                closing.select("seq", account="cp", out=pl.lit(True)),
            ]
        )
        .unique()
        .with_columns(cycle=pl.lit(True))
    )
    return (
        touch.select("seq", "account", "out")
        .join(hit, on=["seq", "account", "out"], how="left")
        .select(pl.col.cycle.fill_null(False))
        .to_series()
    )


def _yuan(col: str) -> pl.Expr:
    return (pl.col(col) / 100).round(2).cast(pl.String)


def _score(rows: pl.DataFrame, s: MuleAccountSettings) -> pl.DataFrame:
    """Noisy-OR of the reasons that hold, and the reasons in words."""
    fast_share = pl.col.fast_out_fen / pl.max_horizontal(pl.col.in_fen, 1)
    reasons = {
        "victims": (
            pl.col.n_victims >= 2,
            s.w_victims,
            pl.lit("paid by ")
            + pl.col.n_victims.cast(pl.String)
            + pl.lit(" confirmed victims (cases ")
            + pl.col.cases
            + pl.lit(")"),
        ),
        "victim": (
            pl.col.n_victims == 1,
            s.w_victim,
            pl.lit("paid by a confirmed victim (case ") + pl.col.cases + pl.lit(")"),
        ),
        "fan_in": (
            pl.col.new_payers >= s.fan_in,
            s.w_fan_in,
            pl.col.new_payers.cast(pl.String) + pl.lit(" new payers in the window"),
        ),
        "fan_out": (
            pl.col.new_payees >= s.fan_out,
            s.w_fan_out,
            pl.col.new_payees.cast(pl.String) + pl.lit(" new payees in the window"),
        ),
        "pass": (
            (pl.col.fast_out_fen >= s.min_pass_fen) & (fast_share >= s.pass_share),
            s.w_pass,
            pl.lit("passed on ")
            + (fast_share.clip(0, 1) * 100).round(0).cast(pl.Int64).cast(pl.String)
            + pl.lit("% of ¥")
            + _yuan("in_fen")
            + pl.lit(f" received within {s.fast_minutes:g} min"),
        ),
        "near_zero": (
            pl.col.near_zero_n > 0,
            s.w_near_zero,
            pl.lit("balance near zero after paying out"),
        ),
        "cycle": (pl.col.cycle, s.w_cycle, pl.lit("money came back through a short cycle")),
    }
    keep = pl.lit(1.0)
    for cond, w, _ in reasons.values():
        keep = keep * pl.when(cond).then(1 - w).otherwise(1.0)
    words = pl.concat_str(
        [pl.when(cond).then(text) for cond, _, text in reasons.values()],
        separator="; ",
        ignore_nulls=True,
    )
    return rows.with_columns(
        score=(1 - keep).round(4),
        reasons=words + pl.lit(f" (window {s.window_hours:g} h)"),
    )
