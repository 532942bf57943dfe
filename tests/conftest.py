from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fanzha.cli import app
from fanzha.store import open_store
from fanzha.store.local_pg import (
    LocalPostgres,
    create_database,
    drop_database,
    server_bin,
    with_database,
)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "fanzha.duckdb")


class Cli:
    """Run `fanzha` in-process (fast) with a given database."""

    def __init__(self, db: str):
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True):
        from fanzha.errors import FanzhaError

        try:
            result = self.runner.invoke(app, [*args, "--db", self.db], catch_exceptions=False)
        except FanzhaError as e:  # what main() turns into "fanzha: error: ..." and exit 2
            if ok:
                raise
            return _Failed(str(e))
        if ok:
            assert result.exit_code == 0, result.output
        return result


class _Failed:
    exit_code = 2

    def __init__(self, message: str):
        self.output = message


@pytest.fixture
def cli(db: str) -> Cli:
    return Cli(db)


@pytest.fixture
def env() -> dict[str, str]:
    e = dict(os.environ)
    e.pop("FANZHA_DB", None)
    return e


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Admin URL of a PostgreSQL server for the tests: $FANZHA_TEST_PG if set, else a throwaway
    server that this session starts on loopback (and stops at the end). Without PostgreSQL the
    tests that need it are skipped, except under CI, where that is a failure."""
    url = os.environ.get("FANZHA_TEST_PG")
    if url:
        yield url
        return
    if server_bin() is None:
        reason = "PostgreSQL is not installed (apt-get install postgresql, or set FANZHA_TEST_PG)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with LocalPostgres() as pg:
        yield pg.url()


class PgDatabases:
    """Fresh databases on the test server: `new()` is a migrated copy of one template (made and
    migrated once), `new(migrated=False)` an empty one. All are dropped at the end."""

    def __init__(self, admin_url: str):
        self.admin = admin_url
        self.prefix = f"fanzha_t{os.getpid()}"
        self.made: list[str] = []
        self.template: str | None = None

    def new(self, migrated: bool = True) -> str:
        if migrated and self.template is None:
            self.template = self._create(None)
            open_store(with_database(self.admin, self.template)).close()
        return with_database(self.admin, self._create(self.template if migrated else None))

    def _create(self, template: str | None) -> str:
        name = f"{self.prefix}_{len(self.made)}"
        create_database(self.admin, name, template)
        self.made.append(name)
        return name

    def drop_all(self) -> None:
        for name in reversed(self.made):
            drop_database(self.admin, name)


@pytest.fixture(scope="session")
def pg_databases(pg_server: str) -> Iterator[PgDatabases]:
    dbs = PgDatabases(pg_server)
    yield dbs
    if os.environ.get("FANZHA_TEST_PG"):  # a throwaway server goes with its databases
        dbs.drop_all()


@pytest.fixture
def pg_db(pg_databases: PgDatabases) -> str:
    """URL of a fresh, migrated PostgreSQL database."""
    return pg_databases.new()
