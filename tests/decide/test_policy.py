"""The policy: YAML checked at load, signals to tiered alerts, dedup, escalation, windows."""

from __future__ import annotations

import datetime as dt

import orjson
import pyarrow as pa
import pytest

from fanzha.decide.decide import Decider
from fanzha.decide.policy import default_policy, default_policy_text, parse_policy
from fanzha.engine.check import canonical
from fanzha.engine.protocol import SIGNAL_SCHEMA
from fanzha.errors import FanzhaError

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
TIER_LINE = ("tier: CASE WHEN score >= 0.8 THEN 'high' WHEN score >= 0.5 THEN 'medium' "
             "WHEN score >= 0.3 THEN 'low' END")


def sig(i: int, entity: str, score: float, hours: float = 0, detector: str = "victim_risk",
        details: str | None = None) -> dict:
    return {"signal_id": f"s{i:03d}", "detector": detector, "seq": i,
            "ts": T0 + dt.timedelta(hours=hours), "entity_kind": "phone", "entity": entity,
            "score": score, "fraud_type": "fake_loan", "evidence": f"evidence {i}",
            "details": details, "event_ids": [f"e{i}"]}


def signals(*rows: dict) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=SIGNAL_SCHEMA)


def run(decider: Decider, tables: list[pa.Table]):
    state = decider.initial_state()
    latest = {}
    for t in tables:
        alerts, state = decider.step(t, state)
        for a in alerts.to_pylist():
            latest[a["alert_id"]] = a
    return latest


def test_the_default_policy_loads_and_has_three_tiers():
    p = default_policy()
    assert set(p.tiers) == {"low", "medium", "high"}
    assert p.tiers["high"].actions[0] == "home_visit"
    assert p.version == parse_policy(default_policy_text()).version


@pytest.mark.parametrize("text, message", [
    ("tiers: [", "not valid YAML"),
    ("rules: []", "needs 'tiers'"),
    ("tiers: {low: {}, medium: {}}\nrules: []", "tier 'high' is missing"),
    ("tiers: {low: {}, medium: {}, high: {}, urgent: {}}\nrules: []", "unknown tier"),
    ("tiers: {low: {}, medium: {}, high: {}}\nrules: [{id: a, match: 'scor >= 1', tier: \"'low'\"}]",
     "rule 'a' match"),
    ("tiers: {low: {}, medium: {}, high: {}}\nrules: [{id: a, match: 'true', tier: \"'low'\"},"
     " {id: a, match: 'true', tier: \"'low'\"}]", "used twice"),
    ("tiers: {low: {}, medium: {}, high: {}}\nrules: []\nareas: [350203]", "'areas' must map"),
    ("tiers: {low: {}, medium: {}, high: {}}\nrules: []\nareas: {350203: 1}", "'areas' must map"),
])
def test_bad_policies_fail_at_load_with_the_reason(text, message):
    with pytest.raises(FanzhaError, match=message):
        parse_policy(text)


def test_areas_map_counties_to_police_stations():
    p = parse_policy(default_policy_text() + "areas:\n  350203: 思明\n  '350206': 思明\n")
    assert p.areas == {"350203": "思明", "350206": "思明"}
    assert default_policy().areas == {}


def test_tiers_actions_and_elderly_family_notice():
    d = Decider(default_policy())
    got = run(d, [signals(sig(1, "A", 0.9, details='{"age": 72}'), sig(2, "B", 0.6),
                          sig(3, "C", 0.3))])
    by = {a["entity"]: a for a in got.values()}
    assert by["A"]["tier"] == "high" and "family_notice" in by["A"]["actions"]
    assert by["A"]["sla_due"] == T0 + dt.timedelta(minutes=d.policy.tiers["high"].sla_minutes)
    assert by["B"]["tier"] == "medium" and by["B"]["actions"] == ["call", "flash_sms"]
    assert by["C"]["tier"] == "low" and by["C"]["actions"] == ["sms"]


def test_one_alert_per_person_within_the_window_escalated_by_new_signals():
    d = Decider(default_policy())
    got = run(d, [signals(sig(1, "A", 0.4)), signals(sig(2, "A", 0.9, hours=5))])
    (a,) = got.values()
    assert a["tier"] == "high" and a["escalations"] == 1 and a["n_signals"] == 2
    assert a["sla_due"] == T0 + dt.timedelta(hours=5, minutes=d.policy.tiers["high"].sla_minutes)
    assert a["evidence"] == "evidence 2"


def test_a_lower_signal_never_lowers_the_tier():
    got = run(Decider(default_policy()), [signals(sig(1, "A", 0.9), sig(2, "A", 0.2, hours=1))])
    (a,) = got.values()
    assert a["tier"] == "high" and a["escalations"] == 0


def test_after_the_window_a_new_alert_opens():
    got = run(Decider(default_policy()), [signals(sig(1, "A", 0.9)),
                                           signals(sig(2, "A", 0.9, hours=24 * 8))])
    assert len(got) == 2


def test_after_the_window_a_new_alert_opens_within_one_batch_too():
    """A batch that holds both alerts of one person (the first closed by the window) returns both:
    the first was once lost when a whole log was decided in one batch."""
    rows = [sig(1, "A", 0.9), sig(2, "A", 0.9, hours=24 * 8), sig(3, "A", 0.9, hours=24 * 16)]
    one = run(Decider(default_policy()), [signals(*rows)])
    apart = run(Decider(default_policy()), [signals(r) for r in rows])
    assert len(one) == 3 and one == apart


def test_signals_no_rule_matches_make_no_alert_and_null_tier_drops():
    text = default_policy_text().replace(
        TIER_LINE,
        "tier: CASE WHEN score >= 0.5 THEN 'high' END")
    d = Decider(parse_policy(text))
    got = run(d, [signals(sig(1, "A", 0.9, detector="other"), sig(2, "B", 0.3),
                          sig(3, "C", 0.7))])
    assert [a["entity"] for a in got.values()] == ["C"]


def test_a_tier_expression_giving_nonsense_is_a_clear_error():
    text = default_policy_text().replace(
        TIER_LINE,
        "tier: \"'urgent'\"")
    with pytest.raises(FanzhaError, match="gave 'urgent'"):
        Decider(parse_policy(text)).step(signals(sig(1, "A", 0.9)), {"open": None})


def test_decisions_do_not_depend_on_how_signals_are_batched():
    rows = [sig(i, f"P{i % 7}", (i % 10) / 10, hours=i * 3) for i in range(60)]
    whole = run(Decider(default_policy()), [signals(*rows)])
    pieces = run(Decider(default_policy()), [signals(*rows[i:i + 7]) for i in range(0, 60, 7)])
    assert canonical(pa.Table.from_pylist(list(whole.values()))) == \
        canonical(pa.Table.from_pylist(list(pieces.values())))


def test_a_rule_can_give_its_own_actions_per_tier():
    d = Decider(default_policy())
    got = run(d, [signals(sig(1, "6217000000000000002", 0.95, detector="mule_account"))])
    (a,) = got.values()
    assert a["tier"] == "high" and a["actions"] == ["bank_hold", "freeze_request"]


def test_rule_actions_must_name_tiers():
    text = default_policy_text().replace("      high: [bank_hold, freeze_request]",
                                         "      urgent: [bank_hold]")
    with pytest.raises(FanzhaError, match="must be a list, or map tiers"):
        parse_policy(text)


def test_the_access_watch_alerts_the_site_not_the_customer_and_respects_the_budget():
    d = Decider(default_policy())
    rules = {"site": "wh-00", "rules": ["remote_tool"]}
    within = orjson.dumps({"site": "wh-00", "within_budget": True}).decode()
    beyond = orjson.dumps({"site": "wh-00", "within_budget": False}).decode()
    got = run(d, [signals(
        sig(1, "wh00-sub-0017", 0.96, detector="access_rules", details=orjson.dumps(rules).decode()),
        sig(2, "wh00-sub-0017", 0.96, hours=0.1, detector="access_rules",
            details=orjson.dumps(rules).decode()),
        sig(3, "wh00-sub-0005", 0.6, detector="access_rules", details=orjson.dumps(rules).decode()),
        sig(4, "wh00-sub-0017", 0.99, hours=24, detector="access_anomaly", details=within),
        sig(5, "wh00-sub-0009", 0.8, hours=24, detector="access_anomaly", details=beyond),
    )])
    by = {(a["rule"], a["entity"]): a for a in got.values()}
    assert set(by) == {("access-insider", "wh00-sub-0017"), ("access-anomaly", "wh00-sub-0017")}
    ins = by[("access-insider", "wh00-sub-0017")]
    assert ins["n_signals"] == 2 and ins["tier"] == "high"
    assert ins["actions"] == ["notify_site_security", "suspend_account"]  # no home visit
    assert by[("access-anomaly", "wh00-sub-0017")]["dedup_key"] == "wh-00/wh00-sub-0017"
