"""The `fanzha` Typer app and what its commands share: --db, --json, output and errors."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from fanzha.errors import FanzhaError
from fanzha.store import Store, db_url, open_store

app = typer.Typer(
    name="fanzha",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="fanzha (反诈): warn before the money moves, follow the money, find fraud numbers, "
    "black accounts and data leaks.",
)

out = Console(soft_wrap=True)
if not out.is_terminal:  # piped or captured: do not squeeze tables into 80 columns
    out = Console(soft_wrap=True, width=200)
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="FANZHA_DB",
        help="Database: a DuckDB file (default ./fanzha.duckdb) or a PostgreSQL URL "
        "(postgresql://user@host:port/dbname).",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object instead of tables.")
]


def store(db: str | None, read_only: bool = False) -> Store:
    return open_store(db_url(db), read_only=read_only)


def print_json(obj: Any) -> None:
    sys.stdout.write(orjson.dumps(obj, default=str, option=orjson.OPT_INDENT_2).decode() + "\n")


def fail(message: str) -> None:
    raise FanzhaError(message)


def pairs(values: list[str] | None, option: str) -> dict[str, str]:
    """`a=b,c=d` options (repeatable) as a dict."""
    out_: dict[str, str] = {}
    for v in values or []:
        for item in v.split(","):
            if not item.strip():
                continue
            key, sep, val = item.partition("=")
            if not sep or not key.strip():
                fail(f"{option} expects name=value, got {item!r}")
            out_[key.strip()] = val.strip()
    return out_


def iso_time(value: str | None, option: str) -> dt.datetime | None:
    """An option's ISO 8601 date-time; UTC when it has no offset."""
    if value is None:
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option}: {value!r} is not an ISO 8601 date-time")
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)
