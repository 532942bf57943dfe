"""Account rings: the ring is one black ring with its lockstep deal orders; the authorised team,
the busy public Wi-Fi, the family sharing a phone and ordinary people are not flagged."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import polars as pl
import pytest

from fanzha.detectors import RegistrationRisk
from fanzha.engine.check import run_detector
from fanzha.investigate.rings import (
    RingSettings,
    find_rings,
    fraudar,
    gang_notices,
    identity_notices,
    list_entries,
    lockstep,
    promoter_report,
)
from scenario import RING_COUNTY, TEAM, registrations_with_orders_log


@pytest.fixture(scope="module")
def found():
    ev = registrations_with_orders_log()
    top = max(int(t["seq"].to_pylist()[-1]) for t in ev.values())
    sigs, _ = run_detector(RegistrationRisk(), ev, [top])
    frames = {k: pl.from_arrow(v) for k, v in ev.items()}
    rings = find_rings(frames["registration"], frames["order"], pl.from_arrow(sigs),
                       frames["promoter"])
    return rings, frames


def _groups(rings) -> pl.DataFrame:
    return rings.accounts.with_columns(group=pl.col.account_id.str.extract(r"^(\w+)-", 1))


def test_the_ring_is_found_and_the_others_are_not_flagged(found):
    rings, _ = found
    a = _groups(rings)
    labels = dict(a.group_by("group").agg(pl.col.label.unique().sort()).iter_rows())
    assert labels["r"] == ["black"]
    assert labels["y"] == ["authorised"]
    assert labels["w"] == ["shared_network"]
    assert labels["f"] == ["household"]
    assert labels["o"] == ["normal"]
    assert labels["x"] == ["black"]  # outside the team's authorisation
    ring = a.filter(pl.col.group == "r")
    assert ring["score"].min() >= 0.8
    top = ring.group_by("cluster").len().sort("len", descending=True)
    assert top["len"][0] >= 0.9 * ring.height  # one ring holds (nearly) the whole gang
    nonblack = a.filter(~pl.col.group.is_in(["r", "x"]))
    assert nonblack["score"].max() < 0.5


def test_the_ring_is_scored_and_explained(found):
    rings, _ = found
    black = rings.clusters.filter(pl.col.label == "black").sort("n_accounts", descending=True)
    r = black.row(0, named=True)
    assert r["score"] >= 0.9 and r["n_identities"] >= 36 and r["n_devices"] == 3
    assert r["counties"] == [RING_COUNTY]
    assert "from 3 devices" in r["explanation"]
    assert "100% had the SMS code typed in another city or province" in r["explanation"]
    assert "in a lockstep deal/address block" in r["explanation"]
    team = rings.clusters.filter(pl.col.label == "authorised")
    assert team.height >= 1 and f"inside the authorisation of {TEAM}" in team["explanation"][0]


def test_lockstep_deal_orders_are_promotion_abuse_and_coupons_at_home_are_not(found):
    rings, frames = found
    promo = set(rings.promo_orders["order_id"])
    ring_orders = {o for o in frames["order"]["order_id"] if o.startswith("O-r-")}
    assert promo == ring_orders
    blocks = rings.blocks
    assert blocks.height and blocks["account"].str.contains(":r-").all()


def test_fraudar_finds_a_planted_block_under_camouflage():
    rng = np.random.default_rng(3)
    n_rows, n_cols = 2000, 500
    rows = rng.integers(0, n_rows, 6000)
    cols = rng.integers(0, n_cols, 6000)
    # a block of 50 accounts x 8 columns, fully connected ...
    br, bc = np.arange(50), np.arange(n_cols, n_cols + 8)
    rr, cc = np.meshgrid(br, bc)
    # ... whose accounts also link to the most popular columns (camouflage)
    camo_r = np.repeat(br, 3)
    camo_c = rng.integers(0, 5, len(camo_r))
    pop_r = rng.integers(0, n_rows, 3000)
    pop_c = rng.integers(0, 5, 3000)
    R = np.concatenate([rows, rr.ravel(), camo_r, pop_r])
    C = np.concatenate([cols, cc.ravel(), camo_c, pop_c])
    got_r, got_c, density = fraudar(R, C)
    assert set(got_r.tolist()) == set(br.tolist())
    # the block's own columns, plus at most the popular columns the camouflage went to
    assert set(bc.tolist()) <= set(got_c.tolist()) <= set(bc.tolist()) | set(range(5))
    pairs = np.unique(np.column_stack([R, C]), axis=0)
    w = 1 / np.log(np.bincount(pairs[:, 1])[pairs[:, 1]] + 5)
    whole = w.sum() / (len(np.unique(pairs[:, 0])) + len(np.unique(pairs[:, 1])))
    assert density > 1.5 * whole
    e_r, e_c, d = fraudar(np.empty(0, np.int64), np.empty(0, np.int64))
    assert len(e_r) == len(e_c) == 0 and d == 0.0


def test_no_lockstep_in_ordinary_orders():
    rng = random.Random(1)
    orders = pl.DataFrame({
        "platform": ["shop-a"] * 300,
        "account_id": [f"u{i}" for i in range(300)],
        "deal_id": [("coupon-20off" if rng.random() < 0.1 else None) for _ in range(300)],
        "ship_address": [f"地址{i // 2}" for i in range(300)],  # households of two
        "ship_phone": [f"1390000{i // 2:04d}" for i in range(300)],
    })
    blocks, _ = lockstep(orders, RingSettings())
    assert blocks.height == 0


def test_lists_notices_per_platform_gang_and_person(found):
    rings, frames = found
    now = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
    entries = pl.from_arrow(list_entries(rings, frames["order"], now))
    acc = entries.filter(pl.col.entity_kind == "account")
    black = rings.black()
    assert acc.height == black.height and acc["entry_id"].n_unique() == acc.height
    assert set(acc["partner"]) == set(black["platform"])
    # used accounts (they ordered) are frozen for police; the idle ones are cancelled
    frozen = set(acc.filter(pl.col.list_name == "freeze")["entity"])
    assert frozen == set(rings.promo_orders["account"])
    assert set(acc.filter(pl.col.list_name == "cancel")["entity"]) == set(black["account"]) - frozen
    assert acc["evidence"].str.len_chars().min() > 20
    # an account sold on and logged into from elsewhere is frozen too
    logins = pl.DataFrame({"platform": ["social-c"], "account_id": ["r-5-2"]})
    sold = pl.from_arrow(list_entries(rings, frames["order"], now, logins))
    assert sold.filter(pl.col.entity == "social-c:r-5-2")["list_name"].to_list() == ["freeze"]
    orders = entries.filter(pl.col.entity_kind == "order")
    assert set(orders["entity"]) == set(rings.promo_orders["order_id"])
    assert (orders["list_name"] == "cancel").all()

    gangs = gang_notices(rings)
    g = max(gangs, key=lambda x: x["accounts"])
    assert g["counties"] == [RING_COUNTY] and g["victims"] >= 36
    assert g["first_registration"].startswith("2026-03-02")
    assert sum(g["accounts_per_platform"].values()) == g["accounts"]
    assert g["promo_orders"] > 0 and len(g["promo_addresses"]) == 2
    assert {"police (网安)", "medical-insurance bureau (医保局)"} == set(g["to"])
    person = g["identities"][0]
    assert len(person["accounts"]) == 5 and person["id_number"]

    people = identity_notices(rings)
    per = people.group_by("phone").len()
    assert per["len"].max() == 5  # the five accounts opened in one villager's name
    assert people["message"].str.contains("用您的身份证号和手机号注册").all()


def test_promoter_report_counts_inside_and_outside(found):
    _, frames = found
    rep = promoter_report(frames["promoter"], frames["registration"])
    row = rep.filter(pl.col.team_id == TEAM).row(0, named=True)
    assert row["inside"] == 30 and row["outside"] == 4
    assert row["counties"] == 2 and row["devices"] == 2
    assert "outside the team's area" in row["why_outside"]


def test_empty_inputs_give_empty_results():
    from fanzha.events import KINDS

    empty = pl.from_arrow(KINDS["registration"].schema.empty_table())
    rings = find_rings(empty)
    assert rings.accounts.height == 0 and rings.clusters.height == 0
    assert rings.promo_orders.height == 0
