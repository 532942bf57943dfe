"""The counter: a bank or payment app asks, before executing a transfer, whether to hold it.

Answers hold / warn_payer / allow with the reasons, from fanzha.decide.transfer's state of the
store (listed and suspected mules, open warnings, recent exposures, payee history, age), loaded
once per process and reloaded when the log has grown and `refresh_s` has passed. Every decision
and the bank's final action (an outcome) go to the audit log. Catches the payment itself: the
victim who is about to pay a mule after a fraud call, even when no warning reached them in time.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import Field

from fanzha.api.access import Principal
from fanzha.api.deps import Db, allow, get_db, principal
from fanzha.api.models import Strict
from fanzha.decide.transfer import OUTCOMES, TransferDecider, TransferRequest
from fanzha.errors import FanzhaError

router = APIRouter(tags=["decisions"])
CALLERS = ("bank", "platform", "analyst")
REFRESH_S = 30.0  # at most this stale, once new events are in the log


class TransferIn(Strict):
    payer_account: str = Field(min_length=1, max_length=64)
    payee_account: str = Field(min_length=1, max_length=64)
    amount_fen: int = Field(gt=0, le=10**13, description="the amount in fen (1 yuan = 100 fen)")
    ts: dt.datetime = Field(description="when the payer asked for it, with a UTC offset")
    payer_phone: str | None = Field(None, max_length=64)
    payer_id_number: str | None = Field(None, max_length=64)
    transfer_id: str | None = Field(None, max_length=64, description="the bank's id (idempotent)")
    payee_type: Literal["person", "merchant", "aggregator", "exchange"] | None = None


class DecisionOut(Strict):
    decision: Literal["hold", "warn_payer", "allow"]
    reasons: list[str]
    decision_id: str
    score: float


class OutcomeIn(Strict):
    outcome: Literal[OUTCOMES]  # type: ignore[valid-type]
    note: str = Field("", max_length=2000)


class OutcomeOut(Strict):
    decision_id: str
    outcome: str


class _Cached:
    """One decider per process, reloaded when the log grew and REFRESH_S passed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.decider: TransferDecider | None = None
        self.top = -1
        self.loaded = 0.0

    def get(self, db: Db) -> TransferDecider:
        with self.lock:
            fresh = self.decider is not None and time.monotonic() - self.loaded < REFRESH_S
            if fresh:
                return self.decider  # type: ignore[return-value]
            with db() as s:
                top = s.max_seq()
                if self.decider is None or top != self.top:
                    self.decider, self.top = TransferDecider.load(s), top
            self.loaded = time.monotonic()
            return self.decider


def _decider(request: Request) -> _Cached:
    state = request.app.state
    if getattr(state, "transfer_decider", None) is None:
        state.transfer_decider = _Cached()
    return state.transfer_decider


@router.post(
    "/decide/transfer",
    response_model=DecisionOut,
    summary="Hold, warn the payer or allow a transfer",
    **allow(*CALLERS),
)
def decide_transfer(
    body: TransferIn,
    p: Principal = Depends(principal),
    db: Db = Depends(get_db),
    cache: _Cached = Depends(_decider),
) -> dict:
    """In milliseconds, from the live state: the payee is a listed or suspected mule, the payer is
    in an open warning (tier, fraud type) or was just reached by a listed number, site or app, a
    first transfer to a new payee of an unusual amount, an elderly payer. The decision and its
    reasons are recorded (audit log); send the bank's final action to .../outcome."""
    try:
        req = TransferRequest.parse(body.model_dump(exclude_none=True))
    except FanzhaError as e:
        raise HTTPException(422, str(e)) from None
    d = cache.get(db).decide(req)
    with db() as s:
        TransferDecider.record(s, req, d, actor=p.key_id)
    return d.as_dict()


@router.post(
    "/decide/transfer/{decision_id}/outcome",
    response_model=OutcomeOut,
    summary="What the bank finally did with a decided transfer",
    **allow(*CALLERS, responses={404: {"description": "No such decision"}}),
)
def transfer_outcome(
    decision_id: str, body: OutcomeIn, p: Principal = Depends(principal), db: Db = Depends(get_db)
) -> dict:
    """executed, cancelled_by_payer (dissuaded), held, rejected or reported: the label that
    tells whether the decision stopped a loss."""
    with db() as s:
        try:
            TransferDecider.record_outcome(s, decision_id, body.outcome, actor=p.key_id,
                                           note=body.note)
        except FanzhaError as e:
            raise HTTPException(404 if "no recorded" in str(e) else 422, str(e)) from None
    return {"decision_id": decision_id, "outcome": body.outcome}
