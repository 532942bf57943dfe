"""`fanzha model ...`: train and apply fanzha's models offline (fraud texts, fraud numbers)."""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from fanzha.cli._app import DbOption, JsonOption, err, fail, out, pairs, print_json
from fanzha.cli._app import app as root
from fanzha.errors import FanzhaError

app = typer.Typer(
    no_args_is_help=True,
    help="Train and apply fanzha's models offline, on real or simulated data: fraud texts, fraud numbers.",
)
root.add_typer(app, name="model")

TextCol = Annotated[
    str | None,
    typer.Option(
        "--text-col", help="Column with the text (default: text, content, input, body, ...)."
    ),
]


def _stratified_dev(labels: list[str], share: float, seed: int) -> tuple[list[int], list[int]]:
    from sklearn.model_selection import train_test_split

    idx = list(range(len(labels)))
    tr, dev = train_test_split(idx, test_size=share, stratify=labels, random_state=seed)
    return sorted(tr), sorted(dev)


def dev_report(model, texts: list[str], labels: list[str]) -> dict:
    """Accuracy, macro-F1 and per-label precision/recall/F1 of a model on labelled texts."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    pred, _, _ = model.predict(texts)
    names = sorted(set(labels) | set(pred))
    p, r, f, n = precision_recall_fscore_support(labels, pred, labels=names, zero_division=0)
    return {
        "rows": len(labels),
        "accuracy": round(float(accuracy_score(labels, pred)), 4),
        "macro_f1": round(float(f1_score(labels, pred, average="macro")), 4),
        "per_label": {
            name: {
                "precision": round(float(p[i]), 4),
                "recall": round(float(r[i]), 4),
                "f1": round(float(f[i]), 4),
                "support": int(n[i]),
            }
            for i, name in enumerate(names)
        },
    }


@app.command("train-texts")
def train_texts_cmd(
    train: Annotated[str, typer.Option("--train", help="Labelled texts: CSV or JSONL.")],
    output: Annotated[str, typer.Option("-o", "--output", help="Model file to write.")],
    text_col: TextCol = None,
    label_col: Annotated[
        str | None, typer.Option("--label-col", help="Column with the label (default: label).")
    ] = None,
    label_map: Annotated[
        list[str] | None,
        typer.Option(
            "--label-map",
            help="LABEL=CODE: the fraud type (fanzha.taxonomy code, or 'normal') of a label "
            "the taxonomy does not know. Repeatable.",
        ),
    ] = None,
    dev_share: Annotated[
        float,
        typer.Option(
            "--dev-share",
            help="Hold out this share as a stratified dev split, report on it, and train on "
            "the rest (0: train on everything).",
        ),
    ] = 0.0,
    folds: Annotated[int, typer.Option(help="Folds for the stacked calibration.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the dev split and the folds.")] = 0,
    no_shape: Annotated[
        bool,
        typer.Option(
            "--no-shape",
            help="Leave the text's shape (lines, length, speakers) out of the model: for a "
            "model trained on chats or scripts that will score texts of another shape "
            "(one-line SMS).",
        ),
    ] = False,
    db: DbOption = None,  # not used: models are files; accepted like every command
    json: JsonOption = False,
) -> None:
    """Train a fraud-text classifier from a labelled file and write it to MODEL."""
    from fanzha.models.text import fraud_types_for, read_texts
    from fanzha.models.text import train as fit

    if not 0.0 <= dev_share < 1.0:
        fail("--dev-share must be in [0, 1)")
    if folds < 2:
        fail("--folds must be at least 2")
    rows = read_texts(train, text_col=text_col, label_col=label_col, need_label=True)
    use = rows.usable()
    skipped: dict[str, int] = {}
    for r in rows.reasons:
        if r is not None:
            key = r.split(" (")[0]
            skipped[key] = skipped.get(key, 0) + 1
    if not use:
        fail(f"{train}: no usable rows ({len(rows)} read; {skipped})")
    texts = [rows.texts[i] or "" for i in use]
    labels = [rows.labels[i] or "" for i in use]
    types = fraud_types_for(labels, pairs(label_map, "--label-map"))
    dev = None
    if dev_share > 0:
        try:
            tr, dv = _stratified_dev(labels, dev_share, seed)
        except ValueError as e:
            fail(f"cannot make a stratified dev split: {e}")
        dev = ([texts[i] for i in dv], [labels[i] for i in dv])
        texts, labels = [texts[i] for i in tr], [labels[i] for i in tr]
    t0 = time.perf_counter()
    model = fit(texts, labels, types, folds=folds, seed=seed, use_shape=not no_shape)
    seconds = time.perf_counter() - t0
    model.info["source"] = Path(train).name
    report: dict = {
        "model": output,
        "rows_read": len(rows),
        "rows_trained": len(labels),
        "rows_skipped": skipped,
        "labels": dict(zip(model.labels, model.fraud_types, strict=True)),
        "train_seconds": round(seconds, 1),
    }
    if dev is not None:
        report["dev"] = dev_report(model, *dev)
        model.info["dev"] = report["dev"]
    try:
        model.save(output)
    except OSError as e:
        fail(f"cannot write {output}: {e.strerror or e}")
    if json:
        print_json(report)
        return
    out.print(
        f"trained on {len(labels)} of {len(rows)} rows in {seconds:.1f} s -> {output}"
        + (f"; skipped {skipped}" if skipped else "")
    )
    for label, code in report["labels"].items():
        out.print(f"  label {label!r} -> {code or 'not fraud'}")
    if dev is not None:
        d = report["dev"]
        out.print(
            f"dev ({d['rows']} rows): accuracy {d['accuracy']:.4f}, macro-F1 {d['macro_f1']:.4f}"
        )
        for label, m in d["per_label"].items():
            out.print(
                f"  {label}: F1 {m['f1']:.4f} (P {m['precision']:.4f}, R {m['recall']:.4f}, n={m['support']})"
            )


@app.command("score-texts")
def score_texts_cmd(
    model_path: Annotated[str, typer.Option("--model", help="A model from train-texts.")],
    input_path: Annotated[str, typer.Option("--in", help="Texts to score: CSV or JSONL.")],
    output: Annotated[str, typer.Option("-o", "--output", help="Predictions CSV to write.")],
    text_col: TextCol = None,
    id_col: Annotated[
        str | None, typer.Option("--id-col", help="Copy this column first into the output.")
    ] = None,
    explain: Annotated[
        int,
        typer.Option(
            "--explain",
            help="Add the N words that drove each prediction, then the share of the text's shape.",
        ),
    ] = 0,
    batch: Annotated[int, typer.Option(help="Texts scored at once.")] = 2048,
    db: DbOption = None,  # not used: models are files; accepted like every command
    json: JsonOption = False,
) -> None:
    """Score every row of a file: label,score (plus fraud_type, fraud_score, reason) in input
    order. A row that cannot be scored keeps its place with an empty label and the reason."""
    from fanzha.models.text import TextModel, read_texts

    if batch < 1:
        fail("--batch must be at least 1")
    model = TextModel.load(model_path)
    rows = read_texts(input_path, text_col=text_col, id_col=id_col)
    n = len(rows)
    label: list[str] = [""] * n
    score: list[str] = [""] * n
    ftype: list[str] = [""] * n
    fscore: list[str] = [""] * n
    why: list[str] = [""] * n
    use = rows.usable()
    t0 = time.perf_counter()
    for start in range(0, len(use), batch):
        part = use[start : start + batch]
        texts = [rows.texts[i] or "" for i in part]
        proba = model.predict_proba(texts)
        best = proba.argmax(axis=1)
        fraud = proba[:, ~model.normal].sum(axis=1)
        for j, i in enumerate(part):
            label[i] = model.labels[best[j]]
            score[i] = f"{proba[j, best[j]]:.4f}"
            fscore[i] = f"{fraud[j]:.4f}"
            ftype[i] = model.fraud_types[best[j]]
            if explain:
                words = model.explain(texts[j], explain, label[i])
                why[i] = " ".join(f"{e.feature}:{e.weight:.2f}" for e in words)
                if model.shape_weights is not None:  # a short excerpt: too little to be sure
                    why[i] += f" (shape:{model.shape_share(texts[j], label[i]):+.2f})"
    seconds = time.perf_counter() - t0
    for i, r in enumerate(rows.reasons):
        if r is not None:
            why[i] = r
    header = ([id_col] if id_col else []) + [
        "label",
        "score",
        "fraud_type",
        "fraud_score",
        "reason",
    ]
    try:
        fh = sys.stdout if output == "-" else open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as e:
        raise FanzhaError(f"cannot write {output}: {e.strerror or e}") from None
    try:
        w = csv.writer(fh)
        w.writerow(header)
        for i in range(n):
            w.writerow(
                ([rows.ids[i] or ""] if id_col else [])
                + [label[i], score[i], ftype[i], fscore[i], why[i]]
            )
    finally:
        if fh is not sys.stdout:
            fh.close()
    bad = n - len(use)
    summary = {
        "rows": n,
        "scored": len(use),
        "not_scored": bad,
        "fraud": int(sum(1 for i in use if ftype[i])),
        "texts_per_second": round(len(use) / seconds, 1) if seconds > 0 else None,
        "output": output,
    }
    if json:
        print_json(summary)
    elif output != "-":
        out.print(
            f"scored {len(use)} of {n} rows -> {output}"
            + (f"; {bad} row(s) not scored (see the reason column)" if bad else "")
        )
    if bad and not json:
        err.print(f"{bad} row(s) could not be scored; they have an empty label and a reason")


@app.command("train-numbers")
def train_numbers_cmd(
    output: Annotated[Path, typer.Option("-o", "--out", help="Model file to write (JSON).")],
    train: Annotated[
        Path | None,
        typer.Option("--train", help="Per-number features with a label column (Sichuan format)."),
    ] = None,
    graph: Annotated[
        Path | None,
        typer.Option(
            "--graph",
            help="Call graph (scipy .npz adjacency) whose first nodes are --train's rows in order.",
        ),
    ] = None,
    from_world: Annotated[
        Path | None,
        typer.Option("--from-world", help="A `fanzha sim` world: features from its call events."),
    ] = None,
    holdout: Annotated[
        float,
        typer.Option(
            "--holdout",
            min=0.0,
            max=0.9,
            help="Keep the LAST share of --train's rows (file order) out of training and report "
            "the model's macro-F1 on them.",
        ),
    ] = 0.0,
    rounds: Annotated[
        int | None,
        typer.Option("--rounds", min=10, help="Boosting rounds (default 500; 150 --from-world)."),
    ] = None,
    bags: Annotated[
        int,
        typer.Option("--bags", min=1, max=50, help="Models with other seeds, averaged (--train)."),
    ] = 5,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Train a fraud-number model (LightGBM) and choose its threshold by cross-validation."""
    from fanzha.models import numbers

    _ = db  # training reads files only; --db is accepted like on every command
    if (train is None) == (from_world is None):
        fail("give exactly one of --train CSV or --from-world DIR")
    if from_world is not None:
        if graph is not None or holdout:
            fail("--graph and --holdout go with --train (Sichuan features), not --from-world")
        report = numbers.train_events(from_world, output, rounds=rounds or 150)
    else:
        assert train is not None
        report = numbers.train_sichuan(
            train, output, graph=graph, holdout=holdout, rounds=rounds or numbers.ROUNDS, bags=bags
        )
    if json:
        print_json(report)
        return
    out.print(
        f"model {output}: {report['source']} features, {report['rows']:,} training rows "
        f"({report['fraud_rows']:,} fraud), threshold {report['threshold']:.2f}, "
        f"cross-validated macro-F1 {report['cv_macro_f1']:.4f}"
    )
    v = report.get("validation")
    if v:
        out.print(
            f"validation ({v['rows']:,} rows: {v['split']}): macro-F1 {v['macro_f1']:.4f}, "
            f"fraud precision {v['precision']:.4f}, recall {v['recall']:.4f}"
        )


@app.command("score-numbers")
def score_numbers_cmd(
    model: Annotated[Path, typer.Option("--model", help="A model from `model train-numbers`.")],
    features: Annotated[
        Path, typer.Option("--features", help="Per-number features (CSV with phone_no_m).")
    ],
    output: Annotated[Path, typer.Option("-o", "--out", help="Predictions CSV to write.")],
    graph: Annotated[
        Path | None,
        typer.Option(
            "--graph",
            help="Call graph (.npz): the model's training rows first, then these rows in order.",
        ),
    ] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Score every row: writes phone_no_m,score,label (label at the model's threshold)."""
    from fanzha.models import numbers

    _ = db
    report = numbers.score_file(model, features, output, graph=graph)
    if json:
        print_json(report)
        return
    out.print(
        f"{output}: {report['rows']:,} numbers scored, {report['fraud']:,} labelled fraud "
        f"at threshold {report['threshold']:.2f}"
    )
    if report["bad_cells"]:
        err.print(
            f"warning: {report['bad_cells']:,} feature cells were not numbers (read as missing)"
        )


@app.command("retrain")
def retrain_cmd(
    output: Annotated[Path, typer.Option("-o", "--out", help="Model file to write (JSON).")],
    cut: Annotated[
        str, typer.Option("--cut", help="Train strictly before this time; compare after it.")
    ],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="numbers (the fraud-number model) or victim-risk (victim_risk's weights).",
        ),
    ] = "numbers",
    current: Annotated[
        Path | None,
        typer.Option(
            "--current",
            help="The model in use (default: the shipped one; for victim-risk the live "
            "policy's, else the hand-weighted score).",
        ),
    ] = None,
    rounds: Annotated[
        int, typer.Option("--rounds", min=10, help="Boosting rounds (numbers).")
    ] = 150,
    horizon_days: Annotated[
        float,
        typer.Option(
            "--horizon-days",
            min=0.0,
            help="victim-risk: a signal is positive when its person became a victim (or was "
            "reached by fraud) within this many days.",
        ),
    ] = 7.0,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Refresh a model from outcomes in the store: confirmed / cleared numbers and cases
    (numbers); cases, dissuasion outcomes and 'not fraud' verdicts (victim-risk)."""
    from fanzha.cli._app import iso_time, store
    from fanzha.models.retrain import retrain_numbers, retrain_victim_risk

    if model not in ("numbers", "victim-risk"):
        fail(f"--model must be numbers or victim-risk, not {model!r}")
    t = iso_time(cut, "--cut")
    assert t is not None
    cur = str(current) if current else None
    with store(db, read_only=True) as s:
        if model == "numbers":
            r = retrain_numbers(s, t, output, cur, rounds)
        else:
            r = retrain_victim_risk(s, t, output, cur, horizon_days)
    if json:
        print_json(r)
        return
    if model == "victim-risk":
        _print_victim_retrain(output, r)
        return
    tr = r["train"]
    out.print(
        f"model {output}: trained on {tr['rows']:,} rows before {r['cut']} "
        f"({tr['numbers']:,} numbers, {tr['fraud_numbers']} confirmed fraud)"
    )
    for k in ("before", "after"):
        v = r[k]
        out.print(
            f"{k:>6} ({v['model']}) on {v['numbers']:,} numbers after the cut "
            f"({v['fraud_numbers']} fraud): flagged {v['flagged']}, precision {v['precision']}, "
            f"recall {v['recall']}"
        )


def _print_victim_retrain(output: Path, r: dict) -> None:
    tr = r["train"]
    out.print(
        f"model {output}: trained on {tr['signals']:,} at_risk signals before {r['cut']} "
        f"({tr['people']:,} people, {tr['positive_signals']} labelled at risk)"
    )

    def f(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    for k in ("before", "after"):
        v = r[k]
        tiers = "; ".join(
            f"{t.removesuffix('_or_above')}+ {v[t]['people']} (p {f(v[t]['precision'])}, "
            f"r {f(v[t]['recall'])})"
            for t in ("high_or_above", "medium_or_above", "low_or_above")
        )
        out.print(
            f"{k:>6} ({v['model']}) on {v['people']:,} people after the cut "
            f"({v['at_risk_people']} at risk): AUC {f(v['auc'])}; {tiers}",
            markup=False,
        )
