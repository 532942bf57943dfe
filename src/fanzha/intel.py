"""Fraud intelligence: what is known about a number, URL, domain, app or account, from the log.

Intelligence is not a separate mutable list: it is a fold over facts in the log, so it can always
be rebuilt and explained, and the streaming detectors see exactly the same facts in the same
order. Facts are `report` events (citizens' reports; police and centre confirmations and
clearances; banks', operators' and platforms' reports) and detectors' signals with
`details.role = "suspect"` (a detector found the value suspicious).

Status of a value after each fact, in log order:
- confirmed / cleared: the last confirmation or clearance by police or the centre decides, and
  nothing else changes it (cleared values stop alerting, whatever citizens or detectors say later);
- suspected: reports from `suspect_after_reporters` independent citizens, or one report from a
  bank, operator, platform, the police or the centre, or a detector's suspicion;
- reported: anything less.
Each status expires `<status>_days` after the fact that last supported it (phone numbers are
recycled, fraud sites move): a detector alerts on a value only while its status is alerting and
not expired, at the event time of the contact.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from fanzha import ids
from fanzha.events import TS_TYPE
from fanzha.ingest.validate import host_of

if TYPE_CHECKING:
    from fanzha.store import Store

STATUSES = ("reported", "suspected", "confirmed", "cleared")
ALERTING = ("suspected", "confirmed")

FACT_SCHEMA = pa.schema(
    [
        pa.field("kind", pa.string()),  # phone, url, domain, app, account, bank_account
        pa.field("value", pa.string()),
        pa.field("by", pa.string()),  # reporter kind (citizen, police, ...) or "detector"
        pa.field("source", pa.string()),  # who exactly: reporter kind, or the detector's name
        pa.field("reporter", pa.string()),  # reporter's phone or id; the detector's name
        pa.field("verdict", pa.string()),  # report, confirm, clear, suspect
        pa.field("fraud_type", pa.string()),
        pa.field("score", pa.float64()),  # a detector's score; null for reports
        pa.field("text", pa.string()),
        pa.field("seq", pa.int64()),
        pa.field("ts", TS_TYPE),
        pa.field("event_id", pa.string()),  # the report's event id, or the signal's id
    ]
)


@dataclass(frozen=True)
class IntelSettings:
    suspect_after_reporters: int = 3  # independent citizens whose reports make a value suspected
    confirmers: tuple[str, ...] = ("police", "centre")
    institutions: tuple[str, ...] = ("bank", "operator", "platform")  # one report: suspected
    reported_days: float = 30.0
    suspected_days: float = 30.0
    confirmed_days: float = 180.0  # operators recycle cancelled numbers after months
    cleared_days: float = 365.0
    suspected_confidence: float = 0.6  # an institution's or detector's suspicion (a detector's
    # higher score raises it)
    citizens_confidence: float = 0.4  # suspected on citizens' reports alone: couriers and
    # telesales get reported as harassment too, so their callees should hear little of it


def normalize_target(kind: str, value: str) -> str:
    """The form a target is stored in (the same normalisation ingest applies)."""
    if kind == "phone":
        return ids.phone.parse(value).value
    if kind == "domain":
        return host_of(value)
    return value.strip()


def _empty_facts() -> pl.DataFrame:
    return pl.from_arrow(FACT_SCHEMA.empty_table())  # type: ignore[return-value]


def facts_from_reports(
    reports: pa.Table | pl.DataFrame | None, kinds: tuple[str, ...] = ()
) -> pl.DataFrame:
    """Report events (of the given target kinds; all if none given) as facts."""
    if reports is None:
        return _empty_facts()
    r = pl.from_arrow(reports) if isinstance(reports, pa.Table) else reports
    assert isinstance(r, pl.DataFrame)
    if r.height == 0:
        return _empty_facts()
    if kinds:
        r = r.filter(pl.col.target_kind.is_in(list(kinds)))
    out = r.select(
        kind=pl.col.target_kind,
        value=pl.col.target_value,
        by=pl.col.reporter_kind,
        source=pl.col.reporter_kind,
        reporter=pl.col.reporter,
        verdict=pl.col.verdict.fill_null("report"),
        fraud_type=pl.col.fraud_type,
        score=pl.lit(None, pl.Float64),
        text=pl.col.text,
        seq=pl.col.seq,
        ts=pl.col.ts,
        event_id=pl.col.event_id,
    )
    return out.cast(dict(_empty_facts().schema))  # type: ignore[arg-type]


def facts_from_signals(
    signals: pa.Table | pl.DataFrame | None, kinds: tuple[str, ...] = ()
) -> pl.DataFrame:
    """Detectors' suspicions (signals with details.role = "suspect") as facts."""
    if signals is None:
        return _empty_facts()
    s = pl.from_arrow(signals) if isinstance(signals, pa.Table) else signals
    assert isinstance(s, pl.DataFrame)
    if s.height == 0:
        return _empty_facts()
    s = s.filter(pl.col.details.str.json_path_match("$.role") == "suspect")
    if kinds:
        s = s.filter(pl.col.entity_kind.is_in(list(kinds)))
    out = s.select(
        kind=pl.col.entity_kind,
        value=pl.col.entity,
        by=pl.lit("detector"),
        source=pl.col.detector,
        reporter=pl.col.detector,
        verdict=pl.lit("suspect"),
        fraud_type=pl.col.fraud_type,
        score=pl.col.score,
        text=pl.col.evidence,
        seq=pl.col.seq,
        ts=pl.col.ts,
        event_id=pl.col.signal_id,
    )
    return out.cast(dict(_empty_facts().schema))  # type: ignore[arg-type]


def transitions(facts: pl.DataFrame, s: IntelSettings = IntelSettings()) -> pl.DataFrame:
    """Every fact with the value's status after it (in log order per kind and value).

    Adds: status, status_source (who set the current status), confidence, reporters (independent
    citizens so far), fraud_type (the latest known), expires_ts, changed (the status changed).
    """
    key = ["kind", "value"]
    f = facts.sort("seq")
    conf = list(s.confirmers)
    inst = list(s.institutions)
    is_verdict = pl.col.by.is_in(conf) & pl.col.verdict.is_in(["confirm", "clear"])
    citizen_report = ~pl.col.by.is_in([*conf, *inst, "detector"]) & pl.col.verdict.is_in(
        ["report", "confirm"]
    )
    strong = (pl.col.verdict == "suspect") | (
        pl.col.by.is_in([*conf, *inst]) & pl.col.verdict.is_in(["report", "confirm"]) & ~is_verdict
    )
    rkey = pl.coalesce(pl.col.reporter, pl.lit("anonymous:") + pl.col.event_id)
    f = f.with_columns(
        _rkey=pl.when(citizen_report).then(rkey),
        _verdict=pl.when(is_verdict).then(
            pl.when(pl.col.verdict == "confirm")
            .then(pl.lit("confirmed"))
            .otherwise(pl.lit("cleared"))
        ),
        _vts=pl.when(is_verdict).then(pl.col.ts),
        _strong=strong.cast(pl.Int8),
        _dscore=pl.when(pl.col.verdict == "suspect").then(pl.col.score),
    )
    f = f.with_columns(
        reporters=(pl.col._rkey.is_not_null() & pl.col._rkey.is_first_distinct())
        .cast(pl.Int64)
        .cum_sum()
        .over(key),
        _verdict=pl.col._verdict.forward_fill().over(key),
        _vts=pl.col._vts.forward_fill().over(key),
        _strong=pl.col._strong.cum_max().over(key),
        _dscore=pl.col._dscore.cum_max().over(key),
        fraud_type=pl.col.fraud_type.forward_fill().over(key),
    )
    status = (
        pl.when(pl.col._verdict.is_not_null())
        .then(pl.col._verdict)
        .when((pl.col._strong > 0) | (pl.col.reporters >= s.suspect_after_reporters))
        .then(pl.lit("suspected"))
        .otherwise(pl.lit("reported"))
    )
    f = f.with_columns(status=status)
    days = (
        pl.when(pl.col.status == "confirmed")
        .then(s.confirmed_days)
        .when(pl.col.status == "cleared")
        .then(s.cleared_days)
        .when(pl.col.status == "suspected")
        .then(s.suspected_days)
        .otherwise(s.reported_days)
    )
    anchor = (
        pl.when(pl.col.status.is_in(["confirmed", "cleared"]))
        .then(pl.col._vts)
        .otherwise(pl.col.ts)
    )
    confidence = (
        pl.when(pl.col.status == "confirmed")
        .then(1.0)
        .when(pl.col.status == "cleared")
        .then(0.0)
        .when((pl.col.status == "suspected") & (pl.col._strong > 0))
        .then(pl.max_horizontal(pl.lit(s.suspected_confidence), pl.col._dscore.fill_null(0.0)))
        .when(pl.col.status == "suspected")
        .then(s.citizens_confidence)
        .otherwise(pl.min_horizontal(pl.lit(0.5), 0.1 + 0.1 * pl.col.reporters.clip(1)))
    )
    label = pl.when(pl.col.by == "detector").then(pl.col.source).otherwise(pl.col.by)
    f = f.with_columns(
        expires_ts=anchor + pl.duration(milliseconds=(days * 86_400_000).cast(pl.Int64)),
        confidence=confidence,
        changed=pl.col.status.ne_missing(pl.col.status.shift(1).over(key)),
    )
    f = f.with_columns(
        status_source=pl.when(pl.col.changed).then(label).forward_fill().over(key),
    )
    return f.drop("_rkey", "_verdict", "_vts", "_strong", "_dscore")


LISTING_SCHEMA = transitions(_empty_facts()).to_arrow().schema


def update(
    facts: pa.Table, listings: pa.Table, new: pl.DataFrame, s: IntelSettings
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(all facts, all listings) after new facts: only the values they touch are folded again,
    so a detector's step costs what its new facts cost, not what the whole list does."""
    old_f = pl.from_arrow(facts)
    old_l = pl.from_arrow(listings)
    assert isinstance(old_f, pl.DataFrame) and isinstance(old_l, pl.DataFrame)
    if new.height == 0:
        return old_f, old_l
    new = new.select(old_f.columns).cast(dict(old_f.schema))  # type: ignore[arg-type]
    key = ["kind", "value"]
    touched = new.select(key).unique()
    all_f = pl.concat([old_f, new]).sort("seq", "event_id")
    again = transitions(all_f.join(touched, on=key, how="semi"), s)
    kept = old_l.join(touched, on=key, how="anti")
    lst = pl.concat([kept, again.select(old_l.columns).cast(dict(old_l.schema))])  # type: ignore[arg-type]
    return all_f, lst.sort("seq", "event_id")


def alerting(status: pl.Expr, expires: pl.Expr, at: pl.Expr) -> pl.Expr:
    """The listing counts at event time `at`: suspected or confirmed, and not expired."""
    return status.is_in(list(ALERTING)).fill_null(False) & (at <= expires).fill_null(False)


def status_at(events: pl.DataFrame, listings: pl.DataFrame, on: str) -> pl.DataFrame:
    """Each event with its value's listing as of the event's log position.

    `events` has seq, ts and the column `on` (the value); `listings` is `transitions()` output
    for one kind. Adds l_status, l_fraud_type, l_source, l_confidence, l_expires, l_seq and
    `listed` (alerting and not expired at the event's time).
    """
    lst = listings.select(
        "seq",
        pl.col.value.alias(on),
        l_status=pl.col.status,
        l_fraud_type=pl.col.fraud_type,
        l_source=pl.col.status_source,
        l_confidence=pl.col.confidence,
        l_expires=pl.col.expires_ts,
        l_seq=pl.col.seq,
    ).sort("seq")
    out = events.sort("seq").join_asof(
        lst, on="seq", by=on, strategy="backward", check_sortedness=False
    )
    return out.with_columns(listed=alerting(pl.col.l_status, pl.col.l_expires, pl.col.ts))


def _rank(status: pl.Expr) -> pl.Expr:
    return pl.when(status == "confirmed").then(2).when(status == "suspected").then(1).otherwise(0)


_RANK = _rank(pl.col.status)


def looked_back(
    past: pl.DataFrame, listings: pl.DataFrame, new_seqs: pl.Series, on: str, window: dt.timedelta
) -> pl.DataFrame:
    """Events logged before a value became alerting (a fact in this batch), not signalled yet.

    12381's look-back: when a number (URL, app) is confirmed or suspected, the people it reached
    in the `window` before are found in the log. An event is signalled once per listing level
    (suspected, then confirmed): not if the value was already listed at least as high at its
    time (it was signalled then), nor if an earlier listing at least as high covered it in its
    look-back; the first fact of this batch that covers it signals it. `past` needs a unique
    `_key` per event; returns those events with the trigger's columns: t_seq, t_ts, t_status,
    t_fraud_type, t_source, t_confidence.
    """
    trig = listings.filter(
        pl.col.seq.is_in(new_seqs.implode()) & pl.col.status.is_in(list(ALERTING))
    )
    if trig.height == 0 or past.height == 0:
        return pl.DataFrame()
    t = trig.select(
        pl.col.value.alias(on),
        t_seq="seq",
        t_ts="ts",
        t_status="status",
        t_rank=_RANK,
        t_fraud_type="fraud_type",
        t_source="status_source",
        t_confidence="confidence",
    )
    cand = past.join(t, on=on).filter(
        (pl.col.seq < pl.col.t_seq) & (pl.col.ts >= pl.col.t_ts - window)
    )
    if cand.height == 0:
        return pl.DataFrame()
    rank_then = pl.when(pl.col.listed).then(_rank(pl.col.l_status)).otherwise(0)
    cand = status_at(cand, listings, on).filter(rank_then < pl.col.t_rank)
    earlier = listings.filter(pl.col.status.is_in(list(ALERTING))).select(
        pl.col.value.alias(on), e_seq="seq", e_ts="ts", e_rank=_RANK
    )
    covered = (
        cand.join(earlier, on=on)
        .filter(
            (pl.col.e_seq < pl.col.t_seq)
            & (pl.col.seq < pl.col.e_seq)
            & (pl.col.ts >= pl.col.e_ts - window)
            & (pl.col.e_rank >= pl.col.t_rank)
        )
        .select("_key", "t_seq")
        .unique()
    )
    cand = cand.join(covered, on=["_key", "t_seq"], how="anti")
    return (
        cand.sort("t_seq")
        .unique(["_key", "t_rank"], keep="first")  # once per level: suspected, then confirmed
        .drop(
            "l_status",
            "l_fraud_type",
            "l_source",
            "l_confidence",
            "l_expires",
            "l_seq",
            "listed",
            "t_rank",
        )
    )


# --- entries: what `fanzha intel` shows -----------------------------------------------------


@dataclass
class IntelEntry:
    kind: str
    value: str
    status: str
    fraud_type: str | None
    source: str | None
    confidence: float
    first_seen: dt.datetime
    last_seen: dt.datetime
    expires: dt.datetime
    reports: int
    reporters: int
    history: list[dict[str, Any]] = field(default_factory=list)

    def active(self, at: dt.datetime) -> bool:
        return self.status in ALERTING and at <= self.expires

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def explain(self, at: dt.datetime | None = None) -> list[str]:
        lines = [
            f"{self.kind} {self.value}: {self.status}"
            + (f" ({self.fraud_type})" if self.fraud_type else "")
            + (f" by {self.source}" if self.source else "")
            + f", confidence {self.confidence:.2f}"
        ]
        when = "expired" if at is not None and at > self.expires else "expires"
        lines.append(
            f"  {self.reports} report(s) from {self.reporters} independent citizen(s); first "
            f"seen {self.first_seen:%Y-%m-%d %H:%M} UTC, last seen {self.last_seen:%Y-%m-%d %H:%M}"
            f" UTC; {when} {self.expires:%Y-%m-%d %H:%M} UTC"
        )
        if self.status in ALERTING and when == "expired":
            lines.append("  no longer alerting: the listing expired")
        if self.status == "cleared":
            lines.append("  not alerting: cleared by " + (self.source or "police"))
        for h in self.history:
            arrow = f"-> {h['status']}" if h["changed"] else "   (no change)"
            lines.append(
                f"  {h['ts']:%Y-%m-%d %H:%M} {h['source']:<14} {h['verdict']:<8} {arrow}"
                + (f"  {h['text'][:120]}" if h.get("text") else "")
            )
        return lines


def entries(trans: pl.DataFrame) -> pl.DataFrame:
    """One row per value: its current status and counts (from `transitions()` output)."""
    if trans.height == 0:
        return pl.DataFrame(
            schema={
                "kind": pl.String,
                "value": pl.String,
                "status": pl.String,
                "fraud_type": pl.String,
                "source": pl.String,
                "confidence": pl.Float64,
                "first_seen": pl.Datetime("ms", "UTC"),
                "last_seen": pl.Datetime("ms", "UTC"),
                "expires": pl.Datetime("ms", "UTC"),
                "reports": pl.Int64,
                "reporters": pl.Int64,
            }
        )
    t = trans.sort("seq")
    return (
        t.group_by("kind", "value", maintain_order=True)
        .agg(
            status=pl.col.status.last(),
            fraud_type=pl.col.fraud_type.last(),
            source=pl.col.status_source.last(),
            confidence=pl.col.confidence.last(),
            first_seen=pl.col.ts.min(),
            last_seen=pl.col.ts.max(),
            expires=pl.col.expires_ts.last(),
            reports=(pl.col.by != "detector").sum().cast(pl.Int64),
            reporters=pl.col.reporters.last(),
        )
        .sort("kind", "value")
    )


def entry(kind: str, value: str, trans: pl.DataFrame) -> IntelEntry | None:
    """The entry of one value with its history (from `transitions()` output), or None."""
    mine = trans.filter((pl.col.kind == kind) & (pl.col.value == value)).sort("seq")
    if mine.height == 0:
        return None
    (row,) = entries(mine).to_dicts()
    history = [
        {
            "ts": h["ts"],
            "by": h["by"],
            "source": h["source"],
            "verdict": h["verdict"],
            "status": h["status"],
            "changed": h["changed"],
            "text": h["text"],
            "seq": h["seq"],
        }
        for h in mine.to_dicts()
    ]
    return IntelEntry(**row, history=history)


def store_facts(store: Store, kind: str | None = None, value: str | None = None) -> pl.DataFrame:
    """Every fact in the store (reports and detectors' suspicions), in log order; with `kind`
    and `value`, those about that one value."""
    if kind is not None and value is not None:
        reports = store.find_events("report", target_kind=kind, target_value=value)
        sigs = store.role_signals("suspect", kind, value)
    else:
        reports = store.find_events("report")
        sigs = store.role_signals("suspect")
    return pl.concat([facts_from_reports(reports), facts_from_signals(sigs)]).sort("seq")


def known(store: Store, kind: str, value: str) -> IntelEntry | None:
    """What the store knows about one normalised value, folded into its entry (what `fanzha
    intel check` and the API's check show)."""
    return entry(kind, value, transitions(store_facts(store, kind, value)))
