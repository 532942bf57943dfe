"""`fanzha policy show|diff|apply|rollback` on an empty store: versions, history, errors."""

from __future__ import annotations

import json

from fanzha.decide.policy import default_policy_text, parse_policy
from fanzha.store import open_store

RAISED = default_policy_text().replace(
    "WHEN score >= 0.8 THEN 'high'", "WHEN score >= 0.7 THEN 'high'"
)


def test_apply_diff_rollback_and_history(cli, tmp_path):
    open_store(cli.db).close()  # an empty store
    default = parse_policy(default_policy_text()).version
    f = tmp_path / "p.yaml"
    f.write_text(RAISED)
    shown = json.loads(cli("policy", "show", "--json").output)
    assert shown["version"] == default and shown["history"] == []
    v = json.loads(
        cli("policy", "apply", str(f), "--author", "ann", "--reason", "r1", "--json").output
    )
    assert v["version"] == parse_policy(RAISED).version != default
    d = json.loads(cli("policy", "diff", default[:6], v["version"][:6], "--json").output)
    assert (
        "-    tier: CASE WHEN score >= 0.8" in d["diff"]
        and "+    tier: CASE WHEN score >= 0.7" in d["diff"]
    )
    back = json.loads(
        cli("policy", "rollback", "--author", "bo", "--reason", "too many", "--json").output
    )
    assert back["version"] == default
    shown = json.loads(cli("policy", "show", "--json").output)
    assert shown["version"] == default and shown["text"] == default_policy_text()
    assert [(h["version"], h["author"], h["reason"], h["active"]) for h in shown["history"]] == [
        (v["version"], "ann", "r1", False),
        (default, "bo", "too many", True),
    ]
    old = json.loads(cli("policy", "show", v["version"], "--json").output)
    assert old["text"] == RAISED
    assert "ann" in cli("policy", "show").output


def test_bad_policies_and_versions_fail_with_one_line(cli, tmp_path):
    open_store(cli.db).close()
    f = tmp_path / "p.yaml"
    cases = {
        "tiers: [": "not valid YAML",
        default_policy_text() + "detectors2: 1\n": None,  # unknown top-level keys are ignored
        default_policy_text().replace(
            "fraud_number: {}", "no_such_detector: {}"
        ): "unknown detector",
        default_policy_text()
        + "capacity:\n  call: {agents: 3}\n": "needs both agents and per_agent",
        default_policy_text() + "capacity:\n  sms: {per_day: -1}\n": "whole number",
        default_policy_text().replace("detector = 'victim_risk'", "detectr = 1"): "victim-risk",
    }
    for text, message in cases.items():
        f.write_text(text)
        r = cli("policy", "apply", str(f), "--author", "a", "--reason", "r", ok=message is None)
        if message is not None:
            assert r.exit_code == 2 and message in r.output, (message, r.output)
    f.write_text(default_policy_text())
    r = cli("policy", "apply", str(f), "--author", " ", "--reason", "r", ok=False)
    assert "author and a reason" in r.output
    assert "no policy version" in cli("policy", "show", "zzzz", ok=False).output
    assert "ambiguous" not in cli("policy", "show", "zzzz", ok=False).output
    r = cli("policy", "backtest", str(f), "--from", "2026-03-02", "--to", "2026-03-01", ok=False)
    assert "--to must be after --from" in r.output
