"""Shared by the tests (importable as `helpers`: tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# ../shared/data beside the checkout (CI); a git worktree may sit deeper (wt/<branch>/).
SHARED_DATA = next(
    (p / "shared" / "data" for p in ROOT.parents if (p / "shared" / "data").is_dir()),
    ROOT.parent / "shared" / "data",
)


def fanzha_cmd() -> list[str]:
    """The real command line, for tests that need a separate process."""
    return [sys.executable, "-m", "fanzha"]
