"""Intelligence over HTTP: check a value, report one (a report event, folded by fanzha.intel)."""

from __future__ import annotations

from api_world import FRAUD, VICTIM

NEW = "17098765432"


def test_check_shows_history_to_the_centre_only(api):
    for i in range(2):
        api.ok("POST", "citizen", "/v1/intel/reports",
               json={"target_kind": "phone", "target_value": FRAUD, "reporter": f"1380013800{i}",
                     "text": f"他说他是快递客服，我的电话是1391234567{i}"})
    a = api.ok("GET", "analyst", "/v1/intel/check", params={"value": FRAUD})
    assert a["status"] == "confirmed" and a["fraud_type"] == "fake_customer_service"
    assert [h["by"] for h in a["history"]] == ["police", "citizen", "citizen"]
    assert "1391234567" not in str(a["history"]) and "139****5670" in str(a["history"])
    c = api.ok("GET", "citizen", "/v1/intel/check", params={"value": "170-1234-5678"})
    assert c["status"] == "confirmed" and c["history"] is None and c["value"] == FRAUD
    b = api.ok("GET", "bank", "/v1/intel/check", params={"value": "13999999999"})
    assert b["status"] == "unknown" and b["reports"] == 0
    d = api.ok("GET", "warehouse", "/v1/intel/check",
               params={"value": "https://Taobao-Refund.top/claim?x=1"})
    assert d["kind"] == "domain" and d["value"] == "taobao-refund.top"


def test_citizens_reports_make_a_number_suspected(api):
    for i in range(3):
        body = {"target_kind": "phone", "target_value": NEW, "reporter": f"1370000000{i}",
                "fraud_type": "冒充客服服务", "ts": f"2026-03-05T10:0{i}:00Z"}
        r = api.ok("POST", "citizen", "/v1/intel/reports", json=body)
        assert r["accepted"] and r["event_id"]
    assert r["intel"]["status"] == "suspected" and r["intel"]["reporters"] == 3
    assert r["intel"]["fraud_type"] == "fake_customer_service"
    again = api.ok("POST", "citizen", "/v1/intel/reports", json=body)
    assert again["duplicate"] and not again["accepted"] and again["event_id"] is None


def test_only_police_and_the_centre_confirm_or_clear(api):
    r = api.post("bank", "/v1/intel/reports",
                 json={"target_kind": "phone", "target_value": NEW, "verdict": "confirm"})
    assert r.status_code == 403
    r = api.ok("POST", "bank", "/v1/intel/reports",
               json={"target_kind": "account", "target_value": "6217000000000000001"})
    assert r["intel"]["status"] in ("reported", "suspected")  # as fanzha.intel weighs a bank
    (row,) = api.store().find_events("report", event_id=r["event_id"]).to_pylist()
    assert row["reporter_kind"] == "bank" and row["source"] == "bank-ccb"
    r = api.ok("POST", "police", "/v1/intel/reports",
               json={"target_kind": "phone", "target_value": VICTIM, "verdict": "clear"})
    assert r["intel"]["status"] == "cleared"
    r = api.ok("POST", "analyst", "/v1/intel/reports",
               json={"target_kind": "url", "target_value": "https://fake-bank.example/login",
                     "verdict": "confirm"})
    assert r["intel"]["status"] == "confirmed" and r["intel"]["history"][0]["by"] == "centre"


def test_a_bad_value_is_refused_with_its_reason(api):
    r = api.post("citizen", "/v1/intel/reports",
                 json={"target_kind": "phone", "target_value": "call me maybe"})
    assert r.status_code == 422 and "invalid_phone" in r.text
    r = api.get("citizen", "/v1/intel/check", params={"value": "12", "kind": "phone"})
    assert r.status_code == 422 and "not a valid phone" in r.text
    r = api.get("citizen", "/v1/intel/check", params={"value": "not a host at all"})
    assert r.status_code == 422
    r = api.post("citizen", "/v1/intel/reports",
                 json={"target_kind": "phone", "target_value": NEW, "extra": 1})
    assert r.status_code == 422
