"""Hand-made event sets shared by engine, decide and detector tests."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pyarrow as pa

from fanzha.events import kind
from fanzha.ingest import Source, ingest
from fanzha.store import Store
from fanzha.testing import START, Pools, as_log, random_events, rows_for_csv, write_csv

FRAUD = "17012345678"
VICTIM = "13800138000"


def report(ts: dt.datetime, number: str, by: str = "police", verdict: str = "confirm",
           fraud_type: str | None = "fake_customer_service", reporter: str | None = None) -> dict:
    return {"ts": ts, "reporter_kind": by, "target_kind": "phone", "target_value": number,
            "verdict": verdict, "fraud_type": fraud_type, "reporter": reporter}


def call(ts: dt.datetime, caller: str, callee: str, duration_s: int = 0) -> dict:
    return {"ts": ts, "caller": caller, "callee": callee, "duration_s": duration_s,
            "answered": duration_s > 0}


def table(kind_name: str, rows: list[dict]) -> pa.Table:
    k = kind(kind_name)
    schema = pa.schema([pa.field(f.name, f.arrow_type) for f in k.fields])
    full = [{f.name: r.get(f.name, f.default) for f in k.fields} for r in rows]
    return pa.Table.from_pylist(full, schema=schema)


def city(seed: int = 0, calls: int = 3000, sms: int = 800, frauds: int = 4) -> dict[str, pa.Table]:
    """Random calls and SMS among a few hundred numbers; some numbers confirmed, one cleared."""
    rng = random.Random(seed)
    pools = Pools(rng, phones=300)
    c = random_events("call", calls, rng, pools=pools, span=dt.timedelta(days=10))
    m = random_events("sms", sms, rng, pools=pools, span=dt.timedelta(days=10))
    fraud_numbers = pools.phones[:frauds]
    reps = [report(START + dt.timedelta(days=2 + i), n) for i, n in enumerate(fraud_numbers)]
    reps.append(report(START + dt.timedelta(days=7), fraud_numbers[0], verdict="clear"))
    reps.append(report(START + dt.timedelta(days=1), pools.phones[10], by="citizen",
                       verdict="report"))
    return {"call": c, "sms": m, "report": table("report", reps)}


def city_log(seed: int = 0, **kw) -> dict[str, pa.Table]:
    return as_log(city(seed, **kw))


def write_city(tmp: Path, seed: int = 0, **kw) -> list[Source]:
    sources = []
    for name, t in city(seed, **kw).items():
        p = tmp / f"{name}.csv"
        write_csv(str(p), rows_for_csv(t), columns=t.column_names)
        sources.append(Source(str(p), name))
    return sources


def ingest_city(store: Store, tmp: Path, seed: int = 0, **kw) -> None:
    ingest(store, write_city(tmp, seed, **kw))
