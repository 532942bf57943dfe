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
    return {
        "numbers": per.height,
        "fraud_numbers": int(y.sum()),
        "flagged": int(pred.sum()),
        **_precision_recall(y, pred),
    }


def _precision_recall(y: np.ndarray, pred: np.ndarray) -> dict[str, float | None]:
    tp = int((y & pred).sum())
    return {
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
            "last_ts": train["ts"].max().isoformat(),
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


# --- victim risk ------------------------------------------------------------------------------
# What the log says happened to a person after an at_risk signal. Positive: a case names them as
# the victim (paid_at, known when the case was recorded); a dissuasion task's outcome was
# 'dissuaded' or 'already_paid' (fraud really reached them: a dissuaded person is labelled at
# risk, else the model would learn to lower the scores of exactly the people warnings saved);
# an alert on them closed as 'dissuaded' or 'victim_paid'. Negative: the number that exposed
# them was cleared ('clear' verdict: not fraud), or their alert was closed as a 'false_alarm';
# both override a positive. Everyone else is negative (most exposures end without a loss).
# 'unreachable' says nothing either way.
POSITIVE_OUTCOMES = ("dissuaded", "already_paid")
POSITIVE_RESOLUTIONS = ("dissuaded", "victim_paid")
NEGATIVE_RESOLUTIONS = ("false_alarm",)
EARLY = dt.timedelta(hours=1)  # a new-payee signal is raised by the payment itself

_TS = pl.Datetime("ms", "UTC")


def victim_signals(store: Store) -> pl.DataFrame:
    """Every at_risk signal of victim_risk with its facts (see fanzha.models.victims)."""
    from fanzha.models.victims import facts_from_details

    sigs = pl.from_arrow(store.signals())
    sigs = sigs.filter(pl.col.detector == "victim_risk")
    if sigs.height == 0:
        return sigs
    if sigs["details"].str.json_path_match("$.exposure").is_null().any():
        raise FanzhaError(
            "the store's victim_risk signals predate the facts a model needs (details.exposure): "
            "replay the log with this version first (fanzha run after a reset)"
        )
    via = sigs["details"].str.json_path_match("$.via").alias("via")
    return pl.concat([sigs, facts_from_details(sigs["details"]), via.to_frame()], how="horizontal")


def victim_labels(store: Store, sigs: pl.DataFrame, horizon: dt.timedelta) -> pl.DataFrame:
    """signal_id, label, known: each labelling fact about a signal and when it became known
    (a signal has as many rows as facts; see the comment above)."""
    top = store.max_seq()
    events = []  # person, at (what happened when), known, label
    case = pl.from_arrow(store.read_events("case", 0, top))
    if case.height:
        events.append(
            case.filter(pl.col.victim_phone.is_not_null()).select(
                person="victim_phone",
                at=pl.coalesce("paid_at", "ts").cast(_TS),
                known=pl.col.ts.cast(_TS),
                label=pl.lit(True),
            )
        )
    outcomes, tasks = pl.from_arrow(store.outcomes()), pl.from_arrow(store.tasks())
    if outcomes.height and tasks.height:
        events.append(
            outcomes.filter(pl.col.outcome.is_in(POSITIVE_OUTCOMES))
            .join(tasks.select("task_id", person="entity"), on="task_id")
            .select(
                "person",
                at=pl.col.outcome_ts.cast(_TS),
                known=pl.col.outcome_ts.cast(_TS),
                label=pl.lit(True),
            )
        )
    rows = []
    if events:
        ev = pl.concat(events)
        rows.append(
            sigs.select("signal_id", person="entity", t="ts")
            .join(ev, on="person")
            .filter((pl.col.at >= pl.col.t - EARLY) & (pl.col.at <= pl.col.t + horizon))
            .select("signal_id", "known", "label")
        )
    rep = pl.from_arrow(store.read_events("report", 0, top))
    if rep.height:
        cleared = rep.filter((pl.col.verdict == "clear") & pl.col.target_value.is_not_null())
        rows.append(
            sigs.select("signal_id", "via")
            .join(cleared.select(via="target_value", known=pl.col.ts.cast(_TS)), on="via")
            .select("signal_id", "known", label=pl.lit(False))
        )
    acts = pl.from_arrow(store.alert_actions())
    closes = acts.filter(
        (pl.col.action == "close")
        & pl.col.resolution.is_in([*POSITIVE_RESOLUTIONS, *NEGATIVE_RESOLUTIONS])
    )
    if closes.height:
        alerts = pl.from_arrow(store.alerts()).select("alert_id", "signal_ids")
        rows.append(
            closes.join(alerts, on="alert_id")
            .explode("signal_ids")
            .select(
                signal_id="signal_ids",
                known=pl.col.ts.cast(_TS),
                label=pl.col.resolution.is_in(POSITIVE_RESOLUTIONS),
            )
        )
    schema = {"signal_id": pl.String, "known": _TS, "label": pl.Boolean}
    rows = [r.cast(schema) for r in rows if r.height]  # type: ignore[arg-type]
    return pl.concat(rows) if rows else pl.DataFrame(schema=schema)


def _labelled(sigs: pl.DataFrame, facts: pl.DataFrame, known_before: dt.datetime | None):
    """sigs with `label`: any positive fact and no negative one known before `known_before`."""
    f = facts if known_before is None else facts.filter(pl.col.known < known_before)
    per = f.group_by("signal_id").agg(pos=pl.col.label.any(), neg=(~pl.col.label).any())
    return sigs.join(per, on="signal_id", how="left").with_columns(
        label=pl.col.pos.fill_null(False) & ~pl.col.neg.fill_null(False)
    )


def _tiers(policy: Any, sigs: pl.DataFrame, scores: np.ndarray) -> list[str | None]:
    """The tier the policy gives each signal with these scores (first matching rule wins)."""
    from fanzha.decide.policy import policy_connection
    from fanzha.engine.protocol import SIGNAL_SCHEMA

    t = sigs.select(SIGNAL_SCHEMA.names).with_columns(score=pl.Series(scores))
    con = policy_connection()
    con.register("sig", t.to_arrow().cast(SIGNAL_SCHEMA))
    out: list[str | None] = [None] * t.height
    decided = [False] * t.height
    for r in policy.rules:
        got = con.sql(f"SELECT ({r.match}) AS m, ({r.tier}) AS t FROM sig").fetchall()
        for i, (m, tier) in enumerate(got):
            if not decided[i] and m:
                decided[i], out[i] = True, tier
    con.close()
    return out


def _victim_figures(policy: Any, held: pl.DataFrame, scores: np.ndarray) -> dict[str, Any]:
    """Per person signalled after the cut: their best tier and score against their label."""
    from sklearn.metrics import roc_auc_score

    from fanzha.decide import TIERS

    rank = {t: i for i, t in enumerate(TIERS)}
    df = held.select("entity", "label").with_columns(
        score=pl.Series(scores),
        tier=pl.Series(_tiers(policy, held, scores), dtype=pl.String).replace_strict(
            rank, default=-1, return_dtype=pl.Int64
        ),
    )
    per = df.group_by("entity").agg(pl.col.label.any(), pl.col.score.max(), pl.col.tier.max())
    y = per["label"].to_numpy()
    out: dict[str, Any] = {
        "people": per.height,
        "at_risk_people": int(y.sum()),
        "auc": float(roc_auc_score(y, per["score"].to_numpy())) if 0 < y.sum() < len(y) else None,
    }
    for name in reversed(TIERS):  # people at this tier or above
        pred = per["tier"].to_numpy() >= rank[name]
        out[f"{name}_or_above"] = {"people": int(pred.sum()), **_precision_recall(y, pred)}
    return out


def retrain_victim_risk(
    store: Store,
    cut: dt.datetime,
    output: str | Path,
    current: str | None = None,
    horizon_days: float = 7.0,
) -> dict[str, Any]:
    """Fit the victim-risk model on signals before `cut` (labels known before it), write it, and
    compare it with the score in use on the people signalled from the cut on."""
    from fanzha.decide.versions import live_policy
    from fanzha.detectors.victim_risk import VictimRisk, hand_score
    from fanzha.engine.runner import configured
    from fanzha.models.victims import FEATURES, VictimRiskModel, features, fit

    policy = live_policy(store)
    settings = configured([VictimRisk()], policy)[0].settings
    if current is not None:
        before_model: VictimRiskModel | None = VictimRiskModel.load(current)
    else:
        before_model = VictimRiskModel.load(settings.model) if settings.model else None
    sigs = victim_signals(store)
    if sigs.height == 0:
        raise FanzhaError("no victim_risk signals in the store to learn from")
    facts = victim_labels(store, sigs, dt.timedelta(days=horizon_days))
    train = _labelled(sigs.filter(pl.col.ts < cut), facts, cut)
    held = _labelled(sigs.filter(pl.col.ts >= cut), facts, None)
    if held.height == 0:
        raise FanzhaError(f"no victim_risk signals from {cut.isoformat()} on to compare on")

    def old_scores(df: pl.DataFrame) -> np.ndarray:
        if before_model is not None:
            return before_model.scores(features(df))
        return df.select(hand_score(settings)).to_series().to_numpy()

    x = features(train)
    y = train["label"].to_numpy()
    model = fit(
        x,
        y,
        old_scores(train) if train.height else np.zeros(0),
        {
            "trained_before": cut.isoformat(),
            "horizon_days": horizon_days,
            "signals": train.height,
            "positive_signals": int(y.sum()),
        },
    )
    model.save(output)
    return {
        "model": "victim-risk",
        "cut": cut.isoformat(),
        "horizon_days": horizon_days,
        "train": {
            "signals": train.height,
            "people": train["entity"].n_unique(),
            "positive_signals": int(y.sum()),
            "last_ts": train["ts"].max().isoformat(),
        },
        "held_out": {"signals": held.height, "first_ts": held["ts"].min().isoformat()},
        # per standard deviation of each fact: which facts the outcomes say matter
        "weights": dict(zip(FEATURES, model.coef, strict=True)),
        "before": {
            "model": current or settings.model or "hand-weighted",
            **_victim_figures(policy, held, old_scores(held)),
        },
        "after": {
            "model": str(output),
            **_victim_figures(policy, held, model.scores(features(held))),
        },
    }
