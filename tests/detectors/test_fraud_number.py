"""fraud_number: a SIM farm is suspected from its first calls and the people it reached are found;
couriers, telesales and shops' SMS ports are not suspected."""

from __future__ import annotations

import datetime as dt
import json
import random

import numpy as np
import pyarrow as pa
import pytest

from fanzha.detectors.fraud_number import FraudNumber, FraudNumberSettings, with_settings
from fanzha.engine.check import run_detector
from fanzha.errors import FanzhaError
from fanzha.models import number_features as nf
from fanzha.models.numbers import fit
from fanzha.testing import START, as_log
from scenario import farm_city, table

FARM, COURIER, PORT = "17012345678", "18612345678", "1069000012345"
MIN = dt.timedelta(minutes=1)


def run(events, det=None, cuts=None):
    log = as_log({"sms": table("sms", []), **events})
    top = sum(t.num_rows for t in log.values())
    sigs, state = run_detector(det or FraudNumber(), log, cuts or [top])
    return [{**s, "details": json.loads(s["details"])} for s in sigs.to_pylist()], state


def by_role(sigs, role):
    return [s for s in sigs if s["details"]["role"] == role]


def farm_calls(n, start=START, number=FARM, handsets=8, counties=("532801", "440305", "450921")):
    rng = random.Random(7)
    imeis = [f"8612345{i:08d}" for i in range(handsets)]
    return [{"ts": start + 5 * i * MIN, "caller": number, "callee": f"1380013{i:04d}",
             "duration_s": [0, 0, 12, 900][i % 4], "answered": i % 4 >= 2,
             "caller_imei": rng.choice(imeis), "caller_county": rng.choice(counties)}
            for i in range(n)]


def test_a_sim_farm_is_suspected_after_its_first_calls():
    sigs, _ = run({"call": table("call", farm_calls(30))})
    (s,) = by_role(sigs, "suspect")
    assert s["entity"] == FARM and s["entity_kind"] == "phone"
    assert s["details"]["out_calls"] == FraudNumberSettings().min_out  # at the first chance
    assert s["details"]["score"] >= s["details"]["threshold"]
    assert "handsets" in s["evidence"]


def test_everyone_the_farm_called_is_exposed_those_before_the_suspicion_too():
    sigs, _ = run({"call": table("call", farm_calls(30))})
    exposed = by_role(sigs, "exposed")
    assert sorted(s["entity"] for s in exposed) == [f"1380013{i:04d}" for i in range(30)]
    (suspect,) = by_role(sigs, "suspect")
    before = [s for s in exposed if s["details"]["found"] == "look-back"]
    # the calls up to and including the one that raised the suspicion
    assert len(before) == FraudNumberSettings().min_out
    assert all(s["ts"] >= suspect["ts"] and "before the suspicion" in s["evidence"]
               for s in before)
    assert {s["details"]["via"] for s in exposed} == {FARM}
    long = next(s for s in exposed if s["details"]["duration_s"] == 900)
    missed = next(s for s in exposed if s["details"]["duration_s"] == 0)
    assert long["score"] > missed["score"]


def test_calling_the_suspected_number_back_is_exposure():
    back = {"ts": START + 10 * dt.timedelta(hours=1), "caller": "13800130001", "callee": FARM,
            "duration_s": 40, "answered": True}
    sigs, _ = run({"call": table("call", [*farm_calls(10), back])})
    (s,) = [s for s in by_role(sigs, "exposed") if s["details"]["channel"] == "call_out"]
    assert s["entity"] == "13800130001" and "called 17012345678" in s["evidence"]


def test_look_back_stops_at_its_window():
    old = {"ts": START - dt.timedelta(days=5), "caller": FARM, "callee": "13900000001",
           "duration_s": 30, "answered": True}
    sigs, _ = run({"call": table("call", [old, *farm_calls(10)])})
    assert "13900000001" not in {s["entity"] for s in by_role(sigs, "exposed")}
    sigs, _ = run({"call": table("call", [old, *farm_calls(10)])},
                  FraudNumber(FraudNumberSettings(lookback_days=7)))
    assert "13900000001" in {s["entity"] for s in by_role(sigs, "exposed")}


def test_trap_a_courier_calling_many_strangers_is_not_a_fraud_number():
    calls = [{"ts": START + 4 * i * MIN, "caller": COURIER, "callee": f"1380013{i:04d}",
              "duration_s": 25 if i % 7 else 0, "answered": i % 7 > 0,
              "caller_imei": "861111111111111", "caller_county": "450802"}
             for i in range(200)]
    sigs, _ = run({"call": table("call", calls)})
    assert sigs == []


def test_trap_telesales_and_shop_ports_are_not_fraud_numbers():
    sales = [{"ts": START + 2 * i * MIN, "caller": "13512345678", "callee": f"1380013{i:04d}",
              "duration_s": 15 if i % 2 else 0, "answered": i % 2 == 1,
              "caller_imei": "862222222222222", "caller_county": "450803"}
             for i in range(300)]
    shop = [{"ts": START + i * MIN, "sender": PORT, "receiver": f"1390013{i:04d}",
             "text": "会员专享 回T退订"} for i in range(500)]
    sigs, _ = run({"call": table("call", sales), "sms": table("sms", shop)})
    assert sigs == []


def test_mixed_city_only_the_farm_is_suspected_whatever_the_batches():
    events = farm_city(seed=3)
    sigs, _ = run(events)
    assert {s["entity"] for s in by_role(sigs, "suspect")} == {FARM}
    top = sum(t.num_rows for t in events.values())
    cut, _ = run(events, cuts=[top // 3, top // 2, top])
    assert sorted(s["signal_id"] for s in cut) == sorted(s["signal_id"] for s in sigs)


def test_state_keeps_only_the_window():
    calls = farm_calls(10, number="13512345678", handsets=1, counties=("450802",))
    late = {"ts": START + dt.timedelta(days=3), "caller": "13600000000", "callee": "13700000000",
            "duration_s": 10, "answered": True}
    _, state = run({"call": table("call", [*calls, late])})
    assert state["legs"].num_rows == 2  # the last call's two legs; the rest fell out of 24 h
    assert state["legs"].schema.equals(nf.LEG_SCHEMA)


def test_a_model_file_can_be_given_and_a_wrong_one_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((200, len(nf.FEATURES)))
    y = x[:, nf.FEATURES.index("handsets")] > 0.5
    model, _ = fit(x, y, nf.FEATURES, "events", rounds=20)
    path = tmp_path / "m.json"
    model.save(path)
    det = with_settings(FraudNumber(), model=str(path), threshold=0.99)
    assert det.threshold == 0.99
    other, _ = fit(x[:, :3], y, ("a", "b", "c"), "sichuan", rounds=20)
    other.save(tmp_path / "s.json")
    with pytest.raises(FanzhaError, match="trained on call events"):
        FraudNumber(FraudNumberSettings(model=str(tmp_path / "s.json")))
    (tmp_path / "bad.json").write_text("not a model")
    with pytest.raises(FanzhaError, match="not a fanzha fraud-number model"):
        FraudNumber(FraudNumberSettings(model=str(tmp_path / "bad.json")))


def test_default_policy_warns_the_exposed_people_not_the_suspected_number():
    """fraud_number's exposures reach people through victim_risk (one alert per person)."""
    from fanzha.decide.decide import Decider
    from fanzha.decide.policy import default_policy
    from fanzha.detectors.victim_risk import VictimRisk, VictimRiskSettings
    from fanzha.engine.protocol import signals_key

    log = as_log({"sms": table("sms", []), "call": table("call", farm_calls(12)),
                  "card": table("card", []), "transfer": table("transfer", [])})
    top = sum(t.num_rows for t in log.values())
    up, _ = run_detector(FraudNumber(), log, [top])
    risk = VictimRisk(VictimRiskSettings(inputs=("fraud_number",)))
    scored, _ = run_detector(risk, {**log, signals_key("fraud_number"): up}, [top])
    both = pa.concat_tables([up, scored])
    alerts, _ = Decider(default_policy()).step(both, Decider(default_policy()).initial_state())
    by = {a["entity"]: a for a in alerts.to_pylist()}
    assert FARM not in by and len(by) == 12  # the suspected number itself makes no alert
    assert {a["rule"] for a in by.values()} == {"victim-risk"}
    exposed = [{**s, "details": json.loads(s["details"])} for s in up.to_pylist()]
    long = next(s["entity"] for s in by_role(exposed, "exposed") if s["details"]["duration_s"] == 900)
    missed = next(s["entity"] for s in by_role(exposed, "exposed") if s["details"]["duration_s"] == 0)
    rank = {"low": 0, "medium": 1, "high": 2}
    assert rank[by[long]["tier"]] > rank[by[missed]["tier"]]
