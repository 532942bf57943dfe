"""fraud_app: listed apps, remote control after a fresh install, fake apps sharing the screen;
the traps: an IT worker's habitual remote sessions, meeting apps, known apps."""

from __future__ import annotations

import datetime as dt
import json

from fanzha.detectors.fraud_app import FraudApp, FraudAppSettings
from fanzha.engine.check import run_detector
from fanzha.testing import START, as_log
from scenario import VICTIM, table

M = dt.timedelta(minutes=1)
D = dt.timedelta(days=1)
OTHER = "13900139000"
SUNLOGIN = "com.oray.sunlogin.remote"


def app(ts, app_id, action, phone=VICTIM, name=None):
    return {"ts": ts, "phone": phone, "app_id": app_id, "action": action, "app_name": name}


def listing(ts, value, verdict="confirm"):
    return {"ts": ts, "reporter_kind": "police", "target_kind": "app", "target_value": value,
            "verdict": verdict, "fraud_type": "fake_loan"}


def run(apps=(), reports=(), det=None):
    log = as_log({"app": table("app", list(apps)), "report": table("report", list(reports))})
    top = sum(t.num_rows for t in log.values())
    sigs, _ = run_detector(det or FraudApp(), log, [top])
    out = sigs.to_pylist()
    for s in out:
        s["d"] = json.loads(s["details"])
    return out


def test_installing_a_listed_app_exposes_the_person():
    (s,) = run([app(START + M, "com.jisu.daikuan", "install")], [listing(START, "com.jisu.daikuan")])
    assert s["entity"] == VICTIM and s["score"] == 0.7 and s["fraud_type"] == "fake_loan"
    assert s["d"]["via"] == "com.jisu.daikuan" and s["d"]["via_kind"] == "app"


def test_installs_before_the_listing_are_found_by_looking_back():
    sigs = run([app(START, "com.jisu.daikuan", "install"),
                app(START + M, "com.jisu.daikuan", "install", phone=OTHER)],
               [listing(START + 10 * M, "com.jisu.daikuan")])
    assert {s["entity"] for s in sigs} == {VICTIM, OTHER}
    assert all(s["ts"] == START + 10 * M and s["d"]["found"] == "look-back" for s in sigs)


def test_a_remote_session_right_after_installing_the_tool_is_stronger():
    s = FraudAppSettings()
    sigs = run([app(START, SUNLOGIN, "install"), app(START + 3 * M, SUNLOGIN, "remote_session")])
    by = {x["d"]["sign"]: x for x in sigs}
    assert by["remote_after_install"]["score"] == s.score_remote_fresh
    assert by["remote_install"]["score"] == s.score_remote_install  # weak alone
    (alone,) = run([app(START, SUNLOGIN, "remote_session")])
    assert alone["score"] == s.score_remote_first


def test_trap_an_it_workers_habitual_remote_sessions_are_signalled_only_at_first_use():
    it = [app(START + i * D, "youqu.todesk", "remote_session") for i in range(10)]
    sigs = run(it)
    assert [s["ts"] for s in sigs] == [START]  # every later day: a habit, not a scam


def test_trap_meeting_apps_and_known_apps_sharing_the_screen():
    sigs = run([app(START, "us.zoom.videomeetings", "screen_share"),
                app(START + M, "com.tencent.wemeet", "screen_share"),
                app(START + 2 * M, "com.tencent.mm", "screen_share"),
                app(START + 3 * M, "com.taobao.taobao", "install")])
    assert {s["d"]["sign"] for s in sigs} == {"meeting_share"}  # weak: victim risk needs more
    assert all(s["score"] < 0.3 for s in sigs)


def test_an_unknown_app_sharing_the_screen_is_a_suspect_and_its_later_installs_exposures():
    sigs = run([app(START, "com.tb.lipei.kefu", "install", name="理赔助手"),
                app(START + M, "com.tb.lipei.kefu", "screen_share", name="理赔助手"),
                app(START + D, "com.tb.lipei.kefu", "install", phone=OTHER)])
    (sus,) = [s for s in sigs if s["d"]["role"] == "suspect"]
    assert sus["entity_kind"] == "app" and sus["entity"] == "com.tb.lipei.kefu"
    exposed = {(s["entity"], s["d"]["sign"]) for s in sigs if s["d"]["role"] == "exposed"}
    assert (VICTIM, "unknown_sharing") in exposed and (OTHER, "listed") in exposed


def test_trap_a_cleared_app_stops_alerting():
    reps = [listing(START, "com.jisu.daikuan"), listing(START + M, "com.jisu.daikuan", "clear")]
    assert run([app(START + 2 * M, "com.jisu.daikuan", "install")], reps) == []
