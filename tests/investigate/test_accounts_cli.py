"""`fanzha accounts rings|act|promoters` on hand-made partner files, end to end."""

from __future__ import annotations

import csv
import json
import subprocess

import pytest

from fanzha.store import open_store
from fanzha.testing import rows_for_csv, write_csv
from helpers import fanzha_cmd
from scenario import TEAM, registrations, ring_orders


@pytest.fixture
def loaded(cli, tmp_path):
    """The hand-made registrations, registry and orders ingested as partner files, and run."""
    kinds = {**registrations(ring=20), "order": ring_orders(ring=20)}
    for name, t in kinds.items():
        p = tmp_path / f"{name}.csv"
        write_csv(str(p), rows_for_csv(t), columns=t.column_names)
        res = json.loads(cli("ingest", str(p), "--kind", name, "--json").output)
        assert res["quarantined"] == 0, res
    cli("run")
    return cli


def test_rings_writes_the_contract_columns(loaded, tmp_path):
    out = tmp_path / "rings.csv"
    res = json.loads(loaded("accounts", "rings", "-o", str(out), "--json",
                            "--clusters", str(tmp_path / "clusters.json")).output)
    with open(out, encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["account", "score", "cluster", "label"]
    by = {r[0]: r for r in rows[1:]}
    assert len(by) == res["rows"] == len(rows) - 1
    assert by["shop-a:r-3-0"][3] == "black" and float(by["shop-a:r-3-0"][1]) >= 0.8
    assert by["yibao:y-0"][3] == "authorised"
    assert by["shop-a:w-0"][3] == "shared_network"
    assert by["shop-a:f-0"][3] == "household"
    assert by["shop-a:o-0"][3] == "normal" and by["shop-a:o-0"][2] == ""
    clusters = json.loads((tmp_path / "clusters.json").read_text())
    assert any(c["label"] == "black" and c["explanation"] for c in clusters)


def test_act_fills_lists_and_writes_the_notices_once(loaded, tmp_path):
    d = tmp_path / "out"
    res = json.loads(loaded("accounts", "act", "-o", str(d), "--json").output)
    assert res["black_accounts"] >= 100 and res["rings"] >= 1 and res["promo_orders"] > 0
    assert res["lists_added"] == res["black_accounts"] + res["promo_orders"]
    with open(d / "lists" / "shop-a.csv", encoding="utf-8") as fh:
        shop_a = list(csv.DictReader(fh))
    assert {r["list_name"] for r in shop_a} == {"freeze", "cancel"}
    assert all(r["partner"] == "shop-a" and r["evidence"] for r in shop_a)
    gangs = json.loads((d / "gangs.json").read_text(encoding="utf-8"))
    assert gangs[0]["victims"] >= 18 and gangs[0]["counties"] == ["450821"]
    people = json.loads((d / "identity_notices.json").read_text(encoding="utf-8"))
    assert max(len(p["accounts"]) for p in people) == 5
    with open(d / "identity_notices.csv", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header[:5] == ["phone", "id_number", "name", "platform", "account_id"]
    again = json.loads(loaded("accounts", "act", "--json").output)
    assert again["lists_added"] == 0  # the same findings are not listed twice


def test_promoters_shows_the_registry_and_what_is_outside(loaded):
    teams = json.loads(loaded("accounts", "promoters", "--json").output)
    team = next(t for t in teams if t["team_id"] == TEAM)
    assert team["issuer"] == "贵港市医疗保障局" and team["inside"] == 30 and team["outside"] == 4


def test_failures_are_one_line_with_a_non_zero_exit(tmp_path, env):
    db = str(tmp_path / "empty.duckdb")
    open_store(db).close()
    for args, why in (
        (["accounts", "rings", "--db", db], "give the output file with -o FILE.csv"),
        (["accounts", "rings", "--db", db, "-o", str(tmp_path / "x.csv")],
         "no registration events"),
    ):
        r = subprocess.run([*fanzha_cmd(), *args], capture_output=True, text=True, env=env,
                           timeout=120)
        assert r.returncode == 2 and why in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
