"""Spark job `trace`: every police case's victim payments traced forward through up to three
levels of accounts within 48 hours (`funds.case_traces`), over the lake.

Fraud caught: the mule accounts (卡农 cards) that receive and pass on victims' money, and the money
an emergency freeze (紧急止付) can still hold in them.

The split: cases are independent of each other, the transfer log is not cut. The case events are
shuffled by case_id; each task reads the lake's transfers (only the index's columns) into one
`TransferIndex`, kept by its Python worker for the tasks after it, and runs `case_traces` on its
cases. The trace itself follows money across any account, so it needs the whole index (a task's
memory holds it: about 60 bytes a transfer); what Spark spreads is the cases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from fanzha.events import KINDS
from fanzha.investigate.funds import CASE_TRACES, COLUMNS, TraceSettings, TransferIndex, case_traces
from fanzha.lake import kind_files
from fanzha.lake import read_kind as read_lake_kind
from fanzha.spark.session import arrow_table, read_kind, spark_schema, to_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

OUT_SCHEMA = pl.DataFrame(schema=CASE_TRACES).to_arrow().schema
_INDEX: dict[str, TransferIndex] = {}  # lake -> its transfers, per Python worker


def transfer_index(lake: str) -> TransferIndex:
    if lake not in _INDEX:
        _INDEX.clear()
        _INDEX[lake] = TransferIndex.from_table(read_lake_kind(lake, "transfer", list(COLUMNS)))
    return _INDEX[lake]


def check(lake: str) -> None:
    """The lake must hold cases and transfers (an error in one line before Spark starts)."""
    kind_files(lake, "case")
    kind_files(lake, "transfer")


def run(
    spark: SparkSession,
    lake: str,
    settings: TraceSettings | None = None,
    partitions: int = 8,
) -> DataFrame:
    """case_id, measure, key, fen (`case_traces`) of every case in the lake."""
    s = settings or TraceSettings()
    schema = KINDS["case"].schema
    check(lake)
    cases = read_kind(spark, lake, "case", schema.names).repartition(partitions, "case_id")

    def traces(batches):
        t = arrow_table(batches, schema)
        if not t.num_rows:
            return
        df = pl.from_arrow(t)
        assert isinstance(df, pl.DataFrame)
        out = case_traces(transfer_index(lake), df, s)
        yield from to_spark(out.to_arrow().cast(OUT_SCHEMA)).to_batches()

    return cases.mapInArrow(traces, spark_schema(OUT_SCHEMA))
