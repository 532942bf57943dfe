"""The whole pipeline on PostgreSQL finds what it finds on DuckDB: the session's simulated world
(tests/sim/conftest.py, scored on DuckDB) ingested and run again on a PostgreSQL database."""

from __future__ import annotations

import pytest

from fanzha.engine.runner import Engine
from fanzha.events import KINDS
from fanzha.ingest import ingest
from fanzha.sim.run import load_manifest
from fanzha.store import open_store


def everything(store) -> dict:
    top = store.max_seq()
    return {
        "log": {k: store.read_events(k, 0, top) for k in KINDS},
        "signals": store.signals(),
        "alerts": store.alerts(),
        "quarantine": store.quarantine(),
    }


@pytest.fixture(scope="module")
def on_duckdb(world, scored):
    with open_store(str(world / "fanzha.duckdb"), read_only=True) as s:
        return everything(s)


def test_the_pipeline_on_postgres_gives_the_same_log_signals_and_alerts(world, on_duckdb, pg_db):
    with open_store(pg_db) as s:
        summary = ingest(s, load_manifest(world))  # one batch, as `fanzha score` does
        assert not summary.failed_files
        Engine(s).run()
        got = everything(s)
    assert on_duckdb["alerts"].num_rows > 20 and on_duckdb["signals"].num_rows > 20
    for name in ("signals", "alerts", "quarantine"):
        assert got[name].equals(on_duckdb[name]), name
    for k in KINDS:
        assert got["log"][k].equals(on_duckdb["log"][k]), k
