"""Events on NATS JetStream: `fanzha publish` validates and sends, `fanzha worker` appends to the
store's log, acknowledges, and runs the engine.

Why one ordered consumer: the detectors keep state across people, numbers and accounts (a fraud
number's contacts, a mule's payers), and what they find depends on the order of the log, which is
event time. So the log order must be the one `fanzha ingest` would give, whatever worker commits.
The publisher sorts the valid events of one publish by (ts, kind, event_id) - the order the store
gives one ingest batch - and sends them as consecutive slices. Workers share one durable consumer
whose `max_ack_pending` is 1: a slice is handed to one worker at a time, in stream order, and the
next is handed out only after that worker has committed the slice to the log and acknowledged it.
The engine then cuts the micro-batches one `fanzha run` would (fanzha.stream.worker). A worker
that dies holding a slice loses it after `ack_wait`; another worker gets it again.
Detectors whose state is one key's (a site, a sender) also run in a keyed tier, partitioned by
key and parallel across workers, once the log has given their events a seq (fanzha.stream.keyed).
Exactly-once effect: the log deduplicates by event_id and the engine's outputs are keyed by
deterministic ids and committed with its watermark in one transaction, so a slice processed twice
adds nothing (see docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
from collections.abc import Callable, Mapping

import pyarrow as pa

from fanzha.errors import FanzhaError

STREAM = "FANZHA_EVENTS"
SUBJECT_PREFIX = "fanzha.events"
DURABLE = "fanzha-engine"
DEFAULT_BROKER = "nats://127.0.0.1:4222"


def subject(partition: int) -> str:
    return f"{SUBJECT_PREFIX}.{partition}"


def encode(tables: Mapping[str, pa.Table]) -> bytes:
    """One slice as bytes: per kind, its name and an Arrow IPC stream (length-prefixed)."""
    parts = []
    for k, t in sorted(tables.items()):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, t.schema) as w:
            w.write_table(t)
        body = sink.getvalue().to_pybytes()
        name = k.encode()
        parts.append(struct.pack("<I", len(name)) + name + struct.pack("<Q", len(body)) + body)
    return b"".join(parts)


def decode(data: bytes) -> dict[str, pa.Table]:
    out: dict[str, pa.Table] = {}
    i = 0
    try:
        while i < len(data):
            (n,) = struct.unpack_from("<I", data, i)
            name = data[i + 4 : i + 4 + n].decode()
            i += 4 + n
            (m,) = struct.unpack_from("<Q", data, i)
            i += 8
            out[name] = pa.ipc.open_stream(pa.py_buffer(data[i : i + m])).read_all()
            i += m
    except (struct.error, UnicodeDecodeError, pa.ArrowInvalid) as e:
        raise FanzhaError(f"a message on the stream is not a fanzha slice: {e}") from None
    return out


HEADROOM = 4096  # bytes kept under the broker's max_payload for a message's headers


def fitted(
    tables: Mapping[str, pa.Table],
    limit: int,
    cut: Callable[[Mapping[str, pa.Table], int], list[dict[str, pa.Table]]],
) -> list[tuple[dict[str, pa.Table], bytes]]:
    """`tables` as messages of at most `limit` bytes, each with its encoding: whole if it fits,
    else `cut(tables, size)` into pieces of half the events (in log order) until each fits, so a
    large slice never meets the broker's "maximum payload exceeded". One event too large to fit is
    a clear error."""
    data = encode(tables)
    if len(data) <= limit:
        return [(dict(tables), data)]
    n = sum(t.num_rows for t in tables.values())
    if n <= 1:
        k = next(k for k, t in tables.items() if t.num_rows)
        raise FanzhaError(
            f"one {k} event takes {len(data):,} bytes on the stream, more than the broker's "
            f"max_payload allows ({limit:,} bytes after headers): raise max_payload in the "
            "nats-server configuration"
        )
    out: list[tuple[dict[str, pa.Table], bytes]] = []
    for piece in cut(tables, -(-n // 2)):
        out += fitted(piece, limit, cut)
    return out


def slice_id(tables: Mapping[str, pa.Table]) -> str:
    """JetStream message id of a slice: a hash of its event ids (republishing the same events
    within the stream's duplicate window is dropped by the broker)."""
    h = hashlib.sha256()
    for k, t in sorted(tables.items()):
        h.update(k.encode() + b"\0")
        for e in t["event_id"].to_pylist():
            h.update(e.encode() + b"\0")
    return h.hexdigest()[:32]


async def connect(broker: str):
    """A NATS connection, or a one-line error if the broker cannot be reached."""
    import nats
    from nats.errors import NoServersError

    async def _quiet(_e: Exception) -> None:  # reconnects are normal; nats-py would print them
        return None

    from urllib.parse import urlsplit

    u = urlsplit(broker if "://" in broker else f"nats://{broker}")
    try:  # nats-py retries a first connection forever when reconnecting is on: look first
        _r, w = await asyncio.wait_for(
            asyncio.open_connection(u.hostname or "127.0.0.1", u.port or 4222), 2
        )
        w.close()
    except (TimeoutError, OSError) as e:
        raise FanzhaError(
            f"cannot reach the NATS broker at {broker}: {e.strerror or type(e).__name__}"
            if isinstance(e, OSError)
            else f"cannot reach the NATS broker at {broker}: no answer within 2 s"
        ) from None
    try:
        return await nats.connect(
            broker,
            connect_timeout=2,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.2,
            error_cb=_quiet,
        )
    except (NoServersError, OSError, TimeoutError) as e:
        raise FanzhaError(
            f"cannot reach the NATS broker at {broker}: {e or type(e).__name__}"
        ) from None


async def ensure_stream(js) -> None:
    """The event stream (file storage, every subject under fanzha.events), made if missing."""
    from nats.js.api import StorageType, StreamConfig
    from nats.js.errors import NotFoundError

    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(
            StreamConfig(name=STREAM, subjects=[f"{SUBJECT_PREFIX}.>"], storage=StorageType.FILE)
        )


def partition_of(values: pa.Array | pa.ChunkedArray, partitions: int) -> pa.Array:
    """The partition (0..partitions-1) of every key: the first 8 hex digits of its SHA-256 (as
    fanzha.hashing computes ids: the same on every machine and run) mod `partitions`. A missing
    key hashes as the empty string, so all of them land together."""
    import polars as pl

    from fanzha.hashing import sha256_32

    if partitions < 1:
        raise FanzhaError("the number of partitions must be at least 1")
    keys = pa.chunked_array([values]) if isinstance(values, pa.Array) else values
    keys = keys.cast(pa.string()).fill_null("")
    if len(keys) == 0:
        return pa.array([], pa.int64())
    h = pl.Series(sha256_32(keys.combine_chunks())).str.slice(0, 8).str.to_integer(base=16)
    return (h % partitions).cast(pl.Int64).to_arrow()
