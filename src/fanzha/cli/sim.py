"""`fanzha sim` (a synthetic city with ground truth) and `fanzha score` (fanzha end to end on it)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.progress_bar import ProgressBar
from rich.table import Table

from fanzha.cli._app import DbOption, JsonOption, app, err, fail, out, print_json


def _bars(label: str, show: bool) -> Progress:
    """Progress bars on stderr (none when piped or with --json)."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not show,
        transient=True,
    )


@app.command("sim")
def sim_cmd(
    people: Annotated[int, typer.Option("--people", help="People in the city.")] = 20_000,
    days: Annotated[int, typer.Option("--days", help="Days to simulate.")] = 14,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same world (byte for byte).")] = 1,
    output: Annotated[Path | None, typer.Option("-o", "--out", help="Directory to write.")] = None,
    scenario: Annotated[
        Path | None, typer.Option("--scenario", help="YAML overriding the default scenario.")
    ] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Write a synthetic city: partner files, DIR/ingest.yaml and the truth in DIR/truth/."""
    from fanzha.sim import simulate

    if output is None:
        fail("give the output directory with -o DIR")
    _ = db  # sim writes files only; --db is accepted like on every command
    show = not json and err.is_terminal
    t0 = time.perf_counter()
    with _bars("sim {task.description:<14}", show) as bar:
        task = bar.add_task("", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        w = simulate(people, days, seed, output, scenario, progress)
    seconds = time.perf_counter() - t0
    result = {
        "out": w.out,
        "people": w.people,
        "days": w.days,
        "seed": w.seed,
        "events": w.events,
        "total_events": w.total_events,
        "truth": w.truth,
        "seconds": round(seconds, 2),
    }
    if json:
        print_json(result)
        return
    t = Table(title=f"world {w.out}: {w.people:,} people, {w.days} days, seed {w.seed}")
    t.add_column("events")
    t.add_column("rows", justify="right")
    for k, n in w.events.items():
        t.add_row(k, f"{n:,}")
    t.add_row("total", f"{w.total_events:,}")
    out.print(t)
    out.print("truth: " + ", ".join(f"{k} {n:,}" for k, n in w.truth.items()))
    out.print(
        f"{w.total_events / seconds:,.0f} events/s ({seconds:.1f} s); "
        f"score it with: fanzha score {w.out}"
    )


@app.command("score")
def score_cmd(
    world: Annotated[Path, typer.Argument(help="A directory written by `fanzha sim`.")],
    field_outcomes: Annotated[
        bool,
        typer.Option(
            "--field-outcomes",
            help="A simulated field team records what its calls and home visits found "
            "(dissuaded / already paid / unreachable): labels for `fanzha model retrain`.",
        ),
    ] = False,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Run fanzha end to end on a sim world and score it against the truth (DIR/score.json)."""
    from fanzha.sim.report import format_value
    from fanzha.sim.run import metric_rows, score_world

    show = not json and err.is_terminal
    with _bars("{task.description:<28}", show) as bar:
        tasks: dict[int, int] = {}
        run_task = None

        def ingest_progress(i: int, src, done: int, total: int) -> None:
            if i not in tasks:
                tasks[i] = bar.add_task(f"ingest {src.name}", total=total)
            bar.update(tasks[i], completed=done, total=total)

        def run_progress(done: int, total: int) -> None:
            nonlocal run_task
            if run_task is None:
                run_task = bar.add_task("run detectors", total=total)
            bar.update(run_task, completed=done, total=total)

        result = score_world(world, db, ingest_progress, run_progress, field_outcomes)
    if json:
        print_json(result)
        return
    meta = result["meta"]
    t = Table(
        title=f"fanzha scorecard: {world} ({meta['people']:,} people, {meta['days']} days, "
        f"{meta['victims']} victims)"
    )
    for c in ("capability", "metric", "value", ""):
        t.add_column(c, justify="right" if c == "value" else "left")
    for cap, _key, label, value, unit in metric_rows(result):
        bar_ = (
            ProgressBar(total=1.0, completed=float(value), width=20)
            if (unit == "share" and value is not None)
            else ""
        )
        t.add_row(cap, label, format_value(value, unit), bar_)
    out.print(t)
    out.print(
        f"ingested {meta['events_accepted']:,} events ({meta['quarantined']} quarantined) in "
        f"{meta['ingest_seconds']:.1f} s; engine {meta['engine_seconds']:.1f} s; "
        f"{meta['alerts']:,} alerts. Wrote {world / 'score.json'} and {world / 'report.html'}"
    )
