"""The micro-batch engine: feed new events to the detectors, decide, commit, repeat.

Events are processed in log order (`seq`; within one ingest batch that is event-time order) in
micro-batches of at most `batch_size` log positions. For each micro-batch every detector steps
over the kinds it reads, the decider turns the signals into alerts, and the store commits the
signals, alerts, all changed state and the new watermark in one transaction. A run killed at any
point resumes from the last commit; replaying the whole log from an empty state gives the same
signals and alerts.

Keyed tier (stream workers with `partitions` > 1): the detectors that declare `partition_by` are
run per key partition by fanzha.stream.keyed, which commits their signals with a watermark per
partition. The engine then steps only the other detectors and, for a micro-batch (w, upto], reads
the keyed detectors' committed signals of (w, upto] from the store - once every partition has
committed up to `upto`; before that it stops and is run again later. Every detector's signals go
on in (seq, signal_id) order, in both modes, so the decider sees the same input either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from fanzha.decide import ALERT_SCHEMA
from fanzha.decide.decide import Decider
from fanzha.decide.policy import Policy, default_policy, default_policy_text, parse_policy
from fanzha.engine.protocol import (
    SIGNAL_SCHEMA,
    Detector,
    State,
    deserialize_state,
    history_key,
    partition_by,
    serialize_state,
    signals_key,
)
from fanzha.errors import FanzhaError
from fanzha.store import Store

SHADOW = "shadow"  # the checkpoint component of the shadow policy's decider


@dataclass
class RunSummary:
    batches: int = 0
    events: int = 0
    signals: int = 0
    alerts_touched: int = 0
    watermark: int = 0
    seconds: float = 0.0
    waiting: bool = False  # stopped for a keyed partition that is behind

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def active_policy(store: Store) -> Policy:
    """The store's active policy; the built-in default is saved and activated on first use."""
    got = store.active_policy()
    if got is None:
        text = default_policy_text()
        policy = parse_policy(text)
        store.save_policy(policy.version, text, "fanzha", "built-in default policy")
        return policy
    return parse_policy(got[1])


def configured(detectors: Sequence[Detector], policy: Policy) -> list[Detector]:
    """Detectors with the settings the policy gives them (`detectors: {name: {field: value}}`)."""
    out = []
    for d in detectors:
        overrides = policy.detectors.get(d.name) or {}
        if overrides:
            try:
                d = replace(d, settings=replace(d.settings, **overrides))  # type: ignore[arg-type]
            except TypeError as e:
                raise FanzhaError(f"policy: detectors.{d.name}: {e}") from None
        out.append(d)
    from fanzha.detectors import DEFAULT_DETECTORS

    known = {d.name for d in detectors} | {cls.name for cls in DEFAULT_DETECTORS}
    unknown = set(policy.detectors) - known
    if unknown:
        raise FanzhaError(f"policy: unknown detector(s) {', '.join(sorted(unknown))}")
    return out


def default_detectors() -> list[Detector]:
    from fanzha.detectors import DEFAULT_DETECTORS

    return [cls() for cls in DEFAULT_DETECTORS]


class Engine:
    def __init__(
        self,
        store: Store,
        detectors: Sequence[Detector] | None = None,
        policy: Policy | None = None,
        batch_size: int = 100_000,
        partitions: int = 1,
    ):
        if batch_size < 1:
            raise FanzhaError("batch size must be at least 1")
        if partitions < 1:
            raise FanzhaError("the number of partitions must be at least 1")
        self.store = store
        self.policy = policy or active_policy(store)
        self.detectors = configured(
            detectors if detectors is not None else default_detectors(), self.policy
        )
        self.detectors = upstream_first(self.detectors)
        self.decider = Decider(self.policy)
        # shadow mode: a candidate decides on the same signals; its alerts go to their own
        # table and act on nothing (fanzha.decide.shadow)
        shadow = store.shadow_policy() if policy is None else None
        self.shadow = Decider(parse_policy(shadow[1])) if shadow else None
        self.batch_size = batch_size
        self.partitions = partitions
        self.seen = (
            0  # the watermark of this engine's last load or commit (never above the store's)
        )
        self.keyed = keyed_detectors(self.detectors) if partitions > 1 else []
        keyed_names = {d.name for d in self.keyed}
        stepped = [d for d in self.detectors if d.name not in keyed_names]
        self.kinds = sorted({k for d in stepped for k in d.kinds})
        stored = store.keyed_partitions()
        if stored is not None and stored != (partitions if self.keyed else None):
            raise FanzhaError(
                f"this database's keyed detectors ran in {stored} stream partitions: go on with "
                f"`fanzha worker --partitions {stored}`, or replay (`fanzha run --replay`)"
            )

    def _load(self) -> tuple[int, dict[str, State]]:
        watermark, blobs = self.store.load_engine()
        states: dict[str, State] = {}
        for comp in [*(d.name for d in self.detectors), self.decider.name]:
            if comp in blobs:
                states[comp] = deserialize_state(blobs[comp])
        for d in self.detectors:
            states.setdefault(d.name, d.initial_state())
        states.setdefault(self.decider.name, self.decider.initial_state())
        if self.shadow is not None:
            states[SHADOW] = (
                deserialize_state(blobs[SHADOW]) if SHADOW in blobs else self.shadow.initial_state()
            )
        return watermark, states

    def run(
        self,
        *,
        max_batches: int | None = None,
        on_commit: Callable[[RunSummary, int], None] | None = None,
    ) -> RunSummary:
        """Process every event not yet processed; `on_commit(summary, top)` after each commit."""
        t0 = time.perf_counter()
        watermark, states = self._load()
        self.seen = watermark
        top = self.store.max_seq()
        summary = RunSummary(watermark=watermark)
        keyed = [d.name for d in self.keyed]
        while watermark < top and (max_batches is None or summary.batches < max_batches):
            upto = min(watermark + self.batch_size, top)
            if keyed and min(self.store.shard_watermarks(self.partitions)) < upto:
                summary.waiting = True  # a keyed partition is behind: run again later
                break
            batch = {k: self.store.read_events(k, watermark, upto) for k in self.kinds}
            changed: dict[str, dict[str, bytes]] = {}
            outs = []
            found: dict[str, pa.Table] = {}
            committed = (
                self.store.keyed_signals(keyed, watermark, upto) if keyed else None
            )  # the keyed tier's signals, already in the store
            for d in self.detectors:
                if committed is not None and d.name in keyed:
                    found[d.name] = committed.filter(pc.equal(committed["detector"], d.name))
                    outs.append(found[d.name])
                    continue
                before = states[d.name]
                sub = {k: batch[k] for k in d.kinds}
                sub.update({signals_key(n): found[n] for n in getattr(d, "signal_inputs", ())})
                sub.update(answer_lookups(self.store, d, sub, before, upto))
                sigs, after = d.step(sub, before)
                found[d.name] = canonical_order(_checked(d.name, sigs))
                outs.append(found[d.name])
                if after is not before:
                    states[d.name] = after
                    changed[d.name] = serialize_state(after)
            signals = pa.concat_tables(outs) if outs else SIGNAL_SCHEMA.empty_table()
            alerts, dstate = self.decider.step(signals, states[self.decider.name])
            if dstate is not states[self.decider.name]:
                states[self.decider.name] = dstate
                changed[self.decider.name] = serialize_state(dstate)
            if self.shadow is not None:
                shadow_alerts, sstate = self.shadow.step(signals, states[SHADOW])
                self.store.put_shadow_alerts(shadow_alerts)  # idempotent: before the commit
                if sstate is not states[SHADOW]:
                    states[SHADOW] = sstate
                    changed[SHADOW] = serialize_state(sstate)
            new = signals
            if keyed:
                new = signals.filter(pc.invert(pc.is_in(signals["detector"], pa.array(keyed))))
            self.store.commit_step(upto, new, alerts, changed)
            summary.batches += 1
            summary.events += sum(t.num_rows for t in batch.values())
            summary.signals += new.num_rows  # the keyed tier counts its own
            summary.alerts_touched += alerts.num_rows
            watermark = summary.watermark = upto
            self.seen = upto
            if on_commit:
                on_commit(summary, top)
        summary.seconds = time.perf_counter() - t0
        return summary


def server_engine(store: Store) -> Engine:
    """The engine a server runs on this database (`fanzha serve`'s periodic run and POST
    /v1/engine/run): with the keyed tier's partitions if stream workers ran it keyed, so it
    takes their signals and waits for them instead of refusing."""
    return Engine(store, partitions=store.keyed_partitions() or 1)


def canonical_order(signals: pa.Table) -> pa.Table:
    """A detector's signals by (seq, signal_id): the order the store gives the keyed tier's."""
    if signals.num_rows < 2:
        return signals
    return signals.take(
        pc.sort_indices(signals, [("seq", "ascending"), ("signal_id", "ascending")])
    )


def keyed_detectors(detectors: Sequence[Detector]) -> list[Detector]:
    """The detectors the keyed tier runs (those declaring `partition_by`), upstream first; each
    may read signals only of keyed detectors with the same `partition_by`, and look nothing up."""
    keyed = [d for d in detectors if partition_by(d)]
    by = {d.name: d for d in keyed}
    for d in keyed:
        if getattr(d, "lookups", None) is not None:
            raise FanzhaError(f"keyed detector {d.name} looks up past events: it cannot be keyed")
        for n in getattr(d, "signal_inputs", ()):
            if n not in by or dict(partition_by(by[n])) != dict(partition_by(d)):
                raise FanzhaError(
                    f"keyed detector {d.name} reads signals of {n}, which is not keyed the same way"
                )
    return upstream_first(keyed)


def upstream_first(detectors: Sequence[Detector]) -> list[Detector]:
    """Detectors ordered so that each runs after those whose signals it reads."""
    by = {d.name: d for d in detectors}
    if len(by) != len(detectors):
        raise FanzhaError(f"two detectors share a name: {[d.name for d in detectors]}")
    out: list[Detector] = []
    state: dict[str, str] = {}

    def visit(d: Detector, path: tuple[str, ...]) -> None:
        if state.get(d.name) == "done":
            return
        if state.get(d.name) == "visiting":
            raise FanzhaError(
                f"detectors read each other's signals in a cycle: {' -> '.join(path)}"
            )
        state[d.name] = "visiting"
        for n in getattr(d, "signal_inputs", ()):
            if n not in by:
                raise FanzhaError(f"detector {d.name} reads signals of {n!r}, which is not running")
            visit(by[n], (*path, n))
        state[d.name] = "done"
        out.append(d)

    for d in detectors:
        visit(d, (d.name,))
    return out


def answer_lookups(
    store: Store, d: Detector, batch: dict[str, pa.Table], state: State, upto: int
) -> dict[str, pa.Table]:
    """The `history:<kind>` tables a detector asked for (none if it has no `lookups`)."""
    ask = getattr(d, "lookups", None)
    if ask is None:
        return {}
    merged: dict[str, list[pa.Table]] = {}
    for q in ask(batch, state):
        t = store.lookup_events(q.kind, q.fields, list(q.values), upto, q.since)
        merged.setdefault(q.kind, []).append(t)
    out = {}
    for k, tables in merged.items():
        t = pa.concat_tables(tables)
        if len(tables) > 1:  # several look-ups may return the same event once each
            t = pl.from_arrow(t).unique("seq", keep="first").sort("seq").to_arrow().cast(t.schema)
        out[history_key(k)] = t
    return out


def _checked(name: str, sigs: pa.Table) -> pa.Table:
    if not sigs.schema.equals(SIGNAL_SCHEMA, check_metadata=False):
        try:
            sigs = sigs.select(SIGNAL_SCHEMA.names).cast(SIGNAL_SCHEMA)
        except (KeyError, pa.ArrowInvalid, ValueError) as e:
            raise FanzhaError(
                f"detector {name} returned signals that do not fit the signal schema: {e}"
            ) from None
    return sigs


__all__ = [
    "ALERT_SCHEMA",
    "Engine",
    "RunSummary",
    "active_policy",
    "configured",
    "default_detectors",
    "default_policy",
]
