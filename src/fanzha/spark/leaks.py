"""Spark job `leaks`: for one fraud type, each touchpoint (shop, warehouse, system, PC, operator)
the gang's victims passed before the fraud, with k of the n victims and K of the N customers
that passed it, enrichment and p-value (`leaks.leak_counts`: what the leak-source ranking starts
from), over the lake.

Fraud traced: the leak behind fake customer-service refund scams (stolen waybills, insiders
selling customers' data).

The split, with the embedded path's functions at each step:
1. victims (few): on the driver, `gang_victims` over the lake's cases and reports, and the calls
   and SMS of the gang's numbers that Spark filters from the log;
2. passes: an access names its order, or a waybill of one; Spark gives each access the order it
   resolves to (two joins on order id and waybill), orders and accesses are cogrouped by a hash
   of that order, and `touchpoint_passes` and `before_fraud` run per group (the victims travel
   with the function);
3. N, the customers who passed anything plus the victims, is one global count (Spark);
4. counts: passes are shuffled by touchpoint, so a task holds every customer of its
   touchpoints, and `incidence` and `touchpoint_counts` give their rows.
The forward selection and the blame (`trace_sources`) then need only the victims' touchpoints and
their customers; they stay with the report (`fanzha leaks source`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from fanzha.events import KINDS
from fanzha.investigate.leaks import (
    COUNTS,
    LeakSettings,
    before_fraud,
    gang_victims,
    incidence,
    touchpoint_counts,
    touchpoint_passes,
)
from fanzha.lake import has_kind, kind_files
from fanzha.spark.session import arrow_table, read_kind, spark_schema, to_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

OUT_SCHEMA = pl.DataFrame(schema=COUNTS).to_arrow().schema
_PASS = pa.schema([pa.field("customer", pa.string()), pa.field("tp", pa.string()),
                   pa.field("kind", pa.string()), pa.field("site", pa.string()),
                   pa.field("value", pa.string()), pa.field("ts", pa.int64())])  # fmt: skip


def check(lake: str) -> None:
    """The lake must hold cases, and orders or waybill accesses (an error in one line)."""
    kind_files(lake, "case")
    kind_files(lake, "order")


class _Lake:
    """The lake as `gang_victims` reads a store: the small kinds whole, calls and SMS by number."""

    def __init__(self, spark: SparkSession, lake: str):
        self.spark, self.lake = spark, lake

    def max_seq(self) -> int:
        return 2**62

    def _kind(self, kind: str) -> DataFrame:
        return read_kind(self.spark, self.lake, kind, KINDS[kind].schema.names)

    def _arrow(self, kind: str, df: DataFrame) -> pa.Table:
        return arrow_table(df.toArrow().to_batches(), KINDS[kind].schema)

    def read_events(self, kind: str, after: int, upto: int) -> pa.Table:
        return self._arrow(kind, self._kind(kind).orderBy("seq"))

    def lookup_events(self, kind: str, fields: tuple[str, ...], values: list[str], upto: int,
                      since: Any = None) -> pa.Table:  # fmt: skip
        from pyspark.sql import functions as F

        if not has_kind(self.lake, kind):  # no calls (or no SMS): none found
            return KINDS[kind].schema.empty_table()
        match = F.lit(False)
        for f in fields:
            match = match | F.col(f).isin(values)
        return self._arrow(kind, self._kind(kind).where(match).orderBy("seq"))


def run(
    spark: SparkSession,
    lake: str,
    fraud_type: str = "fake_customer_service",
    since: dt.datetime | None = None,
    settings: LeakSettings | None = None,
    partitions: int = 8,
    victims_only: bool = False,
) -> DataFrame:
    """COUNTS (`leak_counts`) of every touchpoint the victims of `fraud_type` passed."""
    from pyspark.sql import functions as F

    s = settings or LeakSettings()
    check(lake)
    v = gang_victims(_Lake(spark, lake), fraud_type, since, victims_only)
    v = v.with_columns(fraud_ms=pl.col.fraud_ts.dt.epoch("ms"))
    vphones = sorted(set(v["phone"].to_list()))
    o_schema, a_schema = KINDS["order"].schema, KINDS["waybill_access"].schema
    orders = read_kind(spark, lake, "order", o_schema.names)
    if has_kind(lake, "waybill_access"):
        accesses = read_kind(spark, lake, "waybill_access", a_schema.names)
    else:  # no access log: orders alone
        accesses = spark.createDataFrame(
            to_spark(a_schema.empty_table()).to_pandas(), spark_schema(a_schema)
        )

    # each access with the order it resolves to (its own, else its waybill's)
    ids = orders.select(F.col("order_id").alias("o_id")).distinct()
    wb = (
        orders.where(F.col("waybill_no").isNotNull())
        .groupBy("waybill_no")
        .agg(F.min("order_id").alias("w_order"))
    )
    accesses = (
        accesses.join(ids, accesses["order_id"] == ids["o_id"], "left")
        .join(wb, on="waybill_no", how="left")
        .withColumn("key", F.coalesce("o_id", "w_order", "order_id", "event_id"))
    )
    bucket = F.pmod(F.hash("key"), F.lit(partitions))
    orders = orders.withColumn("b", F.pmod(F.hash("order_id"), F.lit(partitions)))
    accesses = accesses.withColumn("b", bucket).select("b", *a_schema.names)

    def passes(o: pa.Table, a: pa.Table) -> pa.Table:
        od = pl.from_arrow(arrow_table(o.to_batches(), o_schema))
        ad = pl.from_arrow(arrow_table(a.to_batches(), a_schema))
        assert isinstance(od, pl.DataFrame) and isinstance(ad, pl.DataFrame)
        p = before_fraud(touchpoint_passes(od, ad), v, s).select(_PASS.names)
        return p.to_arrow().cast(_PASS)

    passed = (
        orders.groupBy("b")
        .cogroup(accesses.groupBy("b"))
        .applyInArrow(passes, spark_schema(_PASS))
        .cache()  # read twice: N, then the counts
    )
    others = passed.select("customer").distinct().where(~F.col("customer").isin(vphones)).count()
    big_n, victims = others + len(vphones), set(vphones)

    def counts(batches):
        inc = incidence(pl.from_arrow(arrow_table(batches, _PASS)))  # type: ignore[arg-type]
        if not inc.height:
            return
        out = touchpoint_counts(inc, victims, big_n)
        yield from out.to_arrow().cast(OUT_SCHEMA).to_batches()

    return passed.repartition(partitions, "tp").mapInArrow(counts, spark_schema(OUT_SCHEMA))
