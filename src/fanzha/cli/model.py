"""`fanzha model ...`: train and apply fanzha's models offline (fraud numbers; fraud texts)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fanzha.cli._app import DbOption, JsonOption, err, fail, out, print_json
from fanzha.cli._app import app as root

app = typer.Typer(
    no_args_is_help=True, help="Train and apply fanzha's models offline, on real or simulated data."
)
root.add_typer(app, name="model")


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
