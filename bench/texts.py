"""Benchmark: the fraud-text model against the TF-IDF baseline, on the public sets, in one run.

For each set (../shared/data/fraud_texts/train.csv, 5 classes; ../shared/data/dialogues/train.jsonl,
fraud or not): a stratified, seeded dev split; the baseline (character 1-3-gram TF-IDF with a
logistic regression, as measured when the issue was written) and fanzha's model are trained on the
same rows and scored on the same dev rows. Prints accuracy, macro-F1 and per-class F1, the
calibration of the probabilities (Brier score, expected calibration error over 10 bins of the top
probability), training time and scoring throughput (texts/s, and ours as a ratio of the baseline's).
With --cv K it also runs K-fold stratified cross-validation of both (slower, steadier figures).
For the dialogues, accuracy is also given without the meeting transcripts whose speakers are
"发言人N" (933 rows, every one labelled not fraud): they are easy, and a model could lean on the
speaker-tag format instead of the words; the figure without them shows the part that is hard.
--no-shape trains fanzha's model without its shape term (lines, length, speakers), the ablation.

Run: .venv/bin/python bench/texts.py [--data ../shared/data] [--seed 0] [--dev-share 0.2]
     [--cv 5] [--only texts|dialogues] [--no-shape]
"""

from __future__ import annotations

import argparse
import itertools
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from fanzha.models.text import fraud_types_for, read_texts, train

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SETS = {"texts": "fraud_texts/train.csv", "dialogues": "dialogues/train.jsonl"}
TRANSCRIPT = re.compile(r"^发言人\d+[:：]")


def transcripts(texts: Sequence[str]) -> np.ndarray:
    """Rows that are meeting transcripts with anonymous "发言人N" speakers (measurement only)."""
    return np.array([bool(TRANSCRIPT.match(t)) for t in texts])


class Baseline:
    """Character 1-3-gram TF-IDF + logistic regression (C=10): the baseline of the issue."""

    def __init__(self, texts: Sequence[str], labels: Sequence[str]):
        self.vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
        self.lr = LogisticRegression(C=10, max_iter=3000).fit(self.vec.fit_transform(texts), labels)
        self.labels = list(self.lr.classes_)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.lr.predict_proba(self.vec.transform(texts))


class Ours:
    def __init__(self, texts: Sequence[str], labels: Sequence[str], seed: int, shape: bool = True):
        self.model = train(texts, labels, fraud_types_for(labels), seed=seed, use_shape=shape)
        self.labels = self.model.labels

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.predict_proba(texts)


def calibration(proba: np.ndarray, y: np.ndarray, bins: int = 10) -> tuple[float, float]:
    """(multi-class Brier score, expected calibration error of the top probability)."""
    onehot = np.zeros_like(proba)
    onehot[np.arange(len(y)), y] = 1
    brier = float(((proba - onehot) ** 2).sum(axis=1).mean())
    top = proba.max(axis=1)
    hit = proba.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        m = (top > lo) & (top <= hi)
        if m.any():
            ece += m.mean() * abs(hit[m].mean() - top[m].mean())
    return brier, float(ece)


def evaluate(make: Callable, xtr, ytr, xte, yte) -> dict:
    t0 = time.perf_counter()
    model = make(xtr, ytr)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    proba = model.predict_proba(xte)
    score_s = time.perf_counter() - t0
    labels = model.labels
    pred = [labels[i] for i in proba.argmax(axis=1)]
    y_idx = np.array([labels.index(v) for v in yte])
    brier, ece = calibration(proba, y_idx)
    per = f1_score(yte, pred, labels=labels, average=None)
    other = ~transcripts(xte)
    return {
        "accuracy": accuracy_score(yte, pred),
        "accuracy_no_transcripts": accuracy_score(np.asarray(yte)[other], np.asarray(pred)[other])
        if other.any()
        else float("nan"),
        "macro_f1": f1_score(yte, pred, average="macro"),
        "per_class": dict(zip(labels, per, strict=True)),
        "brier": brier,
        "ece": ece,
        "fit_s": fit_s,
        "texts_per_s": len(xte) / score_s,
    }


def show(name: str, base: dict, ours: dict) -> None:
    print(f"  {'':28s} {'baseline':>10s} {'fanzha':>10s}")
    for key, fmt in (
        ("accuracy", ".4f"),
        ("accuracy_no_transcripts", ".4f"),
        ("macro_f1", ".4f"),
        ("brier", ".4f"),
        ("ece", ".4f"),
        ("fit_s", ".1f"),
        ("texts_per_s", ",.0f"),
    ):
        print(f"  {key:28s} {base[key]:>10{fmt}} {ours[key]:>10{fmt}}")
    for label in ours["per_class"]:
        print(
            f"  F1 {label:25s} {base['per_class'][label]:>10.4f} {ours['per_class'][label]:>10.4f}"
        )
    print(
        f"  throughput ratio (fanzha / baseline): {ours['texts_per_s'] / base['texts_per_s']:.2f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dev-share", type=float, default=0.2)
    ap.add_argument("--cv", type=int, default=0, help="also run K-fold cross-validation")
    ap.add_argument("--only", choices=sorted(SETS))
    ap.add_argument("--no-shape", action="store_true", help="fanzha without its shape term")
    ap.add_argument("--data", type=Path, default=DATA, help=f"the shared data folder ({DATA})")
    a = ap.parse_args()
    for name, rel in SETS.items():
        path = a.data / rel
        if a.only and name != a.only:
            continue
        if not path.exists():
            print(f"{name}: {path} not found, skipped")
            continue
        rows = read_texts(str(path), need_label=True)
        use = rows.usable()
        x = np.array([rows.texts[i] for i in use], dtype=object)
        y = np.array([rows.labels[i] for i in use])
        skipped = len(rows) - len(use)
        print(
            f"\n{name}: {path.name}, {len(use)} rows ({skipped} unusable), labels "
            f"{dict(zip(*np.unique(y, return_counts=True), strict=True))}"
        )
        xtr, xte, ytr, yte = train_test_split(
            x, y, test_size=a.dev_share, stratify=y, random_state=a.seed
        )
        print(f"stratified dev split: {len(xtr)} train / {len(xte)} dev, seed {a.seed}")
        base = evaluate(Baseline, list(xtr), list(ytr), list(xte), list(yte))
        ours = evaluate(
            lambda xs, ys: Ours(xs, ys, a.seed, not a.no_shape),
            list(xtr),
            list(ytr),
            list(xte),
            list(yte),
        )
        show(name, base, ours)
        if a.cv:
            res: dict[str, list[tuple[float, float, float]]] = {"baseline": [], "fanzha": []}
            folds = StratifiedKFold(a.cv, shuffle=True, random_state=a.seed)
            for tr, te in folds.split(x, y):
                for key, make in (
                    ("baseline", Baseline),
                    ("fanzha", lambda xs, ys: Ours(xs, ys, a.seed, not a.no_shape)),
                ):
                    r = evaluate(make, list(x[tr]), list(y[tr]), list(x[te]), list(y[te]))
                    res[key].append((r["macro_f1"], r["accuracy"], r["accuracy_no_transcripts"]))
            for key, vals in res.items():
                v = np.array(vals)
                print(
                    f"  {a.cv}-fold CV {key:9s} macro-F1 {v[:, 0].mean():.4f} ± {v[:, 0].std():.4f}"
                    f"  accuracy {v[:, 1].mean():.4f} ± {v[:, 1].std():.4f}"
                    f"  (without 发言人N rows {np.nanmean(v[:, 2]):.4f})"
                )


if __name__ == "__main__":
    main()
