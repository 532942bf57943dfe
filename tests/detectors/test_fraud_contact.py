"""fraud_contact: one catch and the traps, on hand-made events."""

from __future__ import annotations

import datetime as dt

from fanzha.detectors.fraud_contact import FraudContact, FraudContactSettings
from fanzha.engine.check import run_detector
from fanzha.intel import IntelSettings
from fanzha.testing import START, as_log
from scenario import FRAUD, VICTIM, call, report, table

H = dt.timedelta(hours=1)
OTHER = "13900139000"


def signals_for(calls=(), reports=(), sms=(), det=None):
    log = as_log({"call": table("call", list(calls)), "report": table("report", list(reports)),
                  "sms": table("sms", list(sms))})
    top = sum(t.num_rows for t in log.values())
    sigs, _ = run_detector(det or FraudContact(), log, [top])
    return sigs.to_pylist()


def test_a_call_from_a_confirmed_number_signals_the_callee():
    (s,) = signals_for(calls=[call(START + H, FRAUD, VICTIM, 184)], reports=[report(START, FRAUD)])
    assert s["entity"] == VICTIM and s["score"] == 0.9
    assert "answered a 184 s call from 17012345678" in s["evidence"]
    assert s["fraud_type"] == "fake_customer_service"


def test_calls_before_the_confirmation_are_found_by_looking_back():
    sigs = signals_for(calls=[call(START, FRAUD, VICTIM, 30), call(START + H, FRAUD, OTHER, 0)],
                       reports=[report(START + 2 * H, FRAUD)])
    by = {s["entity"]: s for s in sigs}
    assert set(by) == {VICTIM, OTHER}
    assert by[VICTIM]["ts"] == START + 2 * H  # the warning cannot predate the confirmation
    assert "before the confirmation" in by[VICTIM]["evidence"]
    assert by[OTHER]["score"] == 0.4


def test_look_back_stops_at_its_window():
    sigs = signals_for(calls=[call(START, FRAUD, VICTIM, 30)],
                       reports=[report(START + dt.timedelta(days=8), FRAUD)])
    assert sigs == []
    det = FraudContact(FraudContactSettings(lookback_days=10))
    assert len(signals_for(calls=[call(START, FRAUD, VICTIM, 30)],
                           reports=[report(START + dt.timedelta(days=8), FRAUD)], det=det)) == 1


def test_calling_back_the_fraud_number_is_exposure_too():
    (s,) = signals_for(calls=[call(START + H, VICTIM, FRAUD, 60)], reports=[report(START, FRAUD)])
    assert s["entity"] == VICTIM and "called 17012345678" in s["evidence"]


def test_sms_from_a_confirmed_number():
    sms = {"ts": START + H, "sender": FRAUD, "receiver": VICTIM, "text": "您的包裹丢失"}
    (s,) = signals_for(sms=[sms], reports=[report(START, FRAUD)])
    assert s["entity"] == VICTIM and s["score"] == 0.6


def test_trap_citizen_reports_alone_do_not_make_a_number_confirmed():
    reps = [report(START, FRAUD, by="citizen", verdict="report", reporter=f"1380013800{i}")
            for i in range(2)]
    assert signals_for(calls=[call(START + H, FRAUD, VICTIM, 184)], reports=reps) == []


def test_reports_from_several_citizens_make_it_suspected_and_the_warning_weaker():
    reps = [report(START, FRAUD, by="citizen", verdict="report", reporter=f"1380013800{i}")
            for i in range(3)]
    (s,) = signals_for(calls=[call(START + H, FRAUD, VICTIM, 184)], reports=reps)
    assert s["score"] == 0.9 * 0.4 and "suspected on the word of citizen" in s["evidence"]
    assert '"listing":"suspected"' in s["details"]
    quiet = FraudContact(FraudContactSettings(warn_suspected=False))
    assert signals_for(calls=[call(START + H, FRAUD, VICTIM, 184)], reports=reps, det=quiet) == []


def test_the_same_reporter_twice_is_one_reporter():
    reps = [report(START + i * H, FRAUD, by="citizen", verdict="report", reporter=VICTIM)
            for i in range(5)]
    assert signals_for(calls=[call(START + 6 * H, FRAUD, OTHER, 184)], reports=reps) == []


def test_a_listing_expires():
    det = FraudContact(FraudContactSettings(intel=IntelSettings(confirmed_days=2)))
    late = call(START + dt.timedelta(days=3), FRAUD, VICTIM, 184)
    assert signals_for(calls=[late], reports=[report(START, FRAUD)], det=det) == []
    assert len(signals_for(calls=[late], reports=[report(START, FRAUD)])) == 1


def test_trap_a_cleared_number_stops_alerting():
    sigs = signals_for(calls=[call(START + 3 * H, FRAUD, VICTIM, 184)],
                       reports=[report(START, FRAUD), report(START + H, FRAUD, verdict="clear")])
    assert sigs == []


def test_trap_a_busy_courier_calling_strangers_is_not_flagged_without_confirmation():
    courier = "18612345678"
    calls = [call(START + i * H / 10, courier, f"1380013{i:04d}", 20) for i in range(200)]
    assert signals_for(calls=calls, reports=[report(START, FRAUD)]) == []


def test_reconfirmation_does_not_signal_the_same_contact_twice():
    sigs = signals_for(calls=[call(START + H, FRAUD, VICTIM, 184)],
                       reports=[report(START, FRAUD), report(START + 2 * H, FRAUD, verdict="clear"),
                                report(START + 3 * H, FRAUD)])
    assert len(sigs) == 1


def test_numbers_other_detectors_suspect_are_listed_and_looked_back():
    import pyarrow as pa

    from fanzha.engine.protocol import SIGNAL_SCHEMA, signals_key

    log = as_log({"call": table("call", [call(START, FRAUD, OTHER, 30),
                                         call(START + 2 * H, FRAUD, VICTIM, 184)]),
                  "report": table("report", []), "sms": table("sms", [])})
    first_call = log["call"]["seq"].to_pylist()[0]
    suspicion = pa.Table.from_pylist([{
        "signal_id": "s1", "detector": "fraud_url", "seq": first_call, "ts": START + H,
        "entity_kind": "phone", "entity": FRAUD, "score": 0.8, "fraud_type": None,
        "evidence": "sent an SMS with a link to a look-alike", "details": '{"role": "suspect"}',
        "event_ids": []}], schema=SIGNAL_SCHEMA)
    log[signals_key("fraud_url")] = suspicion
    det = FraudContact(FraudContactSettings(suspect_inputs=("fraud_url",)))
    assert det.signal_inputs == ("fraud_url",)
    top = sum(t.num_rows for k, t in log.items() if not k.startswith("signals:"))
    sigs, _ = run_detector(det, log, [top])
    by = {s["entity"]: s for s in sigs.to_pylist()}
    assert set(by) == {VICTIM, OTHER}
    assert by[VICTIM]["score"] == 0.9 * 0.8  # scaled by the suspicion's confidence
    assert "suspected on the word of fraud_url" in by[VICTIM]["evidence"]
