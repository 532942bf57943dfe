"""Intelligence: check what is known about a number, URL, domain, app or account; report one.

A report is a `report` event like any other (so detectors see it in log order); what is known is
`fanzha.intel`'s fold over those events and detectors' suspicions. Everyone may check; the
history (who reported what) is shown to the centre and police only. Citizens, banks, operators
and platforms report as themselves; only police and the centre confirm or clear.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, HTTPException, Query

from fanzha import ids
from fanzha.api.access import CENTRE, REPORTER_KIND, Principal
from fanzha.api.deps import Db, allow, get_db, principal
from fanzha.api.models import IntelEntry, IntelEvent, ReportIn, ReportOut, TargetKind
from fanzha.api.views import mask
from fanzha.ingest import ingest_rows
from fanzha.intel import known, normalize_target
from fanzha.linkage import now
from fanzha.store import Store

router = APIRouter(tags=["intelligence"])
REPORTERS = tuple(REPORTER_KIND)
ALL = ("analyst", "police", "bank", "operator", "platform", "warehouse", "citizen")


def guess_kind(value: str) -> str:
    """A phone if it parses as one, else a domain (as `fanzha intel check`)."""
    return "phone" if ids.phone.is_valid(value) else "domain"


def normalized(kind: str, value: str) -> str:
    try:
        return normalize_target(kind, value)
    except (ids.IdError, ValueError) as e:
        raise HTTPException(422, f"{value[:64]!r} is not a valid {kind}: {e}") from None


def intel_entry(s: Store, kind: str, value: str) -> IntelEntry:
    """What is known about a normalised value (unknown: no fact about it)."""
    e = known(s, kind, value)
    if e is None:
        return IntelEntry(kind=kind, value=value, status="unknown")
    return IntelEntry(
        **{k: v for k, v in e.__dict__.items() if k != "history"},
        active=e.active(now()),
        history=e.history,
    )


def shown_to(p: Principal, e: IntelEntry) -> IntelEntry:
    """The centre and police see the history (masked); others the status only."""
    if p.role in CENTRE and e.history:
        shown = mask([h.model_dump() for h in e.history])
        return e.model_copy(update={"history": [IntelEvent(**h) for h in shown]})
    return e.model_copy(update={"history": None})


@router.get("/intel/check", response_model=IntelEntry, summary="What is known", **allow(*ALL))
def check(
    value: str = Query(min_length=1, max_length=2048),
    kind: TargetKind | None = Query(None, description="Default: phone if it is one, else domain"),
    p: Principal = Depends(principal),
    db: Db = Depends(get_db),
) -> IntelEntry:
    """Status (reported, suspected, confirmed, cleared or unknown), fraud type and how many
    reported it, for one number, URL, domain, app or account."""
    k = kind or guess_kind(value)
    v = normalized(k, value)
    with db() as s:
        e = intel_entry(s, k, v)
    return shown_to(p, e)


@router.post(
    "/intel/reports",
    response_model=ReportOut,
    summary="Report a number, URL, app or account",
    **allow(*REPORTERS),
)
def report(r: ReportIn, p: Principal = Depends(principal), db: Db = Depends(get_db)) -> ReportOut:
    """Appended to the log as a report event, reported as the caller's role (a citizen, bank,
    operator or platform reports; police and the centre may also confirm or clear); the answer
    is what fanzha.intel makes of the value with it."""
    by = REPORTER_KIND[p.role] or "centre"
    if r.verdict != "report" and by not in ("police", "centre"):
        raise HTTPException(403, "only police and the centre confirm or clear")
    reporter = r.reporter
    if p.verified_citizen:
        reporter = p.phone  # a verified citizen reports as the phone the code reached
    row = {
        "ts": (r.ts or now()).astimezone(dt.UTC).isoformat(),
        "reporter_kind": by,
        "target_kind": r.target_kind,
        "target_value": r.target_value,
        "verdict": r.verdict,
        "fraud_type": r.fraud_type,
        "reporter": reporter,
        "report_id": r.report_id,
        "text": r.text,
        "source": p.org if p.role != "analyst" else f"centre:{p.org}",
    }
    with db() as s:
        summary = ingest_rows(s, "report", [row], origin=f"api:{p.org}")
        d = summary.to_dict()
        if d["quarantined"]:
            reasons = s.quarantine(d["batch_id"])["reason"].to_pylist()
            raise HTTPException(422, f"not a valid report: {'; '.join(reasons)}")
        new = s.find_events("report", batch_id=d["batch_id"]).to_pylist()
        value = new[0]["target_value"] if new else normalized(r.target_kind, r.target_value)
        e = intel_entry(s, r.target_kind, value)
    return ReportOut(
        accepted=d["accepted"] == 1,
        duplicate=d["duplicate"] == 1,
        event_id=new[0]["event_id"] if new else None,
        intel=shown_to(p, e),
        summary=d,
    )
