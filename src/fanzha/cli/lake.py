"""`fanzha lake export|load`: the event log as Parquet partitioned by kind and day."""

from __future__ import annotations

from typing import Annotated

import typer

from fanzha.cli._app import DbOption, JsonOption, app, out, print_json, store
from fanzha.lake import DEFAULT_CHUNK, export_lake, load_lake

lake_app = typer.Typer(
    no_args_is_help=True,
    help="The Parquet event lake (LAKE/kind=K/day=YYYY-MM-DD/part-*.parquet) that Spark, "
    "DuckDB and Trino read.",
)
app.add_typer(lake_app, name="lake")

LakeArg = Annotated[
    str,
    typer.Argument(
        help="A directory, or an object-store URL pyarrow opens (s3://, gs://, hdfs://)."
    ),
]


@lake_app.command("export")
def export_cmd(
    lake: LakeArg,
    chunk: Annotated[
        int, typer.Option(help="Log positions per chunk (files are cut at chunk ends).")
    ] = DEFAULT_CHUNK,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Write the events the lake does not have yet (incremental: re-running adds nothing)."""
    with store(db, read_only=True) as s:
        result = export_lake(s, lake, chunk=chunk)
    if json:
        print_json(result)
        return
    n = sum(result["events"].values())
    out.print(
        f"exported {n} events (log positions {result['from_seq'] + 1}..{result['to_seq']}) "
        f"in {result['files']} file(s) to {lake}"
        if n
        else f"{lake} is up to date (log position {result['to_seq']})"
    )


@lake_app.command("load")
def load_cmd(lake: LakeArg, db: DbOption = None, json: JsonOption = False) -> None:
    """Append the lake's events after the store's log, with their own positions and ids."""
    with store(db) as s:
        result = load_lake(s, lake)
    if json:
        print_json(result)
        return
    n = sum(result["events"].values())
    out.print(
        f"loaded {n} events (log positions {result['from_seq'] + 1}..{result['to_seq']}) "
        f"from {lake}"
        if n
        else f"the store already has the lake's log (up to {result['to_seq']})"
    )
