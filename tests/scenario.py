"""Hand-made event sets shared by engine, decide and detector tests."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pyarrow as pa

from fanzha import ids
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


LEGIT = ("taobao.com", "jd.com", "icbc.com.cn", "www.gxzf.gov.cn", "weixin.qq.com", "baidu.com")
FRAUD_SITES = ("tb-lipei60.top", "icbc-verify.cc", "xn--cbc-ihd.com", "taobaao.com",
               "quick-cash.example.top")
APPS = ("com.tencent.mm", "com.taobao.taobao", "us.zoom.videomeetings", "com.oray.sunlogin.remote",
        "com.fake.kefu", "com.fake.loan")


def warning_city(seed: int = 0, calls: int = 600, visits: int = 300, apps: int = 200,
                 transfers: int = 200) -> dict[str, pa.Table]:
    """A city for the warning detectors: calls and SMS (some with links) among a few hundred
    numbers, visits to real and look-alike sites, apps (remote tools, fake apps sharing the
    screen), SIM and bank cards with ID numbers, transfers, and reports that confirm, clear and
    suspect numbers, URLs, domains and apps over ten days."""
    rng = random.Random(seed)
    base = city(seed, calls=calls, sms=calls // 5)
    pools = Pools(rng, phones=300)
    people = pools.phones[20:]
    frauds = pools.phones[:4]
    span = 10 * 86_400_000

    def at() -> dt.datetime:
        return START + dt.timedelta(milliseconds=rng.randrange(span))

    # the numbers of city(): same seed, same pools
    sms = []
    for _ in range(calls // 10):
        site = rng.choice(FRAUD_SITES + LEGIT)
        sms.append({"ts": at(), "sender": rng.choice(frauds + people[:5]),
                    "receiver": rng.choice(people), "text": f"请点击 https://{site}/claim 办理"})
    vis = [{"ts": at(), "phone": rng.choice(people),
            "domain": (d := rng.choice(LEGIT * 3 + FRAUD_SITES)), "url": f"https://{d}/"}
           for _ in range(visits)]
    app_rows = []
    for _ in range(apps):
        app_id = rng.choice(APPS)
        action = rng.choice(("install", "open", "remote_session", "screen_share"))
        app_rows.append({"ts": at(), "phone": rng.choice(people[:60]), "app_id": app_id,
                         "action": action})
    cards = []
    for p in people:
        idn = ids.resident_id.fake(rng)
        cards.append({"ts": START - dt.timedelta(days=rng.randrange(1, 300)), "card_type": "sim",
                      "card_number": p, "id_number": idn, "action": "open",
                      "family_phone": rng.choice(people) if rng.random() < 0.5 else None})
        if rng.random() < 0.5:
            cards.append({"ts": START - dt.timedelta(days=3), "card_type": "bank",
                          "card_number": ids.bank_card.fake(rng), "id_number": idn,
                          "action": "open"})
    tr = [{"ts": at(), "payer_account": rng.choice(pools.accounts),
           "payee_account": rng.choice(pools.accounts[:8]), "amount_fen": rng.randrange(100, 10**6),
           "payer_phone": rng.choice(people)} for _ in range(transfers)]
    reps = base["report"].to_pylist()
    reps += [
        {"ts": START + dt.timedelta(days=3), "reporter_kind": "centre", "target_kind": "url",
         "target_value": "https://quick-cash.example.top/apply", "verdict": "confirm"},
        {"ts": START + dt.timedelta(days=4), "reporter_kind": "police", "target_kind": "domain",
         "target_value": "icbc-verify.cc", "verdict": "confirm"},
        {"ts": START + dt.timedelta(days=6), "reporter_kind": "police", "target_kind": "domain",
         "target_value": "icbc-verify.cc", "verdict": "clear"},
        {"ts": START + dt.timedelta(days=5), "reporter_kind": "police", "target_kind": "app",
         "target_value": "com.fake.loan", "verdict": "confirm"},
    ]
    reps += [{"ts": START + dt.timedelta(days=2, hours=i), "reporter_kind": "citizen",
              "target_kind": "phone", "target_value": pools.phones[5], "verdict": "report",
              "reporter": people[i]} for i in range(3)]
    return {"call": base["call"], "sms": pa.concat_tables([base["sms"], table("sms", sms)]),
            "report": table("report", reps), "visit": table("visit", vis),
            "app": table("app", app_rows), "card": table("card", cards),
            "transfer": table("transfer", tr)}


def warning_log(seed: int = 0, **kw) -> dict[str, pa.Table]:
    return as_log(warning_city(seed, **kw))


def with_upstream(log: dict[str, pa.Table], detectors) -> dict[str, pa.Table]:
    """The log plus the signals of upstream detectors (run over all of it, in order)."""
    from fanzha.engine.check import run_detector
    from fanzha.engine.protocol import signals_key

    top = max(int(t["seq"].to_pylist()[-1]) for t in log.values() if t.num_rows)
    out = dict(log)
    for d in detectors:
        sigs, _ = run_detector(d, out, [top])
        out[signals_key(d.name)] = sigs
    return out
