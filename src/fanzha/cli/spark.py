"""`fanzha spark JOB`: the whole-log investigations on Apache Spark over the Parquet lake."""

from __future__ import annotations

import os
import re
import socket
import time
from typing import Annotated

import typer

from fanzha.cli._app import JsonOption, app, fail, out, print_json
from fanzha.errors import FanzhaError
from fanzha.spark import JOBS


def _reachable(master: str) -> None:
    """A spark:// master that does not answer: fail now, not after Spark's minute of retries."""
    for hostport in re.findall(r"([^,/]+):(\d+)", master.removeprefix("spark://")):
        try:
            socket.create_connection((hostport[0], int(hostport[1])), timeout=5).close()
            return
        except OSError:
            continue
    fail(f"cannot reach the Spark master at {master}")


def _spark_error(e: Exception) -> FanzhaError:
    """Spark's error (a task's FanzhaError comes back inside a Java stack trace) in one line."""
    text = str(e)
    m = re.search(r"FanzhaError: (.+)", text)
    first = m[1] if m else next((ln for ln in text.splitlines() if ln.strip()), type(e).__name__)
    return FanzhaError(f"spark: {first.strip()}")


def _ring_signals(db: str):
    """The registration_risk detector's signals, from a store (what `load` reads for rings)."""
    import polars as pl

    from fanzha.investigate.rings import DETECTOR
    from fanzha.store import open_store

    with open_store(db, read_only=True) as s:
        sig = pl.from_arrow(s.signals())
    assert isinstance(sig, pl.DataFrame)
    return sig.filter(pl.col.detector == DETECTOR) if sig.height else sig


@app.command("spark")
def spark_cmd(
    job: Annotated[str, typer.Argument(help=f"The investigation: {', '.join(JOBS)}.")],
    master: Annotated[
        str,
        typer.Option(
            "--master",
            envvar="FANZHA_SPARK_MASTER",
            help="Spark master: local[N], spark://host:port, yarn, k8s://...",
        ),
    ] = "local[2]",
    lake: Annotated[
        str, typer.Option("--lake", help="The Parquet lake (fanzha lake export) to read.")
    ] = "lake",
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", help="Write the rows as Parquet to this new directory."),
    ] = None,
    partitions: Annotated[
        int, typer.Option(help="Shuffle partitions (tasks per step): 2-4 per executor core.")
    ] = 8,
    fraud_type: Annotated[
        str, typer.Option(help="leaks: the fraud type whose victims' data is traced.")
    ] = "fake_customer_service",
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="rings: read the registration_risk detector's signals from this store "
            "(the lake holds events only); without it every account's own risk is 0.",
        ),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Run one investigation on Spark with the embedded path's functions; print or write its rows.

    number-features: the fraud-number model's training rows (number, seq, ts, features).
    trace: each police case traced through mule accounts (case_id, measure, key, fen).
    mules: every account's mule score (account, score, label, reasons).
    rings: every account's ring and label (account, ..., cluster, block, score, label).
    leaks: the touchpoints the victims of --fraud-type passed (tp, ..., p_value)."""
    if job not in JOBS:
        fail(f"unknown job {job!r}: one of {', '.join(JOBS)}")
    if partitions < 1:
        fail("--partitions must be at least 1")
    from fanzha.spark import leaks, mules, number_features, rings, trace

    jobs = {"number-features": number_features, "trace": trace, "mules": mules, "rings": rings,
            "leaks": leaks}  # fmt: skip
    kwargs: dict = {}
    if job == "leaks":
        from fanzha.taxonomy import FRAUD_TYPE_CODES

        if fraud_type not in FRAUD_TYPE_CODES:
            fail(f"--fraud-type must be one of {', '.join(FRAUD_TYPE_CODES)}")
        kwargs["fraud_type"] = fraud_type
    if job == "rings" and db is not None:
        kwargs["signals"] = _ring_signals(db)
    jobs[job].check(lake)  # no lake, or not the events the job needs: one line, before Spark
    if output is not None and os.path.exists(output):
        fail(f"{output} exists: give a new directory")
    if master.startswith("spark://"):
        _reachable(master)

    from fanzha.spark.session import session

    t0 = time.perf_counter()
    spark = session(master, partitions)
    spark.sparkContext.setLogLevel("ERROR")
    try:
        df = jobs[job].run(spark, lake, partitions=partitions, **kwargs)
        if output is not None:
            df.write.parquet("file://" + os.path.abspath(output) if "://" not in output else output)
            rows = spark.read.parquet(output).count()
        else:
            rows = df.count()
    except FanzhaError:
        raise
    except Exception as e:  # Py4J and PySpark errors: the cause in one line
        raise _spark_error(e) from None
    finally:
        spark.stop()
    result = {
        "job": job,
        "master": master,
        "lake": lake,
        "rows": rows,
        "output": output,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    if json:
        print_json(result)
        return
    where = f" written to {output}" if output else ""
    out.print(f"{job}: {rows} rows{where} ({result['seconds']} s on {master})")
