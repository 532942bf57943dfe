"""Where fanzha keeps everything: event log, quarantine, signals, alerts, cases, lists, audit, state.

The `Store` interface is narrow on purpose, so that the embedded DuckDB file (duckdb_store.py) and
a PostgreSQL server (postgres.py) both implement it, with the same semantics: tests/store runs the
same suite against both. Every write that must be atomic is one method: an ingest batch
(events + quarantine + batch record) and an engine step (signals + alerts + detector state +
watermark) each commit all or nothing, which is what makes a killed run resume without losing or
doubling anything.
"""

from __future__ import annotations

import datetime as dt
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

DEFAULT_DB = "fanzha.duckdb"


def db_url(db: str | None = None) -> str:
    """The database to use: the argument, else $FANZHA_DB, else ./fanzha.duckdb. A
    postgresql://user@host:port/dbname URL names a PostgreSQL database."""
    return db or os.environ.get("FANZHA_DB") or DEFAULT_DB


class Store(ABC):
    """The operations fanzha needs from a database. Tables are Arrow in and Arrow out."""

    url: str

    # --- event log -------------------------------------------------------------------------
    @abstractmethod
    def begin_ingest(self, description: Mapping[str, Any]) -> int:
        """Start an atomic ingest batch; return its batch id."""

    @abstractmethod
    def stage_events(
        self, kind: str, table: pa.Table, file_index: int, content_ids: bool = True
    ) -> None:
        """Stage valid events (kind fields + event_id + source) of one input file."""

    @abstractmethod
    def stage_quarantine(self, rows: pa.Table) -> None:
        """Stage rejected rows (see QUARANTINE_SCHEMA)."""

    @abstractmethod
    def commit_ingest(self, summary: Mapping[str, Any]) -> dict[tuple[str, int], tuple[int, int]]:
        """Deduplicate, assign log positions in event-time order, commit.

        Returns (kind, file_index) -> (accepted, duplicate).
        """

    @abstractmethod
    def abort_ingest(self) -> None: ...

    @abstractmethod
    def max_seq(self) -> int:
        """Highest log position in use (0 for an empty log)."""

    @abstractmethod
    def read_events(self, kind: str, after_seq: int, upto_seq: int) -> pa.Table:
        """Events of `kind` with after_seq < seq <= upto_seq, in log order, typed by kind schema."""

    @abstractmethod
    def read_event_columns(
        self, kind: str, columns: list[str], after_seq: int, upto_seq: int
    ) -> pa.Table:
        """Only the named columns of `read_events` (an index over millions of transfers needs a
        few columns, not the memo text)."""

    @abstractmethod
    def find_events(self, kind: str, **equals: Any) -> pa.Table:
        """Events of `kind` whose columns equal the given values, in log order."""

    @abstractmethod
    def lookup_events(
        self,
        kind: str,
        fields: tuple[str, ...],
        values: list[str],
        upto_seq: int,
        since: Any = None,
    ) -> pa.Table:
        """Events of `kind` with seq <= upto_seq, event time >= since (if given), and any of
        `fields` equal to one of `values`, in log order (a detector's look-back)."""

    @abstractmethod
    def count_events(self) -> dict[str, int]: ...

    @abstractmethod
    def append_log(self, events: Mapping[str, pa.Table], description: Mapping[str, Any]) -> int:
        """Append events that already have their log positions (seq, event_id, batch_id, e.g.
        read back from the Parquet lake) in one transaction; returns the events added.

        Every seq must be unique and above max_seq, and no event id may be in the log already:
        the log is the same as the one they came from, not a renumbered copy."""

    # --- engine ----------------------------------------------------------------------------
    @abstractmethod
    def load_engine(self) -> tuple[int, dict[str, dict[str, bytes]]]:
        """(watermark, component -> state name -> serialised state)."""

    @abstractmethod
    def commit_step(
        self,
        watermark: int,
        signals: pa.Table,
        alerts: pa.Table,
        states: Mapping[str, Mapping[str, bytes]],
    ) -> None:
        """Atomically add signals, upsert alerts, replace changed states, move the watermark."""

    @abstractmethod
    def reset_engine(self) -> None:
        """Forget signals, alerts and engine state, to replay the log from the start."""

    # --- keyed tier (fanzha.stream.keyed) -----------------------------------------------
    @abstractmethod
    def keyed_partitions(self) -> int | None:
        """The number of partitions the keyed tier runs with (None before its first commit)."""

    @abstractmethod
    def shard_watermarks(self, partitions: int) -> list[int]:
        """The log position up to which each keyed partition 0..partitions-1 has committed."""

    @abstractmethod
    def load_shard(self, partition: int) -> tuple[int, dict[str, dict[str, bytes]]]:
        """(watermark, detector -> state name -> serialised state) of one keyed partition."""

    @abstractmethod
    def commit_shard(
        self,
        partitions: int,
        partition: int,
        after: int,
        upto: int,
        signals: pa.Table,
        states: Mapping[str, Mapping[str, bytes]],
    ) -> None:
        """Atomically add a keyed partition's signals (idempotent by signal_id), replace its
        detectors' states and move its watermark from `after` to `upto`. Raises FanzhaError if
        the watermark is no longer `after` (another worker committed the partition) or the
        database's keyed tier has another number of partitions."""

    @abstractmethod
    def keyed_signals(self, detectors: list[str], after_seq: int, upto_seq: int) -> pa.Table:
        """Signals of these detectors with seq in (after_seq, upto_seq], by (seq, signal_id)."""

    # --- outputs ---------------------------------------------------------------------------
    @abstractmethod
    def signals(self) -> pa.Table: ...

    @abstractmethod
    def alerts(self) -> pa.Table: ...

    @abstractmethod
    def role_signals(
        self, role: str, entity_kind: str | None = None, entity: str | None = None
    ) -> pa.Table:
        """Signals whose details.role is `role` (e.g. "suspect": a detector suspects the value),
        optionally about one entity, in log order (what intelligence folds in)."""

    @abstractmethod
    def quarantine(self, batch_id: int | None = None) -> pa.Table: ...

    @abstractmethod
    def ingest_batches(self) -> list[dict[str, Any]]: ...

    # --- dissuasion: tasks and their outcomes ------------------------------------------------
    @abstractmethod
    def put_tasks(self, rows: pa.Table) -> None:
        """Insert or replace dissuasion tasks (TASK_SCHEMA) by task_id."""

    @abstractmethod
    def tasks(self, status: str | None = None) -> pa.Table:
        """Dissuasion tasks (all, or those with this status), by creation time."""

    @abstractmethod
    def add_outcomes(self, rows: pa.Table) -> int:
        """Record task outcomes (OUTCOME_SCHEMA); an outcome_id already present is not added
        again. Returns rows added."""

    @abstractmethod
    def outcomes(self) -> pa.Table: ...

    # --- cases, lists, policies, audit -------------------------------------------------------
    @abstractmethod
    def put_case(self, case_id: str, status: str, data: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def cases(self) -> list[dict[str, Any]]: ...

    @abstractmethod
    def add_list_entries(self, rows: pa.Table) -> int:
        """Add freeze / cancel / block list entries (LIST_SCHEMA); returns rows added."""

    @abstractmethod
    def list_entries(
        self, list_name: str | None = None, partner: str | None = None
    ) -> pa.Table: ...

    @abstractmethod
    def save_policy(
        self, version: str, text: str, author: str, reason: str, activate: bool = True
    ) -> None: ...

    @abstractmethod
    def active_policy(self) -> tuple[str, str] | None:
        """(version, YAML text) of the active policy, or None to use the built-in default."""

    @abstractmethod
    def policy_history(self) -> list[dict[str, Any]]:
        """Every saved policy (version, created_at, author, reason, text), oldest first. Applying
        or rolling back adds a row, so the history says who made which version live, when and
        why; a version's text is the same in every row (the version is a hash of it)."""

    # --- shadow mode: a candidate policy decides beside the live one, acting on nothing ----------
    @abstractmethod
    def set_shadow_policy(self, version: str | None) -> None:
        """Run the saved policy `version` in shadow from the current watermark on (None: stop).
        Either way the previous shadow's alerts and decider state are forgotten."""

    @abstractmethod
    def shadow_policy(self) -> tuple[str, str, int] | None:
        """(version, YAML text, watermark it started at) of the shadow policy, or None."""

    @abstractmethod
    def put_shadow_alerts(self, alerts: pa.Table) -> None:
        """Insert or replace shadow alerts (ALERT_SCHEMA) by alert_id (idempotent: written
        before the engine step commits, so a step done again writes the same rows)."""

    @abstractmethod
    def shadow_alerts(self) -> pa.Table: ...

    @abstractmethod
    def append_audit(
        self,
        actor: str,
        role: str,
        action: str,
        target: str,
        reason: str,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append to the audit log; entries are hash-chained and never changed."""

    @abstractmethod
    def audit_log(self) -> pa.Table: ...

    @abstractmethod
    def verify_audit(self) -> bool:
        """True if the audit hash chain is intact."""

    # --- the HTTP API: keys, alert actions, one-time codes, partners, notifications -----------
    @abstractmethod
    def add_api_key(self, row: Mapping[str, Any]) -> None:
        """Add an API key or a citizen's session (API_KEY_SCHEMA; key_id is unique)."""

    @abstractmethod
    def api_key(self, key_hash: str) -> dict[str, Any] | None:
        """The key or session whose secret hashes to `key_hash`, revoked or not, or None."""

    @abstractmethod
    def api_keys(self) -> pa.Table:
        """Every key and session (API_KEY_SCHEMA), by creation time."""

    @abstractmethod
    def revoke_api_key(self, key_id: str, at: dt.datetime) -> bool:
        """Revoke a key; False if there is no such key or it was already revoked."""

    @abstractmethod
    def add_alert_actions(self, rows: pa.Table) -> int:
        """Append analysts' actions on alerts (ALERT_ACTION_SCHEMA); an action_id already present
        is not added again. Returns rows added."""

    @abstractmethod
    def alert_actions(self, alert_ids: list[str] | None = None) -> pa.Table:
        """Actions (on these alerts, or all) in the order they were taken."""

    @abstractmethod
    def add_otp(self, row: Mapping[str, Any]) -> None:
        """Record a one-time-code challenge (OTP_SCHEMA)."""

    @abstractmethod
    def otp(self, challenge_id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def otp_attempt(self, challenge_id: str) -> int:
        """Count one more attempt at a challenge, atomically; returns the attempts so far."""

    @abstractmethod
    def use_otp(self, challenge_id: str, at: dt.datetime) -> bool:
        """Mark a challenge used, atomically; False if it was used already (single use)."""

    @abstractmethod
    def count_otps(
        self, since: dt.datetime, id_number: str | None = None, phone: str | None = None
    ) -> int:
        """Challenges created since `since` for this ID number or this phone (rate limits)."""

    @abstractmethod
    def put_partner(self, row: Mapping[str, Any]) -> None:
        """Insert or replace a partner's delivery endpoints (PARTNER_SCHEMA)."""

    @abstractmethod
    def partners(self) -> list[dict[str, Any]]: ...

    @abstractmethod
    def add_notifications(self, rows: pa.Table) -> int:
        """Queue notifications (NOTIFICATION_SCHEMA); a notification_id already present is not
        queued again. Returns rows added."""

    @abstractmethod
    def notifications(
        self,
        partner: str | None = None,
        status: str | None = None,
        due_by: dt.datetime | None = None,
        notification_id: str | None = None,
    ) -> pa.Table:
        """Notifications, filtered; `due_by`: pending ones whose next attempt is due by then."""

    @abstractmethod
    def record_delivery(
        self,
        notification_id: str,
        status: str,
        attempts: int,
        at: dt.datetime,
        next_attempt_ts: dt.datetime | None = None,
        channel: str | None = None,
        error: str | None = None,
    ) -> None:
        """The outcome of a delivery attempt (delivered_ts is `at` when status is delivered)."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def open_store(db: str | None = None, *, read_only: bool = False) -> Store:
    """The store at `db` (or $FANZHA_DB): a PostgreSQL server for a postgresql:// URL, else a
    DuckDB file. Open one per process: a store holds one connection."""
    url = db_url(db)
    if is_postgres(url):
        from fanzha.store.postgres import PostgresStore

        return PostgresStore(url, read_only=read_only)
    from fanzha.store.duckdb_store import DuckDBStore

    return DuckDBStore(url, read_only=read_only)
