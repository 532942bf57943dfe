"""A small simulated world exported to a lake, the embedded path's outputs on it, and one Spark
session (local[2]) shared by the Spark tests. Without Java or pyspark they skip, or fail under
CI=true."""

from __future__ import annotations

import os

import polars as pl
import pytest

from fanzha.ingest import ingest
from fanzha.investigate.funds import TraceSettings, TransferIndex, case_traces
from fanzha.investigate.leaks import leak_counts
from fanzha.investigate.mules import mule_scores
from fanzha.investigate.rings import find_rings_in
from fanzha.lake import export_lake
from fanzha.models import number_features as nf
from fanzha.sim import simulate
from fanzha.sim.run import load_manifest
from fanzha.store import open_store

PEOPLE, DAYS, SEED = 3000, 5, 11  # about 54,000 events and a dozen police cases


@pytest.fixture(scope="session")
def need_spark() -> None:
    """Skip (fail under CI=true) without pyspark or a Java for it."""
    ci = os.environ.get("CI") == "true"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        (pytest.fail if ci else pytest.skip)("pyspark is missing (make test installs it)")
    from fanzha.spark.session import java_home

    if java_home() is None:
        (pytest.fail if ci else pytest.skip)("no Java for Spark (JAVA_HOME, java, /usr/lib/jvm)")


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> dict:
    """The lake of a simulated world and the embedded path's rows per job."""
    tmp = tmp_path_factory.mktemp("spark-world")
    simulate(PEOPLE, DAYS, SEED, tmp / "world", None)
    with open_store(str(tmp / "fanzha.duckdb")) as s:
        ingest(s, load_manifest(tmp / "world"))
        export_lake(s, str(tmp / "lake"))
        top = s.max_seq()
        cases = pl.from_arrow(s.read_events("case", 0, top))
        transfers = pl.from_arrow(s.read_events("transfer", 0, top))
        assert isinstance(cases, pl.DataFrame) and isinstance(transfers, pl.DataFrame)
        embedded = {
            "number-features": nf.offline(
                s.read_events("call", 0, top), s.read_events("sms", 0, top), nf.WindowSettings()
            ),
            "trace": case_traces(TransferIndex.from_store(s), cases, TraceSettings()),
            "mules": mule_scores(transfers, cases),
            "rings": find_rings_in(s).accounts,
            "leaks": leak_counts(s, "fake_customer_service"),
        }
    return {"lake": str(tmp / "lake"), "embedded": embedded, "cases": cases.height}


@pytest.fixture(scope="session")
def spark(need_spark):
    from fanzha.spark.session import session

    sp = session("local[2]", partitions=4)
    sp.sparkContext.setLogLevel("ERROR")
    yield sp
    sp.stop()
