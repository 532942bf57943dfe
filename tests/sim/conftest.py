"""One small world (3,000 people, 5 days), made and scored once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from fanzha.sim import simulate
from fanzha.sim.run import score_world

PEOPLE, DAYS, SEED = 3000, 5, 11


@pytest.fixture(scope="session")
def world_args(tmp_path_factory) -> tuple[int, int, int, Path]:
    """people, days, seed and a scenario override: five days that hold a pension and a pay day."""
    scenario = tmp_path_factory.mktemp("scenario") / "short.yaml"
    scenario.write_text('start_date: "2026-03-07"\n')
    return PEOPLE, DAYS, SEED, scenario


@pytest.fixture(scope="session")
def world(tmp_path_factory, world_args) -> Path:
    out = tmp_path_factory.mktemp("sim") / "world"
    people, days, seed, scenario = world_args
    simulate(people, days, seed, out, scenario)
    return out


@pytest.fixture(scope="session")
def sim_files(world: Path) -> dict[str, bytes]:
    """Every file the simulator wrote (before `fanzha score` adds its own)."""
    return {
        str(p.relative_to(world)): p.read_bytes() for p in sorted(world.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="session")
def scored(world: Path, sim_files) -> dict:
    return score_world(world)


@pytest.fixture(scope="session")
def log(world: Path, scored):
    """The scored world's event log, read back from its store, as Polars frames per kind."""
    import polars as pl

    from fanzha.events import KINDS
    from fanzha.store import open_store

    with open_store(str(world / "fanzha.duckdb"), read_only=True) as s:
        return {k: pl.from_arrow(s.find_events(k)) for k in KINDS}
