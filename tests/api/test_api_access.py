"""Authorisation: every route says which roles may call it, and every other role is refused; no
key, an unknown key, a revoked key and an expired session are refused everywhere."""

from __future__ import annotations

import datetime as dt

import pytest

from fanzha.api import create_app
from fanzha.api.access import ROLES, add_key, add_session, authenticate
from fanzha.linkage import now
from fanzha.store import open_store

ARGS = {"kind": "call", "alert_id": "x", "decision_id": "d-x", "case_id": "J1", "entity_kind": "phone",
        "value": "13800138000", "notification_id": "x"}


def _routes() -> list[tuple[str, str, list[str]]]:
    schema = create_app(":memory:").openapi()
    out = []
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            out.append((method.upper(), path.format(**ARGS), op.get("x-fanzha-roles")))
    return out


ROUTES = _routes()
SECURED = [r for r in ROUTES if r[1] != "/v1/health"]


def test_every_route_but_health_names_its_roles():
    assert len(ROUTES) >= 30
    assert [r for r in ROUTES if r[2] is None] == [("GET", "/v1/health", None)]


@pytest.mark.parametrize(("method", "path", "roles"), SECURED, ids=[f"{m} {p}" for m, p, _ in SECURED])
def test_each_role_is_denied_what_it_may_not_use(shared_api, method, path, roles):
    api = shared_api
    session = roles == ["citizen (verified session)"]
    for role in ROLES:
        r = api.request(method, role, path, json={})
        denied = r.status_code == 403 and (
            "may not use this route" in r.text or "needs a citizen's session" in r.text)
        if session or role not in roles:
            assert denied, (role, r.status_code, r.text)
        else:
            assert not denied and r.status_code != 401, (role, r.status_code, r.text)


def test_no_key_or_a_bad_key_is_refused_everywhere(shared_api):
    for method, path, _ in SECURED:
        for headers in ({}, {"Authorization": "Bearer fz_nothing_here"},
                        {"Authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l"}):
            r = shared_api.client.request(method, path, headers=headers, json={})
            assert r.status_code == 401, (method, path, headers, r.text)
            assert r.headers["WWW-Authenticate"] == "Bearer"


def test_health_needs_no_key(shared_api):
    assert shared_api.ok("GET", None, "/v1/health")["status"] == "ok"


def test_a_revoked_key_and_an_expired_session_are_refused(api):
    s = api.store()
    k = add_key(s, "bank-x", "bank")
    assert api.ok("GET", k["token"], "/v1/me")["org"] == "bank-x"
    assert s.revoke_api_key(k["key_id"], now())
    assert api.get(k["token"], "/v1/me").status_code == 401
    sess = add_session(s, "app-96110", "11010519491231002X", "13800138000",
                       now() - dt.timedelta(minutes=30))
    assert api.get(sess["token"], "/v1/me").status_code == 401  # 15 minutes are over
    live = add_session(s, "app-96110", "11010519491231002X", "13800138000", now())
    me = api.ok("GET", live["token"], "/v1/me")
    assert me["role"] == "citizen" and me["verified_citizen"] and me["may_ingest"] == []


def test_keys_are_stored_as_hashes_only(db):
    with open_store(db) as s:
        k = add_key(s, "op-1", "operator", "CDR feed")
        rows = s.api_keys().to_pylist()
        assert k["token"] not in str(rows) and rows[0]["key_hash"] != k["token"]
        assert authenticate(s, k["token"], now()).org == "op-1"
        assert authenticate(s, k["token"] + "x", now()) is None
        with pytest.raises(Exception, match="unknown role"):
            add_key(s, "op-1", "root")
        with pytest.raises(Exception, match="without spaces"):
            add_key(s, "op 1", "operator")


def test_a_citizen_app_key_is_not_a_session(shared_api):
    r = shared_api.get("citizen", "/v1/citizen/me/holdings")
    assert r.status_code == 403 and "one-time code" in r.text
