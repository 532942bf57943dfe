"""fraud_url: listed sites, look-alikes, links in SMS, look-back; and the traps it must not fall
into (a bank's own domain, government sites, a fraud page on a platform's host, cleared sites)."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fanzha.detectors.fraud_url import FraudUrl, FraudUrlSettings, _links
from fanzha.engine.check import run_detector
from fanzha.testing import START, as_log
from scenario import FRAUD, VICTIM, table

H = dt.timedelta(hours=1)
OTHER = "13900139000"


def visit(ts, host, phone=VICTIM, path="/claim"):
    return {"ts": ts, "phone": phone, "domain": host, "url": f"https://{host}{path}"}


def listing(ts, value, kind="domain", verdict="confirm", by="police"):
    return {"ts": ts, "reporter_kind": by, "target_kind": kind, "target_value": value,
            "verdict": verdict, "fraud_type": "fake_customer_service"}


def run(visits=(), reports=(), sms=(), det=None):
    log = as_log({"visit": table("visit", list(visits)), "report": table("report", list(reports)),
                  "sms": table("sms", list(sms))})
    top = sum(t.num_rows for t in log.values())
    sigs, _ = run_detector(det or FraudUrl(), log, [top])
    out = sigs.to_pylist()
    for s in out:
        s["d"] = json.loads(s["details"])
    return out


def exposed(sigs):
    return [s for s in sigs if s["d"]["role"] == "exposed"]


def suspects(sigs):
    return [s for s in sigs if s["d"]["role"] == "suspect"]


def test_a_visit_to_a_confirmed_domain_exposes_the_visitor():
    (s,) = run([visit(START + H, "pay-now.example.com")], [listing(START, "pay-now.example.com")])
    assert s["entity"] == VICTIM and s["score"] == 0.85 and s["fraud_type"] == "fake_customer_service"
    assert s["d"]["via"] == "pay-now.example.com" and s["d"]["via_kind"] == "domain"
    assert "confirmed by police" in s["evidence"]


def test_a_confirmed_url_lists_its_host():
    (s,) = run([visit(START + H, "pay-now.example.com", path="/other")],
               [listing(START, "https://pay-now.example.com/claim?id=1", kind="url",
                        by="centre")])
    assert s["d"]["listing"] == "confirmed"


def test_trap_a_banks_own_domain_and_government_sites_are_not_look_alikes():
    hosts = ["icbc.com.cn", "mybank.icbc.com.cn", "www.gxzf.gov.cn", "taobao.com",
             "world.taobao.com", "12306.cn", "kuaidi100.com", "github.com", "example.cn"]
    assert run([visit(START + i * H, h) for i, h in enumerate(hosts)]) == []
    assert FraudUrl().lookalikes(hosts).height == 0


def test_trap_a_fraud_page_on_a_platforms_own_host_does_not_list_the_platform():
    got = run([visit(START + H, "weixin.qq.com", path="/s/article")],
              [listing(START, "https://weixin.qq.com/s/fraud-article", kind="url")])
    assert got == []


def test_look_alikes_by_homoglyph_typo_and_brand_combination():
    cyrillic = "іcbc.com".encode("idna").decode()  # a Cyrillic і
    looks = {r["host"]: r for r in FraudUrl().lookalikes(
        [cyrillic, "taobaao.com", "ta0bao.com", "taobao-refund.top", "icbc.com.cn.verify.top",
         "pay-tuikuan.cc", "pay-tuikuan.com"]).to_dicts()}
    assert looks[cyrillic]["match"] == "homoglyph" and looks[cyrillic]["brand"] == "工商银行"
    assert looks["taobaao.com"]["match"] == "typo"
    assert looks["ta0bao.com"]["match"] == "homoglyph"
    assert looks["taobao-refund.top"]["match"] == "combo"
    assert looks["icbc.com.cn.verify.top"]["brand"] == "工商银行"  # the brand as a subdomain
    assert looks["pay-tuikuan.cc"]["match"] == "lure" and looks["pay-tuikuan.cc"]["la_score"] < 0.6
    assert "pay-tuikuan.com" not in looks  # a lure word on an ordinary TLD is not enough
    assert looks[cyrillic]["la_score"] > looks["taobao-refund.top"]["la_score"]


def test_a_look_alike_visit_exposes_the_person_and_makes_the_site_a_suspect_once():
    sigs = run([visit(START + H, "taobao-refund.top"),
                visit(START + 2 * H, "taobao-refund.top", phone=OTHER)])
    assert {s["entity"] for s in exposed(sigs)} == {VICTIM, OTHER}
    (sus,) = suspects(sigs)
    assert sus["entity_kind"] == "domain" and sus["entity"] == "taobao-refund.top"
    assert sus["ts"] == START + H


def test_an_sms_link_exposes_the_receiver_and_makes_the_sender_a_suspect():
    sms = [{"ts": START + H, "sender": FRAUD, "receiver": VICTIM,
            "text": "【客服】您的快递丢失，理赔请点击https://tb-lipei60.top/claim办理"},
           {"ts": START + H, "sender": "10690000123", "receiver": OTHER,
            "text": "【淘宝】您的订单已发货 https://taobao.com/o/1"}]
    sigs = run(sms=sms)
    (e,) = exposed(sigs)
    assert e["entity"] == VICTIM and e["d"]["channel"] == "sms_link" and e["d"]["sender"] == FRAUD
    assert e["score"] == FraudUrlSettings().score_combo_lure * FraudUrlSettings().sms_factor
    assert {(s["entity_kind"], s["entity"]) for s in suspects(sigs)} == {
        ("domain", "tb-lipei60.top"), ("phone", FRAUD)}


def test_visits_before_the_confirmation_are_found_by_looking_back():
    sigs = run([visit(START, "pay-now.example.com"), visit(START + H, "pay-now.example.com",
                                                           phone=OTHER)],
               [listing(START + 2 * H, "pay-now.example.com")])
    assert {s["entity"] for s in sigs} == {VICTIM, OTHER}
    assert all(s["ts"] == START + 2 * H and s["d"]["found"] == "look-back" for s in sigs)
    assert "before the listing" in sigs[0]["evidence"]


def test_look_back_stops_at_its_window_and_does_not_repeat():
    old = [visit(START, "pay-now.example.com")]
    assert run(old, [listing(START + dt.timedelta(days=8), "pay-now.example.com")]) == []
    twice = [listing(START + H, "pay-now.example.com"),
             listing(START + 2 * H, "pay-now.example.com")]
    assert len(run(old, twice)) == 1


def test_trap_a_cleared_site_stops_alerting_even_if_it_looks_alike():
    reps = [listing(START, "taobao-refund.top", verdict="clear")]
    assert run([visit(START + H, "taobao-refund.top")], reps) == []


def test_suspected_sites_warn_weaker_than_confirmed_ones():
    reps = [listing(START, "pay-now.example.com", verdict="report", by="citizen") | {
        "reporter": f"1380013800{i}"} for i in range(3)]
    (s,) = run([visit(START + H, "pay-now.example.com")], reps)
    assert s["d"]["listing"] == "suspected" and s["score"] < 0.85


def test_listed_only_when_look_alikes_are_switched_off():
    det = FraudUrl(FraudUrlSettings(brands=(), lure_words=(), risky_tlds=()))
    assert run([visit(START + H, "taobao-refund.top")], det=det) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_hostile_sms_text_never_crashes_link_extraction(text):
    log = as_log({"sms": table("sms", [{"ts": START, "sender": FRAUD, "receiver": VICTIM,
                                        "text": "点击 https://" + text}])})
    links = _links(log["sms"])
    assert links.height <= 1
    FraudUrl().lookalikes(links["host"].to_list())


def test_links_in_one_sms_to_two_sites_are_two_exposures():
    text = "https://taobao-refund.top/a 或 http://icbc-verify.cc/b"
    sigs = run(sms=[{"ts": START, "sender": FRAUD, "receiver": VICTIM, "text": text}])
    assert sorted(s["d"]["via"] for s in exposed(sigs)) == ["icbc-verify.cc", "taobao-refund.top"]
    assert pl.Series([s["signal_id"] for s in sigs]).n_unique() == len(sigs)
