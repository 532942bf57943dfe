"""Detectors that read other detectors' signals: ordered upstream first, same results for any
batch size, and they pass the conformance check on upstream signals."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import polars as pl
import pytest

from fanzha.detectors import FraudContact, FraudNumber, FraudUrl
from fanzha.engine import Engine
from fanzha.engine.check import canonical, check_detector, run_detector
from fanzha.engine.protocol import empty_signals, signals_from, signals_key
from fanzha.errors import FanzhaError
from fanzha.store import open_store
from scenario import city_log, ingest_city


@dataclasses.dataclass(frozen=True)
class RepeatedExposure:
    """People a fraud number reached twice or more: repeated contact before payment is how
    impersonation fraud works on a victim over days. Reads fraud_contact's signals."""

    name: ClassVar[str] = "repeated_exposure"
    kinds: ClassVar[tuple[str, ...]] = ()
    signal_inputs: ClassVar[tuple[str, ...]] = ("fraud_contact",)

    def initial_state(self):
        return {"seen": pl.DataFrame(schema={"entity": pl.String, "n": pl.Int64}).to_arrow()}

    def step(self, batch, state):
        sigs = batch.get(signals_key("fraud_contact"))
        if sigs is None or sigs.num_rows == 0:
            return empty_signals(), state
        seen = pl.from_arrow(state["seen"])
        new = pl.from_arrow(sigs).sort("seq", "signal_id").with_columns(
            k=pl.col.entity.cum_count().over("entity"))
        counted = new.join(seen, on="entity", how="left").with_columns(
            total=pl.col.k + pl.col.n.fill_null(0))
        hits = counted.filter(pl.col.total == 2).select(
            "seq", "ts", "entity_kind", "entity",
            score=pl.lit(0.8), evidence=pl.lit("reached twice by confirmed fraud numbers"),
            key=pl.col.signal_id)
        after = (pl.concat([seen, new.group_by("entity").agg(n=pl.len().cast(pl.Int64))])
                 .group_by("entity").agg(pl.col.n.sum()).sort("entity"))
        return signals_from(hits, self.name, ["key"]), {"seen": after.to_arrow()}


def test_engine_runs_upstream_first_and_batch_size_does_not_matter(db, tmp_path):
    s = open_store(db)
    ingest_city(s, tmp_path, calls=2000, sms=500)
    dets = [RepeatedExposure(), FraudContact(), FraudUrl(), FraudNumber()]  # downstream first
    Engine(s, detectors=dets, batch_size=10**6).run()
    ref = canonical(s.signals())
    assert any(r["detector"] == "repeated_exposure" for r in s.signals().to_pylist())
    s.reset_engine()
    Engine(s, detectors=dets, batch_size=97).run()
    assert canonical(s.signals()) == ref


def test_a_chained_detector_passes_the_conformance_check_on_upstream_signals():
    log = city_log(seed=1, calls=3000, sms=600)
    top = sum(t.num_rows for t in log.values())
    upstream, _ = run_detector(FraudContact(), log, [top])
    check_detector(RepeatedExposure(), {**log, signals_key("fraud_contact"): upstream})


def test_cycles_and_missing_inputs_are_clear_errors(db):
    s = open_store(db)
    with pytest.raises(FanzhaError, match="not running"):
        Engine(s, detectors=[RepeatedExposure()])

    @dataclasses.dataclass(frozen=True)
    class Loop(RepeatedExposure):
        name: ClassVar[str] = "loop"
        signal_inputs: ClassVar[tuple[str, ...]] = ("repeated_exposure",)

    @dataclasses.dataclass(frozen=True)
    class Back(RepeatedExposure):
        signal_inputs: ClassVar[tuple[str, ...]] = ("loop",)

    with pytest.raises(FanzhaError, match="cycle"):
        Engine(s, detectors=[Back(), Loop()])
