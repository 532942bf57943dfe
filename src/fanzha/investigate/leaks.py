"""Leak source: where did the personal data used in a fraud come from? (Law art. 29)

Fraud traced: fake customer-service refund scams run on stolen waybills (report 004: cloud
warehouses robbed with remote-control programs and ex-employees' sub-accounts, 3-5 yuan a
waybill), and any fraud whose script knows what the victim bought or who they are (report 003: a
telecom hall employee who sold customers' data).

Given the victims (police cases of one fraud type), every order of each victim before the fraud
and every touchpoint it passed is listed: the shop, the warehouse, and from the access logs the
system, the PC and the operator account that read the record. A touchpoint is suspicious when the
victims passed it more often than all customers of the same window: for each one, k of the n
victims and K of the N customers passed it, and the one-sided hypergeometric p-value
P(X >= k), X ~ Hypergeom(N, K, n), says how surprising that is (a busy warehouse that every
customer passes has K = N and p = 1: it is never blamed).

Sources are chosen by forward selection: the most significant touchpoint is taken, its customers
set aside, the rest tested again, until nothing passes alpha / (number of touchpoints tested)
(Bonferroni) - or alpha alone for a touchpoint the access watch had already flagged, or a decoy
pinned: those hypotheses were stated before the victims were known. Then the blame of each victim
is shared among the sources it passed, BreachRadar-style (Araujo et al., SDM 2017): each source
has a leak rate r_t, a victim's blame goes to its sources in proportion to their rates (plus a
background "elsewhere"), each rate is re-estimated as blame / customers passed, until it settles.
A decoy number planted at a site and then called by the same fraud number as a victim pins that
victim's source with certainty.

The report ranks the sites for every victim and lists the evidence a prosecutor can read: which
orders, read when, by which account, on which PC, with which rules of the access watch broken.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import hypergeom

from fanzha.errors import FanzhaError

DAY_MS = 86_400_000
ORDER_LEVEL = ("shop", "warehouse")
ACCESS_LEVEL = ("system", "device", "operator")


@dataclass(frozen=True)
class LeakSettings:
    lookback_days: float = 60.0  # orders this long before the fraud count
    alpha: float = 0.01  # family-wise error rate of the forward selection
    min_victims: int = 2  # a source must explain at least this many victims (unless flagged)
    max_sources: int = 20
    em_iterations: int = 500
    em_tolerance: float = 1e-10
    max_evidence_victims: int = 50  # victims listed in full under each source


@dataclass
class LeakReport:
    fraud_type: str
    window: dict[str, Any]
    victims_n: int
    customers_n: int
    touchpoints: pl.DataFrame  # every touchpoint a victim passed, with its statistics
    sources: pl.DataFrame  # the selected sources, most blame first
    victim_sites: pl.DataFrame  # phone, site, rank, blame (1 = most likely source of the victim)
    victims: list[dict[str, Any]]  # each victim's orders and the accesses to them
    decoy_hits: list[dict[str, Any]]
    settings: LeakSettings

    def to_dict(self) -> dict[str, Any]:
        return {
            "fraud_type": self.fraud_type,
            "window": self.window,
            "victims_n": self.victims_n,
            "customers_n": self.customers_n,
            "method": "forward selection by one-sided hypergeometric p-value (Bonferroni), "
            "then blame shared by rate (BreachRadar-style EM); decoy hits are certain",
            "settings": asdict(self.settings),
            "sources": self.sources.to_dicts(),
            "touchpoints": self.touchpoints.head(200).to_dicts(),
            "victim_sites": self.victim_sites.to_dicts(),
            "victims": self.victims,
            "decoy_hits": self.decoy_hits,
        }


# --- the touchpoints each customer passed -------------------------------------------------------


def touchpoint_passes(orders: pl.DataFrame, accesses: pl.DataFrame) -> pl.DataFrame:
    """customer, tp, kind, site, value, ts (ms), order_id, access_id, event_id: one row per
    (order or access) x touchpoint. Orders give shop and warehouse; an access gives the system,
    the PC and the operator account at its site, for the customer whose record it read (its
    subject phone, else the phone of the order or waybill it names)."""
    parts = []
    if orders.height:
        o = orders.filter(pl.col.ship_phone.is_not_null()).with_columns(
            ts_ms=pl.col.ts.dt.epoch("ms")
        )
        for kind, col in (("shop", "shop_id"), ("warehouse", "warehouse_id")):
            parts.append(
                o.filter(pl.col(col).is_not_null()).select(
                    customer="ship_phone", kind=pl.lit(kind), site=pl.col(col),
                    value=pl.col(col), ts="ts_ms", order_id="order_id",
                    access_id=pl.lit(None, pl.String), event_id=pl.lit(None, pl.String),
                )
            )  # fmt: skip
    if accesses.height:
        a = accesses.filter(pl.col.action != "login").with_columns(ts_ms=pl.col.ts.dt.epoch("ms"))
        if orders.height:
            # an order seen twice keeps its first record; a waybill on several orders, the
            # smallest order id (as the Spark leaks job does)
            by_order = orders.select("order_id", o_phone="ship_phone").unique(
                "order_id", keep="first", maintain_order=True
            )
            by_wb = (
                orders.filter(pl.col.waybill_no.is_not_null())
                .select("waybill_no", w_phone="ship_phone", w_order="order_id")
                .sort("waybill_no", "w_order")
                .unique("waybill_no", keep="first", maintain_order=True)
            )
            a = a.join(by_order, on="order_id", how="left").join(by_wb, on="waybill_no", how="left")
            a = a.with_columns(
                customer=pl.coalesce("subject_phone", "o_phone", "w_phone"),
                order_id=pl.coalesce("order_id", "w_order"),
            )
        else:
            a = a.with_columns(customer=pl.col.subject_phone)
        a = a.filter(pl.col.customer.is_not_null())
        for kind, col in (("system", "system"), ("device", "device_id"),
                          ("operator", "operator_account")):  # fmt: skip
            parts.append(
                a.filter(pl.col(col).is_not_null()).select(
                    "customer", kind=pl.lit(kind), site="site", value=pl.col(col),
                    ts="ts_ms", order_id="order_id", access_id="access_id", event_id="event_id",
                )
            )  # fmt: skip
    if not parts:  # no orders and no reads: no touchpoint (the same columns, tp included)
        return pl.DataFrame(schema={**_PASS_SCHEMA, "tp": pl.String})
    df = pl.concat([p.cast(_PASS_SCHEMA) for p in parts])
    tp = pl.when(pl.col.kind.is_in(list(ORDER_LEVEL))).then(
        pl.col.kind + ":" + pl.col.site
    ).otherwise(pl.col.kind + ":" + pl.col.site + "/" + pl.col.value)
    return df.with_columns(tp=tp)


_PASS_SCHEMA = {
    "customer": pl.String, "kind": pl.String, "site": pl.String, "value": pl.String,
    "ts": pl.Int64, "order_id": pl.String, "access_id": pl.String, "event_id": pl.String,
}  # fmt: skip


# --- statistics ---------------------------------------------------------------------------------


def hypergeom_p(k: np.ndarray, big_n: int, big_k: np.ndarray, n: int) -> np.ndarray:
    """One-sided P(X >= k) for X ~ Hypergeom(population N, K marked, n drawn)."""
    k = np.asarray(k, dtype=np.int64)
    if big_n <= 0 or n <= 0:
        return np.ones(len(k))
    return np.clip(hypergeom.sf(k - 1, big_n, np.asarray(big_k), n), 0.0, 1.0)


def _counts(inc: pl.DataFrame, victims: set[str], big_n: int, n: int) -> pl.DataFrame:
    """k (victims) and K (customers) per touchpoint, enrichment and p-value."""
    c = inc.group_by("tp").agg(
        kind=pl.col.kind.first(),
        site=pl.col.site.first(),
        value=pl.col.value.first(),
        customers_passed=pl.len(),
        victims_passed=pl.col.customer.is_in(list(victims)).sum(),
    )
    if not c.height:
        return c.with_columns(enrichment=pl.lit(None, pl.Float64), p_value=pl.lit(None, pl.Float64))
    p = hypergeom_p(c["victims_passed"].to_numpy(), big_n, c["customers_passed"].to_numpy(), n)
    return c.with_columns(
        enrichment=(pl.col.victims_passed / n) / (pl.col.customers_passed / big_n)
        if n and big_n
        else pl.lit(None, pl.Float64),
        p_value=pl.Series(p),
    )


def select_sources(
    inc: pl.DataFrame,
    victims: set[str],
    big_n: int,
    prior: set[str],
    s: LeakSettings,
) -> list[dict[str, Any]]:
    """Forward selection: take the most significant touchpoint, set its customers aside, test
    the rest again; stop when nothing passes the (Bonferroni) threshold."""
    tested = _counts(inc, victims, big_n, len(victims)).filter(pl.col.victims_passed > 0).height
    chosen: list[dict[str, Any]] = []
    covered: set[str] = set()
    rest = inc
    n_left = len(victims)
    total = big_n
    while len(chosen) < s.max_sources and n_left > 0:
        c = _counts(rest, victims - covered, total, n_left).filter(pl.col.victims_passed > 0)
        if not c.height:
            break
        c = c.with_columns(
            prior=pl.col.tp.is_in(list(prior)),
        ).with_columns(
            threshold=pl.when(pl.col.prior).then(s.alpha).otherwise(s.alpha / max(tested, 1)),
            need=pl.when(pl.col.prior).then(1).otherwise(s.min_victims),
        )
        ok = c.filter((pl.col.p_value < pl.col.threshold) & (pl.col.victims_passed >= pl.col.need))
        if not ok.height:
            break
        best = ok.sort(
            ["p_value", "victims_passed", "customers_passed", "tp"],
            descending=[False, True, False, False],
        ).row(0, named=True)
        best["step"] = len(chosen) + 1
        best["tested"] = tested
        chosen.append(best)
        gone = set(rest.filter(pl.col.tp == best["tp"])["customer"].to_list())
        covered |= gone & victims
        rest = rest.filter(~pl.col.customer.is_in(list(gone)))
        total -= len(gone)
        n_left = len(victims - covered)
    return chosen


def share_blame(
    inc: pl.DataFrame, victims: set[str], sources: list[str], big_n: int, s: LeakSettings
) -> tuple[pl.DataFrame, dict[str, float]]:
    """BreachRadar-style EM: each victim's blame split among the sources it passed (and a
    background) in proportion to their leak rates; rates = blame / customers passed."""
    if not sources:
        return pl.DataFrame(schema={"customer": pl.String, "tp": pl.String, "blame": pl.Float64}), {}
    src = inc.filter(pl.col.tp.is_in(sources))
    size = dict(src.group_by("tp").len().iter_rows())
    vs = src.filter(pl.col.customer.is_in(list(victims))).select("customer", "tp").unique()
    vlist = sorted(victims)
    vi = {v: i for i, v in enumerate(vlist)}
    ti = {t: i for i, t in enumerate(sources)}
    m = np.zeros((len(vlist), len(sources)))
    for c, t in vs.iter_rows():
        m[vi[c], ti[t]] = 1.0
    k_t = np.array([size[t] for t in sources], dtype=float)
    rates = m.sum(axis=0) / k_t
    unexplained = float((m.sum(axis=1) == 0).sum())
    r0 = max(unexplained, 0.5) / max(big_n, 1)
    for _ in range(s.em_iterations):
        w = m * rates
        denom = w.sum(axis=1) + r0
        q = w / denom[:, None]
        q0 = r0 / denom
        new_rates = q.sum(axis=0) / k_t
        new_r0 = max(q0.sum(), 1e-12) / max(big_n, 1)
        delta = np.abs(new_rates - rates).max(initial=0.0) + abs(new_r0 - r0)
        rates, r0 = new_rates, new_r0
        if delta < s.em_tolerance:
            break
    w = m * rates
    q = w / (w.sum(axis=1) + r0)[:, None]
    rows = [
        (vlist[i], sources[j], float(q[i, j]))
        for i, j in zip(*np.nonzero(m), strict=True)
    ]
    blame = pl.DataFrame(rows, schema={"customer": pl.String, "tp": pl.String, "blame": pl.Float64},
                         orient="row")  # fmt: skip
    return blame, {t: float(r) for t, r in zip(sources, rates, strict=True)}


# --- the whole trace ----------------------------------------------------------------------------


def trace_sources(
    victims: pl.DataFrame,
    orders: pl.DataFrame,
    accesses: pl.DataFrame,
    fraud_type: str,
    flagged: pl.DataFrame | None = None,
    decoy_hits: pl.DataFrame | None = None,
    settings: LeakSettings | None = None,
) -> LeakReport:
    """victims: phone, fraud_ts (UTC datetime), case_ids (list), fraud_contacts (list).
    orders / accesses: events of those kinds. flagged: event_id, rules, score of accesses the
    access watch flagged. decoy_hits: fraud_contact, site, placement, decoy, ts."""
    s = settings or LeakSettings()
    if not victims.height:
        raise FanzhaError(f"no victims of {fraud_type} to trace")
    v = victims.with_columns(fraud_ms=pl.col.fraud_ts.dt.epoch("ms"))
    w0, w1 = window(v, s)
    passes = before_fraud(touchpoint_passes(orders, accesses), v, s)
    vphones = set(v["phone"].to_list())
    inc = incidence(passes)
    customers = set(inc["customer"].unique().to_list()) | vphones
    big_n = len(customers)
    stats = _counts(inc, vphones, big_n, len(vphones))
    flagged_tp = _flagged_touchpoints(passes, flagged, vphones)
    decoy_site = _decoy_sites(v, decoy_hits)
    prior = set(flagged_tp["tp"].to_list()) if flagged_tp.height else set()
    prior |= {f"{k}:{site}" for site in decoy_site["site"].unique().to_list() for k in ORDER_LEVEL}
    chosen = select_sources(inc, vphones, big_n, prior, s)
    blame, rates = share_blame(inc, vphones, [c["tp"] for c in chosen], big_n, s)
    # a decoy hit is certain: the victim's blame goes to the decoy's site
    if decoy_site.height:
        pinned = decoy_site.select(customer="phone", site="site")
        blame = blame.join(inc.select("tp", "site").unique(), on="tp", how="left")
        blame = blame.join(pinned.with_columns(pin=pl.lit(True)), on=["customer", "site"],
                           how="left")  # fmt: skip
        has_pin = set(pinned["customer"].to_list())
        blame = pl.concat([
            blame.filter(~pl.col.customer.is_in(list(has_pin))).select("customer", "tp", "blame"),
            pinned.select("customer", tp=pl.lit("decoy:") + pl.col.site, blame=pl.lit(1.0)),
        ])  # fmt: skip
    touch = stats.join(
        flagged_tp.group_by("tp").agg(pl.col.flagged_accesses.sum()) if flagged_tp.height
        else pl.DataFrame(schema={"tp": pl.String, "flagged_accesses": pl.Int64}),
        on="tp", how="left",
    ).with_columns(flagged_accesses=pl.col.flagged_accesses.fill_null(0))  # fmt: skip
    tp_blame = blame.group_by("tp").agg(blame=pl.col.blame.sum(), victims_blamed=(pl.col.blame >= 0.5).sum())
    touch = touch.join(tp_blame, on="tp", how="left").with_columns(
        blame=pl.col.blame.fill_null(0.0), victims_blamed=pl.col.victims_blamed.fill_null(0)
    ).sort(["blame", "p_value", "tp"], descending=[True, False, False])
    sources = _sources_table(chosen, touch, rates, decoy_site)
    sources = _with_companions(sources, inc, blame)
    victim_sites = _victim_sites(inc, vphones, blame, touch, _flagged_reads(passes, flagged))
    report_victims = _victim_evidence(v, passes, orders, accesses, flagged, victim_sites, s)
    hits = decoy_hits.to_dicts() if decoy_hits is not None and decoy_hits.height else []
    return LeakReport(
        fraud_type=fraud_type,
        window={"start": _iso(w0), "end": _iso(w1), "lookback_days": s.lookback_days},
        victims_n=len(vphones),
        customers_n=big_n,
        touchpoints=touch.filter(pl.col.victims_passed > 0),
        sources=sources,
        victim_sites=victim_sites,
        victims=report_victims,
        decoy_hits=hits,
        settings=s,
    )


def window(v: pl.DataFrame, s: LeakSettings) -> tuple[int, int]:
    """(w0, w1) in epoch ms: from the look-back before the first victim's fraud to the last."""
    look = int(s.lookback_days * DAY_MS)
    return int(v["fraud_ms"].min()) - look, int(v["fraud_ms"].max())


def before_fraud(passes: pl.DataFrame, v: pl.DataFrame, s: LeakSettings) -> pl.DataFrame:
    """Passes inside the window; a victim's only within the look-back before its fraud."""
    look = int(s.lookback_days * DAY_MS)
    w0, w1 = window(v, s)
    fraud_at = v.select("phone", "fraud_ms")
    return (
        passes.filter(pl.col.ts.is_between(w0, w1))
        .join(fraud_at, left_on="customer", right_on="phone", how="left")
        .filter(
            pl.col.fraud_ms.is_null()
            | ((pl.col.ts < pl.col.fraud_ms) & (pl.col.ts >= pl.col.fraud_ms - look))
        )
    )


def incidence(passes: pl.DataFrame) -> pl.DataFrame:
    """customer, tp, kind, site, value, first_ts: who passed which touchpoint (once each)."""
    return passes.group_by("customer", "tp").agg(
        pl.col.kind.first(), pl.col.site.first(), pl.col.value.first(), first_ts=pl.col.ts.min()
    )


COUNTS = {
    "tp": pl.String, "kind": pl.String, "site": pl.String, "value": pl.String,
    "customers_passed": pl.Int64, "victims_passed": pl.Int64,
    "enrichment": pl.Float64, "p_value": pl.Float64,
}  # fmt: skip


def touchpoint_counts(
    inc: pl.DataFrame, victims: set[str], big_n: int, n: int | None = None
) -> pl.DataFrame:
    """COUNTS of every touchpoint a victim passed: k of the n victims and K of the N customers
    passed it, enrichment and p-value (what the forward selection starts from). `inc` may be
    the incidence of some touchpoints only, each with all its customers."""
    c = _counts(inc, victims, big_n, len(victims) if n is None else n)
    return c.filter(pl.col.victims_passed > 0).select(list(COUNTS)).cast(COUNTS)  # type: ignore[arg-type]


def _flagged_touchpoints(
    passes: pl.DataFrame, flagged: pl.DataFrame | None, victims: set[str]
) -> pl.DataFrame:
    """Access-level touchpoints whose accesses to victims' records the access watch flagged."""
    if flagged is None or not flagged.height or not passes.height:
        return pl.DataFrame(schema={"tp": pl.String, "flagged_accesses": pl.Int64})
    f = passes.filter(pl.col.event_id.is_in(flagged["event_id"].implode()))
    f = f.filter(pl.col.customer.is_in(list(victims)))
    return f.group_by("tp").agg(flagged_accesses=pl.len().cast(pl.Int64))


def _decoy_sites(v: pl.DataFrame, hits: pl.DataFrame | None) -> pl.DataFrame:
    """Victims whose fraudster also contacted a decoy: phone, site (certain)."""
    if hits is None or not hits.height or "fraud_contacts" not in v.columns:
        return pl.DataFrame(schema={"phone": pl.String, "site": pl.String})
    vc = v.select("phone", "fraud_contacts").explode("fraud_contacts").drop_nulls()
    return vc.join(hits.select(fraud_contacts="fraud_contact", site="site"), on="fraud_contacts")\
        .select("phone", "site").unique().sort("phone", "site")


def _sources_table(chosen, touch: pl.DataFrame, rates: dict[str, float], decoys: pl.DataFrame):
    rows = []
    for c in chosen:
        t = touch.filter(pl.col.tp == c["tp"]).row(0, named=True)
        rows.append({
            "tp": c["tp"], "kind": c["kind"], "site": c["site"], "value": c["value"],
            "step": c["step"], "victims_passed": t["victims_passed"],
            "customers_passed": t["customers_passed"], "enrichment": t["enrichment"],
            "p_value": t["p_value"], "p_value_at_selection": c["p_value"],
            "tested": c["tested"], "prior": bool(c.get("prior")),
            "flagged_accesses": t["flagged_accesses"], "leak_rate": rates.get(c["tp"]),
            "blame": t["blame"], "victims_blamed": t["victims_blamed"], "certain": False,
        })  # fmt: skip
    for site in sorted(set(decoys["site"].to_list())) if decoys.height else []:
        n = decoys.filter(pl.col.site == site).height
        rows.append({
            "tp": f"decoy:{site}", "kind": "decoy", "site": site, "value": site, "step": 0,
            "victims_passed": n, "customers_passed": None, "enrichment": None,
            "p_value": 0.0, "p_value_at_selection": 0.0, "tested": 0, "prior": True,
            "flagged_accesses": 0, "leak_rate": None, "blame": float(n), "victims_blamed": n,
            "certain": True,
        })  # fmt: skip
    if not rows:
        return pl.DataFrame(schema={"tp": pl.String, "site": pl.String, "blame": pl.Float64})
    df = pl.DataFrame(rows, infer_schema_length=None).sort(
        ["certain", "blame", "step"], descending=[True, True, False]
    )
    return df.with_columns(rank=pl.int_range(1, pl.len() + 1))


def _with_companions(sources: pl.DataFrame, inc: pl.DataFrame, blame: pl.DataFrame):
    """For each source, the other touchpoints at its site that (nearly) all of its blamed victims
    also passed: the account, PC and system behind a warehouse, or the account behind a PC."""
    if not sources.height or "kind" not in sources.columns:
        return sources
    comp = []
    for src in sources.iter_rows(named=True):
        mine = blame.filter((pl.col.tp == src["tp"]) & (pl.col.blame >= 0.5))["customer"]
        if not mine.len() or src["kind"] == "decoy":
            comp.append([])
            continue
        c = (
            inc.filter(pl.col.customer.is_in(mine.implode()) & (pl.col.site == src["site"])
                       & (pl.col.tp != src["tp"]))
            .group_by("tp").agg(share=pl.len() / mine.len())
            .filter(pl.col.share >= 0.9)
            .sort(["share", "tp"], descending=[True, False])
        )  # fmt: skip
        comp.append([f"{t} ({sh:.0%})" for t, sh in c.iter_rows()])
    return sources.with_columns(
        same_victims_also_passed=pl.Series(comp, dtype=pl.List(pl.String))
    )


def _flagged_reads(passes: pl.DataFrame, flagged: pl.DataFrame | None) -> pl.DataFrame:
    """customer, site, flagged: reads of the customer's records the access watch flagged."""
    if flagged is None or not flagged.height or not passes.height:
        return pl.DataFrame(schema={"customer": pl.String, "site": pl.String, "flagged": pl.UInt32})
    f = passes.filter((pl.col.kind == "operator") & pl.col.event_id.is_in(flagged["event_id"].implode()))
    return f.group_by("customer", "site").agg(flagged=pl.len())


def _victim_sites(
    inc: pl.DataFrame,
    victims: set[str],
    blame: pl.DataFrame,
    touch: pl.DataFrame,
    flagged: pl.DataFrame,
) -> pl.DataFrame:
    """For each victim, every site it passed, ranked: blame first; then whether the access watch
    flagged a read of this victim's own records there (direct evidence, when statistics are too
    thin to choose a source); then the best p-value of the site's touchpoints; then enrichment."""
    vi = inc.filter(pl.col.customer.is_in(list(victims)))
    site_tp = vi.join(touch.select("tp", "p_value", "enrichment"), on="tp", how="left")
    b = blame.join(inc.select("tp", "site").unique(), on="tp", how="left").with_columns(
        site=pl.coalesce("site", pl.col.tp.str.strip_prefix("decoy:"))
    )
    per = site_tp.group_by("customer", "site").agg(
        best_p=pl.col.p_value.min(), enrichment=pl.col.enrichment.max()
    )
    bs = b.group_by("customer", "site").agg(blame=pl.col.blame.sum())
    per = per.join(bs, on=["customer", "site"], how="full", coalesce=True).with_columns(
        blame=pl.col.blame.fill_null(0.0), best_p=pl.col.best_p.fill_null(1.0)
    )
    per = per.join(flagged, on=["customer", "site"], how="left").with_columns(
        flagged=pl.col.flagged.fill_null(0)
    )
    per = per.sort(
        ["customer", "blame", "flagged", "best_p", "enrichment", "site"],
        descending=[False, True, True, False, True, False], nulls_last=True,
    ).with_columns(rank=pl.int_range(1, pl.len() + 1).over("customer"))  # fmt: skip
    return per.select(phone="customer", site="site", rank=pl.col.rank.cast(pl.Int64),
                      blame="blame", flagged_reads="flagged", best_p="best_p")  # fmt: skip


def _victim_evidence(v, passes, orders, accesses, flagged, victim_sites, s) -> list[dict]:
    out = []
    fl = (
        flagged.select("event_id", "rules")
        if flagged is not None and flagged.height
        else pl.DataFrame(schema={"event_id": pl.String, "rules": pl.List(pl.String)})
    )
    acc = passes.filter(pl.col.access_id.is_not_null() | pl.col.event_id.is_not_null())
    if accesses.height:
        detail = accesses.select(
            "event_id", "action", "device_id", "ip", "remote_tools", "operator_account", "system"
        )
        acc = acc.filter(pl.col.kind == "operator").join(detail, on="event_id", how="left")
        acc = acc.join(fl, on="event_id", how="left")
    ords = passes.filter(pl.col.kind == "shop").join(
        passes.filter(pl.col.kind == "warehouse").select("order_id", warehouse="site"),
        on="order_id", how="left",
    ) if passes.height else passes  # fmt: skip
    wb = orders.select("order_id", "waybill_no") if orders.height else None
    has_case = pl.col.case_ids.list.len() > 0 if "case_ids" in v.columns else pl.lit(True)
    v = v.with_columns(_case=has_case).sort(["_case", "fraud_ms"], descending=[True, False])
    for row in v.iter_rows(named=True):
        phone = row["phone"]
        mine = ords.filter(pl.col.customer == phone).sort("ts")
        if wb is not None and mine.height:
            mine = mine.join(wb, on="order_id", how="left")
        o_list = []
        for o in mine.iter_rows(named=True):
            reads = acc.filter((pl.col.customer == phone) & (pl.col.order_id == o["order_id"]))
            o_list.append({
                "order_id": o["order_id"], "ts": _iso(o["ts"]), "shop": o["site"],
                "warehouse": o.get("warehouse"), "waybill_no": o.get("waybill_no"),
                "accesses": [
                    {"ts": _iso(r["ts"]), "site": r["site"], "action": r.get("action"),
                     "operator": r["value"], "device": r.get("device_id"), "ip": r.get("ip"),
                     "system": r.get("system"), "remote_tools": r.get("remote_tools"),
                     "access_id": r["access_id"], "flagged": r.get("rules") or []}
                    for r in reads.sort("ts").iter_rows(named=True)
                ],
            })  # fmt: skip
        sites = victim_sites.filter(pl.col.phone == phone).sort("rank")
        out.append({
            "phone": phone,
            "case_ids": row.get("case_ids") or [],
            "fraud_ts": _iso(row["fraud_ms"]),
            "fraud_contacts": row.get("fraud_contacts") or [],
            "orders": o_list,
            "how": row.get("how") or ["case"],
            "sites": sites.select("site", "rank", "blame").to_dicts(),
        })  # fmt: skip
    return out


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="seconds")


# --- from the store -----------------------------------------------------------------------------


def victims_from_cases(cases: pl.DataFrame, fraud_type: str, since: dt.datetime | None = None):
    """One row per victim phone: the earliest payment (or case time) is when the fraud happened."""
    c = cases.filter((pl.col.fraud_type == fraud_type) & pl.col.victim_phone.is_not_null())
    if since is not None:
        c = c.filter(pl.col.ts >= since)
    return (
        c.with_columns(fraud_ts=pl.min_horizontal("paid_at", "ts"))
        .group_by("victim_phone")
        .agg(
            fraud_ts=pl.col.fraud_ts.min(),
            case_ids=pl.col.case_id.unique().sort(),
            fraud_contacts=pl.col.fraud_contact.drop_nulls().unique().sort(),
        )
        .rename({"victim_phone": "phone"})
        .with_columns(how=pl.lit(["case"]))
        .sort("phone")
    )


def people_with_the_gangs_data(
    store: Any, cases: pl.DataFrame, reports: pl.DataFrame, fraud_type: str,
    since: dt.datetime | None = None, min_reporters: int = 1,
) -> pl.DataFrame:
    """Victims of the cases, plus everyone the gang's numbers called or texted (the gang's call
    list is a copy of the stolen data: police get it from the numbers' call records) and every
    citizen who reported a number as this fraud type. The gang's numbers: those of the cases,
    those police or the centre confirmed as this fraud type, and those at least `min_reporters`
    citizens reported as it. One row per phone; fraud_ts is when the gang first reached them."""
    victims = victims_from_cases(cases, fraud_type, since)
    conf = reports.filter(
        (pl.col.fraud_type == fraud_type) & (pl.col.verdict == "confirm")
        & (pl.col.target_kind == "phone") & pl.col.reporter_kind.is_in(["police", "centre"])
    )  # fmt: skip
    cit = reports.filter(
        (pl.col.fraud_type == fraud_type) & (pl.col.reporter_kind == "citizen")
        & pl.col.reporter.is_not_null()
    )  # fmt: skip
    reported = cit.filter(pl.col.target_kind == "phone").group_by("target_value").agg(
        n=pl.col.reporter.n_unique()
    ).filter(pl.col.n >= min_reporters)
    numbers = sorted(
        set(victims["fraud_contacts"].explode().drop_nulls().to_list())
        | set(conf["target_value"].to_list())
        | set(reported["target_value"].to_list())
    )
    top = store.max_seq()
    parts = [victims]
    for kind, frm, to in (("call", "caller", "callee"), ("sms", "sender", "receiver")):
        t = pl.from_arrow(store.lookup_events(kind, (frm,), numbers, top)) if numbers else None
        if t is not None and t.height:
            parts.append(
                t.filter(pl.col(to) != pl.col(frm)).group_by(to).agg(
                    fraud_ts=pl.col.ts.min(),
                    fraud_contacts=pl.col(frm).unique().sort(),
                ).select(
                    phone=to, fraud_ts="fraud_ts", case_ids=pl.lit([], pl.List(pl.String)),
                    fraud_contacts="fraud_contacts", how=pl.lit(["contacted"]),
                )
            )  # fmt: skip
    if cit.height:
        parts.append(
            cit.group_by("reporter").agg(
                fraud_ts=pl.col.ts.min(),
                fraud_contacts=pl.col.target_value.filter(pl.col.target_kind == "phone")
                .unique().sort(),
            ).select(
                phone="reporter", fraud_ts="fraud_ts", case_ids=pl.lit([], pl.List(pl.String)),
                fraud_contacts="fraud_contacts", how=pl.lit(["reported"]),
            )
        )  # fmt: skip
    df = pl.concat([p.cast(dict(victims.schema)) for p in parts])
    if since is not None:
        df = df.filter(pl.col.fraud_ts >= since)
    return (
        df.group_by("phone")
        .agg(
            fraud_ts=pl.col.fraud_ts.min(),
            case_ids=pl.col.case_ids.list.explode(keep_nulls=False).unique().sort(),
            fraud_contacts=pl.col.fraud_contacts.list.explode(keep_nulls=False).unique().sort(),
            how=pl.col.how.list.explode(keep_nulls=False).unique().sort(),
        )
        .sort("phone")
    )


def gang_victims(
    store: Any, fraud_type: str, since: dt.datetime | None = None, victims_only: bool = False
) -> pl.DataFrame:
    """The people whose data the gangs of `fraud_type` held (`people_with_the_gangs_data`, or
    the cases' victims only); an error when there is none. `store` needs max_seq, read_events
    and lookup_events."""
    top = store.max_seq()
    cases = pl.from_arrow(store.read_events("case", 0, top))
    assert isinstance(cases, pl.DataFrame)
    if victims_only:
        victims = victims_from_cases(cases, fraud_type, since)
    else:
        reports = pl.from_arrow(store.read_events("report", 0, top))
        victims = people_with_the_gangs_data(store, cases, reports, fraud_type, since)
    if not victims.height:
        raise FanzhaError(
            f"no cases of fraud type {fraud_type!r}"
            + (f" since {since.isoformat()}" if since else "")
            + " in the log"
        )
    return victims


def leak_counts(
    store: Any,
    fraud_type: str,
    since: dt.datetime | None = None,
    settings: LeakSettings | None = None,
    victims_only: bool = False,
) -> pl.DataFrame:
    """COUNTS of each touchpoint the gang's victims passed before the fraud (the report's
    touchpoints before the selection; what `fanzha spark leaks` computes over the lake)."""
    s = settings or LeakSettings()
    v = gang_victims(store, fraud_type, since, victims_only)
    v = v.with_columns(fraud_ms=pl.col.fraud_ts.dt.epoch("ms"))
    top = store.max_seq()
    orders = pl.from_arrow(store.read_events("order", 0, top))
    accesses = pl.from_arrow(store.read_events("waybill_access", 0, top))
    assert isinstance(orders, pl.DataFrame) and isinstance(accesses, pl.DataFrame)
    inc = incidence(before_fraud(touchpoint_passes(orders, accesses), v, s))
    vphones = set(v["phone"].to_list())
    big_n = len(set(inc["customer"].unique().to_list()) | vphones)
    return touchpoint_counts(inc, vphones, big_n)


def leak_source(
    store: Any,
    fraud_type: str,
    since: dt.datetime | None = None,
    settings: LeakSettings | None = None,
    flag_score: float = 0.85,
    victims_only: bool = False,
) -> LeakReport:
    """The leak-source report for the cases of `fraud_type` in the store's log (and, unless
    `victims_only`, everyone else the same fraud numbers reached)."""
    from fanzha.investigate.decoys import decoy_hits as find_decoy_hits

    top = store.max_seq()
    victims = gang_victims(store, fraud_type, since, victims_only)
    orders = pl.from_arrow(store.read_events("order", 0, top))
    accesses = pl.from_arrow(store.read_events("waybill_access", 0, top))
    sig = pl.from_arrow(store.signals())
    flagged = None
    if sig.height:
        flagged = sig.filter((pl.col.detector == "access_rules") & (pl.col.score >= flag_score))
        flagged = flagged.select(
            event_id=pl.col.event_ids.list.first(),
            rules=pl.col.details.str.json_decode(pl.Struct({"rules": pl.List(pl.String)}))
            .struct.field("rules"),
            score="score",
        )
    hits = find_decoy_hits(store)
    return trace_sources(victims, orders, accesses, fraud_type, flagged, hits, settings)


# --- readable forms -----------------------------------------------------------------------------


def _mask(phone: str | None) -> str:
    from fanzha.privacy.masks import mask_phone

    return mask_phone(phone) if phone else "?"


def _source_sentence(src: dict[str, Any], report: dict[str, Any]) -> str:
    if src.get("certain"):
        return (
            f"{src['victims_passed']} victim(s) were called by a fraud number that also called a "
            f"decoy record planted only at {src['site']}: the data left {src['site']} (certain)."
        )
    what = {"shop": "shop", "warehouse": "warehouse", "system": "system", "device": "PC/device",
            "operator": "operator account"}.get(src["kind"], src["kind"])  # fmt: skip
    share = src["customers_passed"] / report["customers_n"] if report["customers_n"] else 0
    text = (
        f"{src['victims_passed']} of the {report['victims_n']} people reached by "
        f"{report['fraud_type']} had their data pass {what} {src['value']} at {src['site']} "
        "before the fraud reached them, "
        f"against {share:.1%} of all {report['customers_n']} customers in the same window "
        f"({src['enrichment']:.1f}x; one-sided hypergeometric p = {src['p_value']:.2g}; "
        f"chosen at step {src['step']} of a forward selection over {src['tested']} touchpoints, "
        f"p = {src['p_value_at_selection']:.2g} among the customers not explained before). "
        f"Blame after sharing: {src['blame']:.1f} victims."
    )
    if src.get("same_victims_also_passed"):
        text += " The same victims' records also passed: " + ", ".join(
            src["same_victims_also_passed"]
        ) + "."
    if src.get("flagged_accesses"):
        text += (
            f" The access watch had flagged {src['flagged_accesses']} reads of the victims' "
            "records there."
        )
    return text


def render_text(report: dict[str, Any]) -> str:
    """The report as plain text a prosecutor can read (phones masked)."""
    lines = [
        f"Leak source report - fraud type {report['fraud_type']}",
        f"Window {report['window']['start']} .. {report['window']['end']}; "
        f"{report['victims_n']} people reached by the fraud (victims of its cases, people its "
        f"numbers called or texted, citizens who reported it), {report['customers_n']} customers.",
        f"Method: {report['method']}.",
        "",
        "Sources",
    ]
    if not report["sources"]:
        lines.append("  none significant: the victims passed no touchpoint more often than chance.")
    for src in report["sources"]:
        lines.append(f"  {src['rank']}. {src['tp']}")
        lines.append("     " + _source_sentence(src, report))
    lines += ["", "Victims"]
    for vic in report["victims"][: report["settings"]["max_evidence_victims"]]:
        top = vic["sites"][0]["site"] if vic["sites"] else "unknown"
        lines.append(
            f"  {_mask(vic['phone'])} ({', '.join(vic['how'])}; cases "
            f"{', '.join(vic['case_ids']) or '-'}; first reached {vic['fraud_ts']}): "
            f"most likely source {top}"
        )
        for o in vic["orders"]:
            lines.append(
                f"    order {o['order_id']} {o['ts']} shop {o['shop']} warehouse "
                f"{o['warehouse']} waybill {o['waybill_no']}"
            )
            for a in o["accesses"]:
                flag = f" [flagged: {', '.join(a['flagged'])}]" if a["flagged"] else ""
                tools = f" with {a['remote_tools']} running" if a["remote_tools"] else ""
                lines.append(
                    f"      {a['ts']} {a['action']} by {a['operator']} on {a['device']} "
                    f"({a['ip']}){tools}{flag}"
                )
    if report["decoy_hits"]:
        lines += ["", "Decoy hits"]
        for h in report["decoy_hits"]:
            lines.append(
                f"  {h['ts']}: {h['fraud_contact']} contacted decoy {_mask(h['decoy'])} planted "
                f"at {h['placement']}"
            )
    return "\n".join(lines) + "\n"


def _fmt_p(p: float | None) -> str:
    return "" if p is None else f"{p:.2g}"


def render_html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page (phones masked, every value escaped)."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{src['rank']}</td><td>{e(src['tp'])}</td><td>{src['victims_passed']}</td>"
        f"<td>{'' if src['customers_passed'] is None else src['customers_passed']}</td>"
        f"<td>{_fmt_p(src['p_value_at_selection'])}</td>"
        f"<td>{src['blame']:.1f}</td><td>{e(_source_sentence(src, report))}</td></tr>"
        for src in report["sources"]
    )
    text = e(render_text(report))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Leak source report</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;"
        "padding:4px;vertical-align:top}table{border-collapse:collapse}</style></head><body>"
        f"<h1>Leak source report: {e(report['fraud_type'])}</h1>"
        "<table><tr><th>rank</th><th>source</th><th>victims</th><th>customers</th>"
        f"<th>p</th><th>blame</th><th>evidence</th></tr>{rows}</table>"
        f"<h2>Full report</h2><pre>{text}</pre></body></html>\n"
    )
