"""`fanzha score DIR`: the whole pipeline on a sim world, compared with its truth.

A fresh store; every file of DIR/ingest.yaml ingested as ONE batch (so the log is in event-time
order across kinds, as a live feed would be); the engine; the investigations that exist (account
rings, which put black accounts and abused deal orders on freeze/cancel lists); dispatch of the
alerts' tasks to a file sink in DIR/dispatch/ (one JSONL file per channel); then the predictions
are collected and scored, and DIR/score.json and DIR/report.html written.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from fanzha.dispatch import FileSink, dispatch
from fanzha.engine.runner import Engine
from fanzha.errors import FanzhaError
from fanzha.ingest import IngestOptions, ParseOptions, Source, ingest
from fanzha.investigate import rings
from fanzha.sim.collect import collect_predictions
from fanzha.sim.score import METRICS, score
from fanzha.sim.truth import load_truth
from fanzha.store import open_store

IngestProgress = Callable[[int, Source, int, int], None]
RunProgress = Callable[[int, int], None]


def load_manifest(world: str | Path) -> list[Source]:
    """The world's files with the ingest options its manifest gives each."""
    d = Path(world)
    path = d / "ingest.yaml"
    if not path.is_file():
        raise FanzhaError(f"{d}: no ingest.yaml; is this a world made by `fanzha sim`?")
    try:
        manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
        entries = manifest["files"]
    except (yaml.YAMLError, KeyError, TypeError) as e:
        raise FanzhaError(f"{path}: not a valid manifest ({e})") from None
    sources = []
    for e in entries:
        opts = IngestOptions(
            column_map=dict(e.get("map") or {}),
            constants=dict(e.get("set") or {}),
            parse=ParseOptions(
                tz=e.get("tz", "Asia/Shanghai"),
                time_unit=e.get("time_unit"),
                money_unit=e.get("money_unit", "fen"),
            ),
            encoding=e.get("encoding"),
        )
        sources.append(Source(str(d / e["path"]), e["kind"], label=e["path"], options=opts))
    return sources


def fresh_db(world: Path, db: str | None) -> str:
    """DIR/fanzha.duckdb, replaced; an explicit --db must not exist (it is never overwritten)."""
    if db is None:
        path = world / "fanzha.duckdb"
        for p in (path, Path(str(path) + ".wal")):
            if p.exists():
                p.unlink()
        return str(path)
    if Path(db).exists():
        raise FanzhaError(f"--db {db} exists; `fanzha score` needs a fresh database")
    return db


def _world_end(truth: Any) -> dt.datetime:
    """The world's last moment: the investigations run then (list entries are dated by it)."""
    end = truth.world.get("end_ms")
    return dt.datetime.fromtimestamp(end / 1000, dt.UTC) if end else dt.datetime.now(dt.UTC)


def score_world(
    world: str | Path,
    db: str | None = None,
    ingest_progress: IngestProgress | None = None,
    run_progress: RunProgress | None = None,
    field_outcomes: bool = False,
) -> dict[str, Any]:
    """Ingest, run, investigate and dispatch a world, and score it against its truth. With
    `field_outcomes`, a simulated field team records what its calls and visits found
    (fanzha.sim.outcomes): labels for `fanzha model retrain --model victim-risk`."""
    d = Path(world)
    if not d.is_dir():
        raise FanzhaError(f"{d}: no such world directory")
    sources = load_manifest(d)
    truth = load_truth(d)
    path = fresh_db(d, db)
    t0 = time.perf_counter()
    with open_store(path) as store:
        summary = ingest(store, sources, progress=ingest_progress)
        if summary.failed_files:
            raise FanzhaError("; ".join(f.error or "" for f in summary.failed_files))
        t_ingest = time.perf_counter() - t0
        t1 = time.perf_counter()
        run = Engine(store).run(
            on_commit=(lambda s, top: run_progress(s.watermark, top)) if run_progress else None
        )
        t_run = time.perf_counter() - t1
        t2 = time.perf_counter()
        rings.act(store, rings.find_rings_in(store), now=_world_end(truth))
        t_investigate = time.perf_counter() - t2
        sink_dir = d / "dispatch"
        if sink_dir.is_dir():  # the tasks of an earlier score of this world
            for p in sink_dir.glob("*.jsonl"):
                p.unlink()
        t2 = time.perf_counter()
        sent = dispatch(store, FileSink(sink_dir))
        t_dispatch = time.perf_counter() - t2
        if field_outcomes:
            from fanzha.sim.outcomes import field_outcomes as record

            record(store, truth, _world_end(truth))
        predictions = collect_predictions(store)
        n_alerts = store.alerts().num_rows
    result: dict[str, Any] = score(truth, predictions)
    result["meta"] = {
        "world": str(d),
        "db": path,
        "people": truth.people,
        "days": truth.world.get("days"),
        "seed": truth.world.get("seed"),
        "victims": truth.get("victims").height,
        "targets": truth.get("targets").height,
        "stolen_fen": int(truth.get("payments")["amount_fen"].sum())
        if truth.get("payments").height
        else 0,
        "events_read": summary.total("read"),
        "events_accepted": summary.total("accepted"),
        "quarantined": summary.total("quarantined"),
        "duplicates": summary.total("duplicate"),
        "alerts": n_alerts,
        "signals": run.signals,
        "capabilities_built": predictions.built(),
        "ingest_seconds": round(t_ingest, 3),
        "engine_seconds": round(t_run, 3),
        "investigate_seconds": round(t_investigate, 3),
        "dispatch_seconds": round(t_dispatch, 3),
        "tasks_skipped": sent.skipped,
        "scored_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    (d / "score.json").write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    from fanzha.sim.report import write_report

    write_report(d / "report.html", result, truth, predictions)
    return result


def metric_rows(result: dict[str, Any]) -> list[tuple[str, str, str, Any, str]]:
    """(capability, key, label, value, unit) for every metric, in scorecard order."""
    return [(c, k, label, result.get(c, {}).get(k), unit) for c, k, label, unit in METRICS]


__all__ = ["load_manifest", "metric_rows", "score_world"]
