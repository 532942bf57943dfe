"""The fraud-text classifier: which fraud script an SMS, chat or report text follows.

Fraud SMS and call scripts are the fraudsters' own words, and 12381 warnings and police reports are
organised by fraud type; this model reads a text and says which type it is, with a calibrated
probability and the words that drove the decision. It trains in a minute on a CPU from a labelled
file and needs no downloaded weights.

How: every text goes through `normalize` (evasions undone), then into three TF-IDF spaces:
character 1-5-grams, character 1-2-grams and word 1-2-grams (words cut by jieba-rs, whose
dictionary ships with the wheel). Three linear members are fitted one-vs-rest: a linear SVM on
the 1-5-grams, an NB-SVM (naive-Bayes log-count ratios times an SVM, Wang & Manning 2012) on the
1-2-grams, a linear SVM on the words. A multinomial logistic regression stacks their
out-of-fold scores together with three numbers about the text's shape (`shape`: how many lines,
characters and named speakers it has): it weighs the members and calibrates the probabilities
(Platt scaling generalised to K classes). The shape is there because evidence grows with length:
a two-line excerpt of a chat that reads like a fraud script is less often fraud than a
twelve-line one (on the public dialogue set 61% of 1-3-line windows are fraud, 94% of 9-12-line
ones), and a linear sum of n-gram weights cannot say "fraud-like, but too little of it" by
itself. All of it is linear, so it collapses into one weight matrix per space plus one over the
three shape numbers: scoring is a sparse product, and a prediction is explained exactly by its
n-grams' shares of the logit (plus the shape's, reported apart).

Saved models are a NumPy .npz of arrays and JSON (vocabularies, idf, weights): loading one runs no
code, so a model file from a partner is safe to open.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import rjieba
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from fanzha.errors import FanzhaError
from fanzha.models.text.normalize import normalize

FORMAT = "fanzha-text-model"
FORMAT_VERSION = 2  # 2 added the shape weights; a version-1 file loads without a shape term
MODEL_MAX_BYTES = 1 << 30  # a model file larger than this is refused before it is read


@dataclass(frozen=True)
class SpaceSpec:
    """A TF-IDF feature space over normalised text."""

    name: str
    analyzer: str  # "char" or "word"
    ngram: tuple[int, int]


@dataclass(frozen=True)
class MemberSpec:
    """One linear member of the ensemble: a one-vs-rest linear SVM on one space."""

    space: str
    c: float
    nb: bool = False  # scale features by naive-Bayes log-count ratios (NB-SVM)


SPACES: tuple[SpaceSpec, ...] = (
    SpaceSpec("char1-5", "char", (1, 5)),
    SpaceSpec("char1-2", "char", (1, 2)),
    SpaceSpec("word1-2", "word", (1, 2)),
)
MEMBERS: tuple[MemberSpec, ...] = (
    MemberSpec("char1-5", 1.0),
    MemberSpec("char1-2", 0.1, nb=True),
    MemberSpec("word1-2", 0.3),
)


SHAPE_FEATURES = ("log1p_lines", "log1p_chars", "log1p_speakers")
_SPEAKER = re.compile(r"^\s*([^\s:]{1,16})\s*:", re.MULTILINE)  # after normalize(): ":" only


def shape(normalized: Sequence[str]) -> np.ndarray:
    """(n, 3) shape numbers of normalised texts: log(1 + lines), log(1 + characters) and
    log(1 + distinct speakers), a speaker being a name of up to 16 characters before a colon at
    the start of a line ("李婷: ...", "客服: ..."); an SMS has none."""
    out = np.zeros((len(normalized), len(SHAPE_FEATURES)))
    for i, t in enumerate(normalized):
        out[i] = (t.count("\n") + 1 if t else 0, len(t), len(set(_SPEAKER.findall(t))))
    return np.log1p(out)


def words(text: str) -> list[str]:
    """Chinese words (jieba-rs, dictionary shipped with the wheel); runs of Latin and digits
    stay whole."""
    return [w for w in rjieba.cut(text) if not w.isspace()]


def vectorizer(spec: SpaceSpec, vocabulary: dict[str, int] | None = None, min_df: int = 1):
    common: dict[str, Any] = {
        "ngram_range": spec.ngram,
        "sublinear_tf": True,
        "lowercase": False,  # normalize() already did
        "dtype": np.float32,
        "vocabulary": vocabulary,
    }
    if vocabulary is None:
        common["min_df"] = min_df
    if spec.analyzer == "char":
        return TfidfVectorizer(analyzer="char", **common)
    return TfidfVectorizer(analyzer="word", tokenizer=words, token_pattern=None, **common)


@dataclass
class Space:
    """A fitted space: its vocabulary, idf and the collapsed class weights (K x V)."""

    spec: SpaceSpec
    vocab: list[str]
    idf: np.ndarray
    weights: np.ndarray
    _vec: Any = field(default=None, repr=False, compare=False)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        if self._vec is None:
            vec = vectorizer(self.spec, {t: i for i, t in enumerate(self.vocab)})
            vec.idf_ = self.idf
            self._vec = vec
        return self._vec.transform(texts).tocsr()


@dataclass(frozen=True)
class Evidence:
    """A word of the text and its share of the predicted class's logit."""

    feature: str
    weight: float


@dataclass
class TextModel:
    """A trained fraud-text classifier (see the module docstring)."""

    labels: list[str]  # the training file's labels, in model order
    fraud_types: list[str]  # fanzha.taxonomy code of each label; "" for not fraud
    spaces: list[Space]
    bias: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    shape_weights: np.ndarray | None = None  # (K, len(SHAPE_FEATURES)); None = no shape term
    shape_center: np.ndarray | None = None  # the training texts' mean shape, where the term is 0

    @property
    def normal(self) -> np.ndarray:
        return np.array([t == "" for t in self.fraud_types])

    def logits(self, normalized: Sequence[str]) -> np.ndarray:
        out = np.tile(self.bias.astype(np.float64), (len(normalized), 1))
        if not normalized:
            return out
        if self.shape_weights is not None:
            out += (shape(normalized) - self.shape_center) @ self.shape_weights.T
        for s in self.spaces:
            out += np.asarray(s.transform(normalized) @ s.weights.T, dtype=np.float64)
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated class probabilities (rows sum to 1), columns in `labels` order."""
        return _softmax(self.logits([normalize(t) for t in texts]))

    def predict(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(label, probability of that label, probability that the text is fraud) per text."""
        p = self.predict_proba(texts)
        best = p.argmax(axis=1)
        fraud = p[:, ~self.normal].sum(axis=1)
        return [self.labels[i] for i in best], p[np.arange(len(best)), best], fraud

    def fraud_type_of(self, proba: np.ndarray) -> list[str | None]:
        """Most probable fraud type of each row (summed over labels of the same type)."""
        codes = sorted({t for t in self.fraud_types if t})
        if not codes:
            return [None] * len(proba)
        by_code = np.column_stack(
            [proba[:, [t == c for t in self.fraud_types]].sum(axis=1) for c in codes]
        )
        return [codes[i] for i in by_code.argmax(axis=1)]

    def explain(self, text: str, top: int = 8, label: str | None = None) -> list[Evidence]:
        """The words that pushed the text towards `label` (default: the predicted one), largest
        first. Each n-gram's share of that class's logit (relative to the mean of all classes)
        is split over the words (cut by jieba) it overlaps; shares sum over a word's occurrences.
        The text's shape (length, lines, speakers) also moves the logit; `shape_share` says by
        how much.
        """
        norm = normalize(text)
        k = self._label_index(norm, label)
        chars: dict[str, float] = {}
        word_feats: dict[str, float] = {}
        longest = 1
        for s in self.spaces:
            row = s.transform([norm])
            w = s.weights[k] - s.weights.mean(axis=0)
            into = chars if s.spec.analyzer == "char" else word_feats
            for i, c in zip(row.indices, row.data * w[row.indices], strict=True):
                into[s.vocab[i]] = into.get(s.vocab[i], 0.0) + float(c)
            if s.spec.analyzer == "char":
                longest = max(longest, s.spec.ngram[1])
        spans = rjieba.tokenize(norm)
        owner = np.zeros(len(norm), dtype=np.int64)
        for j, (_, a, b) in enumerate(spans):
            owner[a:b] = j
        per_token = np.zeros(len(spans))
        occurrences: dict[str, list[int]] = {}
        for n in range(1, longest + 1):
            for i in range(len(norm) - n + 1):
                g = norm[i : i + n]
                if g in chars:
                    occurrences.setdefault(g, []).append(i)
        for g, starts in occurrences.items():
            share = chars[g] / len(starts) / len(g)
            for i in starts:
                np.add.at(per_token, owner[i : i + len(g)], share)
        by_word: dict[str, float] = {}
        for j, (tok, _, _) in enumerate(spans):
            by_word[tok] = by_word.get(tok, 0.0) + per_token[j]
        for feat, c in word_feats.items():
            parts = feat.split(" ")
            for tok in parts:
                by_word[tok] = by_word.get(tok, 0.0) + c / len(parts)
        shown = [
            Evidence(tok, round(c, 4))
            for tok, c in by_word.items()
            if c > 0 and any(ch.isalnum() for ch in tok)
        ]
        shown.sort(key=lambda e: (-e.weight, e.feature))
        return shown[:top]

    def _label_index(self, norm: str, label: str | None) -> int:
        """Row of `label` (None: the label predicted for the normalised text)."""
        if label is None:
            return int(self.logits([norm])[0].argmax())
        if label not in self.labels:
            raise FanzhaError(f"unknown label {label!r}; the model knows {self.labels}")
        return self.labels.index(label)

    def shape_share(self, text: str, label: str | None = None) -> float:
        """How much the text's shape (lines, characters, speakers) moved `label`'s logit
        (default: the predicted label) away from where a text of the training set's mean shape
        would have it, relative to the mean of all classes; 0 without a shape term. Negative for
        fraud labels on a short excerpt of a chat: too little text to be sure."""
        norm = normalize(text)
        k = self._label_index(norm, label)
        if self.shape_weights is None:
            return 0.0
        w = self.shape_weights[k] - self.shape_weights.mean(axis=0)
        return round(float((shape([norm])[0] - self.shape_center) @ w), 4)

    # --- files --------------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "labels": self.labels,
            "fraud_types": self.fraud_types,
            "spaces": [
                {"name": s.spec.name, "analyzer": s.spec.analyzer, "ngram": list(s.spec.ngram)}
                for s in self.spaces
            ],
            "info": self.info,
        }
        if self.shape_weights is not None:
            meta["shape_features"] = list(SHAPE_FEATURES)
        arrays: dict[str, np.ndarray] = {"meta": _json_bytes(meta), "bias": self.bias}
        if self.shape_weights is not None:
            arrays["shape"] = self.shape_weights.astype(np.float64)
            arrays["shape_center"] = np.asarray(self.shape_center, dtype=np.float64)
        for i, s in enumerate(self.spaces):
            arrays[f"vocab{i}"] = _json_bytes(s.vocab)
            arrays[f"idf{i}"] = s.idf.astype(np.float32)
            arrays[f"weights{i}"] = s.weights.astype(np.float32)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
        Path(path).write_bytes(buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> TextModel:
        """Read a model file; a clear FanzhaError if it is not one. No code is run (no pickle)."""
        p = Path(path)
        if not p.is_file():
            raise FanzhaError(f"{path}: no such model file")
        if p.stat().st_size > MODEL_MAX_BYTES:
            raise FanzhaError(f"{path}: larger than {MODEL_MAX_BYTES} bytes, not a text model")
        try:
            with np.load(p, allow_pickle=False) as z:
                meta = json.loads(bytes(z["meta"]).decode("utf-8"))
                if meta.get("format") != FORMAT:
                    raise ValueError("not a fanzha text model")
                if meta.get("version") not in (1, FORMAT_VERSION):
                    raise ValueError(f"format version {meta.get('version')} is not supported")
                labels = [str(x) for x in meta["labels"]]
                bias = np.asarray(z["bias"], dtype=np.float64)
                spaces = []
                for i, sm in enumerate(meta["spaces"]):
                    spec = SpaceSpec(str(sm["name"]), str(sm["analyzer"]), tuple(sm["ngram"]))
                    if spec.analyzer not in ("char", "word"):
                        raise ValueError(f"unknown analyzer {spec.analyzer!r}")
                    vocab = json.loads(bytes(z[f"vocab{i}"]).decode("utf-8"))
                    idf = np.asarray(z[f"idf{i}"], dtype=np.float32)
                    w = np.asarray(z[f"weights{i}"], dtype=np.float32)
                    if w.shape != (len(labels), len(vocab)) or idf.shape != (len(vocab),):
                        raise ValueError(f"space {spec.name}: shapes do not agree")
                    spaces.append(Space(spec, [str(v) for v in vocab], idf, w))
                if bias.shape != (len(labels),) or len(meta["fraud_types"]) != len(labels):
                    raise ValueError("labels and weights do not agree")
                shape_weights = shape_center = None
                if "shape" in z.files:
                    if meta.get("shape_features") != list(SHAPE_FEATURES):
                        raise ValueError(f"shape features {meta.get('shape_features')} unknown")
                    shape_weights = np.asarray(z["shape"], dtype=np.float64)
                    shape_center = np.asarray(z["shape_center"], dtype=np.float64)
                    if shape_weights.shape != (len(labels), len(SHAPE_FEATURES)) or (
                        shape_center.shape != (len(SHAPE_FEATURES),)
                    ):
                        raise ValueError("shape weights and labels do not agree")
        except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as e:
            raise FanzhaError(f"{path}: not a readable fanzha text model ({e})") from None
        fraud_types = [str(t) for t in meta["fraud_types"]]
        return cls(labels, fraud_types, spaces, bias, meta["info"], shape_weights, shape_center)


def _json_bytes(obj: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(obj, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# --- training ---------------------------------------------------------------------------------


@dataclass
class _Fitted:
    """One member's one-vs-rest fit: effective coefficients (ratios folded in) and intercepts."""

    coef: np.ndarray  # (K_m, V)
    intercept: np.ndarray  # (K_m,)

    def decision(self, x: sp.csr_matrix) -> np.ndarray:
        return np.asarray(x @ self.coef.T) + self.intercept


def _fit_member(m: MemberSpec, x: sp.csr_matrix, y: np.ndarray, k: int, seed: int) -> _Fitted:
    targets = [y == 1] if k == 2 else [y == c for c in range(k)]
    binary = (x > 0).astype(np.float32) if m.nb else None
    coefs, intercepts = [], []
    for pos in targets:
        r = np.ones(x.shape[1], dtype=np.float32)
        if binary is not None:
            p = 1.0 + np.asarray(binary[pos].sum(axis=0)).ravel()
            q = 1.0 + np.asarray(binary[~pos].sum(axis=0)).ravel()
            r = np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)
        svm = LinearSVC(C=m.c, random_state=seed, max_iter=5000)
        svm.fit(x.multiply(r).tocsr() if binary is not None else x, pos)
        coefs.append(svm.coef_[0].astype(np.float32) * r)
        intercepts.append(float(svm.intercept_[0]))
    return _Fitted(np.vstack(coefs), np.array(intercepts))


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    fraud_types: dict[str, str],
    *,
    folds: int = 5,
    seed: int = 0,
    members: Sequence[MemberSpec] = MEMBERS,
    spaces: Sequence[SpaceSpec] = SPACES,
    min_df: int | None = None,
    use_shape: bool = True,
) -> TextModel:
    """Fit the ensemble on (text, label) pairs. `fraud_types` maps every label to a taxonomy code
    ("" for not fraud); see `fanzha.models.text.labels`. `use_shape=False` leaves the shape
    numbers out of the stacker (the model of format version 1)."""
    if len(texts) != len(labels):
        raise FanzhaError("texts and labels differ in length")
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise FanzhaError(f"need at least two labels to learn from, got {classes}")
    missing = [c for c in classes if c not in fraud_types]
    if missing:
        raise FanzhaError(f"no fraud type for label(s) {missing}")
    y = np.array([classes.index(label) for label in labels])
    counts = np.bincount(y, minlength=len(classes))
    if counts.min() < 2:
        few = [c for c, n in zip(classes, counts, strict=True) if n < 2]
        raise FanzhaError(f"label(s) {few} have fewer than 2 examples; need at least 2 each")
    norm = [normalize(t) for t in texts]
    if min_df is None:
        min_df = 2 if len(norm) >= 1000 else 1
    used = {m.space for m in members}
    specs = [s for s in spaces if s.name in used]
    if unknown := used - {s.name for s in specs}:
        raise FanzhaError(f"members use unknown space(s) {sorted(unknown)}")
    mats, vecs = {}, {}
    for s in specs:
        vec = vectorizer(s, min_df=min_df)
        try:
            mats[s.name] = vec.fit_transform(norm).tocsr()
        except ValueError as e:  # empty vocabulary: every text blank after normalisation
            raise FanzhaError(f"space {s.name}: {e}") from None
        vecs[s.name] = vec
    k = len(classes)
    n_folds = int(min(folds, counts.min()))
    oof = []
    for m in members:
        x = mats[m.space]
        width = 1 if k == 2 else k
        scores = np.zeros((len(y), width))
        if n_folds >= 2:
            for tr, te in StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(x, y):
                scores[te] = _fit_member(m, x[tr], y[tr], k, seed).decision(x[te])
        oof.append(scores)
    full = [_fit_member(m, mats[m.space], y, k, seed) for m in members]
    feats = (
        np.hstack(oof)
        if n_folds >= 2
        else np.hstack([f.decision(mats[m.space]) for m, f in zip(members, full, strict=True)])
    )
    n_member_feats = feats.shape[1]
    shape_center = None
    if use_shape:
        shapes = shape(norm)
        shape_center = shapes.mean(axis=0)
        feats = np.hstack([feats, shapes - shape_center])
    meta = LogisticRegression(C=1.0, max_iter=2000).fit(feats, y)
    mc = meta.coef_ if k > 2 else np.vstack([np.zeros_like(meta.coef_[0]), meta.coef_[0]])
    mb = meta.intercept_ if k > 2 else np.array([0.0, meta.intercept_[0]])
    weights = {s.name: np.zeros((k, mats[s.name].shape[1]), dtype=np.float64) for s in specs}
    bias = mb.astype(np.float64).copy()
    off = 0
    for m, f in zip(members, full, strict=True):
        for j in range(f.coef.shape[0]):
            weights[m.space] += np.outer(mc[:, off + j], f.coef[j])
            bias += mc[:, off + j] * f.intercept[j]
        off += f.coef.shape[0]
    shape_weights = mc[:, n_member_feats:].astype(np.float64).copy() if use_shape else None
    fitted = []
    for s in specs:
        vocab = [""] * len(vecs[s.name].vocabulary_)
        for term, i in vecs[s.name].vocabulary_.items():
            vocab[i] = term
        fitted.append(
            Space(
                s, vocab, vecs[s.name].idf_.astype(np.float32), weights[s.name].astype(np.float32)
            )
        )
    info = {
        "rows": len(y),
        "label_counts": {c: int(n) for c, n in zip(classes, counts, strict=True)},
        "folds": n_folds,
        "seed": seed,
        "min_df": min_df,
        "members": [{"space": m.space, "c": m.c, "nb": m.nb} for m in members],
        "stack_weights": np.round(np.abs(mc).sum(axis=0), 4).tolist(),
        "shape": use_shape,
    }
    types = [fraud_types[c] for c in classes]
    return TextModel(classes, types, fitted, bias, info, shape_weights, shape_center)


@lru_cache(maxsize=8)
def cached_model(path: str, mtime_ns: int) -> TextModel:
    """A loaded model, shared by detectors built from the same unchanged file."""
    del mtime_ns  # part of the cache key only
    return TextModel.load(path)
