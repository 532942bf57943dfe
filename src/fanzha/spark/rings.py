"""Spark job `rings`: every account of the registrations and orders with its ring (Leiden
cluster), lockstep block, score and label (`rings.find_rings(...).accounts`, what
`fanzha accounts rings` writes), over the lake.

Fraud caught: black accounts opened with harvested identities by village-push gangs and the
lockstep new-user-deal abuse they do.

The split, and where it is honest to say Spark does little: registrations are features and an
authorisation check each (`registration_rows`, given the whole promoter registry, which the
driver reads and the function carries): that runs per Spark partition. Everything after is one
graph: Leiden clusters the whole account-attribute graph from a seeded random order, and FRAUDAR
peels the densest block of the whole account x deal matrix; cutting either into parts (even
connected components) changes the clusters' names and can change which accounts end up together.
So `rings_of` runs once, on the driver, over the registration rows Spark computed and the orders
(the order columns the graph and FRAUDAR read). The driver must hold them: about 1 KB a
registration and 200 bytes an order.
The detector's signals (own registration risk) are not in the lake; pass them as `signals`
(`fanzha spark rings --db` reads them from the store), else every account's own score is 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from fanzha.events import KINDS
from fanzha.investigate.rings import RingSettings, _empty, registration_rows, rings_of
from fanzha.lake import has_kind, kind_files
from fanzha.spark.session import arrow_table, read_kind, spark_schema, to_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def check(lake: str) -> None:
    """The lake must hold registrations (orders and the promoter registry are optional)."""
    kind_files(lake, "registration")


def _whole(spark: SparkSession, lake: str, kind: str) -> pl.DataFrame:
    schema = KINDS[kind].schema
    if not has_kind(lake, kind):
        return _empty(kind)
    t = read_kind(spark, lake, kind, schema.names).orderBy("seq").toArrow()
    df = pl.from_arrow(arrow_table(t.to_batches(), schema))
    assert isinstance(df, pl.DataFrame)
    return df


def run(
    spark: SparkSession,
    lake: str,
    settings: RingSettings | None = None,
    partitions: int = 8,
    signals: pl.DataFrame | None = None,
) -> DataFrame:
    """`find_rings(...).accounts` of the lake's registrations and orders (a DataFrame)."""
    s = settings or RingSettings()
    check(lake)
    registry = _whole(spark, lake, "promoter")
    schema = KINDS["registration"].schema
    out = to_spark(registration_rows(_empty("registration"), registry, s).to_arrow()).schema

    def rows(batches):
        r = pl.from_arrow(arrow_table(batches, schema))
        assert isinstance(r, pl.DataFrame)
        if r.height:
            yield from to_spark(registration_rows(r, registry, s).to_arrow()).to_batches()

    regs = read_kind(spark, lake, "registration", schema.names).repartition(partitions)
    got = regs.mapInArrow(rows, spark_schema(out)).toArrow()
    reg = pl.from_arrow(got.cast(out))
    assert isinstance(reg, pl.DataFrame)
    reg = reg.with_columns(
        pl.col(c).dt.cast_time_unit("ms") for c, t in reg.schema.items() if t == pl.Datetime
    ).sort("seq")
    rings = rings_of(reg, _whole(spark, lake, "order"), signals, s)
    return spark.createDataFrame(to_spark(rings.accounts.to_arrow()))  # type: ignore[arg-type]
