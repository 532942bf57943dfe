"""The alert queue: masked by default, unmasked with a reason (audited), worked with append-only
actions from which the status is derived; the engine's tier is never changed by a person."""

from __future__ import annotations

import csv
import io

import orjson

from api_world import FRAUD, OTHER, VICTIM


def _victim_alert(api, who="analyst") -> dict:
    page = api.ok("GET", who, "/v1/alerts", params={"tier": "high"})
    (a,) = page["alerts"]
    return a


def test_the_queue_is_masked_and_most_urgent_first(shared_api):
    page = shared_api.ok("GET", "analyst", "/v1/alerts")
    tiers = [a["tier"] for a in page["alerts"]]  # the victim, a second exposed person, another
    assert page["total"] == 3 and tiers == sorted(tiers, key=["high", "medium", "low"].index)
    text = str(page)
    assert VICTIM not in text and OTHER not in text and "138****8000" in text
    assert all(a["status"] == "open" for a in page["alerts"])
    low = shared_api.ok("GET", "police", "/v1/alerts", params={"tier": tiers[-1], "limit": 1})
    assert low["total"] == tiers.count(tiers[-1]) and len(low["alerts"]) == 1
    assert shared_api.ok("GET", "analyst", "/v1/alerts", params={"offset": 5})["alerts"] == []
    assert shared_api.get("analyst", "/v1/alerts", params={"tier": "urgent"}).status_code == 422


def test_unmasking_needs_a_reason_and_is_audited(api):
    r = api.get("analyst", "/v1/alerts", params={"unmask": "true"})
    assert r.status_code == 400 and "reason" in r.text
    for role in ("bank", "citizen", "operator"):  # may not unmask (nor read alerts at all)
        assert api.get(role, "/v1/alerts", params={"unmask": "true", "reason": "x"}
                       ).status_code == 403
    before = api.store().audit_log().num_rows
    a = api.ok("GET", "police", "/v1/alerts",
               params={"unmask": "true", "reason": "home visit to the victim", "tier": "high"})
    assert a["alerts"][0]["entity"] == VICTIM and FRAUD in a["alerts"][0]["evidence"]
    log = api.store().audit_log().to_pylist()
    assert len(log) == before + 1
    e = log[-1]
    assert (e["actor"], e["role"], e["action"], e["reason"]) == (
        api.ok("GET", "police", "/v1/me")["key_id"], "police", "view_unmasked",
        "home visit to the victim")
    assert orjson.loads(e["detail"])["org"] == "police-xm" and e["target"].startswith("alerts:")
    api.ok("GET", "analyst", "/v1/alerts")  # a masked view is not audited
    assert api.store().audit_log().num_rows == before + 1
    assert api.store().verify_audit()


def test_actions_drive_the_status_and_never_the_tier(api):
    a = _victim_alert(api)
    path = f"/v1/alerts/{a['alert_id']}/actions"
    steps = [
        ({"action": "assign", "assignee": "officer-7"}, "assigned"),
        ({"action": "contact", "outcome": "no_answer"}, "contacted"),
        ({"action": "escalate", "escalate_to": "home_visit"}, "escalated"),
        ({"action": "note", "note": "neighbour says she is at the bank now"}, "escalated"),
        ({"action": "contact", "outcome": "reached_dissuaded"}, "contacted"),
        ({"action": "close", "resolution": "dissuaded"}, "closed"),
    ]
    for body, status in steps:
        r = api.ok("POST", "analyst", path, json=body)
        assert r["created"] and r["alert"]["status"] == status, body
        assert r["alert"]["tier"] == "high" and r["alert"]["escalations"] == 0
    d = api.ok("GET", "police", f"/v1/alerts/{a['alert_id']}")
    assert d["assignee"] == "officer-7" and d["outcome"] == "reached_dissuaded"
    assert d["escalated_to"] == ["home_visit"] and d["resolution"] == "dissuaded"
    assert [h["action"] for h in d["history"]] == [b["action"] for b, _ in steps]
    r = api.post("analyst", path, json={"action": "contact", "outcome": "no_answer"})
    assert r.status_code == 409  # closed: reopen first
    r = api.ok("POST", "police", path, json={"action": "reopen"})
    assert r["alert"]["status"] == "open" and r["alert"]["resolution"] is None
    assert api.post("police", path, json={"action": "reopen"}).status_code == 409
    assert api.store().alerts().num_rows == 3  # the engine's table is untouched
    assert api.store().alert_actions().num_rows == len(steps) + 1


def test_a_retried_action_is_recorded_once(api):
    a = _victim_alert(api)
    path = f"/v1/alerts/{a['alert_id']}/actions"
    body = {"action": "assign", "assignee": "officer-7", "action_id": "client-42-0001"}
    first = api.ok("POST", "analyst", path, json=body)
    again = api.ok("POST", "analyst", path, json=body)
    assert first["created"] and not again["created"]
    assert again["action"]["action_id"] == first["action"]["action_id"]
    assert api.store().alert_actions().num_rows == 1
    other = api.ok("GET", "analyst", "/v1/alerts", params={"tier": "low"})["alerts"][0]
    r = api.post("analyst", f"/v1/alerts/{other['alert_id']}/actions", json=body)
    assert r.status_code == 409


def test_bad_actions_are_refused(api):
    a = _victim_alert(api)
    path = f"/v1/alerts/{a['alert_id']}/actions"
    for body in ({"action": "assign"}, {"action": "contact", "outcome": "maybe"},
                 {"action": "close"}, {"action": "escalate", "escalate_to": "nobody"},
                 {"action": "delete"}, {"action": "note", "note": "x" * 5000},
                 {"action": "assign", "assignee": "x", "action_id": "bad id!"}):
        assert api.post("analyst", path, json=body).status_code == 422, body
    assert api.post("analyst", "/v1/alerts/nope/actions",
                    json={"action": "reopen"}).status_code == 404
    assert api.get("analyst", "/v1/alerts/nope").status_code == 404


def test_new_signals_after_closing_reopen_the_alert(api):
    a = _victim_alert(api)
    api.ok("POST", "analyst", f"/v1/alerts/{a['alert_id']}/actions",
           json={"action": "close", "resolution": "dissuaded"})
    api.ok("POST", "operator", "/v1/events/call",
           json={"events": [{"ts": "2026-03-02T12:00:00Z", "caller": FRAUD, "callee": VICTIM,
                             "duration_s": 300}]})
    run = api.ok("POST", "analyst", "/v1/engine/run")
    assert run["events"] == 1 and run["alerts_touched"] == 1
    d = api.ok("GET", "analyst", f"/v1/alerts/{a['alert_id']}")
    assert d["status"] == "reopened" and d["n_signals"] > a["n_signals"]
    assert api.ok("GET", "analyst", "/v1/alerts", params={"status": "reopened"})["total"] == 1


def test_the_server_engine_follows_the_keyed_stream_partitions(api):
    """A database that stream workers ran with keyed partitions: POST /v1/engine/run takes the
    tier's partition count and waits for its partitions instead of refusing to start."""
    from fanzha.engine import SIGNAL_SCHEMA

    s = api.store()
    s.commit_shard(3, 0, 0, s.max_seq(), SIGNAL_SCHEMA.empty_table(), {})
    api.ok("POST", "operator", "/v1/events/call",
           json={"events": [{"ts": "2026-03-02T12:00:00Z", "caller": FRAUD, "callee": VICTIM,
                             "duration_s": 300}]})
    run = api.ok("POST", "analyst", "/v1/engine/run")
    assert run["waiting"] and run["events"] == 0  # partitions 1 and 2 have not caught up
    top = s.max_seq()
    for p in range(3):
        after = s.shard_watermarks(3)[p]
        s.commit_shard(3, p, after, top, SIGNAL_SCHEMA.empty_table(), {})
    run = api.ok("POST", "analyst", "/v1/engine/run")
    assert not run["waiting"] and run["events"] == 1 and run["watermark"] == top


def test_an_export_needs_a_reason_and_is_audited(api):
    assert api.get("analyst", "/v1/alerts/export").status_code == 400
    assert api.get("police", "/v1/alerts/export", params={"reason": "x"}).status_code == 403
    r = api.get("analyst", "/v1/alerts/export", params={"reason": "weekly review"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 3 and VICTIM not in r.text
    r = api.get("analyst", "/v1/alerts/export",
                params={"reason": "hand-over to police", "unmask": "true", "format": "jsonl",
                        "tier": "high"})
    (row,) = [orjson.loads(x) for x in r.content.splitlines()]
    assert row["entity"] == VICTIM
    log = api.store().audit_log().to_pylist()
    assert [(e["action"], e["reason"]) for e in log[-2:]] == [
        ("export", "weekly review"), ("export", "hand-over to police")]
    assert orjson.loads(log[-1]["detail"])["unmasked"] is True
