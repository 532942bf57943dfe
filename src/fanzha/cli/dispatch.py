"""`fanzha dispatch`, `fanzha tasks`, `fanzha outcome`: dissuasion on channels, and what came of it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fanzha.cli._app import DbOption, JsonOption, app, fail, iso_time, out, print_json, store
from fanzha.dispatch import OUTCOMES, Templates, dispatch, open_sink, record_outcome


@app.command("dispatch")
def dispatch_cmd(
    sink: Annotated[
        str,
        typer.Option(
            "--sink",
            help="A directory (one JSONL file per channel) or an http(s) "
            "URL (one POST per task, Idempotency-Key header).",
        ),
    ] = "dispatch",
    templates: Annotated[
        Path | None, typer.Option(help="Message templates YAML (default: the built-in ones).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Send at most this many tasks.")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Send every alert action not sent yet (idempotent: run it as often as you like)."""
    tpl = None
    if templates is not None:
        try:
            tpl = Templates.load(templates.read_text(encoding="utf-8"))
        except OSError as e:
            fail(f"cannot read {templates}: {e.strerror}")
    from fanzha.decide.versions import live_policy

    target = open_sink(sink)
    with store(db) as s:
        policy = live_policy(s)
        # no capacity in the policy: no limit; areas map counties to police stations
        summary = dispatch(s, target, tpl, limit, policy.capacity, policy.areas)
    if json:
        print_json(summary.to_dict())
    else:
        chans = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_channel.items())) or "none"
        out.print(
            f"sent {summary.sent} task(s) to {target.name} ({chans}); {summary.skipped} skipped, "
            f"{summary.failed} failed (retried next time), {summary.already} sent before"
        )
        for e in summary.errors:
            out.print(f"  error: {e}", markup=False)
        if summary.deferred or summary.carried:
            out.print(
                f"over capacity: {summary.carried} served a later day, {len(summary.deferred)} "
                f"deferred ({len(summary.escalate)} high-tier: escalate)"
            )
        for area, n in sorted(summary.deferred_per_area.items()):
            out.print(f"  deferred in area {area}: {n}", markup=False)
        for d in summary.escalate:
            out.print(
                f"  ESCALATE high-tier {d['action']} for {d['entity']}: {d['reason']}", markup=False
            )
    if summary.failed and not summary.sent:
        fail(f"no task could be delivered: {summary.errors[0] if summary.errors else 'sink error'}")


@app.command("tasks")
def tasks_cmd(
    status: Annotated[
        str | None, typer.Option(help="Only sent, skipped, failed or deferred tasks.")
    ] = None,
    overdue_at: Annotated[
        str | None,
        typer.Option(help="Only tasks past their SLA deadline at this time with no outcome yet."),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 1000,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List dissuasion tasks with their SLA deadline and outcome."""
    if status is not None and status not in ("sent", "skipped", "failed", "deferred"):
        fail("--status must be one of sent, skipped, failed, deferred")
    when = iso_time(overdue_at, "--overdue-at")
    with store(db, read_only=True) as s:
        rows = s.tasks(status).to_pylist()
        done = {o["task_id"]: o["outcome"] for o in s.outcomes().to_pylist()}
    for r in rows:
        r["outcome"] = done.get(r["task_id"])
    if when is not None:
        rows = [r for r in rows if r["outcome"] is None and r["due_ts"] and r["due_ts"] < when]
    total = len(rows)
    rows = rows[:limit]
    if json:
        print_json({"tasks": rows, "count": total})
        return
    t = Table(title=f"{total} task(s)")
    for c in ("task", "action", "tier", "entity", "recipient", "due (UTC)", "status", "outcome"):
        t.add_column(c, no_wrap=True)
    for r in rows:
        t.add_row(
            r["task_id"][:12],
            r["action"],
            r["tier"],
            r["entity"],
            r["recipient"] or "",
            f"{r['due_ts']:%Y-%m-%d %H:%M}" if r["due_ts"] else "",
            r["status"],
            r["outcome"] or "",
        )
    out.print(t)


@app.command("outcome")
def outcome_cmd(
    task: Annotated[str, typer.Argument(help="Task id (or its first 8+ characters).")],
    result: Annotated[str, typer.Option("--result", help=f"One of {', '.join(OUTCOMES)}.")],
    at: Annotated[
        str | None, typer.Option(help="When it happened (ISO 8601; default now).")
    ] = None,
    by: Annotated[str | None, typer.Option(help="Who reports it (officer, caller, bank).")] = None,
    note: Annotated[str | None, typer.Option(help="Free text.")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Record what came of a task: dissuaded, unreachable or already_paid."""
    with store(db) as s:
        row = record_outcome(s, task, result, iso_time(at, "--at"), by, note)
    if json:
        print_json(row)
    else:
        sla = "within" if row["within_sla"] else "after"
        out.print(
            f"{'recorded' if row['added'] else 'already recorded'}: task {row['task_id'][:12]} "
            f"{result} ({sla} its SLA deadline)"
        )
