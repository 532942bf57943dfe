"""The API tests' small world: a police-confirmed fraud number that called two people (alerts), a
victim's money through mule accounts (a case to trace), a citizen with phone cards, a bank card and
a platform account under her ID; and a client that calls as any role."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient

FRAUD = "17012345678"
VICTIM = "13800138000"  # the citizen's phone; answered the fraud call
OTHER = "13900139000"
CITIZEN_ID = "11010519491231002X"
STRANGER_ID = "642124196105071337"
BANK_CARD = "6222020200001234567"  # ICBC debit BIN
MULE = "6217000000000000001"
ORGS = {"analyst": "centre-xm", "police": "police-xm", "bank": "bank-ccb",
        "operator": "operator-a", "platform": "platform-shop-a", "warehouse": "warehouse-wh7",
        "citizen": "app-96110"}
T = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def iso(minutes: float) -> str:
    return (T + dt.timedelta(minutes=minutes)).isoformat()


def world_events() -> dict[str, list[dict]]:
    sim = {"card_type": "sim", "id_number": CITIZEN_ID, "issuer": "operator-a",
           "source": "operator-a"}
    return {
        "card": [
            {**sim, "ts": iso(-50000), "card_number": VICTIM, "card_kind": "postpaid"},
            {**sim, "ts": iso(-40000), "card_number": "13700137000"},
            {**sim, "ts": iso(-30000), "card_number": "13700137000", "action": "close"},
            {"ts": iso(-20000), "card_type": "bank", "card_number": BANK_CARD,
             "id_number": CITIZEN_ID, "issuer": "bank-icbc", "source": "bank-icbc"},
            {"ts": iso(-20000), "card_type": "sim", "card_number": OTHER,
             "id_number": STRANGER_ID, "issuer": "operator-a", "source": "operator-a"},
        ],
        "registration": [
            {"ts": iso(-1000), "platform": "shop-a", "account_id": "u10000001", "phone": VICTIM,
             "id_number": CITIZEN_ID, "source": "platform-shop-a"},
            {"ts": iso(-900), "platform": "shop-a", "account_id": "u20000002", "phone": OTHER,
             "id_number": STRANGER_ID, "source": "platform-shop-a"},
        ],
        "report": [
            {"ts": iso(0), "reporter_kind": "police", "target_kind": "phone",
             "target_value": FRAUD, "verdict": "confirm", "fraud_type": "fake_customer_service",
             "source": "police-xm"},
        ],
        "call": [
            {"ts": iso(60), "caller": FRAUD, "callee": VICTIM, "duration_s": 184,
             "source": "operator-a"},
            {"ts": iso(70), "caller": FRAUD, "callee": OTHER, "duration_s": 0,
             "source": "operator-a"},
        ],
        "transfer": [
            {"ts": iso(120), "transfer_id": "T1", "payer_account": BANK_CARD,
             "payee_account": MULE, "amount_fen": 5_000_000, "payee_bank": "bank-ccb",
             "payer_bank": "bank-icbc", "payer_phone": VICTIM, "source": "bank-icbc"},
            {"ts": iso(126), "transfer_id": "T2", "payer_account": MULE,
             "payee_account": "6217000000000000002", "amount_fen": 2_000_000,
             "payer_bank": "bank-ccb", "payee_bank": "bank-abc", "source": "bank-ccb"},
            {"ts": iso(150), "transfer_id": "T3", "payer_account": MULE,
             "payee_account": "6217000000000000003", "amount_fen": 2_500_000,
             "payer_bank": "bank-ccb", "payee_bank": "bank-ccb", "source": "bank-ccb"},
        ],
        "case": [
            {"ts": iso(300), "case_id": "J1", "fraud_type": "fake_customer_service",
             "victim_phone": VICTIM, "victim_account": BANK_CARD, "transfer_id": "T1",
             "loss_fen": 5_000_000, "paid_at": iso(120), "fraud_contact": FRAUD,
             "source": "police-xm"},
        ],
    }


class Api:
    """A test client with a key per role: api.get("analyst", "/v1/alerts")."""

    def __init__(self, client: TestClient, keys: dict[str, str], db: str, sms: Path):
        self.client = client
        self.keys = keys
        self.db = db
        self.sms = sms

    def headers(self, who: str | None) -> dict[str, str]:
        if who is None:
            return {}
        token = self.keys.get(who, who)
        return {"Authorization": f"Bearer {token}"}

    def request(self, method: str, who: str | None, path: str, **kw):
        headers = {**self.headers(who), **kw.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kw)

    def get(self, who: str | None, path: str, **kw):
        return self.request("GET", who, path, **kw)

    def post(self, who: str | None, path: str, **kw):
        return self.request("POST", who, path, **kw)

    def ok(self, method: str, who: str | None, path: str, **kw):
        r = self.request(method, who, path, **kw)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()

    def store(self):
        """The app's own store (DuckDB allows one process; use it between requests)."""
        return self.client.app.state.db.store


