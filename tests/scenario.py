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


def farm_city(seed: int = 0, people: int = 80, farm_calls: int = 40, courier_calls: int = 60,
              chatter: int = 150, start: dt.datetime = START) -> dict[str, pa.Table]:
    """A SIM-farm number (many handsets and counties, short calls to strangers, nobody calls
    back) among people who call each other from their one handset, a courier calling many
    strangers from his, and a shop's SMS port texting everyone."""
    rng = random.Random(seed)
    phones = [f"139{rng.randrange(10**8):08d}" for _ in range(people)]
    imei = {p: f"86{rng.randrange(10**13):013d}" for p in phones}
    county = {p: rng.choice(["450802", "450803", "450821"]) for p in phones}
    farm, courier, port = "17012345678", "18612345678", "1069000012345"
    day = dt.timedelta(hours=10)
    calls = []
    for _ in range(chatter):
        a, b = rng.sample(phones, 2)
        d = rng.choice([0, rng.randrange(20, 400)])
        calls.append({"ts": start + day * rng.random(), "caller": a, "callee": b,
                      "duration_s": d, "answered": d > 0, "caller_imei": imei[a],
                      "caller_county": county[a], "callee_county": county[b]})
    farm_imeis = [f"86{rng.randrange(10**13):013d}" for _ in range(8)]
    for i in range(farm_calls):
        b = rng.choice(phones)
        d = rng.choice([0, 0, rng.randrange(3, 30), rng.randrange(200, 1800)])
        calls.append({"ts": start + dt.timedelta(hours=1, minutes=6 * i), "caller": farm,
                      "callee": b, "duration_s": d, "answered": d > 0,
                      "caller_imei": rng.choice(farm_imeis),
                      "caller_county": rng.choice(["532801", "440305", "450921", "450981"]),
                      "callee_county": county[b]})
    for i in range(courier_calls):
        b = rng.choice(phones)
        d = rng.randrange(8, 70) if rng.random() < 0.85 else 0
        calls.append({"ts": start + dt.timedelta(hours=1, minutes=8 * i), "caller": courier,
                      "callee": b, "duration_s": d, "answered": d > 0,
                      "caller_imei": "861111111111111", "caller_county": "450802",
                      "callee_county": county[b]})
    sms = [{"ts": start + dt.timedelta(hours=2, seconds=i), "sender": port, "receiver": p,
            "text": "【店铺】会员专享 回T退订"} for i, p in enumerate(phones)]
    return {"call": table("call", calls), "sms": table("sms", sms)}
