"""The console tests' world: the API tests' small city (a fraud number that called two people,
a victim's money through mule accounts, a citizen with cards under her ID), its alerts, and the
police case traced and frozen, with a key per role (two centres)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from api.api_world import ORGS, world_events
from fanzha.api.access import ROLES, add_key
from fanzha.api.views import notify_partners
from fanzha.engine.runner import Engine
from fanzha.ingest import ingest_rows
from fanzha.investigate.funds import run_trace
from fanzha.linkage import now
from fanzha.store import open_store

AS_OF = dt.datetime(2026, 3, 2, 14, tzinfo=dt.UTC)


def build(path: Path, trace: bool = True) -> dict[str, str]:
    """Write the world to the DuckDB file `path` (with the police case traced and frozen unless
    not `trace`); the keys by role (and "other_bank")."""
    with open_store(str(path)) as s:
        for kind, rows in world_events().items():
            summary = ingest_rows(s, kind, rows)
            assert summary.total("quarantined") == 0, summary.to_dict()
        Engine(s).run()
        if trace:
            _, entries = run_trace(s, case="J1", as_of=AS_OF, freeze=True)
            assert entries is not None
            notify_partners(s, entries, now())  # as POST /v1/traces does: the banks are told
        keys = {role: add_key(s, ORGS[role], role)["token"] for role in ROLES}
        keys["other_bank"] = add_key(s, "bank-icbc", "bank")["token"]
    return keys


def codes(sms: Path) -> list[str]:
    """The one-time codes sent to the SMS sink folder, oldest first."""
    path = sms / "sms.jsonl"
    if not path.exists():
        return []
    return [json.loads(x)["text"].split("验证码是")[1][:6] for x in path.read_text().splitlines()]
