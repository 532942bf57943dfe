"""Leak source: the busy warehouse everyone passes is not blamed, the small shop that leaked is,
a victim who passed two leaks shares the blame, and a decoy hit is certain."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import polars as pl
from scipy.stats import hypergeom

from fanzha.investigate.leaks import (
    LeakSettings,
    hypergeom_p,
    render_html,
    render_text,
    trace_sources,
)

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def shop_world(seed=0, customers=2000, shops=20, leak_shops=("s-07",), victims_per_leak=12,
               background_victims=2, both=()):
    """Every order ships from the one big warehouse wh-big; each customer buys at one shop
    (a few at two). Victims are customers of the leaking shops (plus a few from anywhere)."""
    rng = random.Random(seed)
    rows, phones = [], []
    for c in range(customers):
        phone = f"138{c:08d}"
        phones.append(phone)
        for k in range(1 + (c % 7 == 0)):
            shop = f"s-{rng.randrange(shops):02d}"
            rows.append({"order_id": f"O{c}-{k}", "ts": T0 + dt.timedelta(hours=rng.random() * 48),
                         "ship_phone": phone, "shop_id": shop, "warehouse_id": "wh-big",
                         "waybill_no": f"YT{c}{k}"})
    orders = pl.DataFrame(rows)
    vic = set()
    for s in leak_shops:
        mine = orders.filter(pl.col.shop_id == s)["ship_phone"].unique().sort().to_list()
        vic |= set(rng.sample(mine, min(victims_per_leak, len(mine))))
    vic |= set(rng.sample(phones, background_victims))
    vic |= set(both)
    victims = pl.DataFrame({"phone": sorted(vic)}).with_columns(
        fraud_ts=pl.lit(T0 + dt.timedelta(days=5)),
        case_ids=pl.lit(["J1"]),
        fraud_contacts=pl.lit(["17000000001"]),
    )
    return victims, orders


def no_accesses():
    return pl.DataFrame(schema={
        "ts": pl.Datetime("ms", "UTC"), "site": pl.String, "operator_account": pl.String,
        "action": pl.String, "system": pl.String, "device_id": pl.String, "ip": pl.String,
        "order_id": pl.String, "waybill_no": pl.String, "subject_phone": pl.String,
        "remote_tools": pl.String, "access_id": pl.String, "event_id": pl.String})


def site_rank(report, phone, site):
    r = report.victim_sites.filter((pl.col.phone == phone) & (pl.col.site == site))["rank"]
    return r[0] if r.len() else None


def test_the_hypergeometric_p_is_the_exact_upper_tail():
    p = hypergeom_p(np.array([0, 3, 12]), 1000, np.array([50, 50, 50]), 20)
    assert p[0] == 1.0
    assert abs(p[1] - hypergeom.sf(2, 1000, 50, 20)) < 1e-15
    assert p[2] < 1e-10
    # a touchpoint every customer passes: nothing to see
    assert hypergeom_p(np.array([20]), 1000, np.array([1000]), 20)[0] == 1.0


def test_the_busy_warehouse_is_not_blamed_the_small_shop_that_leaked_is():
    victims, orders = shop_world()
    r = trace_sources(victims, orders, no_accesses(), "fake_customer_service")
    assert r.sources["tp"].to_list() == ["shop:s-07"]
    wh = r.touchpoints.filter(pl.col.tp == "warehouse:wh-big").row(0, named=True)
    assert wh["p_value"] == 1.0 and wh["customers_passed"] == r.customers_n
    leaked = victims.join(orders.filter(pl.col.shop_id == "s-07"), left_on="phone",
                          right_on="ship_phone").select("phone").unique()
    assert leaked.height >= 10
    assert all(site_rank(r, p, "s-07") == 1 for p in leaked["phone"])


def test_no_leak_no_source():
    victims, orders = shop_world(leak_shops=(), background_victims=15)
    r = trace_sources(victims, orders, no_accesses(), "fake_customer_service")
    assert r.sources.height == 0
    assert "none significant" in render_text(r.to_dict())


def test_victims_but_no_orders_or_reads_give_an_empty_report_not_a_crash():
    victims, orders = shop_world()
    r = trace_sources(victims, orders.clear(), no_accesses(), "fake_customer_service")
    assert r.sources.height == 0 and "none significant" in render_text(r.to_dict())


def test_a_victim_who_passed_two_leaking_shops_shares_the_blame():
    _, orders = shop_world(leak_shops=())
    two = orders.group_by("ship_phone").agg(pl.col.shop_id.unique()).filter(
        pl.col.shop_id.list.set_intersection(["s-03", "s-11"]).list.len() == 2)
    if not two.height:  # make one: a customer of s-03 also buys at s-11
        p = orders.filter(pl.col.shop_id == "s-03")["ship_phone"][0]
        orders = pl.concat([orders, orders.filter(pl.col.ship_phone == p).head(1).with_columns(
            order_id=pl.lit("O-extra"), shop_id=pl.lit("s-11"))])
        both = p
    else:
        both = two["ship_phone"][0]
    victims, _ = shop_world(leak_shops=("s-03", "s-11"), both=(both,))
    r = trace_sources(victims, orders, no_accesses(), "fake_customer_service")
    assert set(r.sources["tp"].to_list()) == {"shop:s-03", "shop:s-11"}
    mine = r.victim_sites.filter(pl.col.phone == both).sort("rank")
    top2 = mine.head(2)
    assert set(top2["site"].to_list()) == {"s-03", "s-11"}
    assert all(0.2 < b < 0.8 for b in top2["blame"].to_list())
    assert abs(sum(top2["blame"].to_list()) - 1.0) < 0.05


def test_access_logs_name_the_account_behind_the_leak_and_the_watchs_flags_count():
    victims, orders = shop_world(leak_shops=("s-05",), victims_per_leak=3)
    # every order is read by an ordinary packer; s-05's also by one account at night
    acc = orders.select(
        ts=pl.col.ts + pl.duration(hours=1), site=pl.lit("wh-big"),
        operator_account=pl.lit("packer-") + (pl.col.order_id.str.len_chars() % 3).cast(pl.String),
        action=pl.lit("query"), system=pl.lit("WMS"), device_id=pl.lit("pc-02"),
        ip=pl.lit("10.0.0.2"), order_id="order_id", waybill_no="waybill_no",
        subject_phone="ship_phone", remote_tools=pl.lit(None, pl.String),
    )
    night = orders.filter(pl.col.shop_id == "s-05").select(
        ts=pl.col.ts + pl.duration(hours=20), site=pl.lit("wh-big"),
        operator_account=pl.lit("sub-0017"), action=pl.lit("query"), system=pl.lit("WMS"),
        device_id=pl.lit("pc-01"), ip=pl.lit("10.0.0.1"), order_id="order_id",
        waybill_no="waybill_no", subject_phone="ship_phone", remote_tools=pl.lit("ToDesk.exe"),
    )
    acc = pl.concat([acc, night]).with_row_index("i").with_columns(
        access_id=pl.lit("L") + pl.col.i.cast(pl.String),
        event_id=pl.lit("e") + pl.col.i.cast(pl.String)).drop("i")
    flagged = acc.filter(pl.col.operator_account == "sub-0017").select(
        "event_id", rules=pl.lit(["remote_tool"]), score=pl.lit(0.9))
    # three victims only: too few for Bonferroni alone, enough for a pre-flagged hypothesis
    plain = trace_sources(victims, orders, acc, "fake_customer_service",
                          settings=LeakSettings(min_victims=3))
    with_flags = trace_sources(victims, orders, acc, "fake_customer_service", flagged=flagged)
    src = with_flags.sources.row(0, named=True)
    assert src["site"] == "wh-big" and src["kind"] in ("operator", "device")
    assert src["flagged_accesses"] >= 3
    assert plain.sources.height == 0  # p ~ 0.002 does not survive Bonferroni over every touchpoint
    text = render_text(with_flags.to_dict())
    assert "sub-0017" in text and "ToDesk.exe running [flagged: remote_tool]" in text


def test_a_decoy_hit_pins_the_source_with_certainty():
    victims, orders = shop_world(leak_shops=(), background_victims=3)
    hits = pl.DataFrame({"decoy": ["17099000001"], "site": ["wh-small"],
                         "placement": ["wh-small/pc:pc-03"], "fraud_contact": ["17000000001"],
                         "ts": ["2026-03-04T02:00:00Z"], "channel": ["call"],
                         "event_id": ["e1"]})
    r = trace_sources(victims, orders, no_accesses(), "fake_customer_service", decoy_hits=hits)
    assert r.sources.row(0, named=True)["certain"] is True
    assert r.sources["tp"][0] == "decoy:wh-small"
    for p in victims["phone"]:
        assert site_rank(r, p, "wh-small") == 1
    other = victims.with_columns(fraud_contacts=pl.lit(["17000000999"]))
    r2 = trace_sources(other, orders, no_accesses(), "fake_customer_service", decoy_hits=hits)
    assert "decoy:wh-small" not in r2.sources.get_column("tp", default=pl.Series([])).to_list()


def test_the_readable_report_masks_phones_and_escapes_hostile_text():
    victims, orders = shop_world()
    orders = orders.with_columns(shop_id=pl.when(pl.col.shop_id == "s-07")
                                 .then(pl.lit("<script>alert(1)</script>"))
                                 .otherwise(pl.col.shop_id))
    r = trace_sources(victims, orders, no_accesses(), "fake_customer_service").to_dict()
    page = render_html(r)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert victims["phone"][0] not in render_text(r)
