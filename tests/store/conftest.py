from __future__ import annotations

import pytest

from fanzha.store import open_store


@pytest.fixture
def store(db):
    s = open_store(db)
    yield s
    s.close()
