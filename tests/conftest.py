from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fanzha.cli import app

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


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


def fanzha_cmd() -> list[str]:
    """The real command line, for tests that need a separate process."""
    return [sys.executable, "-m", "fanzha"]


@pytest.fixture
def env() -> dict[str, str]:
    e = dict(os.environ)
    e.pop("FANZHA_DB", None)
    return e
