"""Dissuasion: alerts to tasks on channels, once each; escalation adds tasks; a webhook that
fails is retried; outcomes are recorded; the templates cover every fraud type."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from pathlib import Path
from typing import ClassVar

import pytest

from fanzha.dispatch import FileSink, WebhookSink, dispatch, record_outcome
from fanzha.dispatch.channels import Templates
from fanzha.engine import Engine
from fanzha.errors import FanzhaError
from fanzha.ingest import ingest_rows
from fanzha.store import open_store
from fanzha.taxonomy import FRAUD_TYPE_CODES
from fanzha.testing import START
from scenario import FRAUD, VICTIM

ELDER = "13700137000"
FAMILY = "13900139000"
H = dt.timedelta(hours=1)


def iso(t: dt.datetime) -> str:
    return t.isoformat()


def city(store, long_call_to_victim: bool = False) -> None:
    """A confirmed number misses a call to VICTIM and talks long with ELDER (76, family number)."""
    ingest_rows(store, "card", [
        {"ts": iso(START - 300 * 24 * H), "card_type": "sim", "card_number": ELDER,
         "id_number": "11010519491231002X", "family_phone": FAMILY},
        {"ts": iso(START - 300 * 24 * H), "card_type": "sim", "card_number": VICTIM,
         "id_number": "110105199001011232"},
    ])
    ingest_rows(store, "report", [{"ts": iso(START), "reporter_kind": "police",
                                   "target_kind": "phone", "target_value": FRAUD,
                                   "verdict": "confirm", "fraud_type": "impersonate_authority"}])
    calls = [{"ts": iso(START + H), "caller": FRAUD, "callee": VICTIM, "duration_s": 0},
             {"ts": iso(START + H), "caller": FRAUD, "callee": ELDER, "duration_s": 900}]
    if long_call_to_victim:
        calls = [{"ts": iso(START + 2 * H), "caller": FRAUD, "callee": VICTIM, "duration_s": 600}]
    ingest_rows(store, "call", calls)
    Engine(store).run()


@pytest.fixture
def store(db):
    s = open_store(db)
    city(s)
    yield s
    s.close()


def lines(d: Path) -> dict[str, list[dict]]:
    return {p.stem: [json.loads(x) for x in p.read_text().splitlines()]
            for p in sorted(d.glob("*.jsonl"))}


def test_each_action_becomes_one_task_on_its_channel(store, tmp_path):
    summary = dispatch(store, FileSink(tmp_path / "out"))
    got = lines(tmp_path / "out")
    assert set(got) == {"sms", "visit_task", "voice_call", "bank_hold", "family_sms"}
    (sms,) = got["sms"]
    assert sms["to"] == VICTIM and sms["tier"] == "low"
    assert "公检法" in sms["text"] and "170****5678" in sms["text"]  # the number, masked
    (family,) = got["family_sms"]
    assert family["to"] == FAMILY and family["about"] == ELDER and "76岁" in family["text"]
    (hold,) = got["bank_hold"]
    assert hold["id_number"] == "11010519491231002X"
    assert summary.sent == 5 and summary.skipped == 0
    tasks = store.tasks().to_pylist()
    assert {t["status"] for t in tasks} == {"sent"} and len(tasks) == 5
    elder_call = next(t for t in tasks if t["entity"] == ELDER and t["action"] == "call")
    assert elder_call["due_ts"] - elder_call["created_ts"] == dt.timedelta(minutes=5)


def test_dispatching_again_sends_nothing_twice(store, tmp_path):
    dispatch(store, FileSink(tmp_path / "out"))
    before = lines(tmp_path / "out")
    again = dispatch(store, FileSink(tmp_path / "out"))
    assert again.sent == 0 and again.already == 5
    assert lines(tmp_path / "out") == before


def test_a_killed_dispatch_does_not_resend_what_the_file_sink_already_has(store, tmp_path):
    sink = FileSink(tmp_path / "out")
    dispatch(store, sink)
    store.con.execute("DELETE FROM tasks")  # as if killed after sending, before recording
    dispatch(store, FileSink(tmp_path / "out"))
    assert sum(len(v) for v in lines(tmp_path / "out").values()) == 5


def test_escalation_sends_only_the_new_actions(db, tmp_path):
    with open_store(db) as s:
        city(s)
        dispatch(s, FileSink(tmp_path / "out"))
        city(s, long_call_to_victim=True)  # the confirmed number now talks 10 min with VICTIM
        (alert,) = [a for a in s.alerts().to_pylist() if a["entity"] == VICTIM]
        assert alert["tier"] == "high" and alert["escalations"] == 1
        second = dispatch(s, FileSink(tmp_path / "out"))
        new = {t["action"] for t in s.tasks().to_pylist() if t["entity"] == VICTIM}
    assert second.sent == 3 and new == {"sms", "call", "home_visit", "bank_hold"}
    assert [m["to"] for m in lines(tmp_path / "out")["sms"]] == [VICTIM]  # the SMS once


def test_a_family_notice_without_a_family_number_is_skipped_with_the_reason(db, tmp_path):
    with open_store(db) as s:
        city(s, long_call_to_victim=True)
        s.con.execute("UPDATE alerts SET actions = list_append(actions, 'family_notice')")
        summary = dispatch(s, FileSink(tmp_path / "out"))
        (skipped,) = s.tasks("skipped").to_pylist()
    assert summary.skipped == 1 and skipped["error"] == "no family number registered on the SIM card"


class _Hook(http.server.BaseHTTPRequestHandler):
    got: ClassVar[list] = []
    fail = False

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).fail:
            self.send_response(503)
        else:
            type(self).got.append((self.headers["Idempotency-Key"], json.loads(body)))
            self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


def test_a_webhook_gets_each_task_with_its_idempotency_key_and_failures_are_retried(store):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/tasks"
    try:
        _Hook.fail, _Hook.got = True, []
        down = dispatch(store, WebhookSink(url, timeout_s=5))
        assert down.sent == 0 and down.failed == 5 and "503" in down.errors[0]
        assert {t["status"] for t in store.tasks().to_pylist()} == {"failed"}
        _Hook.fail = False
        up = dispatch(store, WebhookSink(url, timeout_s=5))
        assert up.sent == 5 and {k for k, _ in _Hook.got} == {t["task_id"] for t in
                                                             store.tasks().to_pylist()}
        assert {t["attempts"] for t in store.tasks().to_pylist()} == {2}
        assert dispatch(store, WebhookSink(url)).sent == 0
    finally:
        server.shutdown()


def test_outcomes_are_recorded_once_against_a_task(store, tmp_path):
    dispatch(store, FileSink(tmp_path / "out"))
    call = next(t for t in store.tasks().to_pylist() if t["action"] == "call")
    late = call["due_ts"] + dt.timedelta(minutes=1)
    row = record_outcome(store, call["task_id"][:10], "dissuaded", call["created_ts"], by="p-17")
    assert row["added"] and row["within_sla"]
    assert not record_outcome(store, call["task_id"], "dissuaded", call["created_ts"])["added"]
    assert not record_outcome(store, call["task_id"], "already_paid", late)["within_sla"]
    assert store.outcomes().num_rows == 2
    with pytest.raises(FanzhaError, match="outcome must be one of"):
        record_outcome(store, call["task_id"], "maybe")
    with pytest.raises(FanzhaError, match="no task"):
        record_outcome(store, "ffffffffffff", "dissuaded")


def test_the_commands(cli, tmp_path, db):
    with open_store(db) as s:
        city(s)
    out = tmp_path / "sink"
    first = json.loads(cli("dispatch", "--sink", str(out), "--json").output)
    assert first["sent"] == 5
    assert json.loads(cli("dispatch", "--sink", str(out), "--json").output)["sent"] == 0
    tasks = json.loads(cli("tasks", "--json").output)["tasks"]
    overdue = json.loads(cli("tasks", "--json", "--overdue-at", "2026-03-01T12:00Z").output)
    assert overdue["count"] == 4  # all but the SMS of the low tier (due in a day)
    tid = next(t["task_id"] for t in tasks if t["action"] == "call")
    assert "recorded" in cli("outcome", tid[:12], "--result", "unreachable",
                             "--at", "2026-03-01T01:02:00Z").output
    left = json.loads(cli("tasks", "--json", "--overdue-at", "2026-03-01T12:00Z").output)
    assert left["count"] == 3
    bad = cli("outcome", tid, "--result", "gone", ok=False)
    assert "outcome must be one of" in bad.output
    assert "only a directory or an http" in cli("dispatch", "--sink", "ftp://x", ok=False).output


def test_templates_cover_every_fraud_type_and_every_channel(store, tmp_path):
    from fanzha.dispatch.channels import CHANNELS, build

    t = Templates.load()
    assert set(FRAUD_TYPE_CODES) <= set(t.doc["types"])
    alert = {"entity": VICTIM, "fraud_type": None, "tier": "high", "evidence": "e",
             "sla_due": START}
    ctx = {"via": FRAUD, "via_kind": "phone", "age": 70, "family_phone": FAMILY,
           "accounts": ["6222020200001234567"], "id_number": "11010519491231002X"}
    for code in [*FRAUD_TYPE_CODES, None]:
        for action in CHANNELS:
            _, payload, why = build(action, alert | {"fraud_type": code}, ctx, t)
            text = json.dumps(payload, ensure_ascii=False)
            assert why is None and "{" not in text.replace("{\"", "").replace("\"}", ""), text
            if action == "sms":
                assert len(payload["text"]) <= 90, (code, payload["text"])
    with pytest.raises(FanzhaError, match="default"):
        Templates.load("types: {}")



def test_over_capacity_the_larger_expected_loss_is_served_and_the_rest_deferred(store, tmp_path):
    from fanzha.decide.policy import Capacity

    # ELDER (high, score 1.0) is due a home visit, a call, a bank hold, a family notice; VICTIM
    # (low, 0.4) an SMS. No SMS budget, no home visit slot, one call a day.
    cap = {"sms": Capacity(per_day=0), "home_visit": Capacity(per_area=0), "call": Capacity(per_day=1)}
    s = dispatch(store, FileSink(tmp_path / "out"), capacity=cap)
    deferred = {(d["entity"], d["action"]) for d in s.deferred}
    assert deferred == {(VICTIM, "sms"), (ELDER, "home_visit")}
    assert {(d["entity"], d["action"]) for d in s.escalate} == {(ELDER, "home_visit")}
    assert all("capacity" in d["reason"] and "pending" in d["reason"] for d in s.deferred)
    # ELDER's SIM card gives no holder county: the county that issued the ID is the area
    assert "in area 110105" in next(d for d in s.deferred if d["action"] == "home_visit")["reason"]
    tasks = {(t["entity"], t["action"]): t for t in store.tasks().to_pylist()}
    assert tasks[(ELDER, "call")]["status"] == "sent"
    assert tasks[(ELDER, "home_visit")]["status"] == "deferred"
    assert tasks[(VICTIM, "sms")]["error"] == next(d["reason"] for d in s.deferred if d["entity"] == VICTIM)
    # not dropped: the next dispatch tries them again, and sends them once capacity allows
    again = dispatch(store, FileSink(tmp_path / "out"), capacity=cap)
    assert {(d["entity"], d["action"]) for d in again.deferred} == deferred and again.sent == 0
    freed = dispatch(store, FileSink(tmp_path / "out"), capacity={"call": Capacity(per_day=1)})
    assert freed.sent == 2 and not freed.deferred
    assert {t["status"] for t in store.tasks().to_pylist()} <= {"sent", "skipped"}


def test_a_spent_sms_budget_defers_the_low_tier_sms_without_escalating(store, tmp_path):
    from fanzha.decide.policy import Capacity

    s = dispatch(store, FileSink(tmp_path / "out"), capacity={"sms": Capacity(per_day=0)})
    assert [d["entity"] for d in s.deferred] == [VICTIM] and not s.escalate


PEOPLE = [  # phone, holder county, ID, call seconds: all high tier, the elderly higher
    ("13700000001", "350203", "11010519491231002X", 900),
    ("13700000002", "350206", "110105199001011232", 400),
    ("13700000003", "350211", "110105199001011232", 400),
    ("13700000004", "511025", "110105199001011232", 400),
]
# Siming's station covers two counties; Haicang one; 511025 is not mapped: its own area
AREAS = {"350203": "思明", "350206": "思明", "350211": "海沧"}


def four_people_in_three_areas(s) -> None:
    ingest_rows(s, "card", [
        {"ts": iso(START - 300 * 24 * H), "card_type": "sim", "card_number": p,
         "id_number": i, "holder_county": c} for p, c, i, _ in PEOPLE
    ])
    ingest_rows(s, "report", [{"ts": iso(START), "reporter_kind": "police", "target_kind": "phone",
                               "target_value": FRAUD, "verdict": "confirm"}])
    ingest_rows(s, "call", [{"ts": iso(START + H), "caller": FRAUD, "callee": p, "duration_s": d}
                            for p, _, _, d in PEOPLE])
    Engine(s).run()


def test_home_visits_are_limited_per_police_station_and_deferred_per_area(db, tmp_path):
    from fanzha.decide.policy import Capacity

    people, areas = PEOPLE, AREAS
    s = open_store(db)
    four_people_in_three_areas(s)
    cap = {"home_visit": Capacity(per_area=1)}
    try:
        got = dispatch(s, FileSink(tmp_path / "a"), capacity=cap, areas=areas)
        tasks = {(t["entity"], t["action"]): t["status"] for t in s.tasks().to_pylist()}
    finally:
        s.close()
    visits = {p: tasks[(p, "home_visit")] for p, *_ in people}
    # each station serves its own quota; in Siming the elderly person (larger loss) comes first
    assert visits == {"13700000001": "sent", "13700000002": "deferred",
                      "13700000003": "sent", "13700000004": "sent"}
    (d,) = got.deferred
    assert d["area"] == "思明" and "home_visit capacity 1/day in area 思明 full" in d["reason"]
    assert got.deferred_per_area == {"思明": 1} and got.escalate == [d]


def test_the_dispatch_command_reports_the_deferred_per_area(cli, db, tmp_path):
    from fanzha.decide.policy import default_policy_text

    with open_store(db) as s:
        four_people_in_three_areas(s)
    policy = tmp_path / "stations.yaml"
    areas = "".join(f"  '{k}': {v}\n" for k, v in AREAS.items())
    policy.write_text(default_policy_text() + "\ncapacity:\n  home_visit: {per_area: 1}\n"
                      + "areas:\n" + areas, encoding="utf-8")
    cli("policy", "apply", str(policy), "--author", "ops", "--reason", "one visit per station")
    out = cli("dispatch", "--sink", str(tmp_path / "sink")).output
    assert "1 deferred (1 high-tier: escalate)" in out
    assert "deferred in area 思明: 1" in out and "海沧" not in out
    assert "ESCALATE high-tier home_visit for 13700000002" in out
