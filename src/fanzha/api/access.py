"""Who may do what: roles, API keys and citizens' sessions.

Every caller is an organisation with one role. The centre's analysts see everything (masked unless
they give a reason); police work alerts and cases; a bank, an operator, a platform or a warehouse
sends its own kinds of events and sees the list entries and notifications addressed to it; a
citizen app reports and checks values, and a citizen who proved control of an ID (a one-time code
to a phone registered to it) sees what is registered under that ID.

A key is `fz_<key id>_<secret>`; only the SHA-256 of the whole token is stored, the key id is what
the audit log names. A citizen's session is a short-lived token of the same form, bound to the ID
number it was issued for.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from fanzha.errors import FanzhaError
from fanzha.events import KINDS
from fanzha.store import Store

ROLES: dict[str, str] = {
    "analyst": "anti-fraud centre analyst",
    "police": "police officer",
    "bank": "bank or payment institution",
    "operator": "telecom operator",
    "platform": "internet platform",
    "warehouse": "e-commerce warehouse, shop or business hall",
    "citizen": "citizen app (a verified session sees the holder's own ID)",
}
PARTNERS = ("bank", "operator", "platform", "warehouse")
CENTRE = ("analyst", "police")
UNMASK = CENTRE  # may ask for personal data unmasked, with a reason that is audited

# Event kinds each role may send (the centre loads every partner's files on their behalf).
INGEST_KINDS: dict[str, tuple[str, ...]] = {
    "analyst": tuple(KINDS),
    "police": ("case", "report"),
    "bank": ("transfer", "card", "report"),
    "operator": ("call", "sms", "visit", "card", "report"),
    "platform": ("registration", "login", "order", "app", "report"),
    "warehouse": ("waybill_access", "roster", "order"),
    "citizen": (),
}
# The report's reporter_kind a role speaks as (None: the caller says; not listed: cannot report).
REPORTER_KIND: dict[str, str | None] = {
    "analyst": None,
    "police": "police",
    "bank": "bank",
    "operator": "operator",
    "platform": "platform",
    "citizen": "citizen",
}
CARD_TYPE = {"bank": "bank", "operator": "sim"}  # the cards a bank / an operator issues

SESSION_MINUTES = 15


@dataclass(frozen=True)
class Principal:
    key_id: str
    org: str
    role: str
    subject: str | None = None  # a citizen's session: the ID number
    phone: str | None = None  # a citizen's session: the phone the code reached

    @property
    def verified_citizen(self) -> bool:
        return self.role == "citizen" and self.subject is not None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> dt.datetime:
    t = dt.datetime.now(dt.UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def _token() -> tuple[str, str]:
    key_id = secrets.token_hex(6)
    return key_id, f"fz_{key_id}_{secrets.token_urlsafe(32)}"


def add_key(store: Store, org: str, role: str, label: str | None = None) -> dict[str, Any]:
    """A new API key; the token is returned once and never stored."""
    if role not in ROLES:
        raise FanzhaError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    org = org.strip()
    if not org or len(org) > 128 or any(c.isspace() for c in org):
        raise FanzhaError("--org must be a name without spaces (at most 128 characters)")
    key_id, token = _token()
    row = {
        "key_id": key_id,
        "key_hash": hash_token(token),
        "org": org,
        "role": role,
        "label": label,
        "created_ts": _now(),
    }
    store.add_api_key(row)
    return {"key_id": key_id, "token": token, "org": org, "role": role, "label": label}


def add_session(store: Store, org: str, id_number: str, phone: str, at: dt.datetime) -> dict:
    """A citizen's session after a verified one-time code."""
    key_id, token = _token()
    expires = at + dt.timedelta(minutes=SESSION_MINUTES)
    store.add_api_key(
        {
            "key_id": key_id,
            "key_hash": hash_token(token),
            "org": org,
            "role": "citizen",
            "subject": id_number,
            "phone": phone,
            "label": "citizen session",
            "created_ts": at,
            "expires_ts": expires,
        }
    )
    return {"token": token, "expires_ts": expires}


def authenticate(store: Store, token: str, at: dt.datetime) -> Principal | None:
    """The principal of a token, or None if it is unknown, revoked or expired."""
    if not token.startswith("fz_") or len(token) > 200:
        return None
    return principal_of(store, hash_token(token), at)


def principal_of(store: Store, key_hash: str, at: dt.datetime) -> Principal | None:
    """The principal of a key's hash (the console's session cookie holds the hash, not the key)."""
    row = store.api_key(key_hash)
    if row is None or row["revoked_ts"] is not None:
        return None
    if row["expires_ts"] is not None and row["expires_ts"] <= at:
        return None
    return Principal(row["key_id"], row["org"], row["role"], row["subject"], row["phone"])
