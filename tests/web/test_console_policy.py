"""The policy page: versions, a diff, a backtest's numbers and the shadow report, with promote and
drop only for an analyst (the API's routes underneath)."""

from __future__ import annotations

from fanzha.decide import shadow
from fanzha.decide.policy import default_policy_text
from fanzha.decide.versions import apply_policy

TIERS = ("CASE WHEN score >= 0.8 THEN 'high' WHEN score >= 0.5 THEN 'medium' "
         "WHEN score >= 0.3 THEN 'low' END")
FLOOD = default_policy_text().replace(TIERS, "CASE WHEN score >= 0.2 THEN 'high' END")
NO_HIGH = default_policy_text().replace(
    TIERS, "CASE WHEN score >= 0.5 THEN 'medium' WHEN score >= 0.3 THEN 'low' END")
WINDOW = {"start": "2026-01-01", "end": "2026-03-31"}


def store(console):
    return console.client.app.state.db.store


def test_versions_and_a_diff(console):
    console.login("police")
    live = store(console).active_policy()[0]
    new = apply_policy(store(console), FLOOD, "bo", "more home visits").version
    r = console.get(f"/console/policy?a={live}&b={new}")
    assert r.status_code == 200 and "more home visits" in r.text
    assert "+    tier: CASE WHEN score &gt;= 0.2 THEN &#39;high&#39; END" in r.text
    assert 'id="backtest-form"' not in r.text  # police see, only analysts run or decide
    assert "Versions" in console.get("/console/policy?lang=en").text


def test_a_backtest_from_the_form_shows_the_dropped_high_tier(console):
    console.login("analyst")
    r = console.post("/console/policy/backtest", {"candidate": NO_HIGH, **WINDOW})
    assert r.status_code == 200 and 'id="backtest"' in r.text
    dropped = r.text.split('id="high-dropped">')[1].split("<")[0]
    assert int(dropped) > 0
    bad = console.post("/console/policy/backtest", {"candidate": "tiers: [", **WINDOW})
    assert "not valid YAML" in bad.text and 'id="backtest"' not in bad.text
    console.login("police")
    assert console.post("/console/policy/backtest", {"candidate": NO_HIGH, **WINDOW}).status_code == 403


def test_the_shadow_report_and_promote(console):
    console.login("analyst")
    assert 'id="no-shadow"' in console.get("/console/policy").text
    v = shadow.start(store(console), FLOOD, "bo", "try more home visits")
    page = console.get("/console/policy").text
    assert 'id="shadow"' in page and v in page and 'id="promote"' in page
    console.login("police")
    assert 'id="promote"' not in console.get("/console/policy").text
    assert console.post("/console/policy/shadow", {"act": "promote", "reason": "x"}).status_code == 403
    console.login("analyst")
    r = console.post("/console/policy/shadow", {"act": "promote", "reason": "stations agree"})
    assert r.status_code == 303
    assert store(console).active_policy()[0] == v and store(console).shadow_policy() is None
