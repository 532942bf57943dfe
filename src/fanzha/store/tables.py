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

# Dissuasion tasks: one per alert and action (a channel), made by `fanzha dispatch`.
TASK_SCHEMA = pa.schema(
    [
        pa.field("task_id", pa.string()),  # hash of alert and action: dispatching twice is a no-op
        pa.field("alert_id", pa.string()),
        pa.field("action", pa.string()),  # sms, flash_sms, call, home_visit, family_notice, ...
        pa.field("channel", pa.string()),  # the adapter that carries it
        pa.field("entity", pa.string()),  # the person (phone)
        pa.field("recipient", pa.string()),  # who receives it (the person, a family member, a bank)
        pa.field("tier", pa.string()),  # the alert's tier when the task was made
        pa.field("fraud_type", pa.string()),
        pa.field("created_ts", TS_TYPE),  # event time the action became due (the alert's last)
        pa.field("due_ts", TS_TYPE),  # SLA deadline (event time)
        pa.field("status", pa.string()),  # sent, failed, skipped
        pa.field("sink", pa.string()),  # where it went (a directory or URL)
        pa.field("sent_at", TS_TYPE),  # wall-clock time it was handed to the sink
        pa.field("attempts", pa.int64()),
        pa.field("payload", pa.string()),  # JSON: the message, script or request
        pa.field("error", pa.string()),
    ]
)

# What came of a task: reached and dissuaded, unreachable, already paid.
OUTCOME_SCHEMA = pa.schema(
    [
        pa.field(
            "outcome_id", pa.string()
        ),  # hash of task, outcome and time: recording twice adds one
        pa.field("task_id", pa.string()),
        pa.field("alert_id", pa.string()),
        pa.field("outcome", pa.string()),
        pa.field("outcome_ts", TS_TYPE),  # when it happened (reported by the caller, visitor, bank)
        pa.field("by", pa.string()),
        pa.field("note", pa.string()),
        pa.field("recorded_at", TS_TYPE),  # wall-clock time it was recorded
    ]
)
OUTCOMES = ("dissuaded", "unreachable", "already_paid")

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


# --- the HTTP API's tables ----------------------------------------------------------------------
# API keys and citizens' sessions: only the SHA-256 of the secret is kept.
API_KEY_SCHEMA = pa.schema(
    [
        pa.field("key_id", pa.string()),  # public part of the token, shown in the audit log
        pa.field("key_hash", pa.string()),  # sha256 hex of the whole token
        pa.field("org", pa.string()),  # the organisation: centre-xm, bank-icbc, operator-a, ...
        pa.field(
            "role", pa.string()
        ),  # analyst, police, bank, operator, platform, warehouse, citizen
        pa.field("subject", pa.string()),  # a citizen's session: the ID number it proved control of
        pa.field("phone", pa.string()),  # a citizen's session: the phone the one-time code reached
        pa.field("label", pa.string()),
        pa.field("created_ts", TS_TYPE),
        pa.field("expires_ts", TS_TYPE),  # null: until revoked
        pa.field("revoked_ts", TS_TYPE),
    ]
)

# What analysts did with an alert (append-only; the alert's status is derived from it).
ALERT_ACTION_SCHEMA = pa.schema(
    [
        pa.field("action_id", pa.string()),  # the client's idempotency key, or a generated one
        pa.field("alert_id", pa.string()),
        pa.field("ts", TS_TYPE),
        pa.field("actor", pa.string()),  # key id
        pa.field("org", pa.string()),
        pa.field("role", pa.string()),
        pa.field("action", pa.string()),  # assign, contact, escalate, close, reopen, note
        pa.field("assignee", pa.string()),
        pa.field("outcome", pa.string()),  # contact outcome
        pa.field("escalate_to", pa.string()),
        pa.field("resolution", pa.string()),  # why it was closed
        pa.field("note", pa.string()),
        pa.field("alert_last_seq", pa.int64()),  # the alert's last_seq when the action was taken
    ]
)

# One-time codes that prove a citizen controls an ID (sent to a phone registered to it).
OTP_SCHEMA = pa.schema(
    [
        pa.field("challenge_id", pa.string()),
        pa.field("id_number", pa.string()),
        pa.field("phone", pa.string()),
        pa.field("code_hash", pa.string()),  # sha256 of challenge id and code; null: none was sent
        pa.field("org", pa.string()),  # the citizen app that asked
        pa.field("created_ts", TS_TYPE),
        pa.field("expires_ts", TS_TYPE),
        pa.field("attempts", pa.int64()),
        pa.field("used_ts", TS_TYPE),
    ]
)

# Where each partner receives notifications: a webhook (HMAC-signed) and/or a file drop.
PARTNER_SCHEMA = pa.schema(
    [
        pa.field("partner", pa.string()),
        pa.field("webhook_url", pa.string()),
        pa.field("secret", pa.string()),  # HMAC-SHA256 signing secret of the webhook
        pa.field("file_dir", pa.string()),
        pa.field("updated_ts", TS_TYPE),
    ]
)

# Notifications to partners and their delivery status.
NOTIFICATION_SCHEMA = pa.schema(
    [
        pa.field("notification_id", pa.string()),  # stable: the same news is queued once
        pa.field("partner", pa.string()),
        pa.field("topic", pa.string()),  # e.g. list_entries
        pa.field("payload", pa.string()),  # JSON
        pa.field("created_ts", TS_TYPE),
        pa.field("status", pa.string()),  # pending, delivered, failed
        pa.field("attempts", pa.int64()),
        pa.field("next_attempt_ts", TS_TYPE),
        pa.field("last_attempt_ts", TS_TYPE),
        pa.field("delivered_ts", TS_TYPE),
        pa.field("channel", pa.string()),  # webhook, file, pull
        pa.field("last_error", pa.string()),
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
