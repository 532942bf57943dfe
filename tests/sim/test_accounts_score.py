"""On the session's small world: black accounts, promotion abuse and gangs as the scorecard sees
them, and the authorised promoters' activations left alone."""

from __future__ import annotations

import polars as pl

from fanzha.store import open_store


def test_black_accounts_promo_abuse_and_gangs_are_found(scored):
    a = scored["accounts"]
    assert a["black_account_precision"] >= 0.95 and a["black_account_recall"] >= 0.9
    assert a["promo_abuse_precision"] >= 0.95 and a["promo_abuse_recall"] >= 0.9
    assert a["gang_purity"] >= 0.9


def test_the_registry_is_written_and_authorised_activations_are_not_listed(world, scored):
    registry = pl.read_csv(world / "insurance-bureau" / "promoters.csv")
    assert set(registry["team_id"]) == {"yb-team-01"}
    assert registry["device_id"].drop_nulls().len() == 3
    with open_store(str(world / "fanzha.duckdb"), read_only=True) as s:
        lists = pl.from_arrow(s.list_entries())
        yibao = pl.from_arrow(s.find_events("registration", platform="yibao"))
    assert yibao.height > 0
    listed = set(lists["entity"])
    assert not {f"yibao:{x}" for x in yibao["account_id"]} & listed
