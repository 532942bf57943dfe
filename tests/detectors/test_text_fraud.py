"""text_fraud: fraud SMS and report texts become signals; normal texts and clearances do not."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from fanzha.detectors.text_fraud import MODEL_ENV, TextFraud, TextFraudSettings
from fanzha.engine.check import run_detector
from fanzha.testing import START, as_log
from scenario import FRAUD, VICTIM, report, table
from text_corpus import CORPUS, FRAUD_SMS, NORMAL_SMS, tiny_text_model

H = dt.timedelta(hours=1)
FRIEND = "13900139000"


def sms(ts, sender, receiver, text):
    return {"ts": ts, "sender": sender, "receiver": receiver, "text": text}


@pytest.fixture(scope="module")
def det() -> TextFraud:
    return TextFraud(TextFraudSettings(model=tiny_text_model()))


def signals_for(det, sms_rows=(), reports=()):
    log = as_log({"sms": table("sms", list(sms_rows)), "report": table("report", list(reports))})
    top = sum(t.num_rows for t in log.values())
    sigs, _ = run_detector(det, log, [top])
    return sigs.to_pylist()


def test_a_fraud_sms_signals_its_sender_as_a_source_and_its_receiver_as_exposed(det):
    sigs = signals_for(det, [sms(START, FRAUD, VICTIM, FRAUD_SMS)])
    by = {json.loads(s["details"])["role"]: s for s in sigs}
    assert set(by) == {"suspect", "exposed"}
    sender, receiver = by["suspect"], by["exposed"]
    assert json.loads(receiver["details"])["via"] == json.loads(sender["details"])["number"]
    assert sender["entity"] == FRAUD and receiver["entity"] == VICTIM
    assert sender["fraud_type"] == receiver["fraud_type"] == "fake_customer_service"
    assert sender["score"] >= 0.8 and receiver["score"] == pytest.approx(sender["score"] * 0.75, abs=1e-3)
    d = json.loads(receiver["details"])
    assert d["number"] == VICTIM and d["fraud_type"] == "fake_customer_service" and d["kind"] == "sms"
    assert "received an SMS from 17012345678" in receiver["evidence"]
    assert {"客服", "理赔", "退款", "快递"} & set(d["words"])  # the words that drove the score


def test_normal_sms_and_sms_without_text_give_nothing(det):
    assert signals_for(det, [sms(START, FRIEND, VICTIM, NORMAL_SMS),
                             sms(START + H, FRIEND, VICTIM, None),
                             sms(START + 2 * H, FRIEND, VICTIM, "   ")]) == []


def test_an_evasively_spelled_fraud_sms_is_caught_like_the_plain_one(det):
    evasive = "您好，我是快.递.客.服，您的包裹丢失，我们双倍理赔，请加客服ｖｘ办理退款"
    sigs = signals_for(det, [sms(START, FRAUD, VICTIM, evasive)])
    assert {s["entity"] for s in sigs} == {FRAUD, VICTIM}


def test_a_citizen_report_text_types_the_reported_number(det):
    r = report(START, FRAUD, by="citizen", verdict="report", fraud_type=None, reporter=VICTIM)
    r["text"] = CORPUS["冒充公检法及政府机关类"][0]
    cleared = report(START + H, FRIEND, by="police", verdict="clear", fraud_type=None)
    cleared["text"] = CORPUS["冒充公检法及政府机关类"][1]
    (s,) = signals_for(det, reports=[r, cleared])
    assert s["entity"] == FRAUD and s["entity_kind"] == "phone"
    assert s["fraud_type"] == "impersonate_authority"
    assert json.loads(s["details"])["role"] == "suspect"
    assert json.loads(s["details"])["found_in"] == "report"
    assert "citizen report" in s["evidence"]


def test_the_threshold_is_a_setting():
    strict = TextFraud(TextFraudSettings(model=tiny_text_model(), min_score=0.999))
    assert signals_for(strict, [sms(START, FRAUD, VICTIM, FRAUD_SMS)]) == []


def test_without_a_model_it_is_idle(monkeypatch):
    monkeypatch.delenv(MODEL_ENV, raising=False)
    assert signals_for(TextFraud(), [sms(START, FRAUD, VICTIM, FRAUD_SMS)]) == []


def test_the_model_path_can_come_from_the_environment(monkeypatch):
    monkeypatch.setenv(MODEL_ENV, tiny_text_model())
    assert len(signals_for(TextFraud(), [sms(START, FRAUD, VICTIM, FRAUD_SMS)])) == 2


def test_end_to_end_a_fraud_sms_alerts_its_receiver_only(cli, tmp_path, monkeypatch):
    monkeypatch.setenv(MODEL_ENV, tiny_text_model())
    p = tmp_path / "sms.csv"
    p.write_text("ts,sender,receiver,text\n"
                 f"2026-03-02 09:00:00,{FRAUD},{VICTIM},{FRAUD_SMS}\n"
                 f"2026-03-02 09:05:00,{FRIEND},{VICTIM},{NORMAL_SMS}\n", encoding="utf-8")
    cli("ingest", str(p), "--kind", "sms")
    run = json.loads(cli("run", "--json").output)
    # the sender (intelligence), the receiver's exposure, and victim_risk's score of the receiver
    assert run["signals"] == 3
    (alert,) = json.loads(cli("alerts", "--json").output)["alerts"]
    assert alert["entity"] == VICTIM and alert["fraud_type"] == "fake_customer_service"
    assert alert["rule"] == "victim-risk"
    assert alert["tier"] in ("medium", "low")
