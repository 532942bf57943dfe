"""The API tests' world (api_world) built once, with one key per role, and copied for each test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_world import ORGS, Api, world_events
from fanzha.api import ApiSettings, create_app
from fanzha.api.access import ROLES, add_key
from fanzha.engine.runner import Engine
from fanzha.ingest import ingest_rows
from fanzha.linkage import SmsSink
from fanzha.store import open_store


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("world") / "world.duckdb"
    with open_store(str(path)) as s:
        for kind, rows in world_events().items():
            summary = ingest_rows(s, kind, rows)
            assert summary.total("quarantined") == 0, summary.to_dict()
        Engine(s).run()
        keys = {role: add_key(s, ORGS[role], role)["token"] for role in ROLES}
    return path, keys


def _api(world, tmp_path: Path):
    path, keys = world
    db = str(tmp_path / "api.duckdb")
    shutil.copy(path, db)
    sms = tmp_path / "sms"
    app = create_app(db, ApiSettings(sms_sink=SmsSink(str(sms))))
    with TestClient(app) as client:
        yield Api(client, keys, db, sms)


@pytest.fixture
def api(world, tmp_path) -> Api:
    """A fresh copy of the world for a test that changes it."""
    yield from _api(world, tmp_path)


@pytest.fixture(scope="module")
def shared_api(world, tmp_path_factory) -> Api:
    """One copy for a module's tests that only read (or do not mind what others wrote)."""
    yield from _api(world, tmp_path_factory.mktemp("shared"))
