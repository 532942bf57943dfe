"""The alert queue and what analysts do with alerts.

Alerts are the engine's: only `fanzha run` writes them, and their tier is the policy's. What a
person does (assign, record a contact outcome, escalate to police / a home visit / the family /
a bank hold, close, reopen, note) is appended to its own table, and an alert's status is derived
from those actions: the last one that changes it wins; a closed alert that got new signals after
it was closed shows as reopened.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any, Literal

import pyarrow as pa
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from fanzha.api.access import Principal
from fanzha.api.deps import allow, principal
from fanzha.api.models import (
    ALERT_STATUSES,
    Alert,
    AlertAction,
    AlertActionIn,
    AlertActionResult,
    AlertDetail,
    AlertPage,
    Problem,
)
from fanzha.api.views import FILE_RESPONSES, View, export_view, file_response, view
from fanzha.decide import TIERS
from fanzha.linkage import now
from fanzha.store import Store
from fanzha.store.tables import ALERT_ACTION_SCHEMA

router = APIRouter(tags=["alerts"])
STATUS_OF = {
    "assign": "assigned",
    "contact": "contacted",
    "escalate": "escalated",
    "close": "closed",
    "reopen": "open",
}
_TIER_RANK = {t: i for i, t in enumerate(TIERS)}


def derive(alert: dict[str, Any], actions: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The alert with its status, assignee, last outcome, escalations and resolution."""
    status, assignee, outcome, resolution, last = "open", None, None, None, None
    escalated: list[str] = []
    closed_at_seq = None
    for a in actions:
        last = a["ts"]
        act = a["action"]
        if act in STATUS_OF:
            status = STATUS_OF[act]
        if act == "assign":
            assignee = a["assignee"]
        elif act == "contact":
            outcome = a["outcome"]
        elif act == "escalate" and a["escalate_to"] not in escalated:
            escalated.append(a["escalate_to"])
        elif act == "close":
            resolution, closed_at_seq = a["resolution"], a["alert_last_seq"]
        elif act == "reopen":
            resolution = None
    if status == "closed" and closed_at_seq is not None and alert["last_seq"] > closed_at_seq:
        status = "reopened"  # the engine saw new signals after the analyst closed it
    return {
        **alert,
        "status": status,
        "assignee": assignee,
        "outcome": outcome,
        "escalated_to": escalated,
        "resolution": resolution,
        "last_action_ts": last,
    }


def queue(s: Store) -> list[dict[str, Any]]:
    """Every alert with its derived status, most urgent first: not closed, tier, SLA."""
    alerts = s.alerts().to_pylist()
    by_alert: dict[str, list[dict]] = {}
    for a in s.alert_actions().to_pylist():
        by_alert.setdefault(a["alert_id"], []).append(a)
    rows = [derive(a, by_alert.get(a["alert_id"], ())) for a in alerts]
    rows.sort(
        key=lambda r: (
            r["status"] == "closed",
            -_TIER_RANK[r["tier"]],
            r["sla_due"] is None,
            r["sla_due"] or r["first_ts"],
            r["alert_id"],
        )
    )
    return rows


def _one(s: Store, alert_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    hit = [a for a in s.alerts().to_pylist() if a["alert_id"] == alert_id]
    if not hit:
        raise HTTPException(404, f"no alert {alert_id!r}")
    actions = s.alert_actions([alert_id]).to_pylist()
    return hit[0], actions


def _filtered(
    rows: list[dict[str, Any]],
    tier: str | None,
    status: str | None,
    assignee: str | None,
    rule: str | None,
    entity_kind: str | None,
) -> list[dict[str, Any]]:
    want = {
        "tier": tier,
        "status": status,
        "assignee": assignee,
        "rule": rule,
        "entity_kind": entity_kind,
    }
    return [r for r in rows if all(v is None or r[k] == v for k, v in want.items())]


NOT_FOUND = {"model": Problem, "description": "No such alert"}
CONFLICT = {"model": Problem, "description": "The action does not fit the alert's status"}
Tier = Literal["low", "medium", "high"]
Status = Literal[ALERT_STATUSES]  # type: ignore[valid-type]


@router.get(
    "/alerts", response_model=AlertPage, summary="The alert queue", **allow("analyst", "police")
)
def alerts(
    tier: Tier | None = None,
    status: Status | None = None,
    assignee: str | None = Query(None, max_length=128),
    rule: str | None = Query(None, max_length=128),
    entity_kind: str | None = Query(None, max_length=64),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    v: View = Depends(view),
) -> dict:
    """Open alerts first, then by tier (high first) and SLA deadline; filter by tier, status,
    assignee, rule or entity kind."""
    with v.db() as s:
        rows = _filtered(queue(s), tier, status, assignee, rule, entity_kind)
    page = rows[offset : offset + limit]
    shown = v.show(page, f"alerts:{offset}+{len(page)}") if page else []
    return {"total": len(rows), "alerts": shown}


COLUMNS = (
    "alert_id",
    "tier",
    "status",
    "entity_kind",
    "entity",
    "fraud_type",
    "score",
    "rule",
    "first_ts",
    "last_ts",
    "sla_due",
    "assignee",
    "outcome",
    "resolution",
    "evidence",
)


@router.get(
    "/alerts/export",
    summary="Export the queue (CSV or JSONL), audited",
    response_class=Response,
    **allow("analyst", responses=FILE_RESPONSES),
)
def export(
    format: Literal["csv", "jsonl"] = "csv",
    tier: Tier | None = None,
    status: Status | None = None,
    v: View = Depends(export_view),
) -> Response:
    """Every alert matching the filters; needs a reason, and is written to the audit log."""
    with v.db() as s:
        rows = _filtered(queue(s), tier, status, None, None, None)
    rows = [{c: r[c] for c in COLUMNS} for r in rows]
    rows = rows if v.unmasked else v.show(rows, "alerts:export")
    v.audit(
        "export",
        "alerts",
        v.reason or "",
        rows=len(rows),
        unmasked=v.unmasked,
        format=format,
        tier=tier,
        status=status,
    )
    return file_response(rows, list(COLUMNS), format)


@router.get(
    "/alerts/{alert_id}",
    response_model=AlertDetail,
    summary="One alert and what was done",
    **allow("analyst", "police", responses={404: NOT_FOUND}),
)
def alert(alert_id: str, v: View = Depends(view)) -> dict:
    with v.db() as s:
        a, actions = _one(s, alert_id)
    return v.show({**derive(a, actions), "history": actions}, f"alert:{alert_id}")


def _act(
    alert_id: str, body: AlertActionIn, p: Principal, s: Store
) -> tuple[bool, dict[str, Any], dict[str, Any]]:
    a, actions = _one(s, alert_id)
    if body.action_id:
        same = [x for x in actions if x["action_id"] == body.action_id]
        if same:  # a retried request: nothing new
            return False, same[0], derive(a, actions)
        if body.action_id in s.alert_actions()["action_id"].to_pylist():
            raise HTTPException(409, "that action_id was used for another alert")
    status = derive(a, actions)["status"]
    if status == "closed" and body.action not in ("reopen", "note"):
        raise HTTPException(409, "the alert is closed: reopen it first")
    if body.action == "reopen" and status not in ("closed", "reopened"):
        raise HTTPException(409, "only a closed alert can be reopened")
    row = {
        "action_id": body.action_id or f"act-{secrets.token_hex(12)}",
        "alert_id": alert_id,
        "ts": now(),
        "actor": p.key_id,
        "org": p.org,
        "role": p.role,
        "action": body.action,
        "assignee": body.assignee,
        "outcome": body.outcome,
        "escalate_to": body.escalate_to,
        "resolution": body.resolution,
        "note": body.note,
        "alert_last_seq": a["last_seq"],
    }
    s.add_alert_actions(pa.Table.from_pylist([row], ALERT_ACTION_SCHEMA))
    return True, row, derive(a, [*actions, row])


@router.post(
    "/alerts/{alert_id}/actions",
    response_model=AlertActionResult,
    summary="Assign, record a contact, escalate, close, reopen or note",
    **allow("analyst", "police", responses={404: NOT_FOUND, 409: CONFLICT}),
)
def act(
    alert_id: str,
    body: AlertActionIn,
    p: Principal = Depends(principal),
    v: View = Depends(view),
) -> dict:
    """Appends the action (idempotent with `action_id`); the engine's tier is not changed: an
    escalation records who the alert was handed to."""
    with v.db() as s:
        created, row, a = _act(alert_id, body, p, s)
    return {"created": created, **v.show({"action": row, "alert": a}, f"alert:{alert_id}")}


__all__ = ["Alert", "AlertAction", "derive", "queue", "router"]
