"""card_risk: cards that turn bad soon after opening, the agent whose cards keep turning bad, one
identity opening cards at many shops, a promotion team opening cards for rural elderly people;
ordinary customers and an old card misused later are not flagged."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from cards import INSIDER, START, TEAM, card_log, card_rows, sim_card
from fanzha.detectors.card_risk import CardRisk, CardRiskSettings
from fanzha.engine.check import run_detector
from fanzha.engine.protocol import SIGNAL_SCHEMA, signals_key
from fanzha.testing import as_log
from scenario import table

BAD = CardRiskSettings(bad_inputs=("fraud_number", "mule_account"))


def _run(log, settings=BAD):
    top = max(max(t["seq"].to_pylist() or [0]) for t in log.values())
    sigs, _ = run_detector(CardRisk(settings), log, [top])
    return sigs.to_pylist()


def _reasons(sigs):
    out: dict[str, set[str]] = {}
    for s in sigs:
        out.setdefault(s["entity"], set()).add(__import__("json").loads(s["details"])["reason"])
    return out


def test_the_scenario_finds_exactly_the_illicit_cards():
    sigs = _run(card_log(seed=3))
    _, _, illicit = card_rows(seed=3)
    found = {tuple(s["entity"].split(":", 1)) for s in sigs}
    assert found == illicit
    assert all(s["entity_kind"] == "card" and 0 < s["score"] <= 1 for s in sigs)


def test_a_card_that_turns_into_a_fraud_number_soon_after_opening():
    by = _reasons(_run(card_log()))
    assert "turned_bad" in by["sim:17030000000"]
    assert "turned_bad" in by["bank:6222999900001111"]  # the sold card became a mule account


def test_an_old_card_misused_later_is_not_a_sold_card():
    by = _reasons(_run(card_log()))
    assert f"bank:6222{100_000_000_000:012d}" not in by


def test_the_agent_whose_cards_keep_turning_bad_is_traced():
    sigs = _run(card_log())
    by = _reasons(sigs)
    # the insider's cards that have not turned bad yet are listed through the agent
    for i in (3, 4, 5):
        assert by[f"sim:170{30_000_000 + i:08d}"] == {"bad_source"}
    # but not the insider's ordinary cards of a year ago
    assert "sim:13720000000" not in by and "sim:13720000001" not in by
    ev = next(s for s in sigs if s["entity"] == "sim:17030000005")
    assert INSIDER in ev["evidence"] and '"agent_id":"ag-insider"' in ev["details"]


def test_one_bad_card_is_not_enough_to_suspect_its_agent():
    rows, _, _ = card_rows()
    log = as_log({"card": table("card", rows)})
    top = max(log["card"]["seq"].to_pylist())
    log[signals_key("fraud_number")] = pa.Table.from_pylist([{
        "signal_id": "x", "detector": "fraud_number", "seq": top + 1,
        "ts": START + dt.timedelta(days=1), "entity_kind": "phone", "entity": "17030000000",
        "score": 0.8, "fraud_type": None, "evidence": "suspected", "details": '{"role": "suspect"}',
        "event_ids": []}], schema=SIGNAL_SCHEMA)
    log[signals_key("mule_account")] = SIGNAL_SCHEMA.empty_table()
    by = _reasons(_run(log))
    assert by["sim:17030000000"] == {"turned_bad"}
    assert "sim:17030000001" not in by


def test_one_identity_opening_cards_at_three_shops():
    by = _reasons(_run(card_log()))
    assert all(by[f"sim:171{40_000_000 + i:08d}"] == {"identity_burst"} for i in range(3))


def test_two_cards_of_one_identity_a_year_apart_are_ordinary():
    rows = [sim_card(START - dt.timedelta(days=400), "13900000001", "440106198001010011",
                     "hall-1", "ag-1"),
            sim_card(START, "13900000002", "440106198001010011", "hall-2", "ag-2"),
            sim_card(START + dt.timedelta(hours=1), "13900000003", "440106198001010011",
                     "hall-3", "ag-3")]
    assert _run(as_log({"card": table("card", rows)}), CardRiskSettings()) == []


def test_a_promotion_team_opening_cards_for_rural_elderly_people():
    sigs = _run(card_log())
    team = [s for s in sigs if TEAM in s["evidence"]]
    assert len(team) == 5 and all("aged 60+" in s["evidence"] for s in team)


def test_the_same_visit_in_a_city_district_is_not_flagged():
    rows = [sim_card(START + dt.timedelta(minutes=20 * i), f"1725000000{i}",
                     f"44010619480701{700 + i:03d}X", "hall-3", TEAM, county="440106")
            for i in range(5)]
    assert _run(as_log({"card": table("card", rows)}), CardRiskSettings()) == []


def test_closed_cards_and_cards_without_shops_or_readable_ids_do_not_break_it():
    rows = [sim_card(START, "13900000001", "not-an-id", None, None),
            {**sim_card(START, "13900000002", "x", None, None), "action": "close"}]
    assert _run(as_log({"card": table("card", rows)}), CardRiskSettings()) == []
