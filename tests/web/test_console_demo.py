"""make demo's last step: the city's police cases traced and frozen, keys that open the console."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from web_world import build

from api.api_world import CITIZEN_ID
from fanzha.api import create_app
from fanzha.web.demo import main


def test_demo_traces_the_cases_and_prints_keys_that_log_in(tmp_path, capsys):
    db = tmp_path / "demo.duckdb"
    build(db, trace=False)
    assert main(["--db", str(db), "--url", "http://127.0.0.1:8123"]) == 0
    out = capsys.readouterr().out
    assert "traced 1 police cases: J1" in out and "http://127.0.0.1:8123/console/" in out
    assert CITIZEN_ID in out  # a citizen with a phone card to try the look-up with
    analyst = re.search(r"analyst key: (\S+)", out).group(1)
    citizen = re.search(r"citizen-app key: (\S+)", out).group(1)
    with TestClient(create_app(str(db))) as c:
        assert c.post("/console/login", data={"key": analyst}).url.path == "/console/alerts"
        assert "J1" in c.get("/console/cases").text
        c.cookies.clear()
        assert c.post("/console/login", data={"key": citizen}).url.path == "/console/citizen"
    assert main(["--db", str(db)]) == 0  # again: nothing left to trace, new keys
    assert "traced 0 police cases" in capsys.readouterr().out
