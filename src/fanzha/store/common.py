"""What every store backend shares: wall-clock stamps, JSON text and the audit hash chain."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from fanzha.errors import FanzhaError
from fanzha.events import kind


def now_ms() -> dt.datetime:
    """Wall-clock time, truncated to ms (the precision every stored time has)."""
    t = dt.datetime.now(dt.UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def to_json(obj: Any) -> str:
    return orjson.dumps(obj, default=str, option=orjson.OPT_SORT_KEYS).decode()


def audit_hash(prev: str, n: int, ts: dt.datetime, *fields: str) -> str:
    stamp = (ts - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(milliseconds=1)
    body = "\x1f".join([prev, str(n), str(stamp), *fields])
    return hashlib.sha256(body.encode()).hexdigest()


def audit_chain_intact(rows: Iterable[Mapping[str, Any]]) -> bool:
    """True if every audit row (AUDIT_SCHEMA, in order of n) hashes to its `hash` and points at
    the previous row's hash."""
    prev = ""
    for row in rows:
        expect = audit_hash(
            prev,
            row["n"],
            row["ts"],
            row["actor"],
            row["role"],
            row["action"],
            row["target"],
            row["reason"],
            row["detail"],
        )
        if row["prev_hash"] != prev or row["hash"] != expect:
            return False
        prev = row["hash"]
    return True


def checked_log_rows(
    events: Mapping[str, pa.Table], max_seq: int
) -> tuple[dict[str, pa.Table], int, list[int]]:
    """Events that already have log positions (Store.append_log), typed by their kind's schema:
    (tables of the kinds that have rows, the new highest seq, their batch ids).

    Every seq must be unique and above `max_seq`: the log only grows at its end."""
    tables: dict[str, pa.Table] = {}
    for name, t in events.items():
        if not t.num_rows:
            continue
        schema = kind(name).schema
        missing = [c for c in schema.names if c not in t.column_names]
        if missing:
            raise FanzhaError(f"{name} events lack column(s) {', '.join(missing)}")
        try:
            tables[name] = t.select(schema.names).cast(schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as e:
            raise FanzhaError(f"{name} events do not fit the {name} schema: {e}") from None
        if any(tables[name].column(f.name).null_count for f in schema if not f.nullable):
            raise FanzhaError(f"{name} events have empty required fields")
    if not tables:
        return {}, max_seq, []
    seqs = pa.chunked_array([c for t in tables.values() for c in t["seq"].chunks], pa.int64())
    low = pc.min(seqs).as_py()
    if low <= max_seq:
        raise FanzhaError(
            f"log position {low} is already in use (the log ends at {max_seq}); "
            "events can only be appended after it"
        )
    if pc.count_distinct(seqs).as_py() != len(seqs):
        raise FanzhaError("two events share a log position")
    batches = sorted({b for t in tables.values() for b in pc.unique(t["batch_id"]).to_pylist()})
    return tables, int(pc.max(seqs).as_py()), batches


def check_shard(
    stored_partitions: str, stored_watermark: str, partitions: int, partition: int, after: int
) -> None:
    """Refuse a keyed partition's commit that would not follow its last one (see commit_shard)."""
    if stored_partitions and int(stored_partitions) != partitions:
        raise FanzhaError(
            f"the keyed tier of this database runs with {stored_partitions} partitions, not "
            f"{partitions}: use --partitions {stored_partitions} (or replay the engine from the start)"
        )
    current = int(stored_watermark or 0)
    if current != after:
        raise FanzhaError(
            f"another worker moved keyed partition {partition} (from {after} to {current})"
        )
