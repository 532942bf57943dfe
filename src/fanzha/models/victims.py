"""The victim-risk model: a small logistic combination of an at_risk signal's own facts.

Fraud caught: all of it, at the person's end (see `fanzha.detectors.victim_risk`). The detector's
default score is hand-weighted (exposure + age, repeat-contact and long-talk bonuses, a floor for
paying a new payee); `fanzha model retrain --model victim-risk` learns the weights of the same
facts from outcomes instead, and the detector uses them only when the policy points its `model`
setting at the file. The facts are the ones every at_risk signal carries in its details, so a
model can be fitted and compared on the signals of the store without replaying anything.

The learned probability is mapped onto the hand score's scale by quantiles of the training
signals (`calibration`): the policy's tier thresholds are capacity decisions (how many home
visits a day), so a retrained model changes who is in a tier, not how many. A model file is one
JSON document (no pickle).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from fanzha.errors import FanzhaError

FORMAT = "fanzha-victim-risk-model/1"
# the facts of one at_risk signal (columns of `facts()`): exposure is the combined strength of
# every sign in the window (1 - prod(1 - s)), before any bonus
FACTS = {
    "exposure": pl.Float64,
    "exposures": pl.Int64,
    "days": pl.Int64,
    "talk_s": pl.Int64,
    "age": pl.Int64,
    "new_payee": pl.Boolean,
    "known": pl.Boolean,
}
FEATURES = (
    "exposure",
    "several_values",  # exposed through two or more numbers/sites/apps
    "repeat",  # contact on two or more days
    "talk_log_min",  # log(1 + minutes of talk with the exposing numbers)
    "elderly",  # 60 or older
    "old",  # 75 or older
    "age_unknown",  # no SIM card event
    "new_payee",
    "known",  # via a number the person has known for a while
)


def features(facts: pl.DataFrame) -> np.ndarray:
    """The model's inputs, one row per signal (float64)."""
    f = facts.select(
        exposure=pl.col.exposure.fill_null(0.0),
        several_values=(pl.col.exposures.fill_null(1) >= 2).cast(pl.Float64),
        repeat=(pl.col.days.fill_null(1) >= 2).cast(pl.Float64),
        talk_log_min=(pl.col.talk_s.fill_null(0).cast(pl.Float64) / 60).log1p(),
        elderly=(pl.col.age >= 60).fill_null(False).cast(pl.Float64),
        old=(pl.col.age >= 75).fill_null(False).cast(pl.Float64),
        age_unknown=pl.col.age.is_null().cast(pl.Float64),
        new_payee=pl.col.new_payee.fill_null(False).cast(pl.Float64),
        known=pl.col.known.fill_null(False).cast(pl.Float64),
    )
    return f.select(FEATURES).to_numpy().astype(np.float64)


def facts_from_details(details: pl.Series) -> pl.DataFrame:
    """The facts of stored at_risk signals, from their details JSON."""
    d = details.str.json_path_match
    out = pl.DataFrame(
        {
            "exposure": d("$.exposure").cast(pl.Float64, strict=False),
            "exposures": d("$.exposures").cast(pl.Int64, strict=False),
            "days": d("$.days").cast(pl.Int64, strict=False),
            "talk_s": d("$.talk_s").cast(pl.Int64, strict=False),
            "age": d("$.age").cast(pl.Int64, strict=False),
            "new_payee": d("$.new_payee") == "true",
            "known": d("$.known") == "true",
        }
    )
    return out.cast(FACTS)  # type: ignore[arg-type]


@dataclass(frozen=True)
class VictimRiskModel:
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    # probability -> score on the hand score's scale (both non-decreasing)
    calib_p: tuple[float, ...]
    calib_score: tuple[float, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        if x.shape[0] == 0:
            return np.zeros(0)
        z = ((x - np.array(self.mean)) / np.array(self.scale)) @ np.array(self.coef)
        return 1.0 / (1.0 + np.exp(-(z + self.intercept)))

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Risk in [0, 1] on the hand score's scale: the policy's tier thresholds still apply."""
        p = self.probabilities(x)
        return np.clip(np.interp(p, self.calib_p, self.calib_score), 0.0, 1.0)

    def save(self, path: str | Path) -> None:
        doc = {"format": FORMAT, "features": list(FEATURES), **self.__dict__}
        doc["calibration"] = {"p": doc.pop("calib_p"), "score": doc.pop("calib_score")}
        try:
            Path(path).write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
        except OSError as e:
            raise FanzhaError(f"cannot write the model {path}: {e.strerror or e}") from None

    @classmethod
    def load(cls, path: str | Path) -> VictimRiskModel:
        where = str(path)
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as e:
            raise FanzhaError(f"cannot read the model {where}: {e.strerror or e}") from None
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise FanzhaError(f"{where}: not a fanzha victim-risk model (not JSON)") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise FanzhaError(f"{where}: not a fanzha victim-risk model (format is not {FORMAT})")
        if tuple(doc.get("features") or ()) != FEATURES:
            raise FanzhaError(f"{where}: made for other features than {', '.join(FEATURES)}")
        try:
            m = cls(
                tuple(float(v) for v in doc["mean"]),
                tuple(float(v) for v in doc["scale"]),
                tuple(float(v) for v in doc["coef"]),
                float(doc["intercept"]),
                tuple(float(v) for v in doc["calibration"]["p"]),
                tuple(float(v) for v in doc["calibration"]["score"]),
                dict(doc.get("meta") or {}),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise FanzhaError(f"{where}: a victim-risk model with a bad field ({e})") from None
        n = len(FEATURES)
        if not (len(m.mean) == len(m.scale) == len(m.coef) == n) or len(m.calib_p) < 2:
            raise FanzhaError(f"{where}: a victim-risk model with the wrong number of weights")
        if len(m.calib_p) != len(m.calib_score) or np.any(np.diff(m.calib_p) < 0):
            raise FanzhaError(f"{where}: a victim-risk model with a bad calibration")
        return m


def fit(
    x: np.ndarray, y: np.ndarray, reference: np.ndarray, meta: dict[str, Any]
) -> VictimRiskModel:
    """A logistic regression on standardised facts (balanced classes, L2), calibrated to the
    quantiles of `reference` (the scores in use on the same rows). Deterministic."""
    from sklearn.linear_model import LogisticRegression

    if x.shape[0] == 0 or y.all() or not y.any():
        raise FanzhaError(
            f"victim-risk model: need both outcomes to learn from ({int(y.sum())} positive, "
            f"{int((~y).sum())} negative signals)"
        )
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
    lr.fit((x - mean) / scale, y)
    m = VictimRiskModel(
        tuple(mean.tolist()),
        tuple(scale.tolist()),
        tuple(lr.coef_[0].tolist()),
        float(lr.intercept_[0]),
        (0.0, 1.0),
        (0.0, 1.0),
        meta,
    )
    q = np.linspace(0, 1, 101)
    p = np.quantile(m.probabilities(x), q)
    s = np.maximum.accumulate(np.quantile(reference, q))
    p, first = np.unique(p, return_index=True)  # np.interp needs distinct points
    s = s[first]
    if len(p) < 2:
        p, s = np.array([0.0, 1.0]), np.array([float(s[0]), float(s[0])])
    return VictimRiskModel(
        m.mean, m.scale, m.coef, m.intercept, tuple(p.tolist()), tuple(s.tolist()), meta
    )
