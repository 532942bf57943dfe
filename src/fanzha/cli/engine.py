"""`fanzha run`, `fanzha alerts`, `fanzha quarantine`, `fanzha status`: the streaming side."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from fanzha.cli._app import DbOption, JsonOption, app, err, fail, out, print_json, store
from fanzha.decide import TIERS
from fanzha.engine.runner import Engine


@app.command("run")
def run_cmd(
    db: DbOption = None,
    batch_size: Annotated[int, typer.Option(help="Log positions per micro-batch.")] = 100_000,
    replay: Annotated[
        bool,
        typer.Option(
            "--replay", help="Forget signals, alerts and state; process the whole log again."
        ),
    ] = False,
    progress_lines: Annotated[
        bool, typer.Option("--progress-lines", help="Print one line per committed micro-batch.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Run the detectors over every event not processed yet (resumable)."""
    with store(db) as s:
        if replay:
            s.reset_engine()
        engine = Engine(s, batch_size=batch_size)
        show = not json and not progress_lines and err.is_terminal
        with Progress(
            TextColumn("run"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            disable=not show,
            transient=True,
        ) as bar:
            task = bar.add_task("run", total=None)

            def on_commit(summary, top: int) -> None:
                bar.update(task, completed=summary.watermark, total=top)
                if progress_lines:
                    print(f"committed watermark={summary.watermark} top={top}", flush=True)

            summary = engine.run(on_commit=on_commit)
    if json:
        print_json(summary.to_dict())
    else:
        rate = summary.events / summary.seconds if summary.seconds else 0.0
        out.print(
            f"processed {summary.events} events in {summary.batches} batch(es) "
            f"({rate:,.0f}/s): {summary.signals} signals, {summary.alerts_touched} alert "
            f"updates; watermark {summary.watermark}"
        )


@app.command("alerts")
def alerts_cmd(
    db: DbOption = None,
    tier: Annotated[str | None, typer.Option(help="Only this tier.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (most urgent first).")] = 1000,
    json: JsonOption = False,
) -> None:
    """List alerts, most urgent first."""
    if tier is not None and tier not in TIERS:
        fail(f"--tier must be one of {', '.join(TIERS)}")
    with store(db, read_only=True) as s:
        rows = s.alerts().to_pylist()
    rank = {t: i for i, t in enumerate(TIERS)}
    rows = [r for r in rows if tier is None or r["tier"] == tier]
    rows.sort(key=lambda r: (-rank[r["tier"]], r["sla_due"], r["alert_id"]))
    rows = rows[:limit]
    if json:
        print_json({"alerts": rows, "count": len(rows)})
        return
    t = Table(title=f"{len(rows)} alert(s)")
    for c in ("tier", "entity", "fraud_type", "actions", "sla_due (UTC)", "signals"):
        t.add_column(c, no_wrap=True)
    t.add_column("evidence")
    for r in rows:
        t.add_row(
            r["tier"],
            r["entity"],
            r["fraud_type"] or "",
            ",".join(r["actions"] or []),
            f"{r['sla_due']:%Y-%m-%d %H:%M}",
            str(r["n_signals"]),
            r["evidence"],
        )
    out.print(t)


@app.command("quarantine")
def quarantine_cmd(
    db: DbOption = None,
    batch: Annotated[int | None, typer.Option(help="Only this ingest batch.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 100,
    json: JsonOption = False,
) -> None:
    """Show quarantined rows with their file, line and reason."""
    with store(db, read_only=True) as s:
        rows = s.quarantine(batch).to_pylist()
    if json:
        print_json({"rows": rows[:limit], "count": len(rows)})
        return
    t = Table(title=f"{len(rows)} quarantined row(s)")
    for c in ("batch", "file", "line", "reason", "raw"):
        t.add_column(c)
    for r in rows[:limit]:
        t.add_row(str(r["batch_id"]), r["source_file"], str(r["line"]), r["reason"], r["raw"][:80])
    out.print(t)


@app.command("status")
def status_cmd(db: DbOption = None, json: JsonOption = False) -> None:
    """Events per kind, log position, engine watermark, alerts per tier."""
    with store(db, read_only=True) as s:
        counts = s.count_events()
        watermark, _ = s.load_engine()
        top = s.max_seq()
        alerts = s.alerts().to_pylist()
        quarantined = s.quarantine().num_rows
    tiers = {t: sum(1 for a in alerts if a["tier"] == t) for t in TIERS}
    result = {
        "events": counts,
        "max_seq": top,
        "watermark": watermark,
        "pending": top - watermark,
        "alerts": tiers,
        "quarantined": quarantined,
    }
    if json:
        print_json(result)
        return
    for k, n in counts.items():
        if n:
            out.print(f"{k:>15} {n:>10}")
    out.print(
        f"log position {top}, processed up to {watermark} ({top - watermark} pending); "
        f"alerts {tiers}; quarantined rows {quarantined}"
    )
