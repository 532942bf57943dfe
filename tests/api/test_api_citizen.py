"""Citizen services: prove control of an ID with a one-time code to a phone registered to it, see
every card and account under that ID (masked), flag one as not yours."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from api_world import BANK_CARD, CITIZEN_ID, OTHER, STRANGER_ID, VICTIM
from fanzha.api.routers import citizen as citizen_routes
from fanzha.linkage import now


def _codes(api) -> list[dict]:
    path = api.sms / "sms.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _ask(api, id_number=CITIZEN_ID, phone=VICTIM):
    return api.post("citizen", "/v1/citizen/verify", json={"id_number": id_number, "phone": phone})


def _session(api) -> str:
    ch = _ask(api).json()
    code = _codes(api)[-1]["text"].split("验证码是")[1][:6]
    r = api.ok("POST", "citizen", "/v1/citizen/verify/confirm",
               json={"challenge_id": ch["challenge_id"], "code": code})
    return r["token"]


def test_a_code_to_a_registered_phone_opens_the_holders_view(api):
    r = _ask(api, CITIZEN_ID.lower(), "+86 138-0013-8000")
    assert r.status_code == 200 and r.json()["sent_to"] == "138****8000"
    (sms,) = _codes(api)
    assert sms["phone"] == VICTIM and "验证码" in sms["text"]
    code = sms["text"].split("验证码是")[1][:6]
    ok = api.ok("POST", "citizen", "/v1/citizen/verify/confirm",
                json={"challenge_id": r.json()["challenge_id"], "code": code})
    assert ok["id_number"] == "110***********002X"
    token = ok["token"]
    h = api.ok("GET", token, "/v1/citizen/me/holdings")
    phones = {c["number"]: c for c in h["phone_cards"]}
    assert set(phones) == {"138****8000", "137****7000"}
    assert phones["137****7000"]["status"] == "closed" and phones["138****8000"]["status"] == "open"
    (card,) = h["bank_cards"]
    assert (card["bank"], card["card_kind"], card["number"]) == (
        "中国工商银行", "debit", "***************4567")
    (acct,) = h["platform_accounts"]
    assert acct["issuer"] == "shop-a" and acct["number"] != "u10000001"
    text = json.dumps(h, ensure_ascii=False)
    assert OTHER not in text and "u20000002" not in text and BANK_CARD not in text
    assert api.store().audit_log().to_pylist()[-1]["action"] == "citizen_session"
    # the session is the citizen's: not the centre's routes, not another ID's data
    assert api.get(token, "/v1/alerts").status_code == 403
    assert api.get(token, "/v1/lookup/id_number/" + STRANGER_ID).status_code == 403


def test_not_mine_goes_to_the_partner_that_opened_it(api):
    token = _session(api)
    h = api.ok("GET", token, "/v1/citizen/me/holdings")
    acct = h["platform_accounts"][0]
    f = api.ok("POST", token, "/v1/citizen/me/flags",
               json={"item_id": acct["item_id"], "note": "我从没在这个平台注册过"})
    assert f["added"] and f["partner"] == "platform-shop-a" and f["list_name"] == "cancel"
    again = api.ok("POST", token, "/v1/citizen/me/flags", json={"item_id": acct["item_id"]})
    assert not again["added"] and again["entry_id"] == f["entry_id"]
    (entry,) = api.ok("GET", "platform", "/v1/lists")
    assert entry["entity"] == "u10000001" and entry["action"] == "verify_and_cancel"
    assert "一证通查" in entry["reason"] and entry["delivery"] == "pending"
    card = h["bank_cards"][0]
    api.ok("POST", token, "/v1/citizen/me/flags", json={"item_id": card["item_id"]})
    assert api.ok("GET", "bank", "/v1/lists") == []  # bank-ccb did not issue it
    icbc = api.ok("GET", "analyst", "/v1/lists", params={"partner": "bank-icbc"})
    assert len(icbc) == 1 and icbc[0]["entity_kind"] == "bank_card"
    assert api.ok("GET", token, "/v1/citizen/me/holdings")["bank_cards"][0]["flagged"]
    r = api.post(token, "/v1/citizen/me/flags", json={"item_id": "someone-elses"})
    assert r.status_code == 404


def test_a_phone_not_registered_to_the_id_gets_the_same_answer_and_no_code(api):
    r = _ask(api, CITIZEN_ID, OTHER)  # the stranger's phone
    assert r.status_code == 200 and r.json()["sent_to"] == "139****9000"
    assert _codes(api) == []
    for code in ("000000", "123456"):
        x = api.post("citizen", "/v1/citizen/verify/confirm",
                     json={"challenge_id": r.json()["challenge_id"], "code": code})
        assert x.status_code == 400
    closed = _ask(api, CITIZEN_ID, "13700137000")  # a card that was closed
    assert closed.status_code == 200 and _codes(api) == []


def test_codes_expire_are_single_use_and_limited(api, monkeypatch):
    ch = _ask(api).json()
    code = _codes(api)[-1]["text"].split("验证码是")[1][:6]
    wrong = "000000" if code != "000000" else "111111"
    later = now() + dt.timedelta(minutes=6)
    monkeypatch.setattr(citizen_routes, "now", lambda: later)
    r = api.post("citizen", "/v1/citizen/verify/confirm",
                 json={"challenge_id": ch["challenge_id"], "code": code})
    assert r.status_code == 400  # expired
    monkeypatch.undo()
    ch = _ask(api).json()
    code = _codes(api)[-1]["text"].split("验证码是")[1][:6]
    body = {"challenge_id": ch["challenge_id"], "code": code}
    assert api.ok("POST", "citizen", "/v1/citizen/verify/confirm", json=body)["token"]
    assert api.post("citizen", "/v1/citizen/verify/confirm", json=body).status_code == 400
    ch = _ask(api).json()
    for _ in range(5):
        r = api.post("citizen", "/v1/citizen/verify/confirm",
                     json={"challenge_id": ch["challenge_id"], "code": wrong})
        assert r.status_code == 400
    code = _codes(api)[-1]["text"].split("验证码是")[1][:6]
    r = api.post("citizen", "/v1/citizen/verify/confirm",
                 json={"challenge_id": ch["challenge_id"], "code": code})
    assert r.status_code == 429  # five wrong tries: even the right code is refused
    assert _ask(api).status_code == 200  # the 4th and 5th codes of the hour
    assert _ask(api).status_code == 200
    r = _ask(api)
    assert r.status_code == 429 and r.headers["Retry-After"] == "3600"
    assert _ask(api, STRANGER_ID, OTHER).status_code == 200  # another ID and phone


def test_a_challenge_is_bound_to_the_app_that_asked(api):
    from fanzha.api.access import add_key

    other = add_key(api.store(), "app-other", "citizen")["token"]
    ch = _ask(api).json()
    code = _codes(api)[-1]["text"].split("验证码是")[1][:6]
    r = api.post(other, "/v1/citizen/verify/confirm",
                 json={"challenge_id": ch["challenge_id"], "code": code})
    assert r.status_code == 400


@pytest.mark.parametrize("body", [
    {"id_number": "110105194912310021", "phone": VICTIM},  # bad check digit
    {"id_number": CITIZEN_ID, "phone": "not a phone"},
    {"id_number": CITIZEN_ID},
])
def test_bad_identities_are_refused(shared_api, body):
    r = shared_api.post("citizen", "/v1/citizen/verify", json=body)
    assert r.status_code == 422


def test_a_verified_citizen_reports_as_their_own_phone(api):
    token = _session(api)
    r = api.ok("POST", token, "/v1/intel/reports",
               json={"target_kind": "url", "target_value": "http://refund-help.example/a",
                     "reporter": "13111111111", "text": "退款链接"})
    (row,) = api.store().find_events("report", event_id=r["event_id"]).to_pylist()
    assert row["reporter"] == VICTIM and row["reporter_kind"] == "citizen"
    assert row["source"] == "app-96110"


def test_without_an_sms_sink_codes_cannot_be_sent(world, tmp_path):
    import shutil

    from fastapi.testclient import TestClient

    from fanzha.api import create_app

    db = str(tmp_path / "x.duckdb")
    shutil.copy(world[0], db)
    with TestClient(create_app(db)) as c:
        r = c.post("/v1/citizen/verify", json={"id_number": CITIZEN_ID, "phone": VICTIM},
                   headers={"Authorization": f"Bearer {world[1]['citizen']}"})
    assert r.status_code == 503 and "sms-sink" in r.text


def test_a_high_risk_card_in_ones_name_comes_with_its_notice(api):
    import polars as pl

    from fanzha.investigate.cards import list_entries

    flagged = pl.DataFrame({
        "card_type": ["sim"], "card_number": [VICTIM], "issuer": ["cmcc"],
        "reasons": ["turned_bad"], "evidence": ["became a fraud number 3 days after opening"],
        "id_number": [CITIZEN_ID],
    })
    api.store().add_list_entries(list_entries(flagged, now()))
    h = api.ok("GET", _session(api), "/v1/citizen/me/holdings")
    phones = {c["number"]: c for c in h["phone_cards"]}
    notice = phones["138****8000"]["high_risk"]
    assert notice["list_name"] == "cancel" and "断卡" in notice["reason"]
    assert phones["137****7000"]["high_risk"] is None
    assert all(c["high_risk"] is None for c in h["bank_cards"])
