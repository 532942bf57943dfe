"""access_anomaly: an account's day against its own days and its peers', within a site budget."""

from __future__ import annotations

import random

import orjson
import polars as pl

from fanzha.detectors.access_anomaly import AccessAnomaly, AccessAnomalySettings
from fanzha.detectors.access_rules import AccessRules
from fanzha.engine.check import run_detector
from fanzha.engine.protocol import signals_key
from fanzha.testing import as_log
from scenario import table
from warehouse import access, at, roster


def run(accesses, rosters=(), **settings):
    log = as_log({"waybill_access": table("waybill_access", list(accesses)),
                  "roster": table("roster", list(rosters))})
    top = sum(t.num_rows for t in log.values())
    up, _ = run_detector(AccessRules(), log, [top])
    log[signals_key("access_rules")] = up
    sigs, state = run_detector(AccessAnomaly(AccessAnomalySettings(**settings)), log, [top])
    df = pl.from_arrow(sigs).with_columns(
        d=pl.col.details.map_elements(orjson.loads, return_dtype=pl.Object))
    return df.with_columns(
        within=pl.col.d.map_elements(lambda d: d["within_budget"], return_dtype=pl.Boolean),
        date=pl.col.d.map_elements(lambda d: d["date"], return_dtype=pl.String),
    ), state


def site_days(days=6, printers=5, per_day=20, seed=0):
    rng = random.Random(seed)
    acc, ros = [], [roster(at(-30, 10), "wh-a", "lead", "hire", "lead")]
    ros += [roster(at(-30, 10), "wh-a", f"p-{i}", "hire") for i in range(printers)]
    n = 0
    for d in range(days):
        for i in range(printers):
            for _ in range(per_day + rng.randint(-3, 3)):
                n += 1
                acc.append(access(at(d, 9 + rng.random() * 9), "wh-a", f"p-{i}", "query",
                                  waybill=f"YT{10000 + 17 * n}", device="wh-a-pc-01"))
        acc.append(access(at(d, 18.5), "wh-a", "lead", "export", records=400 + rng.randint(0, 40),
                          device="wh-a-pc-01"))
    acc.append(access(at(days, 12), "wh-a", "p-0", "query", waybill="YT1", device="wh-a-pc-01"))
    return acc, ros


def test_a_temporary_hire_reading_ten_times_his_peers_is_the_days_alert():
    acc, ros = site_days()
    ros.append(roster(at(3, 8), "wh-a", "temp", "hire"))
    acc += [access(at(3, 10 + i / 60), "wh-a", "temp", "query", waybill=f"YT{5 * 10**6 + 7 * i}",
                   device="wh-a-pc-01") for i in range(200)]
    df, _ = run(acc, ros)
    alerts = df.filter(pl.col.within)
    assert alerts.select("entity", "date").rows() == [("temp", "2026-03-05")]
    assert "200 records read" in alerts["evidence"][0]
    assert "rank 1 of 7 accounts" in alerts["evidence"][0]
    # the lead's daily export is his job: no peers of his role, and his own days agree
    assert df.filter((pl.col.entity == "lead") & pl.col.within).height == 0


def test_the_budget_keeps_only_the_worst_accounts_of_a_site_day():
    acc, ros = site_days()
    for who, n in (("p-1", 300), ("p-2", 150)):
        acc += [access(at(4, 2 + i / 200), "wh-a", who, "query", waybill=f"ZT{9 * 10**6 + i}",
                       device="wh-a-pc-01") for i in range(n)]
    df, _ = run(acc, ros)
    day = df.filter(pl.col.date == "2026-03-06").sort("score", descending=True)
    assert day["entity"].to_list()[:2] == ["p-1", "p-2"]
    assert day["within"].to_list()[:2] == [True, False]
    two, _ = run(acc, ros, budget_min=2)
    assert two.filter((pl.col.date == "2026-03-06") & pl.col.within).height == 2


def test_ordinary_days_raise_nothing_and_flagged_days_do_not_become_the_norm():
    acc, ros = site_days(days=8)
    df, _ = run(acc, ros)
    assert df.filter(pl.col.within).height == 0
    # a thief on every night from day 2: still flagged on the last day
    for d in range(2, 8):
        acc += [access(at(d, 3 + i / 100), "wh-a", "p-3", "query", waybill=f"ZT{d}{i:05d}",
                       device="wh-a-pc-01") for i in range(120)]
    df, _ = run(acc, ros)
    flagged = sorted(df.filter((pl.col.entity == "p-3") & pl.col.within)["date"].to_list())
    assert flagged == [f"2026-03-0{d + 2}" for d in range(2, 8)]


def test_an_access_logged_after_its_day_closed_is_late_and_not_counted():
    acc, ros = site_days(days=4)
    late = [access(at(1, 10 + i / 100), "wh-a", "p-4", "query", waybill=f"QT{i}",
                   device="wh-a-pc-01") for i in range(300)]
    # the late rows reach the log after day 3's events (seq order = event order within an
    # ingest, so they come in a second ingest: give them later seqs by building the log by hand)
    log = as_log({"waybill_access": table("waybill_access", acc),
                  "roster": table("roster", ros)})
    top = sum(t.num_rows for t in log.values())
    extra = as_log({"waybill_access": table("waybill_access", late)}, first_seq=top + 1)
    log["waybill_access"] = pl.concat([pl.from_arrow(log["waybill_access"]),
                                       pl.from_arrow(extra["waybill_access"])]).to_arrow()
    top2 = top + len(late)
    up, _ = run_detector(AccessRules(), log, [top2])
    log[signals_key("access_rules")] = up
    sigs, _ = run_detector(AccessAnomaly(), log, [top, top2])
    assert not [s for s in pl.from_arrow(sigs)["entity"].to_list() if s == "p-4"]
    # the same reads in time would have been the day's alert
    on_time, _ = run(acc + late, ros)
    assert on_time.filter((pl.col.entity == "p-4") & pl.col.within).height == 1
