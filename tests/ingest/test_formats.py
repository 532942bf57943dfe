"""Partners' own shapes: column maps, constants, integer times with an epoch, yuan, Parquet,
JSONL, folders, and event-time ordering of the log."""

from __future__ import annotations

import datetime as dt
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fanzha.events import KINDS
from fanzha.ingest import IngestOptions, ParseOptions, Source, infer_kind, ingest
from fanzha.store import open_store
from fanzha.testing import random_events, rows_for_csv, write_csv


def summary(cli, *args):
    return json.loads(cli("ingest", *args, "--json").output)


def test_a_partner_file_with_its_own_columns_integer_steps_and_yuan(cli, tmp_path):
    # shaped like IBM AMLSim's transactions.csv: time is a step (hours), value in yuan
    p = tmp_path / "tx.csv"
    p.write_text("sourceNodeId,targetNodeId,value,time\n1,2,250.5,0\n2,3,100,36\n")
    out = summary(cli, str(p), "--kind", "transfer",
                  "--map", "payer_account=sourceNodeId,payee_account=targetNodeId",
                  "--map", "amount_fen=value,ts=time", "--epoch", "2020-01-01T00:00:00Z",
                  "--time-unit", "h", "--money-unit", "yuan", "--set", "source=amlsim")
    assert out["accepted"] == 2
    rows = open_store(cli.db).read_events("transfer", 0, 10).to_pylist()
    assert [r["amount_fen"] for r in rows] == [25050, 10000]
    assert rows[1]["ts"] == dt.datetime(2020, 1, 2, 12, tzinfo=dt.UTC)
    assert {r["source"] for r in rows} == {"amlsim"}


def test_map_to_an_unknown_field_or_missing_column_is_an_error(cli, tmp_path):
    p = tmp_path / "calls.csv"
    p.write_text("ts,a,b\n2026-03-02 09:00:00,17012345678,13800138000\n")
    r = cli("ingest", str(p), "--kind", "call", "--map", "caller=a,callee=b,colour=c", ok=False)
    assert "call has no field 'colour'" in r.output
    r = cli("ingest", str(p), "--kind", "call", "--map", "caller=zz,callee=b", ok=False)
    assert "the file has no column 'zz'" in r.output


def test_times_without_offset_are_asia_shanghai_unless_told(cli, tmp_path):
    p = tmp_path / "calls.csv"
    p.write_text("ts,caller,callee\n2026-03-02 08:00:00,17012345678,13800138000\n"
                 "2026-03-02T08:00:00+00:00,17012345678,13900139000\n"
                 "1772409600000,17012345678,13700137000\n")
    assert summary(cli, str(p), "--kind", "call")["accepted"] == 3
    ts = {r["callee"]: r["ts"] for r in open_store(cli.db).read_events("call", 0, 9).to_pylist()}
    assert ts["13800138000"] == dt.datetime(2026, 3, 2, 0, tzinfo=dt.UTC)
    assert ts["13900139000"] == dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    assert ts["13700137000"] == dt.datetime(2026, 3, 2, 0, tzinfo=dt.UTC)


def test_parquet_with_typed_columns(tmp_path, db):
    rng = random.Random(3)
    t = random_events("transfer", 50, rng)
    path = tmp_path / "transfers.parquet"
    pq.write_table(t, path)
    s = open_store(db)
    out = ingest(s, [Source(str(path), "transfer")]).to_dict()
    assert out["accepted"] == 50
    back = s.read_events("transfer", 0, 100)
    assert sorted(back["amount_fen"].to_pylist()) == sorted(t["amount_fen"].to_pylist())


@pytest.mark.parametrize("name", list(KINDS))
def test_random_events_of_every_kind_round_trip_through_csv(tmp_path, db, name):
    rng = random.Random(hash(name) % 1000)
    t = random_events(name, 30, rng)
    path = tmp_path / f"{name}.csv"
    write_csv(str(path), rows_for_csv(t), columns=t.column_names)
    s = open_store(db)
    out = ingest(s, [Source(str(path), name)]).to_dict()
    assert out["quarantined"] == 0, out["reasons"]
    assert out["accepted"] + out["duplicate"] == 30


def test_folder_ingest_infers_kinds_and_orders_the_log_by_event_time(cli, tmp_path):
    (tmp_path / "calls.csv").write_text("ts,caller,callee\n2026-03-02T10:00:00Z,17012345678,13800138000\n")
    (tmp_path / "report-police.csv").write_text(
        "ts,reporter_kind,target_kind,target_value,verdict\n"
        "2026-03-02T09:00:00Z,police,phone,17012345678,confirm\n")
    (tmp_path / "notes.txt").write_text("not an event file")
    out = summary(cli, str(tmp_path))
    assert out["accepted"] == 2
    s = open_store(cli.db)
    assert s.read_events("report", 0, 9)["seq"].to_pylist() == [1]  # earlier event, first seq
    assert s.read_events("call", 0, 9)["seq"].to_pylist() == [2]


def test_infer_kind_from_file_names():
    assert infer_kind("/x/calls.csv") == "call"
    assert infer_kind("waybill_access-2026-03.jsonl") == "waybill_access"
    assert infer_kind("sms.parquet") == "sms"
    assert infer_kind("cases.csv") == "case"
    assert infer_kind("whatever.csv") is None


def test_partner_event_ids_are_kept_and_deduplicate(tmp_path, db):
    p = tmp_path / "calls.jsonl"
    row = {"event_id": "op-a-1", "ts": "2026-03-02T01:00:00Z", "caller": "17012345678",
           "callee": "13800138000"}
    p.write_text(json.dumps(row) + "\n" + json.dumps({**row, "duration_s": 5}) + "\n")
    s = open_store(db)
    out = ingest(s, [Source(str(p), "call")]).to_dict()
    assert (out["accepted"], out["duplicate"]) == (1, 1)
    assert s.read_events("call", 0, 9)["event_id"].to_pylist() == ["op-a-1"]


def test_an_aborted_ingest_leaves_nothing(tmp_path, db):
    p = tmp_path / "calls.csv"
    p.write_text("ts,caller,callee\n2026-03-02T10:00:00Z,17012345678,13800138000\n")
    s = open_store(db)

    def boom(*_a):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest(s, [Source(str(p), "call")], IngestOptions(), progress=boom)
    assert s.count_events()["call"] == 0 and s.max_seq() == 0
    assert ingest(s, [Source(str(p), "call")]).to_dict()["accepted"] == 1


def test_money_in_yuan_rejects_fractions_of_a_fen(tmp_path, db):
    p = tmp_path / "transfers.csv"
    p.write_text("ts,payer_account,payee_account,amount_fen\n"
                 "2026-03-02T10:00:00Z,a,b,0.01\n2026-03-02T10:00:00Z,a,b,1.005\n")
    s = open_store(db)
    out = ingest(s, [Source(str(p), "transfer")],
                 IngestOptions(parse=ParseOptions(money_unit="yuan"))).to_dict()
    assert out["accepted"] == 1 and out["reasons"] == {"bad_money:amount_fen": 1}
    assert s.read_events("transfer", 0, 9)["amount_fen"].to_pylist() == [1]


def test_report_targets_are_normalised_by_their_kind(tmp_path, db):
    p = tmp_path / "reports.csv"
    p.write_text("ts,reporter_kind,target_kind,target_value\n"
                 "2026-03-02T10:00:00Z,citizen,phone,+86 170 1234 5678\n"
                 "2026-03-02T10:00:00Z,citizen,domain,Taobao-Refund.TOP\n"
                 "2026-03-02T10:00:00Z,citizen,phone,12\n")
    s = open_store(db)
    out = ingest(s, [Source(str(p), "report")]).to_dict()
    assert out["reasons"] == {"invalid_phone:target_value": 1}
    assert sorted(s.read_events("report", 0, 9)["target_value"].to_pylist()) == \
        ["17012345678", "taobao-refund.top"]


def test_empty_table_chunk_shapes(tmp_path, db):
    t = pa.table({"x": pa.array([], pa.string())})
    path = tmp_path / "calls.parquet"
    pq.write_table(t, path)
    s = open_store(db)
    out = ingest(s, [Source(str(path), "call")]).to_dict()
    assert out["failed_files"] == 1 and "missing required column" in out["files"][0]["error"]
