"""Lists per partner, look-ups, and the audit log that records every unmasked view and export and
that no route can change."""

from __future__ import annotations

import csv
import io

from api_world import BANK_CARD, CITIZEN_ID, FRAUD, MULE, OTHER, VICTIM


def test_lists_per_partner_and_their_export(api):
    body = {"entries": [
        {"list_name": "block", "partner": "platform-shop-a", "entity_kind": "account",
         "entity": "u10000001", "reason": "black account of a village-push ring",
         "evidence": f"registered with the ID of {VICTIM}", "ref": "ring-7"},
        {"list_name": "freeze", "partner": "bank-ccb", "entity_kind": "account", "entity": MULE,
         "reason": "mule", "expires_ts": "2026-03-04T14:00:00Z"},
    ]}
    added = api.ok("POST", "police", "/v1/lists", json=body)
    assert added["added"] == 2 and len(set(added["entry_ids"])) == 2
    assert api.ok("POST", "police", "/v1/lists", json=body)["added"] == 0
    (mine,) = api.ok("GET", "platform", "/v1/lists")
    assert mine["entity"] == "u10000001" and VICTIM not in mine["evidence"]
    assert mine["ref"] == "ring-7" and mine["delivery"] == "pending"
    assert api.ok("GET", "warehouse", "/v1/lists") == []
    assert api.post("bank", "/v1/lists", json=body).status_code == 403
    for bad in ({"entries": []}, {"entries": [{**body["entries"][0], "list_name": "delete"}]},
                {"entries": [{**body["entries"][0], "partner": "two words"}]},
                {"entries": [{k: v for k, v in body["entries"][0].items() if k != "reason"}]}):
        assert api.post("analyst", "/v1/lists", json=bad).status_code == 422, bad
    assert api.get("bank", "/v1/lists/export").status_code == 400  # needs a reason
    r = api.get("bank", "/v1/lists/export", params={"reason": "nightly freeze run"})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["entity"] for x in rows] == [MULE]
    last = api.store().audit_log().to_pylist()[-1]
    assert (last["action"], last["reason"], last["role"]) == ("export", "nightly freeze run", "bank")
    r = api.get("bank", "/v1/lists/export", params={"reason": "x", "unmask": "true"})
    assert r.status_code == 403  # a partner never unmasks


def test_lookup_gathers_everything_about_a_value(api):
    r = api.ok("GET", "analyst", f"/v1/lookup/phone/{VICTIM}")
    assert r["value"] == VICTIM
    assert r["counts"]["call"] == 1 and r["counts"]["card"] == 1 and r["counts"]["case"] == 1
    assert r["counts"]["registration"] == 1 and r["counts"]["transfer"] == 1
    assert len(r["alerts"]) == 1 and r["alerts"][0]["tier"] == "high"
    assert r["intel"]["status"] == "unknown"
    events = str(r["events"])
    assert CITIZEN_ID not in events and BANK_CARD not in events  # masked
    f = api.ok("GET", "police", f"/v1/lookup/phone/{FRAUD}",
               params={"unmask": "true", "reason": "case J1 investigation"})
    assert f["intel"]["status"] == "confirmed" and f["counts"]["call"] == 2
    assert OTHER in str(f["events"]["call"])
    last = api.store().audit_log().to_pylist()[-1]
    assert (last["action"], last["target"]) == ("view_unmasked", f"lookup:phone:{FRAUD}")
    i = api.ok("GET", "analyst", f"/v1/lookup/id_number/{CITIZEN_ID.lower()}")
    assert i["counts"]["card"] == 4 and i["counts"]["registration"] == 1
    a = api.ok("GET", "analyst", f"/v1/lookup/account/{MULE}", params={"limit": 1})
    assert a["counts"]["transfer"] == 3 and len(a["events"]["transfer"]) == 1
    assert a["events"]["transfer"][0]["transfer_id"] == "T3"  # the latest first
    assert api.get("analyst", "/v1/lookup/phone/abc").status_code == 422
    assert api.get("analyst", "/v1/lookup/plate/x").status_code == 422


def test_the_audit_log_is_read_only_and_verifiable(api):
    api.ok("GET", "analyst", "/v1/alerts", params={"unmask": "true", "reason": "triage"})
    log = api.ok("GET", "analyst", "/v1/audit")
    assert log[-1]["action"] == "view_unmasked" and log[-1]["detail"]["route"] == "/v1/alerts"
    assert log[-1]["ts"] and log[-1]["actor"] and log[-1]["reason"] == "triage"
    assert api.ok("GET", "analyst", "/v1/audit", params={"after": log[-1]["n"]}) == []
    assert api.ok("GET", "analyst", "/v1/audit/verify") == {"intact": True, "entries": len(log)}
    schema = api.client.app.openapi()
    for path, ops in schema["paths"].items():
        if path.startswith("/v1/audit"):
            assert set(ops) == {"get"}, path
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/v1/audit", "/v1/audit/1", "/v1/audit/verify"):
            r = api.request(method, "analyst", path, json={})
            assert r.status_code in (404, 405), (method, path)
    assert api.ok("GET", "analyst", "/v1/audit/verify")["intact"]
