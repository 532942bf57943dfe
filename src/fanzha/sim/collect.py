"""What fanzha found, read from the store, as the scorecard's `Predictions`.

One collector per capability that exists. Warnings: an alert on a phone whose first signal comes
from a warning detector (victim_risk, which every exposure detector feeds through the policy;
the exposure detectors themselves, should a policy alert on them directly) means that person is
warned at the alert's first event time. Fraud numbers: the numbers `fraud_number` suspected (its
`role: suspect` signals). Dissuasion: the tasks `fanzha dispatch` made from the alerts, and the
outcomes recorded against them. Funds (fanzha.investigate.funds): each case traced as of its
report, what a freeze then could hold, batch mule labels. Accounts: the freeze / cancel list
entries of the rings investigation (`ref` "rings:<ring>"): accounts are black accounts in that
ring, orders are promotion abuse. Cards: every card `fanzha cards act` lists. Sites: the domains and apps
`fanzha sites find` lists. Decide: the transfers the
transfer decider holds, replayed as of just before each. Leaks: the
leak-source investigation ranks the sites of each refund-scam victim; the access watch's alerts
name the insider accesses. Every other capability
stays None (n/a) until its investigation lands and adds a collector here.
"""

from __future__ import annotations

import polars as pl

from fanzha.sim.score import Predictions
from fanzha.store import Store

WARNING_DETECTORS = ("victim_risk", "fraud_contact", "fraud_number", "fraud_url", "fraud_app")
NUMBER_DETECTORS = ("fraud_number",)


def collect_warnings(store: Store, detectors: tuple[str, ...] = WARNING_DETECTORS) -> pl.DataFrame:
    """phone -> first time a warning alert about that person exists (UTC ms)."""
    alerts = pl.from_arrow(store.alerts())
    signals = pl.from_arrow(store.signals())
    empty = pl.DataFrame(
        {"phone": [], "warned_ts": []}, schema={"phone": pl.String, "warned_ts": pl.Int64}
    )
    if not alerts.height or not signals.height:
        return empty
    first = alerts.filter(pl.col.entity_kind == "phone").with_columns(
        signal_id=pl.col.signal_ids.list.first()
    )
    by = signals.select("signal_id", "detector")
    warned = first.join(by, on="signal_id").filter(pl.col.detector.is_in(list(detectors)))
    if not warned.height:
        return empty
    return (
        warned.group_by("entity")
        .agg(pl.col.first_ts.min())
        .select(phone="entity", warned_ts=pl.col.first_ts.dt.epoch("ms"))
        .sort("phone")
    )


def collect_dissuasion(store: Store) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(tasks, outcomes) with times as UTC ms."""
    tasks = pl.from_arrow(store.tasks()).select(
        "entity",
        "action",
        "status",
        pl.col.created_ts.dt.epoch("ms"),
        pl.col.due_ts.dt.epoch("ms"),
        "task_id",
    )
    due = tasks.select("task_id", "due_ts")
    outcomes = (
        pl.from_arrow(store.outcomes())
        .select("task_id", "outcome", pl.col.outcome_ts.dt.epoch("ms"))
        .join(due, on="task_id", how="left")
    )
    return tasks, outcomes


LEAK_FRAUD_TYPES = ("fake_customer_service",)  # the scams run on stolen waybills (report 004)
INSIDER_RULE_SCORE = 0.85  # as the policy's access-insider rule


def collect_leak_sources(
    store: Store, fraud_types: tuple[str, ...] = LEAK_FRAUD_TYPES
) -> pl.DataFrame:
    """phone (a victim's), site, rank (1 = most likely source) from `fanzha leaks source`."""
    from fanzha.errors import FanzhaError
    from fanzha.investigate.leaks import leak_source

    frames = []
    for ft in fraud_types:
        try:
            frames.append(leak_source(store, ft).victim_sites.select("phone", "site", "rank"))
        except FanzhaError:  # no cases of that type in this world
            continue
    if not frames:
        return pl.DataFrame(
            {"phone": [], "site": [], "rank": []},
            schema={"phone": pl.String, "site": pl.String, "rank": pl.Int64},
        )
    return pl.concat(frames).sort("phone", "rank").unique(["phone", "site"], keep="first")


def collect_insider_accesses(store: Store) -> set[str]:
    """Access ids an analyst is pointed at: the reads `access_rules` alerts on (score >= the
    policy's insider threshold, with the earlier reads of a run it names), and for each
    account-day `access_anomaly` put within its site's budget, the accesses of that day any
    access rule marked (or, if none did, every read of that day)."""
    sig = pl.from_arrow(store.signals())
    acc = pl.from_arrow(store.read_events("waybill_access", 0, store.max_seq()))
    if not sig.height or not acc.height:
        return set()
    rules = sig.filter(
        (pl.col.detector == "access_rules") & (pl.col.score >= INSIDER_RULE_SCORE)
    ).select(event_id=pl.col.event_ids.list.explode(keep_nulls=False))
    ids = set(acc.join(rules, on="event_id")["access_id"].drop_nulls().to_list())
    days = sig.filter(
        (pl.col.detector == "access_anomaly")
        & (pl.col.details.str.json_path_match("$.within_budget") == "true")
    ).select(
        site=pl.col.details.str.json_path_match("$.site"),
        operator_account=pl.col.entity,
        day=pl.col.details.str.json_path_match("$.local_day").cast(pl.Int64),
    )
    if days.height:
        from fanzha.detectors.access_anomaly import AccessAnomalySettings
        from fanzha.detectors.access_rules import TOUCH

        off = int(AccessAnomalySettings().utc_offset_hours * 3_600_000)
        marked = sig.filter(pl.col.detector == "access_rules").select(
            event_id=pl.col.event_ids.list.first(), marked=pl.lit(True)
        )
        local = (
            acc.with_columns(day=(pl.col.ts.dt.epoch("ms") + off) // 86_400_000)
            .join(days, on=["site", "operator_account", "day"])
            .join(marked, on="event_id", how="left")
            .with_columns(any_marked=pl.col.marked.any().over("site", "operator_account", "day"))
        )
        pick = pl.when(pl.col.any_marked).then(pl.col.marked.fill_null(False))
        ids |= set(
            local.filter(pick.otherwise(pl.col.action.is_in(TOUCH)))["access_id"]
            .drop_nulls()
            .to_list()
        )
    return ids


def _ring_entries(store: Store, entity_kind: str) -> pl.DataFrame:
    from fanzha.investigate.rings import REF

    lists = pl.from_arrow(store.list_entries())
    if not lists.height:
        return pl.DataFrame(schema={"entity": pl.String, "ring": pl.String})
    return (
        lists.filter(
            pl.col.list_name.is_in(["freeze", "cancel"])
            & (pl.col.entity_kind == entity_kind)
            & pl.col.ref.str.starts_with(REF)
        )
        .select("entity", ring=pl.col.ref.str.strip_prefix(REF))
        .unique("entity", keep="first")
        .sort("entity")
    )


def collect_account_rings(store: Store) -> pl.DataFrame:
    """platform, account_id, ring of every account on a freeze or cancel list of the rings
    investigation (entity "platform:account_id")."""
    e = _ring_entries(store, "account")
    parts = e["entity"].str.split_exact(":", 1).struct.rename_fields(["platform", "account_id"])
    return e.with_columns(parts.alias("p")).unnest("p").select("platform", "account_id", "ring")


def collect_black_accounts(store: Store) -> set[tuple[str, str]]:
    r = collect_account_rings(store)
    return set(zip(r["platform"].to_list(), r["account_id"].to_list(), strict=True))


def collect_promo_orders(store: Store) -> set[str]:
    return set(_ring_entries(store, "order")["entity"].to_list())


def collect_predictions(store: Store) -> Predictions:
    from fanzha.investigate.funds import scorecard_predictions

    tasks, outcomes = collect_dissuasion(store)
    return Predictions(
        warnings=collect_warnings(store),
        fraud_numbers=collect_numbers(store),
        tasks=tasks,
        outcomes=outcomes,
        black_accounts=collect_black_accounts(store),
        account_rings=collect_account_rings(store),
        promo_orders=collect_promo_orders(store),
        leak_sources=collect_leak_sources(store),
        insider_accesses=collect_insider_accesses(store),
        cards=collect_cards(store),
        fraud_domains=collect_fraud_domains(store),
        fraud_apps=collect_fraud_apps(store),
        held_transfers=collect_held_transfers(store),
        **scorecard_predictions(store),
    )


def collect_held_transfers(store: Store) -> set[str]:
    """Transfer ids the transfer decider holds when every transfer of the log is replayed
    through it as of just before the transfer (`fanzha.decide.transfer.replay`)."""
    from fanzha.decide.transfer import HOLD, replay

    return {tid for tid, d in replay(store).items() if d == HOLD}


def collect_cards(store: Store) -> set[tuple[str, str]]:
    """(card_type, card_number) of every card `fanzha cards act` lists: card_risk's signals and
    the batch rules (mule scores, branches whose cards turn bad)."""
    from fanzha.investigate.cards import flagged_cards

    f = flagged_cards(store)
    return set(f.select("card_type", "card_number").iter_rows()) if f.height else set()


def collect_fraud_domains(store: Store) -> set[str]:
    """The domains `fanzha sites find` lists, including those intelligence already held (the
    engine's fraud_url suspects them as they come: still found)."""
    from fanzha.investigate.sites import find_new_sites

    found = find_new_sites(store, exclude_known=False)
    return set(found["domain"].to_list())


def collect_fraud_apps(store: Store) -> set[str]:
    """The apps `fanzha sites find --apps` lists."""
    from fanzha.investigate.sites import find_new_apps

    found = find_new_apps(store, exclude_known=False)
    return set(found["app_id"].to_list())


def collect_numbers(store: Store, detectors: tuple[str, ...] = NUMBER_DETECTORS) -> set[str]:
    """The phone numbers a detector suspected of being fraud numbers (role = suspect)."""
    signals = pl.from_arrow(store.signals())
    if not signals.height:
        return set()
    suspects = signals.filter(
        pl.col.detector.is_in(list(detectors))
        & (pl.col.entity_kind == "phone")
        & (pl.col.details.str.json_path_match("$.role") == "suspect")
    )
    return set(suspects["entity"].to_list())
