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


def money(seed: int = 0, normal: int = 300) -> dict[str, pa.Table]:
    """Random transfers among 60 accounts, plus a mule that six victims pay and that passes the
    money on within minutes to two others, a three-account cycle and police cases for three of
    the victims (one matched by account and time, one whose payment is logged after it)."""
    rng = random.Random(seed)
    pools = Pools(rng, phones=50, accounts=60)
    t = random_events("transfer", normal, rng, pools=pools, span=dt.timedelta(days=3))
    day = START + dt.timedelta(days=1, hours=9)
    mule, n1, n2 = "6217000000000000001", "6217000000000000002", "6217000000000000003"
    rows, cases = [], []
    for i in range(6):
        at = day + dt.timedelta(minutes=20 * i)
        victim = f"62220000000000001{i:02d}"
        rows.append({"ts": at, "payer_account": victim, "payee_account": mule,
                     "amount_fen": 5_000_000, "transfer_id": f"V{i}", "payee_type": "person"})
        for j, nxt in enumerate((n1, n2)):
            rows.append({"ts": at + dt.timedelta(minutes=5 + j), "payer_account": mule,
                         "payee_account": nxt, "amount_fen": 2_400_000,
                         "payer_balance_after_fen": 200_000 if j == 0 else 2_000})
        if i < 3:
            cases.append({"ts": at + dt.timedelta(hours=3 + i), "case_id": f"J{i}",
                          "fraud_type": "fake_customer_service", "victim_account": victim,
                          "transfer_id": None if i == 1 else f"V{i}", "loss_fen": 5_000_000,
                          "paid_at": at})
    ring = ["6217000000000000011", "6217000000000000012", "6217000000000000013"]
    for k in range(3):
        rows.append({"ts": day + dt.timedelta(hours=5, minutes=10 * k), "payer_account": ring[k],
                     "payee_account": ring[(k + 1) % 3], "amount_fen": 20_000_000})
    late = day + dt.timedelta(days=1)
    cases.append({"ts": late - dt.timedelta(hours=1), "case_id": "J9",
                  "fraud_type": "fake_customer_service", "transfer_id": "LATE"})
    rows.append({"ts": late, "payer_account": "6222000000000000999", "payee_account": n1,
                 "amount_fen": 300_000, "transfer_id": "LATE"})
    return {"transfer": pa.concat_tables([t, table("transfer", rows)]),
            "case": table("case", cases)}
