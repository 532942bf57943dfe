"""`fanzha publish` and `fanzha worker`: the event log through NATS JetStream."""

from __future__ import annotations

from typing import Annotated

import typer

from fanzha.cli._app import DbOption, JsonOption, app, fail, out, print_json, store
from fanzha.cli.ingest import (
    DelimiterOption,
    EncodingOption,
    EpochOption,
    FutureOption,
    KindOption,
    MapOption,
    MoneyUnitOption,
    PathsArg,
    SetOption,
    TimeUnitOption,
    TzOption,
    _sources,
    ingest_options,
    report,
)
from fanzha.stream import DEFAULT_BROKER

BrokerOption = Annotated[
    str, typer.Option("--broker", envvar="FANZHA_BROKER", help="NATS URL (JetStream enabled).")
]


@app.command("publish")
def publish_cmd(
    paths: PathsArg,
    kind: KindOption = None,
    broker: BrokerOption = DEFAULT_BROKER,
    slice_events: Annotated[
        int, typer.Option(help="Events per message (a slice of the event-time order).")
    ] = 5000,
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
    """Validate files like `fanzha ingest` (bad rows to quarantine) and publish valid events."""
    from fanzha.stream.publish import publish

    if slice_events < 1:
        fail("--slice-events must be at least 1")
    opts = ingest_options(
        map_, set_, tz, epoch, time_unit, money_unit, encoding, delimiter, max_future_hours
    )
    sources = _sources(paths, kind)
    with store(db) as s:
        summary = publish(s, sources, broker, opts, slice_events=slice_events)
    report(summary, json)


@app.command("worker")
def worker_cmd(
    broker: BrokerOption = DEFAULT_BROKER,
    db: DbOption = None,
    ack_wait: Annotated[
        float, typer.Option(help="Seconds before a dead worker's slice goes to another worker.")
    ] = 30.0,
    until_idle: Annotated[
        float | None,
        typer.Option(
            help="Exit once the stream is drained and nothing is in flight (seconds per poll)."
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(help="Log positions per engine micro-batch (as fanzha run).")
    ] = 100_000,
    progress_lines: Annotated[
        bool, typer.Option("--progress-lines", help="Print one line per committed slice.")
    ] = False,
    partitions: Annotated[
        int,
        typer.Option(
            help="Keyed partitions: detectors keyed by site or sender run in this many partitions"
            " in parallel across workers (1: no keyed tier; every worker must use the same)."
        ),
    ] = 1,
    json: JsonOption = False,
) -> None:
    """Consume events from JetStream: append to the log, run the detectors, commit, acknowledge."""
    from fanzha.store import db_url, is_postgres, open_store
    from fanzha.stream.worker import work

    if batch_size < 1:
        fail("--batch-size must be at least 1")
    if partitions < 1:
        fail("--partitions must be at least 1")
    if ack_wait <= 0:
        fail("--ack-wait must be positive")

    def on_slice(summary) -> None:
        if progress_lines:
            print(f"committed slice {summary.slices} events={summary.events}", flush=True)

    with store(db) as s:
        summary = work(
            s,
            broker,
            ack_wait=ack_wait,
            until_idle=until_idle,
            batch_size=batch_size,
            on_slice=on_slice,
            partitions=partitions,
            # a server database: one connection per keyed partition; a DuckDB file: the one store
            open_store=(lambda: open_store(db)) if is_postgres(db_url(db)) else None,
        )
    if json:
        print_json(summary.to_dict())
    else:
        out.print(
            f"worker: {summary.slices} slice(s), {summary.events} events "
            f"({summary.appended} new, {summary.duplicate} already in the log), "
            f"{summary.signals} signals, {summary.keyed} keyed partition message(s)"
        )
