"""fanzha publish + fanzha worker on a real NATS JetStream broker give the alerts of the embedded
path (fanzha ingest + fanzha run) on the same events: with two workers, with a worker killed by
SIGKILL mid-stream and with the broker restarted mid-stream."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest

from fanzha.engine.runner import Engine
from fanzha.ingest import Source, ingest
from fanzha.store import open_store
from fanzha.stream.local_nats import free_port
from fanzha.stream.publish import publish
from fanzha.testing import rows_for_csv, write_csv
from helpers import fanzha_cmd
from scenario import city, money

BATCH = 1000  # engine micro-batch: slices end inside micro-batches, as they will in production
SLICE = 400  # events per message: the world below makes about a dozen slices


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[list[str], tuple[list[dict], list[str]]]:
    """The files of a small world and the embedded path's (alerts, signal ids) on them."""
    tmp = tmp_path_factory.mktemp("world")
    paths = _world(tmp)
    return paths, _embedded(tmp, paths)


def _publish(paths: list[str], broker: str, db: str) -> None:
    s = open_store(db)
    try:
        publish(s, [Source(p, Path(p).stem) for p in paths], broker, slice_events=SLICE)
    finally:
        s.close()


def _world(tmp: Path) -> list[str]:
    paths = []
    for name, t in {**city(3), **money(3)}.items():
        p = tmp / f"{name}.csv"
        write_csv(str(p), rows_for_csv(t), columns=t.column_names)
        paths.append(str(p))
    return paths


def _embedded(tmp: Path, paths: list[str]) -> tuple[list[dict], list[str]]:
    s = open_store(str(tmp / "embedded.duckdb"))
    try:
        ingest(s, [Source(p, Path(p).stem) for p in paths])
        Engine(s, batch_size=BATCH).run()
        return _outputs(s)
    finally:
        s.close()


def _outputs(s) -> tuple[list[dict], list[str]]:
    alerts = s.alerts().to_pylist()
    return alerts, sorted(s.signals()["signal_id"].to_pylist())


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([*fanzha_cmd(), *args], capture_output=True, text=True, timeout=120)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def _worker(broker: str, db: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            *fanzha_cmd(),
            "worker",
            "--broker",
            broker,
            "--db",
            db,
            "--ack-wait",
            "2",
            "--until-idle",
            "0.5",
            "--batch-size",
            str(BATCH),
            "--progress-lines",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _first_commit(p: subprocess.Popen) -> None:
    """Block until the worker has committed a slice (it prints one line per commit)."""
    assert p.stdout is not None
    for line in p.stdout:
        if line.startswith("committed slice"):
            return
    raise AssertionError(f"worker ended before committing: {p.stderr.read() if p.stderr else ''}")


def _finish(p: subprocess.Popen) -> str:
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    return out


def _streamed(db: str) -> tuple[list[dict], list[str]]:
    s = open_store(db)
    try:
        assert s.max_seq() == s.load_engine()[0], "the engine did not catch up with the log"
        return _outputs(s)
    finally:
        s.close()


def test_publish_quarantines_bad_rows_and_streams_only_valid_ones(tmp_path, broker, db):
    p = tmp_path / "calls.csv"
    p.write_text(
        "ts,主叫,callee,duration_s\n"
        "2026-03-01T10:00:00Z,13800138000,17012345678,30\n"
        "not a time,13800138000,17012345678,30\n"
        "2026-03-01T10:05:00Z,13800138001,17012345678,-4\n"
        "2026-03-01T10:06:00Z,13800138002,17012345678,12\n"
    )
    r = _run(
        "publish", str(p), "--map", "caller=主叫", "--broker", broker.url, "--db", db, "--json"
    )
    assert '"quarantined": 2' in r.stdout and '"accepted": 2' in r.stdout
    s = open_store(db)
    try:
        assert s.quarantine().num_rows == 2
        assert s.max_seq() == 0  # nothing went into the log: valid events are on the stream
    finally:
        s.close()
    w = _run("worker", "--broker", broker.url, "--db", db, "--until-idle", "0.5", "--json")
    assert '"appended": 2' in w.stdout
    s = open_store(db)
    try:
        calls = s.read_events("call", 0, s.max_seq())
        assert calls["caller"].to_pylist() == ["13800138000", "13800138002"]
    finally:
        s.close()


def test_two_workers_give_the_embedded_alerts(world, broker, pg_db):
    paths, expected = world
    assert expected[0], "the world must raise alerts for the comparison to mean anything"
    _publish(paths, broker.url, pg_db)
    workers = [_worker(broker.url, pg_db) for _ in range(2)]
    outs = [_finish(w) for w in workers]
    assert sum(o.count("committed slice") for o in outs) >= 10
    assert _streamed(pg_db) == expected


def test_republishing_adds_no_alert(world, broker, db):
    paths, expected = world
    for _ in range(2):
        _publish(paths, broker.url, db)
        _finish(_worker(broker.url, db))
    assert _streamed(db) == expected


def test_a_killed_worker_loses_and_doubles_nothing(world, broker, pg_db):
    paths, expected = world
    _publish(paths, broker.url, pg_db)
    victim = _worker(broker.url, pg_db)
    _first_commit(victim)
    other = _worker(broker.url, pg_db)
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate()
    _finish(other)
    assert _streamed(pg_db) == expected


def test_workers_resume_after_the_broker_restarts(world, broker, db):
    paths, expected = world
    _publish(paths, broker.url, db)
    w = _worker(broker.url, db)
    _first_commit(w)
    broker.stop()
    broker.start()  # same port, same store directory: the stream and the durable survive
    out = _finish(w)
    assert out.count("committed slice") >= 2
    assert _streamed(db) == expected


@pytest.mark.parametrize("command", ["worker", "publish"])
def test_broker_down_is_a_one_line_error(world, db, command):
    url = f"nats://127.0.0.1:{free_port()}"
    args = ["worker"] if command == "worker" else ["publish", *world[0]]
    r = _run(*args, "--broker", url, "--db", db, check=False)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert f"cannot reach the NATS broker at {url}" in r.stderr


def test_a_foreign_message_is_a_clear_error():
    from fanzha.errors import FanzhaError
    from fanzha.stream import decode, encode

    t = pa.table({"event_id": ["a"], "x": [1]})
    assert decode(encode({"call": t}))["call"].equals(t)
    with pytest.raises(FanzhaError, match="not a fanzha slice"):
        decode(b"\x05\x00\x00\x00hello world")
