"""Contact with a confirmed fraud number: whoever a listed number calls or texts, or who calls it.

Fraud caught: every impersonation, customer-service and loan script starts with a call or an SMS.
Seed 003: once police confirm a number, 12381 finds everyone it has called or is calling and warns
them within seconds; the people still on the line are the most urgent (Xiamen: "秒级响应").
Looks at: call and sms events in both directions (an answered long call scores highest; a person
who calls or texts the number is at least as exposed); report events in which police or the centre
confirm (`verdict=confirm`) or clear (`verdict=clear`) a phone number. When a number is confirmed
it looks back over the log (`lookback_days`) for the contacts it made before, as 12381 does; each
contact is signalled once, by the first confirmation that covers it.
Cannot see: calls over OTT apps (WeChat/QQ voice), or numbers spoofed to look like others.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl
import pyarrow as pa

from fanzha.engine.protocol import Batch, Lookup, State, empty_signals, history_key, signals_from
from fanzha.events import TS_TYPE

CHANGES_SCHEMA = pa.schema(
    [
        pa.field("number", pa.string()),
        pa.field("status", pa.string()),
        pa.field("fraud_type", pa.string()),
        pa.field("by", pa.string()),
        pa.field("seq", pa.int64()),
        pa.field("ts", TS_TYPE),
    ]
)


@dataclass(frozen=True)
class FraudContactSettings:
    long_call_s: int = 60  # an answered call this long: the script was heard
    score_long_call: float = 0.9
    score_answered: float = 0.7
    score_unanswered: float = 0.4
    score_sms: float = 0.6
    score_called_back: float = 0.85  # the person dialled or texted the fraud number
    lookback_days: float = 7.0  # how far back a confirmation looks for earlier contacts
    confirmers: tuple[str, ...] = ("police", "centre")


@dataclass(frozen=True)
class FraudContact:
    """Signals for the people a confirmed fraud number contacts (or who contact it)."""

    settings: FraudContactSettings = field(default_factory=FraudContactSettings)
    name: ClassVar[str] = "fraud_contact"
    kinds: ClassVar[tuple[str, ...]] = ("call", "sms", "report")

    def initial_state(self) -> State:
        return {"changes": CHANGES_SCHEMA.empty_table()}

    @property
    def _window(self) -> dt.timedelta:
        return dt.timedelta(days=self.settings.lookback_days)

    def lookups(self, batch: Batch, state: State) -> list[Lookup]:
        new = _changes(batch.get("report"), self.settings.confirmers).filter(
            pl.col.status == "confirmed"
        )
        if new.height == 0:
            return []
        numbers = tuple(sorted(set(new["number"].to_list())))
        since = new["ts"].min() - self._window
        return [
            Lookup("call", ("caller", "callee"), numbers, since),
            Lookup("sms", ("sender", "receiver"), numbers, since),
        ]

    def step(self, batch: Batch, state: State) -> tuple[pa.Table, State]:
        old = pl.from_arrow(state["changes"])
        new = _changes(batch.get("report"), self.settings.confirmers)
        if new.height == 0 and old.height == 0:
            return empty_signals(), state
        changes = pl.concat([old, new]).sort("seq")
        forward = _status_at(
            _contacts(batch).filter(pl.col.number.is_in(changes["number"].implode())), changes
        ).filter(pl.col.status == "confirmed")
        back = self._looked_back(batch, changes, new)
        hits = pl.concat([forward.with_columns(found=pl.lit("contact")), back], how="diagonal")
        signals = self._signals(hits)
        if new.height == 0:
            return signals, state
        return signals, {"changes": changes.to_arrow().cast(CHANGES_SCHEMA)}

    def _looked_back(self, batch: Batch, changes: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
        """Contacts logged before a confirmation in this batch and not signalled yet."""
        confirmed = new.filter(pl.col.status == "confirmed")
        past = _contacts(
            {"call": batch.get(history_key("call")), "sms": batch.get(history_key("sms"))}
        )
        if confirmed.height == 0 or past.height == 0:
            return pl.DataFrame()
        win = self._window
        conf = confirmed.select(
            "number", conf_seq="seq", conf_ts="ts", c_type="fraud_type", c_by="by"
        )
        cand = past.join(conf, on="number").filter(
            (pl.col.seq < pl.col.conf_seq) & (pl.col.ts >= pl.col.conf_ts - win)
        )
        if cand.height == 0:
            return pl.DataFrame()
        # signalled already when it happened (the number was confirmed then) ...
        cand = _status_at(cand, changes).filter(pl.col.status.ne_missing("confirmed"))
        # ... or by the look-back of an earlier confirmation of the same number
        earlier = changes.filter(pl.col.status == "confirmed").select(
            "number", e_seq="seq", e_ts="ts"
        )
        covered = (
            cand.join(earlier, on="number")
            .filter(
                (pl.col.e_seq < pl.col.conf_seq)
                & (pl.col.seq < pl.col.e_seq)
                & (pl.col.ts >= pl.col.e_ts - win)
            )
            .select("event_id", "channel", "conf_seq")
            .unique()
        )
        cand = cand.join(covered, on=["event_id", "channel", "conf_seq"], how="anti")
        # the first confirmation in this batch that covers a contact is the one that signals it
        cand = cand.sort("conf_seq").unique(["event_id", "channel"], keep="first")
        return cand.with_columns(
            seq=pl.col.conf_seq,
            ts=pl.max_horizontal("ts", "conf_ts"),
            fraud_type=pl.col.c_type,
            by=pl.col.c_by,
            listed_seq=pl.col.conf_seq,
            found=pl.lit("look-back"),
        ).drop("status", "conf_seq", "conf_ts", "c_type", "c_by")

    def _signals(self, hits: pl.DataFrame) -> pa.Table:
        s = self.settings
        if hits.height == 0:
            return empty_signals()
        long = pl.col.duration_s >= s.long_call_s
        score = (
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
        df = hits.with_columns(
            entity_kind=pl.lit("phone"),
            entity=pl.col.person,
            score=score,
            evidence=pl.col.person
            + " "
            + what
            + pl.col.number
            + ", a fraud number confirmed by "
            + pl.col.by
            + pl.when(pl.col.fraud_type.is_not_null())
            .then(pl.lit(" (") + pl.col.fraud_type + ")")
            .otherwise(pl.lit(""))
            + pl.when(pl.col.found == "look-back")
            .then(pl.lit("; the contact came before the confirmation"))
            .otherwise(pl.lit("")),
            details=pl.struct(
                role=pl.lit("exposed"),
                via=pl.col.number,
                via_kind=pl.lit("phone"),
                channel=pl.col.channel,
                contact_ts_ms=pl.col.contact_ts.dt.epoch("ms"),
                duration_s=pl.col.duration_s,
                found=pl.col.found,
            ).struct.json_encode(),
            event_ids=pl.concat_list(pl.col.event_id),
        )
        return signals_from(df, self.name, ["event_id", "channel"])


def _changes(reports: pa.Table | None, confirmers: tuple[str, ...]) -> pl.DataFrame:
    """Confirmations and clearances of phone numbers by police or the centre."""
    empty = pl.from_arrow(CHANGES_SCHEMA.empty_table())
    if reports is None or reports.num_rows == 0:
        return empty
    r = pl.from_arrow(reports)
    out = r.filter(
        (pl.col.target_kind == "phone")
        & pl.col.reporter_kind.is_in(list(confirmers))
        & pl.col.verdict.is_in(["confirm", "clear"])
    ).select(
        number=pl.col.target_value,
        status=pl.when(pl.col.verdict == "confirm")
        .then(pl.lit("confirmed"))
        .otherwise(pl.lit("cleared")),
        fraud_type=pl.col.fraud_type,
        by=pl.col.reporter_kind,
        seq=pl.col.seq,
        ts=pl.col.ts,
    )
    return out.cast(dict(empty.schema))


def _status_at(contacts: pl.DataFrame, changes: pl.DataFrame) -> pl.DataFrame:
    """Each contact with the number's listing status as of the contact's log position."""
    listing = changes.select("seq", "number", "status", "fraud_type", "by", listed_seq=pl.col.seq)
    return (
        contacts.drop("fraud_type", "by", "status", "listed_seq", strict=False)
        .sort("seq")
        .join_asof(listing, on="seq", by="number", strategy="backward", check_sortedness=False)
    )


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
