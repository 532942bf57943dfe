"""Contact with a listed fraud number: whoever a listed number calls or texts, or who calls it.

Fraud caught: every impersonation, customer-service and loan script starts with a call or an SMS.
Seed 003: once police confirm a number, 12381 finds everyone it has called or is calling and warns
them within seconds; the people still on the line are the most urgent (Xiamen: "秒级响应").
Looks at: call and sms events in both directions (an answered long call scores highest; a person
who calls or texts the number is at least as exposed); report events about phone numbers, folded
into the number's intelligence status by `fanzha.intel` (confirmed by police or the centre;
suspected after reports from several citizens or one institution; cleared stops alerting; every
listing expires); and, if `suspect_inputs` names detectors (e.g. the fraud-number model), their
signals with role "suspect" on numbers, which make those numbers suspected. A contact with a
suspected number scores less, in proportion to the listing's confidence.
When a number becomes confirmed or suspected it looks back over the log (`lookback_days`) for the
contacts it made before, as 12381 does; each contact is signalled once, by the first listing that
covers it (a contact signalled under suspicion is signalled again, stronger, when the number is
confirmed). Signals are on the exposed person: role "exposed", via the number.
Cannot see: calls over OTT apps (WeChat/QQ voice), or numbers spoofed to look like others.
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
from fanzha.intel import (
    ALERTING,
    FACT_SCHEMA,
    LISTING_SCHEMA,
    IntelSettings,
    facts_from_reports,
    facts_from_signals,
    looked_back,
    status_at,
    update,
)


@dataclass(frozen=True)
class FraudContactSettings:
    long_call_s: int = 60  # an answered call this long: the script was heard
    score_long_call: float = 0.9
    score_answered: float = 0.7
    score_unanswered: float = 0.4
    score_sms: float = 0.6
    score_called_back: float = 0.85  # the person dialled or texted the fraud number
    lookback_days: float = 7.0  # how far back a new listing looks for earlier contacts
    warn_suspected: bool = True  # contacts with suspected (not only confirmed) numbers
    # detectors whose role=suspect signals list numbers (the policy names them: fraud_url, whose
    # SMS senders of fraud links are suspects, and the fraud-number model)
    suspect_inputs: tuple[str, ...] = ()
    intel: IntelSettings = field(default_factory=IntelSettings)


@dataclass(frozen=True)
class FraudContact:
    """Signals for the people a listed fraud number contacts (or who contact it)."""

    settings: FraudContactSettings = field(default_factory=FraudContactSettings)
    name: ClassVar[str] = "fraud_contact"
    kinds: ClassVar[tuple[str, ...]] = ("call", "sms", "report")

    @property
    def signal_inputs(self) -> tuple[str, ...]:
        return tuple(self.settings.suspect_inputs)

    def initial_state(self) -> State:
        return {"facts": FACT_SCHEMA.empty_table(), "listings": LISTING_SCHEMA.empty_table()}

    @property
    def _window(self) -> dt.timedelta:
        return dt.timedelta(days=self.settings.lookback_days)

    @property
    def _alerting(self) -> tuple[str, ...]:
        return ALERTING if self.settings.warn_suspected else ("confirmed",)

    def _new_facts(self, batch: Batch) -> pl.DataFrame:
        parts = [facts_from_reports(batch.get("report"), ("phone",))]
        for n in self.signal_inputs:
            parts.append(facts_from_signals(batch.get(signals_key(n)), ("phone",)))
        return pl.concat(parts).sort("seq", "event_id")

    def _listings(
        self, batch: Batch, state: State
    ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """(new facts, all facts, listings that alert: other statuses blanked)."""
        new = self._new_facts(batch)
        facts, listings = update(state["facts"], state["listings"], new, self.settings.intel)
        return new, facts, listings

    def lookups(self, batch: Batch, state: State) -> list[Lookup]:
        new = self._new_facts(batch)
        if new.height == 0:
            return []
        _, _, listings = self._listings(batch, state)
        trig = listings.filter(
            pl.col.seq.is_in(new["seq"].implode()) & pl.col.status.is_in(list(self._alerting))
        )
        if trig.height == 0:
            return []
        numbers = tuple(sorted(set(trig["value"].to_list())))
        since = trig["ts"].min() - self._window
        return [
            Lookup("call", ("caller", "callee"), numbers, since),
            Lookup("sms", ("sender", "receiver"), numbers, since),
        ]

    def step(self, batch: Batch, state: State) -> tuple[pa.Table, State]:
        quiet = all(batch.get(k) is None or batch[k].num_rows == 0 for k in ("call", "sms"))
        new, facts, listings = self._listings(batch, state)
        if new.height == 0 and (listings.height == 0 or quiet):
            return empty_signals(), state
        alert_only = listings.with_columns(
            status=pl.when(pl.col.status.is_in(list(self._alerting))).then(pl.col.status)
        )
        contacts = _contacts(batch)
        forward = status_at(
            contacts.filter(pl.col.number.is_in(listings["value"].unique().implode())),
            alert_only,
            "number",
        ).filter(pl.col.listed)
        forward = forward.select(
            *_CONTACTS,
            fraud_type=pl.col.l_fraud_type,
            by=pl.col.l_source,
            status=pl.col.l_status,
            confidence=pl.col.l_confidence,
            found=pl.lit("contact"),
        )
        back = self._looked_back(batch, alert_only, new["seq"])
        signals = self._signals(pl.concat([forward, back], how="diagonal_relaxed"))
        if new.height == 0:
            return signals, state
        return signals, {
            "facts": facts.to_arrow().cast(FACT_SCHEMA),
            "listings": listings.to_arrow().cast(LISTING_SCHEMA),
        }

    def _looked_back(
        self, batch: Batch, listings: pl.DataFrame, new_seqs: pl.Series
    ) -> pl.DataFrame:
        """Contacts logged before a listing in this batch and not signalled yet."""
        past = _contacts(
            {"call": batch.get(history_key("call")), "sms": batch.get(history_key("sms"))}
        )
        if past.height == 0:
            return pl.DataFrame()
        past = past.with_columns(_key=pl.col.event_id + ":" + pl.col.channel)
        hits = looked_back(past, listings, new_seqs, "number", self._window)
        if hits.height == 0:
            return pl.DataFrame()
        # the warning cannot predate the listing that allows it
        return hits.select(
            *[c for c in _CONTACTS if c not in ("seq", "ts")],
            seq=pl.col.t_seq,
            ts=pl.max_horizontal("ts", "t_ts"),
            fraud_type=pl.col.t_fraud_type,
            by=pl.col.t_source,
            status=pl.col.t_status,
            confidence=pl.col.t_confidence,
            found=pl.lit("look-back"),
        )

    def _signals(self, hits: pl.DataFrame) -> pa.Table:
        s = self.settings
        if hits.height == 0:
            return empty_signals()
        long = pl.col.duration_s >= s.long_call_s
        base = (
            pl.when(pl.col.channel.is_in(["call_out", "sms_out"]))
            .then(s.score_called_back)
            .when(pl.col.channel == "sms_in")
            .then(s.score_sms)
            .when(pl.col.answered & long)
            .then(s.score_long_call)
            .when(pl.col.answered)
            .then(s.score_answered)
            .otherwise(s.score_unanswered)
        )
        score = (
            pl.when(pl.col.status == "confirmed")
            .then(base)
            .otherwise(base * pl.col.confidence.fill_null(0.0))
        )
        what = (
            pl.when(pl.col.channel == "call_in")
            .then(
                pl.when(pl.col.answered)
                .then(pl.lit("answered a ") + pl.col.duration_s.cast(pl.String) + " s call from ")
                .otherwise(pl.lit("missed a call from "))
            )
            .when(pl.col.channel == "call_out")
            .then(pl.lit("called "))
            .when(pl.col.channel == "sms_in")
            .then(pl.lit("received an SMS from "))
            .otherwise(pl.lit("sent an SMS to "))
        )
        listing = (
            pl.when(pl.col.status == "confirmed")
            .then(pl.lit(", a fraud number confirmed by "))
            .otherwise(pl.lit(", a number suspected on the word of "))
        )
        df = hits.with_columns(
            entity_kind=pl.lit("phone"),
            entity=pl.col.person,
            score=score.clip(0.0, 1.0),
            evidence=pl.col.person
            + " "
            + what
            + pl.col.number
            + listing
            + pl.col.by.fill_null("?")
            + pl.when(pl.col.fraud_type.is_not_null())
            .then(pl.lit(" (") + pl.col.fraud_type + ")")
            .otherwise(pl.lit(""))
            + pl.when(pl.col.found != "look-back")
            .then(pl.lit(""))
            .when(pl.col.status == "confirmed")
            .then(pl.lit("; the contact came before the confirmation"))
            .otherwise(pl.lit("; the contact came before the suspicion")),
            details=pl.struct(
                role=pl.lit("exposed"),
                via=pl.col.number,
                via_kind=pl.lit("phone"),
                listing=pl.col.status,
                channel=pl.col.channel,
                contact_ts_ms=pl.col.contact_ts.dt.epoch("ms"),
                duration_s=pl.col.duration_s,
                found=pl.col.found,
            ).struct.json_encode(),
            event_ids=pl.concat_list(pl.col.event_id),
        )
        return signals_from(df, self.name, ["event_id", "channel", "status"])


_CONTACTS = {
    "seq": pl.Int64,
    "ts": pl.Datetime("ms", "UTC"),
    "contact_ts": pl.Datetime("ms", "UTC"),
    "event_id": pl.String,
    "number": pl.String,
    "person": pl.String,
    "channel": pl.String,
    "duration_s": pl.Int64,
    "answered": pl.Boolean,
}


# kind -> (party a, party b, channel when a is the listed number, channel when b is)
_PARTIES = {
    "call": ("caller", "callee", "call_in", "call_out"),
    "sms": ("sender", "receiver", "sms_in", "sms_out"),
}


def _contacts(batch: Batch) -> pl.DataFrame:
    """Calls and SMS as (number that may be listed, person exposed to it, channel)."""
    frames = []
    for kind_name, (a, b, a_listed, b_listed) in _PARTIES.items():
        t = batch.get(kind_name)
        if t is None or t.num_rows == 0:
            continue
        df = pl.from_arrow(t)
        if kind_name == "call":
            df = df.with_columns(answered=pl.col.answered.fill_null(pl.col.duration_s > 0))
        else:  # an SMS is delivered whole: "answered", no duration
            df = df.with_columns(duration_s=pl.lit(0, pl.Int64), answered=pl.lit(True))
        for number, person, channel in ((a, b, a_listed), (b, a, b_listed)):
            frames.append(
                df.select(
                    "seq",
                    "ts",
                    "event_id",
                    "duration_s",
                    "answered",
                    number=pl.col(number),
                    person=pl.col(person),
                    channel=pl.lit(channel),
                )
            )
    if not frames:
        return pl.DataFrame(schema=_CONTACTS)
    return (
        pl.concat(frames)
        .with_columns(contact_ts=pl.col.ts)
        .select(list(_CONTACTS))
        .cast(_CONTACTS)
        .filter(pl.col.number != pl.col.person)
    )
