"""A hand-made card registry (断卡): ordinary customers, a business-hall insider whose cards become
fraud numbers, a 卡农 bank card that becomes a mule account, one identity opening cards at many
shops, and a promotion team opening cards for rural elderly people in one day.

`card_log` returns the log (with seq) plus the upstream suspicions (`signals:fraud_number`,
`signals:mule_account`) placed after the openings, as the engine would hand them over.
"""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa

from fanzha.engine.protocol import SIGNAL_SCHEMA, signals_key
from fanzha.testing import as_log
from scenario import table

START = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
URBAN = "440106"
RURAL = "511025"
INSIDER = "ag-insider"
TEAM = "ag-team"
BURST_ID_SEQ = 7


def id_number(county: str, born: dt.date, n: int) -> str:
    body = f"{county}{born:%Y%m%d}{n % 1000:03d}"
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(d) * x for d, x in zip(body, w, strict=True)) % 11]


def sim_card(ts, number, holder, shop, agent, county=URBAN) -> dict:
    return {"ts": ts, "card_type": "sim", "card_number": number, "id_number": holder,
            "action": "open", "issuer": "operator-a", "card_kind": "prepaid", "shop_id": shop,
            "agent_id": agent, "holder_county": county, "source": "operator-a"}


def bank_card(ts, number, holder, branch, agent=None, county=URBAN) -> dict:
    return {"ts": ts, "card_type": "bank", "card_number": number, "id_number": holder,
            "action": "open", "issuer": "bank-a", "card_kind": "debit", "shop_id": branch,
            "agent_id": agent, "holder_county": county, "source": "bank-a"}


def suspicion(detector: str, kind: str, entity: str, ts: dt.datetime, seq: int) -> dict:
    return {"signal_id": f"{detector}-{entity}", "detector": detector, "seq": seq, "ts": ts,
            "entity_kind": kind, "entity": entity, "score": 0.8, "fraud_type": None,
            "evidence": "suspected upstream", "details": '{"role": "suspect"}', "event_ids": []}


def card_rows(seed: int = 0, customers: int = 40):
    """(card rows, bad numbers as (detector, kind, value, ts)) and the truly illicit cards."""
    rng = random.Random(seed)
    rows, bad, illicit = [], [], set()
    for i in range(customers):  # ordinary customers, cards opened months or years ago
        holder = id_number(URBAN, dt.date(1960 + i % 40, 1 + i % 12, 1 + i % 27), i)
        ts = START - rng.randint(60, 900) * DAY - dt.timedelta(hours=rng.random() * 10)
        rows.append(sim_card(ts, f"138{10_000_000 + i:08d}", holder, f"hall-{1 + i % 2}",
                             f"ag-{1 + i % 4}"))
        rows.append(bank_card(ts + DAY, f"6222{100_000_000_000 + i:012d}", holder, "branch-1"))
    for i in range(2):  # the insider's own ordinary cards, long ago
        holder = id_number(URBAN, dt.date(1980, 5, 5), 500 + i)
        rows.append(sim_card(START - (400 + 30 * i) * DAY, f"137{20_000_000 + i:08d}", holder,
                             "hall-9", INSIDER))
    for i in range(6):  # the insider opens cards in customers' names for a farm
        holder = id_number(URBAN, dt.date(1970 + i, 3, 3), 600 + i)
        number = f"170{30_000_000 + i:08d}"
        rows.append(sim_card(START - (10 - i) * DAY, number, holder, "hall-9", INSIDER))
        illicit.add(("sim", number))
        if i < 3:
            bad.append(("fraud_number", "phone", number, START + (1 + i) * DAY))
    burst = id_number("450103", dt.date(1999, 9, 9), BURST_ID_SEQ)  # one identity, three shops
    for i in range(3):
        number = f"171{40_000_000 + i:08d}"
        rows.append(sim_card(START - 3 * DAY + i * dt.timedelta(hours=5), number, burst,
                             f"dealer-{i}", f"ag-d{i}", county="450103"))
        illicit.add(("sim", number))
    for i in range(5):  # a promotion team in a village: five elderly people in one afternoon
        holder = id_number(RURAL, dt.date(1948 + i, 7, 1), 700 + i)
        number = f"172{50_000_000 + i:08d}"
        rows.append(sim_card(START - 5 * DAY + i * dt.timedelta(minutes=20), number, holder,
                             "hall-3", TEAM, county=RURAL))
        illicit.add(("sim", number))
    sold = "6222999900001111"  # a young man's new card, sold to a gang
    rows.append(bank_card(START - 20 * DAY, sold, id_number(URBAN, dt.date(2004, 1, 1), 800),
                          "branch-1"))
    bad.append(("mule_account", "account", sold, START + 2 * DAY))
    illicit.add(("bank", sold))
    # an old customer's card misused later: a compromised customer, not a sold card
    bad.append(("mule_account", "account", f"6222{100_000_000_000:012d}", START + 2 * DAY))
    return rows, bad, illicit


def card_log(seed: int = 0, customers: int = 40) -> dict[str, pa.Table]:
    rows, bad, _ = card_rows(seed, customers)
    log = as_log({"card": table("card", rows)})
    top = max(log["card"]["seq"].to_pylist())
    by_det: dict[str, list[dict]] = {"fraud_number": [], "mule_account": []}
    for i, (det, kind, value, ts) in enumerate(sorted(bad, key=lambda b: b[3])):
        by_det[det].append(suspicion(det, kind, value, ts, top + 1 + i))
    for det, sigs in by_det.items():
        log[signals_key(det)] = pa.Table.from_pylist(sigs, schema=SIGNAL_SCHEMA)
    return log
