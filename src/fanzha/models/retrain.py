"""Learning from outcomes: refresh the fraud-number model from what the store learned since.

Labels come from the log itself, as an analyst would have them: a number is fraud from the time a
police or centre report confirms it (report verdict 'confirm') or a case names it as the fraud
contact; a 'clear' verdict makes it not fraud from then on; a number nobody labelled is taken as
not fraud (an assumption: most numbers are honest, and the model is trained to rank). The split
is by time: the model trains on feature rows strictly before the cut, labelled with what was
known strictly before the cut; it is then compared with the model in use on the numbers active
after the cut, labelled with everything known at the end, number by number (its highest score
after the cut against the model's threshold). Nothing after the cut reaches training.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from fanzha.errors import FanzhaError
from fanzha.store import Store


def labels(store: Store) -> pl.DataFrame:
    """number, label (True fraud / False cleared), ts: every labelling event, in time order."""
    top = store.max_seq()
    rows: list[dict[str, Any]] = []
    rep = store.read_events("report", 0, top)
    for r in rep.select(["ts", "target_kind", "target_value", "verdict"]).to_pylist():
        if (
            r["target_kind"] == "phone"
            and r["verdict"] in ("confirm", "clear")
            and r["target_value"]
        ):
            rows.append(
                {"number": r["target_value"], "label": r["verdict"] == "confirm", "ts": r["ts"]}
            )
    case = store.read_events("case", 0, top)
    for r in case.select(["ts", "fraud_contact"]).to_pylist():
        if r["fraud_contact"]:
            rows.append({"number": r["fraud_contact"], "label": True, "ts": r["ts"]})
    schema = {"number": pl.String, "label": pl.Boolean, "ts": pl.Datetime("ms", "UTC")}
    return pl.DataFrame(rows, schema=schema, orient="row").sort("ts", "number")


def known_at(lab: pl.DataFrame, t: dt.datetime | None) -> pl.DataFrame:
    """number -> label as known strictly before `t` (the latest labelling event wins)."""
    seen = lab if t is None else lab.filter(pl.col.ts < t)
    return seen.group_by("number").agg(pl.col.label.last())


def split(
    store: Store, cut: dt.datetime, settings: Any = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(training rows: before the cut, labels known before it; held-out rows: from the cut on,
    labels known at the end). Columns: number, seq, ts, FEATURES, label."""
    from fanzha.models import number_features as nf

    top = store.max_seq()
    rows = nf.offline(
        store.read_events("call", 0, top),
        store.read_events("sms", 0, top),
        settings or nf.WindowSettings(),
    )
    lab = labels(store)

    def labelled(df: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
        return df.join(known, on="number", how="left").with_columns(
            label=pl.col.label.fill_null(False)
        )

    ts = pl.col.ts
    train = labelled(rows.filter(ts < cut), known_at(lab, cut))
    held = labelled(rows.filter(ts >= cut), known_at(lab, None))
    return train, held


def _number_figures(held: pl.DataFrame, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    per = (
        held.select("number", "label")
        .with_columns(score=pl.Series(scores))
        .group_by("number")
        .agg(pl.col.label.first(), pl.col.score.max())
    )
    y = per["label"].to_numpy()
    pred = per["score"].to_numpy() >= threshold
    tp = int((y & pred).sum())
    return {
        "numbers": per.height,
        "fraud_numbers": int(y.sum()),
        "flagged": int(pred.sum()),
        "precision": tp / int(pred.sum()) if pred.any() else None,
        "recall": tp / int(y.sum()) if y.any() else None,
    }


def retrain_numbers(
    store: Store,
    cut: dt.datetime,
    output: str | Path,
    current: str | None = None,
    rounds: int = 150,
) -> dict[str, Any]:
    """Train on the past of `cut`, write the model, compare it with the current one after it."""
    from fanzha.detectors.fraud_number import load_model
    from fanzha.models import number_features as nf
    from fanzha.models.numbers import EVENTS_PARAMS, fit

    train, held = split(store, cut)
    fraud = train.filter(pl.col.label)["number"].n_unique()
    if fraud == 0 or train.height == 0:
        raise FanzhaError(
            f"nothing to learn before {cut.isoformat()}: {train.height} feature rows, "
            f"{fraud} numbers confirmed as fraud by then"
        )
    if held.height == 0:
        raise FanzhaError(f"no call or SMS activity from {cut.isoformat()} on to compare on")
    model, _ = fit(
        train.select(nf.FEATURES).to_numpy(),
        train["label"].to_numpy(),
        nf.FEATURES,
        "events",
        params=EVENTS_PARAMS,
        rounds=rounds,
        groups=train["number"].to_numpy(),
    )
    model.meta.update(
        retrained_before=cut.isoformat(),
        numbers=int(train["number"].n_unique()),
        fraud_numbers=int(fraud),
    )
    model.save(output)
    before = load_model(current)
    x = held.select(nf.FEATURES).to_numpy()
    return {
        "cut": cut.isoformat(),
        "train": {
            "rows": train.height,
            "last_ts": str(train["ts"].max()),
            "numbers": int(train["number"].n_unique()),
            "fraud_numbers": int(fraud),
        },
        "held_out": {"rows": held.height, "first_ts": str(held["ts"].min())},
        "before": {
            "model": current or "shipped",
            **_number_figures(held, before.scores(x), before.threshold),
        },
        "after": {"model": str(output), **_number_figures(held, model.scores(x), model.threshold)},
    }
