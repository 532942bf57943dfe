"""Stable content ids: the first 32 hex digits of SHA-256, computed vectorised.

Ids of events, signals and alerts must be the same on every run, machine and store backend, so
they are plain SHA-256 of a canonical string (DuckDB's `sha256` is used only because it is fast;
it equals `hashlib.sha256(s.encode()).hexdigest()[:32]`, which a test checks).
"""

from __future__ import annotations

import hashlib
import threading

import duckdb
import pyarrow as pa

_local = threading.local()


def sha256_32(strings: pa.Array | pa.ChunkedArray) -> pa.Array:
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect(":memory:")
    t = pa.table({"s": strings})  # noqa: F841 - read by DuckDB below
    out = con.sql("SELECT left(sha256(s), 32) AS h FROM t").to_arrow_table()["h"]
    return out.combine_chunks().cast(pa.string()) if out.num_chunks else pa.array([], pa.string())


def sha256_32_one(s: str) -> str:
    """The same id for a single string (no query round trip)."""
    return hashlib.sha256(s.encode()).hexdigest()[:32]
