"""`fanzha serve`, `fanzha keys`, `fanzha partners` from the command line."""

from __future__ import annotations

import json

import httpx

from fanzha.api.access import add_key
from fanzha.store import open_store
from fanzha.testing import served
from helpers import ROOT


def test_keys_are_shown_once_listed_without_secrets_and_revoked(cli):
    k = json.loads(cli("keys", "add", "--org", "bank-a", "--role", "bank", "--label", "risk",
                       "--json").output)
    assert k["token"].startswith(f"fz_{k['key_id']}_") and k["role"] == "bank"
    listed = cli("keys", "list", "--json").output
    assert k["key_id"] in listed and k["token"] not in listed and "key_hash" not in listed
    assert "revoked" in cli("keys", "revoke", k["key_id"]).output
    assert "not revoked already" in cli("keys", "revoke", k["key_id"], ok=False).output
    assert "unknown role" in cli("keys", "add", "--org", "x", "--role", "root", ok=False).output
    human = cli("keys", "add", "--org", "op-a", "--role", "operator").output
    assert "fz_" in human and "not shown again" in human


def test_partners_endpoints_and_delivery(cli, tmp_path):
    r = json.loads(cli("partners", "set", "bank-a", "--webhook", "http://127.0.0.1:9/hook",
                       "--json").output)
    assert r["secret"].startswith("whsec_")
    kept = json.loads(cli("partners", "set", "bank-a", "--webhook", "http://127.0.0.1:9/h2",
                          "--json").output)
    assert "secret" not in kept  # the secret stays until rotated
    rotated = json.loads(cli("partners", "set", "bank-a", "--webhook", "http://127.0.0.1:9/h2",
                             "--rotate-secret", "--json").output)
    assert rotated["secret"] != r["secret"]
    cli("partners", "set", "bank-b", "--drop-dir", str(tmp_path / "drop"))
    listed = json.loads(cli("partners", "list", "--json").output)
    assert [p["partner"] for p in listed] == ["bank-a", "bank-b"]
    assert all("secret" not in p for p in listed) and listed[0]["signed"]
    assert "http(s)" in cli("partners", "set", "x", "--webhook", "ftp://x", ok=False).output
    assert json.loads(cli("partners", "deliver", "--json").output) == {
        "delivered": 0, "retry": 0, "failed": 0, "pull": 0}
    assert json.loads(cli("partners", "notifications", "--json").output) == []


def test_several_workers_need_postgresql(cli):
    r = cli("serve", "--workers", "2", ok=False)
    assert "PostgreSQL" in r.output and "one writer" in r.output
    r = cli("serve", "--sms-sink", "ftp://x", ok=False)
    assert "SMS sink" in r.output


def test_fanzha_serve_answers_and_stops_cleanly(tmp_path, env):
    db = str(tmp_path / "served.duckdb")
    with open_store(db) as s:
        key = add_key(s, "operator-a", "operator")["token"]
    options = ("--sms-sink", str(tmp_path / "sms"), "--engine-every", "0", "--log-level",
               "warning")
    with served(db, *options, env=env) as (base, proc):
        events = [{"ts": "2026-03-02T09:00:00Z", "caller": "17012345678",
                   "callee": "13800138000", "duration_s": 60}]
        r = httpx.post(f"{base}/v1/events/call", json={"events": events},
                       headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200 and r.json()["accepted"] == 1
        assert httpx.get(f"{base}/v1/alerts").status_code == 401
        assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "fanzha"
    assert proc.returncode == 0, proc.stderr.read()[-2000:]  # stopped cleanly
    with open_store(db) as s:
        assert s.count_events()["call"] == 1


def test_docs_api_md_is_the_generated_route_table(cli):
    assert (ROOT / "docs" / "api.md").read_text(encoding="utf-8") == cli("serve", "--routes").output
    doc = json.loads(cli("serve", "--openapi").output)
    assert doc["info"]["title"] == "fanzha" and "/v1/alerts" in doc["paths"]


def test_several_workers_serve_one_postgresql_store(pg_db, tmp_path, env):
    """Issue 11: the API on PostgreSQL with two worker processes; every accepted event is in the
    one log once, whichever worker took the request."""
    with open_store(pg_db) as s:
        key = add_key(s, "operator-a", "operator")["token"]
    auth = {"Authorization": f"Bearer {key}"}
    options = ("--workers", "2", "--sms-sink", str(tmp_path / "sms"), "--log-level", "warning")
    with served(pg_db, *options, env=env) as (base, proc), httpx.Client(base_url=base, headers=auth) as c:
        for i in range(20):
            events = [{"ts": f"2026-03-02T09:{i:02d}:{j:02d}Z", "caller": "17012345678",
                       "callee": f"138{i:04d}{j:04d}", "duration_s": 60} for j in range(5)]
            r = c.post("/v1/events/call", json={"events": events})
            assert r.status_code == 200 and r.json()["accepted"] == 5, r.text
        r = c.post("/v1/events/call", json={"events": events})  # the same again: no new rows
        assert r.status_code == 200
    assert proc.returncode == 0, proc.stderr.read()[-2000:]
    with open_store(pg_db) as s:
        assert s.count_events()["call"] == 100
