"""The embedded store: one DuckDB file.

Event kinds live in tables `ev_<kind>` with the kind's Arrow schema; `seq` is the log position.
An ingest batch stages rows in temporary tables inside one transaction, then deduplicates them
(within the batch and against the log), numbers the new ones in event-time order and commits:
a killed ingest leaves nothing behind, and re-ingesting a file adds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from fanzha.decide import ALERT_SCHEMA
from fanzha.engine.protocol import SIGNAL_SCHEMA
from fanzha.errors import FanzhaError
from fanzha.events import KINDS, kind
from fanzha.store.common import audit_hash as _audit_hash
from fanzha.store.common import check_shard, checked_log_rows
from fanzha.store.common import now_ms as _now
from fanzha.store.common import to_json as _json
from fanzha.store.sql import SqlStore
from fanzha.store.tables import (
    ALERT_ACTION_SCHEMA,
    API_KEY_SCHEMA,
    AUDIT_SCHEMA,
    LIST_SCHEMA,
    NOTIFICATION_SCHEMA,
    OTP_SCHEMA,
    OUTCOME_SCHEMA,
    PARTNER_SCHEMA,
    QUARANTINE_SCHEMA,
    TASK_SCHEMA,
    ddl,
    duckdb_type,
)

SCHEMA_VERSION = "1"


class DuckDBStore(SqlStore):
    def __init__(self, path: str, *, read_only: bool = False):
        self.url = path
        try:
            self.con = duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as e:
            msg = str(e)
            if "lock" in msg.lower():
                raise FanzhaError(
                    f"database {path} is in use by another process "
                    f"({msg.split('(')[-1].rstrip(')') if '(' in msg else msg})"
                ) from None
            raise FanzhaError(f"cannot open database {path}: {msg}") from None
        except duckdb.Error as e:
            raise FanzhaError(f"cannot open database {path}: {e}") from None
        self.con.execute("SET TimeZone = 'UTC'")
        self._stage: dict[str, bool] | None = None  # staged kinds -> all ids are content hashes
        self._batch_id = 0
        self._ord = 0
        if not read_only:
            self._migrate()

    def _exec(self, sql: str, params: list | None = None) -> int:
        self.con.execute(sql, params)
        return -1  # DuckDB's execute does not count changed rows

    # --- schema --------------------------------------------------------------------------------
    def _migrate(self) -> None:
        c = self.con
        c.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        c.execute("""CREATE TABLE IF NOT EXISTS ingest_batches (batch_id BIGINT PRIMARY KEY,
                     started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, description VARCHAR,
                     summary VARCHAR)""")
        c.execute(ddl("quarantine", QUARANTINE_SCHEMA))
        c.execute(ddl("signals", SIGNAL_SCHEMA))
        c.execute(ddl("alerts", ALERT_SCHEMA))
        c.execute(ddl("shadow_alerts", ALERT_SCHEMA))
        c.execute("""CREATE TABLE IF NOT EXISTS checkpoints (component VARCHAR, name VARCHAR,
                     blob BLOB, PRIMARY KEY (component, name))""")
        c.execute("""CREATE TABLE IF NOT EXISTS cases (case_id VARCHAR PRIMARY KEY, status VARCHAR,
                     updated_at TIMESTAMPTZ, data VARCHAR)""")
        c.execute(ddl("lists", LIST_SCHEMA))
        c.execute(ddl("tasks", TASK_SCHEMA))
        c.execute(ddl("outcomes", OUTCOME_SCHEMA))
        c.execute("""CREATE TABLE IF NOT EXISTS policies (version VARCHAR, created_at TIMESTAMPTZ,
                     author VARCHAR, reason VARCHAR, text VARCHAR)""")
        c.execute(ddl("audit", AUDIT_SCHEMA))
        c.execute(ddl("api_keys", API_KEY_SCHEMA))
        c.execute(ddl("alert_actions", ALERT_ACTION_SCHEMA))
        c.execute(ddl("otp", OTP_SCHEMA))
        c.execute(ddl("partners", PARTNER_SCHEMA))
        c.execute(ddl("notifications", NOTIFICATION_SCHEMA))
        for k in KINDS.values():
            c.execute(ddl(f"ev_{k.name}", k.schema))
            have = {
                r[0]
                for r in c.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                    [f"ev_{k.name}"],
                ).fetchall()
            }
            for f in k.schema:  # additive evolution: new optional fields appear as NULL columns
                if f.name not in have:
                    c.execute(
                        f'ALTER TABLE ev_{k.name} ADD COLUMN "{f.name}" {duckdb_type(f.type)}'
                    )
        for key, value in (
            ("schema_version", SCHEMA_VERSION),
            ("max_seq", "0"),
            ("max_batch", "0"),
            ("watermark", "0"),
        ):
            c.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", [key, value])

    def _one(self, sql: str, params: list | None = None) -> tuple | None:
        """The first row of a query (all rows are fetched: DuckDB 2 keeps a result open until
        it is exhausted)."""
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0] if rows else None

    def _meta(self, key: str) -> str:
        row = self._one("SELECT value FROM meta WHERE key = ?", [key])
        return row[0] if row else ""

    def _set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def _arrow(self, sql: str, params: list | None = None) -> pa.Table:
        return self.con.sql(sql, params=params).to_arrow_table()

    # --- ingest --------------------------------------------------------------------------------
    def begin_ingest(self, description: Mapping[str, Any]) -> int:
        if self._stage is not None:
            raise FanzhaError("an ingest batch is already open on this store")
        self.con.execute("BEGIN TRANSACTION")
        self._batch_id = int(self._meta("max_batch")) + 1
        self._set_meta("max_batch", str(self._batch_id))
        self.con.execute(
            "INSERT INTO ingest_batches VALUES (?, ?, NULL, ?, NULL)",
            [self._batch_id, _now(), _json(description)],
        )
        self._stage = {}
        self._ord = 0
        return self._batch_id

    def stage_events(
        self, kind_name: str, table: pa.Table, file_index: int, content_ids: bool = True
    ) -> None:
        assert self._stage is not None, "begin_ingest first"
        k = kind(kind_name)
        cols = ["event_id", "source", *k.field_names]
        if kind_name not in self._stage:
            self.con.execute(f"DROP TABLE IF EXISTS _stage_{kind_name}")
            self.con.execute(
                f"CREATE TEMP TABLE _stage_{kind_name} AS SELECT {', '.join(map(_q, cols))}, "
                f"0::INTEGER AS _file, 0::BIGINT AS _ord FROM ev_{kind_name} LIMIT 0"
            )
            self._stage[kind_name] = True
        self._stage[kind_name] &= content_ids
        n = table.num_rows
        staged = (
            table.select(cols)
            .append_column("_file", pa.array([file_index] * n, pa.int32()))
            .append_column("_ord", pa.array(range(self._ord, self._ord + n), pa.int64()))
        )
        self._ord += n
        self.con.register("_arrow_in", staged)
        try:
            self.con.execute(f"INSERT INTO _stage_{kind_name} SELECT * FROM _arrow_in")
        finally:
            self.con.unregister("_arrow_in")

    def stage_quarantine(self, rows: pa.Table) -> None:
        assert self._stage is not None, "begin_ingest first"
        rows = rows.cast(QUARANTINE_SCHEMA)
        self.con.register("_q_in", rows)
        try:
            # the same bad row of the same file is kept once, however often it is re-sent
            self.con.execute("""INSERT INTO quarantine SELECT * FROM _q_in q WHERE NOT EXISTS (
                SELECT 1 FROM quarantine x WHERE x.kind = q.kind AND x.source_file = q.source_file
                AND x.line = q.line AND x.reason_code = q.reason_code AND x.raw = q.raw)""")
        finally:
            self.con.unregister("_q_in")

    def commit_ingest(self, summary: Mapping[str, Any]) -> dict[tuple[str, int], tuple[int, int]]:
        assert self._stage is not None, "begin_ingest first"
        c = self.con
        counts: dict[tuple[str, int], tuple[int, int]] = {}
        try:
            for k, content_ids in self._stage.items():
                prune = ""
                if content_ids:  # same content => same ts: only look where the batch's times are
                    prune = (
                        f" AND e.ts BETWEEN (SELECT min(ts) FROM _stage_{k})"
                        f" AND (SELECT max(ts) FROM _stage_{k})"
                    )
                c.execute(f"""CREATE TEMP TABLE _new_{k} AS
                    SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY _ord)
                                   AS _rn FROM _stage_{k}) s
                    WHERE _rn = 1 AND NOT EXISTS (
                        SELECT 1 FROM ev_{k} e WHERE e.event_id = s.event_id{prune})""")
            if self._stage:
                union = " UNION ALL ".join(
                    f"SELECT '{k}' AS kind, event_id, ts FROM _new_{k}" for k in self._stage
                )
                base = int(self._meta("max_seq"))
                c.execute(f"""CREATE TEMP TABLE _order AS SELECT kind, event_id,
                    {base} + row_number() OVER (ORDER BY ts, kind, event_id) AS seq FROM ({union})""")
            for k in self._stage:
                cols = ", ".join(f"s.{_q(f)}" for f in ("source", *kind(k).field_names))
                c.execute(f"""INSERT INTO ev_{k} SELECT o.seq, s.event_id, {self._batch_id}, {cols}
                    FROM _new_{k} s JOIN _order o ON o.kind = '{k}' AND o.event_id = s.event_id
                    ORDER BY o.seq""")
                for f, staged, new in c.execute(f"""SELECT s._file, count(*), count(n._ord)
                        FROM _stage_{k} s LEFT JOIN _new_{k} n ON n._ord = s._ord
                        GROUP BY s._file""").fetchall():
                    counts[(k, int(f))] = (int(new), int(staged) - int(new))
            if self._stage:
                top = self._one("SELECT max(seq) FROM _order")[0]
                if top is not None:
                    self._set_meta("max_seq", str(int(top)))
            c.execute(
                "UPDATE ingest_batches SET finished_at = ?, summary = ? WHERE batch_id = ?",
                [_now(), _json(summary), self._batch_id],
            )
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        finally:
            self._drop_stage()
        return counts

    def _drop_stage(self) -> None:
        for k in list(self._stage or ()):
            for t in (f"_stage_{k}", f"_new_{k}"):
                self.con.execute(f"DROP TABLE IF EXISTS {t}")
        self.con.execute("DROP TABLE IF EXISTS _order")
        self._stage = None

    def abort_ingest(self) -> None:
        if self._stage is not None:
            self.con.execute("ROLLBACK")
            self._drop_stage()

    def read_events(self, kind_name: str, after_seq: int, upto_seq: int) -> pa.Table:
        k = kind(kind_name)
        t = self._arrow(
            f"SELECT * FROM ev_{kind_name} WHERE seq > ? AND seq <= ? ORDER BY seq",
            [after_seq, upto_seq],
        )
        return t.select(k.schema.names).cast(k.schema)

    def read_event_columns(
        self, kind_name: str, columns: list[str], after_seq: int, upto_seq: int
    ) -> pa.Table:
        schema = kind(kind_name).schema
        for c in columns:
            if c not in schema.names:
                raise FanzhaError(f"{kind_name} has no field {c!r}")
        t = self._arrow(
            f"SELECT {', '.join(map(_q, columns))} FROM ev_{kind_name} "
            "WHERE seq > ? AND seq <= ? ORDER BY seq",
            [after_seq, upto_seq],
        )
        return t.cast(pa.schema([schema.field(c) for c in columns]))

    def find_events(self, kind_name: str, **equals: Any) -> pa.Table:
        k = kind(kind_name)
        for col in equals:
            if col not in k.schema.names:
                raise FanzhaError(f"{kind_name} has no field {col!r}")
        where = " AND ".join(f"{_q(c)} = ?" for c in equals) or "TRUE"
        t = self._arrow(
            f"SELECT * FROM ev_{kind_name} WHERE {where} ORDER BY seq", list(equals.values())
        )
        return t.select(k.schema.names).cast(k.schema)

    def lookup_events(
        self,
        kind_name: str,
        fields: tuple[str, ...],
        values: list[str],
        upto_seq: int,
        since: Any = None,
    ) -> pa.Table:
        k = kind(kind_name)
        if not values:
            return k.schema.empty_table()
        for f in fields:
            if f not in k.schema.names:
                raise FanzhaError(f"{kind_name} has no field {f!r}")
        self.con.register("_lookup_values", pa.table({"v": pa.array(values, pa.string())}))
        try:
            match = " OR ".join(f"{_q(f)} IN (SELECT v FROM _lookup_values)" for f in fields)
            params: list[Any] = [upto_seq]
            when = ""
            if since is not None:
                when, params = " AND ts >= ?", [upto_seq, since]
            t = self._arrow(
                f"SELECT * FROM ev_{kind_name} WHERE seq <= ?{when} AND ({match}) ORDER BY seq",
                params,
            )
        finally:
            self.con.unregister("_lookup_values")
        return t.select(k.schema.names).cast(k.schema)

    def count_events(self) -> dict[str, int]:
        return {k: self._one(f"SELECT count(*) FROM ev_{k}")[0] for k in KINDS}

    def append_log(self, events: Mapping[str, pa.Table], description: Mapping[str, Any]) -> int:
        c = self.con
        with self._tx():
            tables, top, batches = checked_log_rows(events, self.max_seq())
            for k, t in tables.items():
                c.register("_log_in", t)
                try:
                    clash = self._one(f"""SELECT e.event_id FROM ev_{k} e
                        WHERE e.event_id IN (SELECT event_id FROM _log_in) LIMIT 1""")
                    if clash:
                        raise FanzhaError(f"{k} event {clash[0]} is in the log already")
                    c.execute(f"INSERT INTO ev_{k} BY NAME SELECT * FROM _log_in ORDER BY seq")
                finally:
                    c.unregister("_log_in")
            if tables:
                self._set_meta("max_seq", str(top))
                self._set_meta("max_batch", str(max(int(self._meta("max_batch")), *batches)))
                now = _now()
                for b in batches:
                    c.execute(
                        "INSERT OR IGNORE INTO ingest_batches VALUES (?, ?, ?, ?, NULL)",
                        [b, now, now, _json(description)],
                    )
        return sum(t.num_rows for t in tables.values())

    # --- engine --------------------------------------------------------------------------------
    def load_engine(self) -> tuple[int, dict[str, dict[str, bytes]]]:
        states: dict[str, dict[str, bytes]] = {}
        for comp, name, blob in self.con.execute(
            "SELECT component, name, blob FROM checkpoints"
        ).fetchall():
            states.setdefault(comp, {})[name] = bytes(blob)
        return int(self._meta("watermark") or 0), states

    def commit_step(
        self,
        watermark: int,
        signals: pa.Table,
        alerts: pa.Table,
        states: Mapping[str, Mapping[str, bytes]],
    ) -> None:
        c = self.con
        with self._tx():
            if signals.num_rows:
                c.register("_sig_in", signals.cast(SIGNAL_SCHEMA))
                c.execute("""INSERT INTO signals SELECT * FROM _sig_in s WHERE NOT EXISTS
                             (SELECT 1 FROM signals x WHERE x.signal_id = s.signal_id)""")
                c.unregister("_sig_in")
            if alerts.num_rows:
                c.register("_al_in", alerts.cast(ALERT_SCHEMA))
                c.execute("DELETE FROM alerts WHERE alert_id IN (SELECT alert_id FROM _al_in)")
                c.execute("INSERT INTO alerts SELECT * FROM _al_in")
                c.unregister("_al_in")
            for comp, blobs in states.items():
                for name, blob in blobs.items():
                    c.execute(
                        "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?)", [comp, name, blob]
                    )
            self._set_meta("watermark", str(watermark))

    def reset_engine(self) -> None:
        c = self.con
        with self._tx():
            for t in ("signals", "alerts", "checkpoints", "shadow_alerts"):
                c.execute(f"DELETE FROM {t}")
            c.execute("DELETE FROM meta WHERE key LIKE 'keyed_%'")
            self._set_meta("watermark", "0")
            if self._meta("shadow_policy"):
                self._set_meta("shadow_since", "0")

    # --- keyed tier ----------------------------------------------------------------------------
    def keyed_partitions(self) -> int | None:
        got = self._meta("keyed_partitions")
        return int(got) if got else None

    def shard_watermarks(self, partitions: int) -> list[int]:
        return [int(self._meta(f"keyed_watermark:{p}") or 0) for p in range(partitions)]

    def load_shard(self, partition: int) -> tuple[int, dict[str, dict[str, bytes]]]:
        states: dict[str, dict[str, bytes]] = {}
        for comp, name, blob in self.con.execute(
            "SELECT component, name, blob FROM checkpoints WHERE component LIKE ?",
            [f"%#{partition}"],
        ).fetchall():
            states.setdefault(comp.rsplit("#", 1)[0], {})[name] = bytes(blob)
        return int(self._meta(f"keyed_watermark:{partition}") or 0), states

    def commit_shard(
        self,
        partitions: int,
        partition: int,
        after: int,
        upto: int,
        signals: pa.Table,
        states: Mapping[str, Mapping[str, bytes]],
    ) -> None:
        c = self.con
        with self._tx():
            check_shard(self._meta("keyed_partitions"), self._meta(f"keyed_watermark:{partition}"),
                        partitions, partition, after)  # fmt: skip
            if signals.num_rows:
                c.register("_sig_in", signals.cast(SIGNAL_SCHEMA))
                c.execute("""INSERT INTO signals SELECT * FROM _sig_in s WHERE NOT EXISTS
                             (SELECT 1 FROM signals x WHERE x.signal_id = s.signal_id)""")
                c.unregister("_sig_in")
            for det, blobs in states.items():
                for name, blob in blobs.items():
                    c.execute(
                        "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?)",
                        [f"{det}#{partition}", name, blob],
                    )
            self._set_meta("keyed_partitions", str(partitions))
            self._set_meta(f"keyed_watermark:{partition}", str(upto))

    def keyed_signals(self, detectors: list[str], after_seq: int, upto_seq: int) -> pa.Table:
        return self._arrow(
            """SELECT * FROM signals WHERE detector IN (SELECT unnest(?)) AND seq > ? AND seq <= ?
               ORDER BY seq, signal_id""",
            [list(detectors), after_seq, upto_seq],
        ).cast(SIGNAL_SCHEMA)

    # --- outputs -------------------------------------------------------------------------------
    def alerts(self) -> pa.Table:
        return self._arrow("SELECT * FROM alerts ORDER BY first_seq, alert_id").cast(ALERT_SCHEMA)

    def role_signals(
        self, role: str, entity_kind: str | None = None, entity: str | None = None
    ) -> pa.Table:
        conds, params = ["json_extract_string(details, '$.role') = ?"], [role]
        for col, val in (("entity_kind", entity_kind), ("entity", entity)):
            if val is not None:
                conds.append(f"{col} = ?")
                params.append(val)
        return self._arrow(
            f"SELECT * FROM signals WHERE {' AND '.join(conds)} ORDER BY seq, signal_id", params
        ).cast(SIGNAL_SCHEMA)

    def quarantine(self, batch_id: int | None = None) -> pa.Table:
        where, params = ("WHERE batch_id = ?", [batch_id]) if batch_id is not None else ("", [])
        return self._arrow(
            f"SELECT * FROM quarantine {where} ORDER BY batch_id, source_file, line", params
        ).cast(QUARANTINE_SCHEMA)

    def ingest_batches(self) -> list[dict[str, Any]]:
        rows = self.con.execute("""SELECT batch_id, CAST(started_at AS VARCHAR), description, summary
                                   FROM ingest_batches ORDER BY batch_id""").fetchall()
        return [
            {
                "batch_id": b,
                "started_at": s,
                "description": orjson.loads(d or "null"),
                "summary": orjson.loads(m or "null"),
            }
            for b, s, d, m in rows
        ]

    # --- dissuasion ------------------------------------------------------------------------------
    def put_tasks(self, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        rows = rows.select(TASK_SCHEMA.names).cast(TASK_SCHEMA)
        c = self.con
        with self._tx():
            c.register("_task_in", rows)
            c.execute("DELETE FROM tasks WHERE task_id IN (SELECT task_id FROM _task_in)")
            c.execute("INSERT INTO tasks SELECT * FROM _task_in")
            c.unregister("_task_in")

    def tasks(self, status: str | None = None) -> pa.Table:
        where, params = ("WHERE status = ?", [status]) if status is not None else ("", [])
        return self._arrow(
            f"SELECT * FROM tasks {where} ORDER BY created_ts, task_id", params
        ).cast(TASK_SCHEMA)

    def add_outcomes(self, rows: pa.Table) -> int:
        rows = rows.select(OUTCOME_SCHEMA.names).cast(OUTCOME_SCHEMA)
        before = self._one("SELECT count(*) FROM outcomes")[0]
        self.con.register("_out_in", rows)
        try:
            self.con.execute("""INSERT INTO outcomes SELECT DISTINCT ON (outcome_id) * FROM _out_in o
                                WHERE NOT EXISTS (SELECT 1 FROM outcomes x
                                                  WHERE x.outcome_id = o.outcome_id)""")
        finally:
            self.con.unregister("_out_in")
        return self._one("SELECT count(*) FROM outcomes")[0] - before

    # --- cases, lists, policies, audit ---------------------------------------------------------
    def put_case(self, case_id: str, status: str, data: Mapping[str, Any]) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO cases VALUES (?, ?, ?, ?)",
            [case_id, status, _now(), _json(data)],
        )

    def cases(self) -> list[dict[str, Any]]:
        rows = self.con.execute(
            "SELECT case_id, status, data FROM cases ORDER BY case_id"
        ).fetchall()
        return [{"case_id": c, "status": s, "data": orjson.loads(d)} for c, s, d in rows]

    def add_list_entries(self, rows: pa.Table) -> int:
        return self._insert_rows("lists", LIST_SCHEMA, rows, "entry_id")

    def list_entries(self, list_name: str | None = None, partner: str | None = None) -> pa.Table:
        conds, params = [], []
        for col, val in (("list_name", list_name), ("partner", partner)):
            if val is not None:
                conds.append(f"{col} = ?")
                params.append(val)
        where = ("WHERE " + " AND ".join(conds)) if conds else ""
        return self._arrow(
            f"SELECT * FROM lists {where} ORDER BY created_ts, entry_id", params
        ).cast(LIST_SCHEMA)

    def save_policy(
        self, version: str, text: str, author: str, reason: str, activate: bool = True
    ) -> None:
        self.con.execute(
            "INSERT INTO policies VALUES (?, ?, ?, ?, ?)", [version, _now(), author, reason, text]
        )
        if activate:
            self._set_meta("active_policy", version)

    def _policy_text(self, version: str) -> str | None:
        row = self._one(
            "SELECT text FROM policies WHERE version = ? ORDER BY created_at DESC LIMIT 1",
            [version],
        )
        return row[0] if row else None

    def policy_history(self) -> list[dict[str, Any]]:
        cols = ("version", "created_at", "author", "reason", "text")
        sql = f"SELECT {', '.join(cols)} FROM policies ORDER BY created_at, rowid"
        return self._arrow(sql).to_pylist()  # via Arrow: fetchall() of a TIMESTAMPTZ needs pytz

    def set_shadow_policy(self, version: str | None) -> None:
        c = self.con
        with self._tx():
            c.execute("DELETE FROM shadow_alerts")
            c.execute("DELETE FROM checkpoints WHERE component = 'shadow'")
            self._set_meta("shadow_policy", version or "")
            self._set_meta("shadow_since", self._meta("watermark") or "0")

    def put_shadow_alerts(self, alerts: pa.Table) -> None:
        if not alerts.num_rows:
            return
        c = self.con
        with self._tx():
            c.register("_sh_in", alerts.select(ALERT_SCHEMA.names).cast(ALERT_SCHEMA))
            c.execute("DELETE FROM shadow_alerts WHERE alert_id IN (SELECT alert_id FROM _sh_in)")
            c.execute("INSERT INTO shadow_alerts SELECT * FROM _sh_in")
            c.unregister("_sh_in")

    def shadow_alerts(self) -> pa.Table:
        t = self._arrow("SELECT * FROM shadow_alerts ORDER BY first_seq, alert_id")
        return t.cast(ALERT_SCHEMA)

    def append_audit(
        self,
        actor: str,
        role: str,
        action: str,
        target: str,
        reason: str,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        c = self.con
        with self._tx():
            last = self._one("SELECT n, hash FROM audit ORDER BY n DESC LIMIT 1")
            n, prev = (last[0] + 1, last[1]) if last else (1, "")
            ts = _now()
            d = _json(detail or {})
            h = _audit_hash(prev, n, ts, actor, role, action, target, reason, d)
            c.execute(
                "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [n, ts, actor, role, action, target, reason, d, prev, h],
            )

    # --- the HTTP API ----------------------------------------------------------------------------
    def _insert_rows(self, table: str, schema: pa.Schema, rows: pa.Table, key: str) -> int:
        """Insert rows whose `key` is not in the table yet; returns rows added."""
        rows = rows.select(schema.names).cast(schema)
        before = self._one(f"SELECT count(*) FROM {table}")[0]
        cols = ", ".join(map(_q, schema.names))
        self.con.register("_rows_in", rows)
        try:
            self.con.execute(f"""INSERT INTO {table} SELECT {cols} FROM (SELECT *, row_number()
                OVER (PARTITION BY {key}) AS _rn FROM _rows_in) r WHERE _rn = 1 AND NOT EXISTS
                (SELECT 1 FROM {table} x WHERE x.{key} = r.{key})""")
        finally:
            self.con.unregister("_rows_in")
        return self._one(f"SELECT count(*) FROM {table}")[0] - before

    def add_api_key(self, row: Mapping[str, Any]) -> None:
        if self._one("SELECT 1 FROM api_keys WHERE key_id = ?", [row["key_id"]]):
            raise FanzhaError(f"API key {row['key_id']} exists already")
        self._insert_rows(
            "api_keys", API_KEY_SCHEMA, pa.Table.from_pylist([dict(row)], API_KEY_SCHEMA), "key_id"
        )

    def api_key(self, key_hash: str) -> dict[str, Any] | None:
        rows = self._arrow("SELECT * FROM api_keys WHERE key_hash = ?", [key_hash])
        rows = rows.cast(API_KEY_SCHEMA).to_pylist()
        return rows[0] if rows else None

    def revoke_api_key(self, key_id: str, at: dt.datetime) -> bool:
        done = self.con.execute(
            "UPDATE api_keys SET revoked_ts = ? WHERE key_id = ? AND revoked_ts IS NULL "
            "RETURNING key_id",
            [at, key_id],
        ).fetchall()
        return bool(done)

    def alert_actions(self, alert_ids: list[str] | None = None) -> pa.Table:
        if alert_ids is None:
            t = self._arrow("SELECT * FROM alert_actions ORDER BY ts, action_id")
        else:
            self.con.register("_ids", pa.table({"v": pa.array(alert_ids, pa.string())}))
            try:
                t = self._arrow(
                    "SELECT * FROM alert_actions WHERE alert_id IN (SELECT v FROM _ids) "
                    "ORDER BY ts, action_id"
                )
            finally:
                self.con.unregister("_ids")
        return t.cast(ALERT_ACTION_SCHEMA)

    def add_otp(self, row: Mapping[str, Any]) -> None:
        self._insert_rows(
            "otp", OTP_SCHEMA, pa.Table.from_pylist([dict(row)], OTP_SCHEMA), "challenge_id"
        )

    def otp(self, challenge_id: str) -> dict[str, Any] | None:
        rows = self._arrow("SELECT * FROM otp WHERE challenge_id = ?", [challenge_id])
        rows = rows.cast(OTP_SCHEMA).to_pylist()
        return rows[0] if rows else None

    def otp_attempt(self, challenge_id: str) -> int:
        row = self.con.execute(
            "UPDATE otp SET attempts = attempts + 1 WHERE challenge_id = ? RETURNING attempts",
            [challenge_id],
        ).fetchall()
        return int(row[0][0]) if row else 0

    def use_otp(self, challenge_id: str, at: dt.datetime) -> bool:
        done = self.con.execute(
            "UPDATE otp SET used_ts = ? WHERE challenge_id = ? AND used_ts IS NULL "
            "RETURNING challenge_id",
            [at, challenge_id],
        ).fetchall()
        return bool(done)

    def count_otps(
        self, since: dt.datetime, id_number: str | None = None, phone: str | None = None
    ) -> int:
        conds, params = ["created_ts >= ?"], [since]
        for col, val in (("id_number", id_number), ("phone", phone)):
            if val is not None:
                conds.append(f"{col} = ?")
                params.append(val)
        return self._one(f"SELECT count(*) FROM otp WHERE {' AND '.join(conds)}", params)[0]

    def put_partner(self, row: Mapping[str, Any]) -> None:
        t = pa.Table.from_pylist([dict(row)], PARTNER_SCHEMA)
        with self._tx():
            self.con.execute("DELETE FROM partners WHERE partner = ?", [row["partner"]])
            self._insert_rows("partners", PARTNER_SCHEMA, t, "partner")

    def notifications(
        self,
        partner: str | None = None,
        status: str | None = None,
        due_by: dt.datetime | None = None,
        notification_id: str | None = None,
    ) -> pa.Table:
        conds, params = [], []
        for col, val in (
            ("partner", partner),
            ("status", status),
            ("notification_id", notification_id),
        ):
            if val is not None:
                conds.append(f"{col} = ?")
                params.append(val)
        if due_by is not None:
            conds.append("status = 'pending' AND next_attempt_ts <= ?")
            params.append(due_by)
        where = ("WHERE " + " AND ".join(conds)) if conds else ""
        return self._arrow(
            f"SELECT * FROM notifications {where} ORDER BY created_ts, notification_id", params
        ).cast(NOTIFICATION_SCHEMA)

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
        self.con.execute(
            """UPDATE notifications SET status = ?, attempts = ?, last_attempt_ts = ?,
               next_attempt_ts = ?, channel = coalesce(?, channel), last_error = ?,
               delivered_ts = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_ts END
               WHERE notification_id = ?""",
            [status, attempts, at, next_attempt_ts, channel, error, status, at, notification_id],
        )

    def close(self) -> None:
        if self._stage is not None:
            self.abort_ingest()
        self.con.close()


def _q(name: str) -> str:
    return f'"{name}"'
