"""The fraud-number model: LightGBM over per-number behaviour features, with its threshold.

Fraud caught: numbers that call or text for fraud (SIM farms, fake customer service, impersonation
of police or leaders), found from their behaviour before anyone reports them (seed 003).

One model code serves two feature sources:
- `sichuan`: the 55 per-number features of the Sichuan 2020 telecom data (Digital China contest,
  shared/data/sichuan), optionally with call-graph features (degree, and the out-of-fold scores of
  a first model over each number's neighbours: numbers that share contacts with fraud numbers);
- `events`: the sliding-window features of `fanzha.models.number_features`, computed from call and
  SMS events (a `fanzha sim` world with its truth), as the streaming detector `fraud_number`
  computes them.

Training picks the decision threshold that maximises macro-F1 over out-of-fold predictions of the
training rows (k folds in file order), then fits on all rows. A model file is one JSON document
holding the LightGBM text model, the feature names, the threshold and how it was trained; loading
it parses text only (no pickle).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fanzha.errors import FanzhaError

FORMAT = "fanzha-numbers-model/1"
SOURCES = ("sichuan", "events")

# LightGBM settings (assumption, checked by cross-validation on the Sichuan training rows:
# small learning rate, row and feature bagging; feature bagging also keeps the simulator's model
# from resting on one feature).
PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.03,
    "num_leaves": 31,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "seed": 1,
    "deterministic": True,
    "force_row_wise": True,
}
ROUNDS = 500
FOLDS = 5
BAGS = 5  # Sichuan: five seeds averaged (validation macro-F1 0.924 -> 0.928 on the last fifth)
# The simulator's numbers separate easily (a SIM farm's many handsets): a small model whose trees
# each see half of the features, so that no single feature decides alone (assumption).
EVENTS_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 15,
    "feature_fraction": 0.5,
    "min_data_in_leaf": 40,
}


def macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean of the F1 of class 0 and class 1 (the Sichuan papers' metric)."""
    y = np.asarray(y).astype(bool)
    pred = np.asarray(pred).astype(bool)
    out = []
    for c in (False, True):
        tp = np.sum((pred == c) & (y == c))
        wrong = np.sum(pred != y)
        out.append(2 * tp / (2 * tp + wrong) if tp + wrong else 1.0)
    return float(np.mean(out))


def best_threshold(y: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """The threshold in [0.05, 0.95] with the highest macro-F1 (middle of the best plateau)."""
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2)
    f1 = np.array([macro_f1(y, scores >= t) for t in grid])
    best = np.flatnonzero(f1 >= f1.max() - 1e-12)
    # the longest run of best thresholds, and its middle
    runs = np.split(best, np.flatnonzero(np.diff(best) > 1) + 1)
    run = max(runs, key=len)
    return float(grid[run[len(run) // 2]]), float(f1.max())


@dataclass
class NumbersModel:
    """A trained fraud-number model: booster, feature names, threshold, and its training record."""

    boosters: tuple[Any, ...]  # lightgbm.Booster; the score is their mean (seed bagging)
    features: tuple[str, ...]
    threshold: float
    source: str
    meta: dict[str, Any] = field(default_factory=dict)
    graph: dict[str, Any] | None = None  # sichuan + graph: first model and training nodes

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Fraud scores in [0, 1] for rows of `features` (NaN = missing)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise FanzhaError(
                f"the model needs {len(self.features)} features per row, got shape {x.shape}"
            )
        if x.shape[0] == 0:
            return np.zeros(0)
        return predict(self.boosters, x)

    def save(self, path: str | Path) -> None:
        doc = {
            "format": FORMAT,
            "source": self.source,
            "features": list(self.features),
            "threshold": self.threshold,
            "meta": self.meta,
            "graph": None if self.graph is None else _graph_doc(self.graph),
            "lightgbm": [b.model_to_string() for b in self.boosters],
        }
        try:
            Path(path).write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
        except OSError as e:
            raise FanzhaError(f"cannot write the model to {path}: {e.strerror or e}") from None

    @classmethod
    def load(cls, path: str | Path) -> NumbersModel:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise FanzhaError(f"cannot read the model {path}: {e.strerror or e}") from None
        except UnicodeDecodeError:
            raise FanzhaError(f"{path}: not a fanzha fraud-number model (not UTF-8 text)") from None
        return cls.from_text(text, str(path))

    @classmethod
    def from_text(cls, text: str, where: str = "model") -> NumbersModel:
        import lightgbm as lgb

        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            raise FanzhaError(f"{where}: not a fanzha fraud-number model (not JSON)") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise FanzhaError(f"{where}: not a fanzha fraud-number model (format is not {FORMAT})")
        try:
            features = tuple(str(f) for f in doc["features"])
            threshold = float(doc["threshold"])
            source = str(doc["source"])
            texts = doc["lightgbm"]
            texts = [texts] if isinstance(texts, str) else list(texts)
            boosters = tuple(lgb.Booster(model_str=str(t)) for t in texts)
        except (KeyError, TypeError, ValueError, lgb.basic.LightGBMError) as e:
            raise FanzhaError(f"{where}: broken fraud-number model ({e})") from None
        if source not in SOURCES or not 0 <= threshold <= 1:
            raise FanzhaError(f"{where}: broken fraud-number model (source or threshold)")
        if not boosters or any(b.num_feature() != len(features) for b in boosters):
            raise FanzhaError(f"{where}: broken fraud-number model (feature count)")
        graph = doc.get("graph")
        if graph is not None:
            graph = _graph_from_doc(graph, where)
        return cls(boosters, features, threshold, source, dict(doc.get("meta") or {}), graph)


def fit(
    x: np.ndarray,
    y: np.ndarray,
    features: tuple[str, ...],
    source: str,
    *,
    params: dict[str, Any] | None = None,
    rounds: int = ROUNDS,
    folds: int = FOLDS,
    bags: int = 1,
    groups: np.ndarray | None = None,
) -> tuple[NumbersModel, np.ndarray]:
    """Train; return the model (threshold chosen on out-of-fold scores) and those scores.

    Folds are contiguous blocks in row order (file order), or by `groups` (e.g. one number's rows
    stay in one fold) when given. `bags` > 1 trains that many models with other seeds and
    averages them (steadier scores, for `bags` times the training time).
    """
    import lightgbm as lgb

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y).astype(int)
    if len(y) < folds * 2 or y.min() == y.max():
        raise FanzhaError(
            f"too little to train on: {len(y)} rows, {int(y.sum())} fraud; "
            "need both classes and at least a few rows per fold"
        )
    # small sets train faster on one thread (no synchronisation, and the machine is shared)
    p = {**PARAMS, "num_threads": 1 if len(y) < 20_000 else 2, **(params or {})}
    if groups is None:
        fold = np.arange(len(y)) * folds // len(y)
    else:
        _, g = np.unique(groups, return_inverse=True)
        fold = g % folds
    seeds = [p["seed"] + i for i in range(max(1, bags))]
    oof = np.zeros(len(y))
    for k in range(folds):
        tr, te = fold != k, fold == k
        if not te.any() or np.unique(y[tr]).size < 2:
            continue
        bs = [lgb.train({**p, "seed": sd}, lgb.Dataset(x[tr], y[tr]), rounds) for sd in seeds]
        oof[te] = predict(bs, x[te])
    threshold, cv_f1 = best_threshold(y, oof)
    boosters = tuple(lgb.train({**p, "seed": sd}, lgb.Dataset(x, y), rounds) for sd in seeds)
    meta = {
        "rows": len(y),
        "fraud_rows": int(y.sum()),
        "folds": folds,
        "cv_macro_f1": round(cv_f1, 4),
        "rounds": rounds,
        "bags": len(seeds),
        "params": {k: v for k, v in p.items() if k not in ("verbose", "num_threads")},
    }
    model = NumbersModel(boosters, tuple(features), threshold, source, meta)
    return model, oof


def predict(boosters: tuple[Any, ...] | list[Any], x: np.ndarray) -> np.ndarray:
    """The mean of the boosters' scores."""
    out = np.zeros(len(x))
    for b in boosters:
        out += np.asarray(b.predict(x, num_threads=1), dtype=np.float64)
    return out / len(boosters)


# --- events: a `fanzha sim` world ------------------------------------------------------------


def world_events(world: str | Path) -> tuple[Any, Any]:
    """The call and SMS events of a sim world, ingested as `fanzha score` ingests them (one batch,
    event-time order) into a throw-away in-memory store."""
    from fanzha.ingest import ingest
    from fanzha.sim.run import load_manifest
    from fanzha.store import open_store

    sources = [s for s in load_manifest(world) if s.kind in ("call", "sms")]
    if not sources:
        raise FanzhaError(f"{world}: the world has no call or SMS files")
    with open_store(":memory:") as store:
        summary = ingest(store, sources)
        if summary.failed_files:
            raise FanzhaError("; ".join(f.error or "" for f in summary.failed_files))
        top = store.max_seq()
        return store.read_events("call", 0, top), store.read_events("sms", 0, top)


def events_training_set(world: str | Path, settings: Any = None, max_rows_per_number: int = 60):
    """Feature rows of a sim world's numbers, labelled by its truth (fraud_numbers.csv).

    Returns (frame with number, seq, ts, FEATURES, label). Each number keeps at most
    `max_rows_per_number` scored legs (evenly spread), so that busy honest numbers do not drown
    the few hundred rows of each short-lived fraud number.
    """
    import polars as pl

    from fanzha.models import number_features as nf

    s = settings or nf.WindowSettings()
    truth = Path(world) / "truth" / "fraud_numbers.csv"
    if not truth.is_file():
        raise FanzhaError(f"{world}: no truth/fraud_numbers.csv; is this a world of `fanzha sim`?")
    fraud = pl.read_csv(truth, infer_schema_length=0)["number"]
    calls, sms = world_events(world)
    rows = nf.offline(calls, sms, s)
    rows = rows.with_columns(k=pl.int_range(pl.len()).over("number"), n=pl.len().over("number"))
    step = (pl.col.n / max_rows_per_number).ceil().cast(pl.Int64).clip(lower_bound=1)
    rows = rows.filter(pl.col.k % step == 0).drop("k", "n")
    return rows.with_columns(label=pl.col.number.is_in(fraud.implode()))


# --- sichuan: the contest's per-number features ----------------------------------------------

ID = "phone_no_m"
LABEL = "label"


def read_features(path: str | Path, *, labelled: bool, features: tuple[str, ...] | None = None):
    """ids, feature matrix (NaN where missing or not a number), labels or None, feature names,
    and how many cells were not numbers. Feature names are the file's columns other than the id
    and label, unless `features` (the model's) are given: then those must all be there."""
    import polars as pl

    p = Path(path)
    if not p.is_file():
        raise FanzhaError(f"{path}: no such file")
    try:
        df = pl.read_csv(p, infer_schema_length=0, encoding="utf8-lossy")
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, OSError) as e:
        raise FanzhaError(f"{path}: not a readable CSV ({str(e).splitlines()[0]})") from None
    if ID not in df.columns:
        raise FanzhaError(f"{path}: no {ID} column (the number's id)")
    if labelled and LABEL not in df.columns:
        raise FanzhaError(f"{path}: no {LABEL} column (1 = fraud, 0 = not) to train on")
    names = tuple(c for c in df.columns if c not in (ID, LABEL)) if features is None else features
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise FanzhaError(
            f"{path}: missing feature column(s) {', '.join(missing[:5])}"
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        )
    if not names:
        raise FanzhaError(f"{path}: no feature columns")
    raw = df.select(names)
    num = raw.select(pl.col(c).str.strip_chars().cast(pl.Float64, strict=False) for c in names)
    bad = int(
        sum(
            (raw[c].is_not_null() & (raw[c].str.strip_chars() != "") & num[c].is_null()).sum()
            for c in names
        )
    )
    x = num.with_columns(
        pl.when(pl.col(c).is_infinite()).then(None).otherwise(pl.col(c)).alias(c) for c in names
    ).to_numpy()
    y = None
    if labelled:
        lab = df[LABEL].str.strip_chars()
        ok = lab.is_in(["0", "1"])
        if not ok.all():
            first = int(ok.arg_min() or 0)
            raise FanzhaError(
                f"{path}: row {first + 2}: label must be 0 or 1, got {lab[first]!r} "
                f"({int((~ok).sum())} such rows)"
            )
        y = (lab == "1").to_numpy()
    ids = df[ID].fill_null("").to_list()
    return ids, np.asarray(x, dtype=np.float64), y, names, bad


# --- commands ---------------------------------------------------------------------------------


def train_events(world: str | Path, output: str | Path, *, rounds: int = 150) -> dict[str, Any]:
    """`fanzha model train-numbers --from-world DIR`: the streaming detector's model."""
    from fanzha.models import number_features as nf

    rows = events_training_set(world)
    x = rows.select(nf.FEATURES).to_numpy()
    y = rows["label"].to_numpy()
    model, _ = fit(
        x,
        y,
        nf.FEATURES,
        "events",
        params=EVENTS_PARAMS,
        rounds=rounds,
        groups=rows["number"].to_numpy(),
    )
    meta = json.loads((Path(world) / "truth" / "world.json").read_text())
    model.meta.update(
        world={k: meta.get(k) for k in ("people", "days", "seed")},
        numbers=int(rows["number"].n_unique()),
        fraud_numbers=int(rows.filter(rows["label"])["number"].n_unique()),
    )
    model.save(output)
    return {"source": "events", "threshold": model.threshold, **model.meta}


# --- sichuan: call-graph features --------------------------------------------------------------

GRAPH_FEATURES = ("graph_degree", "graph_scored", "graph_score_mean", "graph_score_max")


def read_graph(path: str | Path) -> Any:
    """The symmetric 0/1 adjacency (CSR) of a scipy .npz sparse matrix (no pickle)."""
    import scipy.sparse as sp

    try:
        g = sp.load_npz(path)
    except FileNotFoundError:
        raise FanzhaError(f"{path}: no such file") from None
    except (OSError, ValueError, KeyError) as e:
        raise FanzhaError(f"{path}: not a scipy sparse .npz matrix ({e})") from None
    if g.ndim != 2 or g.shape[0] != g.shape[1]:
        raise FanzhaError(f"{path}: the adjacency must be square, got {g.shape}")
    a = (g + g.T).tocsr()
    a.setdiag(0)
    a.eliminate_zeros()
    a.data = np.ones_like(a.data, dtype=np.float64)
    return a


def graph_features(adj: Any, node_scores: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """GRAPH_FEATURES of `nodes`: neighbours, neighbours with a first-model score, and the mean
    and max of those scores (numbers that share contacts with fraud numbers)."""
    known = ~np.isnan(node_scores)
    s = np.where(known, node_scores, 0.0)
    sub = adj[nodes]
    degree = np.asarray(sub.sum(axis=1)).ravel()
    scored = sub @ known.astype(np.float64)
    total = sub @ s
    mean = np.where(scored > 0, total / np.maximum(scored, 1), np.nan)
    top = np.asarray(sub.multiply(s[None, :]).max(axis=1).todense()).ravel()
    top = np.where(scored > 0, top, np.nan)
    return np.column_stack([degree, scored, mean, top])


def _graph_doc(graph: dict[str, Any]) -> dict[str, Any]:
    return {
        "train_ids": list(graph["train_ids"]),
        "node_scores": [None if np.isnan(v) else round(float(v), 6) for v in graph["node_scores"]],
        "first": [b.model_to_string() for b in graph["first"]],
        "first_features": list(graph["first_features"]),
    }


def _graph_from_doc(doc: Any, where: str) -> dict[str, Any]:
    import lightgbm as lgb

    try:
        ids = [str(n) for n in doc["train_ids"]]
        scores = np.array(
            [np.nan if v is None else float(v) for v in doc["node_scores"]], dtype=np.float64
        )
        first = tuple(lgb.Booster(model_str=str(t)) for t in doc["first"])
        first_features = tuple(str(f) for f in doc["first_features"])
    except (KeyError, TypeError, ValueError, lgb.basic.LightGBMError) as e:
        raise FanzhaError(f"{where}: broken graph part of the model ({e})") from None
    if len(ids) != len(scores):
        raise FanzhaError(f"{where}: broken graph part of the model (ids and scores differ)")
    return {
        "train_ids": ids,
        "node_scores": scores,
        "first": first,
        "first_features": first_features,
    }


def _nodes(model: NumbersModel, ids: list[str], adj: Any, where: str) -> np.ndarray:
    """Graph node of each row: its place in the training file, else (a row the model has not
    seen) the training file's length plus its row number here (the graph lists the training
    file's rows, then the scored file's)."""
    assert model.graph is not None
    at = {n: i for i, n in enumerate(model.graph["train_ids"])}
    base = len(model.graph["train_ids"])
    nodes = np.array([at.get(n, base + j) for j, n in enumerate(ids)], dtype=np.int64)
    if len(nodes) and nodes.max() >= adj.shape[0]:
        raise FanzhaError(
            f"{where}: the graph has {adj.shape[0]:,} nodes, but rows new to the model sit at "
            f"{base:,} + their row number (up to {int(nodes.max()):,}): the graph must list the "
            "training file's rows, then this file's, in order"
        )
    return nodes


def score_rows(model: NumbersModel, ids: list[str], x: np.ndarray, adj: Any = None) -> np.ndarray:
    """Scores of rows (base features in `x`); with a graph model, the graph features first."""
    if model.graph is None:  # trained without a graph, or the graph did not help: not needed
        return model.scores(x)
    if adj is None:
        raise FanzhaError("this model was trained with --graph; give the same graph to score")
    g = model.graph
    nodes = _nodes(model, ids, adj, "--graph")
    node_scores = np.full(adj.shape[0], np.nan)
    node_scores[: len(g["node_scores"])] = g["node_scores"]
    first = predict(g["first"], x)
    fresh = np.isnan(node_scores[nodes])
    node_scores[nodes[fresh]] = first[fresh]
    return model.scores(np.column_stack([x, graph_features(adj, node_scores, nodes)]))


# --- sichuan: training and scoring -------------------------------------------------------------


def train_sichuan(
    train: str | Path,
    output: str | Path,
    *,
    graph: str | Path | None = None,
    holdout: float = 0.0,
    rounds: int = ROUNDS,
    bags: int = BAGS,
) -> dict[str, Any]:
    """`fanzha model train-numbers --train CSV [--graph NPZ] [--holdout SHARE]`.

    With `holdout`, the last share of the file's rows (file order) is kept out and the model's
    macro-F1 on them is reported. With a graph, a first model's out-of-fold scores are spread over
    the call graph (GRAPH_FEATURES) and a second model uses them, if that raises the
    cross-validated macro-F1 on the training rows; otherwise the first model is kept.
    """
    ids, x, y, names, bad = read_features(train, labelled=True)
    assert y is not None
    n = len(ids)
    fit_n = n - round(n * holdout)
    if fit_n < 20 or (holdout and fit_n == n):
        raise FanzhaError(f"{train}: {n} rows are too few for a holdout of {holdout}")
    model, oof = fit(x[:fit_n], y[:fit_n], names, "sichuan", rounds=rounds, bags=bags)
    graph_report = None
    if graph is not None:
        adj = read_graph(graph)
        if adj.shape[0] < n:
            raise FanzhaError(
                f"{graph}: {adj.shape[0]:,} nodes, fewer than the {n:,} rows of {train} "
                "(the graph's first nodes must be the training file's rows, in order)"
            )
        node_scores = np.full(adj.shape[0], np.nan)
        node_scores[:fit_n] = oof
        gx = np.column_stack([x[:fit_n], graph_features(adj, node_scores, np.arange(fit_n))])
        second, _ = fit(
            gx, y[:fit_n], (*names, *GRAPH_FEATURES), "sichuan", rounds=rounds, bags=bags
        )
        graph_report = {
            "cv_macro_f1_without": model.meta["cv_macro_f1"],
            "cv_macro_f1_with": second.meta["cv_macro_f1"],
        }
        if second.meta["cv_macro_f1"] > model.meta["cv_macro_f1"]:
            stored = np.full(n, np.nan)
            stored[:fit_n] = oof
            second.graph = {
                "train_ids": ids,
                "node_scores": stored,
                "first": model.boosters,
                "first_features": names,
            }
            model = second
        graph_report["used"] = model.graph is not None
        model.meta["graph"] = graph_report
    model.meta["train_file"] = Path(train).name
    model.meta["bad_cells"] = bad
    report: dict[str, Any] = {"source": "sichuan", "threshold": model.threshold, **model.meta}
    if fit_n < n:
        adj = read_graph(graph) if model.graph is not None and graph is not None else None
        s = score_rows(model, ids[fit_n:], x[fit_n:], adj)
        pred = s >= model.threshold
        yv = y[fit_n:]
        tp = int(np.sum(pred & yv))
        report["validation"] = model.meta["validation"] = {
            "split": f"the last {n - fit_n} of {n} rows of {Path(train).name} in file order "
            f"(rows {fit_n + 1}-{n}); trained on the first {fit_n}",
            "rows": n - fit_n,
            "fraud": int(yv.sum()),
            "macro_f1": round(macro_f1(yv, pred), 4),
            "precision": round(tp / max(int(pred.sum()), 1), 4),
            "recall": round(tp / max(int(yv.sum()), 1), 4),
        }
    model.save(output)
    return report


def score_file(
    model_path: str | Path,
    features: str | Path,
    output: str | Path,
    *,
    graph: str | Path | None = None,
) -> dict[str, Any]:
    """`fanzha model score-numbers`: phone_no_m,score,label for every row of the features file."""
    import polars as pl

    model = NumbersModel.load(model_path)
    base = model.graph["first_features"] if model.graph is not None else model.features
    ids, x, _, _, bad = read_features(features, labelled=False, features=tuple(base))
    adj = read_graph(graph) if graph is not None else None
    s = score_rows(model, ids, x, adj)
    label = (s >= model.threshold).astype(np.int64)
    try:
        pl.DataFrame({ID: ids, "score": np.round(s, 6), "label": label}).write_csv(output)
    except OSError as e:
        raise FanzhaError(f"cannot write {output}: {e.strerror or e}") from None
    return {
        "rows": len(ids),
        "fraud": int(label.sum()),
        "threshold": model.threshold,
        "graph_used": model.graph is not None,
        "bad_cells": bad,
        "output": str(output),
    }
