"""fanzha's HTTP API (FastAPI): events in; alerts, cases, lists, look-ups and citizen services
out; notifications to partners. `fanzha serve` runs it; the OpenAPI document is at /openapi.json
and readable at /docs.

Layout: `access` (roles, keys, sessions), `deps` (the store and the caller as dependencies),
`views` (masking by role and the audit of unmasked views and exports), `models` (the contract),
`routers/` (one per resource). The console (`fanzha.web`) adds its own router to the same app.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fanzha import __version__
from fanzha.api.deps import provider
from fanzha.api.routers import ROUTERS
from fanzha.api.routers.cases import index_state
from fanzha.errors import FanzhaError
from fanzha.linkage import SmsSink, deliver

log = logging.getLogger("fanzha.api")

DESCRIPTION = """\
fanzha (反诈): events in from partners; alerts, cases, freeze/cancel/block lists, look-ups and
citizen services out.

**Keys.** Send `Authorization: Bearer <key>`. A key belongs to one organisation with one role:
`analyst` (anti-fraud centre), `police`, `bank`, `operator`, `platform`, `warehouse` or `citizen`
(a citizen app; a citizen who proved control of an ID gets a 15-minute session token). Each
route lists the roles that may call it (`x-fanzha-roles`).

**Personal data** is masked by default (138****1234). The centre and police may add
`unmask=true&reason=...`; every unmasked view and every export is written to the hash-chained
audit log with who, what, why and when.

**Conventions.** Money in integer fen; times UTC (ISO 8601); identifiers normalised as at ingest.
Errors are `{"detail": "..."}` with 400 (bad request), 401 (no or bad key), 403 (not your role or
not your data), 404, 409 (conflict), 422 (invalid body or value), 429 (rate limit).
"""


@dataclass(frozen=True)
class ApiSettings:
    sms_sink: SmsSink | None = None  # where one-time codes go (a folder or a URL)
    upload_limit_bytes: int = 1 << 30
    deliver_every_s: float = 0.0  # 0: deliver only on request (POST /v1/notifications/deliver)
    engine_every_s: float = 0.0  # 0: run the detectors only on request (POST /v1/engine/run)


def _every(seconds: float, job: Callable[[], object], stop: threading.Event, name: str) -> None:
    while not stop.wait(seconds):
        try:
            job()
        except Exception:  # a background pass must not kill the server; it is retried
            log.exception("%s failed", name)


def create_app(db: str | None = None, settings: ApiSettings | None = None) -> FastAPI:
    """The app over the store `db` (a DuckDB file, or a PostgreSQL URL once that store exists)."""
    settings = settings or ApiSettings()
    stores = provider(db)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        jobs = []
        if settings.deliver_every_s > 0:
            jobs.append(("delivery", settings.deliver_every_s, lambda: deliver(stores)))
        if settings.engine_every_s > 0:
            from fanzha.engine.runner import server_engine

            def run() -> None:
                with stores() as s:
                    server_engine(s).run()

            jobs.append(("engine", settings.engine_every_s, run))
        threads = [
            threading.Thread(target=_every, args=(every, job, stop, name), daemon=True)
            for name, every, job in jobs
        ]
        for t in threads:
            t.start()
        try:
            yield
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
            stores.close()

    app = FastAPI(
        title="fanzha",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[{"name": r.tags[0]} for r in ROUTERS if r.tags],
    )
    app.state.db = stores
    app.state.settings = settings
    app.state.http = None  # the webhook client (None: one per delivery pass)
    index_state(app.state)
    for r in ROUTERS:
        app.include_router(r, prefix="/v1")
    from fanzha.web import mount  # the console's pages at /console (imports the routers above)

    mount(app)

    @app.middleware("http")
    async def body_limit(request: Request, call_next):  # type: ignore[no-untyped-def]
        """Refuse a declared body larger than the upload limit before reading it."""
        size = request.headers.get("content-length")
        if size is not None and size.isdigit() and int(size) > settings.upload_limit_bytes:
            return JSONResponse(
                {"detail": f"the body is larger than {settings.upload_limit_bytes} bytes"}, 413
            )
        return await call_next(request)

    @app.exception_handler(FanzhaError)
    async def fanzha_error(request: Request, e: FanzhaError) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=400)

    return app


def app_from_env() -> FastAPI:
    """The app as `fanzha serve` configures it through the environment (for worker processes)."""
    sink = os.environ.get("FANZHA_SMS_SINK")
    return create_app(
        os.environ.get("FANZHA_DB"),
        ApiSettings(
            sms_sink=SmsSink(sink) if sink else None,
            upload_limit_bytes=int(os.environ.get("FANZHA_UPLOAD_LIMIT", 1 << 30)),
            deliver_every_s=float(os.environ.get("FANZHA_DELIVER_EVERY", 0)),
            engine_every_s=float(os.environ.get("FANZHA_ENGINE_EVERY", 0)),
        ),
    )
