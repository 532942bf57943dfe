"""`fanzha worker`: take the next slice from JetStream, append it to the log (commit), publish its
keyed partitions, and only then acknowledge; run the engine over every full micro-batch, and over
the rest once the stream is drained (see fanzha.stream for why this gives the embedded path's
alerts, exactly once). With `partitions` > 1 the worker also pulls from every keyed partition and
runs the keyed detectors there (fanzha.stream.keyed); the engine waits for them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from fanzha.engine.runner import Engine
from fanzha.errors import FanzhaError
from fanzha.store import Store
from fanzha.stream import (
    DURABLE,
    HEADROOM,
    SUBJECT_PREFIX,
    connect,
    decode,
    ensure_stream,
)
from fanzha.stream.keyed import (
    KEYED_PREFIX,
    KEYED_STREAM,
    UPTO,
    key_columns,
    keyed_durable,
    keyed_messages,
    keyed_subject,
    logged,
    split,
    step_partition,
)


@dataclass
class WorkerSummary:
    slices: int = 0
    events: int = 0
    appended: int = 0
    duplicate: int = 0
    signals: int = 0
    keyed: int = 0  # keyed partition messages this worker committed

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def run_engine(store: Store, engine: Engine, *, drained: bool) -> int:
    """Run the engine the way one `fanzha run` after the whole ingest would cut its
    micro-batches: only full batches while slices are still coming, the rest once the stream is
    drained (the decider's alerts depend on where micro-batches end). Returns signals found."""
    top = store.max_seq()
    if engine.keyed and top > engine.seen:  # cheap: no state is read while a partition is behind
        need = min(engine.seen + engine.batch_size, top)
        if min(store.shard_watermarks(engine.partitions)) < need:
            return 0
    watermark = store.load_engine()[0]
    pending = top - watermark
    full = pending // engine.batch_size
    if pending == 0 or (not drained and full == 0):
        return 0
    if engine.keyed:  # nothing to do before the keyed tier has reached the next batch's end
        need = min(watermark + engine.batch_size, top)
        if min(store.shard_watermarks(engine.partitions)) < need:
            return 0
    try:
        return engine.run(max_batches=None if drained else full).signals
    except FanzhaError as e:
        if "another engine moved the watermark" in str(e):
            return 0  # another worker of the group ran it: its commit stands, ours is dropped
        raise


def append_slice(
    store: Store, tables: dict, origin: str, keys: dict[str, str], partitions: int
) -> tuple[int, int, int, list[dict]]:
    """Append one slice to the log (deduplicated by event_id). Returns (events, appended, the
    log's top, each keyed partition's events of the slice with their log seq)."""
    before = store.max_seq()
    store.begin_ingest({"stream": origin, "kinds": sorted(tables)})
    try:
        for i, (k, t) in enumerate(sorted(tables.items())):
            store.stage_events(k, t, i, content_ids=False)
        counts = store.commit_ingest({"stream": origin})
    except BaseException:
        store.abort_ingest()
        raise
    events = sum(t.num_rows for t in tables.values())
    appended = sum(a for a, _ in counts.values())
    top = store.max_seq()
    parts: list[dict] = []
    if keys:
        parts = split(logged(store, tables, keys, before, top, appended), keys, partitions)
    return events, appended, top, parts


async def _work(
    store: Store,
    broker: str,
    ack_wait: float,
    until_idle: float | None,
    batch_size: int,
    on_slice: Callable[[WorkerSummary], None] | None,
    partitions: int,
    open_store: Callable[[], Store] | None,
) -> WorkerSummary:
    from nats.errors import Error as NatsError
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
    from nats.js.errors import NotFoundError

    engine = Engine(store, batch_size=batch_size, partitions=partitions)  # refuses another P
    nc = await connect(broker)
    summary = WorkerSummary()
    keys = key_columns(engine.keyed)
    lock = asyncio.Lock()  # one thread at a time on `store` and `engine`
    stop = asyncio.Event()

    def consumer(durable: str) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=1,  # one message in flight across all workers: in stream order
            ack_wait=ack_wait,
        )

    async def keep_alive(msg) -> None:  # a long step must not lose its message
        while True:
            await asyncio.sleep(ack_wait / 3)
            await msg.in_progress()

    async def log_drained(sub) -> bool:
        try:
            info = await sub.consumer_info()
        except (TimeoutError, NatsError):
            return False
        return info.num_pending == 0 and info.num_ack_pending == 0

    async def engine_step(drained: bool) -> None:
        async with lock:
            summary.signals += await asyncio.to_thread(run_engine, store, engine, drained=drained)

    async def keyed_loop(js, sub_log, p: int) -> None:
        sub = await js.pull_subscribe(
            keyed_subject(p),
            durable=keyed_durable(p),
            stream=KEYED_STREAM,
            config=consumer(keyed_durable(p)),
        )
        own = await asyncio.to_thread(open_store) if open_store else None
        cache: dict = {}  # the partition's state while this worker alone commits it
        try:
            while not stop.is_set():
                try:
                    msgs = await sub.fetch(1, timeout=0.5)
                except (TimeoutError, NatsTimeout):
                    continue
                except NatsError:
                    await asyncio.sleep(0.2)
                    continue
                msg = msgs[0]
                try:
                    upto = int((msg.headers or {})[UPTO])
                except (KeyError, ValueError):
                    raise FanzhaError(f"a message on {msg.subject} has no {UPTO} header") from None
                tables = decode(msg.data)
                beat = asyncio.create_task(keep_alive(msg))
                try:
                    args = (engine.keyed, partitions, p, upto, tables, cache)
                    if own is not None:
                        n = await asyncio.to_thread(step_partition, own, *args)
                    else:
                        async with lock:
                            n = await asyncio.to_thread(step_partition, store, *args)
                finally:
                    beat.cancel()
                try:
                    await msg.ack_sync()
                except (TimeoutError, NatsError):
                    continue  # comes again; below the partition's watermark it adds nothing
                if n is not None:
                    summary.keyed += 1
                    summary.signals += n
                    await engine_step(await log_drained(sub_log))  # it may wait for this one
        finally:
            if own is not None:
                own.close()

    tasks: list[asyncio.Task] = []
    try:
        js = nc.jetstream(timeout=10)
        await ensure_stream(js)
        if engine.keyed:
            try:
                await js.stream_info(KEYED_STREAM)
            except NotFoundError:
                await js.add_stream(
                    StreamConfig(
                        name=KEYED_STREAM, subjects=[f"{KEYED_PREFIX}.>"], storage=StorageType.FILE
                    )
                )
        sub = await js.pull_subscribe(
            f"{SUBJECT_PREFIX}.>", durable=DURABLE, config=consumer(DURABLE)
        )
        tasks = [
            asyncio.create_task(keyed_loop(js, sub, p))
            for p in range(partitions if engine.keyed else 0)
        ]
        wait = min(1.0, until_idle) if until_idle else 1.0
        idle_since: float | None = None
        while True:
            for t in tasks:
                if t.done() and t.exception() is not None:
                    raise t.exception()  # type: ignore[misc]
            try:
                msgs = await sub.fetch(1, timeout=wait)
            except (TimeoutError, NatsTimeout):
                if not await log_drained(sub):
                    idle_since = None
                    continue
                # The worker that acknowledged the last slice runs the engine's tail; the others
                # step in only if it has not done so within ack_wait (it may have died).
                now = time.monotonic()
                idle_since = idle_since or now
                async with lock:
                    behind = store.max_seq() != store.load_engine()[0]
                if behind and now - idle_since >= ack_wait:
                    await engine_step(True)
                    async with lock:
                        behind = store.max_seq() != store.load_engine()[0]
                if until_idle is not None and not behind:
                    break
                continue
            except NatsError:  # broker restarting: the client reconnects, the durable stays
                await asyncio.sleep(0.2)
                continue
            msg = msgs[0]
            tables = decode(msg.data)
            beat = asyncio.create_task(keep_alive(msg))
            try:
                origin = f"{msg.metadata.stream}#{msg.metadata.sequence.stream}"
                async with lock:
                    events, appended, top, parts = await asyncio.to_thread(
                        append_slice, store, tables, origin, keys, partitions
                    )
                if parts:  # before the ack: a slice redelivered republishes the same messages
                    slice_msg = (msg.headers or {}).get("Nats-Msg-Id") or origin
                    limit = nc.max_payload - HEADROOM
                    acks = [
                        js.publish(subj, data, headers=headers)
                        for p, part in enumerate(parts)
                        for subj, data, headers in keyed_messages(part, p, slice_msg, top, limit)
                    ]
                    await asyncio.gather(*acks)
                await engine_step(False)
            finally:
                beat.cancel()
            try:
                await msg.ack_sync()
            except (TimeoutError, NatsError):
                continue  # not acknowledged: the slice comes again and adds nothing (deduplicated)
            summary.slices += 1
            summary.events += events
            summary.appended += appended
            summary.duplicate += events - appended
            if on_slice:
                on_slice(summary)
            if await log_drained(sub):  # we took the last slice
                await engine_step(True)
    finally:
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await nc.close()
    return summary


def work(
    store: Store,
    broker: str,
    *,
    ack_wait: float = 30.0,
    until_idle: float | None = None,
    batch_size: int = 100_000,
    on_slice: Callable[[WorkerSummary], None] | None = None,
    partitions: int = 1,
    open_store: Callable[[], Store] | None = None,
) -> WorkerSummary:
    """Consume slices until stopped (or, with `until_idle`, until the stream is drained, nothing
    is in flight and the engine has caught up with the log). With `partitions` > 1, run the
    keyed tier too: each partition on its own store from `open_store` (a server database), or
    one at a time on `store` (a DuckDB file, one process)."""
    return asyncio.run(
        _work(store, broker, ack_wait, until_idle, batch_size, on_slice, partitions, open_store)
    )
