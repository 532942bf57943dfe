"""`fanzha spark`: each job on Spark gives exactly the embedded path's rows on a simulated world
(local[2], and a standalone master with two workers on loopback), and bad lakes fail in one line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import polars as pl
import pytest

from fanzha.errors import FanzhaError
from fanzha.ingest import Source, ingest
from fanzha.lake import export_lake
from fanzha.spark import leaks, mules, number_features, rings, trace
from fanzha.store import open_store
from fanzha.testing import rows_for_csv, write_csv
from helpers import fanzha_cmd
from scenario import money

JOBS = {"number-features": number_features, "trace": trace, "mules": mules, "rings": rings,
        "leaks": leaks}  # fmt: skip
KEYS = {"number-features": ["number", "seq"], "trace": ["case_id", "measure", "key"],
        "mules": ["account"], "rings": ["account"], "leaks": ["tp"]}  # fmt: skip
AT_LEAST = {"leaks": 20}  # rows the world must give for the comparison to mean anything


def same_rows(job: str, got: pl.DataFrame, expected: pl.DataFrame) -> None:
    """Equal frames after sorting by the job's key, every value exact: the features are rounded
    to 6 decimals by `features` itself, so the floats compare bit for bit; Spark hands
    timestamps back in microseconds, cast to fanzha's milliseconds first."""
    got = got.with_columns(
        pl.col(c).dt.cast_time_unit("ms") for c, t in got.schema.items() if t == pl.Datetime
    )
    assert got.columns == expected.columns
    assert got.height == expected.height
    g, e = got.sort(KEYS[job]), expected.sort(KEYS[job])
    assert g.select(KEYS[job]).n_unique() == g.height  # the key is a key: the sort is total
    assert g.equals(e), g.join(e, on=KEYS[job], how="anti").head()


@pytest.mark.parametrize("job", JOBS)
def test_local_spark_gives_the_embedded_rows(job, world, spark):
    expected = world["embedded"][job]
    assert expected.height >= AT_LEAST.get(job, 100), "the world gives too few rows to compare"
    got = pl.from_arrow(JOBS[job].run(spark, world["lake"], partitions=4).toArrow())
    same_rows(job, got, expected)


def test_the_world_has_cases_and_traced_money(world):
    t = world["embedded"]["trace"]
    assert world["cases"] >= 5
    assert set(t["measure"]) == {"frozen", "traced"}
    assert t["case_id"].n_unique() >= 5


def test_the_world_has_mules_rings_and_victims_to_compare(world):
    """The comparisons cover the steps that cross partitions: victims, cycles, graph reasons,
    clusters, touchpoints victims passed more than other customers."""
    m, r, lk = (world["embedded"][j] for j in ("mules", "rings", "leaks"))
    assert m["label"].sum() >= 10
    for words in ("confirmed victim", "short cycle", "split payments", "scatter-gather", "chain"):
        assert m["reasons"].str.contains(words).any(), words
    assert r["cluster"].n_unique() >= 10 and r["label"].n_unique() >= 3
    assert (lk["victims_passed"] >= 2).sum() >= 5 and lk["p_value"].min() < 0.05


@pytest.mark.slow
def test_standalone_cluster_with_two_workers_gives_the_embedded_rows(world, tmp_path, need_spark):
    from fanzha.spark.local_cluster import LocalSparkCluster

    # the driver in China Standard Time: what it folds must not depend on its local time zone
    driver_env = {**os.environ, "TZ": "Asia/Shanghai"}
    with LocalSparkCluster(workers=2) as cluster:
        for job in JOBS:
            out = tmp_path / job
            r = subprocess.run(
                [*fanzha_cmd(), "spark", job, "--master", cluster.url, "--lake", world["lake"],
                 "-o", str(out), "--partitions", "4"],
                capture_output=True, text=True, timeout=300, env=driver_env,
            )  # fmt: skip
            assert r.returncode == 0, r.stderr[-2000:]
            assert f"{job}: {world['embedded'][job].height} rows written" in r.stdout
            got = pl.read_parquet(out / "*.parquet")
            same_rows(job, got, world["embedded"][job])


def _lake_of(tmp: Path, kinds: dict) -> str:
    """A lake of just these events."""
    sources = []
    for name, t in kinds.items():
        p = tmp / f"{name}.csv"
        write_csv(str(p), rows_for_csv(t), columns=t.column_names)
        sources.append(Source(str(p), name))
    with open_store(str(tmp / "db.duckdb")) as s:
        ingest(s, sources)
        export_lake(s, str(tmp / "lake"))
    return str(tmp / "lake")


def test_bad_lakes_are_one_line_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    only_transfers = _lake_of(tmp_path, {"transfer": money(3)["transfer"]})
    cases = [
        ("trace", str(tmp_path / "nowhere"), "no such lake"),
        ("trace", str(tmp_path / "empty"), "not a fanzha lake"),
        ("trace", only_transfers, "holds no case events"),
        ("number-features", only_transfers, "holds no call or sms events"),
        ("rings", only_transfers, "holds no registration events"),
        ("leaks", only_transfers, "holds no case events"),
    ]
    for job, lake, words in cases:
        with pytest.raises(FanzhaError, match=words):
            JOBS[job].check(lake)
        r = subprocess.run(
            [*fanzha_cmd(), "spark", job, "--lake", lake],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert r.returncode == 2
        assert r.stderr.strip().count("\n") == 0 and words in r.stderr, r.stderr


def test_unknown_job_and_unreachable_master(world):
    for args, words in (
        (["nope"], "unknown job 'nope'"),
        (["trace", "--master", "spark://127.0.0.1:9"], "cannot reach the Spark master"),
    ):
        r = subprocess.run(
            [*fanzha_cmd(), "spark", *args, "--lake", world["lake"]],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert r.returncode == 2 and words in r.stderr, r.stderr
