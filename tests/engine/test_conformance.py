"""Every detector passes the shared conformance check; the check catches broken detectors."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import polars as pl
import pytest

from fanzha.detectors import DEFAULT_DETECTORS, FraudContact
from fanzha.engine.check import check_detector
from fanzha.engine.protocol import empty_signals, signals_from
from fanzha.testing import as_log
from scenario import city_log, farm_city

# The event set each detector is checked on; a new detector must add its own here.
SCENARIOS = {
    "fraud_contact": lambda: city_log(seed=1, calls=400, sms=120),
    "fraud_number": lambda: as_log(farm_city(seed=1, people=40, chatter=120, courier_calls=40)),
}


def test_every_registered_detector_has_a_scenario():
    assert {cls.name for cls in DEFAULT_DETECTORS} == set(SCENARIOS)


@pytest.mark.parametrize("cls", DEFAULT_DETECTORS, ids=lambda c: c.name)
def test_detector_conformance(cls):
    check_detector(cls(), SCENARIOS[cls.name]())


@dataclasses.dataclass(frozen=True)
class CountsCalls:
    """Counts calls per batch and flags any batch with many calls: a fraud of batch boundaries,
    which the conformance check must catch."""

    name: ClassVar[str] = "counts_calls"
    kinds: ClassVar[tuple[str, ...]] = ("call",)

    def initial_state(self):
        return {}

    def step(self, batch, state):
        calls = batch.get("call")
        if calls is None or calls.num_rows < 50:
            return empty_signals(), state
        df = pl.from_arrow(calls).head(1).select(
            "seq", "ts", "event_id", entity_kind=pl.lit("phone"), entity=pl.col.caller,
            score=pl.lit(0.5), evidence=pl.lit("many calls in this batch"))
        return signals_from(df, self.name, ["event_id"]), state


@dataclasses.dataclass(frozen=True)
class WritesFiles(FraudContact):
    """Looks up fraud numbers in a file: impure, which the check must catch."""

    def step(self, batch, state):
        open("/tmp/fanzha-should-not-exist", "w")  # noqa: SIM115
        return super().step(batch, state)


def test_the_check_catches_a_batch_dependent_detector():
    with pytest.raises(AssertionError, match=r"depends on batch cuts|one-event batches"):
        check_detector(CountsCalls(), city_log(seed=1, calls=400, sms=0))


def test_the_check_catches_an_impure_detector():
    with pytest.raises(AssertionError, match="must not do I/O"):
        check_detector(WritesFiles(), city_log(seed=1, calls=100, sms=10))


def test_the_check_refuses_a_vacuous_run():
    log = city_log(seed=1, calls=100, sms=10)
    log["report"] = log["report"].slice(0, 0)
    with pytest.raises(AssertionError, match="vacuous"):
        check_detector(FraudContact(), log)
