"""`fanzha sim` and `fanzha score` on the command line: outputs and one-line failures."""

from __future__ import annotations

import json
import subprocess

import pytest

from helpers import fanzha_cmd


def test_sim_then_score_on_the_command_line(cli, tmp_path):
    out = tmp_path / "w"
    r = json.loads(
        cli("sim", "--people", "400", "--days", "2", "--seed", "3", "-o", str(out), "--json").output
    )
    assert r["total_events"] == sum(r["events"].values()) > 0
    assert (out / "ingest.yaml").is_file() and (out / "truth" / "world.json").is_file()
    db = tmp_path / "score.duckdb"
    s = json.loads(_score(out, db))
    assert s["meta"]["quarantined"] == 0 and s["meta"]["db"] == str(db) and db.exists()
    assert 0 <= s["numbers"]["precision"] <= 1  # fraud_number's suspects
    assert s["funds"]["mule_precision"] is not None  # fanzha trace ran
    assert 0 <= s["cards"]["precision"] <= 1  # card_risk's cards
    assert 0 <= s["decide"]["normal_transfers_held"] <= 1  # the transfer decision, replayed
    text = _score_text(out)
    assert "victims warned before their first payment" in text and "n/a" in text


def _score(world, db) -> str:
    r = subprocess.run(
        [*fanzha_cmd(), "score", str(world), "--db", str(db), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def _score_text(world) -> str:
    r = subprocess.run(
        [*fanzha_cmd(), "score", str(world)], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr
    assert (world / "fanzha.duckdb").exists()  # the default database lives in the world
    return r.stdout


@pytest.mark.parametrize(
    "args, words",
    [
        (["sim", "--people", "400", "--days", "1"], "-o DIR"),
        (["sim", "--people", "10", "--days", "1", "-o", "w"], "--people must be at least"),
        (["sim", "--people", "400", "--days", "0", "-o", "w"], "--days must be at least 1"),
        (
            ["sim", "--people", "400", "--days", "1", "-o", "w", "--scenario", "none.yaml"],
            "does not exist",
        ),
        (["score", "nowhere"], "no such world directory"),
        (["score", "."], "no ingest.yaml"),
    ],
)
def test_failures_exit_non_zero_with_one_line(tmp_path, env, args, words):
    r = subprocess.run(
        [*fanzha_cmd(), *args], capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("fanzha: error:") and words in r.stderr
    assert r.stderr.count("\n") == 1, r.stderr


def test_score_never_overwrites_an_existing_database(world, tmp_path, env):
    db = tmp_path / "keep.duckdb"
    db.write_bytes(b"precious")
    r = subprocess.run(
        [*fanzha_cmd(), "score", str(world), "--db", str(db)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 2 and "needs a fresh database" in r.stderr
    assert db.read_bytes() == b"precious"
