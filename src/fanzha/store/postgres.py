"""The store on a PostgreSQL server: one database for many processes and many analysts.

The same tables and the same semantics as the embedded DuckDB store (tests/store runs one suite
against both): an ingest batch is one transaction that deduplicates events by id (within the
batch and against the log) and numbers the new ones in event-time order; an engine step is one
transaction; the audit log is hash-chained and append-only. Ids are computed by fanzha
(fanzha.hashing), never by the database, so the same events give the same ids on both backends.

Arrow in and out through ADBC: tables go in by binary COPY (into a temporary table, then one
set-based INSERT ... SELECT), query results come back as Arrow; nothing is inserted row by row.

Several processes: a store holds one connection, so open one per process (or thread). What must
be serial is serialised by the database, never by a lock in this process:
- an ingest commit locks the `max_seq` row of `meta`, so two ingests never take the same log
  positions and the second one's deduplication sees the first one's events;
- an engine step locks the `watermark` row and refuses to commit if another engine moved it;
- appending to the audit log locks the audit table against other appenders (readers go on);
- migrations run under a transaction-scoped advisory lock, so processes opening a new database
  at the same time apply each migration once.

Schema: the event tables ev_<kind> follow fanzha.events (created, and given new optional columns,
on open); everything else is versioned SQL in pg_migrations/NNNN_name.sql, applied in order on
open and recorded in `schema_migrations`.

Adding a method (the pattern every method here follows): write the SQL with $1, $2 parameters
(a time parameter with an explicit `$n::timestamptz`: times are sent as ISO text, because ADBC
binds an aware datetime by switching the session time zone in a transaction of its own, which
would end ours). `_rows`/`_one` give Python rows, `_arrow` a result as Arrow; `_load(name, like,
table)` puts an Arrow table into a temporary table shaped like a store table (binary COPY), for
set-based INSERT ... SELECT / ON CONFLICT; `with self._tx():` makes a group of statements atomic;
a new table or index is a new migration file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as pg
import orjson
import pyarrow as pa

from fanzha.decide import ALERT_SCHEMA
from fanzha.engine.protocol import SIGNAL_SCHEMA
from fanzha.errors import FanzhaError
from fanzha.events import KINDS, kind
from fanzha.store.common import audit_hash, check_shard, checked_log_rows, now_ms, to_json
from fanzha.store.sql import SqlStore
from fanzha.store.tables import (
    ALERT_ACTION_SCHEMA,
    API_KEY_SCHEMA,
    LIST_SCHEMA,
    NOTIFICATION_SCHEMA,
    OTP_SCHEMA,
    OUTCOME_SCHEMA,
    PARTNER_SCHEMA,
    QUARANTINE_SCHEMA,
    TASK_SCHEMA,
    pg_type,
)

MIGRATION_LOCK = 0x66616E7A6861  # "fanzha": the advisory lock key of schema changes
INGEST_WORK_MEM = "128MB"  # per sort or hash of an ingest batch (numbering, deduplication)
TEMP_BUFFERS = "512MB"  # per session, for an ingest batch's temporary tables


def masked(url: str) -> str:
    """The URL without its password, for messages and `Store.url`."""
    parts = urlsplit(url)
    query = re.sub(r"(^|&)password=[^&]*", r"\1password=***", parts.query)
    parts = parts._replace(query=query)
    if parts.password is None:
        return urlunsplit(parts)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, SQL) of every migration, in order."""
    out = []
    for f in resources.files("fanzha.store").joinpath("pg_migrations").iterdir():
        m = re.fullmatch(r"(\d{4})_(\w+)\.sql", f.name)
        if m:
            out.append((int(m[1]), m[2], f.read_text(encoding="utf-8")))
    return sorted(out)


def statements(sql: str) -> list[str]:
    """A migration's statements: each ends with ';' at the end of a line, outside $$ bodies
    (the server takes one statement per call); whole-line comments are dropped."""
    out: list[str] = []
    current: list[str] = []
    in_body = False
    for line in sql.splitlines():
        if not in_body and line.lstrip().startswith("--"):
            continue
        current.append(line)
        if line.count("$$") % 2:
            in_body = not in_body
        if not in_body and line.rstrip().endswith(";"):
            text = "\n".join(current).strip().rstrip(";")
            if text:
                out.append(text)
            current = []
    if "\n".join(current).strip():
        raise ValueError(f"migration ends without ';': {' '.join(current)[:80]}")
    return out


def _checksum(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()[:16]


def _q(name: str) -> str:
    return f'"{name}"'


def _event_table_ddl(name: str) -> str:
    k = kind(name)
    cols = ", ".join(
        f"{_q(f.name)} {pg_type(f.type)}{'' if f.nullable else ' NOT NULL'}" for f in k.schema
    )
    return f"CREATE TABLE ev_{name} ({cols}, PRIMARY KEY (seq), UNIQUE (event_id))"


class PostgresStore(SqlStore):
    def __init__(self, url: str, *, read_only: bool = False):
        self.url = masked(url)
        try:
            self.conn = pg.connect(url, autocommit=True)
        except adbc_driver_manager.Error as e:
            raise FanzhaError(
                f"cannot connect to PostgreSQL {self.url}: {_first_line(e)}"
            ) from None
        self.cur = self.conn.cursor()
        self._stage: dict[str, bool] | None = None
        self._batch_id = 0
        self._ord = 0
        self._watermark: int | None = None  # as this store last saw it (load_engine, commit)
        try:
            self._exec("SET TimeZone = 'UTC'")
            # fanzha's statements touch one batch at a time: compiling them (JIT) costs more
            # than it saves (300 ms for a 25,000-event insert, measured)
            self._exec("SET jit = off")
            # an ingest batch stages its events in temporary tables: keep them in memory (the
            # default 8MB spilled a 230,000-call batch to disk; allocated only as used)
            self._exec(f"SET temp_buffers = '{TEMP_BUFFERS}'")
            if read_only:
                self._exec("SET default_transaction_read_only = on")
                pending = self._pending()
                if pending:
                    raise FanzhaError(
                        f"database {self.url} is not ready for this fanzha ({pending}); "
                        "open it once for writing (e.g. `fanzha run`) to migrate it"
                    )
            else:
                self._migrate()
        except BaseException:
            self.conn.close()
            raise

    # --- helpers: every method is written with these ------------------------------------------
    def _exec(self, sql: str, params: list | None = None) -> int:
        """Run one statement; the number of rows it changed (-1 if the server does not say)."""
        self.cur.execute(sql, _bind(params))
        return self.cur.rowcount

    def _rows(self, sql: str, params: list | None = None) -> list[tuple]:
        self.cur.execute(sql, _bind(params))
        return self.cur.fetchall()

    def _one(self, sql: str, params: list | None = None) -> tuple | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _arrow(self, sql: str, params: list | None = None) -> pa.Table:
        self.cur.execute(sql, _bind(params))
        return self.cur.fetch_arrow_table()

    def _load(self, name: str, like: str, table: pa.Table) -> None:
        """Put `table` into the temporary table `name`, shaped like the store table `like` and
        emptied at commit, by binary COPY. Call inside `_tx()`; cast `table` to the store
        table's Arrow schema first (COPY needs the exact column types)."""
        self._exec(f"CREATE TEMP TABLE IF NOT EXISTS {name} (LIKE {like}) ON COMMIT DELETE ROWS")
        self.cur.adbc_ingest(name, table, mode="append", temporary=True)

    def _meta(self, key: str, *, for_update: bool = False) -> str:
        row = self._one(
            "SELECT value FROM meta WHERE key = $1" + (" FOR UPDATE" if for_update else ""), [key]
        )
        return row[0] if row else ""

    def _set_meta(self, key: str, value: str) -> None:
        self._exec(
            "INSERT INTO meta VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2",
            [key, value],
        )

    # --- schema --------------------------------------------------------------------------------
    def _pending(self) -> str:
        """What opening for writing would change ('' if nothing): missing tables or columns,
        migrations not applied; raises if the database is newer than this fanzha."""
        if not self._one("SELECT to_regclass('schema_migrations') IS NOT NULL")[0]:
            return "no fanzha tables"
        applied = dict(self._rows("SELECT version, checksum FROM schema_migrations"))
        known = {v: _checksum(sql) for v, _, sql in migrations()}
        for v, c in applied.items():
            if v not in known:
                raise FanzhaError(
                    f"database {self.url} has schema migration {v}, which this fanzha does not "
                    "know; upgrade fanzha"
                )
            if known[v] != c:
                raise FanzhaError(
                    f"schema migration {v} of this fanzha differs from the one applied to "
                    f"database {self.url}; a migration must never change once released"
                )
        todo = [f"migration {v}" for v in known if v not in applied]
        have = self._columns()
        for k in KINDS.values():
            cols = have.get(f"ev_{k.name}")
            if cols is None:
                todo.append(f"no table ev_{k.name}")
            elif missing := [f for f in k.schema.names if f not in cols]:
                todo.append(f"ev_{k.name} lacks {', '.join(missing)}")
        return "; ".join(todo)

    def _columns(self) -> dict[str, set[str]]:
        have: dict[str, set[str]] = {}
        for table, col in self._rows(
            """SELECT c.relname, a.attname FROM pg_attribute a
               JOIN pg_class c ON c.oid = a.attrelid
               WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
               AND c.relname = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped""",
            [[f"ev_{k}" for k in KINDS]],
        ):
            have.setdefault(table, set()).add(col)
        return have

    def _migrate(self) -> None:
        if not self._pending():
            return
        with self._tx():
            self._exec("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK])
            self._exec("""CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,
                          name text, checksum text, applied_at timestamptz)""")
            have = self._columns()  # again, under the lock: another process may have done it
            for k in KINDS.values():
                cols = have.get(f"ev_{k.name}")
                if cols is None:
                    self._exec(_event_table_ddl(k.name))
                    continue
                for f in k.schema:  # additive evolution: new optional fields appear as NULLs
                    if f.name not in cols:
                        self._exec(
                            f"ALTER TABLE ev_{k.name} ADD COLUMN {_q(f.name)} {pg_type(f.type)}"
                        )
            applied = {r[0] for r in self._rows("SELECT version FROM schema_migrations")}
            for v, name, sql in migrations():
                if v in applied:
                    continue
                for st in statements(sql):
                    self._exec(st)
                self._exec(
                    "INSERT INTO schema_migrations VALUES ($1, $2, $3, now())",
                    [v, name, _checksum(sql)],
                )
        self._pending()  # a migration that changed since it was applied still raises

    def schema_migrations(self) -> list[tuple[int, str]]:
        """(version, name) of the migrations applied to this database."""
        return [
            (int(v), n)
            for v, n in self._rows("SELECT version, name FROM schema_migrations ORDER BY version")
        ]

    # --- ingest --------------------------------------------------------------------------------
    def begin_ingest(self, description: Mapping[str, Any]) -> int:
        if self._stage is not None:
            raise FanzhaError("an ingest batch is already open on this store")
        # numbered outside the batch's transaction, so parallel ingests do not wait for each
        # other (an aborted batch leaves its number unused)
        row = self._one("""UPDATE meta SET value = (value::bigint + 1)::text
                           WHERE key = 'max_batch' RETURNING value""")
        self._batch_id = int(row[0])
        self._exec("BEGIN")
        self._exec(f"SET LOCAL work_mem = '{INGEST_WORK_MEM}'")  # sorts a batch in memory
        self._exec(
            "INSERT INTO ingest_batches VALUES ($1, $2::timestamptz, NULL, $3::jsonb, NULL)",
            [self._batch_id, now_ms(), to_json(description)],
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
            self._exec(
                f"CREATE TEMP TABLE _stage_{kind_name} ON COMMIT DROP AS SELECT "
                f"{', '.join(map(_q, cols))}, 0::integer AS _file, 0::bigint AS _ord "
                f"FROM ev_{kind_name} WITH NO DATA"
            )
            self._stage[kind_name] = True
        self._stage[kind_name] &= content_ids
        n = table.num_rows
        schema = pa.schema(
            [k.schema.field(c).with_nullable(True) for c in cols]
            + [pa.field("_file", pa.int32()), pa.field("_ord", pa.int64())]
        )
        staged = (
            table.select(cols)
            .append_column("_file", pa.array([file_index] * n, pa.int32()))
            .append_column("_ord", pa.array(range(self._ord, self._ord + n), pa.int64()))
            .cast(schema)
        )
        self._ord += n
        if n:
            self.cur.adbc_ingest(f"_stage_{kind_name}", staged, mode="append", temporary=True)

    def stage_quarantine(self, rows: pa.Table) -> None:
        assert self._stage is not None, "begin_ingest first"
        if not rows.num_rows:
            return
        self._load(
            "_q_in", "quarantine", rows.select(QUARANTINE_SCHEMA.names).cast(QUARANTINE_SCHEMA)
        )
        # the same bad row of the same file is kept once, however often it is re-sent
        self._exec("""INSERT INTO quarantine SELECT * FROM _q_in
                      ON CONFLICT (kind, source_file, line, reason_code, md5(raw)) DO NOTHING""")
        self._exec("DELETE FROM _q_in")

    def commit_ingest(self, summary: Mapping[str, Any]) -> dict[tuple[str, int], tuple[int, int]]:
        assert self._stage is not None, "begin_ingest first"
        counts: dict[tuple[str, int], tuple[int, int]] = {}
        try:
            # one ingest at a time past this point: the row lock is held until COMMIT, and
            # each statement below sees events that other ingests committed meanwhile
            base = int(self._meta("max_seq", for_update=True))
            for k in self._stage:
                self._exec(f"""CREATE TEMP TABLE _new_{k} ON COMMIT DROP AS
                    SELECT DISTINCT ON (event_id) * FROM _stage_{k} s
                    WHERE NOT EXISTS (SELECT 1 FROM ev_{k} e WHERE e.event_id = s.event_id)
                    ORDER BY event_id, _ord""")
                self._exec(f"ANALYZE _new_{k} (_ord)")  # sizes for the planner: hash joins
            if self._stage:
                union = " UNION ALL ".join(
                    f"""SELECT '{k}' COLLATE "C" AS kind, event_id, ts, _ord FROM _new_{k}"""
                    for k in self._stage
                )
                self._exec(f"""CREATE TEMP TABLE _order ON COMMIT DROP AS SELECT _ord,
                    {base} + row_number() OVER (ORDER BY ts, kind, event_id) AS seq
                    FROM ({union}) u""")
                self._exec("ANALYZE _order (_ord)")
            for k in self._stage:
                names = ("source", *kind(k).field_names)
                self._exec(f"""INSERT INTO ev_{k} (seq, event_id, batch_id, {", ".join(map(_q, names))})
                    SELECT o.seq, s.event_id, {self._batch_id}, {", ".join(f"s.{_q(f)}" for f in names)}
                    FROM _new_{k} s JOIN _order o ON o._ord = s._ord ORDER BY o.seq""")
                for f, staged, new in self._rows(f"""SELECT s._file, count(*), count(n._ord)
                        FROM _stage_{k} s LEFT JOIN _new_{k} n ON n._ord = s._ord
                        GROUP BY s._file"""):
                    counts[(k, int(f))] = (int(new), int(staged) - int(new))
            if self._stage:
                top = self._one("SELECT max(seq) FROM _order")[0]
                if top is not None:
                    self._set_meta("max_seq", str(int(top)))
            self._exec(
                "UPDATE ingest_batches SET finished_at = $1::timestamptz, summary = $2::jsonb "
                "WHERE batch_id = $3",
                [now_ms(), to_json(summary), self._batch_id],
            )
            self._exec("COMMIT")
        except BaseException:
            self._exec("ROLLBACK")
            raise
        finally:
            self._stage = None
        return counts

    def abort_ingest(self) -> None:
        if self._stage is not None:
            self._stage = None
            self._exec("ROLLBACK")  # the staging tables go with it (ON COMMIT DROP)

    def _events(self, kind_name: str, columns: list[str], where: str, params: list) -> pa.Table:
        schema = kind(kind_name).schema
        for c in columns:
            if c not in schema.names:
                raise FanzhaError(f"{kind_name} has no field {c!r}")
        t = self._arrow(
            f"SELECT {', '.join(map(_q, columns))} FROM ev_{kind_name} WHERE {where} ORDER BY seq",
            params,
        )
        return t.cast(pa.schema([schema.field(c) for c in columns]))

    def read_events(self, kind_name: str, after_seq: int, upto_seq: int) -> pa.Table:
        names = kind(kind_name).schema.names
        return self._events(kind_name, names, "seq > $1 AND seq <= $2", [after_seq, upto_seq])

    def read_event_columns(
        self, kind_name: str, columns: list[str], after_seq: int, upto_seq: int
    ) -> pa.Table:
        return self._events(kind_name, columns, "seq > $1 AND seq <= $2", [after_seq, upto_seq])

    def find_events(self, kind_name: str, **equals: Any) -> pa.Table:
        names = kind(kind_name).schema.names
        for col in equals:
            if col not in names:
                raise FanzhaError(f"{kind_name} has no field {col!r}")
        schema = kind(kind_name).schema
        where = " AND ".join(
            f"{_q(c)} = ${i}::{_cast(schema.field(c).type)}" for i, c in enumerate(equals, 1)
        )
        return self._events(kind_name, names, where or "TRUE", list(equals.values()))

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
        match = " OR ".join(f"{_q(f)} = ANY($2)" for f in fields)  # each field's index is used
        params: list[Any] = [upto_seq, list(values)]
        when = ""
        if since is not None:
            when, params = " AND ts >= $3::timestamptz", [*params, since]
        return self._events(kind_name, k.schema.names, f"seq <= $1{when} AND ({match})", params)

    def count_events(self) -> dict[str, int]:
        union = " UNION ALL ".join(f"SELECT '{k}', count(*) FROM ev_{k}" for k in KINDS)
        got = {k: int(n) for k, n in self._rows(union)}
        return {k: got[k] for k in KINDS}

    def append_log(self, events: Mapping[str, pa.Table], description: Mapping[str, Any]) -> int:
        with self._tx():
            tables, top, batches = checked_log_rows(
                events, int(self._meta("max_seq", for_update=True))
            )
            for k, t in tables.items():
                try:
                    self.cur.adbc_ingest(f"ev_{k}", t, mode="append")
                except adbc_driver_manager.IntegrityError:
                    raise FanzhaError(f"some {k} events are in the log already") from None
            if tables:
                self._set_meta("max_seq", str(top))
                self._exec(
                    """UPDATE meta SET value = greatest(value::bigint, $1)::text
                       WHERE key = 'max_batch'""",
                    [max(batches)],
                )
                now = now_ms()
                self._exec(
                    """INSERT INTO ingest_batches SELECT b, $2::timestamptz, $2::timestamptz, $3::jsonb, NULL
                       FROM unnest($1::bigint[]) b ON CONFLICT (batch_id) DO NOTHING""",
                    [batches, now, to_json(description)],
                )
        return sum(t.num_rows for t in tables.values())

    # --- engine --------------------------------------------------------------------------------
    def load_engine(self) -> tuple[int, dict[str, dict[str, bytes]]]:
        states: dict[str, dict[str, bytes]] = {}
        for comp, name, blob in self._rows("SELECT component, name, blob FROM checkpoints"):
            states.setdefault(comp, {})[name] = bytes(blob)
        self._watermark = int(self._meta("watermark") or 0)
        return self._watermark, states

    def commit_step(
        self,
        watermark: int,
        signals: pa.Table,
        alerts: pa.Table,
        states: Mapping[str, Mapping[str, bytes]],
    ) -> None:
        with self._tx():
            current = int(self._meta("watermark", for_update=True))
            if self._watermark is not None and current != self._watermark:
                raise FanzhaError(
                    f"another engine moved the watermark of {self.url} (from "
                    f"{self._watermark} to {current}); run one engine per database"
                )
            if signals.num_rows:
                self._load(
                    "_sig_in", "signals", signals.select(SIGNAL_SCHEMA.names).cast(SIGNAL_SCHEMA)
                )
                self._exec("INSERT INTO signals SELECT * FROM _sig_in ON CONFLICT DO NOTHING")
            if alerts.num_rows:
                self._load("_al_in", "alerts", alerts.select(ALERT_SCHEMA.names).cast(ALERT_SCHEMA))
                cols = ", ".join(_q(c) for c in ALERT_SCHEMA.names[1:])
                excluded = ", ".join(f"EXCLUDED.{_q(c)}" for c in ALERT_SCHEMA.names[1:])
                self._exec(f"""INSERT INTO alerts SELECT * FROM _al_in ON CONFLICT (alert_id)
                               DO UPDATE SET ({cols}) = ROW({excluded})""")
            for comp, blobs in states.items():
                for name, blob in blobs.items():
                    self._exec(
                        """INSERT INTO checkpoints VALUES ($1, $2, $3)
                           ON CONFLICT (component, name) DO UPDATE SET blob = EXCLUDED.blob""",
                        [comp, name, blob],
                    )
            self._set_meta("watermark", str(watermark))
        self._watermark = watermark

    def reset_engine(self) -> None:
        with self._tx():
            self._meta("watermark", for_update=True)
            self._exec("TRUNCATE signals, alerts, checkpoints, shadow_alerts")
            self._exec("DELETE FROM meta WHERE key LIKE 'keyed_%'")
            self._set_meta("watermark", "0")
            if self._meta("shadow_policy"):
                self._set_meta("shadow_since", "0")
        self._watermark = 0

    # --- keyed tier ----------------------------------------------------------------------------
    def keyed_partitions(self) -> int | None:
        got = self._meta("keyed_partitions")
        return int(got) if got else None

    def shard_watermarks(self, partitions: int) -> list[int]:
        got = dict(self._rows("SELECT key, value FROM meta WHERE key LIKE 'keyed_watermark:%'"))
        return [int(got.get(f"keyed_watermark:{p}", 0)) for p in range(partitions)]

    def load_shard(self, partition: int) -> tuple[int, dict[str, dict[str, bytes]]]:
        states: dict[str, dict[str, bytes]] = {}
        with self._tx():  # one snapshot: the states are those of the watermark
            rows = self._rows(
                "SELECT component, name, blob FROM checkpoints WHERE component LIKE $1",
                [f"%#{partition}"],
            )
            watermark = int(self._meta(f"keyed_watermark:{partition}") or 0)
        for comp, name, blob in rows:
            states.setdefault(comp.rsplit("#", 1)[0], {})[name] = bytes(blob)
        return watermark, states

    def commit_shard(
        self,
        partitions: int,
        partition: int,
        after: int,
        upto: int,
        signals: pa.Table,
        states: Mapping[str, Mapping[str, bytes]],
    ) -> None:
        with self._tx():
            # one committer per partition at a time, even before its watermark row exists
            self._exec("SELECT pg_advisory_xact_lock(hashtext($1))", [f"fanzha-keyed-{partition}"])
            check_shard(self._meta("keyed_partitions"), self._meta(f"keyed_watermark:{partition}"),
                        partitions, partition, after)  # fmt: skip
            if signals.num_rows:
                self._load(
                    "_sig_in", "signals", signals.select(SIGNAL_SCHEMA.names).cast(SIGNAL_SCHEMA)
                )
                self._exec("INSERT INTO signals SELECT * FROM _sig_in ON CONFLICT DO NOTHING")
            for det, blobs in states.items():
                for name, blob in blobs.items():
                    self._exec(
                        """INSERT INTO checkpoints VALUES ($1, $2, $3)
                           ON CONFLICT (component, name) DO UPDATE SET blob = EXCLUDED.blob""",
                        [f"{det}#{partition}", name, blob],
                    )
            self._set_meta("keyed_partitions", str(partitions))
            self._set_meta(f"keyed_watermark:{partition}", str(upto))

    def keyed_signals(self, detectors: list[str], after_seq: int, upto_seq: int) -> pa.Table:
        t = self._arrow(
            """SELECT * FROM signals WHERE detector = ANY($1) AND seq > $2 AND seq <= $3
               ORDER BY seq, signal_id""",
            [list(detectors), after_seq, upto_seq],
        )
        return t.select(SIGNAL_SCHEMA.names).cast(SIGNAL_SCHEMA)

    # --- outputs -------------------------------------------------------------------------------
    def alerts(self) -> pa.Table:
        t = self._arrow("SELECT * FROM alerts ORDER BY first_seq, alert_id")
        return t.select(ALERT_SCHEMA.names).cast(ALERT_SCHEMA)

    def quarantine(self, batch_id: int | None = None) -> pa.Table:
        where, params = ("WHERE batch_id = $1", [batch_id]) if batch_id is not None else ("", None)
        return self._arrow(
            f"SELECT * FROM quarantine {where} ORDER BY batch_id, source_file, line", params
        ).cast(QUARANTINE_SCHEMA)

    def ingest_batches(self) -> list[dict[str, Any]]:
        rows = self._rows("""SELECT batch_id, started_at::text, description::text, summary::text
                             FROM ingest_batches ORDER BY batch_id""")
        return [
            {
                "batch_id": int(b),
                "started_at": s,
                "description": orjson.loads(d or "null"),
                "summary": orjson.loads(m or "null"),
            }
            for b, s, d, m in rows
        ]

    def role_signals(
        self, role: str, entity_kind: str | None = None, entity: str | None = None
    ) -> pa.Table:
        conds, params = ["details::jsonb ->> 'role' = $1"], [role]
        for col, val in (("entity_kind", entity_kind), ("entity", entity)):
            if val is not None:
                params.append(val)
                conds.append(f"{col} = ${len(params)}")
        return self._arrow(
            f"SELECT * FROM signals WHERE {' AND '.join(conds)} ORDER BY seq, signal_id", params
        ).cast(SIGNAL_SCHEMA)

    # --- dissuasion: tasks and their outcomes --------------------------------------------------
    def put_tasks(self, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        rows = rows.select(TASK_SCHEMA.names).cast(TASK_SCHEMA)
        with self._tx():
            self._load("_task_in", "tasks", rows)
            self._exec("DELETE FROM tasks WHERE task_id IN (SELECT task_id FROM _task_in)")
            self._exec("INSERT INTO tasks SELECT DISTINCT ON (task_id) * FROM _task_in")

    def tasks(self, status: str | None = None) -> pa.Table:
        where, params = ("WHERE status = $1", [status]) if status is not None else ("", None)
        return self._arrow(
            f"SELECT * FROM tasks {where} ORDER BY created_ts, task_id", params
        ).cast(TASK_SCHEMA)

    def add_outcomes(self, rows: pa.Table) -> int:
        rows = rows.select(OUTCOME_SCHEMA.names).cast(OUTCOME_SCHEMA)
        if not rows.num_rows:
            return 0
        with self._tx():
            self._load("_out_in", "outcomes", rows)
            return self._exec(
                "INSERT INTO outcomes SELECT * FROM _out_in ON CONFLICT (outcome_id) DO NOTHING"
            )

    # --- cases, lists, policies, audit ---------------------------------------------------------
    def put_case(self, case_id: str, status: str, data: Mapping[str, Any]) -> None:
        self._exec(
            """INSERT INTO cases VALUES ($1, $2, $3::timestamptz, $4::jsonb) ON CONFLICT (case_id)
               DO UPDATE SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at,
               data = EXCLUDED.data""",
            [case_id, status, now_ms(), to_json(data)],
        )

    def cases(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT case_id, status, data::text FROM cases ORDER BY case_id")
        return [{"case_id": c, "status": s, "data": orjson.loads(d)} for c, s, d in rows]

    def add_list_entries(self, rows: pa.Table) -> int:
        rows = rows.select(LIST_SCHEMA.names).cast(LIST_SCHEMA)
        if not rows.num_rows:
            return 0
        with self._tx():
            self._load("_list_in", "lists", rows)
            return self._exec("INSERT INTO lists SELECT * FROM _list_in ON CONFLICT DO NOTHING")

    def list_entries(self, list_name: str | None = None, partner: str | None = None) -> pa.Table:
        conds, params = [], []
        for col, val in (("list_name", list_name), ("partner", partner)):
            if val is not None:
                params.append(val)
                conds.append(f"{col} = ${len(params)}")
        where = ("WHERE " + " AND ".join(conds)) if conds else ""
        return self._arrow(
            f"SELECT * FROM lists {where} ORDER BY created_ts, entry_id", params or None
        ).cast(LIST_SCHEMA)

    def save_policy(
        self, version: str, text: str, author: str, reason: str, activate: bool = True
    ) -> None:
        with self._tx():
            self._exec(
                "INSERT INTO policies VALUES ($1, $2::timestamptz, $3, $4, $5)",
                [version, now_ms(), author, reason, text],
            )
            if activate:
                self._set_meta("active_policy", version)

    def _policy_text(self, version: str) -> str | None:
        row = self._one(
            "SELECT text FROM policies WHERE version = $1 ORDER BY created_at DESC LIMIT 1",
            [version],
        )
        return row[0] if row else None

    def policy_history(self) -> list[dict[str, Any]]:
        cols = ("version", "created_at", "author", "reason", "text")
        rows = self._rows(f"SELECT {', '.join(cols)} FROM policies ORDER BY created_at, ctid")
        return [dict(zip(cols, r, strict=True)) for r in rows]

    def set_shadow_policy(self, version: str | None) -> None:
        with self._tx():
            watermark = self._meta("watermark", for_update=True) or "0"
            self._exec("TRUNCATE shadow_alerts")
            self._exec("DELETE FROM checkpoints WHERE component = 'shadow'")
            self._set_meta("shadow_policy", version or "")
            self._set_meta("shadow_since", watermark)

    def put_shadow_alerts(self, alerts: pa.Table) -> None:
        if not alerts.num_rows:
            return
        with self._tx():
            self._load(
                "_sh_in", "shadow_alerts", alerts.select(ALERT_SCHEMA.names).cast(ALERT_SCHEMA)
            )
            cols = ", ".join(_q(c) for c in ALERT_SCHEMA.names[1:])
            excluded = ", ".join(f"EXCLUDED.{_q(c)}" for c in ALERT_SCHEMA.names[1:])
            self._exec(f"""INSERT INTO shadow_alerts SELECT * FROM _sh_in ON CONFLICT (alert_id)
                           DO UPDATE SET ({cols}) = ROW({excluded})""")

    def shadow_alerts(self) -> pa.Table:
        t = self._arrow("SELECT * FROM shadow_alerts ORDER BY first_seq, alert_id")
        return t.select(ALERT_SCHEMA.names).cast(ALERT_SCHEMA)

    def append_audit(
        self,
        actor: str,
        role: str,
        action: str,
        target: str,
        reason: str,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        with self._tx():
            # appenders one at a time (readers are not blocked), so the chain never forks
            self._exec("LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE")
            last = self._one("SELECT n, hash FROM audit ORDER BY n DESC LIMIT 1")
            n, prev = (int(last[0]) + 1, last[1]) if last else (1, "")
            ts = now_ms()
            d = to_json(detail or {})
            h = audit_hash(prev, n, ts, actor, role, action, target, reason, d)
            self._exec(
                "INSERT INTO audit VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7, $8, $9, $10)",
                [n, ts, actor, role, action, target, reason, d, prev, h],
            )

    # --- the HTTP API ----------------------------------------------------------------------------
    def _insert_rows(self, table: str, schema: pa.Schema, rows: pa.Table, key: str) -> int:
        """Insert rows whose `key` is not in the table yet; returns rows added."""
        rows = rows.select(schema.names).cast(schema)
        if not rows.num_rows:
            return 0
        with self._tx():
            self._load(f"_{table}_in", table, rows)
            return self._exec(
                f"INSERT INTO {table} SELECT DISTINCT ON ({key}) * FROM _{table}_in "
                f"ON CONFLICT ({key}) DO NOTHING"
            )

    def add_api_key(self, row: Mapping[str, Any]) -> None:
        t = pa.Table.from_pylist([dict(row)], API_KEY_SCHEMA)
        if not self._insert_rows("api_keys", API_KEY_SCHEMA, t, "key_id"):
            raise FanzhaError(f"API key {row['key_id']} exists already")

    def api_key(self, key_hash: str) -> dict[str, Any] | None:
        rows = self._arrow("SELECT * FROM api_keys WHERE key_hash = $1", [key_hash])
        rows = rows.cast(API_KEY_SCHEMA).to_pylist()
        return rows[0] if rows else None

    def revoke_api_key(self, key_id: str, at: dt.datetime) -> bool:
        return bool(
            self._rows(
                "UPDATE api_keys SET revoked_ts = $1::timestamptz WHERE key_id = $2 "
                "AND revoked_ts IS NULL RETURNING key_id",
                [at, key_id],
            )
        )

    def alert_actions(self, alert_ids: list[str] | None = None) -> pa.Table:
        if alert_ids is None:
            t = self._arrow("SELECT * FROM alert_actions ORDER BY ts, action_id")
        else:
            t = self._arrow(
                "SELECT * FROM alert_actions WHERE alert_id = ANY($1::text[]) "
                "ORDER BY ts, action_id",
                [list(alert_ids)],
            )
        return t.cast(ALERT_ACTION_SCHEMA)

    def add_otp(self, row: Mapping[str, Any]) -> None:
        t = pa.Table.from_pylist([dict(row)], OTP_SCHEMA)
        self._insert_rows("otp", OTP_SCHEMA, t, "challenge_id")

    def otp(self, challenge_id: str) -> dict[str, Any] | None:
        rows = self._arrow("SELECT * FROM otp WHERE challenge_id = $1", [challenge_id])
        rows = rows.cast(OTP_SCHEMA).to_pylist()
        return rows[0] if rows else None

    def otp_attempt(self, challenge_id: str) -> int:
        row = self._rows(
            "UPDATE otp SET attempts = attempts + 1 WHERE challenge_id = $1 RETURNING attempts",
            [challenge_id],
        )
        return int(row[0][0]) if row else 0

    def use_otp(self, challenge_id: str, at: dt.datetime) -> bool:
        return bool(
            self._rows(
                "UPDATE otp SET used_ts = $1::timestamptz WHERE challenge_id = $2 "
                "AND used_ts IS NULL RETURNING challenge_id",
                [at, challenge_id],
            )
        )

    def count_otps(
        self, since: dt.datetime, id_number: str | None = None, phone: str | None = None
    ) -> int:
        conds, params = ["created_ts >= $1::timestamptz"], [since]
        for col, val in (("id_number", id_number), ("phone", phone)):
            if val is not None:
                params.append(val)
                conds.append(f"{col} = ${len(params)}")
        return int(self._one(f"SELECT count(*) FROM otp WHERE {' AND '.join(conds)}", params)[0])

    def put_partner(self, row: Mapping[str, Any]) -> None:
        t = pa.Table.from_pylist([dict(row)], PARTNER_SCHEMA)
        with self._tx():
            self._exec("DELETE FROM partners WHERE partner = $1", [row["partner"]])
            self._load("_partners_in", "partners", t)
            self._exec("INSERT INTO partners SELECT * FROM _partners_in")

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
                params.append(val)
                conds.append(f"{col} = ${len(params)}")
        if due_by is not None:
            params.append(due_by)
            conds.append(f"status = 'pending' AND next_attempt_ts <= ${len(params)}::timestamptz")
        where = ("WHERE " + " AND ".join(conds)) if conds else ""
        return self._arrow(
            f"SELECT * FROM notifications {where} ORDER BY created_ts, notification_id",
            params or None,
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
        self._exec(
            """UPDATE notifications SET status = $1, attempts = $2, last_attempt_ts = $3::timestamptz,
               next_attempt_ts = $4::timestamptz, channel = coalesce($5, channel), last_error = $6,
               delivered_ts = CASE WHEN $1 = 'delivered' THEN $3::timestamptz ELSE delivered_ts END
               WHERE notification_id = $7""",
            [status, attempts, at, next_attempt_ts, channel, error, notification_id],
        )

    def close(self) -> None:
        if self._stage is not None:
            self.abort_ingest()
        self.cur.close()
        self.conn.close()


def _bind(params: list | None) -> list | None:
    """Parameters as ADBC should bind them: times as ISO text (see the module docstring)."""
    if params is None:
        return None
    return [
        (p if p.tzinfo else p.replace(tzinfo=dt.UTC)).isoformat()
        if isinstance(p, dt.datetime)
        else p
        for p in params
    ]


def _cast(t: pa.DataType) -> str:
    """The type to cast a parameter to, for a column of Arrow type `t`."""
    return pg_type(t).removesuffix(' COLLATE "C"')


def _first_line(e: Exception) -> str:
    msg = str(e)
    msg = re.sub(r"^[A-Z_]+: (\[libpq\] )?", "", msg)
    return " ".join(msg.split("\n")[0].split()) or type(e).__name__
