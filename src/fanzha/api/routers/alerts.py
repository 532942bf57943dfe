"""The alert queue and what analysts do with alerts.

Alerts are the engine's: only `fanzha run` writes them, and their tier is the policy's. What a
person does (assign, record a contact outcome, escalate to police / a home visit / the family /
a bank hold, close, reopen, note) is appended to its own table, and an alert's status is derived
from those actions: the last one that changes it wins; a closed alert that got new signals after
it was closed shows as reopened.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any, Literal

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from fanzha.api.access import Principal
from fanzha.api.deps import allow, principal
from fanzha.api.models import (
    ALERT_STATUSES,
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


def derived(alerts: pa.Table, actions: pa.Table) -> pl.DataFrame:
    """The alerts with what people did to them: status (the last action that changes it; a
    closed alert the engine has updated since shows as reopened), assignee, last contact
    outcome, escalated_to (in order), resolution (of a close not reopened), last_action_ts."""
    a = pl.from_arrow(actions.filter(pc.is_in(actions["alert_id"], alerts["alert_id"])))
    assert isinstance(a, pl.DataFrame)
    a = a.sort("ts", "action_id", maintain_order=True)
    per = a.group_by("alert_id").agg(
        status=pl.col.action.replace_strict(STATUS_OF, default=None).drop_nulls().last(),
        assignee=pl.col.assignee.filter(pl.col.action == "assign").last(),
        outcome=pl.col.outcome.filter(pl.col.action == "contact").last(),
        escalated_to=pl.col.escalate_to.filter(pl.col.action == "escalate").unique(
            maintain_order=True
        ),
        _closing=pl.col.action.filter(pl.col.action.is_in(["close", "reopen"])).last(),
        resolution=pl.col.resolution.filter(pl.col.action == "close").last(),
        _closed_at=pl.col.alert_last_seq.filter(pl.col.action == "close").last(),
        last_action_ts=pl.col.ts.max(),
    )
    out = pl.from_arrow(alerts)
    assert isinstance(out, pl.DataFrame)
    out = out.join(per, on="alert_id", how="left", maintain_order="left")
    closed = pl.col.status == "closed"
    return out.with_columns(
        status=pl.when(closed & (pl.col.last_seq > pl.col._closed_at))
        .then(pl.lit("reopened"))
        .otherwise(pl.col.status.fill_null("open")),
        resolution=pl.when(pl.col._closing == "close").then(pl.col.resolution),
        escalated_to=pl.col.escalated_to.fill_null(pl.lit([], pl.List(pl.String))),
    ).drop("_closing", "_closed_at")


def queue(
    s: Store, where: pl.Expr | None = None, offset: int = 0, limit: int | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """Alerts with their derived status, most urgent first (not closed, tier, SLA deadline),
    filtered by `where`: (how many match, the page)."""
    d = derived(s.alerts(), s.alert_actions())
    if where is not None:
        d = d.filter(where)
    d = d.sort(
        pl.col.status == "closed",
        pl.col.tier.replace_strict(_TIER_RANK, return_dtype=pl.Int8),
        pl.col.sla_due.is_null(),
        pl.coalesce("sla_due", "first_ts"),
        "alert_id",
        descending=[False, True, False, False, False],
    )
    return d.height, d.slice(offset, limit).to_dicts()


def _one(s: Store, alert_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One alert (derived) and its actions."""
    alerts = s.alerts()
    alerts = alerts.filter(pc.equal(alerts["alert_id"], alert_id))
    if alerts.num_rows == 0:
        raise HTTPException(404, f"no alert {alert_id!r}")
    actions = s.alert_actions([alert_id])
    return derived(alerts, actions).to_dicts()[0], actions.to_pylist()


def _where(**equals: Any) -> pl.Expr | None:
    conds = [pl.col(k) == v for k, v in equals.items() if v is not None]
    return pl.all_horizontal(conds) if conds else None


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
    where = _where(tier=tier, status=status, assignee=assignee, rule=rule, entity_kind=entity_kind)
    with v.db() as s:
        total, page = queue(s, where, offset, limit)
    shown = v.show(page, f"alerts:{offset}+{len(page)}") if page else []
    return {"total": total, "alerts": shown}


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
        _, rows = queue(s, _where(tier=tier, status=status))
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
    return v.show({**a, "history": actions}, f"alert:{alert_id}")


def _act(
    alert_id: str, body: AlertActionIn, p: Principal, s: Store
) -> tuple[bool, dict[str, Any], dict[str, Any]]:
    a, actions = _one(s, alert_id)
    if body.action_id:
        same = [x for x in actions if x["action_id"] == body.action_id]
        if same:  # a retried request: nothing new
            return False, same[0], a
        if body.action_id in s.alert_actions()["action_id"].to_pylist():
            raise HTTPException(409, "that action_id was used for another alert")
    status = a["status"]
    if status == "closed" and body.action not in ("reopen", "note"):
        raise HTTPException(409, "the alert is closed: reopen it first")
    if body.action == "reopen" and status not in ("closed", "reopened"):
        raise HTTPException(409, "only a closed alert can be reopened")
    at = now()
    if a["last_action_ts"] is not None and at <= a["last_action_ts"]:
        at = a["last_action_ts"] + dt.timedelta(milliseconds=1)  # actions keep their order
    row = {
        "action_id": body.action_id or f"act-{secrets.token_hex(12)}",
        "alert_id": alert_id,
        "ts": at,
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
    return True, row, _one(s, alert_id)[0]


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


__all__ = ["derived", "queue", "router"]
