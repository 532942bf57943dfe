"""`make demo`'s last step before serving: trace and freeze the simulated city's police cases (as
POST /v1/traces does), make an analyst key and a citizen-app key, and print how to log in.

    python -m fanzha.web.demo --db demo/fanzha.duckdb --url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import sys

from fanzha.api.access import add_key
from fanzha.api.views import notify_partners
from fanzha.errors import FanzhaError
from fanzha.investigate.funds import run_trace
from fanzha.linkage import now
from fanzha.store import Store, open_store


def trace_cases(s: Store, limit: int) -> list[str]:
    """Trace (and freeze) up to `limit` police cases not yet saved; their ids."""
    done = {c["case_id"] for c in s.cases()}
    todo = [c for c in dict.fromkeys(s.find_events("case")["case_id"].to_pylist()) if c]
    traced = []
    for case_id in [c for c in todo if c not in done][:limit]:
        try:
            _, entries = run_trace(s, case=case_id, freeze=True)
        except FanzhaError:  # a case whose payments are not in the transfer log
            continue
        if entries is not None and entries.num_rows:
            notify_partners(s, entries, now())
        traced.append(case_id)
    return traced


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fanzha.web.demo", description=__doc__)
    ap.add_argument("--db", required=True)
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--cases", type=int, default=10, help="Police cases to trace.")
    a = ap.parse_args(argv)
    with open_store(a.db) as s:
        traced = trace_cases(s, a.cases)
        analyst = add_key(s, "centre-demo", "analyst", "make demo")
        citizen = add_key(s, "app-96110", "citizen", "make demo")
        sims = s.find_events("card", card_type="sim").to_pylist()
    print(f"traced {len(traced)} police cases: {', '.join(traced) or 'none'}")
    print(f"console: {a.url}/console/  (API docs: {a.url}/docs)")
    print(f"analyst key: {analyst['token']}")
    print(f"citizen-app key: {citizen['token']}")
    held = [e for e in sims if e["id_number"] and (e["action"] or "open") == "open"]
    if held:
        e = held[0]
        print(f"a citizen to look up: ID {e['id_number']}, phone {e['card_number']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
