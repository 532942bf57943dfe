"""Spark job `number-features`: the fraud-number model's training rows (`number_features.offline`:
every scorable leg of every CN mobile number with its sliding-window features), over the lake.

Fraud caught: SIM-farm and fake customer-service numbers (the model these rows train).

The split, with the embedded path's functions at each step:
1. legs: each call and SMS partition becomes its numbers' legs (`legs`, no clock) - local;
2. the clock, a leg's event-time watermark (the running maximum of `ts` in log order), is the one
   global step: the log is cut into seq ranges, Spark takes each range's maximum `ts`, the driver
   folds them into each range's watermark before it (a few numbers), and each range computes its
   own running maximum from there (`watermark(batch, before)`, as the streaming engine does
   batch after batch);
3. features: legs are shuffled by number, so a partition holds every leg of its numbers, and
   `scored` gives those numbers' rows exactly as `offline` gives them for the whole log.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from fanzha.errors import FanzhaError
from fanzha.events import KINDS, TS_TYPE
from fanzha.investigate.funds import ms_to_dt
from fanzha.lake import kind_files
from fanzha.models import number_features as nf
from fanzha.spark.session import arrow_table, read_kind, spark_schema, to_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_TICK = pa.schema([pa.field("seq", pa.int64()), pa.field("ts", TS_TYPE)])
_CLOCK = pa.schema([pa.field("seq", pa.int64()), pa.field("clock", TS_TYPE)])
_LEG = pa.schema([f for f in nf.LEG_SCHEMA if f.name != "clock"])
OUT_SCHEMA = pa.schema(
    [
        pa.field("number", pa.string()),
        pa.field("seq", pa.int64()),
        pa.field("ts", TS_TYPE),
        *(pa.field(f, pa.float64()) for f in nf.FEATURES),
    ]
)


def _columns(kind: str) -> list[str]:
    a, b, imei, a_cty, b_cty = nf._PARTIES[kind]
    cols = ["seq", "ts", "event_id", a, b, imei, a_cty, b_cty]
    return [*cols, "duration_s", "answered"] if kind == "call" else cols


def check(lake: str) -> list[str]:
    """The call and SMS kinds the lake holds (an error if it holds neither)."""
    found = []
    for k in nf._PARTIES:
        try:
            kind_files(lake, k)
        except FanzhaError as e:
            if "holds no" not in str(e):
                raise
            continue
        found.append(k)
    if not found:
        raise FanzhaError(f"{lake}: the lake holds no call or sms events")
    return found


def run(
    spark: SparkSession,
    lake: str,
    settings: nf.WindowSettings | None = None,
    partitions: int = 8,
) -> DataFrame:
    """number, seq, ts and FEATURES of every scorable leg (a DataFrame; nothing runs until it is
    written or collected)."""
    from pyspark.sql import functions as F

    s = settings or nf.WindowSettings()
    kinds = {k: read_kind(spark, lake, k, _columns(k)) for k in check(lake)}
    ticks = None
    for df in kinds.values():
        t = df.select("seq", "ts")
        ticks = t if ticks is None else ticks.unionByName(t)
    assert ticks is not None
    top = ticks.agg(F.max("seq")).first()[0]
    width = max(1, -(-int(top) // partitions))  # seq range per clock group
    ticks = ticks.withColumn("range", F.floor(F.col("seq") / width))
    # epoch ms, not timestamps: PySpark hands those to the driver in its local time zone
    tops = ticks.groupBy("range").agg(F.max(F.unix_millis("ts")).alias("top")).collect()
    before: dict[int, dt.datetime | None] = {}
    run_max = None
    for row in sorted(tops, key=lambda r: r["range"]):
        before[int(row["range"])] = None if run_max is None else ms_to_dt(run_max)
        run_max = row["top"] if run_max is None else max(run_max, row["top"])

    def clock(t: pa.Table) -> pa.Table:
        g = arrow_table(t.select(["seq", "ts"]).to_batches(), _TICK)
        r = int(t["range"][0].as_py()) if t.num_rows else 0
        w = nf.watermark({"call": g}, before[r])  # calls and SMS' (seq, ts), in one table
        return to_spark(w.to_arrow().cast(_CLOCK))

    clocks = ticks.groupBy("range").applyInArrow(clock, spark_schema(_CLOCK))

    def leg_rows(kind: str):
        schema = KINDS[kind].schema
        cols = pa.schema([schema.field(c) for c in _columns(kind)])

        def f(batches):
            for b in batches:
                lg = nf.legs({kind: arrow_table([b], cols)}, None, clock=False)
                yield from to_spark(lg.drop("clock").to_arrow().cast(_LEG)).to_batches()

        return f

    legs = None
    for k, df in kinds.items():
        part = df.mapInArrow(leg_rows(k), spark_schema(_LEG))
        legs = part if legs is None else legs.unionByName(part)
    assert legs is not None
    legs = legs.join(clocks, on="seq").repartition(partitions, "number")
    cols = pa.schema([*_LEG, pa.field("clock", TS_TYPE)])

    def score(batches):
        lg = pl.from_arrow(arrow_table(batches, cols)).select(nf.LEG_SCHEMA.names)
        assert isinstance(lg, pl.DataFrame)
        out = nf.scored(lg.cast(nf.LEGS).sort("number", "seq"), s)  # type: ignore[arg-type]
        yield from to_spark(out.to_arrow().cast(OUT_SCHEMA)).to_batches()

    return legs.mapInArrow(score, spark_schema(OUT_SCHEMA))
