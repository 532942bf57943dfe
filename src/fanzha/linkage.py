"""Linkage: what fanzha tells its partners, and whether it reached them.

A freeze order is worth something only if the bank has it within the 48-hour window; an account a
citizen says was opened in their name must reach the platform that opened it. Every piece of news
for a partner (today: new entries of its freeze / cancel / block lists) is queued as a
notification with a stable id, so queueing the same news twice does nothing, and is delivered by
the partner's channel:

- **webhook**: an HTTP POST of the JSON payload, signed with the partner's secret
  (`X-Fanzha-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`, as Stripe and
  GitHub sign theirs) and carrying `Idempotency-Key: <notification id>` so that a receiver that
  sees a retry of something it already processed can drop it. A 2xx answer is delivered; anything
  else is retried with exponential back-off, and after `max_attempts` the notification is failed
  (an analyst can queue it again);
- **file drop**: `<dir>/<topic>-<notification id>.json`, written to a temporary name and renamed,
  so a partner's pick-up job never sees half a file and a repeated drop replaces it with the same
  bytes;
- **pull**: a partner with neither fetches its notifications from the API and acknowledges them.

The delivery status of each notification (pending, delivered, failed; attempts; last error) is in
the store's notifications table. One-time codes for citizens go out through an SMS sink of the
same two kinds (a JSONL file or a webhook).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager as ContextManager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pyarrow as pa

from fanzha.errors import FanzhaError
from fanzha.hashing import sha256_32_one
from fanzha.store import Store
from fanzha.store.tables import NOTIFICATION_SCHEMA

SIGNATURE_HEADER = "X-Fanzha-Signature"
MAX_ATTEMPTS = 8
BASE_DELAY_S = 30.0  # 30 s, 1 min, 2 min, ... capped at MAX_DELAY_S
MAX_DELAY_S = 3600.0


def now() -> dt.datetime:
    t = dt.datetime.now(dt.UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def _json(obj: Any) -> bytes:
    return orjson.dumps(obj, default=str, option=orjson.OPT_SORT_KEYS)


# --- signatures ----------------------------------------------------------------------------------
def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes, t: int) -> str:
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str, at: int, tolerance_s: int = 300) -> bool:
    """What a partner's receiver checks: the signature matches and is recent (no replays)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(at - t) > tolerance_s:
        return False
    expect = sign(secret, body, t).split("v1=", 1)[1]
    return hmac.compare_digest(expect, parts.get("v1", ""))


# --- queueing ------------------------------------------------------------------------------------
def notification_id(partner: str, topic: str, key: str) -> str:
    return sha256_32_one("\x1f".join([partner, topic, key]))


def list_entry_notification_id(entry: Mapping[str, Any]) -> str:
    return notification_id(entry["partner"], "list_entry", entry["entry_id"])


def queue(
    store: Store, items: Iterable[tuple[str, str, str, Mapping[str, Any]]], at: dt.datetime
) -> int:
    """Queue (partner, topic, key, payload) notifications; the id is a hash of partner, topic
    and key, so the same news is queued once. Returns how many were new."""
    rows = []
    for partner, topic, key, payload in items:
        nid = notification_id(partner, topic, key)
        body = {"notification_id": nid, "partner": partner, "topic": topic, **payload}
        rows.append(
            {
                "notification_id": nid,
                "partner": partner,
                "topic": topic,
                "payload": _json(body).decode(),
                "created_ts": at,
                "status": "pending",
                "attempts": 0,
                "next_attempt_ts": at,
            }
        )
    if not rows:
        return 0
    return store.add_notifications(pa.Table.from_pylist(rows, NOTIFICATION_SCHEMA))


def queue_list_entries(
    store: Store,
    entries: pa.Table,
    at: dt.datetime,
    show: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
) -> int:
    """One notification per list entry, to the partner that must act on it; `show` gives each
    entry as the partner may see it (the API masks all but the identifier to act on)."""
    rows = entries.to_pylist()
    shown = show(rows) if show and rows else rows
    items = [(e["partner"], "list_entry", e["entry_id"], {"entry": e}) for e in shown]
    return queue(store, items, at)


def deliveries(store: Store, entries: list[dict[str, Any]]) -> dict[str, str | None]:
    """entry_id -> the delivery status of its notification (None: never queued)."""
    if not entries:
        return {}
    partners = {e["partner"] for e in entries}
    t = store.notifications(partner=partners.pop()) if len(partners) == 1 else store.notifications()
    status = dict(zip(t["notification_id"].to_pylist(), t["status"].to_pylist(), strict=True))
    return {e["entry_id"]: status.get(list_entry_notification_id(e)) for e in entries}


# --- delivery ------------------------------------------------------------------------------------
class DeliveryError(Exception):
    """This attempt failed; the notification is retried later."""


def _drop(directory: str, name: str, body: bytes) -> None:
    d = Path(directory)
    try:
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f".{name}.tmp"
        tmp.write_bytes(body)
        os.replace(tmp, d / name)
    except OSError as e:
        raise DeliveryError(f"{directory}: {e.strerror or e}") from None


def _post(client: httpx.Client, url: str, body: bytes, headers: Mapping[str, str]) -> None:
    try:
        r = client.post(url, content=body, headers=dict(headers))
    except httpx.HTTPError as e:
        raise DeliveryError(f"{url}: {type(e).__name__}: {e}") from None
    if not 200 <= r.status_code < 300:
        raise DeliveryError(f"{url} answered {r.status_code}")


def backoff(attempts: int, base_s: float = BASE_DELAY_S) -> dt.timedelta:
    return dt.timedelta(seconds=min(base_s * 2 ** max(attempts - 1, 0), MAX_DELAY_S))


def deliver(
    session: Callable[[], ContextManager[Store]],
    at: dt.datetime | None = None,
    *,
    client: httpx.Client | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    base_delay_s: float = BASE_DELAY_S,
    limit: int = 1000,
) -> dict[str, int]:
    """One pass: every due notification of a partner with a webhook or a drop folder is tried
    once. `session()` lends the store; it is not held while sending (a slow partner must not
    stall the API). Returns counts by outcome."""
    at = at or now()
    with session() as s:
        due = s.notifications(due_by=at).slice(0, limit).to_pylist()
        endpoints = {p["partner"]: p for p in s.partners()}
    counts = {"delivered": 0, "retry": 0, "failed": 0, "pull": 0}
    own_client = client is None
    client = client or httpx.Client(timeout=10.0)
    results = []
    try:
        for n in due:
            ep = endpoints.get(n["partner"]) or {}
            body = n["payload"].encode()
            channel = "webhook" if ep.get("webhook_url") else "file" if ep.get("file_dir") else None
            if channel is None:
                counts["pull"] += 1  # fetched and acknowledged through the API
                continue
            try:
                if channel == "webhook":
                    t = int(at.timestamp())
                    headers = {
                        "Content-Type": "application/json",
                        "Idempotency-Key": n["notification_id"],
                        "X-Fanzha-Topic": n["topic"],
                    }
                    if ep.get("secret"):
                        headers[SIGNATURE_HEADER] = sign(ep["secret"], body, t)
                    _post(client, ep["webhook_url"], body, headers)
                else:
                    _drop(ep["file_dir"], f"{n['topic']}-{n['notification_id']}.json", body)
                results.append((n, "delivered", channel, None))
            except DeliveryError as e:
                gave_up = n["attempts"] + 1 >= max_attempts
                results.append((n, "failed" if gave_up else "pending", channel, str(e)[:500]))
    finally:
        if own_client:
            client.close()
    with session() as s:
        for n, status, channel, error in results:
            attempts = n["attempts"] + 1
            nxt = at + backoff(attempts, base_delay_s) if status == "pending" else None
            s.record_delivery(n["notification_id"], status, attempts, at, nxt, channel, error)
            counts["retry" if status == "pending" else status] += 1
            if status == "delivered":  # personal data left fanzha: who got what, and why
                s.append_audit(
                    "fanzha",
                    "system",
                    "deliver_notification",
                    f"notification:{n['notification_id']}",
                    f"{n['topic']} addressed to {n['partner']}",
                    {"partner": n["partner"], "channel": channel, "attempts": attempts},
                )
    return counts


def store_session(store: Store) -> Callable[[], ContextManager[Store]]:
    """A session factory over one open store (the CLI's)."""
    return lambda: contextlib.nullcontext(store)


# --- SMS (one-time codes to citizens) ------------------------------------------------------------
class SmsSink:
    """Sends a text to a phone: appended to `<dir>/sms.jsonl`, or POSTed as JSON to a URL (the
    operator's SMS gateway or a test receiver)."""

    def __init__(self, target: str):
        if "://" in target and not target.startswith(("http://", "https://")):
            raise FanzhaError(f"SMS sink {target!r}: give a directory or an http(s) URL")
        self.target = target

    def send(self, phone: str, text: str, purpose: str) -> None:
        msg = {"ts": now().isoformat(), "phone": phone, "text": text, "purpose": purpose}
        if self.target.startswith(("http://", "https://")):
            with httpx.Client(timeout=10.0) as c:
                _post(c, self.target, _json(msg), {"Content-Type": "application/json"})
            return
        d = Path(self.target)
        try:
            d.mkdir(parents=True, exist_ok=True)
            with open(d / "sms.jsonl", "ab") as fh:
                fh.write(_json(msg) + b"\n")
        except OSError as e:
            raise DeliveryError(f"{d}: {e.strerror or e}") from None
