"""The analyst console (反诈中心工作台): server-rendered pages at /console on the API's own app.

Log in with an API key: the console keeps only the key's hash in a signed, HTTP-only, SameSite
cookie and looks the key up on every request (a revoked key is out at once). Analysts and police
work the alert queue and cases; a citizen app's key reaches only the citizen look-up (一证通查).
Every page calls the API's route functions themselves, so the console reads, masks, audits and
acts exactly as the API does. ECharts is served from /console/static (copied from npm by
`make web`), never from a CDN.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import ValidationError

from fanzha.api.access import CENTRE, SESSION_MINUTES, Principal, hash_token, principal_of
from fanzha.api.models import (
    ALERT_STATUSES,
    CONTACT_OUTCOMES,
    ESCALATE_TO,
    RESOLUTIONS,
    AlertActionIn,
    ConfirmIn,
    FlagIn,
    VerifyIn,
)
from fanzha.api.routers import alerts as alert_routes
from fanzha.api.routers import cases as case_routes
from fanzha.api.routers import citizen as citizen_routes
from fanzha.api.views import View
from fanzha.api.views import view as api_view
from fanzha.linkage import now
from fanzha.web.text import LANGS, translator

HERE = Path(__file__).parent
COOKIE = "fanzha_console"
CITIZEN_COOKIE = "fanzha_citizen"
LANG_COOKIE = "fanzha_lang"
SESSION_HOURS = 8
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(prefix="/console", include_in_schema=False)


class Denied(Exception):
    """A console page the caller may not see (rendered as a page, not JSON)."""

    def __init__(self, status: int, message_key: str):
        self.status = status
        self.message_key = message_key


def _signer(request: Request) -> URLSafeTimedSerializer:
    return request.app.state.console_signer


def _lang(request: Request) -> str:
    q = request.query_params.get("lang")
    if q in LANGS:
        return q
    c = request.cookies.get(LANG_COOKIE)
    return c if c in LANGS else "zh"


def _page(
    request: Request, name: str, ctx: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    lang = _lang(request)
    who = getattr(request.state, "who", None)
    r = templates.TemplateResponse(
        request,
        name,
        {"t": translator(lang), "lang": lang, "who": who, **(ctx or {})},
        status_code=status,
    )
    if request.query_params.get("lang") in LANGS:
        r.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return r


def _from_cookie(request: Request, name: str) -> Principal | None:
    raw = request.cookies.get(name)
    if not raw:
        return None
    try:
        key_hash = _signer(request).loads(raw, max_age=SESSION_HOURS * 3600)
    except BadSignature:
        return None
    with request.app.state.db() as s:
        return principal_of(s, key_hash, now())


def _with_key(r: Response, request: Request, name: str, token: str, seconds: int) -> Response:
    """Sign a key's hash (never the key) into an HTTP-only, same-site cookie on `r`."""
    r.set_cookie(
        name,
        _signer(request).dumps(hash_token(token)),
        max_age=seconds,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/console",
    )
    return r


def _signed_in(request: Request) -> Principal:
    p = _from_cookie(request, COOKIE)
    if p is None:
        raise HTTPException(303, "log in", {"Location": "/console/login"})
    request.state.who = p
    return p


def centre(p: Principal = Depends(_signed_in)) -> Principal:
    if p.role not in CENTRE:
        raise Denied(403, "denied_role")
    return p


def citizen_app(p: Principal = Depends(_signed_in)) -> Principal:
    if p.role != "citizen":
        raise Denied(403, "denied")
    return p


def _view(request: Request, p: Principal) -> View:
    """Masked, as the API shows it to this caller by default."""
    return View(request, p, request.app.state.db, False, None)


def _unmaskable(request: Request, p: Principal) -> View:
    """The API's view: masked, or unmasked with ?unmask=true&reason=... (centre only; audited)."""
    unmask = request.query_params.get("unmask") == "true"
    reason = request.query_params.get("reason")
    try:
        return api_view(request, p, request.app.state.db, unmask, reason[:500] if reason else None)
    except HTTPException as e:
        raise Denied(e.status_code, "unmask_needs_reason") from None


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- log in / out ---------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return _page(request, "login.html")


@router.post("/login")
def login(request: Request, key: str = Form(..., max_length=200)) -> Response:
    token = key.strip()
    with request.app.state.db() as s:
        p = principal_of(s, hash_token(token), now()) if token.startswith("fz_") else None
    if p is None:
        return _page(request, "login.html", {"error": "bad_key"}, 401)
    if p.role not in (*CENTRE, "citizen") or p.subject is not None:
        return _page(request, "login.html", {"error": "no_console"}, 403)
    r = _back("/console/citizen" if p.role == "citizen" else "/console/alerts")
    return _with_key(r, request, COOKIE, token, SESSION_HOURS * 3600)


@router.post("/logout")
def logout() -> Response:
    r = _back("/console/login")
    r.delete_cookie(COOKIE, path="/console")
    r.delete_cookie(CITIZEN_COOKIE, path="/console")
    return r


@router.get("/")
def home(p: Principal = Depends(_signed_in)) -> Response:
    return _back("/console/citizen" if p.role == "citizen" else "/console/alerts")


# --- alerts ---------------------------------------------------------------------------------


def sla_clock(due: dt.datetime | None, at: dt.datetime) -> dict[str, Any] | None:
    """Time left to the SLA deadline (negative: overdue), for the queue's clocks."""
    if due is None:
        return None
    left = int((due - at).total_seconds())
    a = abs(left)
    text = (
        f"{a // 86400} d {a % 86400 // 3600} h"
        if a >= 86400
        else (f"{a // 3600} h {a % 3600 // 60} min" if a >= 3600 else f"{a // 60} min {a % 60} s")
    )
    return {"seconds": left, "overdue": left < 0, "text": text, "due": due.isoformat()}


PAGE = 100  # alerts shown per tier (the most urgent first); the rest a page at a time


def _alerts(v: View, tier: str, status: str | None, offset: int) -> dict:
    return alert_routes.alerts(
        tier=tier,
        status=status,
        assignee=None,
        rule=None,
        entity_kind=None,
        limit=PAGE,
        offset=offset,
        v=v,
    )


@router.get("/alerts")
def alert_queue(
    request: Request,
    tier: alert_routes.Tier | None = None,
    status: alert_routes.Status | None = None,
    offset: int = Query(0, ge=0),
    p: Principal = Depends(centre),
) -> HTMLResponse:
    """The queue by tier, most urgent first (the API's order), PAGE a tier; `tier` pages one."""
    v = _view(request, p)
    at = now()
    tiers: dict[str, dict[str, Any]] = {}
    for t in [tier] if tier else ["high", "medium", "low"]:
        start = offset if tier else 0
        page = _alerts(v, t, status, start)
        for a in page["alerts"]:
            a["clock"] = sla_clock(a["sla_due"], at) if a["status"] != "closed" else None
        more = start + len(page["alerts"]) < page["total"]
        tiers[t] = {**page, "offset": start, "next": start + PAGE if more else None}
    return _page(
        request,
        "alerts.html",
        {
            "total": sum(x["total"] for x in tiers.values()),
            "tiers": tiers,
            "status": status,
            "statuses": ALERT_STATUSES,
        },
    )


@router.get("/alerts/{alert_id}")
def alert_page(alert_id: str, request: Request, p: Principal = Depends(centre)) -> HTMLResponse:
    try:
        a = alert_routes.alert(alert_id, _unmaskable(request, p))
    except HTTPException as e:
        raise Denied(e.status_code, "not_found") from None
    a["clock"] = sla_clock(a["sla_due"], now()) if a["status"] != "closed" else None
    return _page(
        request,
        "alert.html",
        {
            "a": a,
            "unmasked": request.query_params.get("unmask") == "true",
            "error": request.query_params.get("error"),
            "outcomes": CONTACT_OUTCOMES,
            "escalate_to": ESCALATE_TO,
            "resolutions": RESOLUTIONS,
        },
    )


@router.post("/alerts/{alert_id}/actions")
def alert_action(
    alert_id: str,
    request: Request,
    action: str = Form(...),
    assignee: str | None = Form(None),
    outcome: str | None = Form(None),
    escalate_to: str | None = Form(None),
    resolution: str | None = Form(None),
    note: str | None = Form(None),
    p: Principal = Depends(centre),
) -> Response:
    """The API's alert action (POST /v1/alerts/{id}/actions), from the console's forms."""
    fields = {
        "action": action,
        "assignee": assignee,
        "outcome": outcome,
        "escalate_to": escalate_to,
        "resolution": resolution,
        "note": note,
    }
    url = f"/console/alerts/{alert_id}"
    try:
        body = AlertActionIn(**{k: v.strip() for k, v in fields.items() if v and v.strip()})
        alert_routes.act(alert_id, body, p, _view(request, p))
    except ValidationError as e:
        return _back(f"{url}?error={e.errors()[0]['msg'][:200]}")
    except HTTPException as e:
        if e.status_code == 404:
            raise Denied(404, "not_found") from None
        return _back(f"{url}?error={e.detail}")
    return _back(url)


# --- cases ----------------------------------------------------------------------------------


@router.get("/cases")
def case_list(request: Request, p: Principal = Depends(centre)) -> HTMLResponse:
    return _page(request, "cases.html", {"cases": case_routes.cases(_view(request, p))})


def money_graph(raw: dict[str, Any], shown: dict[str, Any], orders: list[dict]) -> dict:
    """The case's money flow as an ECharts graph: victims' accounts at level 0, each account at
    its hop, edges carrying the traced money; labels as the caller may see them (masked), node
    identity from the raw trace (two masked numbers may look alike)."""
    freeze = {o["account"]: o for o in orders}  # keyed by the shown (masked) account
    nodes: dict[str, dict[str, Any]] = {}
    for r, s in zip(raw.get("roots") or [], shown.get("roots") or [], strict=True):
        nodes.setdefault(
            r["payer"],
            {"label": s["payer"], "level": 0, "category": "victim", "amount_fen": 0},
        )["amount_fen"] += r["amount_fen"] or 0
    for r, s in zip(raw.get("accounts") or [], shown.get("accounts") or [], strict=True):
        order = freeze.get(s["account"])
        category = (
            "stop"
            if r["stop"]
            else "frozen"
            if order and order.get("delivery") in ("delivered", "acknowledged")
            else "freeze_ordered"
            if order
            else "emptied"
        )
        nodes[r["account"]] = {
            "label": s["account"],
            "level": r["hop"],
            "category": category,
            "bank": r["bank"],
            "amount_fen": r["traced_in_fen"],
            "remaining_fen": r["remaining_fen"],
            "stop": r["stop"],
            "delivery": order.get("delivery") if order else None,
        }
    index = {k: i for i, k in enumerate(nodes)}
    links = [
        {"source": index[f["payer"]], "target": index[f["payee"]], "traced_fen": f["traced_fen"]}
        for f in raw.get("flows") or []
        if f["payer"] in index and f["payee"] in index
    ]
    return {"nodes": list(nodes.values()), "links": links}


@router.get("/cases/{case_id}")
def case_page(case_id: str, request: Request, p: Principal = Depends(centre)) -> HTMLResponse:
    v = _unmaskable(request, p)
    try:
        shown = case_routes.case(case_id, v)
        orders = case_routes.freeze_orders(case_id, v)
    except HTTPException as e:
        raise Denied(e.status_code, "not_found") from None
    with v.db() as s:
        raw = case_routes._case(s, case_id)
    data, shown_data = raw["data"] or {}, shown["data"] or {}
    return _page(
        request,
        "case.html",
        {
            "unmasked": v.unmasked,
            "case": shown,
            "totals": shown_data.get("totals") or {},
            "orders": orders,
            "graph": money_graph(data, shown_data, orders),
        },
    )


# --- citizens -------------------------------------------------------------------------------


def _citizen_session(request: Request, app_key: Principal) -> Principal | None:
    p = _from_cookie(request, CITIZEN_COOKIE)
    return p if p is not None and p.verified_citizen and p.org == app_key.org else None


@router.get("/citizen")
def citizen_page(request: Request, p: Principal = Depends(citizen_app)) -> HTMLResponse:
    session = _citizen_session(request, p)
    ctx: dict[str, Any] = {"error": request.query_params.get("error")}
    if session is not None:
        ctx["holdings"] = citizen_routes.my_holdings(session, request.app.state.db)
        ctx["flagged_to"] = request.query_params.get("flagged")
    return _page(request, "citizen.html", ctx)


@router.post("/citizen/verify")
def citizen_verify(
    request: Request,
    id_number: str = Form(..., max_length=64),
    phone: str = Form(..., max_length=64),
    p: Principal = Depends(citizen_app),
) -> Response:
    try:
        out = citizen_routes.verify(
            VerifyIn(id_number=id_number, phone=phone), request, p, request.app.state.db
        )
    except (ValidationError, HTTPException) as e:
        return _back(f"/console/citizen?error={_message(e)}")
    return _page(request, "citizen.html", {"challenge": out})


@router.post("/citizen/confirm")
def citizen_confirm(
    request: Request,
    challenge_id: str = Form(..., max_length=128),
    code: str = Form(..., max_length=16),
    p: Principal = Depends(citizen_app),
) -> Response:
    try:
        session = citizen_routes.confirm(
            ConfirmIn(challenge_id=challenge_id, code=code.strip()), p, request.app.state.db
        )
    except (ValidationError, HTTPException) as e:
        return _back(f"/console/citizen?error={_message(e)}")
    r = _back("/console/citizen")
    return _with_key(r, request, CITIZEN_COOKIE, session.token, SESSION_MINUTES * 60)


@router.post("/citizen/flags")
def citizen_flag(
    request: Request, item_id: str = Form(..., max_length=128), p: Principal = Depends(citizen_app)
) -> Response:
    session = _citizen_session(request, p)
    if session is None:
        return _back("/console/citizen")
    try:
        out = citizen_routes.flag(FlagIn(item_id=item_id), session, request.app.state.db)
    except (ValidationError, HTTPException) as e:
        return _back(f"/console/citizen?error={_message(e)}")
    return _back(f"/console/citizen?flagged={out.partner}")


def _message(e: Exception) -> str:
    if isinstance(e, ValidationError):
        return str(e.errors()[0]["msg"])[:200]
    assert isinstance(e, HTTPException)
    return str(e.detail)[:200]


# --- scorecard ------------------------------------------------------------------------------


def load_score(path: str | None) -> dict[str, Any] | None:
    """What `fanzha score` wrote (DIR/score.json), if there is one."""
    if not path or not Path(path).is_file():
        return None
    return json.loads(Path(path).read_text())


@router.get("/scorecard")
def scorecard(request: Request, p: Principal = Depends(centre)) -> HTMLResponse:
    from fanzha.sim.report import format_value
    from fanzha.sim.run import metric_rows

    result = load_score(os.environ.get("FANZHA_SCORE"))
    rows = []
    if result is not None:
        rows = [
            {
                "capability": c,
                "key": k,
                "label": label,
                "value": value,
                "unit": unit,
                "shown": format_value(value, unit),
            }
            for c, k, label, value, unit in metric_rows(result)
        ]
    chart = [
        {"name": f"{r['capability']}.{r['key']}", "value": round(r["value"] * 100, 1)}
        for r in rows
        if r["unit"] == "share" and r["value"] is not None
    ]
    return _page(request, "scorecard.html", {"rows": rows, "chart": chart, "found": bool(rows)})


# --- account rings -------------------------------------------------------------------------


@router.get("/rings")
def rings_page(request: Request, p: Principal = Depends(centre)) -> HTMLResponse:
    """The black-account rings `fanzha accounts rings` finds, as a graph with their evidence."""
    from fanzha.web.rings import ring_graph, store_rings

    v = _view(request, p)
    state = request.app.state
    with v.db() as s:
        upto = s.max_seq()
        if state.console_rings is None or state.console_rings[0] != upto:
            state.console_rings = (upto, store_rings(s))  # found again only after new events
        raw = state.console_rings[1]
    shown = v.show(raw["rings"], "rings") if raw["rings"] else []
    return _page(
        request,
        "rings.html",
        {"summary": raw["summary"], "rings": shown, "graph": ring_graph(raw["rings"], shown)},
    )


# --- leak source ----------------------------------------------------------------------------


@router.get("/leaks")
def leaks_page(
    request: Request,
    fraud_type: str | None = Query(None, max_length=64),
    case: str | None = Query(None, max_length=128),
    victims_only: bool = False,
    p: Principal = Depends(centre),
) -> HTMLResponse:
    """The leak-source ranking `fanzha leaks source` computes, for a fraud type or a case's."""
    from fanzha.web.leaks import fraud_type_of_case, fraud_types, leak_report, source_chart

    v = _view(request, p)
    state = request.app.state
    with v.db() as s:
        types = fraud_types(s)
        if case:
            fraud_type = fraud_type_of_case(s, case)
            if fraud_type is None:
                raise Denied(404, "not_found")
        fraud_type = fraud_type or (types[0] if types else None)
        if fraud_type is not None and fraud_type not in types:
            raise Denied(404, "not_found")
        report = None
        if fraud_type is not None:
            key, upto = (fraud_type, victims_only), s.max_seq()
            cached = state.console_leaks.get(key)
            if cached is None or cached[0] != upto:
                cached = state.console_leaks[key] = (upto, leak_report(s, fraud_type, victims_only))
            report = cached[1]
    shown = v.show(report, "leaks") if report else None
    return _page(
        request,
        "leaks.html",
        {
            "types": types,
            "fraud_type": fraud_type,
            "case": case,
            "victims_only": victims_only,
            "report": shown,
            "chart": source_chart(shown) if shown else None,
        },
    )


# --- 无诈社区 -------------------------------------------------------------------------------


@router.get("/community")
def community_page(request: Request, p: Principal = Depends(centre)) -> HTMLResponse:
    from fanzha.web.community import community_stats

    with request.app.state.db() as s:
        rows = community_stats(s)
    return _page(request, "community.html", {"rows": rows})


# --- policy lifecycle -----------------------------------------------------------------------


def _policy_page(request: Request, **ctx: Any) -> HTMLResponse:
    """Versions, a diff of two, the shadow report and a backtest's report (the API's routes)."""
    from fanzha.api.routers import policy as policy_routes

    db = request.app.state.db
    versions = policy_routes.versions(db)
    choices = list(dict.fromkeys([versions["live"], *(v["version"] for v in versions["versions"])]))
    a, b = ctx.pop("a", None), ctx.pop("b", None)
    diff = None
    if a and b:
        try:
            diff = policy_routes.diff(a, b, db)["diff"]
        except HTTPException as e:
            ctx["error"] = e.detail
    shadow = policy_routes.shadow_report(db) if versions["shadow"] else None
    return _page(
        request,
        "policy.html",
        {"versions": versions, "choices": choices, "a": a, "b": b, "diff": diff, "shadow": shadow}
        | ctx,
    )


@router.get("/policy")
def policy_page(
    request: Request,
    a: str | None = Query(None, max_length=64),
    b: str | None = Query(None, max_length=64),
    p: Principal = Depends(centre),
) -> HTMLResponse:
    return _policy_page(request, a=a, b=b)


@router.post("/policy/backtest")
def policy_backtest(
    request: Request,
    candidate: str = Form(..., max_length=200_000),
    start: str = Form(..., max_length=40),
    end: str = Form(..., max_length=40),
    p: Principal = Depends(centre),
) -> HTMLResponse:
    """The API's backtest (POST /v1/policy/backtest) from the console's form: analysts only."""
    from fanzha.api.routers import policy as policy_routes
    from fanzha.errors import FanzhaError

    if p.role != "analyst":
        raise Denied(403, "analyst_only")
    report, error = None, None
    try:
        body = policy_routes.BacktestIn(candidate=candidate, start=start, end=end)
        report = policy_routes.backtest(body, request.app.state.db)
    except ValidationError as e:
        error = str(e.errors()[0]["msg"])[:200]
    except HTTPException as e:
        error = str(e.detail)
    except FanzhaError as e:
        error = str(e)
    return _policy_page(
        request, report=report, candidate=candidate, start=start, end=end, error=error
    )


@router.post("/policy/shadow")
def policy_shadow(
    request: Request,
    act: str = Form(..., max_length=10),
    reason: str = Form(..., max_length=500),
    p: Principal = Depends(centre),
) -> Response:
    """Promote or drop the shadow policy (the API's routes): analysts only, audited."""
    from fanzha.api.routers import policy as policy_routes

    if p.role != "analyst":
        raise Denied(403, "analyst_only")
    if act not in ("promote", "drop") or not reason.strip():
        return _back("/console/policy")
    # no shadow any more (someone else acted): the page shows it
    with contextlib.suppress(HTTPException):
        policy_routes.shadow_act(
            act, policy_routes.ReasonIn(reason=reason.strip()), p, request.app.state.db
        )
    return _back("/console/policy")


# --- the app --------------------------------------------------------------------------------


def mount(app: FastAPI) -> None:
    """Add the console to the API's app: pages at /console, static files at /console/static."""
    secret = os.environ.get("FANZHA_CONSOLE_SECRET") or secrets.token_hex(32)
    app.state.console_signer = URLSafeTimedSerializer(secret, salt="fanzha-console")
    app.state.console_rings = None  # (the log's last seq, its rings)
    app.state.console_leaks = {}  # (fraud type, victims only) -> (the log's last seq, report)
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=str(HERE / "static")), name="console-static")

    @app.exception_handler(Denied)
    async def denied(request: Request, e: Denied) -> HTMLResponse:
        return _page(request, "denied.html", {"message": e.message_key}, e.status)


__all__ = ["money_graph", "mount", "router", "sla_clock"]
