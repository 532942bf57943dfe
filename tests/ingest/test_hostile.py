"""Every hostile input the foundation issue names: a clear message or quarantine with the right
reason, and read = accepted + duplicate + quarantined every time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fanzha.ingest import IngestOptions, Source, ingest
from fanzha.store import open_store

HEADER = "ts,caller,callee,duration_s\n"
GOOD = "2026-03-02 09:00:00,17012345678,13800138000,120\n"


def run(cli, path: Path, kind: str = "call", *extra: str, ok: bool = True) -> dict:
    r = cli("ingest", str(path), "--kind", kind, "--json", *extra, ok=ok)
    if r.exit_code != 0 and not r.output.lstrip().startswith("{"):
        return {"error": r.output}
    out = json.loads(r.output[: r.output.rindex("}") + 1])
    assert out["read"] == out["accepted"] + out["duplicate"] + out["quarantined"]
    for f in out["files"]:
        assert f["read"] == f["accepted"] + f["duplicate"] + f["quarantined"]
    return out


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


def test_empty_file_is_a_clear_error_and_other_files_still_go_in(cli, tmp_path):
    empty = write(tmp_path, "empty.csv", b"")
    good = write(tmp_path, "calls.csv", HEADER + GOOD)
    r = cli("ingest", str(empty), str(good), "--kind", "call", ok=False)
    assert r.exit_code != 0 and "file is empty" in r.output
    assert open_store(cli.db).count_events()["call"] == 1


def test_header_only_reads_nothing_and_succeeds(cli, tmp_path):
    out = run(cli, write(tmp_path, "calls.csv", HEADER))
    assert out["read"] == 0 and out["failed_files"] == 0


def test_missing_required_column_names_it_and_how_to_map_it(cli, tmp_path):
    p = write(tmp_path, "calls.csv", "ts,from,callee\n2026-03-02 09:00:00,17012345678,13800138000\n")
    r = cli("ingest", str(p), "--kind", "call", ok=False)
    assert r.exit_code != 0
    assert "missing required column(s) caller" in r.output and "--map caller=COLUMN" in r.output
    out = run(cli, p, "call", "--map", "caller=from")
    assert out["accepted"] == 1


def test_wrong_types_are_quarantined_with_field_and_value(cli, tmp_path):
    p = write(tmp_path, "calls.csv", HEADER + GOOD
              + "2026-03-02 09:01:00,17012345678,13800138000,long\n"
              + "yesterday,17012345678,13800138000,5\n")
    out = run(cli, p)
    assert out["accepted"] == 1
    assert out["reasons"] == {"bad_int:duration_s": 1, "bad_time:ts": 1}
    rows = json.loads(cli("quarantine", "--json").output)["rows"]
    assert {r["line"] for r in rows} == {3, 4}
    assert any("'long' is not an integer" in r["reason"] for r in rows)


def test_broken_utf8_row_is_quarantined_the_rest_accepted(cli, tmp_path):
    bad = "2026-03-02 09:01:00,17012345678,1380\xff0138001,5\n".encode("latin-1")
    p = write(tmp_path, "calls.csv", (HEADER + GOOD).encode() + bad + GOOD.replace("09:00", "09:05").encode())
    out = run(cli, p)
    assert out["accepted"] == 2 and out["reasons"] == {"bad_encoding": 1}
    row = json.loads(cli("quarantine", "--json").output)["rows"][0]
    assert row["line"] == 3 and "\\xff" in row["raw"]


def test_gbk_file_is_detected_and_decoded(cli, tmp_path):
    text = ("ts,sender,receiver,text\n"
            "2026-03-02 09:00:00,10690000123,13800138000,【某快递】您的包裹丢失，请联系客服理赔\n")
    p = write(tmp_path, "sms.csv", text.encode("gbk"))
    out = run(cli, p, "sms")
    assert out["accepted"] == 1
    stored = open_store(cli.db).find_events("sms", receiver="13800138000").to_pylist()[0]
    assert stored["text"] == "【某快递】您的包裹丢失，请联系客服理赔"


def test_a_10_mb_field_is_quarantined_not_a_crash(cli, tmp_path):
    huge = "您" * (10 * 1024 * 1024 // 3)
    p = write(tmp_path, "sms.csv", "ts,sender,receiver,text\n"
              + f"2026-03-02 09:00:00,10690000123,13800138000,{huge}\n"
              + "2026-03-02 09:00:01,10690000123,13800138000,ok\n")
    out = run(cli, p, "sms")
    assert out["accepted"] == 1 and out["reasons"] == {"too_long:text": 1}
    row = json.loads(cli("quarantine", "--json").output)["rows"][0]
    assert "truncated" in row["raw"] and len(row["raw"]) < 70_000


def test_nul_bytes_are_quarantined(cli, tmp_path):
    p = write(tmp_path, "calls.csv", HEADER + GOOD + "2026-03-02 09:01:00,1701234\x005678,13800138000,5\n")
    out = run(cli, p)
    assert out["accepted"] == 1 and out["reasons"] == {"nul_byte": 1}


def test_negative_and_absurd_amounts_are_out_of_range(cli, tmp_path):
    p = write(tmp_path, "transfers.csv", "ts,payer_account,payee_account,amount_fen\n"
              "2026-03-02 10:00:00,a1,b1,-500\n"
              "2026-03-02 10:00:00,a1,b1,99999999999999999\n"
              "2026-03-02 10:00:00,a1,b1,0\n"
              "2026-03-02 10:00:00,a1,b1,4990000\n")
    out = run(cli, p, "transfer")
    assert out["accepted"] == 1 and out["reasons"] == {"out_of_range:amount_fen": 3}


def test_timestamps_in_the_far_future_or_past_are_out_of_range(cli, tmp_path):
    p = write(tmp_path, "calls.csv", HEADER + GOOD
              + "2099-01-01 00:00:00,17012345678,13800138000,1\n"
              + "1970-01-02 00:00:00,17012345678,13800138000,1\n")
    out = run(cli, p)
    assert out["accepted"] == 1 and out["reasons"] == {"out_of_range:ts": 2}


def test_invalid_id_numbers_and_phones_are_quarantined(cli, tmp_path):
    p = write(tmp_path, "registrations.csv", "ts,platform,account_id,phone,id_number\n"
              "2026-03-02 11:00:00,shop-a,u1,13800138000,11010519491231002X\n"
              "2026-03-02 11:00:00,shop-a,u2,13800138000,110105194912310021\n"
              "2026-03-02 11:00:00,shop-a,u3,1380013800,11010519491231002X\n")
    out = run(cli, p, "registration")
    assert out["accepted"] == 1
    assert out["reasons"] == {"invalid_id_number:id_number": 1, "invalid_phone:phone": 1}
    reasons = [r["reason"] for r in json.loads(cli("quarantine", "--json").output)["rows"]]
    assert any("check character should be X" in r for r in reasons)


def test_duplicate_rows_and_reingest_add_nothing(cli, tmp_path):
    p = write(tmp_path, "calls.csv", HEADER + GOOD + GOOD + "bad\n")
    first = run(cli, p)
    assert (first["accepted"], first["duplicate"], first["quarantined"]) == (1, 1, 1)
    second = run(cli, p)
    assert (second["accepted"], second["duplicate"], second["quarantined"]) == (0, 2, 1)
    s = open_store(cli.db)
    assert s.count_events()["call"] == 1 and s.quarantine().num_rows == 1


def test_unknown_kind_is_a_clear_error(cli, tmp_path):
    p = write(tmp_path, "x.csv", HEADER + GOOD)
    r = cli("ingest", str(p), "--kind", "fax", ok=False)
    assert r.exit_code != 0 and "unknown event kind 'fax'" in r.output


def test_jsonl_bad_lines_are_quarantined(cli, tmp_path):
    good = {"ts": "2026-03-02T01:00:00Z", "caller": "17012345678", "callee": "13800138000"}
    p = write(tmp_path, "calls.jsonl", json.dumps(good) + "\n{not json\n[1,2]\n"
              + json.dumps({**good, "callee": None}) + "\n")
    out = run(cli, p)
    assert out["accepted"] == 1
    assert out["reasons"] == {"bad_json": 2, "missing_value:callee": 1}


def test_wrong_field_count_and_unreadable_parquet(cli, tmp_path):
    p = write(tmp_path, "calls.csv", HEADER + GOOD + "2026-03-02 09:00:00,1,2,3,4,5\n")
    assert run(cli, p)["reasons"] == {"wrong_field_count": 1}
    pq = write(tmp_path, "calls.parquet", b"PAR1 this is not parquet")
    r = cli("ingest", str(pq), "--kind", "call", ok=False)
    assert r.exit_code != 0 and "not a readable Parquet file" in r.output


junk = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(junk, min_size=0, max_size=6), max_size=20))
def test_any_garbage_never_crashes_and_counts_add_up(tmp_path_factory, rows):
    d = tmp_path_factory.mktemp("fuzz")
    import csv

    path = d / "calls.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["ts", "caller", "callee", "duration_s"])
        w.writerows(rows)
    store = open_store(str(d / "db.duckdb"))
    summary = ingest(store, [Source(str(path), "call")], IngestOptions())
    total = summary.to_dict()
    assert total["read"] == total["accepted"] + total["duplicate"] + total["quarantined"]
    assert store.count_events()["call"] == total["accepted"]
    store.close()


@pytest.mark.parametrize("raw", [b"\xef\xbb\xbf" + (HEADER + GOOD).encode(),
                                 (HEADER + GOOD).replace(",", "\t").encode(),
                                 (HEADER + GOOD).replace("\n", "\r\n").encode()])
def test_bom_tabs_and_crlf_are_read(cli, tmp_path, raw):
    assert run(cli, write(tmp_path, "calls.csv", raw))["accepted"] == 1


def test_rows_with_integers_beyond_64_bits_are_quarantined(db):
    from fanzha.ingest import ingest_rows

    rows = [{"ts": "2026-03-02T09:00:00Z", "caller": "17012345678", "callee": "13800138000"},
            {"ts": "2026-03-02T09:00:00Z", "caller": "17012345678", "callee": "13800138000",
             "duration_s": -(2**63) - 1}]
    with open_store(db) as s:
        d = ingest_rows(s, "call", rows).to_dict()
        assert (d["read"], d["accepted"], d["quarantined"]) == (2, 1, 1)
        assert d["reasons"] == {"bad_int:duration_s": 1}
        (q,) = s.quarantine().to_pylist()
        assert q["line"] == 2 and "-9223372036854775809" in q["raw"]
