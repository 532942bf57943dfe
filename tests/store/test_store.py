"""The store contract: what every backend must do. Each test taking `db` runs on DuckDB and on
PostgreSQL (tests/store/conftest.py)."""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess

import pyarrow as pa
import pytest

from fanzha.decide import ALERT_SCHEMA
from fanzha.engine.protocol import SIGNAL_SCHEMA
from fanzha.errors import FanzhaError
from fanzha.ingest import Source, ingest
from fanzha.store import is_postgres, open_store
from fanzha.store.tables import LIST_SCHEMA, OUTCOME_SCHEMA, TASK_SCHEMA
from fanzha.testing import random_events, rows_for_csv, write_csv
from helpers import fanzha_cmd, raw_sql

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def _signal(i: int) -> dict:
    return {"signal_id": f"s{i}", "detector": "d", "seq": i, "ts": T0, "entity_kind": "phone",
            "entity": "13800138000", "score": 0.5, "fraud_type": None, "evidence": "because",
            "details": None, "event_ids": [f"e{i}"]}


def _alert(aid: str, tier: str) -> dict:
    return {"alert_id": aid, "rule": "r", "dedup_key": "k", "entity_kind": "phone",
            "entity": "13800138000", "tier": tier, "actions": ["sms"], "fraud_type": None,
            "score": 0.5, "first_ts": T0, "last_ts": T0, "first_seq": 1, "last_seq": 1,
            "n_signals": 1, "signal_ids": ["s1"], "evidence": "because", "sla_due": T0,
            "escalations": 0, "policy_version": "v"}


def test_commit_step_is_atomic_and_idempotent(store):
    sig = pa.Table.from_pylist([_signal(1), _signal(2)], schema=SIGNAL_SCHEMA)
    store.commit_step(2, sig, pa.Table.from_pylist([_alert("a1", "low")], schema=ALERT_SCHEMA),
                      {"d": {"x": b"state-1"}})
    store.commit_step(3, sig, pa.Table.from_pylist([_alert("a1", "high")], schema=ALERT_SCHEMA),
                      {"d": {"x": b"state-2"}})
    assert store.signals().num_rows == 2  # the same signal ids are not added twice
    assert store.alerts()["tier"].to_pylist() == ["high"]  # upserted, not doubled
    assert store.load_engine() == (3, {"d": {"x": b"state-2"}})
    bad = pa.Table.from_pylist([{**_signal(3), "score": None}])
    with pytest.raises(Exception):  # noqa: B017 - any failure must leave the last commit intact
        store.commit_step(4, bad, ALERT_SCHEMA.empty_table(), {"d": {"x": b"state-3"}})
    assert store.load_engine() == (3, {"d": {"x": b"state-2"}})
    store.reset_engine()
    assert store.load_engine() == (0, {}) and store.signals().num_rows == 0


def test_keyed_partitions_commit_in_order_exactly_once(store):
    def sig(i: int, det: str) -> dict:
        return {**_signal(i), "signal_id": f"{det}{i}", "detector": det}

    assert store.keyed_partitions() is None and store.shard_watermarks(3) == [0, 0, 0]
    two = pa.Table.from_pylist([sig(4, "k"), sig(2, "k"), sig(3, "other")], schema=SIGNAL_SCHEMA)
    store.commit_shard(3, 1, 0, 5, two, {"k": {"x": b"s1"}})
    store.commit_shard(3, 1, 5, 9, two, {"k": {"x": b"s2"}})  # a redelivery adds no signal
    store.commit_shard(3, 2, 0, 9, pa.Table.from_pylist([sig(7, "k")], schema=SIGNAL_SCHEMA), {})
    assert store.keyed_partitions() == 3 and store.shard_watermarks(3) == [0, 9, 9]
    assert store.load_shard(1) == (9, {"k": {"x": b"s2"}})
    assert store.load_shard(0) == (0, {})
    assert store.signals().num_rows == 4
    got = store.keyed_signals(["k"], 2, 7)  # (2, 7], in seq order, of the named detectors
    assert got["signal_id"].to_pylist() == ["k4", "k7"] and got.schema == SIGNAL_SCHEMA
    with pytest.raises(FanzhaError, match="another worker moved keyed partition 1"):
        store.commit_shard(3, 1, 5, 12, two, {"k": {"x": b"late"}})  # a stale worker's commit
    with pytest.raises(FanzhaError, match="runs with 3 partitions, not 4"):
        store.commit_shard(4, 0, 0, 12, two, {})
    assert store.load_shard(1) == (9, {"k": {"x": b"s2"}})
    store.reset_engine()
    assert store.keyed_partitions() is None and store.shard_watermarks(3) == [0, 0, 0]
    assert store.load_shard(1) == (0, {})


def test_audit_log_is_hash_chained_and_tampering_is_detected(store, db):
    for i in range(3):
        store.append_audit("analyst-1", "centre_analyst", "view_unmasked", f"case:{i}",
                           "case work", {"i": i})
    assert store.verify_audit()
    log = store.audit_log().to_pylist()
    assert [r["n"] for r in log] == [1, 2, 3] and log[1]["prev_hash"] == log[0]["hash"]
    store.close()
    raw_sql(db, "UPDATE audit SET reason = 'nothing to see' WHERE n = 2")
    s = open_store(db)
    assert s.audit_log()["reason"].to_pylist()[1] == "nothing to see"
    assert not s.verify_audit()
    s.close()


def test_list_entries_are_idempotent_and_filterable(store):
    rows = [{"entry_id": f"e{i}", "list_name": "freeze", "partner": p, "entity_kind": "account",
             "entity": f"acct{i}", "action": "freeze", "reason": "mule", "evidence": "x",
             "created_ts": T0, "expires_ts": T0 + dt.timedelta(hours=48), "ref": "case-1"}
            for i, p in enumerate(["bank-a", "bank-b", "bank-a"])]
    t = pa.Table.from_pylist(rows, schema=LIST_SCHEMA)
    assert store.add_list_entries(t) == 3
    assert store.add_list_entries(t) == 0
    assert store.list_entries(partner="bank-a").num_rows == 2
    assert store.list_entries(list_name="cancel").num_rows == 0


def test_cases_and_policies(store):
    store.put_case("J1", "open", {"victims": ["13800138000"]})
    store.put_case("J1", "closed", {"victims": ["13800138000"]})
    assert store.cases() == [{"case_id": "J1", "status": "closed",
                              "data": {"victims": ["13800138000"]}}]
    assert store.active_policy() is None
    store.save_policy("v1", "name: a", "me", "first")
    store.save_policy("v2", "name: b", "me", "second", activate=False)
    assert store.active_policy() == ("v1", "name: a")


def test_policy_history_keeps_every_apply_and_rollback_in_order(store):
    assert store.policy_history() == []
    for v, who, why in (("v1", "ann", "first"), ("v2", "bo", "raise"), ("v1", "ann", "back")):
        store.save_policy(v, f"name: {v}", who, why)
    got = store.policy_history()
    assert [(r["version"], r["author"], r["reason"], r["text"]) for r in got] == [
        ("v1", "ann", "first", "name: v1"),
        ("v2", "bo", "raise", "name: v2"),
        ("v1", "ann", "back", "name: v1"),
    ]
    assert all(r["created_at"].tzinfo is not None for r in got)
    assert got[0]["created_at"] <= got[1]["created_at"] <= got[2]["created_at"]
    assert store.active_policy() == ("v1", "name: v1")


def test_lookup_respects_seq_and_time_bounds(store, tmp_path):
    rng = random.Random(5)
    t = random_events("call", 100, rng)
    p = tmp_path / "calls.csv"
    write_csv(str(p), rows_for_csv(t), columns=t.column_names)
    ingest(store, [Source(str(p), "call")])
    n = t["caller"][0].as_py()
    got = store.lookup_events("call", ("caller", "callee"), [n], 60)
    assert got.num_rows > 0 and max(got["seq"].to_pylist()) <= 60
    assert all(n in (r["caller"], r["callee"]) for r in got.to_pylist())
    since = T0 + dt.timedelta(days=3)
    later = store.lookup_events("call", ("caller",), [n], 10**9, since)
    assert all(r["ts"] >= since for r in later.to_pylist())
    with pytest.raises(FanzhaError, match="no field"):
        store.lookup_events("call", ("colour",), [n], 5)


def test_read_event_columns_gives_only_those_columns_in_log_order(store, tmp_path):
    t = random_events("transfer", 50, random.Random(6))
    p = tmp_path / "transfers.csv"
    write_csv(str(p), rows_for_csv(t), columns=t.column_names)
    ingest(store, [Source(str(p), "transfer")])
    got = store.read_event_columns("transfer", ["seq", "amount_fen", "payee_type"], 10, 30)
    whole = store.read_events("transfer", 10, 30)
    assert got.column_names == ["seq", "amount_fen", "payee_type"]
    assert got.to_pylist() == whole.select(["seq", "amount_fen", "payee_type"]).to_pylist()
    assert got.schema.field("amount_fen").type == pa.int64()
    with pytest.raises(FanzhaError, match="no field"):
        store.read_event_columns("transfer", ["colour"], 0, 10)


def test_new_optional_fields_are_added_to_an_existing_log(db):
    s = open_store(db)
    s.close()
    raw_sql(db, "ALTER TABLE ev_call DROP COLUMN call_id")
    s = open_store(db)
    assert "call_id" in s.read_events("call", 0, 1).column_names
    s.close()


def test_a_second_writer_is_served_by_a_server_but_not_by_a_file(db, env, cli):
    s = open_store(db)
    try:
        if is_postgres(db):  # a server serves many (API workers, engine, analysts; see
            # tests/store/test_postgres.py for separate processes): here a second connection
            r = cli("status", "--json")
            assert '"max_seq": 0' in r.output
        else:  # a DuckDB file has one writer: a second process gets a one-line reason
            r = subprocess.run([*fanzha_cmd(), "status", "--db", db], capture_output=True,
                               text=True, env=env, timeout=120)
            assert r.returncode == 2
            assert r.stderr.startswith("fanzha: error: database") and "in use" in r.stderr
            assert r.stderr.count("\n") == 1
    finally:
        s.close()


def test_store_tasks_upsert_and_outcomes_deduplicate(db):
    row = {f.name: None for f in TASK_SCHEMA} | {"task_id": "t1", "status": "failed",
                                                 "attempts": 1}
    with open_store(db) as s:
        s.put_tasks(pa.Table.from_pylist([row], schema=TASK_SCHEMA))
        s.put_tasks(pa.Table.from_pylist([row | {"status": "sent", "attempts": 2}],
                                         schema=TASK_SCHEMA))
        assert s.tasks()["status"].to_pylist() == ["sent"] and s.tasks("failed").num_rows == 0
        o = {f.name: None for f in OUTCOME_SCHEMA} | {"outcome_id": "o1", "task_id": "t1"}
        assert s.add_outcomes(pa.Table.from_pylist([o, o], schema=OUTCOME_SCHEMA)) == 1
        assert s.add_outcomes(pa.Table.from_pylist([o], schema=OUTCOME_SCHEMA)) == 0


def test_store_role_signals(db):
    t0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    rows = [{"signal_id": f"s{i}", "detector": "d", "seq": i, "ts": t0, "entity_kind": k,
             "entity": e, "score": 0.5, "fraud_type": None, "evidence": "because",
             "details": json.dumps({"role": r}), "event_ids": []}
            for i, (k, e, r) in enumerate([("phone", "17012345678", "suspect"), ("phone", "1", "exposed"),
                                           ("domain", "x.top", "suspect")])]
    with open_store(db) as s:
        s.commit_step(3, pa.Table.from_pylist(rows, schema=SIGNAL_SCHEMA),
                      pa.Table.from_pylist([], schema=ALERT_SCHEMA), {})
        assert s.role_signals("suspect")["entity"].to_pylist() == ["17012345678", "x.top"]
        assert s.role_signals("suspect", "domain", "x.top").num_rows == 1
        assert s.role_signals("exposed", "phone", "17012345678").num_rows == 0


def test_shadow_policy_alerts_are_kept_apart_and_forgotten_on_stop(store):
    row = {"alert_id": "a1", "rule": "r", "dedup_key": "k", "entity_kind": "phone",
           "entity": "13800138000", "tier": "high", "actions": ["call"], "fraud_type": None,
           "score": 0.9, "first_ts": dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
           "last_ts": dt.datetime(2026, 3, 1, tzinfo=dt.UTC), "first_seq": 1, "last_seq": 1,
           "n_signals": 1, "signal_ids": ["s"], "evidence": "e", "sla_due": None,
           "escalations": 0, "policy_version": "v2"}
    assert store.shadow_policy() is None
    store.save_policy("v2", "name: b", "me", "candidate", activate=False)
    store.set_shadow_policy("v2")
    assert store.shadow_policy() == ("v2", "name: b", 0)
    assert store.active_policy() is None  # the shadow is not live
    store.put_shadow_alerts(pa.Table.from_pylist([row], schema=ALERT_SCHEMA))
    store.put_shadow_alerts(pa.Table.from_pylist([{**row, "tier": "medium"}], schema=ALERT_SCHEMA))
    got = store.shadow_alerts().to_pylist()
    assert [(r["alert_id"], r["tier"]) for r in got] == [("a1", "medium")]
    assert store.alerts().num_rows == 0
    store.set_shadow_policy(None)
    assert store.shadow_policy() is None and store.shadow_alerts().num_rows == 0
