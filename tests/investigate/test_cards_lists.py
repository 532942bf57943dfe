"""Card lists: a card that became a fraud number is cancelled by its operator, a sold bank card
frozen by its bank, a merely suspicious card re-verified; every holder gets one notice."""

from __future__ import annotations

import datetime as dt

import polars as pl

from fanzha.investigate.cards import LOOKUP_SERVICE, list_entries

NOW = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)


def _flagged() -> pl.DataFrame:
    return pl.DataFrame({
        "card_type": ["sim", "bank", "sim"],
        "card_number": ["17030000000", "6222999900001111", "17030000005"],
        "id_number": ["440106197003030018", "440106200401010012", "440106197003030018"],
        "shop_id": ["hall-9", "branch-1", "hall-9"],
        "agent_id": ["ag-insider", None, "ag-insider"],
        "score": [0.9, 0.9, 0.8],
        "reasons": ["turned_bad, bad_source", "turned_bad", "bad_source"],
        "evidence": ["became a fraud number", "became a mule account", "agent's cards turn bad"],
        "first_ts": [NOW, NOW, NOW],
        "issuer": ["operator-a", "bank-a", None],
    })


def test_each_card_goes_to_its_issuer_list_and_each_holder_gets_one_notice():
    rows = pl.from_arrow(list_entries(_flagged(), NOW))
    by = {(r["list_name"], r["entity"]): r for r in rows.to_dicts()}
    assert by[("cancel", "17030000000")]["partner"] == "operator-a"
    assert by[("freeze", "6222999900001111")]["partner"] == "bank-a"
    assert by[("watch", "17030000005")]["partner"] == "sim"  # issuer unknown: by card type
    notices = rows.filter(pl.col.list_name == "notify")
    assert notices.height == 2 and set(notices["partner"]) == {LOOKUP_SERVICE}
    both = notices.filter(pl.col.entity == "440106197003030018")["evidence"][0]
    assert "17030000000" in both and "17030000005" in both
    assert rows["entry_id"].n_unique() == rows.height


def test_nothing_flagged_makes_no_entries():
    assert list_entries(pl.DataFrame(), NOW).num_rows == 0


def test_the_command_on_an_empty_database(cli):
    assert '"cards": 0' in cli("cards", "act", "--json").stdout
