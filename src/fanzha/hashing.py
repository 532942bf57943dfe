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

_con: duckdb.DuckDBPyConnection | None = None
_lock = threading.Lock()


def sha256_32(strings: pa.Array | pa.ChunkedArray) -> pa.Array:
    # A cursor of one process-wide connection per call, closed at once: a connection kept in a
    # thread-local would be destroyed when a server's worker thread exits at shutdown, which
    # aborts the process (DuckDB's destructor meets the interpreter's forced thread unwind).
    global _con
    with _lock:
        if _con is None:
            _con = duckdb.connect(":memory:")
        cur = _con.cursor()
    try:
        t = pa.table({"s": strings})  # noqa: F841 - read by DuckDB below
        out = cur.sql("SELECT left(sha256(s), 32) AS h FROM t").to_arrow_table()["h"]
    finally:
        cur.close()
    return out.combine_chunks().cast(pa.string()) if out.num_chunks else pa.array([], pa.string())


def sha256_32_one(s: str) -> str:
    """The same id for a single string (no query round trip)."""
    return hashlib.sha256(s.encode()).hexdigest()[:32]
