"""Hand-made warehouse access logs: staff at work, and the insiders of report 004.

`warehouse_events` builds a few days at two sites: printers query and print the waybills of the
day in working hours, a shift lead exports the day's list, IT support logs in with a remote tool;
then, from day `leak_day` on, an ex-employee's account reads waybills in sequence at night from a
home PC, and a remote-control program on a printing PC bulk-queries at dawn.
"""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa

from fanzha.testing import as_log
from scenario import table

DAY0 = dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC)  # 00:00 on 2 March, Beijing time


def at(day: int, hour: float) -> dt.datetime:
    """Local (UTC+8) time `hour` on day `day` as a UTC datetime."""
    return DAY0 + dt.timedelta(days=day, hours=hour)


def access(ts, site, account, action, *, waybill=None, order=None, phone=None, device="pc-01",
           ip="10.1.1.5", records=1, tools=None, access_id=None, reason=None,
           system="WMS") -> dict:
    return {"ts": ts, "site": site, "operator_account": account, "action": action,
            "system": system, "device_id": device, "ip": ip, "waybill_no": waybill,
            "order_id": order, "subject_phone": phone, "record_count": records,
            "remote_tools": tools, "access_id": access_id, "service_ref": reason}


def roster(ts, site, account, action, role="printer") -> dict:
    return {"ts": ts, "site": site, "operator_account": account, "action": action,
            "staff_id": "e-" + account, "role": role}


def warehouse_events(seed: int = 0, days: int = 4, per_day: int = 24, leak_day: int = 2,
                     night_reads: int = 30, left: bool = True, remote: bool = True
                     ) -> dict[str, pa.Table]:
    rng = random.Random(seed)
    sites = {"wh-a": ["a-1", "a-2", "a-3"], "wh-b": ["b-1", "b-2", "b-3"]}
    ros = [roster(at(-30, 10), s, acc, "hire") for s, accs in sites.items() for acc in accs]
    ros += [roster(at(-30, 10), s, s + "-lead", "hire", "lead") for s in sites]
    ros += [roster(at(-40, 10), "wh-a", "a-old", "hire")]
    if left:
        ros += [roster(at(-5, 17), "wh-a", "a-old", "leave")]
    acc = []
    n = 0
    for d in range(days):
        for s, accs in sites.items():
            for i in range(per_day):
                n += 1
                wb = f"YT{7000000 + n * 7 + rng.randint(0, 3)}"
                t = at(d, 9 + 10 * i / per_day + rng.random() / 10)
                who = rng.choice(accs)
                dev = f"{s}-pc-0{rng.randint(1, 3)}"
                acc.append(access(t, s, who, "query", waybill=wb, order=f"O{n}", device=dev,
                                  phone=f"139{n:08d}"))
                acc.append(access(t + dt.timedelta(minutes=5), s, who, "print", waybill=wb,
                                  order=f"O{n}", device=dev, phone=f"139{n:08d}"))
            acc.append(access(at(d, 18.5), s, s + "-lead", "export", device=f"{s}-pc-01",
                              records=per_day + rng.randint(0, 3)))
        acc.append(access(at(d, 11), "wh-b", "b-3", "login", device="wh-b-pc-02", records=0,
                          tools="ToDesk.exe"))
        if d >= leak_day and left:
            for k in range(night_reads // 3):
                acc.append(access(at(d, 22 + k / 60), "wh-a", "a-old", "query",
                                  waybill=f"ZT{880000 + d * 100 + k}", device="home-pc",
                                  ip="36.40.2.9", phone=f"137{d * 100 + k:08d}"))
        if d >= leak_day and remote:
            t0 = at(d, 2)
            acc.append(access(t0, "wh-b", "b-1", "login", device="wh-b-pc-01", records=0,
                              tools="SunloginClient.exe,explorer.exe"))
            for k in range(night_reads):
                acc.append(access(t0 + dt.timedelta(seconds=30 + 4 * k), "wh-b", "b-1", "query",
                                  waybill=f"YT{9100000 + d * 1000 + k}", device="wh-b-pc-01",
                                  phone=f"136{d * 1000 + k:08d}",
                                  tools="SunloginClient.exe,explorer.exe"))
    for i, r in enumerate(acc):
        r["access_id"] = f"L{i:06d}"
    return {"waybill_access": table("waybill_access", acc), "roster": table("roster", ros)}


def warehouse_log(seed: int = 0, **kw) -> dict[str, pa.Table]:
    return as_log(warehouse_events(seed, **kw))
