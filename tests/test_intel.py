"""Intelligence: the fold over reports and suspicions (status, source, confidence, expiry,
history) and `fanzha intel add|check|list|export|import`."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pyarrow as pa
import pytest

from fanzha.engine.protocol import SIGNAL_SCHEMA
from fanzha.intel import (
    IntelSettings,
    entries,
    entry,
    facts_from_reports,
    facts_from_signals,
    transitions,
)
from fanzha.testing import START, as_log
from scenario import FRAUD, table

H = dt.timedelta(hours=1)


def rep(ts, by="citizen", verdict="report", reporter=None, value=FRAUD, kind="phone", ft=None):
    return {"ts": ts, "reporter_kind": by, "target_kind": kind, "target_value": value,
            "verdict": verdict, "reporter": reporter, "fraud_type": ft}


def fold(reports, signals=None, s=None):
    s = s or IntelSettings()
    log = as_log({"report": table("report", reports)})
    facts = pl.concat([facts_from_reports(log["report"]), facts_from_signals(signals)])
    return transitions(facts, s)


def statuses(t):
    return t.sort("seq")["status"].to_list()


def test_citizens_raise_a_value_to_suspected_only_when_independent():
    same = [rep(START + i * H, reporter="13800138000") for i in range(5)]
    assert statuses(fold(same))[-1] == "reported"
    many = [rep(START + i * H, reporter=f"1380013800{i}") for i in range(3)]
    t = fold(many)
    assert statuses(t) == ["reported", "reported", "suspected"]
    e = entry("phone", FRAUD, t)
    assert e.reporters == 3 and e.source == "citizen" and e.confidence == 0.4


def test_an_institution_report_is_a_suspicion_at_once_and_police_decide():
    t = fold([rep(START, by="bank"), rep(START + H, by="police", verdict="confirm",
                                          ft="fake_loan"),
              rep(START + 2 * H, by="citizen"), rep(START + 3 * H, by="police", verdict="clear"),
              rep(START + 4 * H, by="bank")])
    assert statuses(t) == ["suspected", "confirmed", "confirmed", "cleared", "cleared"]
    e = entry("phone", FRAUD, t)
    assert e.status == "cleared" and e.source == "police" and e.fraud_type == "fake_loan"
    assert [h["changed"] for h in e.history] == [True, True, False, True, False]
    assert any("cleared by police" in line for line in e.explain())


def test_a_detectors_suspicion_makes_it_suspected_with_its_score_and_name():
    sig = pa.Table.from_pylist([{
        "signal_id": "s1", "detector": "fraud_number", "seq": 100, "ts": START + H,
        "entity_kind": "phone", "entity": FRAUD, "score": 0.93, "fraud_type": None,
        "evidence": "many short calls to strangers", "details": '{"role": "suspect"}',
        "event_ids": []}], schema=SIGNAL_SCHEMA)
    t = fold([rep(START)], sig)
    e = entry("phone", FRAUD, t)
    assert e.status == "suspected" and e.source == "fraud_number" and e.confidence == 0.93


def test_listings_expire_after_the_fact_that_last_supported_them():
    s = IntelSettings(confirmed_days=10, suspected_days=2)
    t = fold([rep(START, by="police", verdict="confirm")], s=s)
    e = entry("phone", FRAUD, t)
    assert e.expires == START + dt.timedelta(days=10)
    assert e.active(START + dt.timedelta(days=9)) and not e.active(START + dt.timedelta(days=11))
    t = fold([rep(START, by="bank"), rep(START + dt.timedelta(days=1), by="citizen")], s=s)
    assert entry("phone", FRAUD, t).expires == START + dt.timedelta(days=3)  # refreshed


def test_entries_one_row_per_value():
    t = fold([rep(START), rep(START + H, value="https://x.top/a", kind="url", by="centre",
                              verdict="confirm")])
    e = entries(t)
    assert e.height == 2 and set(e["status"]) == {"reported", "confirmed"}


# --- the command line ---------------------------------------------------------------------------

def test_add_check_list_and_json(cli):
    cli("intel", "add", "--kind", "phone", FRAUD, "--source", "citizen", "--reporter",
        "13800138001", "--at", "2026-03-02T01:00:00Z")
    cli("intel", "add", "--kind", "phone", FRAUD, "--source", "police", "--fraud-type",
        "冒充客服服务", "--at", "2026-03-02T02:00:00Z", "--note", "case J1")
    check = json.loads(cli("intel", "check", FRAUD, "--json", "--at", "2026-03-03").output)
    assert check["status"] == "confirmed" and check["active"] is True
    assert check["fraud_type"] == "fake_customer_service" and len(check["history"]) == 2
    text = cli("intel", "check", FRAUD, "--at", "2027-01-01").output
    assert "confirmed" in text and "expired" in text and "case J1" in text
    listed = json.loads(cli("intel", "list", "--json", "--status", "confirmed").output)
    assert listed["count"] == 1 and listed["entries"][0]["value"] == FRAUD
    active = json.loads(cli("intel", "list", "--json", "--active-at", "2027-01-01").output)
    assert active["count"] == 0
    assert "nothing known" in cli("intel", "check", "13900139000").output


def test_check_a_domain_shows_the_urls_listed_on_it(cli):
    cli("intel", "add", "--kind", "url", "https://tb-lipei60.top/claim", "--source", "centre")
    out = json.loads(cli("intel", "check", "tb-lipei60.top", "--json").output)
    assert out["status"] == "unknown"
    assert out["related"] == [{"kind": "url", "value": "https://tb-lipei60.top/claim",
                               "status": "confirmed"}]


def test_export_then_import_rebuilds_the_same_entries(cli, tmp_path):
    for i in range(3):
        cli("intel", "add", "--kind", "phone", FRAUD, "--source", "citizen", "--reporter",
            f"1380013800{i}", "--at", f"2026-03-02T0{i}:00:00Z")
    cli("intel", "add", "--kind", "domain", "icbc-verify.cc", "--source", "police",
        "--at", "2026-03-02T05:00:00Z")
    cli("intel", "add", "--kind", "app", "com.fake.loan", "--source", "police", "--verdict",
        "clear", "--at", "2026-03-02T06:00:00Z")
    before = json.loads(cli("intel", "list", "--json").output)["entries"]
    out = tmp_path / "intel.csv"
    cli("intel", "export", "-o", str(out))
    assert out.read_text().count("\n") == 1 + 5
    other = type(cli)(str(tmp_path / "other.duckdb"))
    summary = json.loads(other("intel", "import", str(out), "--json").output)
    assert summary["accepted"] == 5 and summary["quarantined"] == 0
    after = json.loads(other("intel", "list", "--json").output)["entries"]
    key = ("kind", "value", "status", "fraud_type", "source", "reporters", "expires")
    assert [{k: e[k] for k in key} for e in after] == [{k: e[k] for k in key} for e in before]
    again = json.loads(other("intel", "import", str(out), "--json").output)
    assert again["accepted"] == 0 and again["duplicate"] == 5  # importing twice adds nothing
    entries_csv = tmp_path / "entries.jsonl"
    cli("intel", "export", "-o", str(entries_csv), "--entries", "--status", "suspected")
    rows = [json.loads(line) for line in entries_csv.read_text().splitlines()]
    assert [r["value"] for r in rows] == [FRAUD] and rows[0]["confidence"] == 0.4


def test_import_a_plain_list_with_bad_rows_to_quarantine(cli, tmp_path):
    p = tmp_path / "blacklist.csv"
    p.write_text("号码,类型\n17012345678,冒充公检法\n999,冒充公检法\n17012345679,不存在的类型\n",
                 encoding="gb18030")
    out = json.loads(cli("intel", "import", str(p), "--kind", "phone", "--source", "police",
                         "--map", "target_value=号码,fraud_type=类型", "--json").output)
    assert out["accepted"] == 1 and out["quarantined"] == 2
    q = json.loads(cli("quarantine", "--json").output)["rows"]
    assert {r["line"] for r in q} == {3, 4}
    check = json.loads(cli("intel", "check", "17012345678", "--json").output)
    assert check["status"] == "confirmed" and check["fraud_type"] == "impersonate_authority"


@pytest.mark.parametrize("args, words", [
    (["intel", "list", "--status", "maybe"], "--status must be one of"),
    (["intel", "check", "x", "--kind", "fax"], "--kind must be one of"),
    (["intel", "import", "/nonexistent.csv"], "no such file"),
    (["intel", "add", "--kind", "phone", FRAUD, "--verdict", "maybe"], "--verdict must be one of"),
    (["intel", "check", "abc", "--at", "yesterday"], "not an ISO 8601 date-time"),
])
def test_bad_arguments_fail_with_one_line(cli, args, words):
    r = cli(*args, ok=False)
    assert r.exit_code != 0 and words in r.output


def test_export_to_a_place_it_cannot_write(cli):
    cli("intel", "add", "--kind", "phone", FRAUD)
    r = cli("intel", "export", "-o", "/nonexistent/dir/x.csv", ok=False)
    assert "cannot write" in r.output


def test_import_without_required_columns_says_which(cli, tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("number\n17012345678\n")
    r = cli("intel", "import", str(p), ok=False)
    assert "missing required column" in r.output and "target_value" in r.output




def _alert_schema():
    from fanzha.decide import ALERT_SCHEMA

    return ALERT_SCHEMA
