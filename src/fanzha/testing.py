"""Valid random events of any kind, straight from the event model, for tests and benchmarks.

Not a simulation (that is `fanzha.sim`): values are valid and typed, contacts repeat within small
pools of numbers so that detectors have something to find, and nothing else is modelled.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa

from fanzha import ids
from fanzha.events import KINDS, EventKind, Field, event_ids
from fanzha.taxonomy import FRAUD_TYPE_CODES

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


class Pools:
    """Shared values so that events of different kinds talk about the same people."""

    def __init__(self, rng: random.Random, phones: int = 50, accounts: int = 50):
        self.phones = [ids.phone.fake_mobile(rng) for _ in range(phones)]
        self.accounts = [ids.bank_card.fake(rng) for _ in range(accounts)]
        self.counties = [
            r.code for r in ids.resident_id.regions() if not r.code.endswith("00") and r.end is None
        ][:200]


def _value(
    f: Field,
    rng: random.Random,
    pools: Pools,
    start: dt.datetime,
    span: dt.timedelta,
    selector: str | None = None,
) -> Any:
    t = f.type
    if t == "ts":
        return start + dt.timedelta(milliseconds=rng.randrange(int(span.total_seconds() * 1000)))
    if t in ("phone", "mobile"):
        return rng.choice(pools.phones)
    if t == "id_number":
        return ids.resident_id.fake(rng)
    if t == "account":
        return rng.choice(pools.accounts)
    if t == "bank_card":
        return ids.bank_card.fake(rng)
    if t in ("int", "money"):
        lo = max(f.min if f.min is not None else 0, 0)
        hi = min(f.max if f.max is not None else 10_000, lo + 10_000_000)
        return rng.randint(lo, hi)
    if t == "bool":
        return rng.random() < 0.5
    if t == "url":
        return f"https://site{rng.randrange(20)}.example.cn/p/{rng.randrange(100)}"
    if t == "domain":
        return f"site{rng.randrange(20)}.example.cn"
    if t == "county":
        return rng.choice(pools.counties)
    if t == "enum":
        return rng.choice(f.choices)
    if t == "fraud_type":
        return rng.choice(FRAUD_TYPE_CODES)
    if t == "text":
        return rng.choice(["您的包裹丢失请联系客服", "【银行】验证码123456", "明天开会", "好的"])
    return f"{f.name}-{rng.randrange(1000)}"


def random_events(
    kind: str | EventKind,
    n: int,
    rng: random.Random,
    *,
    pools: Pools | None = None,
    start: dt.datetime = START,
    span: dt.timedelta = dt.timedelta(days=7),
    fill: float = 0.7,
) -> pa.Table:
    """n valid events of a kind, typed by its schema (no envelope)."""
    k = KINDS[kind] if isinstance(kind, str) else kind
    pools = pools or Pools(rng)
    typed = {value: (sel, dict(types)) for value, sel, types in k.typed_by}
    rows = []
    for _ in range(n):
        row: dict[str, Any] = {}
        for f in k.fields:
            if f.name in typed:
                continue
            if f.required or rng.random() < fill:
                row[f.name] = _value(f, rng, pools, start, span)
            else:
                row[f.name] = f.default
        for value, (sel, types) in typed.items():
            ftype = types.get(row.get(sel), "token")
            row[value] = _value(Field(value, ftype, ""), rng, pools, start, span)
        for target, source in k.derive:
            if row.get(target) is None and k.field(target).type == "bool":
                row[target] = (row.get(source) or 0) > 0
        rows.append(row)
    schema = pa.schema([pa.field(f.name, f.arrow_type) for f in k.fields])
    return pa.Table.from_pylist(rows, schema=schema)


def as_log(events: Mapping[str, pa.Table], first_seq: int = 1) -> dict[str, pa.Table]:
    """Give events the envelope the store gives them: ids, and seq in event-time order."""
    keyed = []
    with_ids = {}
    for name, t in events.items():
        k = KINDS[name]
        eid = event_ids(k, t)
        with_ids[name] = (t, eid)
        keyed += [
            (ts, name, e, i)
            for i, (ts, e) in enumerate(zip(t["ts"].to_pylist(), eid.to_pylist(), strict=True))
        ]
    keyed.sort(key=lambda x: (x[0], x[1], x[2]))
    seq_of = {(name, i): first_seq + j for j, (_, name, _, i) in enumerate(keyed)}
    out = {}
    for name, (t, eid) in with_ids.items():
        k = KINDS[name]
        seqs = [seq_of[(name, i)] for i in range(t.num_rows)]
        full = (
            t.append_column("seq", pa.array(seqs, pa.int64()))
            .append_column("event_id", eid)
            .append_column("batch_id", pa.array([1] * t.num_rows, pa.int64()))
            .append_column("source", pa.nulls(t.num_rows, pa.string()))
        )
        out[name] = full.select(k.schema.names).cast(k.schema).sort_by("seq")
    return out


def rows_for_csv(table: pa.Table) -> list[dict[str, str]]:
    """A typed event table as the strings a partner would write (ISO times, true/false)."""
    out = []
    for r in table.to_pylist():
        row = {}
        for key, v in r.items():
            if v is None:
                row[key] = ""
            elif isinstance(v, dt.datetime):
                row[key] = v.isoformat(timespec="milliseconds")
            elif isinstance(v, bool):
                row[key] = "true" if v else "false"
            else:
                row[key] = str(v)
        out.append(row)
    return out


def write_csv(
    path: str,
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    encoding: str = "utf-8",
) -> None:
    import csv

    columns = list(columns or (rows[0].keys() if rows else []))
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)


def ingest_csvs(folder: Any, store: Any, **kinds: Sequence[Mapping[str, Any]]) -> None:
    """Write each kind's rows as `folder/<kind>.csv` and ingest them all, as a partner would."""
    from fanzha.ingest import Source, ingest

    sources = []
    for kind, rows in kinds.items():
        path = os.path.join(str(folder), f"{kind}.csv")
        write_csv(path, rows)
        sources.append(Source(path, kind))
    ingest(store, sources)


@contextlib.contextmanager
def served(
    db: str, *options: str, env: Mapping[str, str] | None = None, start_s: float = 60.0
) -> Iterator[tuple[str, subprocess.Popen]]:
    """A real `fanzha serve` over `db` on a free loopback port, for tests and benchmarks.

    Yields (base URL, process) once /v1/health answers; on exit the server is stopped with
    SIGINT and waited for (its exit code is then on the process)."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "fanzha", "serve", "--port", str(port), "--db", db, *options],
        env=dict(env if env is not None else os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_s
        while True:  # wait until it listens; a server that exits or never listens is an error
            try:
                if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("fanzha serve did not start") from None
                time.sleep(0.1)
        yield base, proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
