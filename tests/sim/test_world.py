"""The world: same seed same bytes, every file ingests clean, the truth agrees with the events,
and normal life is messy enough to fool naive rules."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from fanzha.sim import simulate
from fanzha.sim.truth import load_truth


def test_same_seed_gives_the_same_files_byte_for_byte(tmp_path, sim_files, world_args):
    again = tmp_path / "again"
    people, days, seed, scenario = world_args
    simulate(people, days, seed, again, scenario)
    files = {
        str(p.relative_to(again)): p.read_bytes() for p in sorted(again.rglob("*")) if p.is_file()
    }
    assert files.keys() == sim_files.keys()
    different = [name for name in files if files[name] != sim_files[name]]
    assert different == []


def test_another_seed_gives_another_world(tmp_path, sim_files, world_args):
    people, days, seed, scenario = world_args
    other = tmp_path / "other"
    simulate(people, days, seed + 1, other, scenario)
    assert (other / "operator-a/calls.csv").read_bytes() != sim_files["operator-a/calls.csv"]


def test_every_file_of_the_manifest_ingests_with_zero_quarantined_rows(world, scored, log):
    manifest = yaml.safe_load((world / "ingest.yaml").read_text())
    kinds = {e["kind"] for e in manifest["files"]}
    assert kinds == set(log), "every event kind is written"
    meta = scored["meta"]
    assert meta["quarantined"] == 0 and meta["duplicates"] == 0
    assert (
        meta["events_read"] == meta["events_accepted"] == sum(e["rows"] for e in manifest["files"])
    )
    counts = json.loads((world / "truth/world.json").read_text())["events"]
    assert {k: v.height for k, v in log.items()} == counts


def test_partner_files_differ_from_fanzha_names_and_need_the_manifest_options(world):
    manifest = {e["path"]: e for e in yaml.safe_load((world / "ingest.yaml").read_text())["files"]}
    bank = manifest["bank-a/transfers.csv"]
    assert bank["money_unit"] == "yuan" and bank["map"]["amount_fen"] == "交易金额"
    head = (world / "bank-a/transfers.csv").read_bytes().split(b"\n")[0]
    with pytest.raises(UnicodeDecodeError):
        head.decode("utf-8")  # the bank exports GB18030
    assert "交易时间" in head.decode("gb18030")
    wms = manifest["warehouse/wms_access.csv"]
    assert wms["time_unit"] == "s" and wms["map"]["ts"] == "op_time"


@pytest.mark.parametrize("path", ["bank-a/transfers.csv", "warehouse/wms_access.csv"])
def test_the_manifest_command_line_ingests_the_file_with_the_cli(world, cli, path):
    entry = next(
        e for e in yaml.safe_load((world / "ingest.yaml").read_text())["files"] if e["path"] == path
    )
    args = shlex.split(entry["command"])[2:]
    args[0] = str(world / args[0])
    r = json.loads(cli("ingest", *args, "--json").output)
    assert r["quarantined"] == 0 and r["accepted"] == entry["rows"] > 0


def test_victim_payments_and_the_mule_chain_are_transfers(world, log):
    truth = load_truth(world)
    t = log["transfer"].with_columns(ts=pl.col.ts.dt.epoch("ms"))
    pay = truth.get("payments")
    assert pay.height > 0
    got = pay.join(t, on="transfer_id", how="inner", suffix="_ev")
    assert got.height == pay.height
    assert (got["amount_fen"] == got["amount_fen_ev"]).all()
    assert (got["payer_account"] == got["payer_account_ev"]).all()
    assert (got["ts"] == got["ts_ev"]).all()
    chain = truth.get("mule_transfers")
    assert chain.join(t, on="transfer_id").height == chain.height
    assert chain["level"].max() >= 4, "money goes through three levels of mules or more"
    mules = set(truth.get("mules")["account"].to_list())
    first = set(chain.filter(pl.col.level == 1)["payee_account"].to_list())
    assert first <= mules
    assert set(pay["transfer_id"].to_list()) <= set(chain["root_transfer_id"].to_list())
    # forwarded within minutes: each mule pays on what it received
    fwd = chain.filter(pl.col.level == 2).join(
        chain.filter(pl.col.level == 1).select("root_transfer_id", t1="ts"), on="root_transfer_id"
    )
    minutes = (fwd["ts"] - fwd["t1"]) / 60_000
    assert minutes.min() >= 0 and minutes.median() < 30


def test_victims_were_contacted_before_they_paid_and_cases_name_real_payments(world, log):
    truth = load_truth(world)
    v = truth.get("victims")
    assert v.height > 0 and (v["first_contact_ts"] < v["first_payment_ts"]).all()
    cases = log["case"]
    assert cases.height > 0
    assert set(cases["transfer_id"].to_list()) <= set(
        truth.get("payments")["transfer_id"].to_list()
    )
    assert (cases["ts"] > cases["paid_at"]).all(), "losses are reported after the payment"
    callers = set(log["call"]["caller"].to_list()) | set(log["sms"]["sender"].to_list())
    assert set(truth.get("fraud_numbers")["number"].to_list()) <= callers


def test_black_accounts_are_registrations_with_codes_typed_far_from_the_phone(world, log):
    truth = load_truth(world)
    black = truth.get("black_accounts")
    reg = log["registration"]
    j = black.join(reg, on=["platform", "account_id"], how="inner", suffix="_reg")
    assert j.height == black.height > 0
    assert (j["phone"] == j["phone_reg"]).all() and (j["id_number"] == j["id_number_reg"]).all()
    assert (j["code_ip_county"] != j["phone_county"]).all()
    per_id = black.group_by("id_number").len()["len"]
    assert 3 <= per_id.mean() <= 7, "about 5 accounts per harvested identity (report 000)"
    harvested = set(truth.get("harvested")["id_number"].to_list())
    assert set(black["id_number"].to_list()) == harvested
    # each black account's registration came with an SMS code to the victim's own phone
    codes = log["sms"].filter(pl.col.text.str.contains("验证码"))
    assert set(black["phone"].to_list()) <= set(codes["receiver"].to_list())
    promo = truth.get("promo_orders")
    orders = log["order"].join(promo, on="order_id", how="inner")
    assert orders.height == promo.height > 0
    assert orders["amount_fen"].max() <= 100, "1-cent and 1-yuan new-user deals (report 002)"
    assert orders["ship_address"].n_unique() <= 4, "shipped to a few depots"


def test_leaks_are_in_the_access_log(world, log):
    truth = load_truth(world)
    acc = truth.get("leak_accesses")
    wa = log["waybill_access"]
    j = acc.join(wa, on="access_id", how="inner", suffix="_ev")
    assert j.height == acc.height > 0
    assert (j["site"] == j["site_ev"]).all() and (
        j["operator_account"] == j["operator_account_ev"]
    ).all()
    leaks = truth.get("leaks")
    rc = leaks.filter(pl.col.method == "remote_control")
    if rc.height:
        q = j.filter((pl.col.leak_id == rc["leak_id"][0]) & (pl.col.action == "query"))
        assert q["remote_tools"].is_not_null().all()
        hours = ((q["ts_ev"].dt.epoch("ms") + 8 * 3_600_000) // 3_600_000) % 24
        assert (hours < 7).all(), "queried at dawn"
    ex = leaks.filter(pl.col.method == "ex_employee")
    if ex.height:
        gone = log["roster"].filter(
            (pl.col.operator_account == ex["operator_account"][0]) & (pl.col.action == "leave")
        )
        assert (
            gone.height == 1
            and gone["ts"][0] < j.filter(pl.col.leak_id == ex["leak_id"][0])["ts_ev"].min()
        )
    for leak_id in leaks["leak_id"].to_list():  # bulk queries walk the waybill numbers in order
        seqs = (
            j.filter((pl.col.leak_id == leak_id) & (pl.col.action == "query"))
            .sort("ts_ev")["waybill_no"]
            .to_list()
        )
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    v = truth.get("victims").filter(pl.col.leak_id.is_not_null())
    records = truth.get("leaked_records")
    assert set(v["phone"].to_list()) <= set(records["ship_phone"].to_list())


def test_illicit_cards_and_police_confirmations_are_events(world, log):
    truth = load_truth(world)
    cards = truth.get("cards")
    j = cards.join(log["card"], on=["card_type", "card_number"], how="inner", suffix="_ev")
    assert j.height == cards.height > 0
    assert (j["id_number"] == j["id_number_ev"]).all()
    police = truth.get("police")
    rep = log["report"].filter(pl.col.reporter_kind != "citizen")
    assert police.filter(pl.col.ts < truth.world["end_ms"]).height == rep.height


def test_every_visited_domain_has_an_age_fraud_sites_are_young_and_so_are_some_honest_ones(
    world, log
):
    truth = load_truth(world)
    born = log["domain"].select(
        "domain", age_days=(truth.world["start_ms"] - pl.col.registered_ts.dt.epoch("ms")) / 86.4e6
    )
    visited = log["visit"].select("domain").unique().join(born, on="domain", how="left")
    assert visited["age_days"].null_count() == 0
    fraud = born.filter(pl.col.domain.is_in(truth.get("fraud_urls")["domain"].implode()))
    assert fraud.height == truth.get("fraud_urls").height and fraud["age_days"].max() <= 30
    honest = born.join(fraud, on="domain", how="anti")
    young = honest.filter(pl.col.age_days <= 90).height
    assert 0 < young < honest.height / 2  # young and obscure is no sign by itself
    assert log["domain"]["icp"].null_count() > fraud.height  # small sites are often not filed


def test_naive_rules_meet_honest_people(world, log):
    truth = load_truth(world)
    fraud = set(truth.get("fraud_numbers")["number"].to_list())
    calls = log["call"].filter(~pl.col.caller.is_in(list(fraud)))
    fan = calls.group_by("caller").agg(
        pl.col.callee.n_unique().alias("n"), pl.col.duration_s.median().alias("d")
    )
    busiest_fraud = (
        log["call"]
        .filter(pl.col.caller.is_in(list(fraud)))
        .group_by("caller")
        .agg(pl.col.callee.n_unique().alias("n"))["n"]
        .max()
    )
    assert fan.filter((pl.col.n >= busiest_fraud) & (pl.col.d < 60)).height > 0, (
        "couriers and telesales call as many strangers, as briefly, as a fraud number"
    )
    ports = log["sms"].group_by("sender").agg(pl.col.receiver.n_unique().alias("n"))
    assert ports["n"].max() >= 50, "shops and banks text many people"
    mules = set(truth.get("mules")["account"].to_list())
    t = log["transfer"].filter(~pl.col.payer_account.is_in(list(mules)))
    fan_out = t.group_by(["payer_account", pl.col.ts.dt.date()]).agg(
        pl.col.payee_account.n_unique().alias("n")
    )
    assert fan_out["n"].max() >= 50, "payroll and pensions fan out"
    o = log["order"]
    top = o.group_by("warehouse_id").len().sort("len")["warehouse_id"][-1]
    touched = o.filter(pl.col.warehouse_id == top)["ship_phone"].n_unique()
    assert touched / o["ship_phone"].n_unique() > 0.4, "a big warehouse touches most customers"
    night = log["waybill_access"].filter(
        (((pl.col.ts.dt.epoch("ms") + 8 * 3_600_000) // 3_600_000) % 24 < 6)
        & ~pl.col.access_id.is_in(truth.get("leak_accesses")["access_id"].implode())
    )
    assert night.height > 0, "big warehouses also print at night"
    legit = log["registration"].filter(pl.col.promoter_id.is_not_null())
    assert legit.height > 0 and legit["device_id"].n_unique() < legit.height, (
        "authorised promoters activate many people on a few tablets"
    )


def test_rural_elderly_have_feature_phones_and_no_accounts():
    from fanzha.sim.base import Clock
    from fanzha.sim.params import load_scenario
    from fanzha.sim.population import build

    sc = load_scenario()
    P = build(sc, 5000, 3, Clock.of(sc["start_date"], 1, 8))
    rural_old = (P.age >= 60) & ~P.urban & (P.phone > 0)
    young = (P.age >= 20) & (P.age < 50) & (P.phone > 0)
    assert rural_old.sum() > 300
    assert P.feature[rural_old].mean() > 0.35 > P.feature[young].mean()
    assert P.accounts[rural_old].any(axis=1).mean() < 0.2 < P.accounts[young].any(axis=1).mean()
    assert ((P.age >= 60) & ~P.urban).sum() / (~P.urban).sum() > (
        (P.age >= 60) & P.urban
    ).sum() / P.urban.sum()
    fam = P.family[P.age >= 60]
    assert (fam >= 0).mean() > 0.8 and (P.age[fam[fam >= 0]] < 60).all()
    assert len(np.unique(P.id_number.to_numpy())) == P.n


def test_detectors_never_import_the_simulator():
    src = Path(__file__).resolve().parents[2] / "src" / "fanzha"
    for part in ("detectors", "engine", "decide", "ingest", "store"):
        for f in (src / part).rglob("*.py"):
            assert "fanzha.sim" not in f.read_text(), (
                f"{f} must not read the simulator or its truth"
            )


def test_a_temporary_hire_leak_queries_in_working_hours_and_leaves(tmp_path):
    scenario = tmp_path / "temp.yaml"
    scenario.write_text("waybill_theft:\n  leaks: [{method: temp_hire, start_day: 0}]\n")
    simulate(1500, 3, 5, tmp_path / "w", scenario)
    truth = load_truth(tmp_path / "w")
    leak = truth.get("leaks")
    assert leak["method"].to_list() == ["temp_hire"]
    acc = truth.get("leak_accesses")
    hours = ((acc["ts"] + 8 * 3_600_000) // 3_600_000) % 24
    assert acc.height > 1 and hours.is_between(10, 17).all()
    roster = pl.read_csv(tmp_path / "w/warehouse/roster.csv")
    mine = roster.filter(pl.col.operator_account == leak["operator_account"][0])
    assert sorted(mine["action"].to_list()) == ["hire"]  # hired on day 0; leaves after the world
