"""Decoy waybills: unique monitored numbers per placement; a call to one pins the source."""

from __future__ import annotations

import csv
import json

from fanzha.ingest import ingest_rows
from fanzha.store import open_store


def test_decoys_are_unique_per_placement_and_never_a_number_in_use(cli, db, tmp_path):
    with open_store(db) as s:  # a number already in the log is never a clean decoy
        ingest_rows(s, "call", [{"ts": "2026-03-01T00:00:00Z", "caller": "17099000000",
                                 "callee": "13800138000", "duration_s": 5}])
    out = tmp_path / "plant.csv"
    a = json.loads(cli("leaks", "decoys", "issue", "--site", "wh-07", "--device", "pc-02",
                       "--pool", "1709900", "--count", "2", "-o", str(out), "--json").output)
    b = json.loads(cli("leaks", "decoys", "issue", "--site", "wh-07", "--account", "sub-9",
                       "--pool", "1709900", "--json").output)
    numbers = [d["decoy"] for d in a["issued"] + b["issued"]]
    assert len(set(numbers)) == 3 and "17099000000" not in numbers
    assert {d["placement"] for d in a["issued"]} == {"wh-07/pc:pc-02"}
    assert b["issued"][0]["placement"] == "wh-07/account:sub-9"
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["decoy"] for r in rows] == numbers[:2] and all(r["name"] and r["address"] for r in rows)
    listed = json.loads(cli("leaks", "decoys", "list", "--json").output)["decoys"]
    assert len(listed) == 3


def test_a_call_to_a_decoy_pins_the_placement_and_the_fraud_number(cli, db):
    d = json.loads(cli("leaks", "decoys", "issue", "--site", "wh-07", "--device", "pc-02",
                       "--pool", "1709900", "--at", "2026-03-01T00:00:00Z",
                       "--json").output)["issued"][0]["decoy"]
    assert "no decoy" in cli("leaks", "decoys", "hits").output
    with open_store(db) as s:  # a call before it was planted is no hit
        ingest_rows(s, "call", [{"ts": "2026-02-28T02:00:00Z", "caller": "16500002222",
                                 "callee": d, "duration_s": 40}])
        ingest_rows(s, "call", [{"ts": "2026-03-03T02:00:00Z", "caller": "16500001111",
                                 "callee": d, "duration_s": 40}])
        ingest_rows(s, "case", [{"ts": "2026-03-04T02:00:00Z", "case_id": "J1",
                                 "fraud_type": "fake_customer_service",
                                 "victim_phone": "13800138000", "fraud_contact": "16500001111",
                                 "paid_at": "2026-03-04T01:00:00Z"}])
        ingest_rows(s, "order", [{"ts": "2026-02-27T02:00:00Z", "order_id": "O1",
                                  "account_id": "u1", "shop_id": "s-1", "warehouse_id": "wh-07",
                                  "ship_phone": "13800138000"}])
    hits = json.loads(cli("leaks", "decoys", "hits", "--json").output)["hits"]
    assert [(h["fraud_contact"], h["placement"]) for h in hits] == [("16500001111",
                                                                     "wh-07/pc:pc-02")]
    rep = json.loads(cli("leaks", "source", "--fraud-type", "fake_customer_service", "-o",
                         str(__import__("pathlib").Path(db).with_suffix(".json")),
                         "--json").output)
    assert rep["sources"][0]["tp"] == "decoy:wh-07" and rep["sources"][0]["certain"]


def test_bad_decoy_requests_are_one_line_errors(cli):
    for args, words in ((["--pool", "17a"], "--pool must be"),
                        (["--pool", "1709900", "--count", "0"], "--count must be"),
                        (["--pool", "1709900", "--device", "p", "--account", "a"], "not both")):
        r = cli("leaks", "decoys", "issue", "--site", "wh-1", *args, ok=False)
        assert r.exit_code == 2 and words in r.output
