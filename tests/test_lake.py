"""The Parquet event lake: kind/day partitions other tools read, incremental export, and a load
that reproduces the log on either backend."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fanzha.cli import app
from fanzha.errors import FanzhaError
from fanzha.events import KINDS
from fanzha.ingest import Source, ingest
from fanzha.lake import MANIFEST, export_lake, has_kind, lake_files, load_lake, open_lake
from fanzha.store import open_store
from fanzha.testing import Pools, as_log, random_events, rows_for_csv, write_csv

KINDS_USED = ("call", "sms", "transfer")


def write_files(d: Path, seed: int, n: int) -> list[Source]:
    rng = random.Random(seed)
    pools = Pools(rng, phones=60)
    out = []
    for k in KINDS_USED:
        t = random_events(k, n, rng, pools=pools, span=dt.timedelta(days=4))
        p = d / f"{k}-{seed}.csv"
        write_csv(str(p), rows_for_csv(t), columns=t.column_names)
        out.append(Source(str(p), k))
    return out


def log_of(store) -> dict[str, list[dict]]:
    return {k: store.read_events(k, 0, 10**12).to_pylist() for k in KINDS}


@pytest.fixture
def source(tmp_path):
    """A DuckDB store with two ingest batches of calls, SMS and transfers over four days."""
    d = tmp_path / "in"
    d.mkdir()
    files = [write_files(d, 1, 120), write_files(d, 2, 80)]
    s = open_store(str(tmp_path / "source.duckdb"))
    for f in files:
        ingest(s, f)
    yield s, files
    s.close()


def test_files_are_partitioned_by_kind_and_day_and_duckdb_reads_them(source, tmp_path):
    store, _ = source
    lake = tmp_path / "lake"
    got = export_lake(store, str(lake), chunk=250)
    counts = {k: n for k, n in store.count_events().items() if n}
    assert got["events"] == counts and got["to_seq"] == store.max_seq()
    files, junk = lake_files(*open_lake(str(lake)))
    assert not junk and {f.kind for f in files} == set(KINDS_USED)
    assert len({f.day for f in files}) >= 4 and len({f.first for f in files}) == 3  # 3 chunks
    for f in files:
        t = pq.read_table(f.path)
        days = {ts.date().isoformat() for ts in t["ts"].to_pylist()}
        seqs = t["seq"].to_pylist()
        assert days == {f.day} and seqs == sorted(seqs) and f.first <= seqs[0]
        assert seqs[-1] <= f.last and t.schema.names == KINDS[f.kind].schema.names
    con = duckdb.connect()
    for k, n in counts.items():
        [row] = con.sql(f"""SELECT count(*), count(DISTINCT event_id), count(DISTINCT kind),
            bool_and(CAST(ts AT TIME ZONE 'UTC' AS DATE) = day)
            FROM read_parquet('{lake}/kind={k}/*/*.parquet', hive_partitioning = true)""").fetchall()
        assert row == (n, n, 1, True)
    total = con.sql(f"""SELECT kind, count(*) FROM read_parquet('{lake}/*/*/*.parquet',
        hive_partitioning = true, union_by_name = true) GROUP BY kind""").fetchall()
    assert dict(total) == counts


def test_export_is_incremental_by_log_position(source, tmp_path):
    store, _ = source
    lake = str(tmp_path / "lake")
    first = export_lake(store, lake)
    before = {f.path: Path(f.path).stat().st_mtime_ns for f in lake_files(*open_lake(lake))[0]}
    again = export_lake(store, lake)
    assert again["events"] == {} and again["files"] == 0
    assert {f.path: Path(f.path).stat().st_mtime_ns
            for f in lake_files(*open_lake(lake))[0]} == before
    d = tmp_path / "more"
    d.mkdir()
    ingest(store, write_files(d, 3, 30))
    more = export_lake(store, lake)
    assert more["from_seq"] == first["to_seq"] and more["to_seq"] == store.max_seq()
    new = [f for f in lake_files(*open_lake(lake))[0] if f.path not in before]
    assert new and all(f.first == first["to_seq"] + 1 for f in new)
    manifest = orjson.loads((Path(lake) / MANIFEST).read_bytes())
    assert manifest["seq"] == store.max_seq()
    assert manifest["events"] == {k: n for k, n in store.count_events().items() if n}


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_loading_the_lake_reproduces_the_log(source, tmp_path, backend, request):
    store, files = source
    lake = str(tmp_path / "lake")
    export_lake(store, lake, chunk=200)
    url = (str(tmp_path / "copy.duckdb") if backend == "duckdb"
           else request.getfixturevalue("pg_db"))
    with open_store(url) as copy:
        got = load_lake(copy, lake)
        assert got["to_seq"] == store.max_seq() and got["chunks"] == 3
        assert log_of(copy) == log_of(store)  # same seq, ids, batch ids and content
        assert load_lake(copy, lake)["events"] == {}  # re-running adds nothing
        again = ingest(copy, files[0]).to_dict()  # restored events deduplicate new ones
        assert again["accepted"] == 0 and again["duplicate"] == 360
        assert copy.ingest_batches()[-1]["batch_id"] == 3
    # incremental: what the source adds later follows into the copy
    d = tmp_path / "more"
    d.mkdir()
    ingest(store, write_files(d, 4, 20))
    export_lake(store, lake)
    with open_store(url) as copy:
        assert load_lake(copy, lake)["events"] == {k: 20 for k in KINDS_USED}
        assert log_of(copy) == log_of(store)


def test_leftovers_of_a_crashed_export_are_ignored_then_removed(source, tmp_path):
    store, _ = source
    lake = tmp_path / "lake"
    top = export_lake(store, str(lake))["to_seq"]
    stray = lake / "kind=call/day=2026-03-01" / f"part-{top + 1:012d}-{top + 50:012d}.parquet"
    stray.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(store.read_events("call", 0, 5), stray)
    tmp = stray.parent / ".part-x.parquet.tmp"
    tmp.write_bytes(b"half a file")
    with open_store(str(tmp_path / "copy.duckdb")) as copy:
        assert load_lake(copy, str(lake))["to_seq"] == top
    assert export_lake(store, str(lake))["removed_leftovers"] == 2
    assert not stray.exists() and not tmp.exists()


def test_a_lake_that_is_not_this_logs_is_refused(source, tmp_path):
    store, _ = source
    lake = str(tmp_path / "lake")
    export_lake(store, lake)
    with open_store(str(tmp_path / "other.duckdb")) as other:
        d = tmp_path / "other"
        d.mkdir()
        ingest(other, write_files(d, 9, 10))
        with pytest.raises(FanzhaError, match="another log"):
            load_lake(other, lake)
        with pytest.raises(FanzhaError, match="another log"):
            export_lake(other, lake)


def test_bad_lakes_get_a_clear_reason(source, tmp_path):
    store, _ = source
    with open_store(str(tmp_path / "copy.duckdb")) as copy:
        with pytest.raises(FanzhaError, match="no such lake"):
            load_lake(copy, str(tmp_path / "nowhere"))
        (tmp_path / "empty").mkdir()
        with pytest.raises(FanzhaError, match="not a fanzha lake"):
            load_lake(copy, str(tmp_path / "empty"))
        lake = tmp_path / "lake"
        export_lake(store, str(lake))
        (lake / MANIFEST).write_text('{"format": 99, "seq": 1}')
        with pytest.raises(FanzhaError, match="not a fanzha lake manifest"):
            load_lake(copy, str(lake))
        export_lake(store, str(tmp_path / "lake2"))
        victim = lake_files(*open_lake(str(tmp_path / "lake2")))[0][0]
        Path(victim.path).write_bytes(b"PAR1 not really")
        with pytest.raises(FanzhaError, match=r"part-.*cannot read"):
            load_lake(copy, str(tmp_path / "lake2"))
        assert copy.max_seq() == 0  # nothing half-loaded
        export_lake(store, str(tmp_path / "lake3"))
        odd = next(Path(tmp_path / "lake3").glob("kind=sms/*/part-*.parquet"))
        t = pq.read_table(odd)
        pq.write_table(t.append_column("colour", pa.array(["red"] * t.num_rows)), odd)
        with pytest.raises(FanzhaError, match="unknown sms field"):
            load_lake(copy, str(tmp_path / "lake3"))
    with pytest.raises(FanzhaError, match="not a location"):
        open_lake("nosuchscheme://bucket/x")


def test_the_lake_commands(cli, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for src in write_files(d, 5, 40):
        cli("ingest", src.path)
    lake = str(tmp_path / "lake")
    r = cli("lake", "export", lake, "--json")
    assert orjson.loads(r.output)["events"] == {k: 40 for k in KINDS_USED}
    assert "up to date" in cli("lake", "export", lake).output
    other = tmp_path / "copy.duckdb"
    r = cli.runner.invoke(app, ["lake", "load", lake, "--db", str(other)])
    assert r.exit_code == 0 and "loaded 120 events" in r.output
    failed = cli("lake", "load", str(tmp_path / "nowhere"), ok=False)
    assert failed.exit_code == 2 and "no such lake" in failed.output


def test_every_kind_goes_through_the_lake_into_postgres_unchanged(tmp_path, pg_db):
    rng = random.Random(11)
    pools = Pools(rng, phones=40)
    events = {k: random_events(k, 25, rng, pools=pools, span=dt.timedelta(days=3)) for k in KINDS}
    log = as_log(events)
    lake = str(tmp_path / "lake")
    with open_store(str(tmp_path / "source.duckdb")) as s:
        s.append_log(log, {"test": True})
        export_lake(s, lake, chunk=100)
        want = log_of(s)
    with open_store(pg_db) as s:
        assert load_lake(s, lake)["events"] == {k: 25 for k in KINDS}
        got = log_of(s)
    for k in KINDS:  # every kind's types survive Parquet and PostgreSQL
        assert got[k] == want[k] and len(got[k]) == 25, k


def test_has_kind_tells_an_absent_kind_from_a_missing_lake(source, tmp_path):
    store, _ = source
    lake = str(tmp_path / "lake")
    export_lake(store, lake)
    assert has_kind(lake, "call") and not has_kind(lake, "waybill_access")
    with pytest.raises(FanzhaError, match="no such lake"):
        has_kind(str(tmp_path / "nowhere"), "call")
