"""The access watch and the leak source on the small simulated city, through the command line."""

from __future__ import annotations

import json
import subprocess

import polars as pl
import pytest

from fanzha.sim.collect import collect_leak_sources
from fanzha.sim.truth import load_truth
from fanzha.store import open_store
from helpers import fanzha_cmd


@pytest.fixture
def db(scored) -> str:
    """The `cli` fixture on the scored world's store."""
    return scored["meta"]["db"]


def test_the_scorecard_finds_the_leaking_warehouses_and_the_insiders(world, scored, db):
    truth = load_truth(world)
    assert truth.get("leaks").height  # the default scenario always leaks
    assert scored["leaks"]["insider_recall"] >= 0.9
    assert scored["leaks"]["insider_precision"] >= 0.8
    # every refund-scam victim the investigation could reach has the true site first; five
    # days are too few for police cases or reports to reach them all (the scorecard's share)
    with open_store(db, read_only=True) as s:
        ranked = collect_leak_sources(s)
    v = truth.get("victims").filter(pl.col.leak_id.is_not_null()).join(
        truth.get("leaks").select("leak_id", "site"), on="leak_id")
    got = v.join(ranked, on=["phone", "site"])
    assert got.height and (got["rank"] == 1).all()


def test_leaks_source_and_access_on_the_command_line(world, cli, tmp_path):
    out = tmp_path / "leak.json"
    text, page = tmp_path / "leak.txt", tmp_path / "leak.html"
    truth = load_truth(world)
    victims = truth.get("victims").filter(pl.col.fraud_type == "fake_customer_service")
    if not victims.height:
        r = cli("leaks", "source", "--fraud-type", "fake_customer_service", "-o", str(out),
                ok=False)
        assert r.exit_code == 2 and "no cases" in r.output
        return
    cli("leaks", "source", "--fraud-type", "fake_customer_service", "-o", str(out),
        "--text", str(text), "--html", str(page))
    rep = json.loads(out.read_text())
    leak_sites = set(truth.get("leaks")["site"].to_list())
    # five days hold too few victims for a significant source; the access watch's flags on the
    # victims' own records still name the site for each victim who has a police case
    cased = [v for v in rep["victims"] if v["case_ids"]]
    assert cased and all(v["sites"][0]["site"] in leak_sites for v in cased)
    assert "hypergeometric" in text.read_text() and page.read_text().startswith("<!doctype html>")
    site = sorted(leak_sites)[0]
    acc = json.loads(cli("leaks", "access", "--site", site, "--json").output)
    leakers = set(truth.get("leaks").filter(pl.col.site == site)["operator_account"].to_list())
    assert leakers & {r["entity"] for r in acc["rows"]}
    assert all(r["site"] == site for r in acc["rows"])


def test_leaks_failures_exit_non_zero_with_one_line(cli, db, tmp_path, env):
    out = str(tmp_path / "x.json")
    for args, words in (
        (["--fraud-type", "no_such_type"], "--fraud-type must be one of"),
        (["--fraud-type", "fake_loan", "--since", "yesterday"], "is not an ISO 8601 date-time"),
    ):
        r = cli("leaks", "source", *args, "-o", out, ok=False)
        assert r.exit_code == 2 and words in r.output
    r = subprocess.run(  # the real command line: one line on stderr, exit 2
        [*fanzha_cmd(), "leaks", "source", "--fraud-type", "fake_customer_service", "--since",
         "2030-01-01", "-o", out, "--db", db],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("fanzha: error:") and "no cases" in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1
