"""The console's pages over HTTP (no browser): log in, the alert queue and its actions, the case
graph, the citizen look-up, the English toggle, who is denied what, and masking."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from web_world import codes

from api.api_world import BANK_CARD, CITIZEN_ID, FRAUD, MULE, VICTIM
from fanzha.linkage import now
from fanzha.web import money_graph, sla_clock


def _alert_ids(html: str) -> list[str]:
    return re.findall(r'data-alert="([0-9a-f]+)"', html)


def test_a_bad_key_is_refused_and_pages_need_a_login(console):
    assert console.get("/console/alerts").headers["location"] == "/console/login"
    r = console.client.post("/console/login", data={"key": "fz_nope_nope"})
    assert r.status_code == 401 and "密钥无效" in r.text
    console.client.cookies.set("fanzha_console", "forged.cookie.value", path="/console")
    assert console.get("/console/alerts").status_code == 303


def test_the_cookie_is_signed_http_only_and_holds_no_key(console):
    r = console.login("analyst")
    assert r.status_code == 303 and r.headers["location"] == "/console/alerts"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert console.keys["analyst"] not in cookie


def test_the_queue_by_tier_with_sla_clocks_masked(console):
    console.login("analyst")
    r = console.get("/console/alerts")
    assert r.status_code == 200
    api = console.client.get("/v1/alerts",
                             headers={"Authorization": f"Bearer {console.keys['analyst']}"})
    queue = api.json()["alerts"]
    assert len(queue) >= 2 and _alert_ids(r.text) == [a["alert_id"] for a in queue]
    assert 'id="tier-high"' in r.text and "已超时" in r.text  # the world is in March 2026
    assert VICTIM not in r.text and "138****8000" in r.text  # masked as the API masks


def test_working_an_alert_posts_the_apis_action(console):
    console.login("analyst")
    alert_id = _alert_ids(console.get("/console/alerts").text)[0]
    url = f"/console/alerts/{alert_id}"
    r = console.post(f"{url}/actions", {"action": "assign", "assignee": "王警官"})
    assert r.status_code == 303 and r.headers["location"] == url
    page = console.get(url).text
    assert 'data-status="assigned"' in page and "王警官" in page
    console.post(f"{url}/actions", {"action": "contact", "outcome": "reached_dissuaded"})
    console.post(f"{url}/actions", {"action": "escalate", "escalate_to": "home_visit"})
    console.post(f"{url}/actions", {"action": "close", "resolution": "dissuaded"})
    # the API sees what the console did, in order
    api = console.client.get(f"/v1/alerts/{alert_id}",
                             headers={"Authorization": f"Bearer {console.keys['analyst']}"})
    body = api.json()
    assert body["status"] == "closed" and body["resolution"] == "dissuaded"
    assert [h["action"] for h in body["history"]] == ["assign", "contact", "escalate", "close"]
    # a closed alert refuses another action with the API's reason
    r = console.post(f"{url}/actions", {"action": "assign", "assignee": "x"})
    assert "reopen it first" in r.headers["location"].replace("%20", " ")


def test_an_incomplete_action_is_an_error_not_a_change(console):
    console.login("police")
    alert_id = _alert_ids(console.get("/console/alerts").text)[0]
    r = console.post(f"/console/alerts/{alert_id}/actions", {"action": "contact"})
    assert "error=" in r.headers["location"]
    assert 'data-status="open"' in console.get(f"/console/alerts/{alert_id}").text
    assert console.get("/console/alerts/nosuchalert").status_code == 404


def test_the_case_page_has_the_money_flow_graph_masked(console):
    console.login("analyst")
    assert "J1" in console.get("/console/cases").text
    r = console.get("/console/cases/J1")
    assert r.status_code == 200 and 'id="graph"' in r.text
    graph = json.loads(re.search(r'id="graph-data">(.*?)</script>', r.text, re.S).group(1))
    assert len(graph["nodes"]) == 4 and len(graph["links"]) == 3  # victim + 3 mule accounts
    assert [n["level"] for n in graph["nodes"]] == [0, 2, 2, 1]
    assert {n["category"] for n in graph["nodes"][1:]} == {"freeze_ordered"}
    assert {n["delivery"] for n in graph["nodes"][1:]} == {"pending"}  # not yet at the banks
    assert graph["nodes"][0]["amount_fen"] == 5_000_000
    assert MULE not in r.text and BANK_CARD not in r.text
    assert '/console/static/echarts.min.js' in r.text
    assert console.get("/console/cases/J9").status_code == 404


def test_echarts_is_served_from_the_package_not_a_cdn(console):
    r = console.get("/console/static/echarts.min.js")
    assert r.status_code == 200, "run `make web`: it copies ECharts from npm into the package"
    assert len(r.content) > 500_000 and b"echarts" in r.content[:2000]
    console.login("analyst")
    assert "http" not in re.findall(r'<script src="([^"]+)"', console.get("/console/cases/J1").text)[0]


def test_money_graph_keeps_accounts_apart_that_mask_alike():
    raw = {"roots": [{"payer": "A1", "amount_fen": 10}],
           "accounts": [{"account": "B1", "hop": 1, "stop": None, "bank": "b",
                         "traced_in_fen": 6, "remaining_fen": 6},
                        {"account": "B2", "hop": 1, "stop": "merchant", "bank": "b",
                         "traced_in_fen": 4, "remaining_fen": 0}],
           "flows": [{"payer": "A1", "payee": "B1", "traced_fen": 6},
                     {"payer": "A1", "payee": "B2", "traced_fen": 4}]}
    shown = {"roots": [{"payer": "A*"}], "accounts": [{"account": "B*"}, {"account": "B*"}]}
    g = money_graph(raw, shown, [{"account": "B*", "delivery": "delivered"}])
    assert [n["label"] for n in g["nodes"]] == ["A*", "B*", "B*"]
    assert [n["category"] for n in g["nodes"]] == ["victim", "frozen", "stop"]
    assert [(x["source"], x["target"]) for x in g["links"]] == [(0, 1), (0, 2)]


def test_sla_clock():
    at = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    left = sla_clock(at + dt.timedelta(minutes=12, seconds=5), at)
    assert left["seconds"] == 725 and not left["overdue"] and left["text"] == "12 min 5 s"
    late = sla_clock(at - dt.timedelta(days=2, hours=3), at)
    assert late["overdue"] and late["text"] == "2 d 3 h"
    assert sla_clock(None, at) is None


@pytest.mark.parametrize("who", ["bank", "other_bank", "operator", "warehouse"])
def test_partners_cannot_log_in(console, who):
    r = console.login(who)
    assert r.status_code == 403 and "fanzha_console" not in r.headers.get("set-cookie", "")


def test_a_citizen_reaches_only_the_citizen_page(console):
    assert console.login("citizen").headers["location"] == "/console/citizen"
    for page in ("/console/alerts", "/console/cases", "/console/cases/J1", "/console/scorecard"):
        r = console.get(page)
        assert r.status_code == 403 and "无权访问" in r.text, page
    r = console.post("/console/alerts/x/actions", {"action": "note", "note": "x"})
    assert r.status_code == 403
    console.login("analyst")
    assert console.get("/console/citizen").status_code == 403


def test_a_revoked_key_is_out_at_once(console):
    console.login("analyst")
    assert console.get("/console/alerts").status_code == 200
    store = console.client.app.state.db.store
    key_id = console.keys["analyst"].split("_")[1]
    store.revoke_api_key(key_id, now())
    assert console.get("/console/alerts").status_code == 303


def test_citizen_look_up_with_a_one_time_code_and_not_mine(console):
    console.login("citizen")
    r = console.post("/console/citizen/verify", {"id_number": CITIZEN_ID, "phone": VICTIM})
    assert r.status_code == 200 and "138****8000" in r.text
    challenge = re.search(r'name="challenge_id" value="([^"]+)"', r.text).group(1)
    bad = console.post("/console/citizen/confirm", {"challenge_id": challenge, "code": "000000"
                       if codes(console.sms)[-1] != "000000" else "111111"})
    assert "error=" in bad.headers["location"]
    r = console.post("/console/citizen/confirm",
                     {"challenge_id": challenge, "code": codes(console.sms)[-1]})
    assert r.status_code == 303 and "HttpOnly" in r.headers["set-cookie"]
    page = console.get("/console/citizen").text
    items = re.findall(r'data-item="([0-9a-f]+)"', page)
    assert len(items) == 4  # two phone cards, a bank card, a platform account
    assert VICTIM not in page and BANK_CARD not in page and "138****8000" in page
    r = console.post("/console/citizen/flags", {"item_id": items[2]})
    assert r.status_code == 303 and "flagged=" in r.headers["location"]
    assert "已标记非本人" in console.get("/console/citizen").text
    entries = console.client.get(
        "/v1/lists", params={"list_name": "cancel"},
        headers={"Authorization": f"Bearer {console.keys['analyst']}"}).json()
    assert len(entries) == 1 and entries[0]["ref"].startswith("citizen:")


def test_a_code_for_an_unregistered_phone_opens_nothing(console):
    console.login("citizen")
    r = console.post("/console/citizen/verify", {"id_number": CITIZEN_ID, "phone": "13900139000"})
    assert r.status_code == 200 and codes(console.sms) == []  # same answer, no code sent
    r = console.post("/console/citizen/verify", {"id_number": "123", "phone": VICTIM})
    assert "error=" in r.headers["location"]


def test_english_toggle_is_kept_in_a_cookie(console):
    console.login("analyst")
    assert "预警队列" in console.get("/console/alerts").text
    r = console.get("/console/alerts?lang=en")
    assert "Alert queue" in r.text and "预警队列" not in r.text
    assert "Alert queue" in console.get("/console/alerts").text  # remembered
    assert "预警队列" in console.get("/console/alerts?lang=zh").text
    assert "Fraud-free communities" in console.get("/console/community?lang=en").text


def test_scorecard_from_a_score_file(console, tmp_path, monkeypatch):
    console.login("analyst")
    monkeypatch.delenv("FANZHA_SCORE", raising=False)
    assert 'id="no-score"' in console.get("/console/scorecard").text
    path = tmp_path / "score.json"
    path.write_text(json.dumps({"warning": {"victims_warned_before_payment": 0.625,
                                            "median_seconds_to_warning": 90}}))
    monkeypatch.setenv("FANZHA_SCORE", str(path))
    r = console.get("/console/scorecard")
    assert 'id="chart"' in r.text and "62.5%" in r.text and "90 s" in r.text
    chart = json.loads(re.search(r'id="chart-data">(.*?)</script>', r.text, re.S).group(1))
    assert chart == [{"name": "warning.victims_warned_before_payment", "value": 62.5}]


def test_community_view_counts_warnings_victims_and_dissuasion(console):
    console.login("analyst")
    rows = {r["region"]: r for r in community_rows(console.get("/console/community").text)}
    assert set(rows) == {"110105", "642124"}  # the citizen's and the stranger's counties
    assert rows["110105"]["rate"] == "–"  # nobody worked a warning yet
    api = console.client.get(
        "/v1/alerts", params={"entity_kind": "phone"},
        headers={"Authorization": f"Bearer {console.keys['analyst']}"},
    ).json()["alerts"]
    (victim_alert,) = [a for a in api if a["entity"] == "138****8000"]
    console.post(f"/console/alerts/{victim_alert['alert_id']}/actions",
                 {"action": "contact", "outcome": "reached_dissuaded"})
    page = console.get("/console/community").text
    rows = {r["region"]: r for r in community_rows(page)}
    assert rows["110105"]["rate"] == "100%" and rows["642124"]["rate"] == "–"
    assert "北京市 朝阳区" in page and 'id="chart"' in page
    console.login("citizen")
    assert console.get("/console/community").status_code == 403


def community_rows(html: str) -> list[dict]:
    return [{"region": m.group(1), "rate": m.group(2)} for m in re.finditer(
        r'data-region="(\d+)">.*?<td class="rate">([^<]*)</td>', html, re.S)]


def test_the_queue_pages_one_tier_and_filters_by_status(console, monkeypatch):
    import fanzha.web

    console.login("analyst")
    auth = {"Authorization": f"Bearer {console.keys['analyst']}"}
    calls = [{"ts": "2026-03-02T12:00:00Z", "caller": FRAUD, "callee": f"1360013{i:04d}",
              "duration_s": 0} for i in range(2)]  # two people alike: two alerts of one tier
    assert console.client.post("/v1/events/call", json={"events": calls}, headers={
        "Authorization": f"Bearer {console.keys['operator']}"}).status_code == 200
    assert console.client.post("/v1/engine/run", headers=auth).status_code == 200
    everything = console.client.get("/v1/alerts", headers=auth).json()["alerts"]
    tiers = [a["tier"] for a in everything]
    tier = max(set(tiers), key=tiers.count)
    ids = [a["alert_id"] for a in everything if a["tier"] == tier]
    assert len(ids) >= 2
    monkeypatch.setattr(fanzha.web, "PAGE", 1)
    first = console.get("/console/alerts").text
    assert f'href="?tier={tier}&offset=1"' in first
    pages = [_alert_ids(console.get(f"/console/alerts?tier={tier}&offset={i}").text)
             for i in range(len(ids))]
    assert [i for page in pages for i in page] == ids
    assert 'class="more"' not in console.get(f"/console/alerts?tier={tier}&offset={len(ids) - 1}").text
    assert console.get("/console/alerts?tier=nope").status_code == 422
    monkeypatch.setattr(fanzha.web, "PAGE", 100)
    alert_id = _alert_ids(first)[0]
    console.post(f"/console/alerts/{alert_id}/actions", {"action": "assign", "assignee": "李"})
    assert _alert_ids(console.get("/console/alerts?status=assigned").text) == [alert_id]


def test_unmasking_needs_a_reason_and_is_audited(console):
    console.login("analyst")
    r = console.get("/console/cases/J1?unmask=true")
    assert r.status_code == 400 and MULE not in r.text
    r = console.get("/console/cases/J1?unmask=true&reason=freeze+call+to+CCB")
    assert r.status_code == 200 and MULE in r.text and 'id="unmasked"' in r.text
    audit = console.client.app.state.db.store.audit_log().to_pylist()
    seen = [a for a in audit if a["action"] == "view_unmasked"]
    assert [(a["target"], a["reason"]) for a in seen] == [
        ("case:J1", "freeze call to CCB"), ("case:J1:freeze-orders", "freeze call to CCB")]
    assert MULE not in console.get("/console/cases/J1").text  # the next view is masked again
