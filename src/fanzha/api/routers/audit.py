"""The audit log: read and verify only. No route changes it; entries are appended by the routes
that show personal data unmasked, export it, deliver it to a partner or open a citizen's session."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, Query

from fanzha.api.deps import Db, allow, get_db
from fanzha.api.models import AuditCheck, AuditEntry

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=list[AuditEntry], summary="The audit log", **allow("analyst"))
def audit(
    actor: str | None = Query(None, max_length=64),
    action: str | None = Query(None, max_length=64),
    after: int = Query(0, ge=0, description="Entries after this number"),
    limit: int = Query(1000, ge=1, le=100_000),
    db: Db = Depends(get_db),
) -> list[dict]:
    with db() as s:
        rows = s.audit_log().to_pylist()
    rows = [
        r
        for r in rows
        if r["n"] > after
        and (actor is None or r["actor"] == actor)
        and (action is None or r["action"] == action)
    ][:limit]
    for r in rows:
        r["detail"] = orjson.loads(r["detail"] or "{}")
    return rows


@router.get(
    "/audit/verify",
    response_model=AuditCheck,
    summary="Is the hash chain intact",
    **allow("analyst"),
)
def verify(db: Db = Depends(get_db)) -> AuditCheck:
    with db() as s:
        return AuditCheck(intact=s.verify_audit(), entries=s.audit_log().num_rows)
