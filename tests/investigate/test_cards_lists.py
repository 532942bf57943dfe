"""Card lists: a card that became a fraud number is cancelled by its operator, a sold bank card
frozen by its bank, a merely suspicious card re-verified; every holder gets one notice."""

from __future__ import annotations

import datetime as dt

import polars as pl

from fanzha.investigate.cards import LOOKUP_SERVICE, list_entries
from fanzha.testing import ingest_csvs

NOW = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)


def _flagged() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "card_type": ["sim", "bank", "sim"],
            "card_number": ["17030000000", "6222999900001111", "17030000005"],
            "id_number": ["440106197003030018", "440106200401010012", "440106197003030018"],
            "shop_id": ["hall-9", "branch-1", "hall-9"],
            "agent_id": ["ag-insider", None, "ag-insider"],
            "score": [0.9, 0.9, 0.8],
            "reasons": ["turned_bad, bad_source", "turned_bad", "bad_source"],
            "evidence": [
                "became a fraud number",
                "became a mule account",
                "agent's cards turn bad",
            ],
            "first_ts": [NOW, NOW, NOW],
            "issuer": ["operator-a", "bank-a", None],
        }
    )


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


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _card(n: str, shop: str, days_ago: int, agent: str | None = None) -> dict:
    from fanzha.ids.resident_id import check_digit

    first17 = f"44010619900101{int(n[-3:]):03d}"  # a holder per card
    row = {
        "ts": _iso(NOW - dt.timedelta(days=days_ago)),
        "card_type": "bank",
        "card_number": n,
        "id_number": first17 + check_digit(first17),
        "action": "open",
        "shop_id": shop,
        "issuer": "bank-a",
    }
    return row | {"agent_id": agent or ""}  # every row has the column (the CSV takes the first)


def _ring(accounts: list[str], t0: dt.datetime) -> list[dict]:
    """The same money going round the accounts within minutes: the batch mule scores label all."""
    nxt = accounts[1:] + accounts[:1]
    return [
        {
            "ts": _iso(t0 + dt.timedelta(minutes=i)),
            "payer_account": a,
            "payee_account": b,
            "amount_fen": 500_000 - 1000 * i,
        }
        for i, (a, b) in enumerate(zip(accounts, nxt, strict=True))
    ]


def test_a_young_card_the_batch_mule_scores_label_is_listed_an_old_one_is_not(tmp_path, db):
    from fanzha.investigate.cards import flagged_cards
    from fanzha.store import open_store

    ring = [f"62220000000000{i:02d}" for i in range(4)]
    cards = [
        _card(ring[0], "branch-1", 10),
        _card(ring[1], "branch-2", 20),
        _card(ring[2], "branch-1", 2000),
    ]  # an old customer's card: compromised, not sold
    with open_store(db) as s:
        ingest_csvs(tmp_path, s, card=cards, transfer=_ring(ring, NOW))
        got = flagged_cards(s)
        without = flagged_cards(s, batch=False)
    assert sorted(got["card_number"]) == ring[:2]
    assert set(got["reasons"]) == {"turned_bad"}
    assert "the batch mule scores label it a mule account" in got["evidence"][0]
    assert without.height == 0


def test_agentless_cards_of_a_branch_whose_cards_turn_bad_are_listed(tmp_path, db):
    from fanzha.investigate.cards import flagged_cards
    from fanzha.store import open_store

    far = [f"62221000000000{i:02d}" for i in range(6)]
    home = [f"62222000000000{i:02d}" for i in range(6)]
    cards = [_card(n, "branch-far", 20 + i) for i, n in enumerate(far)]
    cards += [_card(n, "branch-home", 20 + i) for i, n in enumerate(home)]
    cards += [
        _card("6222100000000099", "branch-far", 25),  # catch: unused yet, same weeks
        _card("6222100000000098", "branch-far", 25, agent="ag-1"),  # an agent: card_risk's
        _card("6222100000000097", "branch-far", 200),
    ]  # opened months apart
    # the home branch also opened ten ordinary cards in those weeks: 6 of 16 is no pattern
    cards += [_card(f"62222000000001{i:02d}", "branch-home", 18 + i) for i in range(10)]
    with open_store(db) as s:
        ingest_csvs(
            tmp_path,
            s,
            card=cards,
            transfer=_ring(far, NOW) + _ring(home, NOW + dt.timedelta(hours=1)),
        )
        got = flagged_cards(s)
    branch = got.filter(pl.col.reasons.str.contains("bad_branch"))
    assert "6222100000000099" in branch["card_number"].to_list()
    assert set(branch["shop_id"]) == {"branch-far"}
    assert {"6222100000000098", "6222100000000097"}.isdisjoint(got["card_number"].to_list())
    assert not set(got["card_number"]) & {f"62222000000001{i:02d}" for i in range(10)}
    row = branch.filter(pl.col.card_number == "6222100000000099").row(0, named=True)
    assert (
        "6 of the 6 other cards branch branch-far opened within 30 days of it turned bad"
        in (row["evidence"])
    )
    assert row["first_ts"] >= NOW  # known only once the branch's cards had turned bad


def test_cards_without_transfers_shops_or_valid_fields_flag_nothing(tmp_path, db):
    from fanzha.ingest import Source, ingest
    from fanzha.investigate.cards import flagged_cards
    from fanzha.store import open_store
    from fanzha.testing import write_csv

    good = [_card(f"62223000000000{i:02d}", "", 10) for i in range(6)]  # no shop, no money
    bad = [
        good[0] | {"card_number": "6222300000000100", "id_number": "not-an-id"},
        good[0] | {"card_number": "6222300000000101", "card_type": "gold"},
    ]
    with open_store(db) as s:
        p = tmp_path / "cards.csv"
        write_csv(str(p), good + bad)
        res = ingest(s, [Source(str(p), "card")])
        assert flagged_cards(s).height == 0
    assert res.total("quarantined") == 2
