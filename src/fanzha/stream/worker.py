"""`fanzha worker`: take the next slice from JetStream, append it to the log (commit), and only
then acknowledge; run the engine over every full micro-batch, and over the rest once the stream is
drained (see fanzha.stream for why this gives the embedded path's alerts, exactly once).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from fanzha.engine.runner import Engine
from fanzha.store import Store
from fanzha.stream import DURABLE, SUBJECT_PREFIX, connect, decode, ensure_stream


@dataclass
class WorkerSummary:
    slices: int = 0
    events: int = 0
    appended: int = 0
    duplicate: int = 0
    signals: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def run_engine(store: Store, engine: Engine, *, drained: bool) -> int:
    """Run the engine the way one `fanzha run` after the whole ingest would cut its
    micro-batches: only full batches while slices are still coming, the rest once the stream is
    drained (the decider's alerts depend on where micro-batches end). Returns signals found."""
    from fanzha.errors import FanzhaError

    pending = store.max_seq() - store.load_engine()[0]
    full = pending // engine.batch_size
    if pending == 0 or (not drained and full == 0):
        return 0
    try:
        return engine.run(max_batches=None if drained else full).signals
    except FanzhaError as e:
        if "another engine moved the watermark" in str(e):
            return 0  # another worker of the group ran it: its commit stands, ours is dropped
        raise


def apply_slice(store: Store, tables: dict, engine: Engine, origin: str) -> tuple[int, int, int]:
    """Append one slice to the log (deduplicated by event_id), run the engine over the full
    micro-batches it completes. Returns (events, appended, signals)."""
    store.begin_ingest({"stream": origin, "kinds": sorted(tables)})
    try:
        for i, (k, t) in enumerate(sorted(tables.items())):
            store.stage_events(k, t, i, content_ids=False)
        counts = store.commit_ingest({"stream": origin})
    except BaseException:
        store.abort_ingest()
        raise
    signals = run_engine(store, engine, drained=False)
    events = sum(t.num_rows for t in tables.values())
    return events, sum(a for a, _ in counts.values()), signals


async def _work(
    store: Store,
    broker: str,
    ack_wait: float,
    until_idle: float | None,
    batch_size: int,
    on_slice: Callable[[WorkerSummary], None] | None,
) -> WorkerSummary:
    from nats.errors import Error as NatsError
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    nc = await connect(broker)
    summary = WorkerSummary()
    engine = Engine(store, batch_size=batch_size)
    try:
        js = nc.jetstream(timeout=10)
        await ensure_stream(js)
        sub = await js.pull_subscribe(
            f"{SUBJECT_PREFIX}.>",
            durable=DURABLE,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                max_ack_pending=1,  # one slice in flight across all workers: log order = stream order
                ack_wait=ack_wait,
            ),
        )
        wait = min(1.0, until_idle) if until_idle else 1.0
        idle_since: float | None = None
        while True:
            try:
                msgs = await sub.fetch(1, timeout=wait)
            except (TimeoutError, NatsTimeout):
                try:
                    info = await sub.consumer_info()
                except (TimeoutError, NatsError):
                    continue
                if info.num_pending or info.num_ack_pending:
                    idle_since = None
                    continue
                # The worker that acknowledged the last slice runs the engine's tail; the others
                # step in only if it has not done so within ack_wait (it may have died).
                now = time.monotonic()
                idle_since = idle_since or now
                behind = store.max_seq() != store.load_engine()[0]
                if behind and now - idle_since >= ack_wait:
                    summary.signals += await asyncio.to_thread(
                        run_engine, store, engine, drained=True
                    )
                    behind = store.max_seq() != store.load_engine()[0]
                if until_idle is not None and not behind:
                    break
                continue
            except NatsError:  # broker restarting: the client reconnects, the durable stays
                await asyncio.sleep(0.2)
                continue
            msg = msgs[0]
            tables = decode(msg.data)

            async def keep_alive(msg=msg) -> None:  # a long engine step must not lose its slice
                while True:
                    await asyncio.sleep(ack_wait / 3)
                    await msg.in_progress()

            beat = asyncio.create_task(keep_alive())
            try:
                origin = f"{msg.metadata.stream}#{msg.metadata.sequence.stream}"
                events, appended, signals = await asyncio.to_thread(
                    apply_slice, store, tables, engine, origin
                )
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
            summary.signals += signals
            if on_slice:
                on_slice(summary)
            try:
                info = await sub.consumer_info()
            except (TimeoutError, NatsError):
                continue  # the idle path below runs the engine's tail
            if info.num_pending == 0 and info.num_ack_pending == 0:  # we took the last slice
                summary.signals += await asyncio.to_thread(run_engine, store, engine, drained=True)
    finally:
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
) -> WorkerSummary:
    """Consume slices until stopped (or, with `until_idle`, until the stream is drained, nothing
    is in flight and the engine has caught up with the log)."""
    return asyncio.run(_work(store, broker, ack_wait, until_idle, batch_size, on_slice))
