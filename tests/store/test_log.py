"""The event log on every backend: atomic ingest, deduplication, event-time positions, quarantine,
restoring a log with its own positions (Store.append_log)."""

from __future__ import annotations

import datetime as dt
import random

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fanzha.errors import FanzhaError
from fanzha.events import KINDS, kind
from fanzha.ingest import Source, ingest
from fanzha.store import open_store
from fanzha.testing import random_events, rows_for_csv, write_csv
from scenario import table

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def staged(kind_name: str, rows: list[dict]) -> pa.Table:
    """Valid events as ingest stages them: event_id, source and the kind's fields."""
    t = table(kind_name, [{k: v for k, v in r.items() if k != "event_id"} for r in rows])
    return t.add_column(0, "source", pa.array(["op"] * len(rows), pa.string())).add_column(
        0, "event_id", pa.array([r["event_id"] for r in rows], pa.string())
    )


def ingest_staged(store, files: list[tuple[str, pa.Table]]) -> dict:
    store.begin_ingest({"test": True})
    for i, (k, t) in enumerate(files):
        store.stage_events(k, t, i, content_ids=False)
    return store.commit_ingest({"files": len(files)})


def test_positions_follow_event_time_then_kind_then_id_in_byte_order(store):
    at = [T0, T0 + dt.timedelta(seconds=1)]
    # partner ids that a linguistic collation would order differently from bytes
    calls = [{"event_id": i, "ts": at[n % 2], "caller": "17012345678", "callee": "13800138000"}
             for n, i in enumerate(["b-1", "B-2", "a-3", "号-4", "_5", "a 6"])]
    sms = [{"event_id": i, "ts": at[0], "sender": "17012345678", "receiver": "13800138000",
            "text": "x"} for i in ["Z-1", "a-2"]]
    counts = ingest_staged(store, [("sms", staged("sms", sms)), ("call", staged("call", calls))])
    assert counts == {("sms", 0): (2, 0), ("call", 1): (6, 0)}
    got = sorted(
        (r["seq"], r["ts"], k, r["event_id"])
        for k in ("call", "sms") for r in store.read_events(k, 0, 99).to_pylist()
    )
    assert [g[0] for g in got] == list(range(1, 9))
    assert [g[1:] for g in got] == sorted(g[1:] for g in got)  # (ts, kind, id) in code points
    assert store.max_seq() == 8


def test_events_are_deduplicated_in_the_batch_and_against_the_log(store):
    row = {"event_id": "op-1", "ts": T0, "caller": "17012345678", "callee": "13800138000"}
    first = staged("call", [row, {**row, "duration_s": 9}, {**row, "event_id": "op-2"}])
    assert ingest_staged(store, [("call", first)]) == {("call", 0): (2, 1)}
    log = store.read_events("call", 0, 9).to_pylist()
    assert [(r["event_id"], r["duration_s"]) for r in log] == [("op-1", 0), ("op-2", 0)]
    again = staged("call", [{**row, "event_id": "op-2"}, {**row, "event_id": "op-3"}])
    assert ingest_staged(store, [("call", again)]) == {("call", 0): (1, 1)}
    assert store.read_events("call", 0, 9)["seq"].to_pylist() == [1, 2, 3]
    assert [b["batch_id"] for b in store.ingest_batches()] == [1, 2]
    assert store.ingest_batches()[1]["summary"] == {"files": 1}
    assert store.ingest_batches()[1]["description"] == {"test": True}


def test_an_aborted_batch_leaves_nothing_and_a_closed_store_aborts(db):
    row = {"event_id": "op-1", "ts": T0, "caller": "17012345678", "callee": "13800138000"}
    s = open_store(db)
    s.begin_ingest({})
    s.stage_events("call", staged("call", [row]), 0, content_ids=False)
    s.abort_ingest()
    assert s.count_events()["call"] == 0 and s.max_seq() == 0
    s.begin_ingest({})
    s.stage_events("call", staged("call", [row]), 0, content_ids=False)
    s.close()  # killed mid-batch
    s = open_store(db)
    assert s.count_events()["call"] == 0
    assert ingest_staged(s, [("call", staged("call", [row]))]) == {("call", 0): (1, 0)}
    s.close()


def test_quarantined_rows_are_kept_once_with_their_reason(store, tmp_path):
    p = tmp_path / "calls.csv"
    p.write_text("ts,caller,callee\n2026-03-02T10:00:00Z,17012345678,13800138000\n"
                 "yesterday,17012345678,13800138000\n2026-03-02T10:00:00Z,12,13800138000\n")
    first = ingest(store, [Source(str(p), "call")]).to_dict()
    again = ingest(store, [Source(str(p), "call")]).to_dict()
    assert (first["accepted"], first["quarantined"]) == (1, 2)
    assert (again["accepted"], again["duplicate"], again["quarantined"]) == (0, 1, 2)
    q = store.quarantine()
    assert q.num_rows == 2 and q["line"].to_pylist() == [3, 4]
    assert all(q["reason"].to_pylist()) and set(q["batch_id"].to_pylist()) == {1}
    assert store.quarantine(2).num_rows == 0 and store.quarantine(1).num_rows == 2


def test_find_events_compares_typed_values(store, tmp_path):
    t = random_events("call", 60, random.Random(3))
    p = tmp_path / "calls.csv"
    write_csv(str(p), rows_for_csv(t), columns=t.column_names)
    ingest(store, [Source(str(p), "call")])
    log = store.read_events("call", 0, 10**9).to_pylist()
    r = log[7]
    got = store.find_events("call", caller=r["caller"], ts=r["ts"], answered=r["answered"])
    assert r["event_id"] in got["event_id"].to_pylist()
    assert all(x["ts"] == r["ts"] for x in got.to_pylist())
    assert store.find_events("call").num_rows == len(log)
    assert store.count_events()["call"] == len(log)


def test_a_log_is_restored_with_its_own_positions(store):
    calls = staged("call", [{"event_id": f"c{i}", "ts": T0, "caller": "17012345678",
                             "callee": "13800138000"} for i in range(3)])
    k = kind("call")
    log = calls.add_column(0, "seq", pa.array([5, 7, 9], pa.int64())).add_column(
        2, "batch_id", pa.array([3, 3, 4], pa.int64())).select(k.schema.names)
    assert store.append_log({"call": log, "sms": KINDS["sms"].schema.empty_table()},
                            {"from": "lake"}) == 3
    assert store.max_seq() == 9
    assert store.read_events("call", 0, 9).to_pylist() == log.cast(k.schema).to_pylist()
    assert [b["batch_id"] for b in store.ingest_batches()] == [3, 4]
    # the log only grows at its end, and an event is in it once
    with pytest.raises(FanzhaError, match="already in use"):
        store.append_log({"call": log.slice(2)}, {})
    clash = log.slice(0, 1).set_column(0, "seq", pa.array([10], pa.int64()))
    with pytest.raises(FanzhaError, match="in the log already"):
        store.append_log({"call": clash}, {})
    twice = log.set_column(0, "seq", pa.array([20, 20, 21], pa.int64()))
    with pytest.raises(FanzhaError, match="share a log position"):
        store.append_log({"call": twice}, {})
    with pytest.raises(FanzhaError, match="lack column"):
        store.append_log({"call": log.drop_columns(["caller"])}, {})
    assert store.max_seq() == 9 and store.count_events()["call"] == 3
    # new batches are numbered after the restored ones; new events go after the restored log
    new = staged("call", [{"event_id": "c9", "ts": T0, "caller": "17012345678",
                           "callee": "13800138000"}])
    ingest_staged(store, [("call", new)])
    assert store.read_events("call", 9, 99)["seq"].to_pylist() == [10]
    assert store.ingest_batches()[-1]["batch_id"] == 5


def test_nul_characters_go_to_quarantine_on_every_backend(store, tmp_path):
    """PostgreSQL cannot store NUL in text; no field means anything by it, so it is quarantined
    on every backend alike (raw rows are shown with NUL written as \\x00)."""
    row = {"ts": "2026-03-02T01:00:00Z", "sender": "17012345678", "receiver": "13800138000"}
    p = tmp_path / "sms.jsonl"
    p.write_text("\n".join(orjson.dumps(r).decode() for r in (
        {**row, "text": "a\u0000b"}, {**row, "text": "tab\tand\nnewline are text"})) + "\n")
    out = ingest(store, [Source(str(p), "sms")]).to_dict()
    assert (out["accepted"], out["reasons"]) == (1, {"bad_value:text": 1})
    q = tmp_path / "sms.parquet"
    pq.write_table(pa.table({k: [v] for k, v in {**row, "sender_imei": "35\x001",
                                                   "text": "x"}.items()}), q)
    out = ingest(store, [Source(str(q), "sms")]).to_dict()
    assert out["quarantined"] == 1 and out["accepted"] == 0
    assert all("\x00" not in r["raw"] for r in store.quarantine().to_pylist())
    assert store.read_events("sms", 0, 9)["text"].to_pylist() == ["tab\tand\nnewline are text"]
