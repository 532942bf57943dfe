"""Lists of high-risk cards (断卡) for operators and banks, and notices to the card holders.

From `card_risk`'s signals: a card that turned into a fraud number is cancelled by its operator
(SIM) or frozen by its bank (bank card, its data kept for police); any other flagged card goes on
the issuer's watch list for an in-person re-verification of the holder (二次实名核验); and the
holder's identity gets a notice through the card look-up service (一证通查: "a card in your name
was flagged, was it you?"), so that people whose identity was used learn of it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa

from fanzha.hashing import sha256_32
from fanzha.store import Store
from fanzha.store.tables import LIST_SCHEMA

REF = "cards:"
LOOKUP_SERVICE = "card-lookup-service"  # 一证通查


def flagged_cards(store: Store) -> pl.DataFrame:
    """One row per card card_risk flagged: card_type, card_number, id_number, issuer, shop_id,
    agent_id, score (the highest), reasons, evidence, first_ts."""
    sig = pl.from_arrow(store.signals())
    if sig.height:
        sig = sig.filter(pl.col.detector == "card_risk")
    if not sig.height:
        return pl.DataFrame(schema={"card_type": pl.String, "card_number": pl.String})
    d = pl.col.details
    rows = sig.select(
        card_type=d.str.json_path_match("$.card_type"),
        card_number=d.str.json_path_match("$.card_number"),
        id_number=d.str.json_path_match("$.id_number"),
        shop_id=d.str.json_path_match("$.shop_id"),
        agent_id=d.str.json_path_match("$.agent_id"),
        reason=d.str.json_path_match("$.reason"),
        score="score",
        evidence="evidence",
        ts="ts",
    )
    cards = pl.from_arrow(store.read_events("card", 0, store.max_seq()))
    issuer = (
        cards.select("card_type", "card_number", "issuer").unique(
            ["card_type", "card_number"], keep="first"
        )
        if cards.height
        else pl.DataFrame(schema={c: pl.String for c in ("card_type", "card_number", "issuer")})
    )
    return (
        rows.sort("ts", "reason")
        .group_by("card_type", "card_number", maintain_order=True)
        .agg(
            pl.col.id_number.first(), pl.col.shop_id.first(), pl.col.agent_id.first(),
            pl.col.score.max(), pl.col.reason.unique(maintain_order=True).str.join(", ").alias(
                "reasons"
            ),
            pl.col.evidence.str.join("; "), pl.col.ts.min().alias("first_ts"),
        )
        .join(issuer, on=["card_type", "card_number"], how="left")
        .sort("first_ts", "card_number")
    )


def list_entries(flagged: pl.DataFrame, now: dt.datetime) -> pa.Table:
    """cancel (SIM) / freeze (bank) for cards that turned bad, watch for the others, and a
    notice per holder identity through the look-up service."""
    c = pl.col
    if not flagged.height or "reasons" not in flagged.columns:
        return LIST_SCHEMA.empty_table()
    bad = c.reasons.str.contains("turned_bad")
    cards = flagged.select(
        list_name=pl.when(bad & (c.card_type == "sim")).then(pl.lit("cancel"))
        .when(bad).then(pl.lit("freeze")).otherwise(pl.lit("watch")),
        partner=pl.coalesce(c.issuer, c.card_type),
        entity_kind=pl.when(c.card_type == "sim").then(pl.lit("phone")).otherwise(
            pl.lit("bank_card")),
        entity="card_number",
        action=pl.when(bad & (c.card_type == "sim"))
        .then(pl.lit("cancel the card (it became a fraud number)"))
        .when(bad).then(pl.lit("freeze the card, keep its data for police"))
        .otherwise(pl.lit("re-verify the holder in person before further use (二次实名核验)")),
        reason=pl.lit("high-risk card (断卡): ") + c.reasons,
        evidence="evidence",
        ref=pl.lit(REF) + c.card_type + ":" + c.card_number,
    )
    notices = flagged.filter(c.id_number.is_not_null()).group_by("id_number").agg(
        pl.format("{} {}", "card_type", "card_number").str.join(", ").alias("cards")
    ).select(
        list_name=pl.lit("notify"),
        partner=pl.lit(LOOKUP_SERVICE),
        entity_kind=pl.lit("id_number"),
        entity="id_number",
        action=pl.lit("tell the holder these cards in their name were flagged; ask if they "
                      "opened them"),
        reason=pl.lit("high-risk card (断卡) in this identity's name"),
        evidence="cards",
        ref=pl.lit(REF) + "id:" + c.id_number,
    )
    df = pl.concat([cards, notices], how="vertical_relaxed")
    canon = df.select(
        pl.concat_str(["list_name", "partner", "entity", "ref"], separator="\x1f",
                      ignore_nulls=True)
    ).to_series()
    df = df.with_columns(
        entry_id=pl.Series(sha256_32(canon.to_arrow())),
        created_ts=pl.lit(now).cast(pl.Datetime("ms", "UTC")),
        expires_ts=pl.lit(None, pl.Datetime("ms", "UTC")),
    )
    return df.select(LIST_SCHEMA.names).to_arrow().cast(LIST_SCHEMA)


def act(store: Store, now: dt.datetime | None = None) -> tuple[int, pl.DataFrame]:
    """Add the lists to the store (adding twice is a no-op); (entries added, flagged cards)."""
    flagged = flagged_cards(store)
    entries = list_entries(flagged, now or dt.datetime.now(dt.UTC))
    return store.add_list_entries(entries), flagged
