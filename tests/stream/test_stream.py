"""fanzha publish + fanzha worker on a real NATS JetStream broker give the alerts of the embedded
path (fanzha ingest + fanzha run) on the same events: with two workers, with a worker killed by
SIGKILL mid-stream and with the broker restarted mid-stream; and with the keyed tier (the
detectors keyed by site or sender run in 4 partitions across the workers)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from fanzha.detectors.text_fraud import MODEL_ENV
from fanzha.engine.runner import Engine
from fanzha.errors import FanzhaError
from fanzha.ingest import Source, ingest
from fanzha.store import open_store
from fanzha.stream.local_nats import LocalNats, free_port
from fanzha.stream.publish import publish
from fanzha.testing import Pools, random_events, rows_for_csv, write_csv
from helpers import fanzha_cmd
from scenario import city, money, table
from text_corpus import CORPUS, tiny_text_model
from warehouse import warehouse_events

BATCH = 1000  # engine micro-batch: slices end inside micro-batches, as they will in production
SLICE = 400  # events per message: the world below makes about fifteen slices
PARTITIONS = "4"  # keyed partitions in the keyed-tier tests


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[list[str], tuple[list[dict], list[str]]]:
    """The files of a small world and the embedded path's (alerts, signal ids) on them; the
    fraud-text model is in the environment, so text_fraud runs in the workers too."""
    tmp = tmp_path_factory.mktemp("world")
    paths = _world(tmp)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MODEL_ENV, tiny_text_model())
        yield paths, _embedded(tmp, paths)


def _publish(paths: list[str], broker: str, db: str) -> None:
    s = open_store(db)
    try:
        publish(s, [Source(p, _kind(p)) for p in paths], broker, slice_events=SLICE)
    finally:
        s.close()


def _world(tmp: Path) -> list[str]:
    """Calls, SMS and transfers; SMS with fraud texts; the access logs of six warehouses with
    insiders (keyed by site), so that both tiers find something."""
    tables = {**city(3), **money(3)}
    rng = random.Random(3)
    sms = random_events("sms", 120, rng, pools=Pools(rng, phones=40))
    bodies = [t for texts in CORPUS.values() for t in texts]
    texts = table("sms", [{"text": rng.choice(bodies)} for _ in range(sms.num_rows)])["text"]
    tables["sms_texts"] = sms.set_column(sms.schema.get_field_index("text"), "text", texts)
    for i in range(3):
        for k, t in warehouse_events(seed=i, days=4, per_day=10).items():
            for col in ("site", "access_id"):
                if col in t.column_names:
                    at = t.schema.get_field_index(col)
                    t = t.set_column(at, col, pc.binary_join_element_wise(t[col], f"{i}", "-"))
            tables[f"{k}_{i}"] = t
    paths = []
    for name, t in tables.items():
        p = tmp / f"{name}.csv"
        write_csv(str(p), rows_for_csv(t), columns=t.column_names)
        paths.append(str(p))
    return paths


def _kind(path: str) -> str:
    stem = Path(path).stem
    return {"sms_texts": "sms"}.get(stem, stem.rsplit("_", 1)[0] if stem[-1].isdigit() else stem)


def _embedded(tmp: Path, paths: list[str]) -> tuple[list[dict], list[str]]:
    s = open_store(str(tmp / "embedded.duckdb"))
    try:
        ingest(s, [Source(p, _kind(p)) for p in paths])
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


@pytest.mark.parametrize("extra", [(), ("--partitions", PARTITIONS)], ids=["log", "keyed"])
def test_a_killed_worker_loses_and_doubles_nothing(world, broker, pg_db, extra):
    """With keyed partitions the first slice's keyed messages are out and being processed when
    the worker is killed."""
    paths, expected = world
    _publish(paths, broker.url, pg_db)
    victim = _worker(broker.url, pg_db, *extra)
    _first_commit(victim)
    other = _worker(broker.url, pg_db, *extra)
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


def _keyed_counts(out: str) -> int:
    return int(out.rsplit(" signals, ", 1)[1].split(" keyed")[0])


def test_two_workers_with_keyed_partitions_give_the_embedded_alerts(world, broker, pg_db):
    paths, expected = world
    _publish(paths, broker.url, pg_db)
    workers = [_worker(broker.url, pg_db, "--partitions", PARTITIONS) for _ in range(2)]
    outs = [_finish(w) for w in workers]
    slices = sum(o.count("committed slice") for o in outs)
    # every slice gives one message per partition, each committed once (none lost or doubled)
    assert sum(_keyed_counts(o) for o in outs) == slices * int(PARTITIONS)
    assert _streamed(pg_db) == expected
    s = open_store(pg_db)
    try:
        keyed = set(
            s.keyed_signals(["access_rules", "text_fraud"], 0, s.max_seq())["detector"].to_pylist()
        )
        assert keyed == {"access_rules", "text_fraud"}  # the keyed tier found what they find
        assert s.shard_watermarks(int(PARTITIONS)) == [s.max_seq()] * int(PARTITIONS)
    finally:
        s.close()


def test_keyed_messages_are_partitioned_by_key(world, broker, db):
    from fanzha.stream import connect, decode, partition_of
    from fanzha.stream.keyed import KEYED_STREAM, UPTO

    paths, _ = world
    _publish(paths, broker.url, db)
    _finish(_worker(broker.url, db, "--partitions", PARTITIONS))

    async def read() -> list:
        nc = await connect(broker.url)
        try:
            js = nc.jetstream()
            info = await js.stream_info(KEYED_STREAM)
            return [await js.get_msg(KEYED_STREAM, i) for i in range(1, info.state.last_seq + 1)]
        finally:
            await nc.close()

    msgs = asyncio.run(read())
    subjects_of: dict[str, set[str]] = {}
    for m in msgs:
        assert int(m.headers[UPTO]) > 0
        tables = decode(m.data)
        assert set(tables) <= {"waybill_access", "roster", "sms", "report"}
        for k, col in (("waybill_access", "site"), ("roster", "site")):
            if k in tables:
                assert "seq" in tables[k].column_names  # log positions travel with the events
                for site in tables[k][col].to_pylist():
                    subjects_of.setdefault(site, set()).add(m.subject)
    assert len(subjects_of) == 6
    assert all(len(v) == 1 for v in subjects_of.values())  # every site on one subject
    assert len({v.pop() for v in subjects_of.values()}) > 1  # and the sites spread over them
    sites = pa.array(sorted(subjects_of))
    assert len(set(partition_of(sites, int(PARTITIONS)).to_pylist())) > 1
    # the database remembers P: a worker or the embedded engine with another P refuses
    for args in (["worker", "--broker", broker.url, "--partitions", "2"], ["run"]):
        r = _run(*args, "--db", db, check=False)
        assert r.returncode == 2 and "ran in 4 stream partitions" in r.stderr, r.stderr


def test_messages_larger_than_the_broker_allows_are_cut_in_log_order(world, tmp_path, pg_db):
    """A slice (and a keyed partition's share of it) over nats-server's max_payload goes out as
    several messages, in log order: the alerts are still the embedded path's."""
    paths, expected = world
    with LocalNats(str(tmp_path / "small"), max_payload=64 * 1024) as small:
        s = open_store(pg_db)
        try:  # one slice for the whole world: far over 64 KB encoded
            publish(s, [Source(p, _kind(p)) for p in paths], small.url, slice_events=100_000)
        finally:
            s.close()
        _finish(_worker(small.url, pg_db, "--partitions", PARTITIONS))

        async def counts() -> tuple[int, int]:
            from fanzha.stream import STREAM, connect
            from fanzha.stream.keyed import KEYED_STREAM

            nc = await connect(small.url)
            try:
                js = nc.jetstream()
                log = (await js.stream_info(STREAM)).state.messages
                return log, (await js.stream_info(KEYED_STREAM)).state.messages
            finally:
                await nc.close()

        log, keyed = asyncio.run(counts())
    assert log > 1  # the one slice was cut
    assert keyed >= log * int(PARTITIONS)  # every piece still reaches every partition
    assert _streamed(pg_db) == expected


def test_a_partitions_share_over_the_limit_is_cut_by_seq():
    """keyed_messages: pieces in log order, each ending at its own last seq (the last at the
    slice's end), with distinct message ids; decoded and joined they are the share again."""
    from fanzha.stream import decode, encode
    from fanzha.stream.keyed import UPTO, keyed_messages

    seq = pa.array([3, 5, 8, 9, 12, 14], pa.int64())
    share = {
        "waybill_access": pa.table({"seq": seq, "site": ["s"] * 6, "note": ["x" * 400] * 6}),
        "roster": pa.table({"seq": pa.array([4, 10], pa.int64()), "site": ["s", "s"]}),
    }
    whole = len(encode(share))
    one = keyed_messages(share, 2, "slice-a", 20, whole + 10)
    assert [(m[0], m[2][UPTO]) for m in one] == [("fanzha.keyed.2", "20")]
    cut = keyed_messages(share, 2, "slice-a", 20, whole // 2)
    assert len(cut) > 1 and all(len(data) <= whole // 2 for _, data, _ in cut)
    ends = [int(h[UPTO]) for _, _, h in cut]
    assert ends == sorted(ends) and ends[-1] == 20
    assert len({h["Nats-Msg-Id"] for _, _, h in cut}) == len(cut)
    assert cut[0][2]["Nats-Msg-Id"] == one[0][2]["Nats-Msg-Id"]
    got: list[int] = []
    low = 0
    for (_, data, _), end in zip(cut, ends, strict=True):
        seqs = [v for t in decode(data).values() for v in t["seq"].to_pylist()]
        assert all(low < v <= end for v in seqs)  # a piece holds its range (low, end] only
        got += seqs
        low = end
    assert sorted(got) == [3, 4, 5, 8, 9, 10, 12, 14]


def test_one_event_over_the_broker_limit_is_a_clear_error():
    from fanzha.stream import encode, fitted
    from fanzha.stream.publish import recut

    t = pa.table({"event_id": ["a", "b"], "ts": pa.array([1, 2], pa.timestamp("ms", "UTC"))})
    big = t.append_column("text", pa.array(["x" * 5000, "y"]))
    a_alone = len(encode({"sms": big.slice(0, 1)}))
    assert len(encode({"sms": big})) > a_alone
    pieces = fitted({"sms": big}, a_alone, recut)
    assert [p["sms"]["event_id"].to_pylist() for p, _ in pieces] == [["a"], ["b"]]
    assert [data for _, data in pieces] == [encode(p) for p, _ in pieces]
    with pytest.raises(FanzhaError, match=r"one sms event takes .* max_payload"):
        fitted({"sms": big}, min(len(data) for _, data in pieces) - 1, recut)


def test_partition_of_is_stable_and_in_range():
    from fanzha.stream import partition_of

    keys = pa.array([f"site-{i}" for i in range(200)] + [None])
    got = partition_of(keys, 4).to_pylist()
    assert got == partition_of(keys, 4).to_pylist() and set(got) == {0, 1, 2, 3}
    assert got[-1] == partition_of(pa.array([""]), 4).to_pylist()[0]  # missing keys: together
    assert partition_of(pa.array(["site-7"]), 4).to_pylist() == [got[7]]  # alone or in a batch


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


def test_a_redelivered_slice_gives_the_same_keyed_messages(tmp_path):
    from fanzha.stream.worker import append_slice
    from fanzha.testing import as_log

    log = as_log(warehouse_events(seed=1, days=1, per_day=6))  # events as a slice carries them
    tables = {k: t.drop_columns([c for c in ("seq", "batch_id") if c in t.column_names])
              for k, t in log.items()}  # fmt: skip
    keys = {"waybill_access": "site", "roster": "site"}
    s = open_store(str(tmp_path / "s.duckdb"))
    try:
        first = append_slice(s, tables, "test#1", keys, 3)
        again = append_slice(s, tables, "test#1", keys, 3)  # its worker died before the ack
    finally:
        s.close()
    assert first[1] == first[0] and again[1] == 0  # appended once
    assert again[2] == first[2]  # the same log end (Fanzha-Upto)
    assert [{k: t.sort_by("seq") for k, t in p.items()} for p in again[3]] == first[3]
    assert sum(t.num_rows for p in first[3] for t in p.values()) == first[0]
