"""One router per resource, mounted under /v1 in this order.

Investigations built elsewhere add their router here when they land: account rings
(`rings.py`: GET /v1/rings, /v1/rings/{id} over fanzha.investigate.rings), leak sources
(`leaks.py`: GET /v1/leaks/source, POST /v1/leaks/reports over fanzha.investigate.leaks) and
dissuasion (`dispatch.py`: tasks and their outcomes over fanzha.dispatch).
"""

from fanzha.api.routers import (
    alerts,
    audit,
    cases,
    citizen,
    decide,
    events,
    intel,
    linkage,
    lists,
    lookup,
    meta,
    policy,
)

ROUTERS = [
    meta.router,
    events.router,
    intel.router,
    alerts.router,
    cases.router,
    lists.router,
    lookup.router,
    citizen.router,
    decide.router,
    linkage.router,
    policy.router,
    audit.router,
]
