"""The engine: resumable, replayable, indifferent to micro-batch size, atomic under SIGKILL."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess

import pytest

from fanzha.engine import Engine
from fanzha.engine.check import canonical
from fanzha.ingest import Source, ingest
from fanzha.store import open_store
from fanzha.testing import START, rows_for_csv, write_csv
from helpers import fanzha_cmd
from scenario import FRAUD, VICTIM, call, ingest_city, report, table, write_city


def outputs(store):
    return canonical(store.signals()), canonical(store.alerts())


def test_replay_from_scratch_gives_the_same_signals_and_alerts(db, tmp_path):
    s = open_store(db)
    ingest_city(s, tmp_path)
    first = Engine(s, batch_size=500).run()
    assert first.signals > 0 and first.alerts_touched > 0
    ref = outputs(s)
    s.reset_engine()
    Engine(s, batch_size=100_000).run()
    assert outputs(s) == ref


@pytest.mark.parametrize("batch_size", [1, 37, 1000])
def test_micro_batch_size_does_not_change_the_outcome(db, tmp_path, batch_size):
    s = open_store(db)
    ingest_city(s, tmp_path, calls=400, sms=100)
    Engine(s, batch_size=10**6).run()
    ref = outputs(s)
    s.reset_engine()
    Engine(s, batch_size=batch_size).run()
    assert outputs(s) == ref


def test_a_stopped_run_resumes_where_it_stopped(db, tmp_path):
    s = open_store(db)
    ingest_city(s, tmp_path)
    part = Engine(s, batch_size=300).run(max_batches=4)
    assert part.watermark == 1200 and s.load_engine()[0] == 1200
    rest = Engine(s, batch_size=300).run()
    assert rest.watermark == s.max_seq()
    got = outputs(s)
    s.reset_engine()
    Engine(s, batch_size=300).run()
    assert outputs(s) == got


def test_events_arriving_in_later_ingests_are_processed_incrementally(db, tmp_path):
    s = open_store(db)
    p1, p2 = tmp_path / "a.csv", tmp_path / "b.csv"
    t1 = table("call", [call(START, FRAUD, VICTIM, 120)])
    write_csv(str(p1), rows_for_csv(t1), columns=t1.column_names)
    ingest(s, [Source(str(p1), "call")])
    assert Engine(s).run().signals == 0
    r = table("report", [report(START + dt.timedelta(hours=1), FRAUD)])
    write_csv(str(p2), rows_for_csv(r), columns=r.column_names)
    ingest(s, [Source(str(p2), "report")])
    summary = Engine(s).run()
    assert summary.events == 1 and summary.signals == 2  # the exposure, and victim risk's score
    assert s.alerts()["entity"].to_pylist() == [VICTIM]


def test_sigkill_in_the_middle_then_resume_gives_the_same_alerts(tmp_path, env):
    sources = write_city(tmp_path, calls=30000, sms=6000, frauds=6)
    ref_db, kill_db = str(tmp_path / "ref.duckdb"), str(tmp_path / "kill.duckdb")
    for d in (ref_db, kill_db):
        with open_store(d) as s:
            ingest(s, sources)
    with open_store(ref_db) as s:
        Engine(s, batch_size=1000).run()
        ref = outputs(s)
        total = s.max_seq()
    proc = subprocess.Popen([*fanzha_cmd(), "run", "--db", kill_db, "--batch-size", "1000",
                             "--progress-lines"], stdout=subprocess.PIPE, text=True, env=env)
    seen = 0
    for line in proc.stdout:
        seen += line.startswith("committed")
        if seen == 5:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL, "the run must have been killed, not finished"
    with open_store(kill_db) as s:
        watermark = s.load_engine()[0]
        assert 5000 <= watermark < total
    r = subprocess.run([*fanzha_cmd(), "run", "--db", kill_db, "--batch-size", "1000"],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    with open_store(kill_db) as s:
        assert outputs(s) == ref
        assert s.load_engine()[0] == total
