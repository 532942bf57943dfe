"""The scorecard: what fanzha found, compared with the truth. Pure functions, no I/O.

`score(truth, predictions)` returns one object per capability with stable keys (read by tools
outside fanzha; rates are fractions in [0, 1]). A capability whose prediction is None is not built
yet: all its values are null. Adding a capability = a field of `Predictions`, a scorer here, a
collector in `fanzha.sim.collect`, and its keys in `METRICS`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import polars as pl

from fanzha.sim.truth import Truth


@dataclass
class Predictions:
    """What fanzha believes; None = the capability does not exist yet."""

    warnings: pl.DataFrame | None = None  # phone, warned_ts (UTC ms): first warning per phone
    fraud_numbers: set[str] | None = None
    mules: set[str] | None = None  # mule accounts
    traced: pl.DataFrame | None = None  # transfer_id, traced_fen: money the trace followed
    frozen: pl.DataFrame | None = None  # account, frozen_fen
    black_accounts: set[tuple[str, str]] | None = None  # (platform, account_id)
    account_rings: pl.DataFrame | None = None  # platform, account_id, ring
    promo_orders: set[str] | None = None  # order ids
    leak_sources: pl.DataFrame | None = None  # phone (a victim's), site, rank (1 = most likely)
    insider_accesses: set[str] | None = None  # access ids
    held_transfers: set[str] | None = None  # transfer ids a bank hold would stop
    cards: set[tuple[str, str]] | None = None  # (card_type, card_number) opened or sold illicitly
    fraud_domains: set[str] | None = None  # domains suspected as new fraud sites
    fraud_apps: set[str] | None = None  # app ids suspected as fraud apps
    # dissuasion tasks: entity, action, status, created_ts, due_ts (UTC ms)
    tasks: pl.DataFrame | None = None
    outcomes: pl.DataFrame | None = None  # task_id, outcome, outcome_ts, due_ts (UTC ms)

    def built(self) -> list[str]:
        """The capabilities (score.json objects) that have at least one prediction."""
        return list(
            dict.fromkeys(
                FIELD_CAPABILITY[f.name] for f in fields(self) if getattr(self, f.name) is not None
            )
        )


FIELD_CAPABILITY = {
    "warnings": "warning",
    "fraud_numbers": "numbers",
    "mules": "funds",
    "traced": "funds",
    "frozen": "funds",
    "black_accounts": "accounts",
    "account_rings": "accounts",
    "promo_orders": "accounts",
    "leak_sources": "leaks",
    "insider_accesses": "leaks",
    "held_transfers": "decide",
    "cards": "cards",
    "fraud_domains": "sites",
    "fraud_apps": "sites",
    "tasks": "dissuasion",
    "outcomes": "dissuasion",
}
DISSUASION_ACTIONS = ("sms", "flash_sms", "call", "home_visit", "family_notice", "bank_hold")


# (capability, key, label, unit) in the order the scorecard prints them. unit: share, seconds,
# per10k, rank, count. Every key is in score.json, null until its capability is built.
METRICS: tuple[tuple[str, str, str, str], ...] = (
    (
        "warning",
        "victims_warned_before_payment",
        "victims warned before their first payment",
        "share",
    ),
    (
        "warning",
        "median_seconds_to_warning",
        "median time from first fraud contact to warning",
        "seconds",
    ),
    ("warning", "false_warnings_per_10k", "false warnings per 10,000 people", "per10k"),
    ("warning", "targets_warned_share", "people contacted by fraud who were warned", "share"),
    ("dissuasion", "tasks", "dissuasion tasks sent", "count"),
    *(
        ("dissuasion", f"tasks_{a}", f"  of which {a.replace('_', ' ')}", "count")
        for a in DISSUASION_ACTIONS
    ),
    (
        "dissuasion",
        "victims_task_due_before_payment",
        "victims whose first task is due (SLA) before they pay",
        "share",
    ),
    ("dissuasion", "within_sla_share", "outcomes recorded within the SLA", "share"),
    ("dissuasion", "outcomes_dissuaded", "outcomes: reached and dissuaded", "count"),
    ("dissuasion", "outcomes_unreachable", "outcomes: unreachable", "count"),
    ("dissuasion", "outcomes_already_paid", "outcomes: already paid", "count"),
    ("numbers", "precision", "fraud numbers precision", "share"),
    ("numbers", "recall", "fraud numbers recall", "share"),
    ("funds", "money_traced_share", "stolen money traced (share of the chain's fen)", "share"),
    ("funds", "money_frozen_share", "money frozen (share of stolen)", "share"),
    ("funds", "mule_precision", "mule accounts precision", "share"),
    ("funds", "mule_recall", "mule accounts recall", "share"),
    ("accounts", "black_account_precision", "black accounts precision", "share"),
    ("accounts", "black_account_recall", "black accounts recall", "share"),
    ("accounts", "promo_abuse_precision", "promotion-abuse orders precision", "share"),
    ("accounts", "promo_abuse_recall", "promotion-abuse orders recall", "share"),
    ("accounts", "gang_purity", "black accounts in a ring of their own gang", "share"),
    (
        "leaks",
        "source_top1_share",
        "refund-scam victims whose leak source is ranked first",
        "share",
    ),
    ("leaks", "source_mean_rank", "mean rank of the true leak source", "rank"),
    ("leaks", "insider_precision", "insider waybill accesses precision", "share"),
    ("leaks", "insider_recall", "insider waybill accesses recall", "share"),
    ("decide", "victim_payments_held", "victim payments a bank hold would stop", "share"),
    ("decide", "normal_transfers_held", "normal transfers held (lower is better)", "share"),
    ("cards", "precision", "illicit cards precision", "share"),
    ("cards", "recall", "illicit cards recall", "share"),
    ("sites", "domain_precision", "new fraud domains precision", "share"),
    ("sites", "domain_recall", "new fraud domains recall", "share"),
    ("sites", "app_precision", "new fraud apps precision", "share"),
    ("sites", "app_recall", "new fraud apps recall", "share"),
)
CAPABILITIES = tuple(dict.fromkeys(c for c, *_ in METRICS))


def _pr(predicted: set, actual: set) -> tuple[float, float]:
    hit = len(predicted & actual)
    precision = hit / len(predicted) if predicted else 0.0
    recall = hit / len(actual) if actual else 0.0
    return precision, recall


def _col_set(df: pl.DataFrame, *cols: str) -> set:
    if not df.height:
        return set()
    if len(cols) == 1:
        return set(df[cols[0]].to_list())
    return set(zip(*(df[c].to_list() for c in cols), strict=True))


def score_warning(truth: Truth, warned: pl.DataFrame) -> dict[str, Any]:
    """Victims warned before they paid; time from first fraud contact to warning; warnings to
    people no fraud ever contacted (per 10,000 people of the world)."""
    victims = truth.get("victims")
    targets = truth.get("targets")
    w = (
        warned.group_by("phone").agg(pl.col.warned_ts.min())
        if warned.height
        else pl.DataFrame(
            {"phone": [], "warned_ts": []}, schema={"phone": pl.String, "warned_ts": pl.Int64}
        )
    )
    out: dict[str, Any] = {}
    if victims.height:
        v = victims.join(w, on="phone", how="left")
        before = (v["warned_ts"] < v["first_payment_ts"]).fill_null(False)
        out["victims_warned_before_payment"] = float(before.mean())
        delay = v.filter(pl.col.warned_ts.is_not_null()).select(
            (pl.col.warned_ts - pl.col.first_contact_ts).clip(lower_bound=0) / 1000
        )
        out["median_seconds_to_warning"] = (
            float(delay.to_series().median()) if delay.height else None
        )
    else:
        out["victims_warned_before_payment"] = None
        out["median_seconds_to_warning"] = None
    contacted = set(targets["phone"].to_list()) if targets.height else set()
    false = w.filter(~pl.col.phone.is_in(list(contacted))).height
    out["false_warnings_per_10k"] = false / truth.people * 10_000
    out["targets_warned_share"] = (
        w.filter(pl.col.phone.is_in(list(contacted))).height / len(contacted) if contacted else None
    )
    return out


def score_dissuasion(
    truth: Truth, tasks: pl.DataFrame, outcomes: pl.DataFrame | None
) -> dict[str, Any]:
    """Tasks per channel; victims whose earliest task is due before their first payment (if
    the centre keeps its SLA, the warning comes in time); outcomes and their timeliness."""
    sent = tasks.filter(pl.col.status == "sent") if tasks.height else tasks
    out: dict[str, Any] = {"tasks": sent.height}
    for a in DISSUASION_ACTIONS:
        out[f"tasks_{a}"] = sent.filter(pl.col.action == a).height if sent.height else 0
    victims = truth.get("victims")
    if victims.height:
        due = (
            sent.group_by(pl.col.entity.alias("phone")).agg(pl.col.due_ts.min())
            if sent.height
            else pl.DataFrame(
                {"phone": [], "due_ts": []}, schema={"phone": pl.String, "due_ts": pl.Int64}
            )
        )
        v = victims.join(due, on="phone", how="left")
        out["victims_task_due_before_payment"] = float(
            (v["due_ts"] < v["first_payment_ts"]).fill_null(False).mean()
        )
    else:
        out["victims_task_due_before_payment"] = None
    o = outcomes if outcomes is not None else pl.DataFrame()
    out["within_sla_share"] = (
        float((o["outcome_ts"] <= o["due_ts"]).fill_null(True).mean()) if o.height else None
    )
    for k in ("dissuaded", "unreachable", "already_paid"):
        out[f"outcomes_{k}"] = o.filter(pl.col.outcome == k).height if o.height else 0
    return out


def score_numbers(truth: Truth, predicted: set[str]) -> dict[str, Any]:
    p, r = _pr(predicted, _col_set(truth.get("fraud_numbers"), "number"))
    return {"precision": p, "recall": r}


def score_funds(truth: Truth, pred: Predictions) -> dict[str, Any]:
    """Mule accounts found; share of the chain's money traced; share of stolen money frozen."""
    out: dict[str, Any] = {}
    chain = truth.get("mule_transfers")
    stolen = int(truth.get("payments")["amount_fen"].sum()) if truth.get("payments").height else 0
    if pred.mules is not None:
        p, r = _pr(pred.mules, _col_set(truth.get("mules"), "account"))
        out.update(mule_precision=p, mule_recall=r)
    if pred.traced is not None:
        # by fen: a transfer counts for the money the trace followed through it, at most its amount
        total = int(chain["amount_fen"].sum()) if chain.height else 0
        traced = 0
        if chain.height and pred.traced.height:
            got = pred.traced.group_by("transfer_id").agg(pl.col.traced_fen.sum())
            joined = chain.join(got, on="transfer_id", how="inner")
            traced = int(
                joined.select(pl.min_horizontal("traced_fen", "amount_fen")).to_series().sum()
            )
        out["money_traced_share"] = traced / total if total else None
    if pred.frozen is not None:
        into = (
            chain.group_by("payee_account").agg(pl.col.amount_fen.sum().alias("received"))
            if chain.height
            else None
        )
        if into is None or not stolen:
            out["money_frozen_share"] = None
        else:
            f = (
                pred.frozen.group_by("account")
                .agg(pl.col.frozen_fen.sum())
                .join(into, left_on="account", right_on="payee_account", how="inner")
            )
            frozen = (
                int(f.select(pl.min_horizontal("frozen_fen", "received")).to_series().sum())
                if f.height
                else 0
            )
            out["money_frozen_share"] = min(1.0, frozen / stolen)
    return out


def score_accounts(truth: Truth, pred: Predictions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    black = truth.get("black_accounts")
    if pred.black_accounts is not None:
        p, r = _pr(pred.black_accounts, _col_set(black, "platform", "account_id"))
        out.update(black_account_precision=p, black_account_recall=r)
    if pred.promo_orders is not None:
        p, r = _pr(pred.promo_orders, _col_set(truth.get("promo_orders"), "order_id"))
        out.update(promo_abuse_precision=p, promo_abuse_recall=r)
    if pred.account_rings is not None:
        out["gang_purity"] = gang_purity(black, pred.account_rings)
    return out


def gang_purity(black: pl.DataFrame, rings: pl.DataFrame) -> float | None:
    """Black accounts that sit in a ring whose majority is their own gang, over all black
    accounts (0 when no ring is found; 1 when rings are exactly the gangs)."""
    if not black.height:
        return None
    if not rings.height:
        return 0.0
    j = rings.join(black.select("platform", "account_id", "gang_id"), on=["platform", "account_id"])
    if not j.height:
        return 0.0
    top = j.group_by(["ring", "gang_id"]).len().group_by("ring").agg(pl.col.len.max())
    return float(top["len"].sum()) / black.height


def score_leaks(truth: Truth, pred: Predictions) -> dict[str, Any]:
    """For each refund-scam victim, the rank of the true leaking site among the suspected ones;
    insider accesses found among the warehouses' logs."""
    out: dict[str, Any] = {}
    if pred.leak_sources is not None:
        victims = truth.get("victims")
        leaks = truth.get("leaks")
        if victims.height and leaks.height and "leak_id" in victims.columns:
            v = victims.filter(pl.col.leak_id.is_not_null()).join(
                leaks.select("leak_id", "site"), on="leak_id"
            )
            if v.height:
                ranked = v.join(pred.leak_sources, on=["phone", "site"], how="left")["rank"]
                out["source_top1_share"] = float((ranked == 1).fill_null(False).mean())
                # a true source the investigation did not list at all ranks after its last one
                unlisted = (
                    int(pred.leak_sources["rank"].max() or 0) + 1
                    if pred.leak_sources.height
                    else None
                )
                out["source_mean_rank"] = (
                    float(ranked.fill_null(unlisted).mean()) if unlisted else None
                )
    if pred.insider_accesses is not None:
        p, r = _pr(pred.insider_accesses, _col_set(truth.get("leak_accesses"), "access_id"))
        out.update(insider_precision=p, insider_recall=r)
    return out


def score_decide(truth: Truth, held: set[str]) -> dict[str, Any]:
    victim = _col_set(truth.get("payments"), "transfer_id")
    normal_total = int(truth.world.get("transfers", 0)) - len(victim)
    return {
        "victim_payments_held": len(held & victim) / len(victim) if victim else None,
        "normal_transfers_held": len(held - victim) / normal_total if normal_total > 0 else None,
    }


def score_cards(truth: Truth, predicted: set[tuple[str, str]]) -> dict[str, Any]:
    p, r = _pr(predicted, _col_set(truth.get("cards"), "card_type", "card_number"))
    return {"precision": p, "recall": r}


def score_sites(truth: Truth, pred: Predictions) -> dict[str, Any]:
    """Domains against the gangs' sites; apps against the fake and misused apps victims were
    told to install (a misused app everyone also uses counts as missed)."""
    out: dict[str, Any] = {}
    if pred.fraud_domains is not None:
        p, r = _pr(pred.fraud_domains, _col_set(truth.get("fraud_urls"), "domain"))
        out.update(domain_precision=p, domain_recall=r)
    if pred.fraud_apps is not None:
        p, r = _pr(pred.fraud_apps, _col_set(truth.get("fraud_apps"), "app_id"))
        out.update(app_precision=p, app_recall=r)
    return out


def score(truth: Truth, pred: Predictions) -> dict[str, dict[str, Any]]:
    """Every capability's metrics; null where the capability is not built."""
    out: dict[str, dict[str, Any]] = {
        c: {k: None for cc, k, *_ in METRICS if cc == c} for c in CAPABILITIES
    }
    if pred.warnings is not None:
        out["warning"].update(score_warning(truth, pred.warnings))
    if pred.fraud_numbers is not None:
        out["numbers"].update(score_numbers(truth, pred.fraud_numbers))
    out["funds"].update(score_funds(truth, pred))
    out["accounts"].update(score_accounts(truth, pred))
    out["leaks"].update(score_leaks(truth, pred))
    if pred.held_transfers is not None:
        out["decide"].update(score_decide(truth, pred.held_transfers))
    if pred.cards is not None:
        out["cards"].update(score_cards(truth, pred.cards))
    out["sites"].update(score_sites(truth, pred))
    if pred.tasks is not None:
        out["dissuasion"].update(score_dissuasion(truth, pred.tasks, pred.outcomes))
    return out


def truth_as_predictions(truth: Truth) -> Predictions:
    """A perfect fanzha: what the scorecard must rate 100% (tests use it)."""
    targets = truth.get("targets")
    black = truth.get("black_accounts")
    chain = truth.get("mule_transfers")
    victims = truth.get("victims")
    leaks = truth.get("leaks")
    leak_sources = pl.DataFrame(
        {"phone": [], "site": [], "rank": []},
        schema={"phone": pl.String, "site": pl.String, "rank": pl.Int64},
    )
    if victims.height and leaks.height and "leak_id" in victims.columns:
        leak_sources = (
            victims.filter(pl.col.leak_id.is_not_null())
            .join(leaks.select("leak_id", "site"), on="leak_id")
            .select("phone", "site", rank=pl.lit(1, pl.Int64))
        )
    frozen = (
        (
            chain.filter(pl.col.level == 1)
            .group_by("payee_account")
            .agg(pl.col.amount_fen.sum())
            .select(account="payee_account", frozen_fen="amount_fen")
        )
        if chain.height
        else pl.DataFrame(
            {"account": [], "frozen_fen": []}, schema={"account": pl.String, "frozen_fen": pl.Int64}
        )
    )
    return Predictions(
        warnings=targets.select("phone", warned_ts="first_contact_ts")
        if targets.height
        else pl.DataFrame(
            {"phone": [], "warned_ts": []}, schema={"phone": pl.String, "warned_ts": pl.Int64}
        ),
        fraud_numbers=_col_set(truth.get("fraud_numbers"), "number"),
        mules=_col_set(truth.get("mules"), "account"),
        traced=chain.select("transfer_id", traced_fen="amount_fen")
        if chain.height
        else pl.DataFrame(schema={"transfer_id": pl.String, "traced_fen": pl.Int64}),
        frozen=frozen,
        black_accounts=_col_set(black, "platform", "account_id"),
        account_rings=black.select("platform", "account_id", ring="gang_id")
        if black.height
        else pl.DataFrame(),
        promo_orders=_col_set(truth.get("promo_orders"), "order_id"),
        leak_sources=leak_sources,
        insider_accesses=_col_set(truth.get("leak_accesses"), "access_id"),
        held_transfers=_col_set(truth.get("payments"), "transfer_id"),
        cards=_col_set(truth.get("cards"), "card_type", "card_number"),
        fraud_domains=_col_set(truth.get("fraud_urls"), "domain"),
        fraud_apps=_col_set(truth.get("fraud_apps"), "app_id"),
        tasks=(
            targets.select(
                entity="phone",
                action=pl.lit("call"),
                status=pl.lit("sent"),
                created_ts="first_contact_ts",
                due_ts="first_contact_ts",
            )
            if targets.height
            else _EMPTY_TASKS
        ),
        outcomes=(
            targets.select(
                task_id="phone",
                outcome=pl.lit("dissuaded"),
                outcome_ts="first_contact_ts",
                due_ts="first_contact_ts",
            )
            if targets.height
            else None
        ),
    )


_EMPTY_TASKS = pl.DataFrame(
    schema={
        "entity": pl.String,
        "action": pl.String,
        "status": pl.String,
        "created_ts": pl.Int64,
        "due_ts": pl.Int64,
    }
)


def empty_predictions() -> Predictions:
    """A fanzha that finds nothing (every capability built, every answer empty)."""
    empty_w = pl.DataFrame(
        {"phone": [], "warned_ts": []}, schema={"phone": pl.String, "warned_ts": pl.Int64}
    )
    return Predictions(
        warnings=empty_w,
        fraud_numbers=set(),
        mules=set(),
        traced=pl.DataFrame(schema={"transfer_id": pl.String, "traced_fen": pl.Int64}),
        frozen=pl.DataFrame(
            {"account": [], "frozen_fen": []}, schema={"account": pl.String, "frozen_fen": pl.Int64}
        ),
        black_accounts=set(),
        account_rings=pl.DataFrame(
            {"platform": [], "account_id": [], "ring": []},
            schema={"platform": pl.String, "account_id": pl.String, "ring": pl.String},
        ),
        promo_orders=set(),
        leak_sources=pl.DataFrame(
            {"phone": [], "site": [], "rank": []},
            schema={"phone": pl.String, "site": pl.String, "rank": pl.Int64},
        ),
        insider_accesses=set(),
        held_transfers=set(),
        cards=set(),
        fraud_domains=set(),
        fraud_apps=set(),
        tasks=_EMPTY_TASKS,
    )
