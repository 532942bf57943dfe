"""Notifications to partners and their delivery status (see fanzha.linkage).

A partner sees its own notifications, which is also how a partner without a webhook or a drop
folder receives them: it fetches the pending ones and acknowledges each. The centre sees all,
runs a delivery pass now, and queues a failed notification again.
"""

from __future__ import annotations

from typing import Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request

from fanzha.api.access import PARTNERS, Principal
from fanzha.api.deps import Db, allow, get_db, principal
from fanzha.api.models import DeliveryPass, Notification, Partner, Problem
from fanzha.api.views import View, own_partner, view
from fanzha.linkage import deliver, now

router = APIRouter(tags=["linkage"])
READERS = ("analyst", *PARTNERS)
NOT_FOUND = {404: {"model": Problem, "description": "No such notification (of yours)"}}


def _rows(s, partner: str | None, status: str | None, nid: str | None = None) -> list[dict]:
    rows = s.notifications(partner=partner, status=status, notification_id=nid).to_pylist()
    for r in rows:
        r["payload"] = orjson.loads(r["payload"])
    return rows


def _one(s, partner: str | None, notification_id: str) -> dict:
    rows = _rows(s, partner, None, notification_id)
    if not rows:
        raise HTTPException(404, "no such notification" + (" of yours" if partner else ""))
    return rows[0]


@router.get(
    "/notifications",
    response_model=list[Notification],
    summary="Notifications and delivery",
    **allow(*READERS),
)
def notifications(
    status: Literal["pending", "delivered", "failed"] | None = None,
    partner: str | None = Query(None, max_length=128),
    limit: int = Query(500, ge=1, le=10_000),
    v: View = Depends(view),
) -> list[dict]:
    p = v.principal
    partner = own_partner(p, partner, "notifications")
    with v.db() as s:
        rows = _rows(s, partner, status)[:limit]
    if not rows:
        return rows
    if p.role in PARTNERS:  # what was sent to it, as it was sent
        v.audit(
            "deliver_notifications",
            f"notifications:{p.org}",
            f"notifications addressed to {p.org}",
            rows=len(rows),
        )
        return rows
    return v.show(rows, "notifications")


@router.post(
    "/notifications/{notification_id}/ack",
    response_model=Notification,
    summary="Acknowledge a notification (pull delivery)",
    **allow(*PARTNERS, responses=NOT_FOUND),
)
def ack(notification_id: str, p: Principal = Depends(principal), db: Db = Depends(get_db)) -> dict:
    """Marks it delivered (again: nothing changes)."""
    with db() as s:
        n = _one(s, p.org, notification_id)
        if n["status"] != "delivered":
            s.record_delivery(
                notification_id, "delivered", n["attempts"] + 1, now(), channel="pull"
            )
            n = _one(s, p.org, notification_id)
    return n


@router.post(
    "/notifications/{notification_id}/retry",
    response_model=Notification,
    summary="Queue a failed notification again",
    **allow("analyst", responses=NOT_FOUND),
)
def retry(notification_id: str, db: Db = Depends(get_db)) -> dict:
    with db() as s:
        n = _one(s, None, notification_id)
        if n["status"] == "failed":
            s.record_delivery(
                notification_id, "pending", 0, now(), next_attempt_ts=now(), error=n["last_error"]
            )
            n = _one(s, None, notification_id)
    return n


@router.post(
    "/notifications/deliver",
    response_model=DeliveryPass,
    summary="Deliver what is due now",
    **allow("analyst"),
)
def deliver_now(request: Request, db: Db = Depends(get_db)) -> dict:
    """One delivery pass (the server also runs one every --deliver-every seconds)."""
    return deliver(db, client=request.app.state.http)


@router.get(
    "/partners", response_model=list[Partner], summary="Partners' endpoints", **allow("analyst")
)
def partners(db: Db = Depends(get_db)) -> list[dict]:
    """Where each partner receives notifications (set with `fanzha partners set`)."""
    with db() as s:
        rows = s.partners()
    return [
        {
            "partner": r["partner"],
            "webhook_url": r["webhook_url"],
            "file_dir": r["file_dir"],
            "signed": bool(r["secret"]),
        }
        for r in rows
    ]
