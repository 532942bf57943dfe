"""The engine with keyed partitions: the keyed detectors' signals come from the keyed tier's
commits, and the alerts and signals are those of the embedded engine (no broker here; the
stream tests run the same with real workers)."""

from __future__ import annotations

import pytest

from fanzha.engine import Engine
from fanzha.errors import FanzhaError
from fanzha.store import open_store
from fanzha.stream.keyed import key_columns, split, step_partition
from fanzha.testing import as_log
from scenario import city
from warehouse import warehouse_events

BATCH = 700  # engine micro-batch
SLICE = 250  # events per slice, as a worker appends them
P = 3


def _log() -> dict:
    return as_log(
        {**warehouse_events(seed=1, days=4, per_day=12), **city(seed=1, calls=400, sms=80)}
    )


def _outputs(s) -> tuple[list[dict], list[str]]:
    return s.alerts().to_pylist(), sorted(s.signals()["signal_id"].to_pylist())


def test_keyed_partitions_give_the_embedded_alerts_and_wait_for_the_slowest(tmp_path):
    log = _log()
    embedded = open_store(str(tmp_path / "embedded.duckdb"))
    embedded.append_log(log, {"test": "embedded"})
    Engine(embedded, batch_size=BATCH).run()
    expected = _outputs(embedded)
    assert {a["rule"] for a in expected[0]} >= {"access-insider"}  # the keyed tier matters

    s = open_store(str(tmp_path / "keyed.duckdb"))
    s.append_log(log, {"test": "keyed"})
    engine = Engine(s, batch_size=BATCH, partitions=P)
    assert {d.name for d in engine.keyed} == {"text_fraud", "access_rules"}
    first = engine.run()
    assert first.waiting and first.batches == 0  # no partition has committed anything yet
    keys = key_columns(engine.keyed)
    top = s.max_seq()
    for lo in range(0, top, SLICE):
        hi = min(lo + SLICE, top)
        parts = split({k: s.read_events(k, lo, hi) for k in keys}, keys, P)
        for p in reversed(range(P)):  # partitions commit in any order relative to each other
            assert step_partition(s, engine.keyed, P, p, hi, parts[p]) is not None
            engine.run(max_batches=(hi - s.load_engine()[0]) // BATCH)  # full batches only
        # a redelivered message adds nothing
        assert step_partition(s, engine.keyed, P, 0, hi, parts[0]) is None
    done = engine.run()
    assert not done.waiting and s.load_engine()[0] == top
    assert _outputs(s) == expected
    with pytest.raises(FanzhaError, match="ran in 3 stream partitions"):
        Engine(s, batch_size=BATCH)  # the embedded engine would not have access_rules' state
    s.close()
    embedded.close()
