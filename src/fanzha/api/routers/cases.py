"""Cases: follow the victims' money, save the trace as a case, send freeze orders to the banks.

A trace is `fanzha trace` (fanzha.investigate.funds.run_trace) over a transfer index the app
keeps in memory and tops up with the transfers logged since the last request. Freezing adds the
orders to each bank's freeze list and queues a notification for the bank; the case's freeze
orders show whether each reached its bank.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from fanzha.api.access import Principal
from fanzha.api.deps import allow, principal
from fanzha.api.models import Case, CaseSummary, FreezeOrder, Problem, TraceIn
from fanzha.api.views import View, notify_partners, view
from fanzha.investigate.funds import TraceSettings, TransferIndex, run_trace
from fanzha.linkage import deliveries, now
from fanzha.store import Store

router = APIRouter(tags=["cases"])
CENTRE = ("analyst", "police")
NOT_FOUND = {404: {"model": Problem, "description": "No such case"}}


def _case(s: Store, case_id: str) -> dict[str, Any]:
    for c in s.cases():
        if c["case_id"] == case_id:
            return c
    raise HTTPException(404, f"no case {case_id!r}")


@router.get("/cases", response_model=list[CaseSummary], summary="Cases", **allow(*CENTRE))
def cases(v: View = Depends(view)) -> list[dict]:
    with v.db() as s:
        rows = s.cases()
    out = []
    for c in rows:
        d = c["data"] if isinstance(c["data"], dict) else {}
        totals = d.get("totals") or {}
        out.append(
            {
                "case_id": c["case_id"],
                "status": c["status"],
                "victim_payments": len(d.get("roots") or []),
                "victim_paid_fen": totals.get("victim_paid_fen"),
                "remaining_fen": totals.get("remaining_fen"),
                "freeze_orders": len(d.get("freeze_orders") or []),
            }
        )
    return out


@router.get(
    "/cases/{case_id}",
    response_model=Case,
    summary="A case and its trace",
    **allow(*CENTRE, responses=NOT_FOUND),
)
def case(case_id: str, v: View = Depends(view)) -> dict:
    with v.db() as s:
        c = _case(s, case_id)
    return v.show(c, f"case:{case_id}")


@router.get(
    "/cases/{case_id}/victims",
    response_model=list[dict[str, Any]],
    summary="The police-confirmed losses of a case",
    **allow(*CENTRE),
)
def victims(case_id: str, v: View = Depends(view)) -> list[dict]:
    """The case's events (one per payment of a victim): phone, account, loss, when paid."""
    with v.db() as s:
        rows = s.find_events("case", case_id=case_id).to_pylist()
    return v.show(rows, f"case:{case_id}:victims") if rows else []


@router.get(
    "/cases/{case_id}/freeze-orders",
    response_model=list[FreezeOrder],
    summary="A case's freeze orders and whether they reached the banks",
    **allow(*CENTRE, responses=NOT_FOUND),
)
def freeze_orders(case_id: str, v: View = Depends(view)) -> list[dict]:
    with v.db() as s:
        c = _case(s, case_id)
        entries = {
            e["entity"]: e for e in s.list_entries("freeze").to_pylist() if e["ref"] == case_id
        }
        delivery = deliveries(s, list(entries.values()))
    out = []
    for o in (c["data"] or {}).get("freeze_orders") or []:
        e = entries.get(o["account"])
        out.append(
            {
                "account": o["account"],
                "bank": o.get("bank"),
                "amount_fen": o["amount_fen"],
                "n_victims": o["n_victims"],
                "hop": o["hop"],
                "expires_ts": o["expires_ts"],
                "entry_id": e["entry_id"] if e else None,
                "delivery": delivery.get(e["entry_id"]) if e else None,
            }
        )
    return v.show(out, f"case:{case_id}:freeze-orders") if out else []


def _index(request: Request, s: Store) -> TransferIndex:
    state = request.app.state
    with state.index_lock:
        if state.transfers is None:
            state.transfers = TransferIndex.from_store(s)
        else:
            state.transfers.refresh(s)
        return state.transfers


@router.post(
    "/traces",
    response_model=dict[str, Any],
    summary="Follow victims' money; save it as a case; freeze",
    **allow(*CENTRE),
)
def traces(
    body: TraceIn,
    request: Request,
    p: Principal = Depends(principal),
    v: View = Depends(view),
) -> dict:
    """From victims' payments (transfer ids), an account's payments from `since`, or every
    payment of a case: at most `levels` accounts downstream within `window_hours`, the money
    allocated FIFO or proportionally, stopping at merchants, aggregators and exchanges. With
    `freeze`, each account still holding traced money gets an emergency-freeze entry on its
    bank's list, and the bank is notified."""
    settings = TraceSettings(levels=body.levels, window_hours=body.window_hours, rule=body.rule)
    with v.db() as s:
        result, entries = run_trace(
            s,
            transfers=body.transfers,
            account=body.account,
            since=body.since,
            until=body.until,
            case=body.case,
            settings=settings,
            as_of=body.as_of,
            save_case=body.save_case,
            freeze=body.freeze,
            index=_index(request, s),
        )
        if entries is not None and entries.num_rows:
            result["notifications_queued"] = notify_partners(s, entries, now())
    return v.show(result, f"trace:{result['case_id']}")


def index_state(app_state: Any) -> None:
    """The app's transfer index (built on the first trace)."""
    app_state.transfers = None
    app_state.index_lock = threading.Lock()
