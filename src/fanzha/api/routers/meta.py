"""Health, who am I, and the engine (run the detectors over what was sent)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from fanzha import __version__
from fanzha.api.access import INGEST_KINDS, ROLES, Principal
from fanzha.api.deps import Db, allow, get_db, principal
from fanzha.api.models import EngineRun, Health, Me
from fanzha.engine.runner import server_engine

router = APIRouter(tags=["meta"])


@router.get("/health", response_model=Health, summary="Is the server up (no key needed)")
def health() -> Health:
    return Health(status="ok", version=__version__)


@router.get("/me", response_model=Me, summary="Who the key belongs to", **allow(*ROLES))
def me(p: Principal = Depends(principal)) -> Me:
    return Me(
        key_id=p.key_id,
        org=p.org,
        role=p.role,
        verified_citizen=p.verified_citizen,
        may_ingest=list(INGEST_KINDS[p.role]),
    )


@router.post(
    "/engine/run",
    response_model=EngineRun,
    summary="Run the detectors over new events",
    **allow("analyst"),
)
def run_engine(db: Db = Depends(get_db)) -> dict:
    """What `fanzha run` does, in the server (which holds the database): every event not
    processed yet goes through the detectors and the policy; alerts appear in the queue."""
    with db() as s:
        return server_engine(s).run().to_dict()
