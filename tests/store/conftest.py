"""Every test of tests/store that takes `db` runs twice: on a DuckDB file and on a PostgreSQL
database (the same suite for both backends)."""

from __future__ import annotations

import pytest

from fanzha.store import open_store


@pytest.fixture(params=["duckdb", "postgresql"])
def db(request, tmp_path) -> str:
    if request.param == "duckdb":
        return str(tmp_path / "fanzha.duckdb")
    return request.getfixturevalue("pg_db")


@pytest.fixture
def store(db):
    s = open_store(db)
    yield s
    s.close()
