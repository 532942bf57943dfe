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
# --- registrations: a village-push ring, an authorised team, a busy public Wi-Fi, a family -------

RING_COUNTY = "450821"  # 贵港市 平南县 (rural): where the gang harvests
TEAM_COUNTY = "450881"  # 桂平市 (rural): where the authorised team works
UPSTREAM = "440113"  # 广州市 番禺区: where the upstream types the codes
CITY = "450802"  # 贵港市 港北区 (urban)
TEAM = "yb-team-01"
TABLETS = ("yb-tab-1", "yb-tab-2")
RING_PLATFORMS = ("shop-a", "shop-b", "social-c", "video-d", "live-g")


def _person(rng: random.Random, age: int, n: int) -> dict:
    birth = dt.date(2026 - age, 1 + n % 12, 1 + n % 27)
    return {
        "id_number": ids.resident_id.fake(rng, birth_date=birth),
        "phone": ids.phone.fake_mobile(rng),
        "name": f"人{n}",
    }


def registrations(seed: int = 7, ring: int = 40) -> dict[str, pa.Table]:
    """Hand-made registrations (UTC; local = +8 h) and the promoter registry:
    - ring: `ring` elderly villagers of RING_COUNTY, 5 accounts each within minutes, registered
      from 3 upstream devices and 2 IPs in UPSTREAM, where the codes are typed (accounts r-*);
    - the authorised team TEAM in TEAM_COUNTY: 30 elderly villagers, half on its 2 tablets, half
      on their own phones, with its code (accounts y-*); and 4 registrations with its code in
      another county, 2 on a tablet without the code (outside its authorisation: accounts x-*);
    - a busy public Wi-Fi in CITY: 60 young people on one IP, each on their own phone (w-*);
    - a family in TEAM_COUNTY sharing one phone: 3 people, 4 accounts (f-*);
    - 30 ordinary sign-ups (o-*)."""
    rng = random.Random(seed)
    day1 = START + dt.timedelta(days=1, hours=1)  # 09:00 local
    rows: list[dict] = []
    n = 0

    def add(p: dict, platform: str, account: str, ts: dt.datetime, **kw) -> None:
        rows.append({"ts": ts, "platform": platform, "account_id": account, **p, **kw})

    devs, ips = ["gang-d1", "gang-d2", "gang-d3"], ["183.1.2.3", "183.9.8.7"]
    for i in range(ring):
        p = _person(rng, 62 + i % 20, n := n + 1)
        t = day1 + dt.timedelta(minutes=4 * i)
        for j, plat in enumerate(RING_PLATFORMS):
            d, ip = devs[(i + j) % 3], ips[(i + j) % 2]
            add(p, plat, f"r-{i}-{j}", t + dt.timedelta(seconds=70 * j + 30), device_id=d,
                ip=ip, ip_county=UPSTREAM, code_device_id=d, code_ip=ip, code_ip_county=UPSTREAM,
                phone_county=RING_COUNTY)
    for i in range(30):
        p = _person(rng, 60 + i % 25, n := n + 1)
        own = f"own-{n}"
        home = f"113.70.{i}.{10 + i}"
        add(p, "yibao", f"y-{i}", day1 + dt.timedelta(minutes=7 * i),
            device_id=TABLETS[i % 2] if i % 2 == 0 else own, ip=home, ip_county=TEAM_COUNTY,
            code_device_id=own, code_ip=home, code_ip_county=TEAM_COUNTY,
            phone_county=TEAM_COUNTY, promoter_id=TEAM)
    for i in range(4):
        p = _person(rng, 70 + i, n := n + 1)
        add(p, "yibao", f"x-code-{i}", day1 + dt.timedelta(hours=3, minutes=9 * i),
            device_id=f"own-{n}", ip=f"113.71.{i}.9", ip_county="450922",
            code_device_id=f"own-{n}", code_ip=f"113.71.{i}.9", code_ip_county="450922",
            phone_county="450922", promoter_id=TEAM)
    for i in range(2):
        p = _person(rng, 66 + i, n := n + 1)
        add(p, "shop-a", f"x-tab-{i}", day1 + dt.timedelta(hours=5, minutes=9 * i),
            device_id=TABLETS[0], ip="113.72.0.9", ip_county=TEAM_COUNTY,
            code_device_id=f"own-{n}", code_ip="113.72.0.9", code_ip_county=TEAM_COUNTY,
            phone_county=TEAM_COUNTY)
    wifi = day1 + dt.timedelta(days=1)
    for i in range(60):
        p = _person(rng, 20 + i % 20, n := n + 1)
        add(p, RING_PLATFORMS[i % 5], f"w-{i}", wifi + dt.timedelta(minutes=3 * i),
            device_id=f"own-{n}", ip="113.64.1.1", ip_county=CITY, code_device_id=f"own-{n}",
            code_ip="113.64.1.1", code_ip_county=CITY, phone_county=CITY)
    family = [_person(rng, age, n := n + 1) for age in (72, 69, 41)]
    for k, (who, plat) in enumerate(((0, "shop-a"), (1, "shop-a"), (2, "shop-b"),
                                      (2, "social-c"))):
        add(family[who], plat, f"f-{k}", day1 + dt.timedelta(hours=2, minutes=15 * k),
            device_id="fam-phone", ip="113.70.99.5", ip_county=TEAM_COUNTY,
            code_device_id="fam-phone", code_ip="113.70.99.5", code_ip_county=TEAM_COUNTY,
            phone_county=TEAM_COUNTY)
    for i in range(30):
        p = _person(rng, 18 + (i * 7) % 60, n := n + 1)
        county = (CITY, TEAM_COUNTY, RING_COUNTY)[i % 3]
        add(p, RING_PLATFORMS[i % 5], f"o-{i}", START + dt.timedelta(hours=5 * i),
            device_id=f"own-{n}", ip=f"113.80.{i}.7", ip_county=county,
            code_device_id=f"own-{n}", code_ip=f"113.80.{i}.7", code_ip_county=county,
            phone_county=county)
    grants = [{"county": c} for c in (RING_COUNTY, TEAM_COUNTY)] + [
        {"device_id": d, "member": f"member-{k}"} for k, d in enumerate(TABLETS)
    ] + [{"platform": "yibao"}]
    registry = [{"ts": START - dt.timedelta(days=2), "team_id": TEAM, "issuer": "贵港市医疗保障局",
                 "action": "grant", "valid_from": START - dt.timedelta(days=1),
                 "valid_to": START + dt.timedelta(days=30), "document_no": "GGYB-2026-07", **g}
                for g in grants]
    return {"registration": table("registration", rows), "promoter": table("promoter", registry)}


def registrations_log(seed: int = 7, **kw) -> dict[str, pa.Table]:
    return as_log(registrations(seed, **kw))


def ring_orders(seed: int = 7, ring: int = 40) -> pa.Table:
    """Orders after the registrations of `registrations()`: the ring's shop-a/shop-b accounts take
    1-cent / 1-yuan new-user deals shipped to two depots (lockstep); the family, the Wi-Fi users
    and the ordinary people buy at list price or with a common coupon, shipped home."""
    rng = random.Random(seed)
    t0 = START + dt.timedelta(days=3)
    rows = []
    depots = ["广东省广州市番禺区石楼镇物流园3号仓", "广东省广州市番禺区石楼镇物流园4号仓"]
    deals = [("newuser-rice-1fen", 1, 5990), ("newuser-oil-1yuan", 100, 6990)]
    for i in range(ring):
        for j, plat in ((0, "shop-a"), (1, "shop-b")):
            for k in range(1 + (i + j) % 2):
                deal, paid, price = deals[(i + k) % 2]
                rows.append({"ts": t0 + dt.timedelta(minutes=7 * i + 3 * j + k),
                             "order_id": f"O-r-{i}-{j}-{k}", "account_id": f"r-{i}-{j}",
                             "platform": plat, "deal_id": deal, "amount_fen": paid,
                             "list_price_fen": price, "ship_name": "王仓管",
                             "ship_phone": "13712345678", "ship_address": depots[(i + k) % 2]})
    home = "广西贵港市桂平市木乐镇幸福村3组12号"
    for k, (acct, plat) in enumerate((("f-0", "shop-a"), ("f-1", "shop-a"), ("f-2", "shop-b"))):
        rows.append({"ts": t0 + dt.timedelta(hours=1 + k), "order_id": f"O-f-{k}",
                     "account_id": acct, "platform": plat, "deal_id": "coupon-20off",
                     "amount_fen": 4000, "list_price_fen": 5000, "ship_name": "李家",
                     "ship_phone": "13812345678", "ship_address": home})
    for i in range(60):
        plat = RING_PLATFORMS[i % 5]
        if plat not in ("shop-a", "shop-b"):
            continue
        coupon = rng.random() < 0.5
        rows.append({"ts": t0 + dt.timedelta(hours=2, minutes=i), "order_id": f"O-w-{i}",
                     "account_id": f"w-{i}", "platform": plat,
                     "deal_id": "coupon-20off" if coupon else None,
                     "amount_fen": 2400 if coupon else 3000, "list_price_fen": 3000,
                     "ship_name": f"顾客{i}", "ship_phone": f"1350000{i:04d}",
                     "ship_address": f"广西贵港市港北区贵城街道{i}号"})
    return table("order", rows)


def registrations_with_orders_log(seed: int = 7, ring: int = 40) -> dict[str, pa.Table]:
    return as_log({**registrations(seed, ring), "order": ring_orders(seed, ring)})
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
