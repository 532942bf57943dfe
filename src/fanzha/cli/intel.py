"""`fanzha intel add|check`: fraud numbers, URLs, apps and accounts, as report events."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from fanzha import ids
from fanzha.cli._app import DbOption, JsonOption, fail, out, print_json, store
from fanzha.cli._app import app as root
from fanzha.events import kind as event_kind
from fanzha.ingest import ingest_rows
from fanzha.intel import fold, normalize_target

app = typer.Typer(no_args_is_help=True, help="Fraud intelligence: add, check.")
root.add_typer(app, name="intel")

TARGET_KINDS = event_kind("report").field("target_kind").choices
REPORTERS = event_kind("report").field("reporter_kind").choices


@app.command("add")
def add_cmd(
    value: Annotated[str, typer.Argument(help="The number, URL, domain, app or account.")],
    kind: Annotated[str, typer.Option("--kind", help=f"One of {', '.join(TARGET_KINDS)}.")],
    source: Annotated[
        str, typer.Option("--source", help=f"Who says so: {', '.join(REPORTERS)}.")
    ] = "centre",
    verdict: Annotated[
        str | None,
        typer.Option(
            help="confirm, clear or report (default: confirm for police/centre, else report)."
        ),
    ] = None,
    fraud_type: Annotated[str | None, typer.Option(help="Fraud type code or Chinese name.")] = None,
    at: Annotated[str | None, typer.Option(help="When (ISO 8601; default now).")] = None,
    reporter: Annotated[str | None, typer.Option(help="Reporter's phone or id.")] = None,
    note: Annotated[str | None, typer.Option(help="Free text kept with the entry.")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Add a fact about a value: it is appended to the log as a report event."""
    if kind not in TARGET_KINDS:
        fail(f"--kind must be one of {', '.join(TARGET_KINDS)}")
    if source not in REPORTERS:
        fail(f"--source must be one of {', '.join(REPORTERS)}")
    verdict = verdict or ("confirm" if source in ("police", "centre") else "report")
    when = at or dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    row = {
        "ts": when,
        "reporter_kind": source,
        "target_kind": kind,
        "target_value": value,
        "verdict": verdict,
        "fraud_type": fraud_type,
        "reporter": reporter,
        "text": note,
        "source": f"cli:{source}",
    }
    with store(db) as s:
        summary = ingest_rows(s, "report", [row], origin="fanzha intel add")
    d = summary.to_dict()
    if d["quarantined"]:
        reason = s_reason(summary)
        fail(f"not added: {reason}")
    if json:
        print_json(d)
    else:
        out.print(
            f"{'added' if d['accepted'] else 'already known'}: {kind} {value} "
            f"({verdict} by {source}); run `fanzha run` to act on it"
        )


def s_reason(summary) -> str:
    return "; ".join(f"{k} ({n})" for k, n in summary.reasons.items())


@app.command("check")
def check_cmd(
    value: Annotated[str, typer.Argument(help="The number, URL, domain, app or account.")],
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind", help="Kind of value (default: phone if it parses as one, else domain)."
        ),
    ] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Explain what is known about a value."""
    if kind is None:
        kind = "phone" if ids.phone.is_valid(value) else "domain"
    try:
        norm = normalize_target(kind, value)
    except ids.IdError as e:
        fail(f"{value!r} is not a valid {kind}: {e}")
    with store(db, read_only=True) as s:
        rows = s.find_events("report", target_kind=kind, target_value=norm).to_pylist()
    entry = fold(kind, norm, rows)
    if json:
        print_json(entry.__dict__ if entry else {"kind": kind, "value": norm, "status": "unknown"})
        return
    if entry is None:
        out.print(f"{kind} {norm}: nothing known")
        return
    for line in entry.explain():
        out.print(line)
