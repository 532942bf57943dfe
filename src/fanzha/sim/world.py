"""`simulate()`: build the city, live its days, commit its fraud, write the partners' files and
the truth. Same seed and scenario -> the same files, byte for byte."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from fanzha.errors import FanzhaError
from fanzha.sim import fraud, life, population, writer
from fanzha.sim.base import DAY_MS, Clock, Events
from fanzha.sim.fraud import Contacts, Truth
from fanzha.sim.params import load_scenario

Progress = Callable[[str, int, int], None]  # (stage, done, total)

STAGES = (
    "population",
    "orders",
    "village push",
    "waybills",
    "scams",
    "money",
    "reports",
    "calls",
    "sms",
    "transfers",
    "platforms",
    "finalise",
    "write",
)


@dataclass
class WorldSummary:
    out: str
    people: int
    days: int
    seed: int
    events: dict[str, int]
    truth: dict[str, int]

    @property
    def total_events(self) -> int:
        return sum(self.events.values())


def simulate(
    people: int,
    days: int,
    seed: int,
    out: str | Path,
    scenario: str | Path | None = None,
    progress: Progress | None = None,
) -> WorldSummary:
    if people < 200:
        raise FanzhaError("--people must be at least 200 (a smaller world has no fraud to find)")
    if days < 1:
        raise FanzhaError("--days must be at least 1")
    if not 0 <= seed < 2**63:
        raise FanzhaError("--seed must be a non-negative integer")
    sc = load_scenario(scenario)
    clock = Clock.of(sc["start_date"], days, sc["utc_offset_hours"])
    step = _stepper(progress)
    P = population.build(sc, people, seed, clock)
    ev, truth = Events(), Truth()
    step("population")

    plan = life.staff_plan(P, sc, clock, seed)
    leaks = fraud.plan_leaks(P, sc, clock, seed, plan)
    life.roster(P, plan, clock, seed, ev)
    life.cards(P, clock, seed, ev)
    life.new_sims(P, sc, clock, seed, ev)
    ordinary = life.orders(P, sc, clock, seed)
    step("orders")
    promo = fraud.village_push(P, sc, clock, seed, ev, truth)
    life.legit_promoters(P, sc, clock, seed, ev)
    step("village push")
    ords = life.number_orders(P, pl.concat([ordinary, promo], how="diagonal_relaxed"), seed)
    if promo.height:
        truth.add(
            "promo_orders",
            ords.filter(pl.col._promo).select(
                "order_id", "account_id", "platform", "deal_id", "ts"
            ),
        )
    ev.add("order", ords.select(life.ORDER_FIELDS))
    life.waybill_access(P, sc, clock, seed, ords, plan, ev)
    leaked = fraud.waybill_theft(P, sc, clock, seed, ords, plan, leaks, ev, truth)
    step("waybills")

    contacts, payments = Contacts(), []
    farm = fraud.impersonation(P, sc, clock, seed, ev, truth, contacts, payments)
    cs = fraud.refund_scam(P, sc, clock, seed, ev, truth, leaked, contacts, payments)
    gangs = [g for g in (farm, cs) if g is not None]
    cframe = contacts.frame()
    fraud.contact_events(P, sc, clock, seed, cframe, gangs, ev)
    fraud.insider_sims(P, sc, clock, seed, farm, ev, truth)
    fraud.domain_records(sc, clock, seed, gangs, ev)
    step("scams")
    victim_pay = fraud.mules(P, sc, clock, seed, payments, ev, truth)
    step("money")
    fraud.reports_and_cases(P, sc, clock, seed, cframe, victim_pay, gangs, ev, truth)
    step("reports")

    life.calls(P, sc, clock, seed, ords, ev)
    step("calls")
    life.sms(P, sc, clock, seed, ords, ev)
    step("sms")
    life.transfers(P, sc, clock, seed, ev)
    life.bank_sms(P, seed, ev.frame("transfer"), ev)
    step("transfers")
    life.logins(P, sc, clock, seed, ev)
    life.sign_ups(P, sc, clock, seed, ev)
    life.visits(P, sc, clock, seed, ev)
    life.small_site_visits(P, sc, clock, seed, ev)
    life.apps(P, sc, clock, seed, ev)
    step("platforms")

    frames, ids = _finalise(ev)
    tables = _truth_tables(P, sc, clock, truth, cframe, victim_pay, ids)
    step("finalise")
    out = Path(out)
    meta = {
        "seed": seed,
        "people": people,
        "days": days,
        "start_date": sc["start_date"],
        "start_ms": clock.start_ms,
        "end_ms": clock.end_ms,
        "scenario_sha256": hashlib.sha256(yaml.safe_dump(sc, sort_keys=True).encode()).hexdigest(),
        "events": {k: v.height for k, v in sorted(frames.items())},
        "transfers": frames["transfer"].height,
    }
    writer.write_world(out, frames, tables, meta, sc)
    step("write")
    return WorldSummary(
        str(out), people, days, seed, meta["events"], {k: v.height for k, v in tables.items()}
    )


def _stepper(progress: Progress | None) -> Callable[[str], None]:
    done = {"n": 0}

    def step(name: str) -> None:
        done["n"] += 1
        if progress:
            progress(name, done["n"], len(STAGES))

    return step


def _finalise(ev: Events) -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
    """Every kind in time order with the partners' own ids given in that order (so that ids say
    nothing about what made an event); maps from internal keys to those ids."""
    frames: dict[str, pl.DataFrame] = {}
    ids: dict[str, pl.DataFrame] = {}
    for kind in sorted(ev.parts):
        df = ev.frame(kind)
        if kind in ("waybill_access", "transfer"):  # the WMS and the bank log whole seconds
            df = df.with_columns(ts=pl.col.ts // 1000 * 1000).sort("ts", maintain_order=True)
        if kind == "case":
            df = df.with_columns(paid_at=pl.col.paid_at // 1000 * 1000)
        n = df.height
        seq = pl.Series(np.arange(n, dtype=np.int64))
        if "_key" not in df.columns:
            df = df.with_columns(_key=pl.lit(None, pl.Int64))
        if kind == "transfer":
            df = df.with_columns(transfer_id="B" + (seq + 6_000_000_000).cast(pl.String))
            ids["transfer"] = df.filter(pl.col._key.is_not_null()).select("_key", "transfer_id")
        elif kind == "call":
            df = df.with_columns(call_id="CDR" + (seq + 100_000_000).cast(pl.String))
        elif kind == "waybill_access":
            df = df.with_columns(access_id="L" + (seq + 70_000_000).cast(pl.String))
            ids["waybill_access"] = df.filter(pl.col._key.is_not_null()).select("_key", "access_id")
        frames[kind] = df
    if "case" in frames and "transfer" in ids:
        frames["case"] = frames["case"].join(
            ids["transfer"].rename({"_key": "_tkey"}), on="_tkey", how="left", maintain_order="left"
        )
    return {
        k: v.select([c for c in v.columns if not c.startswith("_")]) for k, v in frames.items()
    }, ids


def _truth_tables(
    P,
    sc,
    clock,
    truth: Truth,
    contacts: pl.DataFrame,
    victim_pay: pl.DataFrame,
    ids: dict[str, pl.DataFrame],
) -> dict[str, pl.DataFrame]:
    from fanzha.sim.life import s

    out: dict[str, pl.DataFrame] = {}
    tid = ids.get("transfer", pl.DataFrame({"_key": [], "transfer_id": []}))
    if victim_pay.height:
        vp = victim_pay.join(tid, on="_key", how="inner").sort("ts", maintain_order=True)
        person = vp["person"].to_numpy()
        out["payments"] = pl.DataFrame(
            {
                "transfer_id": vp["transfer_id"],
                "ts": vp["ts"] // 1000 * 1000,
                "phone": s(P.phone[person]),
                "id_number": P.id_number.gather(person),
                "payer_account": s(vp["card"].to_numpy()),
                "amount_fen": vp["amount_fen"],
                "scenario": vp["scenario"],
                "fraud_type": vp["fraud_type"],
                "gang_id": vp["gang_id"],
                "fraud_number": s(vp["number"].to_numpy()),
                "leak_id": vp["leak_id"],
                "_person": person,
            }
        )
    if contacts.height:
        c = contacts.sort("ts", maintain_order=True)
        person = c["person"].to_numpy()
        out["contacts"] = pl.DataFrame(
            {
                "ts": c["ts"],
                "number": s(c["number"].to_numpy()),
                "phone": s(P.phone[person]),
                "channel": c["channel"],
                "duration_s": c["duration_s"],
                "engaged": c["engaged"],
                "scenario": c["scenario"],
                "fraud_type": c["fraud_type"],
                "_person": person,
            }
        ).with_columns(leak_id=c["leak_id"] if "leak_id" in c.columns else pl.lit(None, pl.String))
        first = (
            out["contacts"]
            .group_by("phone")
            .agg(
                first_contact_ts=pl.col.ts.min(),
                contacts=pl.len(),
                first_number=pl.col.number.sort_by("ts").first(),
                scenario=pl.col.scenario.sort_by("ts").first(),
                fraud_type=pl.col.fraud_type.sort_by("ts").first(),
                engaged=pl.col.engaged.any(),
                person=pl.col._person.first(),
            )
        )
        pay = out.get("payments")
        if pay is not None:
            per = pay.group_by("phone").agg(
                first_payment_ts=pl.col.ts.min(),
                payments=pl.len(),
                loss_fen=pl.col.amount_fen.sum(),
                victim_scenario=pl.col.scenario.first(),
                victim_fraud_type=pl.col.fraud_type.first(),
                leak_id=pl.col.leak_id.first(),
                gang_id=pl.col.gang_id.first(),
            )
            first = first.join(per, on="phone", how="left")
        else:
            first = first.with_columns(first_payment_ts=pl.lit(None, pl.Int64))
        out["targets"] = first.sort("phone").select(
            "phone",
            "first_contact_ts",
            "contacts",
            "first_number",
            "scenario",
            "fraud_type",
            "engaged",
            victim=pl.col.first_payment_ts.is_not_null(),
        )
        if pay is not None:
            out["victims"] = (
                first.filter(pl.col.first_payment_ts.is_not_null())
                .sort("phone")
                .select(
                    "phone",
                    pl.col.person.map_elements(
                        lambda p: P.id_number[int(p)], return_dtype=pl.String
                    ).alias("id_number"),
                    "victim_scenario",
                    "victim_fraud_type",
                    "gang_id",
                    "first_contact_ts",
                    "contacts",
                    "first_payment_ts",
                    "payments",
                    "loss_fen",
                    "leak_id",
                )
                .rename({"victim_scenario": "scenario", "victim_fraud_type": "fraud_type"})
            )
    used = set(contacts["number"].to_list()) if contacts.height else set()
    numbers = truth.get("fraud_numbers")
    if numbers.height:  # a number of the rotation that never called anyone is not a fraud number
        out["fraud_numbers"] = numbers.filter(pl.col.number.cast(pl.Int64).is_in(list(used)))
    for name in (
        "fraud_urls",
        "mules",
        "black_accounts",
        "harvested",
        "promo_orders",
        "leaks",
        "leaked_records",
        "cards",
        "police",
    ):
        df = truth.get(name)
        if df.height:
            out[name] = df
    mt = truth.get("mule_transfers")
    if mt.height:
        m = mt.join(tid, on="_key", how="inner").join(
            tid.rename({"_key": "root", "transfer_id": "root_transfer_id"}), on="root", how="inner"
        )
        out["mule_transfers"] = m.sort("ts", maintain_order=True).select(
            "transfer_id",
            pl.col.ts // 1000 * 1000,
            "payer_account",
            "payee_account",
            "amount_fen",
            "level",
            "root_transfer_id",
        )
    la = truth.get("leak_accesses")
    if la.height:
        out["leak_accesses"] = (
            la.join(ids["waybill_access"], on="_key", how="inner")
            .sort("access_id")
            .select(
                "access_id",
                pl.col.ts // 1000 * 1000,
                "site",
                "operator_account",
                "action",
                "waybill_no",
                "leak_id",
            )
        )
    from fanzha.sim.fraud import FRAUD_APPS

    out["fraud_apps"] = pl.DataFrame(
        [
            {"app_id": a, "app_name": n, "kind": k, "fraud_type": ft}
            for ft, apps in FRAUD_APPS.items()
            for a, n, k in apps
        ]
    ).unique("app_id", keep="first", maintain_order=True)
    if "black_accounts" in out:
        out["black_accounts"] = out["black_accounts"].rename({"ts": "registered_ts"}).drop("person")
    if "harvested" in out:
        out["harvested"] = out["harvested"].drop("person")
    for k in list(out):
        out[k] = out[k].select([c for c in out[k].columns if not c.startswith("_")])
    _ = (sc, clock, DAY_MS)
    return out
