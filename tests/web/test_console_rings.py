"""Account rings: mule-labelled accounts grouped by the transfers among them, shown masked."""

from __future__ import annotations

import datetime as dt
import json
import re

import polars as pl
import pytest

import fanzha.web.rings as rings_mod

T = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
A, B, C, D, E, X = (f"62170000000000000{i}" for i in range(10, 16))


def _transfers(pairs: list[tuple[str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"payer_account": [p for p, _, _ in pairs], "payee_account": [q for _, q, _ in pairs],
         "amount_fen": [a for _, _, a in pairs],
         "ts": [T + dt.timedelta(minutes=i) for i in range(len(pairs))]})


@pytest.fixture
def labelled(monkeypatch):
    """Mule scores as given (the scoring itself is tested in tests/investigate)."""
    def set_mules(mules: dict[str, float]):
        def fake(transfers, cases=None, settings=None):
            accts = pl.concat([transfers["payer_account"], transfers["payee_account"]]).unique()
            return pl.DataFrame({"account": accts}).with_columns(
                score=pl.col.account.replace_strict(mules, default=0.1),
                label=pl.col.account.is_in(list(mules)).cast(pl.Int8),
                reasons=pl.lit("passed on 90% within 30 min"))
        monkeypatch.setattr(rings_mod, "mule_scores", fake)
    return set_mules


def test_rings_are_the_mules_connected_by_their_transfers(labelled):
    labelled({A: 0.9, B: 0.8, C: 0.7, D: 0.95, E: 0.6})
    t = _transfers([(X, A, 100), (A, B, 60), (A, B, 30), (B, C, 50), (D, E, 10), (C, X, 5)])
    rings = rings_mod.mule_rings(t)
    assert [r["ring"] for r in rings] == [1, 2]
    assert [a["account"] for a in rings[0]["accounts"]] == [A, B, C]  # by score
    assert rings[0]["links"] == [
        {"payer": A, "payee": B, "transfers": 2, "amount_fen": 90},
        {"payer": B, "payee": C, "transfers": 1, "amount_fen": 50}]  # X is no mule: not in it
    assert rings[0]["amount_fen"] == 140 and rings[1]["amount_fen"] == 10
    assert rings_mod.mule_rings(t, min_size=3) == rings[:1]
    assert rings_mod.mule_rings(t.clear()) == []


def test_rings_page_masks_the_accounts(console, labelled):
    labelled({"6217000000000000001": 0.9, "6217000000000000002": 0.8,
              "6217000000000000003": 0.7})
    console.login("analyst")
    r = console.get("/console/rings")
    assert r.status_code == 200 and 'id="ring-1"' in r.text
    assert "6217000000000000001" not in r.text and "0001" in r.text
    graph = json.loads(re.search(r'id="graph-data">(.*?)</script>', r.text, re.S).group(1))
    assert len(graph["nodes"]) == 3 and len(graph["links"]) == 2
    console.login("citizen")
    assert console.get("/console/rings").status_code == 403


def test_no_rings_in_a_world_without_mules(console):
    console.login("police")
    r = console.get("/console/rings")
    assert r.status_code == 200 and ('id="no-rings"' in r.text or 'id="ring-1"' in r.text)


def test_rings_are_scored_again_only_after_new_events(console, monkeypatch):
    calls = []
    real = rings_mod.mule_rings
    monkeypatch.setattr(rings_mod, "mule_rings", lambda *a, **k: calls.append(1) or real(*a, **k))
    console.login("analyst")
    console.get("/console/rings")
    console.get("/console/rings")
    assert len(calls) == 1
    r = console.client.post(
        "/v1/events/report",
        json={"events": [{"ts": "2026-03-03T09:00:00Z", "reporter_kind": "police",
                          "target_kind": "phone", "target_value": "17099998888",
                          "verdict": "confirm"}]},
        headers={"Authorization": f"Bearer {console.keys['analyst']}"},
    )
    assert r.status_code == 200, r.text
    console.get("/console/rings")
    assert len(calls) == 2
