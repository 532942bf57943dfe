"""The one contract every detector obeys, and the signals detectors emit.

A detector is pure: `step(batch, state) -> (signals, state')`. `batch` maps each event kind the
detector reads to an Arrow table of new events (with `seq`, their position in the log); `state`
maps names to Arrow tables (keyed state, checkpointed by the engine as Arrow IPC). No I/O, no
clock, no global state: the same events give the same signals whether they come in one batch or
many, and on every replay. `fanzha.engine.check.check_detector` tests all of this.

Look-back: a detector that must see older events (12381 looks back over the call log when a number
is confirmed) names them with an optional `lookups(batch, state) -> [Lookup]`; the engine answers
from the log and adds the answers to the batch as `history:<kind>` tables (events up to the end of
the batch, in log order). The log is append-only, so the answer is the same on every replay; the
detector keeps itself exact by filtering on `seq`.

Chaining: a detector that builds on what others found (victim risk combines the exposures other
detectors signal) names them in `signal_inputs`; the engine runs those first and adds their
signals of the same micro-batch to its batch as `signals:<detector>` tables, in log order. They
are computed from the same events, so replays and batch cuts still give the same result.

Keyed: a detector whose state and signals are each one key's (a site, a message's sender) may
declare `partition_by = {kind: column}`. Run separately on the events of each key shard (hash of
the key mod P, `fanzha.stream.partition_of`), it gives the same signals as on the whole log, which
`check_detector` tests; the stream then runs it in a keyed tier, one shard per partition
(docs/deployment.md). It may read signals only of keyed detectors with the same `partition_by`.

A signal is what a detector believes about one entity: a score in [0, 1], the event time at which
it became true, the fraud type where known, and evidence a person can read.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc

from fanzha.events import TS_TYPE
from fanzha.hashing import sha256_32

SIGNAL_SCHEMA = pa.schema(
    [
        pa.field("signal_id", pa.string(), nullable=False),
        pa.field("detector", pa.string(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),  # log position of the event that completed it
        pa.field("ts", TS_TYPE, nullable=False),  # event time at which it became true
        pa.field("entity_kind", pa.string(), nullable=False),  # phone, account, person, site, ...
        pa.field("entity", pa.string(), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("fraud_type", pa.string()),
        pa.field("evidence", pa.string(), nullable=False),  # a sentence a person can read
        pa.field("details", pa.string()),  # JSON object, for policies and the console
        pa.field("event_ids", pa.list_(pa.string())),  # the events that support it
    ]
)

State = Mapping[str, pa.Table]
Batch = Mapping[str, pa.Table]


@dataclass(frozen=True)
class Lookup:
    """Past events a detector needs: those of `kind` whose `fields` (any of them) hold one of
    `values`, from event time `since` on."""

    kind: str
    fields: tuple[str, ...]
    values: tuple[str, ...]
    since: dt.datetime | None = None


def history_key(kind: str) -> str:
    return f"history:{kind}"


def signals_key(detector: str) -> str:
    return f"signals:{detector}"


def inputs(d: Detector) -> tuple[str, ...]:
    """Everything a detector's batch holds: its event kinds and its upstream detectors' signals."""
    return (*d.kinds, *(signals_key(n) for n in getattr(d, "signal_inputs", ())))


@runtime_checkable
class Detector(Protocol):
    """What the engine runs. Implementations are frozen dataclasses holding their settings."""

    name: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]]

    def initial_state(self) -> State: ...

    def step(self, batch: Batch, state: State) -> tuple[pa.Table, State]: ...


def partition_by(d: Detector) -> Mapping[str, str]:
    """The key column of each kind a keyed detector reads (empty: not keyed)."""
    return getattr(d, "partition_by", None) or {}


def empty_signals() -> pa.Table:
    return SIGNAL_SCHEMA.empty_table()


def signals_from(df: pl.DataFrame, detector: str, id_parts: list[str]) -> pa.Table:
    """Build a signal table from a frame with the signal columns (less signal_id and detector).

    `signal_id` is the hash of the detector name and the `id_parts` columns, so that the same
    evidence gives the same id on every replay.
    """
    if df.height == 0:
        return empty_signals()
    canon = df.select(
        pl.concat_str(
            [pl.lit(detector), *[pl.col(c).cast(pl.String).fill_null("") for c in id_parts]],
            separator="\x1f",
        )
    )
    df = df.with_columns(
        signal_id=pl.Series(sha256_32(canon.to_series().to_arrow())),
        detector=pl.lit(detector),
    )
    for name in ("fraud_type", "details"):
        if name not in df.columns:
            df = df.with_columns(pl.lit(None, pl.String).alias(name))
    if "event_ids" not in df.columns:
        df = df.with_columns(pl.lit(None, pl.List(pl.String)).alias("event_ids"))
    t = df.select(SIGNAL_SCHEMA.names).to_arrow()
    return t.cast(SIGNAL_SCHEMA)


def details_json(**fields: Any) -> str:
    """A signal's details as a JSON object with sorted keys (for detectors that build it per row)."""
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS).decode()


def serialize_state(state: State) -> dict[str, bytes]:
    out = {}
    for name, table in state.items():
        sink = io.BytesIO()
        with ipc.new_stream(
            sink, table.schema, options=ipc.IpcWriteOptions(compression="zstd")
        ) as w:
            w.write_table(table)
        out[name] = sink.getvalue()
    return out


def deserialize_state(blobs: Mapping[str, bytes]) -> dict[str, pa.Table]:
    return {name: ipc.open_stream(io.BytesIO(b)).read_all() for name, b in blobs.items()}
