"""What only the PostgreSQL store has: migrations, a server shared by several processes, the
database refusing changes to the audit log, connection errors."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import adbc_driver_postgresql.dbapi as pg
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from fanzha.cli import app
from fanzha.decide import ALERT_SCHEMA
from fanzha.engine.protocol import SIGNAL_SCHEMA
from fanzha.errors import FanzhaError
from fanzha.events import KINDS
from fanzha.ingest import Source, ingest
from fanzha.store import open_store
from fanzha.store.postgres import masked, migrations, statements
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
    pg_type,
)
from fanzha.testing import Pools, random_events, rows_for_csv, write_csv
from helpers import raw_sql


def query(url: str, sql: str) -> list[tuple]:
    with pg.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_migrations_are_applied_in_order_once_and_recorded(pg_databases):
    url = pg_databases.new(migrated=False)
    s = open_store(url)
    applied = s.schema_migrations()
    s.close()
    assert applied == [(v, n) for v, n, _ in migrations()] and applied[0] == (1, "tables")
    open_store(url).close()  # opening again applies nothing
    assert query(url, "SELECT count(*) FROM schema_migrations") == [(len(applied),)]


def test_a_migration_changed_after_it_was_applied_is_refused(pg_db):
    raw_sql(pg_db, "UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
    with pytest.raises(FanzhaError, match="must never change"):
        open_store(pg_db)
    with pytest.raises(FanzhaError, match="must never change"):
        open_store(pg_db, read_only=True)


def test_a_database_from_a_newer_fanzha_is_refused(pg_db):
    raw_sql(pg_db, "INSERT INTO schema_migrations VALUES (9999, 'future', 'x', now())")
    with pytest.raises(FanzhaError, match=r"9999.*upgrade fanzha"):
        open_store(pg_db)


def test_statements_split_at_line_ends_outside_function_bodies():
    sql = textwrap.dedent("""\
        -- a comment; with a semicolon
        CREATE TABLE a (x int);
        CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'no; never';
        END;
        $$;
        INSERT INTO a VALUES (1), (2);
        """)
    got = statements(sql)
    assert len(got) == 3 and got[0] == "CREATE TABLE a (x int)"
    assert got[1].startswith("CREATE FUNCTION") and got[1].endswith("$$")
    with pytest.raises(ValueError, match="without ';'"):
        statements("CREATE TABLE b (x int)")
    for _, _, text in migrations():
        assert statements(text)


def test_tables_have_the_columns_and_types_of_the_arrow_schemas(pg_db):
    want = {"signals": SIGNAL_SCHEMA, "alerts": ALERT_SCHEMA, "quarantine": QUARANTINE_SCHEMA,
            "lists": LIST_SCHEMA, "audit": AUDIT_SCHEMA, "tasks": TASK_SCHEMA,
            "outcomes": OUTCOME_SCHEMA, "api_keys": API_KEY_SCHEMA,
            "alert_actions": ALERT_ACTION_SCHEMA, "otp": OTP_SCHEMA, "partners": PARTNER_SCHEMA,
            "notifications": NOTIFICATION_SCHEMA}
    want.update({f"ev_{k}": KINDS[k].schema for k in KINDS})
    rows = query(pg_db, """SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
        coalesce(co.collname, ''), a.attnotnull FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_collation co ON co.oid = a.attcollation
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0
        AND NOT a.attisdropped ORDER BY c.relname, a.attnum""")
    have: dict[str, list] = {}
    for table, col, typ, coll, notnull in rows:
        have.setdefault(table, []).append((col, typ, coll, notnull))
    for table, schema in want.items():
        assert [c[0] for c in have[table]] == schema.names, table
        for (col, typ, coll, notnull), f in zip(have[table], schema, strict=True):
            expect = pg_type(f.type)
            base = expect.removesuffix(' COLLATE "C"')
            assert typ == {"timestamptz": "timestamp with time zone"}.get(base, base), (table, col)
            assert (coll == "C") == ("COLLATE" in expect), (table, col)
            keys = {"lists": "entry_id", "audit": "n", "tasks": "task_id", "outcomes": "outcome_id",
                    "api_keys": "key_id", "alert_actions": "action_id", "otp": "challenge_id",
                    "partners": "partner", "notifications": "notification_id"}
            assert notnull == (not f.nullable or keys.get(table) == col), (table, col)


def test_the_database_refuses_to_change_or_delete_audit_entries(pg_db):
    s = open_store(pg_db)
    s.append_audit("a1", "centre_analyst", "view_unmasked", "case:1", "case work")
    s.close()
    for sql in ("UPDATE audit SET reason = 'x'", "DELETE FROM audit", "TRUNCATE audit"):
        with pytest.raises(pg.Error, match="append-only"):
            query(pg_db, sql)
    s = open_store(pg_db)
    assert s.audit_log().num_rows == 1 and s.verify_audit()
    s.close()


def test_a_second_engine_cannot_commit_over_the_first(pg_db):
    a, b = open_store(pg_db), open_store(pg_db)
    a.load_engine()
    b.load_engine()
    empty_s, empty_a = SIGNAL_SCHEMA.empty_table(), ALERT_SCHEMA.empty_table()
    a.commit_step(10, empty_s, empty_a, {"d": {"x": b"a"}})
    with pytest.raises(FanzhaError, match=r"another engine moved the watermark.*from 0 to 10"):
        b.commit_step(10, empty_s, empty_a, {"d": {"x": b"b"}})
    assert b.load_engine() == (10, {"d": {"x": b"a"}})
    b.commit_step(20, empty_s, empty_a, {})  # after reloading, it goes on from there
    a.close()
    b.close()


def test_an_unreachable_server_is_one_line_without_the_password():
    with pytest.raises(FanzhaError) as e:
        open_store("postgresql://fanzha:s3cret@127.0.0.1:1/nothing")
    msg = str(e.value)
    assert msg.startswith("cannot connect to PostgreSQL postgresql://fanzha:***@127.0.0.1:1/")
    assert "s3cret" not in msg and "\n" not in msg
    assert masked("postgresql://u@h/db") == "postgresql://u@h/db"
    assert masked("postgresql://u@h/db?sslmode=require&password=pw") == \
        "postgresql://u@h/db?sslmode=require&password=***"


def test_reading_a_database_fanzha_never_opened_says_what_to_do(pg_databases):
    url = pg_databases.new(migrated=False)
    with pytest.raises(FanzhaError, match=r"no fanzha tables.*open it once for writing"):
        open_store(url, read_only=True)


def test_fanzha_db_names_the_server_for_every_command(pg_db, tmp_path):
    t = random_events("call", 20, random.Random(2))
    p = tmp_path / "calls.csv"
    write_csv(str(p), rows_for_csv(t), columns=t.column_names)
    runner = CliRunner()
    r = runner.invoke(app, ["ingest", str(p), "--json"], env={"FANZHA_DB": pg_db},
                      catch_exceptions=False)
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["status", "--json"], env={"FANZHA_DB": pg_db},
                      catch_exceptions=False)
    assert r.exit_code == 0 and '"call": 20' in r.output


CHILD = """
import sys
from fanzha.ingest import Source, ingest
from fanzha.store import open_store
url, files = sys.argv[1], sys.argv[2:]
print("ready", flush=True)
sys.stdin.readline()  # all processes start together
s = open_store(url)
for f in files:
    ingest(s, [Source(f, "call")])
print("ingested", flush=True)
sys.stdin.readline()  # and append to the audit log together
for i in range(25):
    s.append_audit(f"p{files[0][-5]}", "analyst", "view", "case:1", "test", {"i": i})
s.close()
"""


def test_processes_sharing_a_new_database_keep_one_log_and_one_audit_chain(
    pg_databases, tmp_path
):
    """Three processes open an empty database at once (migrations race), each ingests the same
    three overlapping files in its own order, then all append to the audit log together."""
    url = pg_databases.new(migrated=False)
    rng = random.Random(7)
    pools = Pools(rng, phones=80)
    events = random_events("call", 900, rng, pools=pools)
    files = []
    for i in range(3):  # each file shares a third of its events with the next
        part = events.slice(i * 300, 600) if i < 2 else pa.concat_tables(
            [events.slice(600, 300), events.slice(0, 300)])
        p = tmp_path / f"calls{i}.csv"
        write_csv(str(p), rows_for_csv(part), columns=part.column_names)
        files.append(str(p))
    procs = [
        subprocess.Popen([sys.executable, "-c", CHILD, url, *files[i:], *files[:i]],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
        for i in range(3)
    ]
    for step in ("ready", "ingested"):
        for p in procs:
            assert p.stdout.readline().strip() == step, p.stderr.read()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert query(url, "SELECT count(*) FROM schema_migrations") == [(len(migrations()),)]
    with open_store(str(tmp_path / "one.duckdb")) as one:  # the same files, one process
        for f in files:
            ingest(one, [Source(f, "call")])
        expect = sorted(one.read_events("call", 0, 10**9)["event_id"].to_pylist())
    with open_store(url) as s:
        log = s.read_events("call", 0, 10**9)
        assert sorted(log["event_id"].to_pylist()) == expect  # every event once
        assert log["seq"].to_pylist() == list(range(1, len(expect) + 1)) == \
            list(range(1, s.max_seq() + 1))
        audit = s.audit_log()
        assert audit["n"].to_pylist() == list(range(1, 76)) and s.verify_audit()
        assert sorted(audit["actor"].value_counts().field("counts").to_pylist()) == [25] * 3
        assert len(s.ingest_batches()) == 9
