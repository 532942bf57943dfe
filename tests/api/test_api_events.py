"""Events in over HTTP: the same validation, quarantine and summary as `fanzha ingest`, and a
partner speaks only for itself."""

from __future__ import annotations

import json
import shutil

import orjson
from fastapi.testclient import TestClient

from api_world import FRAUD, OTHER, VICTIM
from fanzha.api import ApiSettings, create_app

CALLS = [
    {"ts": "2026-03-05T10:00:00+08:00", "caller": "170 1234 5678", "callee": VICTIM,
     "duration_s": 30},
    {"ts": "2026-03-05T10:01:00Z", "caller": FRAUD, "callee": "not-a-phone"},  # bad callee
    {"ts": "yesterday", "caller": FRAUD, "callee": OTHER},  # bad time
    {"caller": FRAUD, "callee": OTHER},  # no time
    {"ts": "2026-03-05T10:00:00+08:00", "caller": "17012345678", "callee": VICTIM,
     "duration_s": 30},  # the first one again, normalised: a duplicate
    {"ts": {"nested": [1, 2]}, "caller": ["x"], "callee": 13800138000, "duration_s": "∞" * 10_000},
]


def _same(a: dict, b: dict) -> None:
    for d in (a, b):
        d.pop("batch_id")
        for f in d["files"]:
            f.pop("path")
    assert a == b


def test_a_batch_gives_the_summary_of_fanzha_ingest(api, cli, tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in CALLS))
    by_cli = json.loads(cli("ingest", str(path), "--kind", "call", "--json").output)
    by_api = api.ok("POST", "operator", "/v1/events/call", json={"events": CALLS})
    assert by_api["read"] == 6 and by_api["accepted"] == 1 and by_api["duplicate"] == 1
    assert by_api["quarantined"] == 4 and by_api["failed_files"] == 0
    assert by_api["reasons"] == {"bad_time:ts": 2, "invalid_phone:callee": 1,
                                 "missing_value:ts": 1}
    batch = by_api["batch_id"]
    _same(by_api, by_cli)
    again = api.ok("POST", "operator", "/v1/events/call", json={"events": CALLS[:1]})
    assert again["accepted"] == 0 and again["duplicate"] == 1
    q = api.ok("GET", "analyst", "/v1/quarantine", params={"batch_id": batch})
    assert len(q) == 4 and all(r["reason"] for r in q)
    assert "not-a-phone" in str(q) and VICTIM not in str(q)  # raw rows are masked by default


def test_a_file_upload_maps_columns_and_units(api):
    csv_text = ("时间,付款账号,收款账号,金额\n"
                "2026-03-05 10:00:00,6222020200001234567,6217000000000000009,12.50\n"
                "2026-03-05 10:05:00,6222020200001234567,,3\n")
    r = api.ok("POST", "bank", "/v1/events/transfer/file",
               files={"file": ("流水.csv", csv_text.encode("gb18030"), "text/csv")},
               data={"column_map": "ts=时间,payer_account=付款账号,payee_account=收款账号,"
                                   "amount_fen=金额", "money_unit": "yuan"})
    assert (r["read"], r["accepted"], r["quarantined"]) == (2, 1, 1)
    assert r["files"][0]["path"] == "api:bank-ccb:流水.csv"
    (row,) = api.store().find_events("transfer", payee_account="6217000000000000009").to_pylist()
    assert row["amount_fen"] == 1250 and row["source"] == "bank-ccb"
    assert row["ts"].isoformat() == "2026-03-05T02:00:00+00:00"  # Asia/Shanghai by default


def test_a_file_that_cannot_be_read_says_why(api):
    r = api.post("bank", "/v1/events/transfer/file",
                 files={"file": ("t.csv", b"a,b\n1,2\n", "text/csv")})
    assert r.status_code == 400 and "missing required column" in r.json()["files"][0]["error"]
    r = api.post("bank", "/v1/events/transfer/file", files={"file": ("t.xlsx", b"x", "x/y")})
    assert r.status_code == 400 and "format" in r.text
    r = api.post("bank", "/v1/events/transfer/file", files={"file": ("t", b"x", "x/y")},
                 data={"format": "xls"})
    assert r.status_code == 400
    r = api.post("bank", "/v1/events/transfer/file", files={"file": ("t.csv", b"x", "text/csv")},
                 data={"tz": "Mars/Olympus"})
    assert r.status_code == 422 and "time zone" in r.text
    r = api.post("bank", "/v1/events/transfer/file", files={"file": ("t.csv", b"x", "text/csv")},
                 data={"column_map": "oops"})
    assert r.status_code == 400


def test_bodies_over_the_limit_are_refused(world, tmp_path):
    path, keys = world
    db = str(tmp_path / "f.duckdb")
    shutil.copy(path, db)
    auth = {"Authorization": f"Bearer {keys['operator']}"}
    with TestClient(create_app(db, ApiSettings(upload_limit_bytes=300))) as c:
        r = c.post("/v1/events/call", headers=auth, json={"events": [{"ts": "x" * 400}]})
        assert r.status_code == 413 and "larger than 300 bytes" in r.text  # declared length
        part = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\n"
                b"Content-Type: text/csv\r\n\r\nts,caller,callee\n" + b"x" * 400 + b"\r\n--b--\r\n")
        r = c.post("/v1/events/call/file", content=iter([part[:100], part[100:]]),
                   headers={**auth, "Content-Type": "multipart/form-data; boundary=b"})
        assert r.status_code == 413 and "file is larger" in r.text  # counted while copied


def test_a_partner_speaks_only_for_itself(api):
    report = {"ts": "2026-03-05T10:00:00Z", "reporter_kind": "police", "target_kind": "phone",
              "target_value": "17099998888", "verdict": "confirm", "source": "police-xm"}
    r = api.ok("POST", "bank", "/v1/events/report", json={"events": [report]})
    assert r["accepted"] == 1
    (row,) = api.store().find_events("report", target_value="17099998888").to_pylist()
    assert (row["reporter_kind"], row["source"]) == ("bank", "bank-ccb")
    check = api.ok("GET", "analyst", "/v1/intel/check", params={"value": "17099998888"})
    assert check["status"] != "confirmed"  # a bank cannot confirm by claiming to be police
    card = {"ts": "2026-03-05T10:00:00Z", "card_type": "bank", "card_number": "13712345678",
            "id_number": "11010519491231002X"}
    api.ok("POST", "operator", "/v1/events/card", json={"events": [card]})
    (row,) = api.store().find_events("card", card_number="13712345678").to_pylist()
    assert row["card_type"] == "sim" and row["source"] == "operator-a"
    r = api.post("bank", "/v1/events/transfer",
                 json={"events": [{}], "options": {"column_map": {"source": "x"}}})
    assert r.status_code == 403
    r = api.post("operator", "/v1/events/transfer", json={"events": [{}]})
    assert r.status_code == 403 and "may not send transfer" in r.text
    centre = api.ok("POST", "analyst", "/v1/events/call",
                    json={"events": [{**CALLS[0], "ts": "2026-03-06T10:00:00Z",
                                      "source": "operator-b"}]})
    assert centre["accepted"] == 1  # the centre loads partners' files as they are


def test_bad_batches_are_refused_clearly(api):
    for body in ({"events": "x"}, {"events": [1, 2]}, {"rows": []}, {"events": []},
                 {"events": [{}], "options": {"tz": "Nowhere/Here"}},
                 {"events": [{}], "options": {"money_unit": "dollar"}}):
        r = api.post("operator", "/v1/events/call", json=body)
        assert r.status_code == 422, body
    assert api.post("operator", "/v1/events/calls", json={"events": [{}]}).status_code == 422
    r = api.post("operator", "/v1/events/call", content=b"{not json",
                 headers={"Content-Type": "application/json"})
    assert r.status_code == 422


def test_kinds_and_their_schemas(shared_api):
    kinds = shared_api.ok("GET", "bank", "/v1/kinds")
    assert {k["name"] for k in kinds} >= {"call", "transfer", "card", "report"}
    s = shared_api.ok("GET", "bank", "/v1/kinds/transfer/schema")
    assert s["title"] == "transfer" and "amount_fen" in s["required"]
