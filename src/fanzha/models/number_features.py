"""Behaviour of a phone number over a sliding window of its calls and SMS, as model features.

Fraud caught: SIM-farm and "customer service" numbers (seed 003: many short outgoing calls to
strangers, many handsets, many counties, almost no incoming calls or SMS, numbers that live only
hours). The features follow the Sichuan contest's per-number features (distinct callees, call-back
rate, duration profile, handsets, counties, hour mix, SMS in/out), computed over the last
`window_hours` of one number's activity instead of a month, so that a number is judged after its
first few calls.

Every call or SMS is split into legs, one per party that is a CN mobile number: the caller's
(outgoing) and the callee's (incoming). A leg's `clock` is the log's event-time watermark when it
was logged (the running maximum of `ts` in log order), so a window is a contiguous run of one
number's legs in log order and the same events give the same windows however the log is cut into
batches. Late events count as arriving at the watermark. Service ports (106…, 955xx), landlines
and foreign numbers are not scored: they are not subscriber lines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute

from fanzha.events import TS_TYPE

_TS = pl.Datetime("ms", "UTC")

# One leg: a number's side of a call or SMS (what the keyed state keeps).
LEG_SCHEMA = pa.schema(
    [
        pa.field("number", pa.string()),
        pa.field("seq", pa.int64()),
        pa.field("ts", TS_TYPE),
        pa.field("clock", TS_TYPE),  # the log's event-time watermark at this leg
        pa.field("out", pa.bool_()),  # the number called or texted (else it was called/texted)
        pa.field("sms", pa.bool_()),
        pa.field("other", pa.string()),
        pa.field("duration_s", pa.int64()),
        pa.field("answered", pa.bool_()),
        pa.field("imei", pa.string()),  # the number's handset (known on outgoing legs)
        pa.field("county", pa.string()),  # county of the number's serving cell
        pa.field("event_id", pa.string()),
    ]
)
LEGS = dict(pl.from_arrow(LEG_SCHEMA.empty_table()).schema)

# The model's inputs, in this order. Counts are over the window; shares are in [0, 1].
FEATURES: tuple[str, ...] = (
    "out_calls",  # outgoing calls
    "in_calls",  # incoming calls
    "out_sms",
    "in_sms",
    "out_share",  # outgoing legs / all legs
    "distinct_out",  # distinct numbers called or texted
    "distinct_in",  # distinct numbers that called or texted it
    "callback_rate",  # of the numbers it contacted, the share that also contacted it
    "calls_per_callee",  # outgoing calls / distinct callees
    "answered_share",  # outgoing calls answered
    "short_share",  # outgoing calls unanswered or under 10 s
    "dur_mean",  # mean talk time of answered outgoing calls (s)
    "dur_max",
    "handsets",  # distinct IMEIs on outgoing legs
    "counties",  # distinct serving-cell counties on outgoing legs
    "night_share",  # outgoing legs between 22:00 and 07:00 local time
    "hours",  # distinct local hours of outgoing legs
    "span_hours",  # time covered by the window's legs
    "out_per_hour",  # outgoing legs per hour of that span (at least half an hour)
)


@dataclass(frozen=True)
class WindowSettings:
    window_hours: float = 24.0  # how far back a number's behaviour is looked at
    max_legs: int = 300  # legs kept per number (the oldest beyond this fall out of the window)
    min_out: int = 3  # outgoing legs in the window before a number is scored at all
    utc_offset_hours: int = 8  # local time for the hour mix (China Standard Time)

    @property
    def window(self) -> dt.timedelta:
        return dt.timedelta(hours=self.window_hours)


MOBILE = r"^1[3-9][0-9]{9}$"

# kind -> (a, b, a's imei, a's county, b's county)
_PARTIES = {
    "call": ("caller", "callee", "caller_imei", "caller_county", "callee_county"),
    "sms": ("sender", "receiver", "sender_imei", "sender_county", "receiver_county"),
}


def watermark(batch: dict[str, pa.Table | None], before: dt.datetime | None) -> pl.DataFrame:
    """seq -> the event-time watermark (running max of ts in log order) over calls and SMS."""
    parts = [
        pl.from_arrow(t.select(["seq", "ts"]))
        for k in _PARTIES
        if (t := batch.get(k)) is not None and t.num_rows
    ]
    if not parts:
        return pl.DataFrame(schema={"seq": pl.Int64, "clock": _TS})
    df = pl.concat(parts).sort("seq")
    clock = pl.col.ts.cum_max()
    if before is not None:
        clock = pl.max_horizontal(clock, pl.lit(before, _TS))
    return df.select("seq", clock=clock.cast(_TS))


def latest(batch: dict[str, pa.Table | None], before: dt.datetime | None) -> dt.datetime | None:
    """The watermark after the batch."""
    out = before
    for k in _PARTIES:
        t = batch.get(k)
        if t is not None and t.num_rows:
            m = pa.compute.max(t["ts"]).as_py()
            out = m if out is None or (m is not None and m > out) else out
    return out


def legs(
    batch: dict[str, pa.Table | None], before: dt.datetime | None, *, clock: bool = True
) -> pl.DataFrame:
    """The batch's calls and SMS as legs of CN mobile numbers (`clock` null unless asked)."""
    frames = []
    for k, (a, b, imei, a_cty, b_cty) in _PARTIES.items():
        t = batch.get(k)
        if t is None or t.num_rows == 0:
            continue
        cols = ["seq", "ts", "event_id", a, b, imei, a_cty, b_cty]
        if k == "call":
            cols += ["duration_s", "answered"]
        df = pl.from_arrow(t.select(cols))
        if k == "call":
            df = df.with_columns(
                duration_s=pl.col.duration_s.fill_null(0),
                answered=pl.col.answered.fill_null(pl.col.duration_s.fill_null(0) > 0),
            )
        else:
            df = df.with_columns(duration_s=pl.lit(0, pl.Int64), answered=pl.lit(True))
        common = {
            "seq": pl.col.seq,
            "ts": pl.col.ts,
            "sms": pl.lit(k == "sms"),
            "duration_s": pl.col.duration_s,
            "answered": pl.col.answered,
            "event_id": pl.col.event_id,
        }
        frames.append(
            df.select(
                **common,
                number=pl.col(a),
                out=pl.lit(True),
                other=pl.col(b),
                imei=pl.col(imei),
                county=pl.col(a_cty),
            )
        )
        frames.append(
            df.select(
                **common,
                number=pl.col(b),
                out=pl.lit(False),
                other=pl.col(a),
                imei=pl.lit(None, pl.String),
                county=pl.col(b_cty),
            )
        )
    if not frames:
        return pl.from_arrow(LEG_SCHEMA.empty_table())
    out = pl.concat(frames, how="vertical_relaxed").filter(
        pl.col.number.str.contains(MOBILE) & (pl.col.number != pl.col.other)
    )
    if clock:
        out = out.join(watermark(batch, before), on="seq", how="left")
    else:
        out = out.with_columns(clock=pl.lit(None, _TS))
    return out.select(LEG_SCHEMA.names).cast(LEGS)


def windows(all_legs: pl.DataFrame, s: WindowSettings) -> pl.DataFrame:
    """For each leg (sorted by number, then log order): `start`, the index of the first leg in
    its window, and `n_out`, the outgoing legs in the window."""
    df = all_legs.with_row_index("i")
    gid = df.select(pl.col.number.rle_id()).to_series().to_numpy().astype(np.int64)
    clock = df["clock"].dt.epoch("ms").to_numpy().astype(np.int64)
    rel = clock - (clock.min() if len(clock) else 0)
    key = gid * 2**40 + rel  # sorted: by number, then clock (non-decreasing in log order)
    w = int(s.window.total_seconds() * 1000)
    i = np.arange(len(df), dtype=np.int64)
    first = np.searchsorted(gid, gid, side="left")
    start = np.searchsorted(key, gid * 2**40 + rel - w, side="right")
    start = np.maximum.reduce([start, first, i - s.max_legs + 1])
    out = df["out"].to_numpy().astype(np.int64)
    cum = np.concatenate([[0], np.cumsum(out)])
    n_out = cum[i + 1] - cum[start]
    return df.with_columns(start=pl.Series(start), n_out=pl.Series(n_out))


def kept(w: pl.DataFrame, now: dt.datetime, s: WindowSettings) -> pl.DataFrame:
    """Legs that a later leg's window can still hold: inside the window of `now` (the
    watermark) and among the number's last `max_legs` (`w` is sorted by number, then log
    order, as `windows` returns it)."""
    gid = w.select(pl.col.number.rle_id()).to_series().to_numpy()
    last = np.searchsorted(gid, gid, side="right") - 1
    recent = (last - np.arange(len(w))) < s.max_legs
    return w.filter(pl.Series(recent) & (pl.col.clock > pl.lit(now, _TS) - s.window)).select(
        LEG_SCHEMA.names
    )


def features(all_legs: pl.DataFrame, rows: np.ndarray, start: np.ndarray, s: WindowSettings):
    """FEATURES of the windows ending at `rows` (indices into `all_legs`, which is sorted by
    number then log order), one row each, in the order of `rows`."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        return pl.DataFrame(schema={"r": pl.Int64, **{f: pl.Float64 for f in FEATURES}})
    lens = rows - start + 1
    offs = np.repeat(np.cumsum(lens) - lens, lens)
    idx = np.repeat(start, lens) + (np.arange(int(lens.sum()), dtype=np.int64) - offs)
    hour = ((pl.col.ts.dt.epoch("ms") // 3_600_000 + s.utc_offset_hours) % 24).cast(pl.Int8)
    out = pl.col.out
    # hashed values: distinct counts over u64 are much cheaper than over strings
    e = all_legs.select(
        "out",
        "sms",
        "duration_s",
        "answered",
        other=pl.col.other.hash(),
        out_other=pl.when(out).then(pl.col.other.hash()),
        in_other=pl.when(~out).then(pl.col.other.hash()),
        out_call_other=pl.when(out & ~pl.col.sms).then(pl.col.other.hash()),
        imei=pl.when(out & pl.col.imei.is_not_null()).then(pl.col.imei.hash()),
        county=pl.when(out & pl.col.county.is_not_null()).then(pl.col.county.hash()),
        hour=pl.when(out).then(hour),
        clock_ms=pl.col.clock.dt.epoch("ms"),
    )[idx].with_columns(r=pl.Series(np.repeat(rows, lens)))
    out_call = out & ~pl.col.sms
    answered_out = out_call & pl.col.answered
    night = out & ((pl.col.hour >= 22) | (pl.col.hour < 7))
    agg = e.group_by("r").agg(
        out_calls=out_call.sum(),
        in_calls=(~out & ~pl.col.sms).sum(),
        out_sms=(out & pl.col.sms).sum(),
        in_sms=(~out & pl.col.sms).sum(),
        n=pl.len(),
        distinct_all=pl.col.other.n_unique(),
        distinct_out=pl.col.out_other.drop_nulls().n_unique(),
        distinct_in=pl.col.in_other.drop_nulls().n_unique(),
        distinct_out_call=pl.col.out_call_other.drop_nulls().n_unique(),
        answered=answered_out.sum(),
        short=(out_call & (~pl.col.answered | (pl.col.duration_s < 10))).sum(),
        dur_sum=pl.when(answered_out).then(pl.col.duration_s).sum(),
        dur_max=pl.when(out_call).then(pl.col.duration_s).max(),
        handsets=pl.col.imei.drop_nulls().n_unique(),
        counties=pl.col.county.drop_nulls().n_unique(),
        night=night.sum(),
        hours=pl.col.hour.drop_nulls().n_unique(),
        span_ms=pl.col.clock_ms.max() - pl.col.clock_ms.min(),
    )
    # numbers it contacted that also contacted it (inclusion-exclusion)
    both = pl.col.distinct_out + pl.col.distinct_in - pl.col.distinct_all
    n_out = pl.col.out_calls + pl.col.out_sms
    f = agg.select(
        "r",
        out_calls="out_calls",
        in_calls="in_calls",
        out_sms="out_sms",
        in_sms="in_sms",
        out_share=n_out / pl.col.n,
        distinct_out="distinct_out",
        distinct_in="distinct_in",
        callback_rate=both / pl.max_horizontal(pl.col.distinct_out, 1),
        calls_per_callee=pl.col.out_calls / pl.max_horizontal(pl.col.distinct_out_call, 1),
        answered_share=pl.col.answered / pl.max_horizontal(pl.col.out_calls, 1),
        short_share=pl.col.short / pl.max_horizontal(pl.col.out_calls, 1),
        dur_mean=pl.col.dur_sum / pl.max_horizontal(pl.col.answered, 1),
        dur_max=pl.col.dur_max.fill_null(0),
        handsets="handsets",
        counties="counties",
        night_share=pl.col.night / pl.max_horizontal(n_out, 1),
        hours="hours",
        span_hours=pl.col.span_ms / 3_600_000,
        out_per_hour=n_out / pl.max_horizontal(pl.col.span_ms / 3_600_000, 0.5),
    )
    # rounded: Polars may divide a long column and a short one in ways that differ in the last
    # bit, and the same window must give the same features in any batch
    f = f.with_columns(pl.exclude("r").cast(pl.Float64).round(6))
    order = pl.DataFrame({"r": rows})
    return order.join(f, on="r", how="left", maintain_order="left")


def offline(calls: pa.Table | None, sms: pa.Table | None, s: WindowSettings) -> pl.DataFrame:
    """Every scorable leg of a whole log at once (for training): number, seq, ts, FEATURES."""
    return scored(legs({"call": calls, "sms": sms}, None).sort("number", "seq"), s)


def scored(lg: pl.DataFrame, s: WindowSettings) -> pl.DataFrame:
    """`offline` on legs sorted by number then log order, that hold every leg of their numbers
    (so a Spark partition of whole numbers gives those numbers' rows): number, seq, ts, FEATURES."""
    w = windows(lg, s)
    rows = w.filter(pl.col.out & (pl.col.n_out >= s.min_out))
    f = features(lg, rows["i"].to_numpy(), rows["start"].to_numpy(), s)
    return pl.concat([rows.select("number", "seq", "ts"), f.drop("r")], how="horizontal")
