"""Shared by the tests (importable as `helpers`: tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import sys
from pathlib import Path

from fanzha.store import is_postgres

ROOT = Path(__file__).resolve().parent.parent
# ../shared/data beside the checkout (CI); a git worktree may sit deeper (wt/<branch>/).
SHARED_DATA = next(
    (p / "shared" / "data" for p in ROOT.parents if (p / "shared" / "data").is_dir()),
    ROOT.parent / "shared" / "data",
)


def fanzha_cmd() -> list[str]:
    """The real command line, for tests that need a separate process."""
    return [sys.executable, "-m", "fanzha"]


def raw_sql(db: str, *statements: str) -> None:
    """Run SQL on the database behind fanzha's back (what a person with the database's
    credentials could do), in one transaction. On PostgreSQL triggers are off for it
    (session_replication_role = replica, as a superuser restoring a dump would have it)."""
    if is_postgres(db):
        from adbc_driver_postgresql.dbapi import connect as _pg_connect

        with _pg_connect(db, autocommit=True) as con, con.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SET LOCAL session_replication_role = replica")
            for s in statements:
                cur.execute(s)
            cur.execute("COMMIT")
    else:
        import duckdb

        con = duckdb.connect(db)
        for s in statements:
            con.execute(s)
        con.close()
