"""The keyed tier: detectors whose state is one key's (a site's access log, one SMS) run per key
partition, in parallel across workers, beside the ordered log.

After a worker commits a slice to the log it publishes, for every partition p, one message on
`fanzha.keyed.<p>` with the keyed kinds' events of the slice whose key hashes to p, carrying their
log `seq`, and the log position the slice ends at (`Fanzha-Upto`). Each partition has one durable
consumer (`fanzha-keyed-<p>`, one message in flight) that every worker pulls from: partitions run in
parallel, each in log order, and a dead worker's message goes to another after `ack_wait`. For a
message, the worker steps the keyed detectors over the events after the partition's watermark with
the partition's state, and commits signals, states and watermark in one transaction before
acknowledging; a redelivered message below the watermark adds nothing. Why the log first: `seq`
exists only once the log has committed the events (docs/deployment.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from fanzha.engine.protocol import (
    Detector,
    deserialize_state,
    empty_signals,
    partition_by,
    serialize_state,
    signals_key,
)
from fanzha.engine.runner import _checked, canonical_order
from fanzha.errors import FanzhaError
from fanzha.events import kind
from fanzha.hashing import sha256_32_one
from fanzha.store import Store
from fanzha.stream import fitted, partition_of

KEYED_STREAM = "FANZHA_KEYED"
KEYED_PREFIX = "fanzha.keyed"
UPTO = "Fanzha-Upto"


def keyed_subject(partition: int) -> str:
    return f"{KEYED_PREFIX}.{partition}"


def keyed_durable(partition: int) -> str:
    return f"fanzha-keyed-{partition}"


def keyed_msg_id(slice_msg_id: str, partition: int) -> str:
    """The broker drops a republished keyed message (a redelivered slice) by this id."""
    return sha256_32_one(f"{slice_msg_id}\x1f{partition}")


def key_columns(detectors: Sequence[Detector]) -> dict[str, str]:
    """kind -> key column over all keyed detectors (they must agree on each kind's key)."""
    out: dict[str, str] = {}
    for d in detectors:
        for k, c in partition_by(d).items():
            if out.setdefault(k, c) != c:
                raise FanzhaError(f"keyed detectors partition {k} by both {out[k]} and {c}")
    return out


def split(tables: Mapping[str, pa.Table], keys: Mapping[str, str], partitions: int) -> list[dict]:
    """Each partition's share of the keyed kinds' events (a kind with no rows there is left out)."""
    out: list[dict[str, pa.Table]] = [{} for _ in range(partitions)]
    for k, t in tables.items():
        if k not in keys or t.num_rows == 0:
            continue
        where = partition_of(t[keys[k]], partitions)
        for p in range(partitions):
            part = t.filter(pc.equal(where, p))
            if part.num_rows:
                out[p][k] = part
    return out


def by_seq(tables: Mapping[str, pa.Table], size: int) -> list[dict[str, pa.Table]]:
    """A partition's message cut into pieces of `size` events in log order (one too large for
    the broker); each piece then ends (`Fanzha-Upto`) at its last seq, the last at the slice's."""
    seqs = sorted(s for t in tables.values() for s in t["seq"].to_pylist())
    out = []
    for i in range(0, len(seqs), size):
        lo, hi = seqs[i], seqs[min(i + size, len(seqs)) - 1]
        piece = {}
        for k, t in tables.items():
            t = t.filter(pc.and_(pc.greater_equal(t["seq"], lo), pc.less_equal(t["seq"], hi)))
            if t.num_rows:
                piece[k] = t
        out.append(piece)
    return out


def keyed_messages(
    part: Mapping[str, pa.Table], partition: int, slice_msg: str, top: int, limit: int
) -> list[tuple[str, bytes, dict[str, str]]]:
    """(subject, data, headers) of a partition's share of a slice that ends at log position
    `top`: one message, or several in log order if it is over `limit` bytes; each piece but the
    last ends (`Fanzha-Upto`) at its own last seq, so the partition's watermark steps through
    them and a redelivered piece adds nothing."""
    pieces = fitted(part, limit, by_seq)
    out = []
    for i, (piece, data) in enumerate(pieces):
        end = top
        if i < len(pieces) - 1:
            end = max(pc.max(t["seq"]).as_py() for t in piece.values() if t.num_rows)
        mid = keyed_msg_id(slice_msg if i == 0 else f"{slice_msg}#{i}", partition)
        out.append((keyed_subject(partition), data, {"Nats-Msg-Id": mid, UPTO: str(end)}))
    return out


def logged(
    store: Store, tables: Mapping[str, pa.Table], keys: Mapping[str, str], before: int, top: int,
    appended: int,
) -> dict[str, pa.Table]:  # fmt: skip
    """The slice's keyed-kind events as the log holds them (with seq). If the slice was appended
    whole they are the log's (before, top]; else (a redelivery, duplicates) found by event_id."""
    events = sum(t.num_rows for t in tables.values())
    out = {}
    for k, t in tables.items():
        if k not in keys or t.num_rows == 0:
            continue
        if appended == events:
            out[k] = store.read_events(k, before, top)
        else:
            out[k] = store.lookup_events(k, ("event_id",), t["event_id"].to_pylist(), top)
    return out


def step_partition(
    store: Store,
    detectors: Sequence[Detector],
    partitions: int,
    partition: int,
    upto: int,
    tables: Mapping[str, pa.Table],
    cache: dict | None = None,
) -> int | None:
    """Run the keyed detectors (upstream first) over one partition's message and commit; None
    if the partition had already committed it (a redelivery) or another worker did meanwhile.
    `cache` keeps the partition's state between messages while no other worker commits it.
    Returns the signals found."""
    cache = {} if cache is None else cache
    after = store.shard_watermarks(partitions)[partition]
    if upto <= after:
        return None
    if cache.get("watermark") == after:
        states = cache["states"]
    else:
        after, blobs = store.load_shard(partition)
        states = {d.name: deserialize_state(blobs[d.name]) for d in detectors if d.name in blobs}
    batch = {}
    for k, t in tables.items():
        t = t.filter(pc.greater(t["seq"], after))
        batch[k] = t.take(pc.sort_indices(t["seq"]))
    found: dict[str, pa.Table] = {}
    changed: dict[str, dict[str, bytes]] = {}
    new_states = dict(states)
    for d in detectors:
        before = states.get(d.name) or d.initial_state()
        sub = {k: batch.get(k, kind(k).schema.empty_table()) for k in d.kinds}
        sub.update({signals_key(n): found[n] for n in getattr(d, "signal_inputs", ())})
        sigs, state = d.step(sub, before)
        found[d.name] = canonical_order(_checked(d.name, sigs))
        if state is not before:
            changed[d.name] = serialize_state(state)
            new_states[d.name] = state
    signals = pa.concat_tables(list(found.values())) if found else empty_signals()
    cache.clear()
    try:
        store.commit_shard(partitions, partition, after, upto, signals, changed)
    except FanzhaError as e:
        if "another worker moved keyed partition" in str(e):
            return None  # it was given to another worker, whose commit stands
        raise
    cache.update(watermark=upto, states=new_states)
    return signals.num_rows
