"""New fraud sites and apps: domains and apps that warned or defrauded people reach shortly before
they pay, and that few other people reach (seed 003: the national centre "研判锁定涉诈网站及App").

Looks at `visit` and `app` events, the people fanzha warned (alerts on a phone) or the police
confirmed as victims (`case` events' victim phones), `transfer` events (a payment to a person by
the visitor's phone) and `domain` records (WHOIS / passive DNS / ICP: when a domain was born).
A domain is suspected when at least `min_people` marked people visited it within `before_hours`
before paying someone, and marked people are at least `min_share` of all its visitors (a popular
site every victim also reads has many other visitors); or when one marked person did so and the
domain was born within `young_days` of its first visit (fraud sites are registered days before
use) and nearly only marked people (`young_min_share`) visit it: young small sites are common,
and where many people are warned a young forum with eight visitors has four; or when its name
imitates a brand, bank or government site (fraud_url's look-alike check), however few visited it.
An app is suspected on the same evidence from installs, its share counted over everyone who
installs, opens or shares a screen with it (a meeting app everyone uses at work is not listed).
Domains and apps already confirmed or suspected in intelligence are left out: they are not new.
The output is evidence for an analyst; `as_reports` turns it into centre reports, which
`fanzha.intel` folds into "suspected" (the analyst confirms or clears with a police/centre report).
Cannot see: sites and apps reached outside the visit and app feeds; a domain without a `domain`
record has no age (judged on visitors and name alone); an old domain bought or hijacked by a gang.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa

from fanzha.store import Store


def marked_people(store: Store) -> pl.DataFrame:
    """phone, marked_ts: first warning alert or confirmed loss per person."""
    frames = []
    alerts = pl.from_arrow(store.alerts())
    if alerts.height:
        frames.append(
            alerts.filter(pl.col.entity_kind == "phone").select(
                phone="entity", marked_ts="first_ts"
            )
        )
    if store.count_events().get("case"):
        cases = pl.from_arrow(store.read_events("case", 0, store.max_seq()))
        frames.append(
            cases.filter(pl.col.victim_phone.is_not_null()).select(
                phone="victim_phone", marked_ts="ts"
            )
        )
    if not frames:
        return pl.DataFrame(schema={"phone": pl.String, "marked_ts": pl.Datetime("ms", "UTC")})
    return (
        pl.concat([f.cast({"marked_ts": pl.Datetime("ms", "UTC")}) for f in frames])
        .group_by("phone")
        .agg(pl.col.marked_ts.min())
    )


def _before_paying(store: Store, used: pl.DataFrame, key: str, before_hours: int) -> pl.DataFrame:
    """key, marked_payers, examples, users, first_use, marked_users, marked_share: how many marked
    people reached each `key` (a domain, an app) within `before_hours` before paying someone.
    `used` holds phone, key, ts (every use, by anyone)."""
    top = store.max_seq()
    pays = (
        pl.from_arrow(store.read_events("transfer", 0, top))
        .filter(
            pl.col.payer_phone.is_not_null() & (pl.col.payee_type.fill_null("person") == "person")
        )
        .select(phone="payer_phone", pay_ts="ts")
    )
    marked = marked_people(store)
    users = used.group_by(key).agg(
        pl.col.phone.n_unique().alias("users"), pl.col.ts.min().alias("first_use")
    )
    v = (
        used.join(marked, on="phone")
        .join(pays, on="phone")
        .filter(
            (pl.col.pay_ts >= pl.col.ts)
            & (pl.col.pay_ts <= pl.col.ts + pl.duration(hours=before_hours))
        )
    )
    return (
        users.join(
            v.group_by(key).agg(
                pl.col.phone.n_unique().alias("marked_payers"),
                pl.col.phone.unique().sort().head(5).alias("examples"),
            ),
            on=key,
            how="left",
        )
        .join(
            used.join(marked, on="phone")
            .group_by(key)
            .agg(pl.col.phone.n_unique().alias("marked_users")),
            on=key,
            how="left",
        )
        .with_columns(
            pl.col.marked_payers.fill_null(0),
            pl.col.marked_users.fill_null(0),
            pl.col.examples.fill_null([]),
        )
        .with_columns(marked_share=pl.col.marked_users / pl.col.users)
    )


def domain_ages(store: Store) -> pl.DataFrame:
    """domain, born: the earliest registration or first resolution any `domain` record gives."""
    if not store.count_events().get("domain"):
        return pl.DataFrame(schema={"domain": pl.String, "born": pl.Datetime("ms", "UTC")})
    d = pl.from_arrow(store.read_events("domain", 0, store.max_seq()))
    return (
        d.select("domain", born=pl.min_horizontal("registered_ts", "first_seen_ts"))
        .drop_nulls("born")
        .group_by("domain")
        .agg(pl.col.born.min())
    )


def find_new_sites(
    store: Store,
    min_people: int = 2,
    min_share: float = 0.5,
    before_hours: int = 24,
    exclude_known: bool = True,
    young_days: int = 90,
    young_min_share: float = 0.8,
) -> pl.DataFrame:
    """domain, marked_payers, visitors, marked_share, age_days, imitates, evidence, examples.

    A domain is listed when marked people visited it before paying (`min_people`, or one if
    the domain was registered or first seen within `young_days` of its first visit and they are
    `young_min_share` of its visitors: a young domain is stronger evidence) and they are
    `min_share` of its visitors; or when its name
    imitates a brand, bank or government site (fraud_url's look-alike check), whatever its
    visitors. `exclude_known=False` also lists domains intelligence already holds."""
    from fanzha.detectors.fraud_url import FraudUrl

    empty = pl.DataFrame(
        schema={
            "domain": pl.String,
            "marked_payers": pl.UInt32,
            "visitors": pl.UInt32,
            "evidence": pl.String,
        }
    )
    counts = store.count_events()
    if not counts.get("visit") or not counts.get("transfer"):
        return empty
    visits = (
        pl.from_arrow(store.read_events("visit", 0, store.max_seq()))
        .select("phone", "domain", "ts")
        .filter(pl.col.domain.is_not_null())
    )
    stats = _before_paying(store, visits, "domain", before_hours).rename(
        {"users": "visitors", "first_use": "first_visit", "marked_users": "marked_visitors"}
    )
    fu = FraudUrl()
    la = fu.lookalikes(stats["domain"].to_list()).filter(pl.col.la_score >= fu.settings.suspect_min)
    young = pl.col.age_days.is_not_null() & (pl.col.age_days <= young_days)
    known = _known_domains(store) if exclude_known else []
    hits = (
        stats.join(domain_ages(store), on="domain", how="left")
        .with_columns(age_days=(pl.col.first_visit - pl.col.born).dt.total_days())
        .join(
            la.select(
                domain="host",
                imitates=pl.when(pl.col.brand != "").then("brand"),
                lookalike="reason",
            ),
            on="domain",
            how="left",
        )
        .filter(
            ((pl.col.marked_payers >= min_people) & (pl.col.marked_share >= min_share))
            | (young & (pl.col.marked_payers >= 1) & (pl.col.marked_share >= young_min_share))
            | pl.col.lookalike.is_not_null()
        )
        .filter(~pl.col.domain.is_in(known))
        .sort("marked_payers", "domain", descending=[True, False])
    )
    parts = [
        pl.when(pl.col.marked_payers > 0).then(
            pl.format(
                "{} warned or defrauded people visited it within {} h before paying someone; "
                "{} of its {} visitors are warned or defrauded",
                "marked_payers",
                pl.lit(before_hours),
                "marked_visitors",
                "visitors",
            )
        ),
        pl.when(young).then(
            pl.format(
                "young domain: registered or first seen {} days before its first visit", "age_days"
            )
        ),
        pl.when(pl.col.imitates.is_not_null())
        .then(pl.format("look-alike of {}: {}", "imitates", "lookalike"))
        .when(pl.col.lookalike.is_not_null())
        .then(pl.format("suspicious name: {}", "lookalike")),
    ]
    return hits.with_columns(evidence=pl.concat_str(parts, separator="; ", ignore_nulls=True))


def find_new_apps(
    store: Store,
    min_people: int = 2,
    min_share: float = 0.5,
    before_hours: int = 24,
    exclude_known: bool = True,
) -> pl.DataFrame:
    """app_id, app_name, marked_payers, users, marked_share, evidence, examples: apps (fake
    "refund helpers", loan and "police safety" apps, remote-control tools) that at least
    `min_people` marked people installed within `before_hours` before paying someone, and that
    marked people are `min_share` of all users of (installs, opens, sessions): a meeting app
    everyone uses at work is not listed."""
    empty = pl.DataFrame(
        schema={
            "app_id": pl.String,
            "marked_payers": pl.UInt32,
            "users": pl.UInt32,
            "evidence": pl.String,
        }
    )
    counts = store.count_events()
    if not counts.get("app") or not counts.get("transfer"):
        return empty
    apps = pl.from_arrow(store.read_events("app", 0, store.max_seq()))
    names = (
        apps.filter(pl.col.app_name.is_not_null())
        .group_by("app_id")
        .agg(pl.col.app_name.mode().first())
    )
    used = apps.select("phone", "app_id", "ts")
    installs = apps.filter(pl.col.action == "install").select("phone", "app_id", "ts")
    stats = _before_paying(store, installs, "app_id", before_hours).drop(
        "users", "first_use", "marked_users", "marked_share"
    )
    everyone = _before_paying(store, used, "app_id", before_hours).select(
        "app_id", "users", "marked_users", "marked_share"
    )
    known = _known_apps(store) if exclude_known else []
    hits = (
        stats.join(everyone, on="app_id")
        .join(names, on="app_id", how="left")
        .filter(
            (pl.col.marked_payers >= min_people)
            & (pl.col.marked_share >= min_share)
            & ~pl.col.app_id.is_in(known)
        )
        .sort("marked_payers", "app_id", descending=[True, False])
    )
    return hits.with_columns(
        evidence=pl.format(
            "{} warned or defrauded people installed it within {} h before paying someone; "
            "{} of its {} users are warned or defrauded",
            "marked_payers",
            pl.lit(before_hours),
            "marked_users",
            "users",
        )
    )


def _known_apps(store: Store) -> list[str]:
    """Apps a report names (not cleared): not new."""
    if not store.count_events().get("report"):
        return []
    rep = pl.from_arrow(store.read_events("report", 0, store.max_seq()))
    return (
        rep.filter((pl.col.target_kind == "app") & (pl.col.verdict != "clear"))["target_value"]
        .unique()
        .to_list()
    )


def _known_domains(store: Store) -> list[str]:
    """Domains (or URLs on them) a detector suspected or someone reported, not cleared: not new."""
    from fanzha.ingest.validate import host_of

    values: list[str] = []
    for kind in ("domain", "url"):
        sig = pl.from_arrow(store.role_signals("suspect", kind))
        values += sig["entity"].to_list() if sig.height else []
    if store.count_events().get("report"):
        rep = pl.from_arrow(store.read_events("report", 0, store.max_seq()))
        values += rep.filter(
            pl.col.target_kind.is_in(["domain", "url"]) & (pl.col.verdict != "clear")
        )["target_value"].to_list()
    return sorted({host_of(v) for v in values if v})


def as_reports(found: pl.DataFrame, now: dt.datetime, source: str = "fanzha-sites") -> pa.Table:
    """Centre reports (verdict report: suspected, for an analyst to confirm), one per domain
    (or app, when `found` comes from `find_new_apps`)."""
    from fanzha.events import KINDS

    k = KINDS["report"]
    schema = pa.schema([pa.field(f.name, f.arrow_type) for f in k.fields])
    target = "app" if "app_id" in found.columns else "domain"
    key = "app_id" if target == "app" else "domain"
    rows = (
        [
            {f.name: f.default for f in k.fields}
            | {
                "ts": now,
                "reporter_kind": "centre",
                "target_kind": target,
                "target_value": d,
                "verdict": "report",
                "reporter": source,
                "text": e,
                "source": source,
            }
            for d, e in found.select(key, "evidence").iter_rows()
        ]
        if found.height
        else []
    )
    return pa.Table.from_pylist([{n: r.get(n) for n in schema.names} for r in rows], schema=schema)
