"""Mule scores on IBM AMLSim's public samples (fan-in and cycle laundering): floors measured on
the real files (see the closing note of issue 6 for the figures and the commands)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from fanzha.detectors.mule_account import MuleAccountSettings
from fanzha.ingest import IngestOptions, ParseOptions, Source, ingest
from fanzha.investigate.mules import MuleScoreSettings, mule_scores
from fanzha.store import open_store
from helpers import SHARED_DATA

AMLSIM = SHARED_DATA / "amlsim"
# the column map of `fanzha ingest ... --kind transfer --map ... --epoch 2020-01-01T00:00:00Z
# --time-unit d --money-unit yuan --set source=amlsim`: an AMLSim step is one day, too coarse to
# tell money passed on within minutes (`fanzha funds mules --fast-minutes 0`)
OPTIONS = IngestOptions(
    column_map={"payer_account": "sourceNodeId", "payee_account": "targetNodeId",
                "amount_fen": "value", "ts": "time"},
    constants={"source": "amlsim"},
    parse=ParseOptions(epoch=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), time_unit="d",
                       money_unit="yuan"),
)
DAY_STEPS = MuleAccountSettings(fast_minutes=0)


def scored(sample: str, db: str, settings: MuleScoreSettings) -> dict[str, float]:
    folder = AMLSIM / sample
    if not (folder / "transactions.csv").exists():
        pytest.skip("AMLSim samples not in ../shared/data")
    with open_store(db) as s:
        summary = ingest(s, [Source(str(folder / "transactions.csv"), "transfer")], OPTIONS)
        assert summary.total("quarantined") == 0
        transfers = pl.from_arrow(s.read_events("transfer", 0, s.max_seq()))
    scores = mule_scores(transfers, None, settings)
    nodes = pl.read_csv(folder / "nodes.csv", schema_overrides={"nodeid": pl.String})
    seen = set(scores["account"])
    assert seen <= set(nodes["nodeid"]) and len(seen) > 19_900  # every account seen is scored
    j = nodes.join(scores, left_on="nodeid", right_on="account", how="left")
    j = j.with_columns(pl.col.label.fill_null(0))
    tp = j.filter((pl.col.label == 1) & (pl.col.isFraud == 1)).height
    p = tp / max(j["label"].sum(), 1)
    r = tp / j["isFraud"].sum()
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def test_fan_in_laundering_is_found_by_split_payments_into_one_account(db):
    got = scored("fanin200", db, MuleScoreSettings(detector=DAY_STEPS))
    assert got["precision"] >= 0.9 and got["f1"] >= 0.5  # measured 0.978 / 0.580


def test_cycle_laundering_is_found_by_round_trips_in_any_order(db):
    got = scored("cycle200", db, MuleScoreSettings(detector=DAY_STEPS, cycle_any_order=True,
                                                   cycle_days=150))
    assert got["precision"] >= 0.6 and got["f1"] >= 0.2  # measured 0.723 / 0.255
