"""The Store methods whose SQL is the same on DuckDB and PostgreSQL, written once.

A backend supplies five primitives (`_arrow`, `_exec`, `_meta`, `_policy_text`, `_insert_rows`);
the queries here use no parameters, so placeholder styles (`?` and `$1`) do not matter.
"""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from fanzha.engine.protocol import SIGNAL_SCHEMA
from fanzha.store import Store
from fanzha.store.common import audit_chain_intact
from fanzha.store.tables import (
    ALERT_ACTION_SCHEMA,
    API_KEY_SCHEMA,
    AUDIT_SCHEMA,
    NOTIFICATION_SCHEMA,
    OUTCOME_SCHEMA,
    PARTNER_SCHEMA,
)


class SqlStore(Store):
    @abstractmethod
    def _arrow(self, sql: str, params: list | None = None) -> pa.Table: ...

    @abstractmethod
    def _exec(self, sql: str, params: list | None = None) -> int:
        """Run one statement; the number of rows it changed (-1 if the backend does not say)."""

    @abstractmethod
    def _meta(self, key: str) -> str: ...

    @abstractmethod
    def _policy_text(self, version: str) -> str | None: ...

    @abstractmethod
    def _insert_rows(self, table: str, schema: pa.Schema, rows: pa.Table, key: str) -> int:
        """Insert rows whose `key` is not in the table yet; returns rows added."""

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        """One transaction: committed if the block ends, rolled back if it raises."""
        self._exec("BEGIN")
        try:
            yield
        except BaseException:
            self._exec("ROLLBACK")
            raise
        self._exec("COMMIT")

    def max_seq(self) -> int:
        return int(self._meta("max_seq") or 0)

    def signals(self) -> pa.Table:
        return self._arrow("SELECT * FROM signals ORDER BY seq, signal_id").cast(SIGNAL_SCHEMA)

    def outcomes(self) -> pa.Table:
        return self._arrow("SELECT * FROM outcomes ORDER BY outcome_ts, outcome_id").cast(
            OUTCOME_SCHEMA
        )

    def active_policy(self) -> tuple[str, str] | None:
        version = self._meta("active_policy")
        text = self._policy_text(version) if version else None
        return (version, text) if text is not None else None

    def shadow_policy(self) -> tuple[str, str, int] | None:
        version = self._meta("shadow_policy")
        text = self._policy_text(version) if version else None
        return (version, text, int(self._meta("shadow_since") or 0)) if text is not None else None

    def audit_log(self) -> pa.Table:
        return self._arrow("SELECT * FROM audit ORDER BY n").cast(AUDIT_SCHEMA)

    def verify_audit(self) -> bool:
        return audit_chain_intact(self.audit_log().to_pylist())

    def api_keys(self) -> pa.Table:
        return self._arrow("SELECT * FROM api_keys ORDER BY created_ts, key_id").cast(
            API_KEY_SCHEMA
        )

    def add_alert_actions(self, rows: pa.Table) -> int:
        return self._insert_rows("alert_actions", ALERT_ACTION_SCHEMA, rows, "action_id")

    def partners(self) -> list[dict[str, Any]]:
        return (
            self._arrow("SELECT * FROM partners ORDER BY partner").cast(PARTNER_SCHEMA).to_pylist()
        )

    def add_notifications(self, rows: pa.Table) -> int:
        return self._insert_rows("notifications", NOTIFICATION_SCHEMA, rows, "notification_id")
