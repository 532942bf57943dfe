"""The mule-account detector: one catch per reason, and the traps it must not fall into."""

from __future__ import annotations

import datetime as dt

import orjson
import polars as pl

from fanzha.detectors.mule_account import MuleAccount, MuleAccountSettings
from fanzha.engine.check import run_detector
from fanzha.testing import START, as_log
from scenario import money, table

MULE, NEXT = "6217000000000000001", "6217000000000000002"
DAY = START + dt.timedelta(days=1, hours=9)


def run(events: dict, det: MuleAccount | None = None) -> pl.DataFrame:
    log = as_log(events)
    top = max(t.num_rows and max(t["seq"].to_pylist()) for t in log.values())
    sig, _ = run_detector(det or MuleAccount(), log, [top])
    return pl.from_arrow(sig).sort("seq")


def transfers(rows: list[dict]) -> dict:
    return {"transfer": table("transfer", rows), "case": table("case", [])}


def test_the_mule_of_six_victims_is_signalled_with_its_reasons():
    sig = run(money(seed=2))
    mule = sig.filter(pl.col.entity == MULE)
    first = mule.row(0, named=True)
    assert first["score"] >= 0.5 and "new payers" in first["evidence"]
    assert "passed on" in first["evidence"] and "balance near zero" in first["evidence"]
    top = mule.row(-1, named=True)
    assert top["score"] >= 0.9 and "2 confirmed victims (cases J0, J1)" in top["evidence"]
    assert orjson.loads(top["details"])["n_victims"] == 2
    late = sig.filter(pl.col.evidence.str.contains("case J9"))  # the case came before its payment
    assert late["entity"].to_list() == [NEXT]
    ring = sig.filter(pl.col.evidence.str.contains("short cycle"))
    assert "6217000000000000013" in ring["entity"].to_list()


def test_victims_matched_by_account_and_time():
    rows = [{"ts": DAY, "payer_account": "V1", "payee_account": MULE, "amount_fen": 900_000}]
    cases = [{"ts": DAY + dt.timedelta(hours=2), "case_id": "J1", "fraud_type": "investment",
              "victim_account": "V1", "paid_at": DAY + dt.timedelta(minutes=3),
              "loss_fen": 900_000},
             {"ts": DAY + dt.timedelta(hours=2), "case_id": "J2", "fraud_type": "investment",
              "victim_account": "V1", "paid_at": DAY + dt.timedelta(minutes=30)}]  # too far
    sig = run({"transfer": table("transfer", rows), "case": table("case", cases)})
    assert sig["evidence"].to_list() == [f"{MULE}: paid by a confirmed victim (case J1) (window 24 h)"]


def test_payroll_fan_out_from_a_funded_account_is_not_a_mule():
    rows = [{"ts": DAY - dt.timedelta(days=20), "payer_account": "CLIENT", "payee_account": "CO",
             "amount_fen": 90_000_000}]
    rows += [{"ts": DAY + dt.timedelta(minutes=i), "payer_account": "CO",
              "payee_account": f"EMP{i}", "amount_fen": 600_000,
              "payer_balance_after_fen": 90_000_000 - 600_000 * (i + 1)} for i in range(20)]
    assert run(transfers(rows)).height == 0


def test_salary_then_rent_within_minutes_is_not_a_mule():
    rows = [{"ts": DAY, "payer_account": "CO", "payee_account": "P", "amount_fen": 800_000},
            {"ts": DAY + dt.timedelta(minutes=5), "payer_account": "P", "payee_account": "LL",
             "amount_fen": 750_000, "payer_balance_after_fen": 50_000}]
    assert run(transfers(rows)).height == 0


def test_a_shop_paid_by_many_new_customers_is_not_a_mule():
    rows = [{"ts": DAY + dt.timedelta(minutes=i), "payer_account": f"C{i}",
             "payee_account": "SHOP", "amount_fen": 500_000, "payee_type": "merchant"}
            for i in range(30)]
    rows += [{"ts": DAY + dt.timedelta(minutes=40), "payer_account": "SHOP",
              "payee_account": "SUPPLIER", "amount_fen": 14_000_000}]
    assert run(transfers(rows)).height == 0


def test_fan_in_and_pass_through_outside_the_window_is_not_combined():
    rows = [{"ts": DAY + dt.timedelta(hours=6 * i), "payer_account": f"C{i}",
             "payee_account": MULE, "amount_fen": 500_000} for i in range(6)]
    rows += [{"ts": DAY + dt.timedelta(hours=6 * i, minutes=5), "payer_account": MULE,
              "payee_account": "X", "amount_fen": 490_000} for i in range(6)]
    assert run(transfers(rows)).height == 0  # at most four new payers in any 24 h
    wide = MuleAccount(MuleAccountSettings(window_hours=48))
    assert run(transfers(rows), wide)["entity"].to_list() == [MULE]
