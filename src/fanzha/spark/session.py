"""A Spark session for fanzha's jobs, and the lake's event kinds as Spark DataFrames."""

from __future__ import annotations

import glob
import os
import shutil
import sys
from typing import TYPE_CHECKING

import pyarrow as pa

from fanzha.errors import FanzhaError
from fanzha.events import KINDS
from fanzha.lake import kind_files

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def java_home() -> str | None:
    """A Java 17+ for Spark: $JAVA_HOME, the `java` on PATH, or Debian's /usr/lib/jvm."""
    if os.environ.get("JAVA_HOME") and os.path.isfile(f"{os.environ['JAVA_HOME']}/bin/java"):
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    if java:
        return os.path.dirname(os.path.dirname(os.path.realpath(java)))
    found = sorted(glob.glob("/usr/lib/jvm/*/bin/java"))
    return os.path.dirname(os.path.dirname(found[-1])) if found else None


def spark_home() -> str:
    """The Spark distribution inside the pyspark wheel (its jars and bin/spark-class)."""
    try:
        import pyspark
    except ImportError:
        raise FanzhaError(
            "pyspark is not installed: pip install 'fanzha[spark]' (make test installs it)"
        ) from None
    return os.path.dirname(pyspark.__file__)


def session(master: str, partitions: int = 8, app: str = "fanzha") -> SparkSession:
    """A session on `master` (local[N], spark://host:port, yarn, k8s://...) whose Python workers
    run this interpreter (so fanzha is importable on them), with UTC as the session time zone."""
    home = java_home()
    if home is None:
        raise FanzhaError("Spark needs Java 17 or newer: set JAVA_HOME or install openjdk-17-jre")
    os.environ.setdefault("JAVA_HOME", home)
    os.environ.setdefault("SPARK_HOME", spark_home())
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")  # UTC, not INT96
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.default.parallelism", str(partitions))
        .config("spark.pyspark.python", sys.executable)
        .config("spark.pyspark.driver.python", sys.executable)
        .getOrCreate()
    )


def _uri(lake: str, path: str) -> str:
    if "://" in lake:
        return f"{lake.split('://', 1)[0]}://{path}"
    return f"file://{path}"


def read_kind(spark: SparkSession, lake: str, kind: str, columns: list[str]) -> DataFrame:
    """The lake's `kind` events (only the files up to the manifest's seq; columns a file
    predates are null), as `columns` of the kind's schema."""
    from pyspark.sql.pandas.types import from_arrow_schema

    schema = KINDS[kind].schema
    paths = [_uri(lake, f.path) for f in kind_files(lake, kind)]
    return spark.read.schema(from_arrow_schema(schema)).parquet(*paths).select(*columns)


def arrow_table(batches, schema: pa.Schema) -> pa.Table:
    """A Spark partition's Arrow batches as one table with fanzha's types (Spark hands
    timestamps over in microseconds)."""
    batches = list(batches)
    if not batches:
        return schema.empty_table()
    return pa.Table.from_batches(batches).select(schema.names).cast(schema)


def to_spark(t: pa.Table) -> pa.Table:
    """A table as Spark takes it back from a UDF: timestamps in microseconds, UTC."""
    fields = [
        pa.field(f.name, pa.timestamp("us", tz="UTC")) if pa.types.is_timestamp(f.type) else f
        for f in t.schema
    ]
    return t.cast(pa.schema(fields))


def spark_schema(schema: pa.Schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(to_spark(schema.empty_table()).schema)
