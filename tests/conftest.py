from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fanzha.cli import app


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
