"""Policy lifecycle over HTTP: versions and their diff, a backtest of a candidate, the shadow
report, promote or drop the shadow (fanzha.decide.versions, fanzha.backtest, fanzha.decide.shadow).

A bad change to the warning policy floods police stations with home visits or lets victims
through; these routes let an analyst see it in numbers before it goes live. A backtest replays the
whole log in a throwaway store while holding the store (seconds on a city's week), so it is
bounded: one at a time (409 while another runs) and a window of at most MAX_WINDOW_DAYS.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from fanzha.api.access import Principal
from fanzha.api.deps import Db, allow, get_db, principal
from fanzha.errors import FanzhaError

router = APIRouter(tags=["policy"])
MAX_WINDOW_DAYS = 92
MAX_POLICY_BYTES = 200_000
_one_backtest = threading.Lock()


class BacktestIn(BaseModel):
    candidate: str = Field(
        ..., max_length=MAX_POLICY_BYTES, description="The candidate policy YAML"
    )
    start: dt.datetime = Field(..., description="Alerts first seen from this time ...")
    end: dt.datetime = Field(..., description="... up to (not including) this time")
    people: int | None = Field(None, ge=1, le=10**10, description="Population for rates")


class ReasonIn(BaseModel):
    reason: str = Field(..., min_length=1, max_length=500)


@router.get(
    "/policy/versions",
    summary="Every policy version applied or rolled back, and the live one",
    **allow("analyst", "police"),
)
def versions(db: Db = Depends(get_db)) -> dict[str, Any]:
    from fanzha.decide.versions import history, live_policy

    with db() as s:
        shadow = s.shadow_policy()
        return {
            "live": live_policy(s).version,
            "shadow": shadow[0] if shadow else None,
            "versions": history(s),
        }


@router.get(
    "/policy/diff",
    summary="A unified diff of two policy versions (a unique prefix of each will do)",
    **allow("analyst", "police", responses={404: {"description": "No such version"}}),
)
def diff(
    a: str = Query(..., min_length=4, max_length=64),
    b: str = Query(..., min_length=4, max_length=64),
    db: Db = Depends(get_db),
) -> dict[str, Any]:
    from fanzha.decide.versions import diff as text_diff
    from fanzha.decide.versions import policy_text

    with db() as s:
        try:
            va, vb = policy_text(s, a)[0], policy_text(s, b)[0]
        except FanzhaError as e:
            raise HTTPException(404, str(e)) from None
        return {"a": va, "b": vb, "diff": text_diff(s, va, vb)}


@router.post(
    "/policy/backtest",
    summary="Replay the log under a candidate beside the live policy; touches nothing live",
    **allow("analyst", responses={409: {"description": "Another backtest is running"}}),
)
def backtest(body: BacktestIn, db: Db = Depends(get_db)) -> dict[str, Any]:
    from fanzha.backtest import backtest as run
    from fanzha.decide.versions import checked_policy, live_policy

    start, end = (t if t.tzinfo else t.replace(tzinfo=dt.UTC) for t in (body.start, body.end))
    if not start < end or end - start > dt.timedelta(days=MAX_WINDOW_DAYS):
        raise HTTPException(422, f"the window must be positive and at most {MAX_WINDOW_DAYS} days")
    candidate = checked_policy(body.candidate)  # a bad policy: 400 with the reason
    if not _one_backtest.acquire(blocking=False):
        raise HTTPException(409, "another backtest is running; try again when it is done")
    try:
        with db() as s:
            return run(s, live_policy(s), candidate, start, end, people=body.people)
    finally:
        _one_backtest.release()


@router.get(
    "/policy/shadow",
    summary="The shadow policy's alerts beside the live ones since it started",
    **allow("analyst", "police", responses={404: {"description": "No policy runs in shadow"}}),
)
def shadow_report(db: Db = Depends(get_db)) -> dict[str, Any]:
    from fanzha.decide import shadow

    with db() as s:
        if s.shadow_policy() is None:
            raise HTTPException(404, "no policy runs in shadow")
        return shadow.report(s)


def shadow_act(what: str, body: ReasonIn, p: Principal, db: Db) -> dict[str, Any]:
    from fanzha.decide import shadow

    with db() as s:
        if s.shadow_policy() is None:
            raise HTTPException(404, "no policy runs in shadow")
        act = shadow.promote if what == "promote" else shadow.drop
        return {"version": act(s, p.key_id, body.reason), "done": what}


@router.post(
    "/policy/shadow/promote",
    summary="Make the shadow policy live (audited)",
    **allow("analyst", responses={404: {"description": "No policy runs in shadow"}}),
)
def promote(body: ReasonIn, p: Principal = Depends(principal), db: Db = Depends(get_db)):
    return shadow_act("promote", body, p, db)


@router.post(
    "/policy/shadow/drop",
    summary="Stop the shadow policy and forget what it would have done (audited)",
    **allow("analyst", responses={404: {"description": "No policy runs in shadow"}}),
)
def drop(body: ReasonIn, p: Principal = Depends(principal), db: Db = Depends(get_db)):
    return shadow_act("drop", body, p, db)
