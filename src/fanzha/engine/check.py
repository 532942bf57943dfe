"""`check_detector`: the checks every detector must pass, as every scikit-learn estimator passes
the common estimator checks.

A detector must be: documented (its docstring says what fraud it catches); a frozen dataclass
with its settings; pure (no file, network or subprocess access while stepping); deterministic
(same output twice); indifferent to how the log is cut into batches (all at once, one event at a
time, random cuts), to the order of rows inside a batch, and to a checkpoint round trip of its
state; well-behaved on empty batches; and its signals fit the schema, with scores in [0, 1],
readable evidence and unique ids. A keyed detector (`partition_by`) must also give the same
signals run shard by shard (2 and 3 key shards) as on the whole log.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import itertools
import random
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping

import orjson
import polars as pl
import pyarrow as pa

from fanzha.engine.protocol import (
    SIGNAL_SCHEMA,
    Detector,
    State,
    deserialize_state,
    inputs,
    partition_by,
    serialize_state,
    signals_key,
)
from fanzha.engine.runner import answer_lookups


class LogStore:
    """Answers a detector's look-ups from in-memory events, as the store answers them."""

    def __init__(self, events: Mapping[str, pa.Table]):
        self.events = events

    def lookup_events(
        self,
        kind: str,
        fields: tuple[str, ...],
        values: list[str],
        upto_seq: int,
        since: object = None,
    ) -> pa.Table:
        t = self.events[kind]
        df = pl.from_arrow(t)
        cond = pl.any_horizontal([pl.col(f).is_in(values) for f in fields]) & (
            pl.col.seq <= upto_seq
        )
        if since is not None:
            cond = cond & (pl.col.ts >= since)
        return df.filter(cond).sort("seq").to_arrow().cast(t.schema)


@contextlib.contextmanager
def no_io() -> Iterator[None]:
    """Fail loudly if the code inside opens files, sockets or processes."""

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("a detector must not do I/O (open, socket, subprocess)")

    saved = builtins.open, socket.socket.connect, subprocess.Popen.__init__
    builtins.open = refuse  # type: ignore[assignment]
    socket.socket.connect = refuse  # type: ignore[method-assign]
    subprocess.Popen.__init__ = refuse  # type: ignore[method-assign]
    try:
        yield
    finally:
        builtins.open, socket.socket.connect, subprocess.Popen.__init__ = saved  # type: ignore


def _slice(
    events: Mapping[str, pa.Table],
    kinds: tuple[str, ...],
    lo: int,
    hi: int,
    shuffle: random.Random | None = None,
) -> dict[str, pa.Table]:
    out = {}
    for k in kinds:
        t = events[k]
        seq = pl.from_arrow(t.select(["seq"]))["seq"]
        mask = ((seq > lo) & (seq <= hi)).to_arrow()
        part = t.filter(mask)
        if shuffle is not None and part.num_rows > 1:
            idx = list(range(part.num_rows))
            shuffle.shuffle(idx)
            part = part.take(pa.array(idx))
        out[k] = part
    return out


def run_detector(
    det: Detector,
    events: Mapping[str, pa.Table],
    cuts: list[int],
    *,
    shuffle: random.Random | None = None,
    roundtrip: bool = False,
    state: State | None = None,
) -> tuple[pa.Table, State]:
    """Run over the log cut at the given seq positions; look-ups answered from `events`."""
    store = LogStore(events)
    state = det.initial_state() if state is None else state
    outs = []
    bounds = [0, *cuts]
    for lo, hi in itertools.pairwise(bounds):
        batch = _slice(events, inputs(det), lo, hi, shuffle)
        batch.update(answer_lookups(store, det, batch, state, hi))  # type: ignore[arg-type]
        with no_io():
            sigs, state = det.step(batch, state)
        outs.append(sigs)
        if roundtrip:
            state = deserialize_state(serialize_state(state))
    return (pa.concat_tables(outs) if outs else SIGNAL_SCHEMA.empty_table()), state


def canonical(table: pa.Table) -> list[str]:
    """Rows as sorted JSON strings: equal tables compare equal whatever their row order."""
    return sorted(
        orjson.dumps(r, default=str, option=orjson.OPT_SORT_KEYS).decode()
        for r in table.to_pylist()
    )


def _same_state(a: State, b: State) -> bool:
    return sorted(a) == sorted(b) and all(canonical(a[k]) == canonical(b[k]) for k in a)


def check_detector(
    det: Detector,
    events: Mapping[str, pa.Table],
    *,
    min_signals: int = 1,
    seed: int = 0,
    one_by_one_limit: int = 400,
) -> pa.Table:
    """Run every check; raise AssertionError naming the first that fails. Returns the signals."""
    name = type(det).__name__
    module = sys.modules.get(type(det).__module__)
    doc = f"{getattr(module, '__doc__', '') or ''}\n{type(det).__doc__ or ''}"
    assert len(doc.strip()) >= 80 and "fraud" in doc.lower(), (
        f"{name}: its docstring must say what fraud it catches"
    )
    assert isinstance(det.name, str) and det.name, f"{name}: needs a name"
    assert inputs(det) and all(isinstance(k, str) for k in inputs(det)), (
        f"{name}: needs event kinds or signal inputs"
    )
    assert dataclasses.is_dataclass(det) and det.__dataclass_params__.frozen, (
        f"{name}: must be a frozen dataclass (settings are values, not mutable state)"
    )
    for k in inputs(det):
        assert k in events, f"{name}: no test events (or upstream signals) {k!r}"
    top = max(
        (int(pl.from_arrow(t.select(["seq"]))["seq"].max() or 0) for t in events.values()),
        default=0,
    )

    # empty batches, with and without the kinds present
    init = det.initial_state()
    empty = {k: events[k].schema.empty_table() for k in inputs(det)}
    with no_io():
        for batch in (empty, {}):
            sigs, st = det.step(batch, init)
            assert sigs.num_rows == 0, f"{name}: signals from an empty batch"
            assert sigs.schema.equals(SIGNAL_SCHEMA), f"{name}: wrong signal schema on empty batch"
            assert _same_state(st, init), f"{name}: an empty batch changed the state"

    whole, whole_state = run_detector(det, events, [top])
    _check_signals(name, det, whole, events)
    assert whole.num_rows >= min_signals, (
        f"{name}: only {whole.num_rows} signal(s) on the test events; the checks would be vacuous"
    )
    ref = canonical(whole)

    again, again_state = run_detector(det, events, [top])
    assert canonical(again) == ref and _same_state(again_state, whole_state), (
        f"{name}: not deterministic (two runs differ)"
    )

    rng = random.Random(seed)
    for parts in (2, 3, 7):
        cuts = [*sorted(rng.sample(range(1, top), min(parts - 1, max(top - 1, 0)))), top]
        got, st = run_detector(det, events, cuts)
        assert canonical(got) == ref, f"{name}: output depends on batch cuts {cuts[:-1]}"
        assert _same_state(st, whole_state), f"{name}: final state depends on batch cuts"
        got, st = run_detector(det, events, cuts, roundtrip=True)
        assert canonical(got) == ref and _same_state(st, whole_state), (
            f"{name}: state does not survive a checkpoint round trip"
        )
        got, _ = run_detector(det, events, cuts, shuffle=random.Random(seed + parts))
        assert canonical(got) == ref, f"{name}: output depends on row order inside a batch"
    if top <= one_by_one_limit:
        got, st = run_detector(det, events, list(range(1, top + 1)))
        assert canonical(got) == ref, f"{name}: one-event batches give other signals"
        assert _same_state(st, whole_state), f"{name}: one-event batches give another state"
    if partition_by(det):
        _check_sharding(name, det, events, top, ref)
    return whole


def shard(
    det: Detector, events: Mapping[str, pa.Table], partitions: int, p: int
) -> dict[str, pa.Table]:
    """The events of key shard `p` of `partitions` for a keyed detector: each kind's rows whose
    key falls in the shard, and the upstream signals of those rows' events (by seq)."""
    from fanzha.stream import partition_of

    keys = partition_by(det)
    out: dict[str, pa.Table] = {}
    seqs: list[int] = []
    for k in det.kinds:
        t = events[k]
        mine = pl.Series(partition_of(t[keys[k]], partitions)) == p
        out[k] = t.filter(mine.to_arrow())
        seqs += out[k]["seq"].to_pylist()
    for n in getattr(det, "signal_inputs", ()):
        sigs = events[signals_key(n)]
        out[signals_key(n)] = sigs.filter(pl.Series(sigs["seq"]).is_in(seqs).to_arrow())
    return out


def _check_sharding(
    name: str, det: Detector, events: Mapping[str, pa.Table], top: int, ref: list[str]
) -> None:
    keys = partition_by(det)
    assert set(keys) == set(det.kinds) and all(
        c in events[k].column_names for k, c in keys.items()
    ), f"{name}: partition_by must name a column of every kind it reads"
    # the engine takes a keyed detector's signals of a micro-batch by seq: each signal must come
    # out of the batch holding its seq
    state = det.initial_state()
    cuts = sorted({*random.Random(top).sample(range(1, top), min(6, max(top - 1, 0))), top})
    for lo, hi in itertools.pairwise([0, *cuts]):
        with no_io():
            sigs, state = det.step(_slice(events, inputs(det), lo, hi), state)
        seqs = pl.from_arrow(sigs.select(["seq"]))["seq"]
        assert ((seqs > lo) & (seqs <= hi)).all(), (
            f"{name}: declares partition_by but gives a signal in a later batch than its seq's"
        )
    for parts in (2, 3):
        got = [run_detector(det, shard(det, events, parts, p), [top])[0] for p in range(parts)]
        assert canonical(pa.concat_tables(got)) == ref, (
            f"{name}: declares partition_by but run on {parts} key shards gives other signals"
        )


def _check_signals(
    name: str, det: Detector, sigs: pa.Table, events: Mapping[str, pa.Table]
) -> None:
    assert sigs.schema.equals(SIGNAL_SCHEMA), f"{name}: signals do not fit SIGNAL_SCHEMA"
    if sigs.num_rows == 0:
        return
    df = pl.from_arrow(sigs)
    assert df["detector"].unique().to_list() == [det.name], f"{name}: signals carry another name"
    assert df["signal_id"].n_unique() == df.height, f"{name}: duplicate signal ids"
    assert df["score"].is_between(0, 1).all(), f"{name}: a score outside [0, 1]"
    assert (df["evidence"].str.len_chars() >= 10).all(), f"{name}: evidence too short to read"
    assert (df["entity"].str.len_chars() > 0).all(), f"{name}: signal without an entity"
    seqs = set()
    for k in inputs(det):
        seqs |= set(pl.from_arrow(events[k].select(["seq"]))["seq"].to_list())
    assert set(df["seq"].to_list()) <= seqs, f"{name}: a signal's seq is not an input event"
    for d in df["details"].drop_nulls().to_list():
        assert isinstance(orjson.loads(d), dict), f"{name}: details must be a JSON object"
