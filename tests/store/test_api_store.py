"""The store methods the HTTP API needs (keys, alert actions, one-time codes, partners,
notifications): what any backend must do."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from fanzha.errors import FanzhaError
from fanzha.store.tables import ALERT_ACTION_SCHEMA, NOTIFICATION_SCHEMA

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def _key(key_id: str, key_hash: str, **kw) -> dict:
    return {
        "key_id": key_id,
        "key_hash": key_hash,
        "org": "bank-a",
        "role": "bank",
        "created_ts": T0,
        **kw,
    }


def test_api_keys_are_found_by_hash_and_revoked_once(store):
    store.add_api_key(_key("k1", "h1", label="risk team"))
    store.add_api_key(
        _key(
            "k2",
            "h2",
            role="citizen",
            subject="11010519491231002X",
            expires_ts=T0 + dt.timedelta(minutes=15),
        )
    )
    with pytest.raises(FanzhaError, match="exists"):
        store.add_api_key(_key("k1", "h9"))
    assert store.api_key("h1")["org"] == "bank-a"
    assert store.api_key("h2")["subject"] == "11010519491231002X"
    assert store.api_key("nope") is None
    assert store.revoke_api_key("k1", T0) is True
    assert store.revoke_api_key("k1", T0 + dt.timedelta(hours=1)) is False  # already revoked
    assert store.revoke_api_key("k9", T0) is False
    assert store.api_key("h1")["revoked_ts"] == T0
    assert store.api_keys()["key_id"].to_pylist() == ["k1", "k2"]


def test_alert_actions_are_append_only_and_idempotent(store):
    rows = [
        {
            "action_id": f"a{i}",
            "alert_id": alert,
            "ts": T0 + dt.timedelta(minutes=i),
            "actor": "k1",
            "org": "centre",
            "role": "analyst",
            "action": act,
        }
        for i, (alert, act) in enumerate([("x", "assign"), ("y", "assign"), ("x", "close")])
    ]
    t = pa.Table.from_pylist(rows, ALERT_ACTION_SCHEMA)
    assert store.add_alert_actions(t) == 3
    assert store.add_alert_actions(t) == 0  # a retried request adds nothing
    doubled = pa.concat_tables([t.slice(0, 1), t.slice(0, 1)])
    assert store.add_alert_actions(doubled) == 0
    assert store.alert_actions(["x"])["action"].to_pylist() == ["assign", "close"]
    assert store.alert_actions()["action_id"].to_pylist() == ["a0", "a1", "a2"]
    assert store.alert_actions([]).num_rows == 0


def test_one_time_codes_count_attempts_and_are_used_once(store):
    row = {
        "challenge_id": "c1",
        "id_number": "11010519491231002X",
        "phone": "13800138000",
        "code_hash": "h",
        "org": "app",
        "created_ts": T0,
        "expires_ts": T0 + dt.timedelta(minutes=5),
        "attempts": 0,
    }
    store.add_otp(row)
    store.add_otp(
        {
            **row,
            "challenge_id": "c2",
            "phone": "13900139000",
            "created_ts": T0 + dt.timedelta(minutes=30),
        }
    )
    assert store.otp("c1")["phone"] == "13800138000" and store.otp("c9") is None
    assert [store.otp_attempt("c1") for _ in range(3)] == [1, 2, 3]
    assert store.otp_attempt("c9") == 0
    assert store.use_otp("c1", T0) is True
    assert store.use_otp("c1", T0) is False
    assert store.count_otps(T0, id_number="11010519491231002X") == 2
    assert store.count_otps(T0 + dt.timedelta(minutes=10), id_number="11010519491231002X") == 1
    assert store.count_otps(T0, phone="13800138000") == 1


def test_partners_are_replaced(store):
    store.put_partner(
        {
            "partner": "bank-a",
            "webhook_url": "http://127.0.0.1:1/x",
            "secret": "s",
            "updated_ts": T0,
        }
    )
    store.put_partner({"partner": "bank-a", "file_dir": "/tmp/drop", "updated_ts": T0})
    store.put_partner({"partner": "op-a", "file_dir": "/tmp/op", "updated_ts": T0})
    p = store.partners()
    assert [x["partner"] for x in p] == ["bank-a", "op-a"]
    assert p[0]["webhook_url"] is None and p[0]["file_dir"] == "/tmp/drop"


def test_notifications_are_queued_once_and_record_their_delivery(store):
    rows = [
        {
            "notification_id": f"n{i}",
            "partner": p,
            "topic": "list_entries",
            "payload": "{}",
            "created_ts": T0,
            "status": "pending",
            "attempts": 0,
            "next_attempt_ts": T0,
        }
        for i, p in enumerate(["bank-a", "bank-b"])
    ]
    t = pa.Table.from_pylist(rows, NOTIFICATION_SCHEMA)
    assert store.add_notifications(t) == 2
    assert store.add_notifications(t) == 0
    later = T0 + dt.timedelta(minutes=1)
    store.record_delivery(
        "n0", "pending", 1, T0, next_attempt_ts=later, channel="webhook", error="503"
    )
    assert store.notifications(due_by=T0)["notification_id"].to_pylist() == ["n1"]
    assert store.notifications(due_by=later).num_rows == 2
    store.record_delivery("n0", "delivered", 2, later, channel="webhook")
    n0 = store.notifications(notification_id="n0").to_pylist()[0]
    assert (n0["status"], n0["attempts"], n0["delivered_ts"], n0["last_error"]) == (
        "delivered",
        2,
        later,
        None,
    )
    assert store.notifications(partner="bank-b", status="pending").num_rows == 1
    assert store.notifications(due_by=later + dt.timedelta(days=1))[
        "notification_id"
    ].to_pylist() == ["n1"]
