"""The console's world, built once and copied for each test that changes it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from investigations_world import build as build_investigations
from web_world import build

from fanzha.api import ApiSettings, create_app
from fanzha.linkage import SmsSink


@pytest.fixture(scope="session")
def web_world(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("web") / "world.duckdb"
    return path, build(path)


@pytest.fixture(scope="session")
def investigations_world(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("inv") / "world.duckdb"
    return path, build_investigations(path)


class Console:
    """A TestClient on a copy of the world, logged in as one role at a time."""

    def __init__(self, client: TestClient, keys: dict[str, str], sms: Path):
        self.client = client
        self.keys = keys
        self.sms = sms

    def login(self, who: str):
        self.client.cookies.clear()
        return self.client.post("/console/login", data={"key": self.keys[who]},
                                follow_redirects=False)

    def get(self, path: str, **kw):
        return self.client.get(path, follow_redirects=False, **kw)

    def post(self, path: str, data: dict, **kw):
        return self.client.post(path, data=data, follow_redirects=False, **kw)


@pytest.fixture
def console(web_world, tmp_path) -> Console:
    yield from _console(web_world, tmp_path)


@pytest.fixture
def investigations(investigations_world, tmp_path) -> Console:
    yield from _console(investigations_world, tmp_path)


def _console(world, tmp_path):
    path, keys = world
    db = tmp_path / "console.duckdb"
    shutil.copy(path, db)
    sms = tmp_path / "sms"
    app = create_app(str(db), ApiSettings(sms_sink=SmsSink(str(sms))))
    with TestClient(app, base_url="http://testserver") as client:
        yield Console(client, keys, sms)
