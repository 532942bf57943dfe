"""New fraud sites: a domain that defrauded people visit just before paying, and few others visit,
is suspected; a popular site every victim also reads is not; a domain already reported is not new;
the finding becomes a centre report (suspected intel) with its evidence."""

from __future__ import annotations

import datetime as dt

from fanzha.ingest import Source, ingest
from fanzha.investigate.sites import as_reports, find_new_apps, find_new_sites
from fanzha.store import open_store
from fanzha.testing import ingest_csvs, write_csv

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _world(tmp_path):
    victims = [f"1390000000{i}" for i in range(4)]
    others = [f"1380000{i:04d}" for i in range(30)]
    visits, transfers, cases = [], [], []
    for i, p in enumerate(victims):
        t = T0 + dt.timedelta(hours=6 * i)
        visits += [
            {"ts": _iso(t), "phone": p, "domain": "tuikuan-kefu9.top"},
            {"ts": _iso(t), "phone": p, "domain": "known-bad.cc"},
            {"ts": _iso(t), "phone": p, "domain": "taobao.com"},
        ]
        transfers.append(
            {
                "ts": _iso(t + dt.timedelta(hours=1)),
                "payer_account": f"62220{i}",
                "payee_account": "6222999",
                "amount_fen": 500_000,
                "payer_phone": p,
                "payee_type": "person",
            }
        )
        cases.append(
            {
                "ts": _iso(t + dt.timedelta(days=1)),
                "case_id": f"J{i}",
                "fraud_type": "fake_customer_service",
                "victim_phone": p,
            }
        )
    for i, p in enumerate(others):
        visits.append(
            {"ts": _iso(T0 + dt.timedelta(minutes=i)), "phone": p, "domain": "taobao.com"}
        )
    visits.append({"ts": _iso(T0), "phone": others[0], "domain": "tuikuan-kefu9.top"})
    reports = [
        {
            "ts": _iso(T0 - dt.timedelta(days=1)),
            "reporter_kind": "citizen",
            "target_kind": "domain",
            "target_value": "known-bad.cc",
        }
    ]
    srcs = []
    for kind, rows in (
        ("visit", visits),
        ("transfer", transfers),
        ("case", cases),
        ("report", reports),
    ):
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
    # a lure word on a cheap TLD imitates no brand: named as a suspicious name
    assert row["imitates"] is None
    assert "suspicious name: tuikuan-kefu9.top offers tuikuan on a cheap .top" in row["evidence"]
    reports = as_reports(found, T0 + dt.timedelta(days=3)).to_pylist()
    assert len(reports) == 1
    r = reports[0]
    assert (r["reporter_kind"], r["target_kind"], r["target_value"], r["verdict"]) == (
        "centre",
        "domain",
        "tuikuan-kefu9.top",
        "report",
    )
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


def _victim(i: int, t: dt.datetime):
    """A defrauded person who pays an hour after t."""
    p = f"1390000100{i}"
    return p, (
        {
            "ts": _iso(t + dt.timedelta(hours=1)),
            "payer_account": f"62221{i}",
            "payee_account": "6222999",
            "amount_fen": 300_000,
            "payer_phone": p,
            "payee_type": "person",
        },
        {
            "ts": _iso(t + dt.timedelta(days=1)),
            "case_id": f"K{i}",
            "fraud_type": "fake_loan",
            "victim_phone": p,
        },
    )


def test_a_young_domain_needs_one_victim_and_says_how_young(tmp_path, db):
    p0, (pay0, case0) = _victim(0, T0)
    p1, (pay1, case1) = _victim(1, T0)
    visits = [
        {"ts": _iso(T0), "phone": p0, "domain": "xinyong-kuai17.com"},
        {"ts": _iso(T0), "phone": p1, "domain": "oldshop-kuai.com"},
    ]
    domains = [  # catch: registered 3 days before; trap: an old domain, same single victim
        {
            "ts": _iso(T0 - dt.timedelta(days=2)),
            "domain": "xinyong-kuai17.com",
            "registered_ts": _iso(T0 - dt.timedelta(days=3)),
            "registrar": "gname",
        },
        {
            "ts": _iso(T0 - dt.timedelta(days=2)),
            "domain": "oldshop-kuai.com",
            "registered_ts": _iso(T0 - dt.timedelta(days=3000)),
            "icp": "京ICP备12345678号",
        },
    ]
    with open_store(db) as s:
        ingest_csvs(
            tmp_path, s, visit=visits, transfer=[pay0, pay1], case=[case0, case1], domain=domains
        )
        found = find_new_sites(s)
        strict = find_new_sites(s, young_days=1)
    assert found["domain"].to_list() == ["xinyong-kuai17.com"]
    row = found.row(0, named=True)
    assert row["age_days"] == 3 and row["marked_payers"] == 1
    assert "young domain: registered or first seen 3 days before its first visit" in row["evidence"]
    assert strict.height == 0  # 3 days is not young under a 1-day limit: one victim is not enough


def test_a_look_alike_is_listed_with_the_brand_it_imitates_even_without_victims(tmp_path, db):
    p0, (pay0, case0) = _victim(0, T0)
    visits = [
        {"ts": _iso(T0), "phone": "13800000001", "domain": "icbc-dongjie.top"},
        {"ts": _iso(T0), "phone": "13800000002", "domain": "icbc.com.cn"},
        {"ts": _iso(T0), "phone": "13800000003", "domain": "plainblog.net"},
        {"ts": _iso(T0), "phone": p0, "domain": "plainblog.net"},
    ]
    with open_store(db) as s:
        ingest_csvs(tmp_path, s, visit=visits, transfer=[pay0], case=[case0])
        found = find_new_sites(s)
    # the bank itself and an ordinary site one victim read are not listed
    assert found["domain"].to_list() == ["icbc-dongjie.top"]
    row = found.row(0, named=True)
    assert row["imitates"] == "工商银行" and row["marked_payers"] == 0
    assert row["evidence"].startswith("look-alike of 工商银行:")


def _app_world(tmp_path, s):
    """Three victims install a fake app and Zoom before paying; 20 workers use Zoom daily."""
    apps, pays, cases = [], [], []
    for i in range(3):
        p, (pay, case) = _victim(i, T0 + dt.timedelta(hours=i))
        t = T0 + dt.timedelta(hours=i)
        apps += [
            {
                "ts": _iso(t),
                "phone": p,
                "app_id": "com.jisu.daikuan",
                "action": "install",
                "app_name": "极速贷",
            },
            {
                "ts": _iso(t),
                "phone": p,
                "app_id": "us.zoom.videomeetings",
                "action": "install",
                "app_name": "Zoom",
            },
        ]
        pays.append(pay)
        cases.append(case)
    apps += [
        {
            "ts": _iso(T0),
            "phone": f"1380000{i:04d}",
            "app_id": "us.zoom.videomeetings",
            "action": "screen_share",
            "app_name": "Zoom",
        }
        for i in range(20)
    ]
    apps.append({"ts": _iso(T0), "phone": "13800009999", "app_id": "", "action": "install"})
    ingest_csvs(tmp_path, s, app=apps, transfer=pays, case=cases)


def test_an_app_victims_install_before_paying_is_suspected_a_popular_one_is_not(tmp_path, db):
    with open_store(db) as s:
        _app_world(tmp_path, s)
        found = find_new_apps(s)
        reports = as_reports(found, T0 + dt.timedelta(days=2)).to_pylist()
    assert found["app_id"].to_list() == ["com.jisu.daikuan"]
    row = found.row(0, named=True)
    assert (row["app_name"], row["marked_payers"], row["users"]) == ("极速贷", 3, 3)
    assert [(r["target_kind"], r["target_value"]) for r in reports] == [("app", "com.jisu.daikuan")]


def test_the_apps_command_logs_suspected_apps_once(tmp_path, db, cli):
    with open_store(db) as s:
        _app_world(tmp_path, s)
    res = cli("sites", "find", "--apps", "--suspect", "--json")
    assert '"reported": 1' in res.stdout and "com.jisu.daikuan" in res.stdout
    assert '"apps": []' in cli("sites", "find", "--apps", "--json").stdout


def test_bad_domain_records_are_quarantined_not_used(tmp_path, db):
    p0, (pay0, case0) = _victim(0, T0)
    bad = [
        {"ts": _iso(T0), "domain": "young-kuai.com", "registered_ts": "not a date"},
        {"ts": _iso(T0), "domain": "", "registered_ts": _iso(T0)},
    ]
    with open_store(db) as s:
        p = tmp_path / "domain.csv"
        write_csv(str(p), bad)
        res = ingest(s, [Source(str(p), "domain")])
        ingest_csvs(
            tmp_path,
            s,
            visit=[{"ts": _iso(T0), "phone": p0, "domain": "young-kuai.com"}],
            transfer=[pay0],
            case=[case0],
        )
        found = find_new_sites(s)
    assert res.total("quarantined") == 2
    assert found.height == 0  # no age known: one victim is not enough


def test_a_young_forum_a_victim_and_ordinary_people_read_is_not_listed(tmp_path, db):
    p0, (pay0, case0) = _victim(0, T0)
    visits = [{"ts": _iso(T0), "phone": p0, "domain": "hongshan-news.com"}]
    visits += [
        {"ts": _iso(T0), "phone": f"138000000{i:02d}", "domain": "hongshan-news.com"}
        for i in range(2)
    ]
    young = {
        "ts": _iso(T0 - dt.timedelta(days=40)),
        "domain": "hongshan-news.com",
        "registered_ts": _iso(T0 - dt.timedelta(days=50)),
    }
    with open_store(db) as s:
        ingest_csvs(tmp_path, s, visit=visits, transfer=[pay0], case=[case0], domain=[young])
        assert find_new_sites(s).height == 0  # 1 of 3 visitors: young alone is no evidence
        assert find_new_sites(s, young_min_share=0.3)["domain"].to_list() == ["hongshan-news.com"]
