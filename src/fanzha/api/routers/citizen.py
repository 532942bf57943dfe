"""Citizen services: prove control of an ID, see what is registered under it, flag what is not yours.

一证通查 / 一键查卡: every phone card, bank card and platform account opened with one's ID — which
is how the victims of village-push gangs find the accounts opened in their name. Control of the ID
is proved by a one-time code sent by SMS to a phone card registered to that ID (card events carry
the holder's ID number): the code is 6 digits, expires after 5 minutes, is single-use, allows 5
tries, and each ID number and each phone may ask for 5 codes an hour. The answer to a request for a
code is the same whether or not the phone is registered to the ID, so it cannot be used to test
whose phone a number is. A verified session lasts 15 minutes and sees only that ID's holdings.

Reporting and checking numbers, URLs, apps and accounts are the intelligence routes, open to the
citizen role.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

import pyarrow as pa
from fastapi import APIRouter, Depends, HTTPException, Request

from fanzha import ids
from fanzha.api.access import Principal, add_session
from fanzha.api.deps import Db, allow, get_db, principal
from fanzha.api.models import (
    ConfirmIn,
    FlagIn,
    FlagOut,
    Holdings,
    Session,
    VerifyIn,
    VerifyOut,
)
from fanzha.api.views import notify_partners
from fanzha.hashing import sha256_32_one
from fanzha.investigate.cards import LOOKUP_SERVICE
from fanzha.investigate.cards import REF as CARD_REF
from fanzha.linkage import DeliveryError, now
from fanzha.privacy import mask_value
from fanzha.privacy.masks import keep_ends
from fanzha.store import Store
from fanzha.store.tables import LIST_SCHEMA

router = APIRouter(tags=["citizens"])
CODE_MINUTES = 5
MAX_TRIES = 5
CODES_PER_HOUR = 5
SMS_TEXT = "【反诈中心】您的验证码是{code}，{minutes}分钟内有效，仅用于一证通查。请勿告诉任何人。"
_NO = "unknown, expired or used challenge, or a wrong code"


def _code_hash(challenge_id: str, code: str) -> str:
    return hashlib.sha256(f"{challenge_id}:{code}".encode()).hexdigest()


def registered(s: Store, id_number: str, phone: str) -> bool:
    """The phone card is open under this ID (its last card event says open)."""
    rows = s.find_events("card", card_type="sim", id_number=id_number, card_number=phone)
    actions = rows["action"].to_pylist()
    return bool(actions) and actions[-1] != "close"


@router.post(
    "/citizen/verify",
    response_model=VerifyOut,
    summary="Ask for a one-time code",
    **allow("citizen", responses={429: {"description": "Too many codes asked for"}}),
)
def verify(
    body: VerifyIn, request: Request, p: Principal = Depends(principal), db: Db = Depends(get_db)
) -> VerifyOut:
    """A code goes by SMS to `phone` if it is a phone card registered to `id_number`."""
    try:
        id_number = ids.resident_id.parse(body.id_number).value
        phone = ids.phone.parse(body.phone).value
    except ids.IdError as e:
        raise HTTPException(422, str(e)) from None
    sink = request.app.state.settings.sms_sink
    if sink is None:
        raise HTTPException(503, "no SMS sink is configured (fanzha serve --sms-sink)")
    at = now()
    hour_ago = at - dt.timedelta(hours=1)
    challenge_id = secrets.token_urlsafe(18)
    code = f"{secrets.randbelow(10**6):06d}"
    with db() as s:
        if (
            s.count_otps(hour_ago, id_number=id_number) >= CODES_PER_HOUR
            or s.count_otps(hour_ago, phone=phone) >= CODES_PER_HOUR
        ):
            raise HTTPException(
                429, "too many codes asked for: try again in an hour", {"Retry-After": "3600"}
            )
        send = registered(s, id_number, phone)
        expires = at + dt.timedelta(minutes=CODE_MINUTES)
        s.add_otp(
            {
                "challenge_id": challenge_id,
                "id_number": id_number,
                "phone": phone,
                "code_hash": _code_hash(challenge_id, code) if send else None,
                "org": p.org,
                "created_ts": at,
                "expires_ts": expires,
                "attempts": 0,
            }
        )
    if send:
        try:
            sink.send(phone, SMS_TEXT.format(code=code, minutes=CODE_MINUTES), "citizen_verify")
        except DeliveryError as e:
            raise HTTPException(502, f"the SMS could not be sent: {e}") from None
    return VerifyOut(
        challenge_id=challenge_id,
        sent_to=mask_value("phone", phone) or "",
        expires_ts=expires,
        detail="if this phone is registered to this ID, a code was sent to it",
    )


@router.post(
    "/citizen/verify/confirm",
    response_model=Session,
    summary="Trade the code for a session",
    **allow("citizen", responses={429: {"description": "Too many wrong codes"}}),
)
def confirm(
    body: ConfirmIn, p: Principal = Depends(principal), db: Db = Depends(get_db)
) -> Session:
    """A right code (within 5 minutes, at most 5 tries, once) gives a 15-minute session bound
    to the ID; it is written to the audit log."""
    at = now()
    with db() as s:
        c = s.otp(body.challenge_id)
        if c is None or c["org"] != p.org or c["used_ts"] is not None or c["expires_ts"] <= at:
            raise HTTPException(400, _NO)
        if s.otp_attempt(body.challenge_id) > MAX_TRIES:
            raise HTTPException(429, "too many wrong codes: ask for a new one")
        good = c["code_hash"] is not None and hmac.compare_digest(
            c["code_hash"], _code_hash(body.challenge_id, body.code)
        )
        if not good or not s.use_otp(body.challenge_id, at):
            raise HTTPException(400, _NO)
        session = add_session(s, p.org, c["id_number"], c["phone"], at)
        s.append_audit(
            p.key_id,
            p.role,
            "citizen_session",
            f"id:{mask_value('resident_id', c['id_number'])}",
            "one-time code to a registered phone",
            {"org": p.org, "challenge_id": c["challenge_id"]},
        )
    return Session(
        token=session["token"],
        expires_ts=session["expires_ts"],
        id_number=mask_value("resident_id", c["id_number"]) or "",
    )


def holdings(s: Store, id_number: str) -> dict[str, list[dict[str, Any]]]:
    """Every card and platform account registered under the ID, unmasked (callers mask)."""
    cards: dict[tuple[str, str], list[dict]] = {}
    for e in s.find_events("card", id_number=id_number).to_pylist():
        cards.setdefault((e["card_type"], e["card_number"]), []).append(e)
    flagged = {
        e["ref"]
        for e in s.list_entries("cancel").to_pylist()
        if (e["ref"] or "").startswith("citizen:")
    }
    high_risk = _high_risk_cards(s)
    out: dict[str, list[dict[str, Any]]] = {
        "phone_cards": [],
        "bank_cards": [],
        "platform_accounts": [],
    }
    for (ctype, number), evs in sorted(cards.items()):
        opens = [e for e in evs if (e["action"] or "open") == "open"]
        first = opens[0] if opens else evs[0]
        closed = (evs[-1]["action"] or "open") == "close"
        item = {
            "item_id": first["event_id"],
            "kind": "phone_card" if ctype == "sim" else "bank_card",
            "number": number,
            "issuer": first["issuer"] or first["source"],
            "card_kind": first["card_kind"],
            "status": "closed" if closed else "open",
            "opened_ts": first["ts"] if opens else None,
            "closed_ts": evs[-1]["ts"] if closed else None,
            "flagged": f"citizen:{first['event_id']}" in flagged,
            "partner": first["source"] or first["issuer"],
            "entity_kind": "phone" if ctype == "sim" else "bank_card",
            "high_risk": high_risk.get(f"{CARD_REF}{ctype}:{number}"),
        }
        if ctype == "bank":
            try:
                bc = ids.bank_card.parse(number)
                item["bank"] = bc.bank
                item["card_kind"] = bc.card_kind or item["card_kind"]
            except ids.IdError:
                pass
        out["phone_cards" if ctype == "sim" else "bank_cards"].append(item)
    seen = set()
    for e in s.find_events("registration", id_number=id_number).to_pylist():
        if (e["platform"], e["account_id"]) in seen:
            continue
        seen.add((e["platform"], e["account_id"]))
        out["platform_accounts"].append(
            {
                "item_id": e["event_id"],
                "kind": "platform_account",
                "number": e["account_id"],
                "issuer": e["platform"],
                "status": "open",
                "opened_ts": e["ts"],
                "flagged": f"citizen:{e['event_id']}" in flagged,
                "partner": e["source"] or e["platform"],
                "entity_kind": "account",
            }
        )
    return out


def _high_risk_cards(s: Store) -> dict[str, dict[str, str]]:
    """The cards that `fanzha cards act` put on a high-risk (断卡) list, by their list ref: the
    notice the holder gets through the look-up service (a cancel beats a freeze beats a watch)."""
    out: dict[str, dict[str, str]] = {}
    for name in ("watch", "freeze", "cancel"):
        for e in s.list_entries(name).to_pylist():
            if (e["ref"] or "").startswith(CARD_REF) and e["partner"] != LOOKUP_SERVICE:
                out[e["ref"]] = {"list_name": name, "action": e["action"], "reason": e["reason"]}
    return out


def _masked(item: dict[str, Any]) -> dict[str, Any]:
    n = item["number"]
    shown = (
        mask_value("phone", n)
        if item["kind"] == "phone_card"
        else mask_value("bank_card", n)
        if item["kind"] == "bank_card"
        else keep_ends(n, 2, 3, min_hidden=max(1, len(n) // 3))
    )
    return {**item, "number": shown}


@router.get(
    "/citizen/me/holdings",
    response_model=Holdings,
    summary="Phone cards, bank cards and platform accounts under my ID",
    **allow("citizen", session=True),
)
def my_holdings(p: Principal = Depends(principal), db: Db = Depends(get_db)) -> dict:
    assert p.subject is not None
    with db() as s:
        h = holdings(s, p.subject)
    return {
        "id_number": mask_value("resident_id", p.subject),
        **{k: [_masked(i) for i in items] for k, items in h.items()},
    }


@router.post(
    "/citizen/me/flags",
    response_model=FlagOut,
    summary="This is not mine",
    **allow("citizen", session=True, responses={404: {"description": "Not one of yours"}}),
)
def flag(body: FlagIn, p: Principal = Depends(principal), db: Db = Depends(get_db)) -> FlagOut:
    """The card or account goes on the cancel list of the operator, bank or platform that
    reported it (verify the holder, then cancel), and they are notified."""
    assert p.subject is not None
    at = now()
    with db() as s:
        items = [i for group in holdings(s, p.subject).values() for i in group]
        hit = [i for i in items if i["item_id"] == body.item_id]
        if not hit:
            raise HTTPException(404, "no such card or account under your ID")
        item = hit[0]
        ref = f"citizen:{item['item_id']}"
        partner = item["partner"] or "unknown"
        action = "verify_and_cancel"
        entry = {
            "entry_id": sha256_32_one(
                "\x1f".join(["cancel", partner, item["number"], ref, action])
            ),
            "list_name": "cancel",
            "partner": partner,
            "entity_kind": item["entity_kind"],
            "entity": item["number"],
            "action": action,
            "reason": "the ID holder says they did not open it (一证通查)",
            "evidence": f"holder verified by a one-time code to {mask_value('phone', p.phone)}"
            + (f"; says: {body.note}" if body.note else ""),
            "created_ts": at,
            "expires_ts": None,
            "ref": ref,
        }
        table = pa.Table.from_pylist([entry], LIST_SCHEMA)
        added = s.add_list_entries(table)
        notify_partners(s, table, at)
    return FlagOut(
        entry_id=entry["entry_id"], partner=partner, list_name="cancel", added=added == 1
    )
