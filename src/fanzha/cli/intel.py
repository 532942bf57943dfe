"""`fanzha intel add|check|list|export|import`: fraud numbers, URLs, domains, apps and accounts.

Everything is a fact in the log (a `report` event, or a detector's suspicion) and intelligence is
the fold over those facts (`fanzha.intel`): `add` and `import` append report events through
ingest's validation; `check`, `list` and `export` fold.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import polars as pl
import typer
from rich.table import Table

from fanzha import ids
from fanzha.cli._app import DbOption, JsonOption, fail, iso_time, out, pairs, print_json, store
from fanzha.cli._app import app as root
from fanzha.events import kind as event_kind
from fanzha.ingest import IngestOptions, Source, ingest, ingest_rows
from fanzha.ingest.readers import FileError, read
from fanzha.ingest.validate import host_of
from fanzha.intel import (
    STATUSES,
    entries,
    facts_from_reports,
    known,
    normalize_target,
    store_facts,
    transitions,
)
from fanzha.store import Store

app = typer.Typer(
    no_args_is_help=True, help="Fraud intelligence: add, check, list, export, import."
)
root.add_typer(app, name="intel")

REPORT = event_kind("report")
TARGET_KINDS = REPORT.field("target_kind").choices
REPORTERS = REPORT.field("reporter_kind").choices
VERDICTS = REPORT.field("verdict").choices
REPORT_COLUMNS = (
    "ts",
    "reporter_kind",
    "target_kind",
    "target_value",
    "verdict",
    "reporter",
    "report_id",
    "fraud_type",
    "text",
    "source",
)
CONFIRMERS = ("police", "centre")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _check(option: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        fail(f"{option} must be one of {', '.join(choices)}")


def _reason(summary) -> str:
    return "; ".join(f"{k} ({n})" for k, n in summary.reasons.items())


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
    _check("--kind", kind, TARGET_KINDS)
    _check("--source", source, REPORTERS)
    _check("--verdict", verdict, VERDICTS)
    verdict = verdict or ("confirm" if source in CONFIRMERS else "report")
    row = {
        "ts": at or _now(),
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
        fail(f"not added: {_reason(summary)}")
    if json:
        print_json(d)
    else:
        out.print(
            f"{'added' if d['accepted'] else 'already known'}: {kind} {value} "
            f"({verdict} by {source}); run `fanzha run` to act on it"
        )


def _guess_kind(value: str) -> str:
    if "://" in value:
        return "url"
    if ids.phone.is_valid(value):
        return "phone"
    return "domain"


@app.command("check")
def check_cmd(
    value: Annotated[str, typer.Argument(help="The number, URL, domain, app or account.")],
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="Kind of value (default: url if it has ://, phone if it parses as one, "
            "else domain).",
        ),
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="Judge expiry at this time (ISO 8601; default now).")
    ] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Explain what is known about a value: status, who said so, its history, related URLs."""
    kind = kind or _guess_kind(value)
    _check("--kind", kind, TARGET_KINDS)
    when = iso_time(at, "--at") or dt.datetime.now(dt.UTC)
    try:
        norm = normalize_target(kind, value)
    except ids.IdError as e:
        fail(f"{value!r} is not a valid {kind}: {e}")
    with store(db, read_only=True) as s:
        e = known(s, kind, norm)
        related = _related(s, kind, norm)
    if json:
        d = e.to_dict() if e else {"kind": kind, "value": norm, "status": "unknown"}
        d["active"] = bool(e and e.active(when))
        d["related"] = related
        print_json(d)
        return
    if e is None:
        out.print(f"{kind} {norm}: nothing known")
    else:
        for line in e.explain(when):
            out.print(line, markup=False, highlight=False)
    for r in related:
        out.print(f"  related: {r['kind']} {r['value']}: {r['status']}", markup=False)


def _related(s: Store, kind: str, value: str) -> list[dict[str, Any]]:
    """URLs listed on a domain's host, or the domain of a listed URL."""
    if kind not in ("url", "domain"):
        return []
    try:
        host = host_of(value)
    except ids.IdError:
        return []
    urls = facts_from_reports(s.find_events("report", target_kind="url"))
    if urls.height:
        hosts = urls["value"].map_elements(_host_or_none, return_dtype=pl.String)
        urls = urls.filter(hosts == host)
    doms = facts_from_reports(s.find_events("report", target_kind="domain", target_value=host))
    rel = entries(transitions(pl.concat([urls, doms])))
    rel = rel.filter(~((pl.col.kind == kind) & (pl.col.value == value)))
    return rel.select("kind", "value", "status").to_dicts()


def _host_or_none(v: str) -> str | None:
    try:
        return host_of(v)
    except ids.IdError:
        return None


def _entries(s: Store, kind: str | None, status: str | None) -> pl.DataFrame:
    e = entries(transitions(store_facts(s)))
    if kind:
        e = e.filter(pl.col.kind == kind)
    if status:
        e = e.filter(pl.col.status == status)
    return e


@app.command("list")
def list_cmd(
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind.")] = None,
    status: Annotated[
        str | None, typer.Option(help=f"Only this status: {', '.join(STATUSES)}.")
    ] = None,
    active_at: Annotated[
        str | None,
        typer.Option(help="Only entries alerting at this time (suspected/confirmed, unexpired)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 1000,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List intelligence entries: kind, value, status, fraud type, source, confidence, expiry."""
    _check("--kind", kind, TARGET_KINDS)
    _check("--status", status, STATUSES)
    with store(db, read_only=True) as s:
        e = _entries(s, kind, status)
    if active_at is not None:
        when = iso_time(active_at, "--active-at")
        e = e.filter(pl.col.status.is_in(["suspected", "confirmed"]) & (pl.col.expires >= when))
    total = e.height
    rows = e.head(limit).to_dicts()
    if json:
        print_json({"entries": rows, "count": total})
        return
    t = Table(title=f"{total} entr{'y' if total == 1 else 'ies'}")
    for c in (
        "kind",
        "value",
        "status",
        "fraud type",
        "source",
        "conf.",
        "last seen",
        "expires",
        "reports",
    ):
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(
            r["kind"],
            r["value"],
            r["status"],
            r["fraud_type"] or "",
            r["source"] or "",
            f"{r['confidence']:.2f}",
            f"{r['last_seen']:%Y-%m-%d %H:%M}",
            f"{r['expires']:%Y-%m-%d}",
            f"{r['reports']}/{r['reporters']}",
        )
    out.print(t)


def _export_rows(s: Store, kind: str | None, status: str | None) -> list[dict[str, Any]]:
    """Every fact about the selected values as a report row (what `intel import` reads)."""
    facts = store_facts(s)
    if kind or status:
        keep = _entries(s, kind, status).select("kind", "value")
        facts = facts.join(keep, on=["kind", "value"], how="semi")
    reports = {r["event_id"]: r for r in s.find_events("report").to_pylist()}
    rows = []
    for f in facts.sort("seq").to_dicts():
        r = reports.get(f["event_id"])
        if r is not None:
            row = {c: r.get(c) for c in REPORT_COLUMNS}
        else:  # a detector's suspicion travels as the centre's report of it
            row = {
                "ts": f["ts"],
                "reporter_kind": "centre",
                "target_kind": f["kind"],
                "target_value": f["value"],
                "verdict": "report",
                "reporter": f"detector:{f['source']}",
                "report_id": f["event_id"],
                "fraud_type": f["fraud_type"],
                "text": f["text"],
                "source": "fanzha",
            }
        rows.append(row)
    return rows


def _write(path: Path, rows: list[dict[str, Any]], columns: list[str], fmt: str) -> None:
    def cell(v: Any) -> Any:
        if isinstance(v, dt.datetime):
            return v.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return v

    try:
        if fmt == "jsonl":
            with open(path, "wb") as fh:
                for r in rows:
                    fh.write(orjson.dumps({k: cell(r.get(k)) for k in columns}) + b"\n")
        else:
            with open(path, "w", newline="", encoding="utf-8") as fh:
                w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
                w.writeheader()
                for r in rows:
                    w.writerow({k: "" if r.get(k) is None else cell(r.get(k)) for k in columns})
    except OSError as e:
        fail(f"cannot write {path}: {e.strerror or e}")


@app.command("export")
def export_cmd(
    output: Annotated[Path, typer.Option("-o", "--out", help="File to write (- for stdout).")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: from the suffix).")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind.")] = None,
    status: Annotated[str | None, typer.Option(help="Only values with this status.")] = None,
    as_entries: Annotated[
        bool,
        typer.Option(
            "--entries",
            help="Write one row per value (status, confidence, expiry) instead of the facts.",
        ),
    ] = False,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Export intelligence. By default the facts, as report rows that `intel import` (or
    `fanzha ingest --kind report`) reads back to the same statuses; with --entries, the table."""
    _check("--kind", kind, TARGET_KINDS)
    _check("--status", status, STATUSES)
    fmt = fmt or ("jsonl" if output.suffix in (".jsonl", ".json", ".ndjson") else "csv")
    _check("--format", fmt, ("csv", "jsonl"))
    with store(db, read_only=True) as s:
        if as_entries:
            rows = _entries(s, kind, status).to_dicts()
            columns = [
                "kind",
                "value",
                "status",
                "fraud_type",
                "source",
                "confidence",
                "first_seen",
                "last_seen",
                "expires",
                "reports",
                "reporters",
            ]
        else:
            rows = _export_rows(s, kind, status)
            columns = list(REPORT_COLUMNS)
    if str(output) == "-":
        for r in rows:
            sys.stdout.write(
                orjson.dumps({k: r.get(k) for k in columns}, default=str).decode() + "\n"
            )
    else:
        _write(output, rows, columns, fmt)
    if json:
        print_json({"rows": len(rows), "out": str(output), "format": fmt})
    elif str(output) != "-":
        out.print(f"wrote {len(rows)} {'entries' if as_entries else 'facts'} to {output}")


@app.command("import")
def import_cmd(
    paths: Annotated[list[Path], typer.Argument(help="CSV, JSONL or Parquet files.")],
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="Target kind for rows without target_kind (or kind)."),
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="reporter_kind for rows without one.")
    ] = None,
    verdict: Annotated[str | None, typer.Option(help="verdict for rows without one.")] = None,
    fraud_type: Annotated[str | None, typer.Option(help="fraud_type for rows without one.")] = None,
    at: Annotated[
        str | None, typer.Option(help="ts for rows without one (ISO 8601; default now).")
    ] = None,
    column_map: Annotated[
        list[str] | None, typer.Option("--map", help="field=column, as for `fanzha ingest`.")
    ] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Bulk import: each row becomes a report event, validated like `fanzha ingest --kind report`
    (bad rows go to quarantine with file, line and reason). A file with just a column of numbers
    works with --kind phone --source police (verdict defaults to confirm for police/centre)."""
    _check("--kind", kind, TARGET_KINDS)
    _check("--source", source, REPORTERS)
    _check("--verdict", verdict, VERDICTS)
    given = pairs(column_map, "--map")
    sources = []
    for p in paths:
        try:
            header, _ = read(str(p))
        except FileError as e:
            fail(str(e))
        have = {h.lower() for h in header} | set(given)
        cmap = dict(given)
        for dst, alias in (("target_kind", "kind"), ("target_value", "value")):
            if dst not in have and alias in have:
                cmap[dst] = next(h for h in header if h.lower() == alias)
                have.add(dst)
        consts: dict[str, str] = {}
        defaults = {
            "target_kind": kind,
            "reporter_kind": source,
            "verdict": verdict or ("confirm" if source in CONFIRMERS else None),
            "fraud_type": fraud_type,
            "ts": at or _now(),
        }
        for f, v in defaults.items():
            if v is not None and f not in have:
                consts[f] = v
        if "source" not in have:
            consts["source"] = f"import:{p.name}"
        sources.append(
            Source(str(p), "report", options=IngestOptions(column_map=cmap, constants=consts))
        )
    with store(db) as s:
        summary = ingest(s, sources)
    d = summary.to_dict()
    if summary.failed_files:
        fail("; ".join(f.error or "" for f in summary.failed_files))
    if json:
        print_json(d)
        return
    out.print(
        f"read {d['read']}: {d['accepted']} new facts, {d['duplicate']} already known, "
        f"{d['quarantined']} quarantined"
        + (f" ({_reason(summary)}; see `fanzha quarantine`)" if d["quarantined"] else "")
        + "; run `fanzha run` to act on them"
    )
