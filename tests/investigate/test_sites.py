"""New fraud sites: a domain that defrauded people visit just before paying, and few others visit,
is suspected; a popular site every victim also reads is not; a domain already reported is not new;
the finding becomes a centre report (suspected intel) with its evidence."""

from __future__ import annotations

import datetime as dt

from fanzha.ingest import Source, ingest
from fanzha.investigate.sites import as_reports, find_new_sites
from fanzha.store import open_store
from fanzha.testing import write_csv

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _world(tmp_path):
    victims = [f"1390000000{i}" for i in range(4)]
    others = [f"1380000{i:04d}" for i in range(30)]
    visits, transfers, cases = [], [], []
    for i, p in enumerate(victims):
        t = T0 + dt.timedelta(hours=6 * i)
        visits += [{"ts": _iso(t), "phone": p, "domain": "tuikuan-kefu9.top"},
                   {"ts": _iso(t), "phone": p, "domain": "known-bad.cc"},
                   {"ts": _iso(t), "phone": p, "domain": "taobao.com"}]
        transfers.append({"ts": _iso(t + dt.timedelta(hours=1)), "payer_account": f"62220{i}",
                          "payee_account": "6222999", "amount_fen": 500_000, "payer_phone": p,
                          "payee_type": "person"})
        cases.append({"ts": _iso(t + dt.timedelta(days=1)), "case_id": f"J{i}",
                      "fraud_type": "fake_customer_service", "victim_phone": p})
    for i, p in enumerate(others):
        visits.append({"ts": _iso(T0 + dt.timedelta(minutes=i)), "phone": p,
                       "domain": "taobao.com"})
    visits.append({"ts": _iso(T0), "phone": others[0], "domain": "tuikuan-kefu9.top"})
    reports = [{"ts": _iso(T0 - dt.timedelta(days=1)), "reporter_kind": "citizen",
                "target_kind": "domain", "target_value": "known-bad.cc"}]
    srcs = []
    for kind, rows in (("visit", visits), ("transfer", transfers), ("case", cases),
                       ("report", reports)):
        p = tmp_path / f"{kind}.csv"
        write_csv(str(p), rows)
        srcs.append(Source(str(p), kind))
    return srcs


def test_a_site_victims_visit_before_paying_is_suspected_with_evidence(tmp_path, db):
    with open_store(db) as s:
        ingest(s, _world(tmp_path))
        found = find_new_sites(s)
        everything = find_new_sites(s, exclude_known=False)
    assert found["domain"].to_list() == ["tuikuan-kefu9.top"]
    # the reported domain is found too when what intelligence holds is not left out
    assert everything["domain"].to_list() == ["known-bad.cc", "tuikuan-kefu9.top"]
    row = found.row(0, named=True)
    assert row["marked_payers"] == 4 and row["visitors"] == 5
    assert "4 warned or defrauded people visited it within 24 h before paying" in row["evidence"]
    reports = as_reports(found, T0 + dt.timedelta(days=3)).to_pylist()
    assert len(reports) == 1
    r = reports[0]
    assert (r["reporter_kind"], r["target_kind"], r["target_value"], r["verdict"]) == (
        "centre", "domain", "tuikuan-kefu9.top", "report")
    assert "warned or defrauded" in r["text"]


def test_an_empty_store_finds_nothing(db):
    with open_store(db) as s:
        assert find_new_sites(s).height == 0
        assert as_reports(find_new_sites(s), T0).num_rows == 0


def test_the_command_logs_the_finding_as_suspected_intel(tmp_path, db, cli):
    with open_store(db) as s:
        ingest(s, _world(tmp_path))
    res = cli("sites", "find", "--suspect", "--json")
    assert '"reported": 1' in res.stdout and "tuikuan-kefu9.top" in res.stdout
    assert "suspected" in cli("intel", "check", "tuikuan-kefu9.top").stdout
    # found again: it is no longer new
    assert '"sites": []' in cli("sites", "find", "--json").stdout
