"""`fanzha publish`: partner files -> the same validation as `fanzha ingest` -> JetStream.

Bad rows go to the store's quarantine exactly as `fanzha ingest` puts them there; only valid
events go onto the stream, as slices of the event-time order (see fanzha.stream).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl
import pyarrow as pa

from fanzha.ingest import IngestOptions, IngestSummary, Source, ingest
from fanzha.store import Store
from fanzha.stream import HEADROOM, connect, ensure_stream, fitted, slice_id, subject


def ordered_slices(staged: Mapping[str, list[pa.Table]], size: int) -> list[dict[str, pa.Table]]:
    """Valid events deduplicated by event_id (first wins, as in the store) and cut into slices
    of at most `size` events in (ts, kind, event_id) order - the order one ingest batch gets."""
    tables = {k: pa.concat_tables(ts).combine_chunks() for k, ts in staged.items() if ts}
    keys = []
    for k, t in tables.items():
        keys.append(
            pl.DataFrame(
                {
                    "ts": pl.from_arrow(t["ts"]).cast(pl.Datetime("us", "UTC")),
                    "kind": [k] * t.num_rows,
                    "event_id": pl.from_arrow(t["event_id"]),
                    "row": range(t.num_rows),
                }
            ).unique("event_id", keep="first", maintain_order=True)
        )
    if not keys:
        return []
    order = pl.concat(keys).sort(["ts", "kind", "event_id"]).with_row_index("pos")
    out = []
    for start in range(0, order.height, size):
        part = order.slice(start, size)
        one: dict[str, pa.Table] = {}
        for (k,), rows in part.group_by(["kind"], maintain_order=True):
            one[k] = tables[k].take(pa.array(rows["row"].to_list(), pa.int64()))
        out.append(one)
    return out


def recut(tables: Mapping[str, pa.Table], size: int) -> list[dict[str, pa.Table]]:
    """A slice cut again into slices of `size` events in the same order (one too large for the
    broker)."""
    return ordered_slices({k: [t] for k, t in tables.items()}, size)


class _Publishing:
    """A store that ingest() writes to: events are kept for the stream, quarantine and the batch
    record go to the real store, which commits only after the broker has acknowledged every slice."""

    def __init__(self, store: Store, send: Callable[[list[dict[str, pa.Table]]], None], size: int):
        self.store, self.send, self.size = store, send, size
        self.staged: dict[str, list[pa.Table]] = {}
        self.rows: Counter = Counter()

    def begin_ingest(self, description: Mapping[str, Any]) -> int:
        return self.store.begin_ingest({**description, "published": True})

    def stage_events(self, kind: str, table: pa.Table, file_index: int, content_ids: bool = True):
        self.staged.setdefault(kind, []).append(table)
        self.rows[(kind, file_index)] += table.num_rows

    def stage_quarantine(self, rows: pa.Table) -> None:
        self.store.stage_quarantine(rows)

    def abort_ingest(self) -> None:
        self.store.abort_ingest()

    def commit_ingest(self, summary: Mapping[str, Any]) -> dict[tuple[str, int], tuple[int, int]]:
        slices = ordered_slices(self.staged, self.size)
        self.send(slices)
        self.store.commit_ingest(summary)
        # "accepted" = published; a duplicate within this publish is counted as one
        sent = {k: sum(s[k].num_rows for s in slices if k in s) for k in self.staged}
        counts: dict[tuple[str, int], tuple[int, int]] = {}
        for (k, i), n in sorted(self.rows.items(), key=lambda kv: kv[0][1]):
            acc = min(n, sent[k])
            sent[k] -= acc
            counts[(k, i)] = (acc, n - acc)
        return counts


async def _send(broker: str, slices: list[dict[str, pa.Table]]) -> None:
    nc = await connect(broker)
    try:
        js = nc.jetstream(timeout=10)
        await ensure_stream(js)
        limit = nc.max_payload - HEADROOM
        acks = [
            js.publish(subject(0), data, headers={"Nats-Msg-Id": slice_id(piece)})
            for s in slices
            for piece, data in fitted(s, limit, recut)
        ]
        for a in acks:  # in order: the stream sequence is the log order
            await a
    finally:
        await nc.close()


def publish(
    store: Store,
    sources: list[Source],
    broker: str,
    opts: IngestOptions | None = None,
    slice_events: int = 5000,
    progress=None,
) -> IngestSummary:
    """Validate `sources` like ingest, quarantine bad rows in `store`, publish valid events."""

    async def probe() -> None:  # no broker: say so before reading gigabytes
        await (await connect(broker)).close()

    asyncio.run(probe())

    def send(slices: list[dict[str, pa.Table]]) -> None:
        asyncio.run(_send(broker, slices))

    return ingest(_Publishing(store, send, slice_events), sources, opts, progress)  # type: ignore[arg-type]
