"""POST /v1/decide/transfer: the bank asks before it pays; the answer and its outcome are recorded."""

from __future__ import annotations

from api_world import BANK_CARD, VICTIM, iso

PATH = "/v1/decide/transfer"
NEW_PAYEE = "6230000000000000009"


def test_an_unknown_payer_and_payee_are_allowed(shared_api):
    d = shared_api.ok("POST", "bank", PATH, json={
        "payer_account": "6200000000000000001", "payee_account": "6200000000000000002",
        "amount_fen": 10_000, "ts": iso(600)})
    assert d["decision"] == "allow" and d["decision_id"].startswith("d-")
    assert d["reasons"] == ["no risk known for payer or payee"]


def test_the_warned_victim_paying_a_new_person_is_held_with_reasons(shared_api):
    d = shared_api.ok("POST", "bank", PATH, json={
        "payer_account": BANK_CARD, "payer_phone": VICTIM, "payee_account": NEW_PAYEE,
        "payee_type": "person", "amount_fen": 5_000_000, "ts": iso(600)})
    assert d["decision"] == "hold" and any("warning" in r for r in d["reasons"]), d
    before = shared_api.ok("POST", "bank", PATH, json={
        "payer_account": BANK_CARD, "payer_phone": VICTIM, "payee_account": NEW_PAYEE,
        "payee_type": "person", "amount_fen": 5_000_000, "ts": iso(-600)})
    assert before["decision"] != "hold"  # nothing was known yet: the state is as of the request


def test_decisions_and_outcomes_are_recorded(api):
    d = api.ok("POST", "bank", PATH, json={
        "payer_account": BANK_CARD, "payer_phone": VICTIM, "payee_account": NEW_PAYEE,
        "amount_fen": 5_000_000, "ts": iso(600), "transfer_id": "T-9"})
    out = api.ok("POST", "bank", f"{PATH}/{d['decision_id']}/outcome",
                 json={"outcome": "cancelled_by_payer", "note": "called her daughter"})
    assert out == {"decision_id": d["decision_id"], "outcome": "cancelled_by_payer"}
    s = api.store()
    log = [(r["action"], r["target"], r["reason"]) for r in s.audit_log().to_pylist()]
    assert ("decide_transfer", d["decision_id"], d["decision"]) in log
    assert ("transfer_outcome", d["decision_id"], "cancelled_by_payer") in log
    assert s.verify_audit()
    assert api.post("bank", f"{PATH}/d-nothing/outcome",
                    json={"outcome": "executed"}).status_code == 404
    assert api.post("bank", f"{PATH}/{d['decision_id']}/outcome",
                    json={"outcome": "vanished"}).status_code == 422


def test_bad_requests_and_wrong_callers_are_refused(shared_api):
    good = {"payer_account": "6200000000000000001", "payee_account": "6200000000000000002",
            "amount_fen": 10_000, "ts": iso(600)}
    for bad in ({**good, "payee_account": good["payer_account"]}, {**good, "amount_fen": -5},
                {**good, "amount_fen": 1.5}, {**good, "ts": "yesterday"},
                {**good, "ts": "2026-03-02T09:00:00"}, {**good, "colour": "red"},
                {k: v for k, v in good.items() if k != "payee_account"},
                {**good, "payer_account": "9" * 65}, {**good, "payee_type": "friend"}):
        r = shared_api.post("bank", PATH, json=bad)
        assert r.status_code == 422, (bad, r.text)
    for who in ("citizen", "operator", "warehouse", None):
        assert shared_api.post(who, PATH, json=good).status_code in (401, 403), who
