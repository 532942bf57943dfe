"""Fraud numbers found from their behaviour, and the people they have reached.

Fraud caught: SIM-farm and fake customer-service numbers (seed 003: many short outgoing calls to
strangers, many handsets and counties, almost no incoming calls or SMS). Such a number is cut
within hours, and police confirm it later still, so waiting for the confirmation (`fraud_contact`)
warns most of its targets after they have paid; suspecting it from its first calls is what lets
the people it reached be warned in time.
Looks at: call and sms events. For each CN mobile number, the features of
`fanzha.models.number_features` over the last `window_hours` of its calls and SMS (keyed state:
the number's recent legs); after `min_out` outgoing calls or SMS in the window, every outgoing
one is scored by the LightGBM fraud-number model (`settings.model`, else the model shipped with
fanzha, trained on a simulated city). The first time a number's score reaches the threshold it
emits a signal on the number (`role: suspect`, intelligence), then one signal on every person the
number called or texted, or who called or texted it (`role: exposed`): the contacts before the
suspicion found by looking back over the log (`lookback_days`), the later ones as they happen.
Cannot see: calls over OTT apps, spoofed caller ids, landlines and service ports (not scored),
numbers that stay quiet (fewer than `min_out` outgoing contacts in a window), and a fraud number
that behaves like a person (one handset, one place, few calls).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pyarrow as pa

from fanzha.engine.protocol import Batch, Lookup, State, empty_signals, history_key, signals_from
from fanzha.errors import FanzhaError
from fanzha.events import TS_TYPE
from fanzha.models import number_features as nf
from fanzha.models.numbers import NumbersModel

SHIPPED_MODEL = "fraud_numbers_sim.json"

SUSPECTS_SCHEMA = pa.schema(
    [
        pa.field("number", pa.string()),
        pa.field("seq", pa.int64()),
        pa.field("ts", TS_TYPE),
        pa.field("score", pa.float64()),
    ]
)
CLOCK_SCHEMA = pa.schema([pa.field("clock", TS_TYPE)])
_TS = pl.Datetime("ms", "UTC")


@dataclass(frozen=True)
class FraudNumberSettings:
    model: str | None = None  # a model file from `fanzha model train-numbers`; None = shipped
    threshold: float | None = None  # None = the threshold chosen when the model was trained
    window_hours: float = 24.0
    max_legs: int = 300
    min_out: int = 3
    utc_offset_hours: int = 8
    lookback_days: float = 3.0  # how far back a new suspicion looks for the people it reached
    long_call_s: int = 60
    score_long_call: float = 0.9
    score_answered: float = 0.7
    score_unanswered: float = 0.4
    score_sms: float = 0.6
    score_called_back: float = 0.85

    @property
    def window(self) -> nf.WindowSettings:
        return nf.WindowSettings(
            self.window_hours, self.max_legs, self.min_out, self.utc_offset_hours
        )


def load_model(path: str | None) -> NumbersModel:
    """The model a detector uses: a file, or the one shipped in the package."""
    if path is None:
        text = resources.files("fanzha.models").joinpath(SHIPPED_MODEL).read_text("utf-8")
        model = NumbersModel.from_text(text, f"shipped model {SHIPPED_MODEL}")
    else:
        model = NumbersModel.load(path)
    if model.source != "events" or model.features != nf.FEATURES:
        raise FanzhaError(
            f"{path or SHIPPED_MODEL}: a fraud-number model trained on call events is needed "
            f"(this one was trained on {model.source} features)"
        )
    return model


@dataclass(frozen=True)
class FraudNumber:
    """Suspects numbers that call like a SIM farm; signals them and the people they reached."""

    settings: FraudNumberSettings = field(default_factory=FraudNumberSettings)
    name: ClassVar[str] = "fraud_number"
    kinds: ClassVar[tuple[str, ...]] = ("call", "sms")
    _model: NumbersModel = field(init=False, repr=False, compare=False)
    _memo: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_model", load_model(self.settings.model))
        object.__setattr__(self, "_memo", {})

    @property
    def threshold(self) -> float:
        t = self.settings.threshold
        return self._model.threshold if t is None else t

    def initial_state(self) -> State:
        return {
            "legs": nf.LEG_SCHEMA.empty_table(),
            "clock": CLOCK_SCHEMA.empty_table(),
            "suspects": SUSPECTS_SCHEMA.empty_table(),
        }

    # --- windows and scores ------------------------------------------------------------------
    def _analyse(self, batch: Batch, state: State) -> tuple[pl.DataFrame, ...]:
        """The legs of the numbers in the batch (kept + new) sorted by number and log order, with
        their windows; the numbers suspected in this batch (their first leg at or over the
        threshold); the watermark after the batch; the kept legs of the other numbers.
        `lookups` and `step` see the same batch and state, so the answer is remembered for the
        next call (a memo keyed by the very same tables)."""
        key = (batch.get("call"), batch.get("sms"), state["legs"], state["suspects"])
        memo = self._memo.get("last")
        if memo is not None and all(a is b for a, b in zip(memo[0], key, strict=True)):
            return memo[1]
        clock = state["clock"]
        before = clock["clock"][0].as_py() if clock.num_rows else None
        new = nf.legs(dict(batch), before).with_columns(new=pl.lit(True))
        kept = pl.from_arrow(state["legs"])
        touched = kept["number"].is_in(new["number"].unique().implode())
        old = kept.filter(touched).with_columns(new=pl.lit(False))
        all_legs = pl.concat([old, new]).sort("number", "seq", maintain_order=True)
        w = nf.windows(all_legs, self.settings.window)
        suspects = pl.from_arrow(state["suspects"])["number"]
        rows = w.filter(
            pl.col.new
            & pl.col.out
            & (pl.col.n_out >= self.settings.min_out)
            & ~pl.col.number.is_in(suspects.implode())
        )
        out = (w, self._suspect(w, rows), nf.latest(dict(batch), before), kept.filter(~touched))
        self._memo["last"] = (key, out)
        return out

    def lookups(self, batch: Batch, state: State) -> list[Lookup]:
        if not any((t := batch.get(k)) is not None and t.num_rows for k in self.kinds):
            return []
        found = self._analyse(batch, state)[1]
        if found.height == 0:
            return []
        numbers = tuple(sorted(set(found["number"].to_list())))
        since = found["ts"].min() - dt.timedelta(days=self.settings.lookback_days)
        return [
            Lookup("call", ("caller", "callee"), numbers, since),
            Lookup("sms", ("sender", "receiver"), numbers, since),
        ]

    def step(self, batch: Batch, state: State) -> tuple[pa.Table, State]:
        if not any((t := batch.get(k)) is not None and t.num_rows for k in self.kinds):
            return empty_signals(), state
        w, found, now, idle = self._analyse(batch, state)
        old = pl.from_arrow(state["suspects"])
        suspects = pl.concat([old, found.select(SUSPECTS_SCHEMA.names)]).cast(
            dict(pl.from_arrow(SUSPECTS_SCHEMA.empty_table()).schema)
        )
        exposed = self._exposed(batch, w.filter(pl.col.new), suspects, found)
        signals = pa.concat_tables([self._suspect_signals(found), self._exposed_signals(exposed)])
        # the other numbers' legs only age; the batch's numbers are also capped to max_legs
        legs = pl.concat(
            [
                idle.filter(pl.col.clock > pl.lit(now, _TS) - self.settings.window.window),
                nf.kept(w, now, self.settings.window),
            ]
        )
        return signals, {
            "legs": legs.to_arrow().cast(nf.LEG_SCHEMA),
            "clock": pa.table({"clock": pa.array([now], TS_TYPE)}),
            "suspects": suspects.sort("seq").to_arrow().cast(SUSPECTS_SCHEMA),
        }

    # --- scoring ---------------------------------------------------------------------------
    def _suspect(self, w: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
        """The first scored leg of each number whose score reaches the threshold."""
        if rows.height == 0:
            return pl.DataFrame(
                schema={"number": pl.String, "seq": pl.Int64, "ts": _TS, "score": pl.Float64}
            )
        feats = nf.features(
            w.drop("new"), rows["i"].to_numpy(), rows["start"].to_numpy(), self.settings.window
        )
        x = feats.select(nf.FEATURES).to_numpy()
        scored = pl.concat(
            [rows.select("number", "seq", "ts"), feats.drop("r")], how="horizontal"
        ).with_columns(score=pl.Series(np.clip(self._model.scores(x), 0.0, 1.0)))
        return (
            scored.filter(pl.col.score >= self.threshold)
            .sort("seq")
            .unique("number", keep="first", maintain_order=True)
        )

    def _suspect_signals(self, found: pl.DataFrame) -> pa.Table:
        if found.height == 0:
            return empty_signals()
        f = pl.col
        evidence = (
            f.number
            + " behaves like a fraud number (score "
            + f.score.round(2).cast(pl.String)
            + "): in "
            + f.span_hours.round(1).cast(pl.String)
            + " h, "
            + f.out_calls.cast(pl.Int64).cast(pl.String)
            + " outgoing calls and "
            + f.out_sms.cast(pl.Int64).cast(pl.String)
            + " SMS to "
            + f.distinct_out.cast(pl.Int64).cast(pl.String)
            + " numbers, "
            + (f.callback_rate * 100).round(0).cast(pl.Int64).cast(pl.String)
            + "% called back, "
            + (f.short_share * 100).round(0).cast(pl.Int64).cast(pl.String)
            + "% of calls missed or under 10 s, from "
            + f.handsets.cast(pl.Int64).cast(pl.String)
            + " handsets in "
            + f.counties.cast(pl.Int64).cast(pl.String)
            + " counties"
        )
        details = pl.struct(
            role=pl.lit("suspect"),
            score=f.score,
            threshold=pl.lit(self.threshold),
            model=pl.lit(self.settings.model or SHIPPED_MODEL),
            **{k: f(k) for k in nf.FEATURES},
        ).struct.json_encode()
        df = found.with_columns(
            entity_kind=pl.lit("phone"),
            entity=f.number,
            evidence=evidence,
            details=details,
            event_ids=pl.lit(None, pl.List(pl.String)),
        )
        return signals_from(df, self.name, ["number"])

    # --- exposure --------------------------------------------------------------------------
    def _exposed(
        self, batch: Batch, new: pl.DataFrame, suspects: pl.DataFrame, found: pl.DataFrame
    ) -> pl.DataFrame:
        """Contacts with suspected numbers: new legs after the suspicion, and, for numbers
        suspected in this batch, the legs up to it within the look-back."""
        at = suspects.select("number", s_seq="seq", s_ts="ts", s_score="score")
        forward = (
            new.join(at, on="number")
            .filter(pl.col.seq > pl.col.s_seq)
            .with_columns(found=pl.lit("contact"))
        )
        frames = [forward]
        if found.height:
            hist = nf.legs(
                {"call": batch.get(history_key("call")), "sms": batch.get(history_key("sms"))},
                None,
                clock=False,
            )
            lb = dt.timedelta(days=self.settings.lookback_days)
            back = (
                hist.join(at.filter(pl.col.number.is_in(found["number"].implode())), on="number")
                .filter((pl.col.seq <= pl.col.s_seq) & (pl.col.ts >= pl.col.s_ts - lb))
                .with_columns(found=pl.lit("look-back"))
            )
            frames.append(back)
        cols = [*nf.LEG_SCHEMA.names, "s_seq", "s_ts", "s_score", "found"]
        return pl.concat([f.select(cols) for f in frames])

    def _exposed_signals(self, hits: pl.DataFrame) -> pa.Table:
        s = self.settings
        if hits.height == 0:
            return empty_signals()
        f = pl.col
        channel = (
            pl.when(f.sms)
            .then(pl.when(f.out).then(pl.lit("sms_in")).otherwise(pl.lit("sms_out")))
            .otherwise(pl.when(f.out).then(pl.lit("call_in")).otherwise(pl.lit("call_out")))
        )
        strength = (
            pl.when(~f.out)
            .then(s.score_called_back)
            .when(f.sms)
            .then(s.score_sms)
            .when(f.answered & (f.duration_s >= s.long_call_s))
            .then(s.score_long_call)
            .when(f.answered)
            .then(s.score_answered)
            .otherwise(s.score_unanswered)
        )
        what = (
            pl.when(f.channel == "call_in")
            .then(
                pl.when(f.answered)
                .then(pl.lit("answered a ") + f.duration_s.cast(pl.String) + " s call from ")
                .otherwise(pl.lit("missed a call from "))
            )
            .when(f.channel == "call_out")
            .then(pl.lit("called "))
            .when(f.channel == "sms_in")
            .then(pl.lit("received an SMS from "))
            .otherwise(pl.lit("sent an SMS to "))
        )
        lookback = f.found == "look-back"
        df = hits.with_columns(channel=channel).with_columns(
            entity_kind=pl.lit("phone"),
            entity=f.other,
            score=(strength * f.s_score).clip(0.0, 1.0),
            seq=pl.when(lookback).then(f.s_seq).otherwise(f.seq),
            ts=pl.when(lookback).then(pl.max_horizontal(f.ts, f.s_ts)).otherwise(f.ts),
            evidence=f.other
            + " "
            + what
            + f.number
            + ", a number suspected of fraud from its behaviour (score "
            + f.s_score.round(2).cast(pl.String)
            + ")"
            + pl.when(lookback)
            .then(pl.lit("; the contact came before the suspicion"))
            .otherwise(pl.lit("")),
            details=pl.struct(
                role=pl.lit("exposed"),
                via=f.number,
                via_kind=pl.lit("phone"),
                channel=f.channel,
                contact_ts_ms=f.ts.dt.epoch("ms"),
                duration_s=f.duration_s,
                suspect_score=f.s_score,
                found=f.found,
            ).struct.json_encode(),
            event_ids=pl.concat_list(f.event_id),
        )
        return signals_from(df, self.name, ["event_id", "channel"])


def with_settings(det: FraudNumber, **changes: Any) -> FraudNumber:
    """A copy with other settings (the model is loaded again if it changed)."""
    return dataclasses.replace(det, settings=dataclasses.replace(det.settings, **changes))
