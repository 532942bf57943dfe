"""The fraud-number model: threshold choice, safe model files, Sichuan-format input, the
`fanzha model train-numbers / score-numbers` commands, and the model on the real Sichuan data."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from fanzha.errors import FanzhaError
from fanzha.models.numbers import (
    NumbersModel,
    best_threshold,
    fit,
    macro_f1,
    read_features,
    train_sichuan,
)
from helpers import SHARED_DATA

SICHUAN = SHARED_DATA / "sichuan"


def test_macro_f1_and_threshold():
    y = np.array([0, 0, 0, 1, 1])
    assert macro_f1(y, y) == 1.0
    assert macro_f1(y, np.array([0, 0, 1, 1, 1])) == pytest.approx((0.8 + 0.8) / 2)
    t, f1 = best_threshold(y, np.array([0.1, 0.2, 0.3, 0.7, 0.9]))
    assert f1 == 1.0 and 0.3 < t <= 0.7  # middle of the plateau, not its edge


def make_csv(path, n=300, seed=0, label=True, signal=1.0):
    """Sichuan-like rows: fraud numbers call many, get few calls back (`signal` < 1 blurs it)."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    f = y & (rng.random(n) < signal)
    df = pl.DataFrame({
        "phone_no_m": [f"id{seed}-{i:04d}" for i in range(n)],
        "opposite_count": np.where(f, rng.integers(200, 900, n), rng.integers(10, 300, n)),
        "calltype_rate": np.where(f, rng.uniform(0.8, 1, n), rng.uniform(0.2, 0.9, n)),
        "imeis": np.where(f, rng.integers(1, 6, n), 1),
    })
    if label:
        df = df.with_columns(label=pl.Series(y.astype(int)))
    df.write_csv(path)
    return y


def test_model_files_round_trip_and_hostile_files_are_refused(tmp_path):
    make_csv(tmp_path / "t.csv")
    _, x, y, names, _ = read_features(tmp_path / "t.csv", labelled=True)
    model, oof = fit(x, y, names, "sichuan", rounds=30)
    assert len(oof) == len(y) and model.meta["cv_macro_f1"] > 0.8
    model.save(tmp_path / "m.json")
    again = NumbersModel.load(tmp_path / "m.json")
    assert again.features == names and again.threshold == model.threshold
    assert np.array_equal(again.scores(x), model.scores(x))
    doc = json.loads((tmp_path / "m.json").read_text())
    for broken, msg in [
        (b"\x80\x04\x95 pickle", "not UTF-8"),
        (b"{}", "format"),
        (json.dumps({**doc, "lightgbm": "tree\nnonsense"}).encode(), "broken"),
        (json.dumps({**doc, "threshold": 7}).encode(), "broken"),
        (json.dumps({**doc, "features": ["a"]}).encode(), "feature count"),
    ]:
        (tmp_path / "b.json").write_bytes(broken)
        with pytest.raises(FanzhaError, match=msg):
            NumbersModel.load(tmp_path / "b.json")
    with pytest.raises(FanzhaError, match="cannot read the model"):
        NumbersModel.load(tmp_path / "missing.json")


def test_bad_feature_files_get_clear_errors_or_missing_values(tmp_path):
    p = tmp_path / "f.csv"
    p.write_text("phone_no_m,a,b,label\nx1,1,2,0\nx2,abc,inf,1\nx3,,3,1\n")
    ids, x, y, names, bad = read_features(p, labelled=True)
    assert ids == ["x1", "x2", "x3"] and names == ("a", "b") and bad == 1  # "abc"
    assert np.isnan(x[1, 0]) and np.isnan(x[1, 1]) and np.isnan(x[2, 0]) and list(y) == [0, 1, 1]
    p.write_text("phone_no_m,a,label\nx1,1,yes\n")
    with pytest.raises(FanzhaError, match="row 2: label must be 0 or 1"):
        read_features(p, labelled=True)
    p.write_text("number,a\nx1,1\n")
    with pytest.raises(FanzhaError, match="no phone_no_m column"):
        read_features(p, labelled=False)
    p.write_text("phone_no_m,a\nx1,1\n")
    with pytest.raises(FanzhaError, match="missing feature column"):
        read_features(p, labelled=False, features=("a", "b"))


def test_train_and_score_on_the_command_line(cli, tmp_path):
    # features tell only half the fraud numbers; the graph tells them all (they share contacts)
    y = make_csv(tmp_path / "train.csv", n=300, signal=0.5)
    yt = make_csv(tmp_path / "test.csv", n=80, seed=1, label=False, signal=0.5)
    fraud = np.flatnonzero(np.concatenate([y, yt]))
    rng = np.random.default_rng(2)
    rows = rng.choice(fraud, 600)
    cols = rng.choice(fraud, 600)
    g = sp.triu(sp.csr_matrix((np.ones(600), (rows, cols)), shape=(380, 380)), k=1).tocsr()
    sp.save_npz(tmp_path / "g.npz", g)
    r = cli("model", "train-numbers", "--train", str(tmp_path / "train.csv"), "--graph",
            str(tmp_path / "g.npz"), "--holdout", "0.2", "--rounds", "30",
            "-o", str(tmp_path / "m.json"), "--json")
    rep = json.loads(r.output)
    assert rep["validation"]["rows"] == 60 and "last 60 of 300 rows" in rep["validation"]["split"]
    assert rep["graph"]["used"] and rep["graph"]["cv_macro_f1_with"] > 0.95
    assert rep["validation"]["macro_f1"] > 0.95
    cli("model", "score-numbers", "--model", str(tmp_path / "m.json"), "--features",
        str(tmp_path / "test.csv"), "--graph", str(tmp_path / "g.npz"), "-o",
        str(tmp_path / "pred.csv"))
    pred = pl.read_csv(tmp_path / "pred.csv")
    assert pred.columns == ["phone_no_m", "score", "label"] and pred.height == 80
    assert pred["label"].is_in([0, 1]).all() and pred["score"].is_between(0, 1).all()
    assert pred.filter(pl.Series(yt))["label"].mean() > 0.9  # the graph finds the quiet ones
    # without the graph, with a graph too small, with a broken file: one-line errors
    bad = cli("model", "score-numbers", "--model", str(tmp_path / "m.json"), "--features",
              str(tmp_path / "test.csv"), "-o", str(tmp_path / "p2.csv"), ok=False)
    assert bad.exit_code != 0 and "give the same graph" in bad.output
    sp.save_npz(tmp_path / "small.npz", sp.csr_matrix((320, 320)))
    bad = cli("model", "score-numbers", "--model", str(tmp_path / "m.json"), "--features",
              str(tmp_path / "test.csv"), "--graph", str(tmp_path / "small.npz"), "-o",
              str(tmp_path / "p2.csv"), ok=False)
    assert bad.exit_code != 0 and "320 nodes" in bad.output
    (tmp_path / "x.npz").write_bytes(b"not a matrix")
    bad = cli("model", "train-numbers", "--train", str(tmp_path / "train.csv"), "--graph",
              str(tmp_path / "x.npz"), "-o", str(tmp_path / "m2.json"), ok=False)
    assert bad.exit_code != 0 and "npz" in bad.output
    bad = cli("model", "train-numbers", "-o", str(tmp_path / "m3.json"), ok=False)
    assert bad.exit_code != 0 and "exactly one of" in bad.output


@pytest.mark.slow
@pytest.mark.skipif(not (SICHUAN / "train.csv").is_file(), reason="needs ../shared/data/sichuan")
def test_sichuan_model_beats_the_published_anchors_on_the_last_fifth(tmp_path):
    """Trained on the first 80% of train.csv (file order), validated on the last 20%; one seed
    (the command's default averages five: 0.928)."""
    rep = train_sichuan(SICHUAN / "train.csv", tmp_path / "m.json", holdout=0.2, bags=1)
    v = rep["validation"]
    assert v["rows"] == 977 and v["fraud"] > 250
    assert v["macro_f1"] >= 0.921  # measured 0.9240; GAT-COBO 0.895, GDFGAT 0.921
