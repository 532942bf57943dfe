"""Look-ups: everything the log holds about one phone, account, ID number, domain, URL or app.

For the centre and police: the events that mention the value (calls, SMS, cards, registrations,
transfers, orders, access logs, reports, cases), what intelligence says about it, the alerts about
it and the list entries for it. Masked unless unmasked with a reason (audited).
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from fastapi import APIRouter, Depends, HTTPException, Query

from fanzha import ids
from fanzha.api.access import CENTRE
from fanzha.api.deps import allow
from fanzha.api.models import Lookup
from fanzha.api.routers.alerts import queue
from fanzha.api.routers.intel import intel_entry
from fanzha.api.views import View, view
from fanzha.ingest.validate import host_of
from fanzha.linkage import deliveries

router = APIRouter(tags=["look-ups"])

# entity kind -> event kind -> the fields that may hold such a value
FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "phone": {
        "call": ("caller", "callee"),
        "sms": ("sender", "receiver"),
        "visit": ("phone",),
        "app": ("phone",),
        "registration": ("phone",),
        "card": ("card_number", "family_phone"),
        "transfer": ("payer_phone",),
        "order": ("ship_phone",),
        "waybill_access": ("subject_phone",),
        "report": ("target_value", "reporter"),
        "case": ("victim_phone", "fraud_contact"),
    },
    "account": {
        "transfer": ("payer_account", "payee_account"),
        "registration": ("account_id",),
        "login": ("account_id",),
        "order": ("account_id", "payment_account"),
        "card": ("card_number",),
        "report": ("target_value",),
        "case": ("victim_account", "fraud_contact"),
    },
    "id_number": {
        "card": ("id_number",),
        "registration": ("id_number",),
        "transfer": ("payer_id_number",),
        "case": ("victim_id_number",),
    },
    "domain": {"visit": ("domain",), "report": ("target_value",)},
    "url": {"visit": ("url",), "report": ("target_value",), "case": ("fraud_contact",)},
    "app": {"app": ("app_id",), "report": ("target_value",)},
}
INTEL_KIND = {
    "phone": "phone",
    "account": "account",
    "domain": "domain",
    "url": "url",
    "app": "app",
}


def _normalized(entity_kind: str, value: str) -> str:
    try:
        if entity_kind == "phone":
            return ids.phone.parse(value).value
        if entity_kind == "id_number":
            return ids.resident_id.parse(value).value
        if entity_kind == "domain":
            return host_of(value)
    except (ids.IdError, ValueError) as e:
        raise HTTPException(422, f"not a valid {entity_kind}: {e}") from None
    return value.strip()


@router.get(
    "/lookup/{entity_kind}/{value}",
    response_model=Lookup,
    summary="Everything about one value",
    **allow(*CENTRE),
)
def lookup(
    entity_kind: Literal["phone", "account", "id_number", "domain", "url", "app"],
    value: str,
    limit: int = Query(50, ge=1, le=1000, description="Latest events per kind"),
    v: View = Depends(view),
) -> dict:
    if not value.strip() or len(value) > 2048:
        raise HTTPException(422, "give a value (at most 2048 characters)")
    norm = _normalized(entity_kind, value)
    events: dict[str, list[dict]] = {}
    counts: dict[str, int] = {}
    with v.db() as s:
        top = s.max_seq()
        for kind_name, fields in FIELDS[entity_kind].items():
            t = s.lookup_events(kind_name, fields, [norm], top)
            counts[kind_name] = t.num_rows
            if t.num_rows:
                events[kind_name] = t.slice(max(t.num_rows - limit, 0)).to_pylist()[::-1]
        intel = intel_entry(s, INTEL_KIND[entity_kind], norm) if entity_kind in INTEL_KIND else None
        _, alerts = queue(s, pl.col.entity == norm)
        entries = [e for e in s.list_entries().to_pylist() if e["entity"] == norm]
        status = deliveries(s, entries)
    out = {
        "entity_kind": entity_kind,
        "value": norm,
        "intel": intel.model_dump() if intel else None,
        "counts": counts,
        "events": events,
        "alerts": alerts,
        "list_entries": [{**e, "delivery": status.get(e["entry_id"])} for e in entries],
    }
    return v.show(out, f"lookup:{entity_kind}:{norm}")
