"""`fanzha trace` and `fanzha funds mules` from the command line."""

from __future__ import annotations

import csv
import json

import pytest

TRANSFERS = """ts,transfer_id,payer_account,payee_account,amount_fen,payee_bank,payee_type,\
payer_balance_after_fen
2026-03-02T01:00:00Z,T1,6222000000000000001,6217000000000000001,5000000,CCB,person,
2026-03-02T01:20:00Z,T2,6222000000000000002,6217000000000000001,3000000,CCB,person,
2026-03-02T01:06:00Z,T3,6217000000000000001,6217000000000000002,2000000,ABC,person,
2026-03-02T01:30:00Z,T4,6217000000000000001,6217000000000000003,4000000,BOC,person,200000
2026-03-02T01:40:00Z,T5,6217000000000000003,PAY-AGG-1,1000000,,aggregator,
2026-03-02T01:41:00Z,T6,PAY-AGG-1,6217000000000000009,1000000,ICBC,person,
"""
CASES = """ts,case_id,fraud_type,victim_account,transfer_id,loss_fen,paid_at
2026-03-02T06:00:00Z,J1,fake_customer_service,6222000000000000001,T1,5000000,2026-03-02T01:00:00Z
2026-03-02T07:00:00Z,J1,fake_customer_service,6222000000000000002,,3000000,2026-03-02T01:20:00Z
"""
MULE = "6217000000000000001"


@pytest.fixture
def money(cli, tmp_path):
    (tmp_path / "transfers.csv").write_text(TRANSFERS)
    (tmp_path / "cases.csv").write_text(CASES)
    cli("ingest", str(tmp_path / "transfers.csv"), "--kind", "transfer")
    cli("ingest", str(tmp_path / "cases.csv"), "--kind", "case")
    return cli


def test_trace_by_transfer_gives_the_tree_and_freeze_orders(money):
    r = json.loads(money("trace", "--transfer", "T1", "--as-of", "2026-03-02T03:00:00Z",
                         "--json").output)
    acc = {a["account"]: a for a in r["accounts"]}
    assert acc[MULE]["hop"] == 1 and acc[MULE]["traced_in_fen"] == 5000000
    assert acc["6217000000000000002"]["traced_in_fen"] == 2000000  # FIFO: T1's money first
    assert acc["PAY-AGG-1"]["stop"] == "aggregator" and "6217000000000000009" not in acc
    orders = r["freeze_orders"]
    assert [o["account"] for o in orders][:1] == ["6217000000000000002"]
    assert all(o["expires_ts"] == "2026-03-04T03:00:00+00:00" for o in orders)
    table = money("trace", "--transfer", "T1").output
    assert "freeze order" in table and MULE in table and "aggregator" in table


def test_trace_by_account_and_time(money):
    r = json.loads(money("trace", "--account", "6222000000000000002", "--since",
                         "2026-03-02T00:00:00Z", "--rule", "haircut", "--json").output)
    assert [x["transfer_id"] for x in r["roots"]] == ["T2"] and r["rule"] == "haircut"


def test_trace_a_case_saves_it_and_freezes_then_renews_once(money, tmp_path):
    case = ("trace", "--case", "J1", "--freeze", "--json", "--as-of")
    r = json.loads(money(*case, "2026-03-02T06:00:00Z").output)
    assert len(r["roots"]) == 2  # one by transfer id, one by account and time
    assert r["accounts"][0]["n_victims"] == 2 and r["freeze_entries_added"] >= 1
    again = json.loads(money(*case, "2026-03-03T06:00:00Z").output)
    assert again["freeze_entries_added"] >= 1  # renewals
    third = json.loads(money(*case, "2026-03-04T05:00:00Z").output)
    assert third["freeze_entries_added"] == 0  # the one renewal is used
    from fanzha.store import open_store

    with open_store(money.db, read_only=True) as s:
        entries = s.list_entries("freeze").to_pylist()
        cases = s.cases()
    assert {e["action"] for e in entries} == {"emergency_freeze", "renew_freeze"}
    renew = next(e for e in entries if e["action"] == "renew_freeze")
    first = next(e for e in entries if e["entity"] == renew["entity"]
                 and e["action"] == "emergency_freeze")
    assert (renew["expires_ts"] - first["expires_ts"]).total_seconds() == 48 * 3600
    assert renew["partner"] != "" and cases[0]["case_id"] == "J1"


def test_stop_list(money, tmp_path):
    (tmp_path / "stops.csv").write_text("account,type\n6217000000000000003,exchange\n")
    r = json.loads(money("trace", "--transfer", "T1", "--stop-list", str(tmp_path / "stops.csv"),
                         "--json").output)
    acc = {a["account"]: a for a in r["accounts"]}
    assert acc["6217000000000000003"]["stop"] == "exchange" and "PAY-AGG-1" not in acc


def test_funds_mules_writes_every_account(money, tmp_path):
    out = tmp_path / "mules.csv"
    truth = tmp_path / "truth.csv"
    truth.write_text(f"account,label\n{MULE},1\n6222000000000000001,0\n")
    r = json.loads(money("funds", "mules", "-o", str(out), "--truth", str(truth), "--json").output)
    with open(out) as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["account", "score", "label"]
    seen = {line.split(",")[i] for line in TRANSFERS.splitlines()[1:] for i in (2, 3)}
    assert {row[0] for row in rows[1:]} == seen and r["accounts"] == len(seen)
    score = {row[0]: (float(row[1]), row[2]) for row in rows[1:]}
    assert score[MULE] == (0.9, "1")  # two confirmed victims
    assert r["precision"] == 1.0 and r["recall"] == 1.0


@pytest.mark.parametrize("args, words", [
    (["trace"], "give one of"),
    (["trace", "--transfer", "T1", "--case", "J1"], "give one of"),
    (["trace", "--account", "x"], "needs --since"),
    (["trace", "--transfer", "NOPE"], "no transfer 'NOPE'"),
    (["trace", "--transfer", "T1", "--rule", "poison"], "fifo or haircut"),
    (["trace", "--case", "J404"], "no case events"),
    (["trace", "--account", "x", "--since", "yesterday"], "not an ISO 8601"),
    (["funds", "mules", "-o", "/nonexistent/dir/m.csv"], "cannot write"),
])
def test_one_line_reasons(money, args, words):
    r = money(*args, ok=False)
    assert r.exit_code != 0 and words in r.output


def test_an_empty_log_is_refused(cli):
    assert "does not exist" in cli("trace", "--transfer", "T1", ok=False).output
    from fanzha.store import open_store

    open_store(cli.db).close()
    assert "no transfers" in cli("trace", "--transfer", "T1", ok=False).output


def test_scorecard_predictions_trace_each_case_as_of_its_report(money):
    from fanzha.investigate.funds import scorecard_predictions
    from fanzha.store import open_store

    with open_store(money.db, read_only=True) as s:
        got = scorecard_predictions(s)
    traced = dict(zip(got["traced"]["transfer_id"], got["traced"]["traced_fen"], strict=True))
    assert {"T1", "T2", "T3", "T4", "T5"} <= set(traced)
    assert "T6" not in traced  # beyond the aggregator
    assert all(v > 0 for v in traced.values())
    frozen = dict(zip(got["frozen"]["account"], got["frozen"]["frozen_fen"], strict=True))
    # reported at 07:00: T1's 20,000 yuan at ...002, 30,000 of T4 at ...003 and the 2,000 yuan
    # the mule's reported balance says are left of victim 2's money
    assert frozen == {"6217000000000000002": 2000000, "6217000000000000003": 3000000,
                      MULE: 200000}
    assert MULE in got["mules"]
