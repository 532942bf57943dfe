"""Cases over HTTP: the same trace as `fanzha trace`, saved, frozen; each bank sees its own freeze
orders in clear and nothing of other banks'; the centre sees them masked."""

from __future__ import annotations

import json
import shutil

from api_world import BANK_CARD, MULE, VICTIM


def test_a_case_trace_is_the_cli_trace_saved_and_frozen(api, world, cli, db):
    r = api.ok("POST", "police", "/v1/traces",
               json={"case": "J1", "as_of": "2026-03-02T14:00:00Z", "freeze": True})
    shutil.copy(world[0], db)  # the same trace, as `fanzha trace` runs it
    expect = json.loads(cli("trace", "--case", "J1", "--as-of", "2026-03-02T14:00:00Z",
                            "--freeze", "--json").output)
    assert r["case_id"] == "J1" and len(r["accounts"]) == len(expect["accounts"]) == 3
    assert [o["amount_fen"] for o in r["freeze_orders"]] == [
        o["amount_fen"] for o in expect["freeze_orders"]]
    assert r["freeze_entries_added"] == expect["freeze_entries_added"] == 3
    assert r["notifications_queued"] == 3
    assert MULE not in str(r) and BANK_CARD not in str(r)  # masked for the caller
    cases = api.ok("GET", "analyst", "/v1/cases")
    assert cases == [{"case_id": "J1", "status": "open", "victim_payments": 1,
                      "victim_paid_fen": 5_000_000,
                      "remaining_fen": expect["totals"]["remaining_fen"], "freeze_orders": 3}]
    orders = api.ok("GET", "analyst", "/v1/cases/J1/freeze-orders")
    assert {o["bank"] for o in orders} == {"bank-ccb", "bank-abc"}
    assert all(o["entry_id"] and o["delivery"] == "pending" for o in orders)
    body = {"case": "J1", "as_of": "2026-03-02T14:00:00Z", "freeze": True}
    assert api.ok("POST", "police", "/v1/traces", json=body)["freeze_entries_added"] == 3
    assert {e["action"] for e in api.ok("GET", "analyst", "/v1/lists")} == {
        "emergency_freeze", "renew_freeze"}  # renewed once, as `fanzha trace --freeze` does
    assert api.ok("POST", "police", "/v1/traces", json=body)["freeze_entries_added"] == 0


def test_each_bank_sees_only_its_freeze_orders(api):
    api.ok("POST", "analyst", "/v1/traces",
           json={"case": "J1", "as_of": "2026-03-02T14:00:00Z", "freeze": True})
    ccb = api.ok("GET", "bank", "/v1/lists", params={"list_name": "freeze"})
    assert {e["partner"] for e in ccb} == {"bank-ccb"} and len(ccb) == 2
    assert MULE in {e["entity"] for e in ccb}  # the account to freeze, in clear
    assert all(e["delivery"] == "pending" for e in ccb)
    assert VICTIM not in str(ccb) and BANK_CARD not in str(ccb)  # the victims' data masked
    assert api.get("bank", "/v1/lists", params={"partner": "bank-abc"}).status_code == 403
    centre = api.ok("GET", "analyst", "/v1/lists", params={"partner": "bank-abc"})
    assert len(centre) == 1 and centre[0]["entity"].startswith("*")  # masked for the centre
    log = api.store().audit_log().to_pylist()
    assert log[-1]["action"] == "deliver_list" and log[-1]["target"].startswith("lists:bank-ccb")
    assert api.ok("GET", "operator", "/v1/lists") == []


def test_case_views_are_masked_unless_unmasked(api):
    api.ok("POST", "police", "/v1/traces", json={"transfers": ["T1"], "save_case": "C-T1"})
    c = api.ok("GET", "analyst", "/v1/cases/C-T1")
    assert c["data"]["roots"][0]["transfer_id"] == "T1" and MULE not in str(c)
    u = api.ok("GET", "police", "/v1/cases/C-T1", params={"unmask": "true", "reason": "freeze"})
    assert MULE in str(u)
    v = api.ok("GET", "police", "/v1/cases/J1/victims")
    assert len(v) == 1 and v[0]["loss_fen"] == 5_000_000 and VICTIM not in str(v)
    assert api.get("analyst", "/v1/cases/nope").status_code == 404
    assert api.get("analyst", "/v1/cases/nope/freeze-orders").status_code == 404
    assert api.ok("GET", "analyst", "/v1/cases/nope/victims") == []


def test_bad_traces_say_why(api):
    for body, words in (({}, "give one of"), ({"transfers": ["T404"]}, "no transfer"),
                        ({"account": MULE}, "since"), ({"case": "J404"}, "no case events")):
        r = api.post("analyst", "/v1/traces", json=body)
        assert r.status_code == 400 and words in r.json()["detail"], (body, r.text)
    assert api.post("analyst", "/v1/traces", json={"case": "J1", "levels": 9}).status_code == 422
    r = api.ok("POST", "analyst", "/v1/traces",
               json={"account": BANK_CARD, "since": "2026-03-02T00:00:00", "rule": "haircut"})
    assert r["rule"] == "haircut" and r["roots"][0]["transfer_id"] == "T1"
