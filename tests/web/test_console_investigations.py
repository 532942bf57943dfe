"""The console's investigation pages: the leak-source ranking of `fanzha leaks source` and the
black-account rings of `fanzha accounts rings`, masked, for the centre only."""

from __future__ import annotations

import json
import re

import pytest
from investigations_world import FRAUD, INSIDER

import fanzha.web.rings as rings_mod
from fanzha.investigate.leaks import leak_source
from fanzha.store import open_store


def _json(text: str, id_: str) -> dict:
    return json.loads(re.search(rf'id="{id_}">(.*?)</script>', text, re.S).group(1))


def test_leak_page_ranks_the_insiders_pc_first_with_its_evidence(investigations):
    investigations.login("analyst")
    r = investigations.get("/console/leaks")
    assert r.status_code == 200, r.text
    with investigations.client.app.state.db() as s:
        cli = leak_source(s, "fake_customer_service").to_dict()  # what the CLI writes
    top = cli["sources"][0]
    assert top["site"] == "wh-1" and top["value"] in ("pc-09", INSIDER)
    rows = re.findall(r'<tr class="source"[^>]*><td>(\d+)</td><td>([^<]*)</td>', r.text)
    assert [tp for _, tp in rows] == [s["tp"] for s in cli["sources"]]
    chart = _json(r.text, "chart-data")
    assert chart["names"][0] == f"1. {top['tp']}"
    assert chart["victims"][0] == round(100 * top["victims_passed"] / cli["victims_n"], 1)
    assert chart["victims"][0] > 5 * chart["customers"][0]  # the leak: victims, not customers
    assert "ToDesk.exe" in r.text and "remote_tool" in r.text  # the reads, as the watch flagged
    # people are masked as the API masks them: victims' phones and the fraud number
    phones = [v["phone"] for v in cli["victims"]]
    assert not [p for p in [*phones, FRAUD] if p in r.text]
    assert f"{phones[0][:3]}****{phones[0][-4:]}" in r.text


def test_leak_page_takes_a_cases_fraud_type_and_victims_only(investigations):
    investigations.login("police")
    r = investigations.get("/console/leaks", params={"case": "L3", "victims_only": "true"})
    assert r.status_code == 200
    assert '<option value="fake_customer_service" selected>' in r.text
    assert "fake_customer_service: 12 " in r.text  # the 12 victims of the cases, nobody else
    assert investigations.get("/console/leaks", params={"case": "nope"}).status_code == 404
    r = investigations.get("/console/leaks", params={"fraud_type": "rebate_scam"})
    assert r.status_code == 404  # no case of it in the log


def test_rings_page_shows_the_black_ring_as_a_graph_with_its_evidence(investigations):
    investigations.login("analyst")
    r = investigations.get("/console/rings")
    assert r.status_code == 200
    with investigations.client.app.state.db() as s:
        raw = rings_mod.store_rings(s)
    assert raw["summary"]["black_rings"] == len(raw["rings"]) == 1
    ring = raw["rings"][0]
    assert f'id="ring-{ring["cluster"]}"' in r.text
    assert ring["explanation"].split(";")[0] in r.text  # the investigation's own sentence
    assert r.text.count('class="ring-account"') == ring["n_accounts"]
    graph = _json(r.text, "graph-data")
    accounts = [n for n in graph["nodes"] if n["kind"] == "account"]
    shared = [n for n in graph["nodes"] if n["kind"] != "account"]
    assert len(accounts) == ring["n_accounts"]
    devices = {a["device"] for a in ring["accounts"]}
    assert {n["label"] for n in shared if n["kind"] == "device"} == devices
    assert sum(n["accounts"] for n in shared) == len(graph["links"])
    assert all(graph["nodes"][x["target"]]["kind"] == x["kind"] for x in graph["links"])
    # phones, ID numbers and names masked (in the table, the evidence and the graph)
    a = ring["accounts"][0]
    for secret in (a["phone"], a["id_number"], a["name"]):
        assert secret not in r.text
    assert f"{a['phone'][:3]}****{a['phone'][-4:]}" in r.text


@pytest.mark.parametrize("page", ["/console/leaks", "/console/rings"])
def test_citizen_and_partner_keys_are_refused(investigations, page):
    investigations.login("citizen")
    r = investigations.get(page)
    assert r.status_code == 403 and 'id="denied"' in r.text
    assert investigations.login("bank").status_code == 403  # a partner cannot log in
    r = investigations.get(page)
    assert r.status_code == 303 and r.headers["location"] == "/console/login"


def test_rings_are_found_again_only_after_new_events(investigations, monkeypatch):
    calls = []
    real = rings_mod.find_rings_in
    monkeypatch.setattr(rings_mod, "find_rings_in", lambda s: calls.append(1) or real(s))
    investigations.login("analyst")
    investigations.get("/console/rings")
    investigations.get("/console/rings")
    assert len(calls) == 1
    r = investigations.client.post(
        "/v1/events/report",
        json={"events": [{"ts": "2026-03-20T09:00:00Z", "reporter_kind": "police",
                          "target_kind": "phone", "target_value": "17099998888",
                          "verdict": "confirm"}]},
        headers={"Authorization": f"Bearer {investigations.keys['analyst']}"},
    )
    assert r.status_code == 200, r.text
    investigations.get("/console/rings")
    assert len(calls) == 2


def test_pages_without_registrations_or_cases(tmp_path, console):
    with open_store(str(tmp_path / "empty.duckdb")) as s:
        assert rings_mod.store_rings(s) == {"summary": None, "rings": []}
    console.login("police")  # the API's world: one case, no orders, no waybill reads
    r = console.get("/console/leaks")
    assert r.status_code == 200 and 'id="no-report"' in r.text
    assert '<option value="fake_customer_service" selected>' in r.text
    assert 'id="chart"' not in r.text
