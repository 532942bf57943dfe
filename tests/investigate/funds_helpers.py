"""Hand-made transfer logs for the funds tests."""

from __future__ import annotations

import datetime as dt

import polars as pl

from fanzha.investigate.funds import TransferIndex

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def transfers(rows: list[tuple]) -> pl.DataFrame:
    """Rows (payer, payee, amount_fen, minutes after T0[, extra fields]); transfer ids T1, T2, ..."""
    out = []
    for i, r in enumerate(rows, 1):
        payer, payee, amount, minutes = r[:4]
        extra = r[4] if len(r) > 4 else {}
        out.append({"seq": i, "ts": at(minutes), "payer_account": payer, "payee_account": payee,
                    "amount_fen": amount, "transfer_id": f"T{i}", "event_id": f"e{i}",
                    "payee_type": extra.get("payee_type"), "payee_bank": extra.get("payee_bank"),
                    "payer_bank": extra.get("payer_bank"),
                    "payer_balance_after_fen": extra.get("payer_bal"),
                    "payee_balance_after_fen": extra.get("payee_bal")})
    return pl.DataFrame(out, schema_overrides={
        "ts": pl.Datetime("ms", "UTC"), "payee_type": pl.String, "payee_bank": pl.String,
        "payer_bank": pl.String, "payer_balance_after_fen": pl.Int64,
        "payee_balance_after_fen": pl.Int64})


def index(rows: list[tuple]) -> TransferIndex:
    return TransferIndex.from_table(transfers(rows))


def assert_conserved(tr) -> None:
    """Every fen of the victims' payments is somewhere: still in an account, paid on beyond the
    trace, gone by a way the balance shows, or at a stop; and no transfer carries more traced
    money than it moved."""
    acc = tr.accounts
    for r in acc.filter(acc["stop"].is_null()).to_dicts():
        assert r["traced_in_fen"] == r["forwarded_fen"] + r["left_fen"] + r["remaining_fen"], r
        assert min(r["forwarded_fen"], r["left_fen"], r["remaining_fen"]) >= 0, r
    accounted = (acc.filter(acc["stop"].is_null())[["left_fen", "remaining_fen"]].sum().sum_horizontal()
                 .item() + acc.filter(acc["stop"].is_not_null())["traced_in_fen"].sum())
    assert accounted == tr.roots["traced_fen"].sum()
    assert (tr.roots["traced_fen"] <= tr.roots["amount_fen"]).all()
    assert (tr.flows["traced_fen"] <= tr.flows["amount_fen"]).all()
    assert (tr.flows["traced_fen"] > 0).all()
