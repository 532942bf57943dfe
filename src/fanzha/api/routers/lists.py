"""Freeze, cancel, block and watch lists, per partner.

The centre and police add entries (a trace's freeze orders arrive the same way); each entry is
addressed to the partner that must act (a bank freezes an account, an operator cancels a card, a
platform blocks an account) and queues a notification for it. A partner sees only the entries
addressed to it, with the identifier it must act on in clear (it is its own customer's) and the
rest masked; what it was shown is written to the audit log.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from fanzha.api.access import CENTRE, PARTNERS, Principal
from fanzha.api.deps import allow, principal
from fanzha.api.models import ListAdded, ListEntriesIn, ListEntry
from fanzha.api.views import (
    FILE_RESPONSES,
    View,
    export_view,
    file_response,
    notify_partners,
    own_partner,
    partner_view,
    view,
)
from fanzha.hashing import sha256_32_one
from fanzha.linkage import deliveries, now
from fanzha.store.tables import LIST_SCHEMA

router = APIRouter(tags=["lists"])
READERS = (*CENTRE, *PARTNERS)
ListName = Literal["freeze", "cancel", "block", "watch", "notify"]


def _entries(v: View, list_name: str | None, partner: str | None, entity: str | None) -> list[dict]:
    partner = own_partner(v.principal, partner, "list entries")
    with v.db() as s:
        rows = s.list_entries(list_name, partner).to_pylist()
        if entity is not None:
            rows = [r for r in rows if r["entity"] == entity]
        status = deliveries(s, rows)
    return [{**r, "delivery": status.get(r["entry_id"])} for r in rows]


def _shown(v: View, rows: list[dict], target: str) -> list[dict]:
    if not rows:
        return rows
    if v.principal.role in PARTNERS:  # addressed to it: the identifier to act on, in clear
        v.audit("deliver_list", target, f"entries addressed to {v.principal.org}", rows=len(rows))
        return partner_view(rows)
    return v.show(rows, target)


@router.get("/lists", response_model=list[ListEntry], summary="List entries", **allow(*READERS))
def entries(
    list_name: ListName | None = None,
    partner: str | None = Query(None, max_length=128),
    entity: str | None = Query(None, max_length=2048),
    v: View = Depends(view),
) -> list[dict]:
    """The centre and police see every partner's lists (filter by `partner`); a bank, operator,
    platform or warehouse sees its own."""
    rows = _entries(v, list_name, partner, entity)
    return _shown(v, rows, f"lists:{partner or v.principal.org}:{list_name or 'all'}")


@router.get(
    "/lists/export",
    summary="Export list entries (CSV or JSONL), audited",
    response_class=Response,
    **allow(*READERS, responses=FILE_RESPONSES),
)
def export(
    format: Literal["csv", "jsonl"] = "csv",
    list_name: ListName | None = None,
    partner: str | None = Query(None, max_length=128),
    v: View = Depends(export_view),
) -> Response:
    """As `GET /lists`, as a file; needs a reason and is written to the audit log."""
    rows = _entries(v, list_name, partner, None)
    target = f"lists:{partner or v.principal.org}:{list_name or 'all'}"
    if v.principal.role in PARTNERS:
        rows = partner_view(rows) if rows else rows
    elif not v.unmasked:
        rows = v.show(rows, target)
    v.audit("export", target, v.reason or "", rows=len(rows), unmasked=v.unmasked, format=format)
    return file_response(rows, [*LIST_SCHEMA.names, "delivery"], format)


@router.post("/lists", response_model=ListAdded, summary="Add list entries", **allow(*CENTRE))
def add(body: ListEntriesIn, p: Principal = Depends(principal), v: View = Depends(view)) -> dict:
    """Each entry is addressed to `partner`, who must act on `entity`; adding an entry twice
    adds nothing; each new entry queues a notification for its partner."""
    at = now()
    rows = []
    for e in body.entries:
        action = e.action or e.list_name
        ref = e.ref or f"api:{p.org}"
        rows.append(
            {
                "entry_id": sha256_32_one(
                    "\x1f".join([e.list_name, e.partner, e.entity, ref, action])
                ),
                "list_name": e.list_name,
                "partner": e.partner,
                "entity_kind": e.entity_kind,
                "entity": e.entity,
                "action": action,
                "reason": e.reason,
                "evidence": e.evidence,
                "created_ts": at,
                "expires_ts": e.expires_ts,
                "ref": ref,
            }
        )
    table = pa.Table.from_pylist(rows, LIST_SCHEMA)
    with v.db() as s:
        added = s.add_list_entries(table)
        queued = notify_partners(s, table, at)
    return {
        "added": added,
        "entry_ids": [r["entry_id"] for r in rows],
        "notifications_queued": queued,
    }
