"""Lists of high-risk cards (断卡) for operators and banks, and notices to the card holders.

From `card_risk`'s signals, and what only the whole log shows: a young bank card the batch mule
scores (`fanzha funds mules`) label a mule account turned bad too (the streaming mule detector
misses mules that move money only once or twice); a card opened without an agent at a branch
whose other cards of the same weeks keep turning bad is listed for re-verification (sold cards
are opened at the counter where no agent is recorded, so card_risk's agent rule cannot see them).
A card that turned into a fraud number is cancelled by its operator (SIM) or frozen by its bank
(bank card, its data kept for police); any other flagged card goes on the issuer's watch list for
an in-person re-verification of the holder (二次实名核验); and the holder's identity gets a notice
through the card look-up service (一证通查: "a card in your name was flagged, was it you?"), so
that people whose identity was used learn of it.
Cannot see: a sold card that never moves money the mule scores notice, opened at a branch most
of whose new cards are honest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from fanzha.hashing import sha256_32
from fanzha.store import Store
from fanzha.store.tables import LIST_SCHEMA

TS = pl.Datetime("ms", "UTC")
REF = "cards:"
LOOKUP_SERVICE = "card-lookup-service"  # 一证通查


@dataclass(frozen=True)
class BatchCardSettings:
    """What only the whole log shows (on top of card_risk's signals)."""

    soon_days: int = 120  # as card_risk: a card labelled a mule this soon after opening was sold
    w_batch_mule: float = 0.9
    branch_days: int = 30  # cards of one branch opened within this long of each other
    branch_min_bad: int = 5  # of them, at least this many turned bad ...
    branch_min_share: float = 0.5  # ... and at least this share of all
    w_bad_branch: float = 0.6


def flagged_cards(
    store: Store, batch: bool = True, settings: BatchCardSettings | None = None
) -> pl.DataFrame:
    """One row per flagged card: card_type, card_number, id_number, issuer, shop_id, agent_id,
    score (the highest), reasons, evidence, first_ts. card_risk's signals and, with `batch`, the
    rules on the whole log: a young bank card the batch mule scores (`fanzha funds mules`) label
    a mule (`turned_bad`), and a card without an agent opened at a branch whose cards of the
    same weeks keep turning bad (`bad_branch`): 卡农 open sold cards where no agent is recorded."""
    sig = pl.from_arrow(store.signals())
    if sig.height:
        sig = sig.filter(pl.col.detector == "card_risk")
    d = pl.col.details
    rows = (
        sig.select(
            card_type=d.str.json_path_match("$.card_type"),
            card_number=d.str.json_path_match("$.card_number"),
            id_number=d.str.json_path_match("$.id_number"),
            shop_id=d.str.json_path_match("$.shop_id"),
            agent_id=d.str.json_path_match("$.agent_id"),
            reason=d.str.json_path_match("$.reason"),
            score="score",
            evidence="evidence",
            ts=pl.col.ts.cast(TS),
        )
        if sig.height
        else pl.DataFrame(schema=ROW_SCHEMA)
    )
    cards = pl.from_arrow(store.read_events("card", 0, store.max_seq()))
    if batch and cards.height:
        rows = pl.concat(
            [
                rows.cast(ROW_SCHEMA),
                *_batch_rows(store, cards, rows, settings or BatchCardSettings()),
            ],
            how="vertical_relaxed",
        )
    if not rows.height:
        return pl.DataFrame(schema={"card_type": pl.String, "card_number": pl.String})
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
            pl.col.id_number.first(),
            pl.col.shop_id.first(),
            pl.col.agent_id.first(),
            pl.col.score.max(),
            pl.col.reason.unique(maintain_order=True).str.join(", ").alias("reasons"),
            pl.col.evidence.str.join("; "),
            pl.col.ts.min().alias("first_ts"),
        )
        .join(issuer, on=["card_type", "card_number"], how="left")
        .sort("first_ts", "card_number")
    )


ROW_SCHEMA = {
    "card_type": pl.String,
    "card_number": pl.String,
    "id_number": pl.String,
    "shop_id": pl.String,
    "agent_id": pl.String,
    "reason": pl.String,
    "score": pl.Float64,
    "evidence": pl.String,
    "ts": TS,
}


def _batch_rows(
    store: Store, cards: pl.DataFrame, rows: pl.DataFrame, s: BatchCardSettings
) -> list[pl.DataFrame]:
    """Rows (as card_risk's) for the batch mule labels and the branches whose cards turn bad."""
    from fanzha.investigate.mules import mule_scores

    c = pl.col
    opened = (
        cards.filter(c.action.fill_null("open") == "open")
        .sort("seq")
        .unique(["card_type", "card_number"], keep="first", maintain_order=True)
        .select(
            "card_type", "card_number", "id_number", "shop_id", "agent_id", opened_ts=c.ts.cast(TS)
        )
    )
    top = store.max_seq()
    out = []
    transfers = pl.from_arrow(store.read_events("transfer", 0, top))
    if transfers.height:
        cases = pl.from_arrow(store.read_events("case", 0, top))
        labelled = mule_scores(transfers, cases).filter(c.label == 1).select("account", "score")
        first = (
            pl.concat(
                [
                    transfers.select(account="payer_account", ts="ts"),
                    transfers.select(account="payee_account", ts="ts"),
                ]
            )
            .group_by("account")
            .agg(c.ts.min().cast(TS).alias("bad_ts"))
        )
        hit = (
            opened.filter(c.card_type == "bank")
            .join(labelled.join(first, on="account"), left_on="card_number", right_on="account")
            .filter(
                (c.bad_ts >= c.opened_ts)
                & (c.bad_ts <= c.opened_ts + pl.duration(days=s.soon_days))
            )
        )
        out.append(
            hit.select(
                "card_type",
                "card_number",
                "id_number",
                "shop_id",
                "agent_id",
                reason=pl.lit("turned_bad"),
                score=pl.lit(s.w_batch_mule),
                evidence=pl.format(
                    "bank card {}: the batch mule scores label it a mule account ({}), its first "
                    "transfer {} days after it was opened",
                    "card_number",
                    "score",
                    (c.bad_ts - c.opened_ts).dt.total_days(),
                ),
                ts="bad_ts",
            )
        )
    bad = (
        pl.concat(
            [
                rows.filter(c.reason == "turned_bad").select("card_type", "card_number", "ts"),
                *(f.select("card_type", "card_number", "ts") for f in out),
            ]
        )
        .group_by("card_type", "card_number")
        .agg(c.ts.min().alias("bad_ts"))
    )
    out.append(_bad_branch(opened, bad, s))
    return [f.cast(ROW_SCHEMA) for f in out if f.height]


def _bad_branch(opened: pl.DataFrame, bad: pl.DataFrame, s: BatchCardSettings) -> pl.DataFrame:
    """Cards opened without an agent at a branch where, among the cards it opened within
    `branch_days` of them, at least `branch_min_bad` and `branch_min_share` turned bad."""
    c = pl.col
    nobody = (
        opened.filter(c.agent_id.is_null() & c.shop_id.is_not_null())
        .join(bad, on=["card_type", "card_number"], how="left")
        .sort("shop_id", "opened_ts")
    )
    if not bad.height or not nobody.height:
        return pl.DataFrame(schema=ROW_SCHEMA)
    w = s.branch_days * 86_400_000
    frames = []
    for shop in nobody.filter(c.bad_ts.is_not_null())["shop_id"].unique().sort():
        g = nobody.filter(c.shop_id == shop)
        t = g["opened_ts"].dt.epoch("ms").to_numpy()
        is_bad = g["bad_ts"].is_not_null().to_numpy()
        cum = np.concatenate([[0], np.cumsum(is_bad)])
        lo, hi = np.searchsorted(t, t - w, "left"), np.searchsorted(t, t + w, "right")
        n_bad = cum[hi] - cum[lo] - is_bad  # the other cards of those weeks that turned bad
        n_all = hi - lo - 1
        share = np.divide(n_bad, n_all, out=np.zeros(len(t)), where=n_all > 0)
        keep = (n_bad >= s.branch_min_bad) & (share >= s.branch_min_share)
        bad_ts = g["bad_ts"].dt.epoch("ms").fill_null(0).to_numpy()
        known = [int(bad_ts[a:b].max()) for a, b in zip(lo[keep], hi[keep], strict=True)]
        frames.append(
            g.with_columns(n_bad=pl.Series(n_bad), n_all=pl.Series(n_all))
            .filter(pl.Series(keep))
            .with_columns(known_ts=pl.Series(known, dtype=pl.Int64).cast(TS))
        )
    hit = pl.concat(frames) if frames else pl.DataFrame()
    if not hit.height:
        return pl.DataFrame(schema=ROW_SCHEMA)
    return hit.select(
        "card_type",
        "card_number",
        "id_number",
        "shop_id",
        "agent_id",
        reason=pl.lit("bad_branch"),
        score=pl.lit(s.w_bad_branch),
        evidence=pl.format(
            "{} card {}: {} of the {} other cards branch {} opened within {} days of it turned bad",
            "card_type",
            "card_number",
            "n_bad",
            "n_all",
            "shop_id",
            pl.lit(s.branch_days),
        ),
        ts=pl.max_horizontal("opened_ts", "known_ts"),  # when the branch's record was known
    )


def list_entries(flagged: pl.DataFrame, now: dt.datetime) -> pa.Table:
    """cancel (SIM) / freeze (bank) for cards that turned bad, watch for the others, and a
    notice per holder identity through the look-up service."""
    c = pl.col
    if not flagged.height or "reasons" not in flagged.columns:
        return LIST_SCHEMA.empty_table()
    bad = c.reasons.str.contains("turned_bad")
    cards = flagged.select(
        list_name=pl.when(bad & (c.card_type == "sim"))
        .then(pl.lit("cancel"))
        .when(bad)
        .then(pl.lit("freeze"))
        .otherwise(pl.lit("watch")),
        partner=pl.coalesce(c.issuer, c.card_type),
        entity_kind=pl.when(c.card_type == "sim")
        .then(pl.lit("phone"))
        .otherwise(pl.lit("bank_card")),
        entity="card_number",
        action=pl.when(bad & (c.card_type == "sim"))
        .then(pl.lit("cancel the card (it became a fraud number)"))
        .when(bad)
        .then(pl.lit("freeze the card, keep its data for police"))
        .otherwise(pl.lit("re-verify the holder in person before further use (二次实名核验)")),
        reason=pl.lit("high-risk card (断卡): ") + c.reasons,
        evidence="evidence",
        ref=pl.lit(REF) + c.card_type + ":" + c.card_number,
    )
    notices = (
        flagged.filter(c.id_number.is_not_null())
        .group_by("id_number")
        .agg(pl.format("{} {}", "card_type", "card_number").str.join(", ").alias("cards"))
        .select(
            list_name=pl.lit("notify"),
            partner=pl.lit(LOOKUP_SERVICE),
            entity_kind=pl.lit("id_number"),
            entity="id_number",
            action=pl.lit(
                "tell the holder these cards in their name were flagged; ask if they opened them"
            ),
            reason=pl.lit("high-risk card (断卡) in this identity's name"),
            evidence="cards",
            ref=pl.lit(REF) + "id:" + c.id_number,
        )
    )
    df = pl.concat([cards, notices], how="vertical_relaxed")
    canon = df.select(
        pl.concat_str(
            ["list_name", "partner", "entity", "ref"], separator="\x1f", ignore_nulls=True
        )
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
