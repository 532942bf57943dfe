"""Victim risk: how likely and how urgent a loss is for each exposed person, as one score.

Fraud caught: all of it, at the person's end. Seed 003: "根据群众被骗的可能性和紧急程度，建立高、中、
低等级分级联动劝阻机制" (tiered dissuasion by how likely and how urgent the loss is); 12381 adds an
elderly person's family number. This detector reads the exposure signals of other detectors
(`inputs`: contact with listed numbers, fraud sites, fraud apps; the fraud-number model's once it
runs) through the engine's chaining and combines, per person over `window_days`:
- exposure: the strongest sign per channel and value (a number, a site, an app), combined as
  independent evidence (1 - prod(1 - s)); contact on several days (impersonation scripts call
  again over days), long talk in total; a number the person has known for more than
  `known_after_days` (call or SMS history) counts half: it is not a stranger;
- vulnerability: age from the ID number on the person's SIM card events (elderly people lose more
  and are told through their family number, registered on the card as 亲情号码);
- urgency: a transfer to a payee this payer has never paid before, while exposed: the money is
  moving now (a bank hold is the last chance).
Weak signs alone (below `min_exposure`, e.g. a meeting app's screen share) raise nothing. Tiers and
actions are the policy's (`default_policy.yaml`), not this detector's: it emits a score and the
facts behind it (age, family number, accounts for a bank hold). Signals: role "at_risk" on the
person.
The score is hand-weighted (the bonuses in the settings) unless `model` names a file from
`fanzha model retrain --model victim-risk`: learned weights of the same facts, which every signal
carries in its details (fanzha.models.victims).
The person's `area` (county code of the SIM holder's registered address, else the county that
issued their ID number) tells dispatch which police station's home-visit capacity they use.
Cannot see: people without a SIM card event (age and area unknown), family ties not registered,
money moved in cash or by someone else's account.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl
import pyarrow as pa

from fanzha.engine.protocol import (
    Batch,
    Lookup,
    State,
    empty_signals,
    history_key,
    signals_from,
    signals_key,
)
from fanzha.events import TS_TYPE
from fanzha.models.victims import VictimRiskModel, features

PEOPLE_SCHEMA = pa.schema(
    [
        pa.field("phone", pa.string()),
        pa.field("seq", pa.int64()),
        pa.field("id_number", pa.string()),
        pa.field("birth", pa.date32()),
        pa.field("family_phone", pa.string()),
        pa.field("open", pa.bool_()),
        pa.field("county", pa.string()),
    ]
)
ACCOUNTS_SCHEMA = pa.schema(
    [
        pa.field("id_number", pa.string()),
        pa.field("account", pa.string()),
        pa.field("seq", pa.int64()),
    ]
)
EXPOSURE_SCHEMA = pa.schema(
    [
        pa.field("person", pa.string()),
        pa.field("seq", pa.int64()),
        pa.field("ts", TS_TYPE),
        pa.field("signal_id", pa.string()),
        pa.field("detector", pa.string()),
        pa.field("via", pa.string()),
        pa.field("via_kind", pa.string()),
        pa.field("channel", pa.string()),
        pa.field("score", pa.float64()),
        pa.field("duration_s", pa.int64()),
        pa.field("fraud_type", pa.string()),
        pa.field("known", pa.bool_()),
        pa.field("evidence", pa.string()),
    ]
)
CLOCK_SCHEMA = pa.schema([pa.field("ts", TS_TYPE)])


@dataclass(frozen=True)
class VictimRiskSettings:
    inputs: tuple[str, ...] = ("fraud_contact", "fraud_url", "fraud_app")
    window_days: float = 7.0  # exposures this recent count together
    min_exposure: float = 0.3  # a person needs one sign at least this strong to be at risk
    known_after_days: float = 1.0  # a number in the person's history this long is not a stranger
    known_factor: float = 0.5
    history_days: float = 90.0  # how far back "known number" and "new payee" look
    elderly_age: int = 60
    elderly_bonus: float = 0.1
    old_age: int = 75
    old_bonus: float = 0.15  # instead of elderly_bonus
    repeat_bonus: float = 0.1  # exposed on two or more days
    long_talk_s: int = 600  # total talk time with the exposing numbers
    long_talk_bonus: float = 0.1
    transfer_hours: float = 48.0  # a new-payee transfer this soon after exposure is urgent
    score_new_payee: float = 0.95
    # a model file from `fanzha model retrain --model victim-risk`: learned weights of the same
    # facts instead of the bonuses above; None = the hand-weighted score
    model: str | None = None


@dataclass(frozen=True)
class VictimRisk:
    """Combines every exposure of a person with age and money movement into one risk score."""

    settings: VictimRiskSettings = VictimRiskSettings()
    name: ClassVar[str] = "victim_risk"
    kinds: ClassVar[tuple[str, ...]] = ("card", "transfer")
    _model: VictimRiskModel | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        m = self.settings.model
        object.__setattr__(self, "_model", VictimRiskModel.load(m) if m else None)

    @property
    def signal_inputs(self) -> tuple[str, ...]:
        return tuple(self.settings.inputs)

    def initial_state(self) -> State:
        return {
            "people": PEOPLE_SCHEMA.empty_table(),
            "accounts": ACCOUNTS_SCHEMA.empty_table(),
            "exposures": EXPOSURE_SCHEMA.empty_table(),
            "clock": CLOCK_SCHEMA.empty_table(),
        }

    @property
    def _window(self) -> dt.timedelta:
        return dt.timedelta(days=self.settings.window_days)

    def _exposures(self, batch: Batch) -> pl.DataFrame:
        parts = [_exposed(batch.get(signals_key(n))) for n in self.signal_inputs]
        parts = [p for p in parts if p.height]
        if not parts:
            return pl.DataFrame(schema=_EXPOSED)
        return pl.concat(parts).sort("seq", "signal_id")

    def _exposed_people(self, batch: Batch, state: State) -> pl.DataFrame:
        old = pl.from_arrow(state["exposures"]).select("person", "seq", "ts", "score")
        new = self._exposures(batch).select("person", "seq", "ts", "score")
        return pl.concat([old, new]).filter(pl.col.score >= self.settings.min_exposure)

    def lookups(self, batch: Batch, state: State) -> list[Lookup]:
        s = self.settings
        out = []
        hist = dt.timedelta(days=s.history_days)
        new = self._exposures(batch).filter(pl.col.via_kind == "phone")
        if new.height:
            vias = tuple(sorted(set(new["via"].to_list())))
            since = new["contact_ts"].min() - hist
            out += [
                Lookup("call", ("caller", "callee"), vias, since),
                Lookup("sms", ("sender", "receiver"), vias, since),
            ]
        tr = _transfers(batch.get("transfer"))
        if tr.height:
            exposed = self._exposed_people(batch, state)
            payers = tr.filter(pl.col.payer_phone.is_in(exposed["person"].implode()))
            if payers.height:
                out.append(
                    Lookup(
                        "transfer",
                        ("payer_phone",),
                        tuple(sorted(set(payers["payer_phone"].to_list()))),
                        payers["ts"].min() - hist,
                    )
                )
        return out

    def step(self, batch: Batch, state: State) -> tuple[pa.Table, State]:
        if all(t is None or t.num_rows == 0 for t in batch.values()):
            return empty_signals(), state
        new_state = dict(state)
        people, accounts = self._cards(batch, state, new_state)
        exp_new = self._with_known(self._exposures(batch), batch)
        transfers = _transfers(batch.get("transfer"))
        if exp_new.height == 0 and transfers.height == 0:
            changed = any(new_state[k] is not state[k] for k in state)
            return empty_signals(), new_state if changed else state
        old = pl.from_arrow(state["exposures"])
        all_exp = pl.concat([old, exp_new.select(old.columns)]).sort("seq", "signal_id")
        hits = pl.concat(
            [self._risk(exp_new, all_exp), self._new_payees(transfers, all_exp, batch)],
            how="diagonal_relaxed",
        )
        sigs = self._signals(hits, people, accounts)
        if exp_new.height:
            # exposures older than the window before the latest one seen cannot count again
            top = max(pl.from_arrow(state["clock"])["ts"].to_list() + exp_new["ts"].to_list())
            kept = all_exp.filter(pl.col.ts >= top - self._window)
            new_state["exposures"] = kept.to_arrow().cast(EXPOSURE_SCHEMA)
            new_state["clock"] = pa.table({"ts": pa.array([top], TS_TYPE)})
        return sigs, new_state

    # --- people and their cards -----------------------------------------------------------------

    def _cards(
        self, batch: Batch, state: State, new_state: dict[str, pa.Table]
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        people = pl.from_arrow(state["people"])
        if "county" not in people.columns:  # a checkpoint from before areas were kept
            people = people.with_columns(county=pl.lit(None, pl.String))
        accounts = pl.from_arrow(state["accounts"])
        cards = batch.get("card")
        if cards is None or cards.num_rows == 0:
            return people, accounts
        c = pl.from_arrow(cards)
        if "holder_county" not in c.columns:
            c = c.with_columns(holder_county=pl.lit(None, pl.String))
        sims = c.filter(pl.col.card_type == "sim").select(
            phone=pl.col.card_number,
            seq=pl.col.seq,
            id_number=pl.col.id_number,
            birth=pl.col.id_number.str.slice(6, 8).str.to_date("%Y%m%d", strict=False),
            family_phone=pl.col.family_phone,
            open=pl.col.action.fill_null("open") == "open",
            # the police station's area: the registered address, else the ID's issuing county
            county=pl.coalesce(pl.col.holder_county, pl.col.id_number.str.slice(0, 6)),
        )
        banks = c.filter((pl.col.card_type == "bank") & (pl.col.action.fill_null("open") == "open"))
        banks = banks.select("id_number", account=pl.col.card_number, seq=pl.col.seq)
        if sims.height:
            people = pl.concat([people, sims.cast(people.schema)]).sort("phone", "seq")
            new_state["people"] = people.to_arrow().cast(PEOPLE_SCHEMA)
        if banks.height:
            accounts = pl.concat([accounts, banks.cast(accounts.schema)]).sort("id_number", "seq")
            new_state["accounts"] = accounts.to_arrow().cast(ACCOUNTS_SCHEMA)
        return people, accounts

    # --- exposure ------------------------------------------------------------------------------

    def _with_known(self, exp: pl.DataFrame, batch: Batch) -> pl.DataFrame:
        """Mark exposures via a number the person has called or texted with for a while."""
        if exp.height == 0:
            return exp.with_columns(known=pl.lit(False))
        frames = []
        for k, a, b in (("call", "caller", "callee"), ("sms", "sender", "receiver")):
            t = batch.get(history_key(k))
            if t is not None and t.num_rows:
                h = pl.from_arrow(t).select("seq", "ts", x=pl.col(a), y=pl.col(b))
                frames += [h, h.select("seq", "ts", x="y", y="x")]
        if not frames:
            return exp.with_columns(known=pl.lit(False))
        hist = pl.concat(frames).rename({"x": "person", "y": "via", "seq": "h_seq", "ts": "h_ts"})
        before = dt.timedelta(days=self.settings.known_after_days)
        known = (
            exp.filter(pl.col.via_kind == "phone")
            .join(hist, on=["person", "via"])
            .filter(
                (pl.col.h_seq < pl.col.seq)
                & (pl.col.h_ts < pl.col.contact_ts - before)
                & (pl.col.h_ts >= pl.col.contact_ts - dt.timedelta(days=self.settings.history_days))
            )
            .select("signal_id")
            .unique()
        )
        return exp.with_columns(known=pl.col.signal_id.is_in(known["signal_id"].implode()))

    def _risk(self, new: pl.DataFrame, all_exp: pl.DataFrame) -> pl.DataFrame:
        """One risk row per new exposure: everything the person met in the window up to it."""
        if new.height == 0:
            return pl.DataFrame()
        trig = new.select(
            "person",
            t_seq="seq",
            t_ts="ts",
            t_signal="signal_id",
            t_evidence="evidence",
            t_via="via",
            t_via_kind="via_kind",
            t_detector="detector",
        )
        win = trig.join(all_exp, on="person").filter(
            (pl.col.seq <= pl.col.t_seq) & (pl.col.ts >= pl.col.t_ts - self._window)
        )
        return self._combine(win, "t_signal")

    def _combine(self, win: pl.DataFrame, key: str) -> pl.DataFrame:
        s = self.settings
        eff = pl.when(pl.col.known).then(pl.col.score * s.known_factor).otherwise(pl.col.score)
        per = (
            win.with_columns(eff=eff)
            .group_by(key, "detector", "via")
            .agg(pl.col.eff.max(), pl.col.score.max().alias("raw"))
            .sort(key, "detector", "via")  # a fixed product order: same score on replay
        )
        combined = per.group_by(key).agg(
            noisy_or=1 - (1 - pl.col.eff).product(),
            strong=(pl.col.raw >= s.min_exposure).any(),
            values=pl.len(),
            detectors=pl.col.detector.unique().sort(),
        )
        facts = (
            win.sort("seq")
            .group_by(key)
            .agg(
                pl.first(
                    "person", "t_seq", "t_ts", "t_evidence", "t_via", "t_via_kind", "t_detector"
                ),
                days=pl.col.ts.dt.date().n_unique(),
                talk_s=pl.col.duration_s.filter(pl.col.channel.str.starts_with("call")).sum(),
                fraud_type=pl.col.fraud_type.drop_nulls().last(),
                known=pl.col.known.filter(pl.col.via == pl.col.t_via).any(),
            )
        )
        return combined.join(facts, on=key).filter(pl.col.strong).rename({key: "key"})

    def _new_payees(
        self, transfers: pl.DataFrame, all_exp: pl.DataFrame, batch: Batch
    ) -> pl.DataFrame:
        """Transfers to a never-paid payee by people exposed in the hours before."""
        s = self.settings
        if transfers.height == 0 or all_exp.height == 0:
            return pl.DataFrame()
        strong = all_exp.filter(pl.col.score >= s.min_exposure)
        tr = transfers.filter(pl.col.payer_phone.is_in(strong["person"].implode()))
        if tr.height == 0:
            return pl.DataFrame()
        hist = _transfers(batch.get(history_key("transfer")))
        paid_before = (
            tr.join(
                hist.select("payer_phone", "payee_account", h_seq="seq", h_ts="ts"),
                on=["payer_phone", "payee_account"],
            )
            .filter(
                (pl.col.h_seq < pl.col.seq)
                & (pl.col.h_ts >= pl.col.ts - dt.timedelta(days=s.history_days))
            )
            .select("event_id")
            .unique()
        )
        tr = tr.filter(~pl.col.event_id.is_in(paid_before["event_id"].implode()))
        win = (
            tr.select(
                "event_id",
                "payee_account",
                "payer_account",
                "amount_fen",
                person="payer_phone",
                t_seq="seq",
                t_ts="ts",
            )
            .join(all_exp, on="person")
            .filter(
                (pl.col.seq < pl.col.t_seq)
                & (pl.col.ts >= pl.col.t_ts - dt.timedelta(hours=s.transfer_hours))
            )
            .with_columns(
                t_signal=pl.col.event_id,
                t_evidence=pl.col.person
                + " is paying "
                + (pl.col.amount_fen / 100).round(2).cast(pl.String)
                + " yuan to "
                + pl.col.payee_account
                + ", a payee never paid before",
                t_via=pl.col.payee_account,
                t_via_kind=pl.lit("bank_account"),
                t_detector=pl.lit("transfer"),
            )
        )
        if win.height == 0:
            return pl.DataFrame()
        out = self._combine(win, "t_signal")
        pay = (
            win.group_by("t_signal")
            .agg(pl.first("payee_account", "payer_account", "amount_fen"))
            .rename({"t_signal": "key"})
        )
        return out.join(pay, on="key").with_columns(new_payee=pl.lit(True))

    # --- signals -------------------------------------------------------------------------------

    def _signals(
        self, hits: pl.DataFrame, people: pl.DataFrame, accounts: pl.DataFrame
    ) -> pa.Table:
        s = self.settings
        if hits.height == 0:
            return empty_signals()
        for c, t in (
            ("new_payee", pl.Boolean),
            ("payee_account", pl.String),
            ("payer_account", pl.String),
            ("amount_fen", pl.Int64),
        ):
            if c not in hits.columns:
                hits = hits.with_columns(pl.lit(None, t).alias(c))
        hits = hits.with_columns(new_payee=pl.col.new_payee.fill_null(False), seq=pl.col.t_seq)
        who = people.select(
            "seq",
            person="phone",
            id_number="id_number",
            birth="birth",
            family_phone="family_phone",
            open="open",
            county="county",
        ).sort("seq")
        hits = hits.sort("seq").join_asof(
            who, on="seq", by="person", strategy="backward", check_sortedness=False
        )
        hits = hits.with_columns(
            id_number=pl.when(pl.col.open).then(pl.col.id_number),
            family_phone=pl.when(pl.col.open).then(pl.col.family_phone),
            area=pl.when(pl.col.open).then(pl.col.county),
            age=pl.when(pl.col.open)
            .then((pl.col.t_ts.dt.date() - pl.col.birth).dt.total_days() // 365.2425)
            .cast(pl.Int64),
        )
        accts = (
            hits.select("key", "seq", "id_number", "payer_account")
            .join(accounts.rename({"seq": "a_seq"}), on="id_number", how="left")
            .filter(pl.col.a_seq.is_null() | (pl.col.a_seq <= pl.col.seq))
            .group_by("key")
            .agg(
                accounts=pl.concat_list("payer_account", "account")
                .list.explode(keep_nulls=False, empty_as_null=False)
                .drop_nulls()
                .unique()
                .sort()
            )
        )
        hits = hits.join(accts, on="key", how="left").rename(
            {"noisy_or": "exposure", "values": "exposures"}
        )
        if self._model is None:
            score = hand_score(s)
        else:
            score = pl.Series(self._model.scores(features(hits)), dtype=pl.Float64)
        factors = pl.concat_list(
            pl.when(pl.col.age >= s.elderly_age).then(pl.lit("age ") + pl.col.age.cast(pl.String)),
            pl.when(pl.col.days >= 2).then(pl.col.days.cast(pl.String) + " days of contact"),
            pl.when(pl.col.talk_s >= s.long_talk_s).then(
                (pl.col.talk_s // 60).cast(pl.String) + " min of talk"
            ),
            pl.when(pl.col.exposures > 1).then(
                pl.lit("exposed through ")
                + pl.col.exposures.cast(pl.String)
                + " numbers/sites/apps"
            ),
            pl.when(pl.col.known).then(pl.lit("a number they know (counts half)")),
            pl.when(pl.col.new_payee).then(pl.lit("paying a new payee now")),
        ).list.drop_nulls()
        df = hits.with_columns(score=score, factors=factors).with_columns(
            ts=pl.col.t_ts,
            entity_kind=pl.lit("phone"),
            entity=pl.col.person,
            evidence=pl.col.t_evidence
            + "; risk "
            + pl.col.score.round(2).cast(pl.String)
            + pl.when(pl.col.factors.list.len() > 0)
            .then(pl.lit(" (") + pl.col.factors.list.join(", ") + ")")
            .otherwise(pl.lit("")),
            details=pl.struct(
                role=pl.lit("at_risk"),
                via=pl.col.t_via,
                via_kind=pl.col.t_via_kind,
                trigger=pl.col.t_detector,
                age=pl.col.age,
                area=pl.col.area,
                family_phone=pl.col.family_phone,
                id_number=pl.col.id_number,
                accounts=pl.col.accounts,
                exposure=pl.col.exposure.round(6),
                exposures=pl.col.exposures,
                detectors=pl.col.detectors,
                days=pl.col.days,
                talk_s=pl.col.talk_s,
                new_payee=pl.col.new_payee,
                known=pl.col.known,
                payee_account=pl.col.payee_account,
                amount_fen=pl.col.amount_fen,
                factors=pl.col.factors,
            ).struct.json_encode(),
            event_ids=pl.concat_list(pl.col.key),
        )
        return signals_from(df, self.name, ["key"])


def hand_score(s: VictimRiskSettings) -> pl.Expr:
    """The hand-weighted risk of at_risk facts (columns of `fanzha.models.victims.FACTS`)."""
    bonus = (
        pl.when(pl.col.age >= s.old_age)
        .then(s.old_bonus)
        .when(pl.col.age >= s.elderly_age)
        .then(s.elderly_bonus)
        .otherwise(0.0)
        + pl.when(pl.col.days >= 2).then(s.repeat_bonus).otherwise(0.0)
        + pl.when(pl.col.talk_s >= s.long_talk_s).then(s.long_talk_bonus).otherwise(0.0)
    )
    score = (pl.col.exposure + bonus).clip(0.0, 1.0)
    return (
        pl.when(pl.col.new_payee).then(pl.max_horizontal(score, s.score_new_payee)).otherwise(score)
    )


_EXPOSED = {
    "person": pl.String,
    "seq": pl.Int64,
    "ts": pl.Datetime("ms", "UTC"),
    "signal_id": pl.String,
    "detector": pl.String,
    "via": pl.String,
    "via_kind": pl.String,
    "channel": pl.String,
    "score": pl.Float64,
    "duration_s": pl.Int64,
    "fraud_type": pl.String,
    "evidence": pl.String,
    "contact_ts": pl.Datetime("ms", "UTC"),
}


def _exposed(t: pa.Table | None) -> pl.DataFrame:
    """Upstream signals with role "exposed" on a phone, with what the details say."""
    if t is None or t.num_rows == 0:
        return pl.DataFrame(schema=_EXPOSED)
    d = pl.from_arrow(t).filter(
        (pl.col.entity_kind == "phone")
        & (pl.col.details.str.json_path_match("$.role") == "exposed")
    )
    field_ = pl.col.details.str.json_path_match
    return d.select(
        person=pl.col.entity,
        seq=pl.col.seq,
        ts=pl.col.ts,
        signal_id=pl.col.signal_id,
        detector=pl.col.detector,
        via=field_("$.via").fill_null(pl.col.signal_id),
        via_kind=field_("$.via_kind"),
        channel=field_("$.channel"),
        score=pl.col.score,
        duration_s=field_("$.duration_s").cast(pl.Int64, strict=False).fill_null(0),
        fraud_type=pl.col.fraud_type,
        evidence=pl.col.evidence,
        contact_ts=pl.coalesce(
            field_("$.contact_ts_ms").cast(pl.Int64, strict=False).cast(pl.Datetime("ms", "UTC")),
            pl.col.ts,
        ),
    ).cast(_EXPOSED)  # type: ignore[arg-type]


_TRANSFER = {
    "seq": pl.Int64,
    "ts": pl.Datetime("ms", "UTC"),
    "event_id": pl.String,
    "payer_phone": pl.String,
    "payer_account": pl.String,
    "payee_account": pl.String,
    "amount_fen": pl.Int64,
}


def _transfers(t: pa.Table | None) -> pl.DataFrame:
    if t is None or t.num_rows == 0:
        return pl.DataFrame(schema=_TRANSFER)
    return (
        pl.from_arrow(t)
        .select(list(_TRANSFER))
        .filter(pl.col.payer_phone.is_not_null())
        .cast(_TRANSFER)  # type: ignore[arg-type]
    )
