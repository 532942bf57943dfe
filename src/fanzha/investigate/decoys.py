"""Decoy waybills (honey records): monitored numbers planted in one warehouse, PC or sub-account.

Fraud traced: waybill theft for refund scams (report 004). A decoy is a waybill or customer record
whose phone number belongs to the anti-fraud centre and appears nowhere else: not in any other
site, not in any call or SMS before it is issued. Each placement (a site, optionally one PC or one
sub-account) gets its own numbers. Nobody has a reason to call a decoy number; a call or SMS to it
proves that the record left that placement, and the number that called is the fraudster's (law
art. 29: the source of the data, with certainty rather than statistics).

The registry is the store's list `decoy` (one entry per number: partner = the site, evidence = the
placement and the fake recipient to print). `fanzha leaks decoys issue|list|hits` drive it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import orjson
import polars as pl
import pyarrow as pa

from fanzha.errors import FanzhaError
from fanzha.ids import IdError
from fanzha.ids import phone as phone_ids
from fanzha.store.tables import LIST_SCHEMA

LIST_NAME = "decoy"
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛")
_STREETS = ("人民路", "解放路", "建设路", "中山路", "和平路", "新华路", "朝阳路", "文化路")


def placement(site: str, device: str | None = None, account: str | None = None) -> str:
    """`site`, `site/pc:DEVICE` or `site/account:ACCOUNT`: where one decoy is planted."""
    if not site or not site.strip():
        raise FanzhaError("a decoy needs a site")
    if device and account:
        raise FanzhaError("plant a decoy at one PC or one sub-account, not both")
    if device:
        return f"{site}/pc:{device}"
    if account:
        return f"{site}/account:{account}"
    return site


def _recipient(number: str) -> tuple[str, str]:
    """A plausible fake recipient name and address, fixed by the number."""
    h = hashlib.sha256(number.encode()).digest()
    name = _SURNAMES[h[0] % len(_SURNAMES)] + _GIVEN[h[1] % len(_GIVEN)]
    addr = f"{_STREETS[h[2] % len(_STREETS)]}{h[3] % 200 + 1}号{h[4] % 20 + 1}栋{h[5] % 30 + 101}室"
    return name, addr


def registry(store: Any) -> pl.DataFrame:
    """decoy, site, placement, name, address, issued_ts, decoy_id."""
    t = pl.from_arrow(store.list_entries(LIST_NAME))
    schema = {"decoy": pl.String, "site": pl.String, "placement": pl.String, "name": pl.String,
              "address": pl.String, "issued_ts": pl.Datetime("ms", "UTC"), "decoy_id": pl.String}
    if not t.height:
        return pl.DataFrame(schema=schema)
    ev = t["evidence"].map_elements(orjson.loads, return_dtype=pl.Object).to_list()
    return pl.DataFrame(
        {
            "decoy": t["entity"],
            "site": t["partner"],
            "placement": [e.get("placement") for e in ev],
            "name": [e.get("name") for e in ev],
            "address": [e.get("address") for e in ev],
            "issued_ts": t["created_ts"],
            "decoy_id": t["ref"],
        },
        schema=schema,
    )


def _used_numbers(store: Any, candidates: list[str]) -> set[str]:
    top = store.max_seq()
    used: set[str] = set()
    for kind, fields in (("call", ("caller", "callee")), ("sms", ("sender", "receiver")),
                         ("order", ("ship_phone",))):  # fmt: skip
        t = pl.from_arrow(store.lookup_events(kind, fields, candidates, top))
        for f in fields:
            if t.height:
                used |= set(t[f].to_list())
    return used


def issue(
    store: Any,
    site: str,
    pool: str,
    count: int = 1,
    device: str | None = None,
    account: str | None = None,
    at: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Issue `count` new decoy numbers from the centre's monitored number block `pool` (the
    leading digits of 11-digit mobiles, e.g. 1709900), for one placement. A number already in the
    registry or seen in any call, SMS or order is never issued."""
    where = placement(site, device, account)
    if not pool.isdigit() or not 3 <= len(pool) <= 10:
        raise FanzhaError("--pool must be 3-10 leading digits of the centre's monitored numbers")
    if not 1 <= count <= 10_000:
        raise FanzhaError("--count must be between 1 and 10000")
    taken = set(registry(store)["decoy"].to_list())
    free = 10 ** (11 - len(pool))
    out: list[str] = []
    start = 0
    while len(out) < count and start < free:
        chunk = [pool + str(i).zfill(11 - len(pool)) for i in range(start, min(start + 2000, free))]
        start += 2000
        chunk = [n for n in chunk if n not in taken and _is_mobile(n)]
        used = _used_numbers(store, chunk) if chunk else set()
        out += [n for n in chunk if n not in used][: count - len(out)]
    if len(out) < count:
        raise FanzhaError(f"the pool {pool} has only {len(out)} unused mobile numbers left")
    now = at or dt.datetime.now(dt.UTC)
    rows = []
    for n in out:
        name, addr = _recipient(n)
        did = hashlib.sha256(f"{LIST_NAME}\x1f{n}".encode()).hexdigest()[:16]
        ev = {"placement": where, "name": name, "address": addr}
        rows.append({
            "entry_id": hashlib.sha256(f"{LIST_NAME}\x1f{site}\x1f{n}".encode()).hexdigest()[:32],
            "list_name": LIST_NAME, "partner": site, "entity_kind": "phone", "entity": n,
            "action": "monitor", "reason": f"decoy record planted at {where}",
            "evidence": orjson.dumps(ev).decode(), "created_ts": now, "expires_ts": None,
            "ref": f"decoy-{did}",
        })  # fmt: skip
    store.add_list_entries(pa.Table.from_pylist(rows, schema=LIST_SCHEMA))
    store.append_audit("cli", "analyst", "decoy.issue", where, f"{len(out)} decoy numbers", {})
    return [
        {"decoy": r["entity"], "site": site, "placement": where, "decoy_id": r["ref"],
         **orjson.loads(r["evidence"])}
        for r in rows
    ]  # fmt: skip


def _is_mobile(n: str) -> bool:
    try:
        return phone_ids.parse(n).kind == "mobile"
    except IdError:
        return False


def decoy_hits(store: Any) -> pl.DataFrame:
    """Every call or SMS to a decoy after it was issued: decoy, site, placement, fraud_contact
    (the number that called or texted), ts, channel, event_id."""
    reg = registry(store)
    schema = {"decoy": pl.String, "site": pl.String, "placement": pl.String,
              "fraud_contact": pl.String, "ts": pl.String, "channel": pl.String,
              "event_id": pl.String}  # fmt: skip
    if not reg.height:
        return pl.DataFrame(schema=schema)
    top = store.max_seq()
    nums = reg["decoy"].to_list()
    frames = []
    for kind, to, frm in (("call", "callee", "caller"), ("sms", "receiver", "sender")):
        t = pl.from_arrow(store.lookup_events(kind, (to,), nums, top))
        if t.height:
            frames.append(t.select("ts", "event_id", decoy=pl.col(to), fraud_contact=pl.col(frm),
                                   channel=pl.lit(kind)))  # fmt: skip
    if not frames:
        return pl.DataFrame(schema=schema)
    hits = pl.concat(frames).join(reg, on="decoy").filter(pl.col.ts >= pl.col.issued_ts)
    return hits.sort("ts", "event_id").select(
        "decoy", "site", "placement", "fraud_contact",
        ts=pl.col.ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ"), channel="channel", event_id="event_id",
    )  # fmt: skip
