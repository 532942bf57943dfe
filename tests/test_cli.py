"""The command line: the end-to-end path, and one-line reasons with a non-zero exit."""

from __future__ import annotations

import json
import subprocess

import pytest

from helpers import fanzha_cmd

CALLS = ("ts,caller,callee,duration_s\n"
         "2026-03-02 09:00:00,17012345678,13800138000,184\n"
         "2026-03-02 09:05:00,17012345678,13900139000,0\n"
         "2026-03-02 09:06:00,13600136000,13900139000,60\n")


def test_end_to_end_calls_and_a_police_confirmation_raise_an_alert_for_the_callee(cli, tmp_path):
    p = tmp_path / "calls.csv"
    p.write_text(CALLS)
    cli("ingest", str(p), "--kind", "call")
    cli("intel", "add", "--kind", "phone", "170 1234 5678", "--source", "police",
        "--fraud-type", "冒充客服服务", "--at", "2026-03-02T02:00:00Z")
    run = json.loads(cli("run", "--json").output)
    assert run["events"] == 4 and run["signals"] == 4  # 2 exposures, and 2 victim risk scores
    alerts = json.loads(cli("alerts", "--json").output)["alerts"]
    by = {a["entity"]: a for a in alerts}
    assert set(by) == {"13800138000", "13900139000"}
    assert by["13800138000"]["tier"] == "high"
    assert by["13800138000"]["fraud_type"] == "fake_customer_service"
    assert "home_visit" in by["13800138000"]["actions"]
    assert by["13900139000"]["tier"] == "low"
    check = json.loads(cli("intel", "check", "17012345678", "--json").output)
    assert check["status"] == "confirmed"
    again = json.loads(cli("run", "--json").output)
    assert again["events"] == 0  # nothing left to process


def test_fanzha_db_environment_variable(tmp_path, env):
    env["FANZHA_DB"] = str(tmp_path / "env.duckdb")
    p = tmp_path / "calls.csv"
    p.write_text(CALLS)
    r = subprocess.run([*fanzha_cmd(), "ingest", str(p), "--kind", "call", "--json"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "env.duckdb").exists()
    s = subprocess.run([*fanzha_cmd(), "status", "--json"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert json.loads(s.stdout)["events"]["call"] == 3


@pytest.mark.parametrize("args, words", [
    (["ingest", "/nonexistent/calls.csv", "--kind", "call"], "no such file"),
    (["ingest", "x.csv", "--kind", "fax"], "unknown event kind"),
    (["alerts", "--tier", "urgent"], "--tier must be one of"),
    (["intel", "add", "--kind", "phone", "123", "--source", "police"], "not added"),
    (["intel", "check", "abc def", "--kind", "phone"], "not a valid phone"),
    (["ingest", "x.csv", "--kind", "call", "--money-unit", "dollar"], "--money-unit"),
    (["ingest", "x.csv", "--kind", "call", "--map", "nonsense"], "--map expects name=value"),
])
def test_failures_exit_non_zero_with_one_line(tmp_path, env, args, words):
    r = subprocess.run([*fanzha_cmd(), *args, "--db", str(tmp_path / "x.duckdb")],
                       capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert r.returncode != 0
    assert r.stderr.startswith("fanzha: error:") and words in r.stderr
    assert r.stderr.count("\n") == 1, r.stderr


def test_a_database_path_that_cannot_be_created(tmp_path, env):
    r = subprocess.run([*fanzha_cmd(), "status", "--db", "/nonexistent/dir/x.duckdb"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("fanzha: error: cannot open database")


def test_schema_prints_json_schema(cli):
    one = json.loads(cli("schema", "transfer").output)
    assert one["title"] == "transfer" and "amount_fen" in one["required"]
    every = json.loads(cli("schema").output)
    # the 13 kinds of the design, promoter (issue 7) and domain (issue 13)
    assert len(every) == 15 and {"promoter", "domain", "call"} <= set(every)


def test_quarantine_and_status_views(cli, tmp_path):
    p = tmp_path / "calls.csv"
    p.write_text(CALLS + "bad,row,here,1\n")
    cli("ingest", str(p), "--kind", "call")
    status = json.loads(cli("status", "--json").output)
    assert status["events"]["call"] == 3 and status["pending"] == 3 and status["quarantined"] == 1
    q = json.loads(cli("quarantine", "--json").output)
    assert q["count"] == 1 and q["rows"][0]["line"] == 5
