"""High-risk cards (断卡): SIM and bank cards opened to be sold, bought or used for fraud.

Fraud caught: the phone cards and bank cards fraud runs on (seed 003, "断卡行动2.0": operators
cleared 77.69 million high-risk phone cards, banks the 卡农's cards): cards opened in bulk on one
identity, SIM cards opened in customers' names by a business-hall insider, cards harvested from
the rural elderly by a "promotion team", and bank cards sold to gangs as mule accounts.
Looks at: `card` events (openings, with the shop/branch and the agent who opened them), and the
suspicions of upstream detectors (`bad_inputs`: fraud_number's suspected numbers, mule_account's
accounts): a card whose number turns bad. For each opened card, one signal per reason:
- `turned_bad`: the card's number was suspected as a fraud number or a mule account within
  `soon_days` of opening (an old card that turns bad is a compromised customer, not a sold card);
- `bad_source`: the agent who opened it opened at least `source_min_bad` other cards within
  `source_days` of it that turned bad (an insider or a reseller whose cards keep turning bad);
- `identity_burst`: its holder's identity opened `burst_cards` cards of the same type within
  `burst_days`, or at `burst_shops` different shops;
- `elderly_visit`: one agent opened `visit_cards` cards on one local day for holders aged
  `elderly_age`+ from rural counties (GB/T 2260 county code ending 21-99): a team in the village.
Score per reason: its weight; a card's alert tier comes from the policy. Entity: the card as
"sim:<number>" or "bank:<number>" (entity_kind "card", details.role "suspect", with the shop and
agent so that operators and banks can list them).
Cannot see: cards of issuers that do not report; a bank card opened without an agent id (branches
are shared by every customer, so a branch alone is no source); card openings more than
`keep_days` older than the newest one seen (state keeps that long); a recycled number opened
again (the first opening in the log is the one judged). Every batch re-runs the rules over the
kept cards (fine for a city's registry; a province's needs the rules keyed to the touched
identities and agents).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl
import pyarrow as pa

from fanzha.engine.protocol import Batch, State, empty_signals, signals_from, signals_key
from fanzha.events import TS_TYPE

TS = pl.Datetime("ms", "UTC")
DAY_MS = 86_400_000
REASONS = ("turned_bad", "bad_source", "identity_burst", "elderly_visit")

CARDS_SCHEMA = pa.schema(
    [
        pa.field("card_type", pa.string()),
        pa.field("card_number", pa.string()),
        pa.field("id_number", pa.string()),
        pa.field("shop_id", pa.string()),
        pa.field("agent_id", pa.string()),
        pa.field("holder_county", pa.string()),
        pa.field("issuer", pa.string()),
        pa.field("seq", pa.int64()),
        pa.field("ts", TS_TYPE),
        pa.field("event_id", pa.string()),
    ]
)
BAD_SCHEMA = pa.schema(  # a card number an upstream detector suspected
    [
        pa.field("card_type", pa.string()),
        pa.field("card_number", pa.string()),
        pa.field("bad_as", pa.string()),  # fraud_number or mule_account (the detector)
        pa.field("seq", pa.int64()),
        pa.field("ts", TS_TYPE),
    ]
)
DONE_SCHEMA = pa.schema([pa.field("card", pa.string()), pa.field("reason", pa.string())])


@dataclass(frozen=True)
class CardRiskSettings:
    bad_inputs: tuple[str, ...] = ()  # upstream detectors whose suspects make a card bad
    bad_min_score: float = 0.5
    soon_days: int = 120
    source_days: int = 30
    source_min_bad: int = 2
    burst_days: int = 7
    burst_cards: int = 3
    burst_shops: int = 3
    visit_cards: int = 5
    elderly_age: int = 60
    utc_offset_hours: int = 8
    keep_days: int = 400
    w_turned_bad: float = 0.9
    w_bad_source: float = 0.8
    w_identity_burst: float = 0.7
    w_elderly_visit: float = 0.6


@dataclass(frozen=True)
class CardRisk:
    """Cards opened to be sold or used for fraud (断卡): bursts, insiders, promotion teams."""

    name: ClassVar[str] = "card_risk"
    kinds: ClassVar[tuple[str, ...]] = ("card",)
    settings: CardRiskSettings = field(default_factory=CardRiskSettings)

    @property
    def signal_inputs(self) -> tuple[str, ...]:
        return tuple(self.settings.bad_inputs)

    def initial_state(self) -> State:
        return {
            "cards": CARDS_SCHEMA.empty_table(),
            "bad": BAD_SCHEMA.empty_table(),
            "done": DONE_SCHEMA.empty_table(),
        }

    def step(self, batch: Batch, state: State) -> tuple[pa.Table, State]:
        s = self.settings
        cards = pl.from_arrow(state["cards"])
        bad = pl.from_arrow(state["bad"])
        new_cards = _openings(batch.get("card"))
        new_bad = _bad_values(batch, s)
        if not new_cards.height and not new_bad.height:
            return empty_signals(), state
        cards = pl.concat([cards, new_cards], how="vertical_relaxed").sort("seq")
        bad = (
            pl.concat([bad, new_bad], how="vertical_relaxed")
            .sort("seq")
            .unique(["card_type", "card_number", "bad_as"], keep="first", maintain_order=True)
        )
        if cards.height:
            newest = cards["ts"].max()
            cards = cards.filter(pl.col.ts >= newest - pl.duration(days=s.keep_days))
        found = _reasons(cards, bad, s, openings=new_cards.height > 0)
        done = pl.from_arrow(state["done"])
        fresh = found.join(done, on=["card", "reason"], how="anti")
        out = _signals(fresh, s, self.name)
        done = pl.concat([done, fresh.select("card", "reason")])
        return out, {
            "cards": cards.sort("seq").to_arrow().cast(CARDS_SCHEMA),
            "bad": bad.sort("seq", "card_number", "bad_as").to_arrow().cast(BAD_SCHEMA),
            "done": done.sort("card", "reason").to_arrow().cast(DONE_SCHEMA),
        }


def _openings(t: pa.Table | None) -> pl.DataFrame:
    empty = pl.from_arrow(CARDS_SCHEMA.empty_table())
    if t is None or not t.num_rows:
        return empty
    df = pl.from_arrow(t)
    df = df.filter(pl.col.action.fill_null("open") == "open") if "action" in df.columns else df
    for c in CARDS_SCHEMA.names:
        if c not in df.columns:
            df = df.with_columns(pl.lit(None, pl.String).alias(c))
    return df.select(CARDS_SCHEMA.names).cast(dict(empty.schema))


def _bad_values(batch: Batch, s: CardRiskSettings) -> pl.DataFrame:
    """Suspected fraud numbers (phone -> SIM card) and mule accounts (account -> bank card)."""
    frames = []
    for name in s.bad_inputs:
        t = batch.get(signals_key(name))
        if t is None or not t.num_rows:
            continue
        sig = pl.from_arrow(t).filter(
            (pl.col.score >= s.bad_min_score)
            & pl.col.entity_kind.is_in(["phone", "account"])
            & (
                pl.col.details.str.json_path_match("$.role").is_in(["suspect"])
                | pl.col.details.str.json_path_match("$.role").is_null()
            )
        )
        frames.append(
            sig.select(
                card_type=pl.when(pl.col.entity_kind == "phone")
                .then(pl.lit("sim"))
                .otherwise(pl.lit("bank")),
                card_number=pl.col.entity,
                bad_as=pl.lit(name),
                seq="seq",
                ts="ts",
            )
        )
    if not frames:
        return pl.from_arrow(BAD_SCHEMA.empty_table())
    return pl.concat(frames).cast(dict(pl.from_arrow(BAD_SCHEMA.empty_table()).schema))


def _kth(col: str, k: int) -> pl.Expr:
    """The k-th smallest value (the moment a count-of-k rule first held, whatever the cuts)."""
    return pl.col(col).sort().slice(k - 1, 1).first()


def _reasons(
    cards: pl.DataFrame, bad: pl.DataFrame, s: CardRiskSettings, openings: bool = True
) -> pl.DataFrame:
    """card, reason, seq, ts, count, detail of every reason that holds now (the rules on
    openings alone only when the batch opened cards)."""
    c = pl.col
    cards = cards.unique(["card_type", "card_number"], keep="first").with_columns(
        card=c.card_type + ":" + c.card_number
    )
    frames: list[pl.DataFrame] = []
    if bad.height:
        first_bad = bad.sort("seq").group_by("card_type", "card_number").agg(
            c.seq.first().alias("bad_seq"), c.ts.first().alias("bad_ts"),
            c.bad_as.first(),
        )
        turned = cards.join(first_bad, on=["card_type", "card_number"]).filter(
            (c.bad_ts >= c.ts) & (c.bad_ts <= c.ts + pl.duration(days=s.soon_days))
        ).with_columns(
            at_seq=pl.max_horizontal("seq", "bad_seq"), at_ts=pl.max_horizontal("ts", "bad_ts")
        )
        frames.append(
            turned.select(
                "card", "card_type", "card_number", "id_number", "shop_id", "agent_id",
                "event_id", reason=pl.lit("turned_bad"), seq="at_seq", ts="at_ts",
                n=pl.lit(1, pl.Int64),
                detail=pl.format(
                    "suspected as a {} {} days after it was opened",
                    pl.when(c.bad_as == "mule_account")
                    .then(pl.lit("mule account"))
                    .otherwise(pl.lit("fraud number")),
                    ((c.bad_ts - c.ts).dt.total_hours() // 24),
                ),
            )
        )
        src = turned.filter(c.agent_id.is_not_null()).select(
            "agent_id", b_card="card", b_ts="ts", b_seq="at_seq", b_at_ts="at_ts"
        )
        pairs = (
            cards.filter(c.agent_id.is_not_null())
            .join(src, on="agent_id")
            .filter(
                (c.b_card != c.card)
                & ((c.b_ts - c.ts).abs() <= pl.duration(days=s.source_days))
            )
        )
        k = s.source_min_bad
        agg = (
            pairs.group_by("card", "seq")
            .agg(c.b_card.n_unique().alias("all"), _kth("b_seq", k).alias("k_seq"))
            .filter(c.all >= k)
            .with_columns(at_seq=pl.max_horizontal("seq", "k_seq"))
            .drop("seq")
        )
        if agg.height:
            # counted as of the moment the rule first held, whatever the batch cuts
            kts = pairs.join(agg, on="card").filter(c.b_seq <= c.at_seq).group_by("card").agg(
                c.b_at_ts.max().alias("k_ts"), c.b_card.n_unique().alias("n")
            )
            hit = cards.join(agg, on="card").join(kts, on="card")
            frames.append(
                hit.select(
                    "card", "card_type", "card_number", "id_number", "shop_id", "agent_id",
                    "event_id", reason=pl.lit("bad_source"),
                    seq="at_seq", ts=pl.max_horizontal("ts", "k_ts"),
                    n="n",
                    detail=pl.format(
                        "agent {} opened {} other cards within {} days that turned bad",
                        "agent_id", "n", pl.lit(s.source_days),
                    ),
                )
            )
    if openings:
        frames.append(_burst(cards, s))
        frames.append(_elderly_visit(cards, s))
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame(schema={"card": pl.String, "reason": pl.String})
    return pl.concat(frames, how="vertical_relaxed")


def _burst(cards: pl.DataFrame, s: CardRiskSettings) -> pl.DataFrame:
    """Cards of one identity opened in a short time (same type), or across many shops."""
    c = pl.col
    mine = cards.filter(c.id_number.is_not_null()).select(
        "card", "card_type", "id_number", "shop_id", "seq", "ts"
    )
    pairs = mine.join(mine, on=["id_number", "card_type"], suffix="_o").filter(
        (c.ts_o - c.ts).abs() <= pl.duration(days=s.burst_days)
    )
    if not pairs.height:
        return pl.DataFrame()
    # each shop counts from its first card in log order
    shop_first = pairs.group_by("card", "shop_id_o").agg(c.seq_o.min().alias("shop_seq"))
    by_shop = shop_first.group_by("card").agg(
        c.shop_id_o.n_unique().alias("shops"),
        _kth("shop_seq", s.burst_shops).alias("shop_k_seq"),
    )
    by_card = pairs.group_by("card").agg(
        c.card_o.n_unique().alias("n"), _kth("seq_o", s.burst_cards).alias("card_k_seq")
    )
    agg = by_card.join(by_shop, on="card").with_columns(
        k_seq=pl.min_horizontal(
            pl.when(c.n >= s.burst_cards).then(c.card_k_seq),
            pl.when(c.shops >= s.burst_shops).then(c.shop_k_seq),
        )
    ).filter(c.k_seq.is_not_null()).select("card", "k_seq")
    if not agg.height:
        return pl.DataFrame()
    at = (
        pairs.join(agg, on="card")
        .filter(c.seq_o <= pl.max_horizontal("seq", "k_seq"))
        .group_by("card")
        .agg(
            c.card_o.n_unique().alias("n"), c.shop_id_o.n_unique().alias("shops"),
            c.ts_o.max().alias("k_ts"), c.seq_o.max().alias("at_seq"),
        )
    )
    hit = cards.join(at, on="card")
    return hit.select(
        "card", "card_type", "card_number", "id_number", "shop_id", "agent_id", "event_id",
        reason=pl.lit("identity_burst"), seq=pl.max_horizontal("seq", "at_seq"),
        ts=pl.max_horizontal("ts", "k_ts"), n="n",
        detail=pl.format(
            "its holder opened {} {} cards at {} shops within {} days", "n", "card_type",
            "shops", pl.lit(s.burst_days),
        ),
    )


def _elderly_visit(cards: pl.DataFrame, s: CardRiskSettings) -> pl.DataFrame:
    """Many cards for rural elderly holders opened by one agent on one local day."""
    c = pl.col
    off = s.utc_offset_hours * 3_600_000
    local = (c.ts + pl.duration(milliseconds=off)).dt.date()
    birth = c.id_number.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    age = (
        local.dt.year()
        - birth.dt.year()
        - ((local.dt.month() * 100 + local.dt.day()) < (birth.dt.month() * 100 + birth.dt.day()))
    )
    county = pl.coalesce(c.holder_county, c.id_number.str.slice(0, 6))
    rural = (county.str.slice(4, 2).cast(pl.Int32, strict=False) > 20).fill_null(False)
    old = cards.filter(c.agent_id.is_not_null()).with_columns(
        age=age, day=(c.ts.dt.epoch("ms") + off) // DAY_MS, rural=rural
    ).filter((c.age >= s.elderly_age).fill_null(False) & c.rural)
    if not old.height:
        return pl.DataFrame()
    agg = old.group_by("agent_id", "day").agg(
        c.card.n_unique().alias("all"), _kth("seq", s.visit_cards).alias("k_seq")
    ).filter(c.all >= s.visit_cards)
    if not agg.height:
        return pl.DataFrame()
    team = old.join(agg, on=["agent_id", "day"]).with_columns(
        at_seq=pl.max_horizontal("seq", "k_seq")
    )
    at = (
        team.join(team.select("agent_id", "day", o_seq="seq", o_ts="ts"), on=["agent_id", "day"])
        .filter(c.o_seq <= c.at_seq)
        .group_by("card")
        .agg(c.o_seq.count().alias("n"), c.o_ts.max().alias("k_ts"))
    )
    hit = team.join(at, on="card")
    return hit.select(
        "card", "card_type", "card_number", "id_number", "shop_id", "agent_id", "event_id",
        reason=pl.lit("elderly_visit"), seq="at_seq",
        ts=pl.max_horizontal("ts", "k_ts"), n="n",
        detail=pl.format(
            "agent {} opened {} cards for rural holders aged {}+ that day",
            "agent_id", "n", pl.lit(s.elderly_age),
        ),
    )


def _signals(found: pl.DataFrame, s: CardRiskSettings, name: str) -> pa.Table:
    if not found.height:
        return empty_signals()
    c = pl.col
    weight = pl.col.reason.replace_strict(
        {r: getattr(s, f"w_{r}") for r in REASONS}, return_dtype=pl.Float64
    )
    df = found.with_columns(score=weight).with_columns(
        entity_kind=pl.lit("card"),
        entity=c.card,
        evidence=pl.format("{} card {}: {}", "card_type", "card_number", "detail"),
        details=pl.struct(
            role=pl.lit("suspect"), reason="reason", card_type="card_type",
            card_number="card_number", shop_id="shop_id", agent_id="agent_id",
            id_number="id_number", count="n",
        ).struct.json_encode(),
        event_ids=pl.concat_list(pl.col.event_id),
        ts=c.ts.cast(TS),
    )
    return signals_from(df, name, ["card", "reason"])
