"""Fraud texts: SMS bodies and citizen report texts read by the fraud-text model.

Fraud caught: the scripts themselves — fake customer-service refunds ("your parcel was lost, here
is a refund": seed 004), impersonated police and officials, fake loans and credit cards, a "leader"
asking for a transfer — sent as SMS or told to the 96110/12381 report line. Seed 003: warnings and
reports are organised by fraud type, and a number that sends fraud scripts should be suspected
before anyone confirms it.
Looks at: `sms` events whose body the operator shares, and `report` events with a text (a
clearance is skipped). A model trained by `fanzha model train-texts` (settings `model`, or
$FANZHA_TEXT_MODEL; loaded once when the detector is built, never while stepping) gives each text
a fraud probability and type. A fraud SMS gives two signals: its sender, a suspected fraud source
(details `role: suspect`, for intelligence), and its receiver, exposed to the script
(`role: exposed`, `via` the sender, for warning). A fraud report text gives one, on the reported
number, URL or account (`role: suspect`). Evidence names the words that drove the score.
Cannot see: SMS whose body is not shared, texts in pictures, calls (no text) and OTT chat. Without
a model it is idle. The public training sets are long call scripts and dialogues, so short SMS
templates ("【某某】...") read as adverts more often than they should; a model trained on chats
also weighs their shape (lines, speakers), which an SMS does not have: for SMS, train on SMS-like
texts or with `--no-shape`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import polars as pl
import pyarrow as pa

from fanzha.engine.protocol import Batch, State, details_json, empty_signals, signals_from
from fanzha.models.text import TextModel, cached_model

MODEL_ENV = "FANZHA_TEXT_MODEL"

_TEXTS = {
    "seq": pl.Int64,
    "ts": pl.Datetime("ms", "UTC"),
    "event_id": pl.String,
    "kind": pl.String,
    "text": pl.String,
    "a": pl.String,  # sms: sender; report: target
    "a_kind": pl.String,
    "b": pl.String,  # sms: receiver; report: reporter kind
    "stated_type": pl.String,
}


@dataclass(frozen=True)
class TextFraudSettings:
    model: str | None = None  # model file; None: $FANZHA_TEXT_MODEL; neither: idle
    min_score: float = 0.8  # fraud probability from which a text is signalled
    receiver_weight: float = 0.75  # receiver's exposure score = fraud probability x this
    evidence_words: int = 5  # words named in the evidence


@dataclass(frozen=True)
class TextFraud:
    """Signals for senders and receivers of fraud SMS and for targets of fraud report texts."""

    settings: TextFraudSettings = field(default_factory=TextFraudSettings)
    name: ClassVar[str] = "text_fraud"
    kinds: ClassVar[tuple[str, ...]] = ("sms", "report")
    # stateless, one signal row per text: any key would do; the sender's or the reported value's
    partition_by: ClassVar[Mapping[str, str]] = {"sms": "sender", "report": "target_value"}
    _model: TextModel | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        path = self.settings.model or os.environ.get(MODEL_ENV) or None
        if path:
            object.__setattr__(self, "_model", cached_model(path, os.stat(path).st_mtime_ns))

    def initial_state(self) -> State:
        return {}

    def step(self, batch: Batch, state: State) -> tuple[pa.Table, State]:
        texts = _texts(batch)
        if self._model is None or texts.height == 0:
            return empty_signals(), state
        model, s = self._model, self.settings
        unique = texts["text"].unique().sort().to_list()
        proba = model.predict_proba(unique)
        fraud = proba[:, ~model.normal].sum(axis=1)
        types = model.fraud_type_of(proba)
        keep = np.flatnonzero(fraud >= s.min_score)
        if keep.size == 0:
            return empty_signals(), state
        scored = pl.DataFrame(
            {
                "text": [unique[i] for i in keep],
                "p": [round(float(fraud[i]), 4) for i in keep],
                "fraud_type": [types[i] for i in keep],
                "words": [
                    [e.feature for e in model.explain(unique[i], s.evidence_words)] for i in keep
                ],
            },
            schema={
                "text": pl.String,
                "p": pl.Float64,
                "fraud_type": pl.String,
                "words": pl.List(pl.String),
            },
        )
        hits = texts.join(scored, on="text")
        rows = []
        for h in hits.iter_rows(named=True):  # only the texts that read as fraud: few
            rows.extend(self._signal_rows(h))
        if not rows:
            return empty_signals(), state
        df = pl.DataFrame(rows).with_columns(
            pl.col.ts.cast(pl.Datetime("ms", "UTC")), pl.col.seq.cast(pl.Int64)
        )
        return signals_from(df, self.name, ["event_id", "role"]), state

    def _signal_rows(self, h: dict) -> list[dict]:
        s = self.settings
        kind_ = h["fraud_type"] or "fraud"
        said = "、".join(h["words"]) or "-"
        base = {
            "seq": h["seq"],
            "ts": h["ts"],
            "fraud_type": h["fraud_type"],
            "event_id": h["event_id"],
            "event_ids": [h["event_id"]],
        }

        def details(number: str, role: str, score: float, via: str | None = None) -> str:
            return details_json(
                number=number,
                role=role,
                **({"via": via, "via_kind": "phone"} if via else {}),
                found_in=h["kind"],
                fraud_type=h["fraud_type"],
                score=score,
                text_score=h["p"],
                kind=h["kind"],
                words=h["words"],
                stated_type=h["stated_type"],
            )

        if h["kind"] == "sms":
            exposure = round(h["p"] * s.receiver_weight, 4)
            return [
                base
                | {
                    "entity_kind": "phone",
                    "entity": h["a"],
                    "score": h["p"],
                    "role": "sender",
                    "evidence": f"{h['a']} sent {h['b']} an SMS that reads as {kind_} fraud "
                    f"(p={h['p']:.2f}; words: {said})",
                    "details": details(h["a"], "suspect", h["p"]),
                },
                base
                | {
                    "entity_kind": "phone",
                    "entity": h["b"],
                    "score": exposure,
                    "role": "receiver",
                    "evidence": f"{h['b']} received an SMS from {h['a']} that reads as {kind_} "
                    f"fraud (p={h['p']:.2f}; words: {said})",
                    "details": details(h["b"], "exposed", exposure, via=h["a"]),
                },
            ]
        return [
            base
            | {
                "entity_kind": h["a_kind"],
                "entity": h["a"],
                "score": h["p"],
                "role": "reported",
                "evidence": f"a {h['b']} report on {h['a_kind']} {h['a']} tells of {kind_} "
                f"fraud (p={h['p']:.2f}; words: {said})",
                "details": details(h["a"], "suspect", h["p"]),
            }
        ]


def _texts(batch: Batch) -> pl.DataFrame:
    """SMS and report texts of the batch as one frame (see `_TEXTS`)."""
    frames = []
    sms = batch.get("sms")
    if sms is not None and sms.num_rows:
        df = pl.from_arrow(sms)
        frames.append(
            df.filter(pl.col.text.is_not_null() & (pl.col.text.str.strip_chars() != "")).select(
                "seq",
                "ts",
                "event_id",
                kind=pl.lit("sms"),
                text=pl.col.text,
                a=pl.col.sender,
                a_kind=pl.lit("phone"),
                b=pl.col.receiver,
                stated_type=pl.lit(None, pl.String),
            )
        )
    reports = batch.get("report")
    if reports is not None and reports.num_rows:
        df = pl.from_arrow(reports)
        frames.append(
            df.filter(
                pl.col.text.is_not_null()
                & (pl.col.text.str.strip_chars() != "")
                & pl.col.verdict.ne_missing("clear")
            ).select(
                "seq",
                "ts",
                "event_id",
                kind=pl.lit("report"),
                text=pl.col.text,
                a=pl.col.target_value,
                a_kind=pl.col.target_kind,
                b=pl.col.reporter_kind,
                stated_type=pl.col.fraud_type,
            )
        )
    if not frames:
        return pl.DataFrame(schema=_TEXTS)
    return pl.concat([f.cast(_TEXTS) for f in frames]).filter(pl.col.a.is_not_null())
