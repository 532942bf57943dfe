"""Spark job `mules`: every account's mule score, label and reasons (`mules.mule_scores`, what
`fanzha funds mules` prints), over the lake.

Fraud caught: mule accounts (卡农 cards) that receive victims' money and move it on.

The split, with the embedded path's functions at each step:
1. marks: the police cases (few) are matched to their payments on the driver (`victim_marks`)
   over the transfers they name, which Spark filters from the log;
2. cycles: each transfer goes to the partitions of both its accounts (by account); a short cycle
   A -> B [-> C] -> A also needs the transfers between A's payees and A's payers, which Spark
   finds with two joins on the distinct (payer, payee) pairs and sends to A's partition too;
   each partition finds the closing transfers of its own accounts (`closing_transfers`);
3. rows: each transfer, with whether it closes a cycle, goes again to both its accounts'
   partitions, where `account_rows` gives the detector's rows and each account's best row and
   whether it passes money on (`best_rows`, `passing`);
4. graph reasons (scatter-gather, round trips, split payments, layering) only follow transfers
   between two accounts that are not to a merchant, aggregator or exchange: the connected parts
   of that graph are the one global step, on the driver (scipy) over the distinct (payer, payee)
   pairs Spark aggregates; transfers are shuffled by part and `graph_reasons` runs per part;
5. the score: best row and graph reasons shuffled by account, `combine` per partition.
What crosses partitions: the pairs (step 4, to the driver), the cycle halo (step 2) and the
shuffles by account and by part. With all transfers the graph is one part (merchants and
aggregators join everybody: 2,360 of 2,409 accounts in a 3,000-person world); without them the
largest part has 69.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import pyarrow as pa

from fanzha.detectors.mule_account import _LOG, _table, account_rows, closing_transfers
from fanzha.errors import FanzhaError
from fanzha.events import KINDS
from fanzha.investigate.mules import (
    MuleScoreSettings,
    best_rows,
    combine,
    graph_reasons,
    passing,
    victim_marks,
)
from fanzha.lake import kind_files
from fanzha.spark.session import arrow_table, read_kind, spark_schema, to_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_T = pa.schema([KINDS["transfer"].schema.field(c) for c in _LOG])
_KEYED = pa.schema([pa.field("key", pa.string()), *_T])
_FLAGGED = pa.schema([*_KEYED, pa.field("closes", pa.bool_())])
_PARTED = pa.schema([pa.field("part", pa.int64()), *_T, pa.field("a_passes", pa.bool_()),
                     pa.field("b_passes", pa.bool_())])  # fmt: skip
_SEQ = pa.schema([pa.field("seq", pa.int64())])
_BEST = pa.schema([pa.field("account", pa.string()), pa.field("row_score", pa.float64()),
                   pa.field("row_reasons", pa.string()), pa.field("passes", pa.bool_())])  # fmt: skip
_EXTRA = pa.schema([pa.field("account", pa.string()), pa.field("why", pa.string()),
                    pa.field("w", pa.float64())])  # fmt: skip
_SCORE_IN = pa.schema([*_BEST, pa.field("why", pa.string()), pa.field("w", pa.float64())])
OUT_SCHEMA = pa.schema([pa.field("account", pa.string()), pa.field("score", pa.float64()),
                        pa.field("label", pa.int8()), pa.field("reasons", pa.string())])  # fmt: skip


def check(lake: str) -> None:
    """The lake must hold transfers (cases are optional: without them no victim is known)."""
    kind_files(lake, "transfer")


def _cases(spark: SparkSession, lake: str) -> pl.DataFrame | None:
    try:
        kind_files(lake, "case")
    except FanzhaError as e:  # no case events: no victim is known
        if "holds no" not in str(e):
            raise
        return None
    schema = KINDS["case"].schema
    cases = pl.from_arrow(arrow_table(read_kind(spark, lake, "case", schema.names).toArrow()
                                      .to_batches(), schema))  # fmt: skip
    assert isinstance(cases, pl.DataFrame)
    return cases


def _homes(t: pa.Table) -> tuple[pl.DataFrame, pl.Series]:
    """A partition's transfers (once each) and the accounts it is the home of."""
    df = pl.from_arrow(t)
    assert isinstance(df, pl.DataFrame)
    homes = df["key"].unique()
    return df.drop("key").unique("seq").sort("seq"), homes


def _components(pairs: pa.Table) -> pl.DataFrame:
    """account, part: the connected parts of the graph of (a, b) pairs."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    p = pl.from_arrow(pairs)
    assert isinstance(p, pl.DataFrame)
    acc = pl.concat([p["a"], p["b"]]).unique().sort().to_frame("account").with_row_index("i")
    ix = p.join(acc.rename({"account": "a", "i": "ia"}), on="a").join(
        acc.rename({"account": "b", "i": "ib"}), on="b"
    )
    n = acc.height
    m = coo_matrix((np.ones(ix.height), (ix["ia"].to_numpy(), ix["ib"].to_numpy())), shape=(n, n))
    _, label = connected_components(m, directed=False)
    return acc.select("account", part=pl.Series(label.astype(np.int64)))


def run(
    spark: SparkSession,
    lake: str,
    settings: MuleScoreSettings | None = None,
    partitions: int = 8,
) -> DataFrame:
    """account, score, label, reasons (`mule_scores`) of every account in the lake's transfers."""
    from pyspark.sql import functions as F

    s = settings or MuleScoreSettings()
    d = s.detector
    check(lake)
    t = read_kind(spark, lake, "transfer", list(_LOG))
    cols = [F.col(c) for c in _LOG]

    # 1. marks, on the driver, over the transfers the cases name
    cases = _cases(spark, lake)
    marks = victim_marks(_table(None), None)
    if cases is not None and cases.height:
        ids = cases["transfer_id"].drop_nulls().unique().to_list()
        payers = cases["victim_account"].drop_nulls().unique().to_list()
        named = t.where(F.col("transfer_id").isin(ids) | F.col("payer_account").isin(payers))
        marks = victim_marks(_table(named.toArrow()), cases)

    # 2. cycles: each account's transfers and those between its payees and its payers
    between = t.where(F.col("payer_account") != F.col("payee_account"))
    keyed = between.select(F.col("payee_account").alias("key"), *cols).unionByName(
        between.select(F.col("payer_account").alias("key"), *cols)
    )
    pairs = between.select(
        F.col("payer_account").alias("a"), F.col("payee_account").alias("b")
    ).distinct()
    halo = (
        pairs.select(F.col("a").alias("key"), F.col("b").alias("payer_account"))  # A -> B
        .join(between, on="payer_account")  # B -> C
        .join(
            pairs.select(F.col("a").alias("payee_account"), F.col("b").alias("key")),
            on=["payee_account", "key"],
        )  # C -> A
        .select("key", *cols)
    )

    def closing(batches):
        log, homes = _homes(arrow_table(batches, _KEYED))
        if not log.height:
            return
        c = closing_transfers(log, d).filter(pl.col.account.is_in(homes.implode()))
        yield from c.select("seq").to_arrow().cast(_SEQ).to_batches()

    closes = (
        keyed.unionByName(halo)
        .repartition(partitions, "key")
        .mapInArrow(closing, spark_schema(_SEQ))
        .withColumn("closes", F.lit(True))
    )

    # 3. the detector's rows of each account, with the closing transfers

    def rows(batches):
        tb = arrow_table(batches, _FLAGGED)
        log, homes = _homes(tb.select(_KEYED.names))
        if not log.height:
            return
        flags = pl.from_arrow(tb.select(["seq", "closes"]))
        assert isinstance(flags, pl.DataFrame)
        shut = flags.filter(pl.col.closes.fill_null(False))["seq"].unique()
        ring = log.filter(pl.col.seq.is_in(shut.implode())).select(
            "seq", account="payee_account", cp="payer_account"
        )
        r = account_rows(log, marks, d, closing=ring)
        r = r.filter(pl.col.account.is_in(homes.implode())) if r.height else r
        if not r.height:
            return
        out = best_rows(r).join(passing(r, s).with_columns(passes=pl.lit(True)), on="account",
                                how="left").with_columns(pl.col.passes.fill_null(False))  # fmt: skip
        yield from to_spark(out.to_arrow().cast(_BEST)).to_batches()

    best = (
        keyed.join(closes, on="seq", how="left")
        .repartition(partitions, "key")
        .mapInArrow(rows, spark_schema(_BEST))
        .cache()  # read twice: the pass-through accounts (step 4) and the scores (step 5)
    )

    # 4. graph reasons per connected part of the transfers between accounts, not to merchants
    edges = between.where(~F.coalesce(F.col("payee_type").isin(list(d.not_mules)), F.lit(False)))
    parts_pd = _components(
        edges.select(F.col("payer_account").alias("a"), F.col("payee_account").alias("b"))
        .distinct()
        .toArrow()
    )
    parts = spark.createDataFrame(parts_pd.to_arrow())  # type: ignore[arg-type]
    passes = best.where("passes").select("account")
    parted = (
        edges.join(parts.withColumnRenamed("account", "payer_account"), on="payer_account")
        .join(passes.select(F.col("account").alias("payer_account"),
                            F.lit(True).alias("a_passes")), on="payer_account", how="left")
        .join(passes.select(F.col("account").alias("payee_account"),
                            F.lit(True).alias("b_passes")), on="payee_account", how="left")
        .select("part", *cols, "a_passes", "b_passes")
    )  # fmt: skip

    def reasons(batches):
        df = pl.from_arrow(arrow_table(batches, _PARTED))
        assert isinstance(df, pl.DataFrame)
        if not df.height:
            return
        fast = pl.concat([
            df.filter(pl.col.a_passes.fill_null(False)).select(account="payer_account"),
            df.filter(pl.col.b_passes.fill_null(False)).select(account="payee_account"),
        ]).unique()  # fmt: skip
        out = graph_reasons(df.select(list(_LOG)).sort("seq"), fast, s)
        yield from out.select(_EXTRA.names).to_arrow().cast(_EXTRA).to_batches()

    extra = parted.repartition(partitions, "part").mapInArrow(reasons, spark_schema(_EXTRA))

    # 5. every account, its best row and its graph reasons, by account
    accounts = (
        t.select(F.col("payer_account").alias("account"))
        .unionByName(t.select(F.col("payee_account").alias("account")))
        .where(F.col("account").isNotNull())
        .distinct()
    )
    null = {c: F.lit(None).cast(typ) for c, typ in (("row_score", "double"), ("row_reasons", "string"),
            ("passes", "boolean"), ("why", "string"), ("w", "double"))}  # fmt: skip
    rows_in = (
        accounts.select("account", *(v.alias(c) for c, v in null.items()))
        .unionByName(best.select("*", null["why"].alias("why"), null["w"].alias("w")))
        .unionByName(
            extra.select("account", *(null[c].alias(c) for c in ("row_score", "row_reasons",
                                                                  "passes")), "why", "w"))
    )  # fmt: skip

    def score(batches):
        df = pl.from_arrow(arrow_table(batches, _SCORE_IN))
        assert isinstance(df, pl.DataFrame)
        if not df.height:
            return
        acc = df.select("account").unique()
        b = df.filter(pl.col.row_score.is_not_null()).select("account", "row_score", "row_reasons")
        e = df.filter(pl.col.w.is_not_null()).select("account", "why", "w")
        out = combine(acc, b, e, s)
        yield from to_spark(out.to_arrow().cast(OUT_SCHEMA)).to_batches()

    return rows_in.repartition(partitions, "account").mapInArrow(score, spark_schema(OUT_SCHEMA))
