"""`fanzha ingest`: partner files into the event log, bad rows into quarantine."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from fanzha.cli._app import (
    DbOption,
    JsonOption,
    app,
    err,
    fail,
    iso_time,
    out,
    pairs,
    print_json,
    store,
)
from fanzha.events import KINDS
from fanzha.ingest import (
    IngestOptions,
    IngestSummary,
    ParseOptions,
    Source,
    infer_kind,
    ingest,
)
from fanzha.ingest.validate import TIME_UNITS_MS


def _sources(paths: list[Path], kind: str | None) -> list[Source]:
    if kind is not None and kind not in KINDS:
        fail(f"unknown event kind {kind!r}; known kinds: {', '.join(KINDS)}")
    sources: list[Source] = []
    for p in paths:
        files = sorted(str(f) for f in p.iterdir() if f.is_file()) if p.is_dir() else [str(p)]
        for f in files:
            k = kind or infer_kind(f)
            if k is None:
                if p.is_dir():
                    continue  # a directory may hold other files
                fail(
                    f"{f}: cannot tell the event kind from the file name; give --kind "
                    f"({', '.join(KINDS)})"
                )
            sources.append(Source(f, k))
    if not sources:
        fail("no input files")
    return sources


PathsArg = Annotated[list[Path], typer.Argument(help="CSV, JSONL or Parquet files, or folders.")]
KindOption = Annotated[
    str | None,
    typer.Option("--kind", help="Event kind; inferred from file names (calls.csv) if omitted."),
]
MapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map", help="Column map dst=src,... (fanzha field = partner column). Repeatable."
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Constant fields field=value,... for every row, e.g. source=bank-a."
    ),
]
TzOption = Annotated[str, typer.Option(help="Time zone of times without an offset.")]
EpochOption = Annotated[
    str | None, typer.Option(help="Integer time columns count from this instant (ISO 8601).")
]
TimeUnitOption = Annotated[
    str | None, typer.Option(help=f"Unit of integer time columns: {', '.join(TIME_UNITS_MS)}.")
]
MoneyUnitOption = Annotated[str, typer.Option(help="Unit of money columns: fen or yuan.")]
EncodingOption = Annotated[
    str | None, typer.Option(help="Force a text encoding (default: detect).")
]
DelimiterOption = Annotated[str | None, typer.Option(help="CSV delimiter (default: detect).")]
FutureOption = Annotated[
    float, typer.Option(help="Reject event times further than this in the future.")
]


def ingest_options(
    map_: list[str] | None,
    set_: list[str] | None,
    tz: str,
    epoch: str | None,
    time_unit: str | None,
    money_unit: str,
    encoding: str | None,
    delimiter: str | None,
    max_future_hours: float,
) -> IngestOptions:
    """The options of `fanzha ingest` (and `fanzha publish`, which validates the same way)."""
    if time_unit is not None and time_unit not in TIME_UNITS_MS:
        fail(f"--time-unit must be one of {', '.join(TIME_UNITS_MS)}")
    if money_unit not in ("fen", "yuan"):
        fail("--money-unit must be fen or yuan")
    try:
        import zoneinfo

        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        fail(f"--tz: unknown time zone {tz!r}")
    return IngestOptions(
        column_map=pairs(map_, "--map"),
        constants=pairs(set_, "--set"),
        parse=ParseOptions(
            tz=tz,
            epoch=iso_time(epoch, "--epoch"),
            time_unit=time_unit,
            money_unit=money_unit,
            max_future=dt.timedelta(hours=max_future_hours),
        ),
        encoding=encoding,
        delimiter=delimiter,
    )


@app.command("ingest")
def ingest_cmd(
    paths: PathsArg,
    kind: KindOption = None,
    map_: MapOption = None,
    set_: SetOption = None,
    tz: TzOption = "Asia/Shanghai",
    epoch: EpochOption = None,
    time_unit: TimeUnitOption = None,
    money_unit: MoneyUnitOption = "fen",
    encoding: EncodingOption = None,
    delimiter: DelimiterOption = None,
    max_future_hours: FutureOption = 24.0,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Validate partner files and append their events to the log; quarantine bad rows."""
    opts = ingest_options(
        map_, set_, tz, epoch, time_unit, money_unit, encoding, delimiter, max_future_hours
    )
    sources = _sources(paths, kind)
    show = not json and err.is_terminal
    with (
        store(db) as s,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err,
            disable=not show,
            transient=True,
        ) as bar,
    ):
        tasks = [bar.add_task(os.path.basename(src.path), total=None) for src in sources]

        def progress(i: int, _src: Source, done: int, total: int) -> None:
            bar.update(tasks[i], completed=done, total=total)

        summary = ingest(s, sources, opts, progress)
    report(summary, json)


def report(summary: IngestSummary, json: bool) -> None:
    """Print an ingest (or publish) summary; fail if a file could not be read."""
    result = summary.to_dict()
    if json:
        print_json(result)
    else:
        _print_summary(result)
    if summary.failed_files:
        fail("; ".join(f.error or "" for f in summary.failed_files))


def _print_summary(result: dict) -> None:
    t = Table(title=f"ingest batch {result['batch_id']}")
    for c in ("file", "kind", "read", "accepted", "duplicate", "quarantined"):
        t.add_column(c, justify="right" if c not in ("file", "kind") else "left")
    for f in result["files"]:
        t.add_row(
            f["path"],
            f["kind"],
            *(str(f[c]) for c in ("read", "accepted", "duplicate", "quarantined")),
        )
    t.add_row(
        "total", "", *(str(result[c]) for c in ("read", "accepted", "duplicate", "quarantined"))
    )
    out.print(t)
    for reason, n in result["reasons"].items():
        out.print(f"  quarantined {n:>8}  {reason}")
