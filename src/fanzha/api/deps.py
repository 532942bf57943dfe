"""What every route depends on: the store, the caller, the caller's right to the route.

The embedded store is one DuckDB file, which allows one writer process and whose connection is not
safe for concurrent use: the app holds one connection and lends it to one request at a time
(`SharedStore`). A PostgreSQL store serves many processes and many requests at once: each request
opens its own (`StorePerRequest`). Routes take the store only for the statements they need
(`with db() as s:`), not while they mask or serialise a response.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fanzha.api.access import ROLES, Principal, authenticate
from fanzha.api.models import Problem
from fanzha.linkage import now
from fanzha.store import Store, db_url, open_store


class SharedStore:
    """One open store, lent to one request at a time (DuckDB). Opened at first use, closed when
    the app shuts down (and opened again if it starts again)."""

    def __init__(self, url: str):
        self.url = url
        self._store: Store | None = None
        self._lock = threading.Lock()  # not RLock: a threadpool may release it on another thread

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.url)
        return self._store

    @contextlib.contextmanager
    def __call__(self) -> Iterator[Store]:
        with self._lock:
            yield self.store

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


class StorePerRequest:
    """A store opened for each use (PostgreSQL: the server does the locking)."""

    def __init__(self, url: str):
        self.url = url

    @contextlib.contextmanager
    def __call__(self) -> Iterator[Store]:
        with open_store(self.url) as s:
            yield s

    def close(self) -> None:
        pass


Db = Callable[[], contextlib.AbstractContextManager[Store]]


def provider(db: str | None) -> SharedStore | StorePerRequest:
    url = db_url(db)
    if url.startswith(("postgresql://", "postgres://")):
        return StorePerRequest(url)
    return SharedStore(url)


def get_db(request: Request) -> Db:
    return request.app.state.db


bearer = HTTPBearer(
    auto_error=False,
    description="An API key (`fanzha keys add --org ORG --role ROLE`) or a citizen's session "
    "token (POST /v1/citizen/verify/confirm).",
)


def principal(
    cred: HTTPAuthorizationCredentials | None = Security(bearer),
    db: Db = Depends(get_db),
) -> Principal:
    if cred is None:
        raise HTTPException(401, "an API key is needed", {"WWW-Authenticate": "Bearer"})
    with db() as s:
        p = authenticate(s, cred.credentials, now())
    if p is None:
        raise HTTPException(401, "unknown, revoked or expired key", {"WWW-Authenticate": "Bearer"})
    return p


class _Allow:
    def __init__(self, roles: tuple[str, ...], session: bool):
        self.roles = roles
        self.session = session

    def __call__(self, p: Principal = Depends(principal)) -> None:
        if p.role not in self.roles:
            raise HTTPException(403, f"the {p.role} role may not use this route")
        if self.session and not p.verified_citizen:
            raise HTTPException(
                403, "this needs a citizen's session: verify the ID with a one-time code first"
            )


def allow(
    *roles: str, session: bool = False, responses: dict[int | str, Any] | None = None
) -> dict[str, Any]:
    """Route options: only these roles (and, with `session`, only a verified citizen) may call
    it. The roles are in the OpenAPI document as `x-fanzha-roles`."""
    for r in roles:
        assert r in ROLES, r
    shown = ["citizen (verified session)"] if session else list(roles)
    return {
        "dependencies": [Depends(_Allow(tuple(roles), session))],
        "openapi_extra": {"x-fanzha-roles": shown},
        "responses": {
            401: {"model": Problem, "description": "No key, or an unknown, revoked or expired one"},
            403: {"model": Problem, "description": "The caller's role may not do this"},
            **(responses or {}),
        },
    }
