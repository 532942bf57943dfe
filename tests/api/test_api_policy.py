"""Policy lifecycle over HTTP: versions and diff, a backtest that touches nothing live, the shadow
report, promote and drop only for an analyst."""

from __future__ import annotations

from fanzha.decide import shadow
from fanzha.decide.policy import default_policy_text
from fanzha.decide.versions import apply_policy

TIERS = (
    "CASE WHEN score >= 0.8 THEN 'high' WHEN score >= 0.5 THEN 'medium' "
    "WHEN score >= 0.3 THEN 'low' END"
)
FLOOD = default_policy_text().replace(TIERS, "CASE WHEN score >= 0.2 THEN 'high' END")
WINDOW = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-05T00:00:00Z"}


def test_versions_and_their_diff(api):
    first = api.ok("GET", "police", "/v1/policy/versions")
    live = first["live"]  # the engine saved the built-in default when it first ran
    assert [v["version"] for v in first["versions"]] == [live] and first["shadow"] is None
    new = apply_policy(api.store(), FLOOD, "bo", "more home visits").version
    got = api.ok("GET", "analyst", "/v1/policy/versions")
    assert got["live"] == new and [v["version"] for v in got["versions"]] == [live, new]
    assert got["versions"][-1]["active"] and got["versions"][-1]["author"] == "bo"
    d = api.ok("GET", "analyst", f"/v1/policy/diff?a={live[:8]}&b={new}")
    assert (d["a"], d["b"]) == (live, new)
    assert "+    tier: CASE WHEN score >= 0.2 THEN 'high' END" in d["diff"]
    assert api.get("analyst", "/v1/policy/diff?a=ffffffff&b=" + new).status_code == 404
    assert api.get("bank", "/v1/policy/versions").status_code == 403


def test_a_backtest_reports_both_policies_and_changes_nothing(api):
    before = (api.store().alerts(), api.store().policy_history(), api.store().max_seq())
    r = api.ok("POST", "analyst", "/v1/policy/backtest", json={"candidate": FLOOD, **WINDOW})
    assert r["live"]["alerts"] > 0 and r["candidate"]["version"] != r["live"]["version"]
    assert r["candidate"]["alerts_per_tier"]["high"] >= r["live"]["alerts_per_tier"]["high"]
    assert r == api.ok("POST", "analyst", "/v1/policy/backtest", json={"candidate": FLOOD, **WINDOW})
    assert (api.store().alerts(), api.store().policy_history(), api.store().max_seq()) == before
    bad = api.post("analyst", "/v1/policy/backtest", json={"candidate": "tiers: [", **WINDOW})
    assert bad.status_code == 400 and "not valid YAML" in bad.json()["detail"]
    wide = {"candidate": FLOOD, "start": "2025-01-01T00:00:00Z", "end": "2026-03-05T00:00:00Z"}
    assert api.post("analyst", "/v1/policy/backtest", json=wide).status_code == 422
    assert api.post("police", "/v1/policy/backtest", json={"candidate": FLOOD, **WINDOW}).status_code == 403


def test_the_shadow_report_and_only_an_analyst_promotes_or_drops(api):
    assert api.get("analyst", "/v1/policy/shadow").status_code == 404
    v = shadow.start(api.store(), FLOOD, "bo", "try more home visits")
    r = api.ok("GET", "police", "/v1/policy/shadow")
    assert r["shadow_version"] == v and "overlap" in r
    assert api.post("police", "/v1/policy/shadow/drop", json={"reason": "no"}).status_code == 403
    assert api.post("analyst", "/v1/policy/shadow/drop", json={"reason": ""}).status_code == 422
    done = api.ok("POST", "analyst", "/v1/policy/shadow/promote", json={"reason": "stations agree"})
    assert done == {"version": v, "done": "promote"}
    assert api.store().active_policy()[0] == v and api.store().shadow_policy() is None
    assert api.post("analyst", "/v1/policy/shadow/drop", json={"reason": "x"}).status_code == 404
    shadow.start(api.store(), default_policy_text(), "bo", "back")
    assert api.ok("POST", "analyst", "/v1/policy/shadow/drop", json={"reason": "no"})["done"] == "drop"
    assert api.store().active_policy()[0] == v
