"""access_rules: each hard rule catches its insider and leaves ordinary work alone."""

from __future__ import annotations

import datetime as dt

import orjson
import polars as pl

from fanzha.detectors.access_rules import AccessRules, AccessRulesSettings
from fanzha.engine.check import run_detector
from fanzha.testing import as_log
from scenario import table
from warehouse import access, at, roster


def run(accesses, rosters=(), **settings):
    log = as_log({"waybill_access": table("waybill_access", list(accesses)),
                  "roster": table("roster", list(rosters))})
    top = sum(t.num_rows for t in log.values())
    sigs, _ = run_detector(AccessRules(AccessRulesSettings(**settings)), log, [top])
    df = pl.from_arrow(sigs)
    return df.with_columns(
        rules=pl.col.details.map_elements(lambda d: orjson.loads(d)["rules"],
                                          return_dtype=pl.List(pl.String)))


def warm_day(site="wh-a", n=30):
    """A first day of ordinary look-ups that teaches the site its PCs and network."""
    return [access(at(0, 9 + i / 6), site, f"p-{i % 3}", "query", waybill=f"YT{1000 + 7 * i}",
                   device=f"{site}-pc-0{i % 3}") for i in range(n)]


def rules_of(df, account):
    return sorted({r for rs in df.filter(pl.col.entity == account)["rules"].to_list() for r in rs})


def test_an_account_used_after_its_owner_left_is_flagged_and_not_before():
    ros = [roster(at(-9, 10), "wh-a", "old", "hire"), roster(at(1, 17), "wh-a", "old", "leave")]
    acc = [access(at(1, 10), "wh-a", "old", "query", waybill="YT1"),
           access(at(2, 10), "wh-a", "old", "query", waybill="YT9")]
    df = run(acc, ros)
    assert df.height == 1 and df["rules"][0].to_list() == ["left_account"]
    assert "left on 2026-03-03 17:00" in df["evidence"][0]
    disabled = run(acc, [*ros, roster(at(1, 18), "wh-a", "old", "disable")])
    assert disabled["score"][0] > df["score"][0]


def test_remote_tools_while_reading_are_serious_at_a_login_they_are_not():
    acc = [access(at(0, 2), "wh-a", "p-1", "query", waybill="YT5", tools="TeamViewer.exe"),
           access(at(0, 11), "wh-a", "it", "login", records=0, tools="ToDesk.exe"),
           access(at(0, 12), "wh-a", "p-2", "print", waybill="YT6", tools="向日葵.exe"),
           access(at(0, 13), "wh-a", "p-3", "query", waybill="YT7", tools="weird-rc.exe"),
           access(at(0, 14), "wh-a", "p-4", "query", waybill="YT8")]
    df = run(acc).sort("seq")
    got = dict(zip(df["entity"], df["score"], strict=True))
    assert got["p-1"] >= 0.9 and got["p-2"] >= 0.9 and got["p-3"] >= 0.9
    assert got["it"] < 0.5
    assert "p-4" not in got
    assert "TeamViewer" in df.filter(pl.col.entity == "p-1")["evidence"][0]


def test_a_new_pc_or_network_is_flagged_after_the_site_has_a_day_of_history():
    early = access(at(0, 9.5), "wh-a", "p-1", "query", waybill="YT77", device="laptop-x",
                   ip="10.9.9.9")  # first day: still learning
    late = access(at(2, 9), "wh-a", "p-2", "query", waybill="YT88", device="home-pc",
                  ip="36.1.2.3")
    known = access(at(2, 10), "wh-a", "p-1", "query", waybill="YT99", device="wh-a-pc-01")
    df = run([*warm_day(), early, late, known])
    assert rules_of(df, "p-2") == ["new_device", "new_network"]
    assert df.filter(pl.col.entity == "p-1").height == 0


def test_night_bulk_names_the_whole_night_and_day_work_is_not_bulk():
    night = [access(at(1, 2 + i / 100), "wh-a", "thief", "query", waybill=f"YT{5000 + 13 * i}",
                    device="wh-a-pc-01") for i in range(15)]
    day = [access(at(1, 10 + i / 100), "wh-a", "packer", "query", waybill=f"YT{9000 + 13 * i}",
                  device="wh-a-pc-02") for i in range(15)]
    df = run(warm_day() + night + day, night_bulk_records=10)
    hits = df.filter(pl.col.entity == "thief").sort("seq")
    assert hits.height == 6 and rules_of(df, "thief") == ["night_bulk"]
    assert hits["event_ids"][0].len() == 10  # the crossing read names the 9 before it
    assert df.filter(pl.col.entity == "packer").height == 0


def test_sequential_scan_and_what_is_not_one():
    t0 = at(1, 10)
    scan = [access(t0 + dt.timedelta(seconds=5 * i), "wh-a", "scanner", "query",
                   waybill=f"YT{70000 + i}", device="wh-a-pc-01") for i in range(25)]
    # an ordinary packer: query then print each waybill, waybills far apart
    pc = "wh-a-pc-01"
    packer = []
    for i in range(25):
        t = t0 + dt.timedelta(minutes=2 * i)
        packer += [access(t, "wh-a", "packer", "query", waybill=f"YT{80000 + 37 * i}", device=pc),
                   access(t + dt.timedelta(seconds=30), "wh-a", "packer", "print",
                          waybill=f"YT{80000 + 37 * i}", device=pc)]
    # batch printing in order is the job, not a scan
    printer = [access(t0 + dt.timedelta(seconds=3 * i), "wh-a", "printer", "print",
                      waybill=f"YT{90000 + i}", device=pc) for i in range(25)]
    # consecutive numbers but an hour apart: not a script
    slow = [access(t0 + dt.timedelta(hours=i), "wh-a", "slow", "query",
                   waybill=f"YT{60000 + i}", device=pc) for i in range(22)]
    df = run(warm_day() + scan + packer + printer + slow)
    hits = df.filter(pl.col.entity == "scanner").sort("seq")
    assert hits.height == 6 and rules_of(df, "scanner") == ["sequential_scan"]
    assert hits["event_ids"][0].len() == 20
    assert df.filter(pl.col.entity.is_in(["packer", "printer", "slow"])).height == 0


def test_an_export_far_above_the_accounts_own_exports():
    acc = [access(at(d, 18), "wh-a", "lead", "export", records=300 + d) for d in range(4)]
    acc += [access(at(4, 18), "wh-a", "lead", "export", records=4000),
            access(at(5, 18), "wh-a", "lead", "export", records=320),
            access(at(5, 19), "wh-a", "new", "export", records=2500),
            access(at(5, 20), "wh-a", "new2", "export", records=900)]
    df = run(warm_day() + acc)
    assert df.filter(pl.col.entity == "lead").height == 1
    assert "x its mean earlier export" in df.filter(pl.col.entity == "lead")["evidence"][0]
    assert rules_of(df, "new") == ["export_spike"]
    assert df.filter(pl.col.entity == "new2").height == 0


def test_odd_record_numbers_and_tool_lists_do_not_break_it():
    odd = ["", "😀", "YT" + "9" * 40, "ZT-00000000000000000000000001", "'; DROP TABLE x; --",
           "0000", "YT12", None]
    acc = [access(at(0, 10 + i / 10), "wh-a", "p-1", "query", waybill=w, device="wh-a-pc-01",
                  tools="x" * 5000 if i == 2 else ("((((" if i == 3 else None))
           for i, w in enumerate(odd)]
    df = run(acc)
    assert set(df["entity"].to_list()) <= {"p-1"}
    assert df.filter(pl.col.rules.list.contains("remote_tool")).height == 2


def hall_day(day, clerk="c-1", n=6, site="hall-1"):
    """A business-hall clerk's ordinary day: every customer look-up carries its service ticket."""
    return [access(at(day, 9 + i), site, clerk, "query", phone=f"1390000{day:02d}{i:02d}",
                   system="CRM", reason=f"T{day}-{i}", device=f"{site}-pc") for i in range(n)]


def test_an_insider_looking_customers_up_without_a_service_reason():
    snoop = [access(at(1, 14 + i / 10), "hall-1", "c-2", "query", phone=f"1371111{i:04d}",
                    system="CRM", device="hall-1-pc") for i in range(6)]
    df = run([*hall_day(0), *hall_day(1), *snoop])
    mine = df.filter(pl.col.entity == "c-2").sort("seq")
    assert mine.height == 6 and all(rs == ["no_service_reason"] for rs in mine["rules"].to_list())
    scores = mine["score"].to_list()
    assert max(scores[:4]) < 0.5 <= 0.85 <= min(scores[4:])  # the 5th of the day is an insider
    assert "no service reason" in mine["evidence"][4] or "service reason" in mine["evidence"][4]
    assert df.filter(pl.col.entity == "c-1").height == 0  # ticketed look-ups are ordinary


def test_no_reason_rule_is_silent_where_the_system_never_records_reasons():
    acc = [access(at(0, 9 + i / 6), "wh-a", "p-1", "print", waybill=f"YT{100 + 9 * i}",
                  device="wh-a-pc-01") for i in range(12)]
    assert run([*warm_day(), *acc]).filter(pl.col.rules.list.contains("no_service_reason")).height == 0


def test_unexplained_look_ups_count_per_day_and_across_batches():
    snoop = [access(at(d, 15 + i / 10), "hall-1", "c-2", "query", phone=f"13722{d}{i:05d}",
                    system="CRM", device="hall-1-pc") for d in (1, 2) for i in range(3)]
    events = [*hall_day(0), *snoop]
    log = as_log({"waybill_access": table("waybill_access", events),
                  "roster": table("roster", [])})
    top = sum(t.num_rows for t in log.values())
    one, _ = run_detector(AccessRules(), log, [top])
    split, _ = run_detector(AccessRules(), log, [7, 9, top])
    assert pl.from_arrow(one).sort("signal_id").equals(pl.from_arrow(split).sort("signal_id"))
    assert pl.from_arrow(one)["score"].max() < 0.5  # 3 a day on two days is not 5 in one
