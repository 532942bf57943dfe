"""victim_risk: exposure and vulnerability into one score; the policy turns it into a tier.
Traps: a weak sign alone, a number the person knows, a payee paid before."""

from __future__ import annotations

import datetime as dt
import json
import math

import polars as pl
import pyarrow as pa
import pytest

from fanzha.decide.decide import Decider
from fanzha.decide.policy import default_policy
from fanzha.detectors import FraudApp, FraudContact, FraudUrl
from fanzha.detectors.victim_risk import VictimRisk, VictimRiskSettings, hand_score
from fanzha.engine.check import run_detector
from fanzha.errors import FanzhaError
from fanzha.models.victims import FEATURES, VictimRiskModel, facts_from_details
from fanzha.testing import START, as_log
from scenario import FRAUD, VICTIM, call, report, table, with_upstream

M = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
FAMILY = "13900139000"
ELDER_ID = "11010519491231002X"  # born 1949-12-31: 76 at START
YOUNG_ID = "110105199001011232"
ACCOUNT = "6222020200001234567"
MULE = "6217000010001234567"


def sim_card(phone=VICTIM, id_number=ELDER_ID, family=FAMILY):
    return {"ts": START - 300 * D, "card_type": "sim", "card_number": phone,
            "id_number": id_number, "family_phone": family, "action": "open"}


def run(calls=(), reports=(), sms=(), visits=(), apps=(), cards=(), transfers=(), det=None):
    log = as_log({"call": table("call", list(calls)), "report": table("report", list(reports)),
                  "sms": table("sms", list(sms)), "visit": table("visit", list(visits)),
                  "app": table("app", list(apps)), "card": table("card", list(cards)),
                  "transfer": table("transfer", list(transfers))})
    log = with_upstream(log, [FraudContact(), FraudUrl(), FraudApp()])
    top = max(int(t["seq"].to_pylist()[-1]) for t in log.values() if t.num_rows)
    sigs, _ = run_detector(det or VictimRisk(), log, [top])
    out = sigs.to_pylist()
    for s in out:
        s["d"] = json.loads(s["details"])
    return out


def alerts(sigs):
    rows = [{k: v for k, v in s.items() if k != "d"} for s in sigs]
    got, _ = Decider(default_policy()).step(pa.Table.from_pylist(rows, schema=_schema()),
                                            Decider(default_policy()).initial_state())
    return got.to_pylist()


def _schema():
    from fanzha.engine.protocol import SIGNAL_SCHEMA

    return SIGNAL_SCHEMA


def test_an_elderly_person_on_a_long_fraud_call_is_high_risk_with_the_family_told():
    sigs = run(calls=[call(START + H, FRAUD, VICTIM, 400)], reports=[report(START, FRAUD)],
               cards=[sim_card()])
    (s,) = sigs
    assert s["entity"] == VICTIM and s["d"]["role"] == "at_risk"
    assert s["d"]["age"] == 76 and s["d"]["family_phone"] == FAMILY
    assert s["score"] == 1.0  # 0.9 from the call + the old-age bonus, capped
    (a,) = alerts(sigs)
    assert a["tier"] == "high"
    assert set(a["actions"]) == {"home_visit", "call", "bank_hold", "family_notice"}


def test_the_persons_area_is_the_card_holders_county_else_the_county_that_issued_the_id():
    exposure = {"calls": [call(START + H, FRAUD, VICTIM, 400)], "reports": [report(START, FRAUD)]}
    (s,) = run(**exposure, cards=[{**sim_card(), "holder_county": "350203"}])
    assert s["d"]["area"] == "350203"  # home visits come from this county's police station
    (s,) = run(**exposure, cards=[sim_card()])
    assert s["d"]["area"] == ELDER_ID[:6]
    (s,) = run(**exposure)
    assert s["d"]["area"] is None  # no SIM card event: dispatch counts it as area "unknown"
    closed = {**sim_card(), "ts": START - D, "action": "close", "holder_county": "350203"}
    (s,) = run(**exposure, cards=[sim_card(), closed])
    assert s["d"]["area"] is None and s["d"]["age"] is None


def test_the_same_call_to_a_young_person_without_family_number_is_high_but_no_family_notice():
    sigs = run(calls=[call(START + H, FRAUD, VICTIM, 400)], reports=[report(START, FRAUD)],
               cards=[sim_card(id_number=YOUNG_ID, family=None)])
    (a,) = alerts(sigs)
    assert a["tier"] == "high" and "family_notice" not in a["actions"]


def test_a_missed_call_is_low_and_a_second_channel_raises_it():
    (low,) = alerts(run(calls=[call(START + H, FRAUD, VICTIM, 0)], reports=[report(START, FRAUD)]))
    assert low["tier"] == "low" and low["actions"] == ["sms"]
    both = run(calls=[call(START + H, FRAUD, VICTIM, 0)], reports=[report(START, FRAUD)],
               visits=[{"ts": START + H + M, "phone": VICTIM, "domain": "taobao-refund.top"}])
    assert max(s["score"] for s in both) > 0.8  # independent evidence: 1 - (1-0.4)(1-0.75)
    (a,) = alerts(both)
    assert a["tier"] == "high" and a["escalations"] == 1


def test_trap_a_weak_sign_alone_raises_nothing():
    apps = [{"ts": START + H, "phone": VICTIM, "app_id": "us.zoom.videomeetings",
             "action": "screen_share"}]
    assert run(apps=apps, cards=[sim_card()]) == []


def test_trap_a_number_the_person_has_known_for_weeks_counts_half():
    history = [call(START - 20 * D + i * D, VICTIM, FRAUD, 30) for i in range(3)]
    reps = [report(START, FRAUD)]
    known = run(calls=[*history, call(START + H, FRAUD, VICTIM, 400)], reports=reps)
    stranger = run(calls=[call(START + H, FRAUD, VICTIM, 400)], reports=reps)
    # the calls of weeks ago are exposures too (look-back stops at 7 days, so not these)
    k = next(s for s in known if s["ts"] == START + H)
    assert k["score"] < stranger[0]["score"] and "a number they know" in k["evidence"]


def test_contact_on_several_days_adds_to_the_risk():
    reps = [report(START, FRAUD)]
    once = run(calls=[call(START + H, FRAUD, VICTIM, 30)], reports=reps)
    again = run(calls=[call(START + H, FRAUD, VICTIM, 30), call(START + D + H, FRAUD, VICTIM, 30)],
                reports=reps)
    last = max(again, key=lambda s: s["ts"])
    assert last["score"] == once[0]["score"] + VictimRiskSettings().repeat_bonus
    assert last["d"]["days"] == 2


def test_paying_a_new_payee_while_exposed_is_urgent_and_names_the_accounts():
    bank = {"ts": START - 10 * D, "card_type": "bank", "card_number": ACCOUNT,
            "id_number": ELDER_ID, "action": "open"}
    pay = {"ts": START + H + 10 * M, "payer_account": ACCOUNT, "payee_account": MULE,
           "amount_fen": 500_000, "payer_phone": VICTIM}
    sigs = run(calls=[call(START + H, FRAUD, VICTIM, 0)], reports=[report(START, FRAUD)],
               cards=[sim_card(), bank], transfers=[pay])
    urgent = [s for s in sigs if s["d"]["new_payee"]]
    (u,) = urgent
    assert u["score"] == VictimRiskSettings().score_new_payee and u["ts"] == pay["ts"]
    assert u["d"]["accounts"] == [ACCOUNT] and u["d"]["payee_account"] == MULE
    assert "paying 5000.0 yuan" in u["evidence"]


def test_trap_paying_a_known_payee_or_paying_long_after_exposure_is_not_urgent():
    before = {"ts": START - 5 * D, "payer_account": ACCOUNT, "payee_account": MULE,
              "amount_fen": 100, "payer_phone": VICTIM}
    again = before | {"ts": START + H + 10 * M}
    late = before | {"ts": START + 5 * D, "payee_account": "6217000010009999999"}
    sigs = run(calls=[call(START + H, FRAUD, VICTIM, 0)], reports=[report(START, FRAUD)],
               transfers=[before, again, late])
    assert not any(s["d"]["new_payee"] for s in sigs)


def test_inputs_are_a_setting():
    only_url = VictimRisk(VictimRiskSettings(inputs=("fraud_url",)))
    assert only_url.signal_inputs == ("fraud_url",)
    sigs = run(calls=[call(START + H, FRAUD, VICTIM, 400)], reports=[report(START, FRAUD)],
               det=only_url)
    assert sigs == []


def test_trap_a_courier_reported_as_harassment_by_three_citizens_warns_nobody_on_short_calls():
    courier = "18612345678"
    reps = [report(START, courier, by="citizen", verdict="report", fraud_type=None,
                   reporter=f"1390013900{i}") for i in range(3)]
    calls = [call(START + H + i * M, courier, f"1380013{i:04d}", 25) for i in range(20)]
    sigs = run(calls=calls, reports=reps)
    assert sigs == []  # suspected on citizens' word only: 0.7 x 0.4 is below a warning


def test_the_details_carry_every_fact_of_the_score():
    sigs = run(calls=[call(START + H, FRAUD, VICTIM, 700), call(START + D + H, FRAUD, VICTIM, 30)],
               reports=[report(START, FRAUD)], cards=[sim_card()],
               visits=[{"ts": START + 2 * H, "phone": VICTIM, "domain": "taobao-refund.top"}])
    assert len(sigs) >= 3
    facts = facts_from_details(pl.Series([s["details"] for s in sigs]))
    again = facts.select(hand_score(VictimRiskSettings())).to_series().to_list()
    assert again == pytest.approx([s["score"] for s in sigs], abs=1e-5)


def test_a_learned_model_named_in_the_settings_replaces_the_hand_weights(tmp_path):
    n = len(FEATURES)
    coef = [5.0 if f == "old" else 0.0 for f in FEATURES]  # only a 75-year-old is at risk
    m = VictimRiskModel((0.0,) * n, (1.0,) * n, tuple(coef), -2.5, (0.0, 1.0), (0.0, 1.0))
    m.save(tmp_path / "m.json")
    det = VictimRisk(VictimRiskSettings(model=str(tmp_path / "m.json")))
    exposure = {"calls": [call(START + H, FRAUD, VICTIM, 400)], "reports": [report(START, FRAUD)]}
    (old,) = run(**exposure, cards=[sim_card()], det=det)
    (young,) = run(**exposure, cards=[sim_card(id_number=YOUNG_ID)], det=det)
    assert old["score"] == pytest.approx(1 / (1 + math.exp(-2.5)))
    assert young["score"] == pytest.approx(1 / (1 + math.exp(2.5)))
    assert [a["tier"] for a in alerts([old])] == ["high"] and alerts([young]) == []
    (hand,) = run(**exposure, cards=[sim_card(id_number=YOUNG_ID)])
    assert hand["score"] == 0.9  # without a model: the hand weights, as before
    (tmp_path / "bad.json").write_text('{"format": "something else"}')
    with pytest.raises(FanzhaError, match="not a fanzha victim-risk model"):
        VictimRisk(VictimRiskSettings(model=str(tmp_path / "bad.json")))
