"""Arrow schemas of the store's own tables (events are in fanzha.events, signals in
fanzha.engine.protocol, alerts in fanzha.decide)."""

from __future__ import annotations

import pyarrow as pa

from fanzha.events import TS_TYPE

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("batch_id", pa.int64()),
        pa.field("kind", pa.string()),
        pa.field("source_file", pa.string()),
        pa.field("line", pa.int64()),
        pa.field("raw", pa.string()),
        pa.field("reason_code", pa.string()),
        pa.field("reason", pa.string()),
    ]
)

LIST_SCHEMA = pa.schema(
    [
        pa.field(
            "entry_id", pa.string()
        ),  # hash of list, partner, entity, ref: adding twice is a no-op
        pa.field("list_name", pa.string()),  # freeze, cancel, block, watch, notify
        pa.field("partner", pa.string()),  # who must act: a bank, operator, platform, ...
        pa.field("entity_kind", pa.string()),
        pa.field("entity", pa.string()),
        pa.field("action", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("evidence", pa.string()),
        pa.field("created_ts", TS_TYPE),
        pa.field("expires_ts", TS_TYPE),
        pa.field("ref", pa.string()),  # case, alert or ring the entry comes from
    ]
)

AUDIT_SCHEMA = pa.schema(
    [
        pa.field("n", pa.int64()),
        pa.field("ts", TS_TYPE),
        pa.field("actor", pa.string()),
        pa.field("role", pa.string()),
        pa.field("action", pa.string()),
        pa.field("target", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("detail", pa.string()),
        pa.field("prev_hash", pa.string()),
        pa.field("hash", pa.string()),
    ]
)


def duckdb_type(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "VARCHAR"
    if pa.types.is_int64(t):
        return "BIGINT"
    if pa.types.is_int32(t):
        return "INTEGER"
    if pa.types.is_floating(t):
        return "DOUBLE"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ"
    if pa.types.is_binary(t):
        return "BLOB"
    if pa.types.is_list(t):
        return duckdb_type(t.value_type) + "[]"
    raise TypeError(f"no DuckDB type for {t}")


def pg_type(t: pa.DataType) -> str:
    """The PostgreSQL column type of an Arrow type. Text compares byte-wise (COLLATE "C"), as in
    DuckDB, so that ORDER BY on ids gives the same order on both backends."""
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return 'text COLLATE "C"'
    if pa.types.is_int64(t):
        return "bigint"
    if pa.types.is_int32(t):
        return "integer"
    if pa.types.is_floating(t):
        return "double precision"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_timestamp(t):
        return "timestamptz"
    if pa.types.is_binary(t):
        return "bytea"
    if pa.types.is_list(t):
        return pg_type(t.value_type).removesuffix(' COLLATE "C"') + "[]"
    raise TypeError(f"no PostgreSQL type for {t}")


def ddl(table: str, schema: pa.Schema, extra: str = "") -> str:
    cols = ", ".join(f'"{f.name}" {duckdb_type(f.type)}' for f in schema)
    return f"CREATE TABLE IF NOT EXISTS {table} ({cols}{', ' + extra if extra else ''})"
