"""Partner linkage: list entries reach each partner by a signed webhook (retried with back-off),
a file drop or pull, each with its delivery status, and nothing is delivered twice."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fanzha.linkage import backoff, deliver, now, sign, verify

T = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
SECRET = "whsec_test"


class Receiver:
    """A partner's webhook on 127.0.0.1 that answers 503 to its first `fail` requests."""

    def __init__(self, fail: int = 0):
        self.fail = fail
        self.requests: list[tuple[dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), body))
                code = 503 if len(outer.requests) <= outer.fail else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/fanzha"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver(fail=2)
    yield r
    r.close()


def _entries(api) -> dict:
    body = {"entries": [
        {"list_name": "freeze", "partner": "bank-ccb", "entity_kind": "account",
         "entity": "6217000000000000001", "reason": "mule of case J1",
         "evidence": "holds ¥50,000.00 of the money of 13800138000"},
        {"list_name": "block", "partner": "bank-abc", "entity_kind": "account",
         "entity": "6217000000000000002", "reason": "mule of case J1"},
        {"list_name": "cancel", "partner": "operator-a", "entity_kind": "phone",
         "entity": "17012345678", "reason": "fraud number confirmed by police"},
    ]}
    return api.ok("POST", "analyst", "/v1/lists", json=body)


def test_webhook_file_and_pull_each_with_its_status(api, receiver, tmp_path):
    s = api.store()
    s.put_partner({"partner": "bank-ccb", "webhook_url": receiver.url, "secret": SECRET,
                   "updated_ts": T})
    s.put_partner({"partner": "bank-abc", "file_dir": str(tmp_path / "abc"), "updated_ts": T})
    added = _entries(api)
    assert added["added"] == 3 and added["notifications_queued"] == 3
    assert _entries(api)["notifications_queued"] == 0  # the same news is queued once
    db = api.client.app.state.db
    t = now()  # the notifications were queued just before
    assert deliver(db, t) == {"delivered": 1, "retry": 1, "failed": 0, "pull": 1}
    assert deliver(db, t + dt.timedelta(seconds=10)) == {  # the retry is not due yet
        "delivered": 0, "retry": 0, "failed": 0, "pull": 1}
    assert deliver(db, t + backoff(1)) == {"delivered": 0, "retry": 1, "failed": 0, "pull": 1}
    assert deliver(db, t + backoff(1) + backoff(2)) == {
        "delivered": 1, "retry": 0, "failed": 0, "pull": 1}
    assert len(receiver.requests) == 3
    at = int((t + backoff(1) + backoff(2)).timestamp())
    headers, body = receiver.requests[-1]
    assert verify(SECRET, body, headers["X-Fanzha-Signature"], at)
    assert not verify(SECRET, body + b" ", headers["X-Fanzha-Signature"], at)
    assert not verify("whsec_other", body, headers["X-Fanzha-Signature"], at)
    payload = json.loads(body)
    assert headers["Idempotency-Key"] == payload["notification_id"]
    assert payload["entry"]["entity"] == "6217000000000000001"  # the partner's own account
    assert "138****8000" in payload["entry"]["evidence"]  # the victim's, masked
    assert "13800138000" not in body.decode()
    assert {h["Idempotency-Key"] for h, _ in receiver.requests} == {payload["notification_id"]}

    audit = [e for e in api.store().audit_log().to_pylist()
             if e["action"] == "deliver_notification"]
    dropped = json.loads(next((tmp_path / "abc").iterdir()).read_text())["notification_id"]
    assert {e["target"] for e in audit} == {f"notification:{payload['notification_id']}",
                                            f"notification:{dropped}"}
    assert {e["reason"] for e in audit} == {"list_entry addressed to bank-ccb",
                                            "list_entry addressed to bank-abc"}
    (drop,) = (tmp_path / "abc").iterdir()
    assert json.loads(drop.read_text())["entry"]["partner"] == "bank-abc"
    ccb = api.ok("GET", "bank", "/v1/notifications")
    assert [(n["status"], n["attempts"], n["channel"]) for n in ccb] == [
        ("delivered", 3, "webhook")]
    assert api.ok("GET", "bank", "/v1/lists")[0]["delivery"] == "delivered"

    (mine,) = api.ok("GET", "operator", "/v1/notifications", params={"status": "pending"})
    assert mine["payload"]["entry"]["entity"] == "17012345678"
    done = api.ok("POST", "operator", f"/v1/notifications/{mine['notification_id']}/ack")
    assert (done["status"], done["channel"]) == ("delivered", "pull")
    assert api.post("bank", f"/v1/notifications/{mine['notification_id']}/ack").status_code == 404
    assert api.get("bank", "/v1/notifications", params={"partner": "operator-a"}).status_code == 403
    everything = api.ok("GET", "analyst", "/v1/notifications")
    assert {n["status"] for n in everything} == {"delivered"} and len(everything) == 3


def test_a_partner_that_never_answers_is_failed_then_queued_again(api, tmp_path):
    dead = Receiver(fail=10**6)
    try:
        api.store().put_partner({"partner": "bank-ccb", "webhook_url": dead.url, "secret": SECRET,
                                 "updated_ts": T})
        _entries(api)
        db = api.client.app.state.db
        at = now()
        for _ in range(3):
            counts = deliver(db, at, max_attempts=3)
            at += dt.timedelta(hours=2)
        assert counts["failed"] == 1 and len(dead.requests) == 3
        (n,) = api.ok("GET", "analyst", "/v1/notifications", params={"status": "failed"})
        assert "503" in n["last_error"] and n["attempts"] == 3
        again = api.ok("POST", "analyst", f"/v1/notifications/{n['notification_id']}/retry")
        assert again["status"] == "pending" and again["attempts"] == 0
    finally:
        dead.close()
    r = api.ok("POST", "analyst", "/v1/notifications/deliver")  # now, against a closed port
    assert r["retry"] == 1 and r["pull"] == 2
    assert api.post("analyst", "/v1/notifications/nope/retry").status_code == 404
    p = api.ok("GET", "analyst", "/v1/partners")
    assert p == [{"partner": "bank-ccb", "webhook_url": dead.url, "file_dir": None,
                  "signed": True}]


def test_signatures_expire():
    body = b'{"a":1}'
    header = sign(SECRET, body, 1000)
    assert verify(SECRET, body, header, 1100)
    assert not verify(SECRET, body, header, 2000)  # replayed much later
    assert not verify(SECRET, body, "v1=abc", 1000)
    assert backoff(1) < backoff(2) < backoff(3) and backoff(50).total_seconds() == 3600
    assert now().tzinfo is not None
