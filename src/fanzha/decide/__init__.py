"""Decide: turn signals into alerts with a tier, actions and a dedup key, by a YAML policy."""

from __future__ import annotations

import pyarrow as pa

from fanzha.events import TS_TYPE

TIERS = ("low", "medium", "high")  # in rising order of urgency

ALERT_SCHEMA = pa.schema(
    [
        pa.field("alert_id", pa.string(), nullable=False),
        pa.field("rule", pa.string(), nullable=False),
        pa.field("dedup_key", pa.string(), nullable=False),
        pa.field("entity_kind", pa.string(), nullable=False),
        pa.field("entity", pa.string(), nullable=False),
        pa.field("tier", pa.string(), nullable=False),
        pa.field("actions", pa.list_(pa.string())),
        pa.field("fraud_type", pa.string()),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("first_ts", TS_TYPE, nullable=False),
        pa.field("last_ts", TS_TYPE, nullable=False),
        pa.field("first_seq", pa.int64(), nullable=False),
        pa.field("last_seq", pa.int64(), nullable=False),
        pa.field("n_signals", pa.int64(), nullable=False),
        pa.field("signal_ids", pa.list_(pa.string())),  # the first MAX_SIGNAL_IDS of them
        pa.field("evidence", pa.string(), nullable=False),
        pa.field("sla_due", TS_TYPE),  # act by then (event time + tier SLA)
        pa.field("escalations", pa.int64(), nullable=False),
        pa.field("policy_version", pa.string(), nullable=False),
    ]
)
