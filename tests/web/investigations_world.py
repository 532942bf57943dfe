"""A small world for the console's investigation pages: a village-push ring's registrations and
deal orders (tests/scenario.py), and a shop whose customers' waybills an ex-employee's account
read at night from a PC with a remote-control tool, then fake customer service called them."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from api.api_world import ORGS
from fanzha.api.access import add_key
from fanzha.engine.runner import Engine
from fanzha.ingest import ingest_rows
from fanzha.store import open_store
from scenario import registrations, ring_orders

T0 = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)  # 10:00 Beijing time
LEAK_SHOP = "s-3"
INSIDER = "sub-0017"
FRAUD = "17000000001"


def leak_events(seed: int = 0, customers: int = 300, shops: int = 10, victims: int = 10):
    """Orders of `customers` people at `shops` shops, all shipped from wh-1; every waybill read
    once by a packer; LEAK_SHOP's also by INSIDER at 03:00 with ToDesk; `victims` of LEAK_SHOP's
    customers and two others are then scammed by FRAUD (police cases)."""
    rng = random.Random(seed)
    orders, accesses = [], []
    for c in range(customers):
        ts = T0 + dt.timedelta(hours=rng.random() * 72)
        o = {"ts": ts, "order_id": f"O{c}", "account_id": f"c{c}", "platform": "mall",
             "shop_id": f"s-{c % shops}", "warehouse_id": "wh-1",
             "ship_phone": f"139{c:08d}", "waybill_no": f"YT{c:06d}", "amount_fen": 3000}
        orders.append(o)
        read = {"site": "wh-1", "action": "query", "system": "WMS", "waybill_no": o["waybill_no"],
                "order_id": o["order_id"], "subject_phone": o["ship_phone"], "record_count": 1}
        accesses.append({**read, "ts": ts + dt.timedelta(hours=1), "device_id": "pc-02",
                         "operator_account": f"packer-{c % 3}", "ip": "10.0.0.2"})
        if o["shop_id"] == LEAK_SHOP:
            night = (ts + dt.timedelta(days=1)).replace(hour=19, minute=c % 60)  # 03:xx local
            accesses.append({**read, "ts": night, "device_id": "pc-09", "ip": "10.0.0.9",
                             "operator_account": INSIDER, "remote_tools": "ToDesk.exe"})
    mine = [o for o in orders if o["shop_id"] == LEAK_SHOP]
    hit = rng.sample(mine, victims) + rng.sample([o for o in orders if o not in mine], 2)
    cases = [{"ts": T0 + dt.timedelta(days=6, hours=i), "case_id": f"L{i}",
              "fraud_type": "fake_customer_service", "victim_phone": o["ship_phone"],
              "loss_fen": 500_000, "fraud_contact": FRAUD, "source": "police"}
             for i, o in enumerate(hit)]  # fmt: skip
    return {"order": orders, "waybill_access": accesses, "case": cases}


def build(path: Path) -> dict[str, str]:
    """Write the world to the DuckDB file `path`; keys by role."""
    with open_store(str(path)) as s:
        tables = {**registrations(7, 20), "order": ring_orders(7, 20)}
        events = {k: t.to_pylist() for k, t in tables.items()}
        for kind, rows in leak_events().items():
            events[kind] = events.get(kind, []) + rows
        for kind, rows in events.items():
            summary = ingest_rows(s, kind, rows)
            assert summary.total("quarantined") == 0, (kind, summary.to_dict())
        Engine(s).run()
        return {role: add_key(s, ORGS[role], role)["token"]
                for role in ("analyst", "police", "citizen", "bank")}
