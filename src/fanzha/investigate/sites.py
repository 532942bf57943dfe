"""New fraud sites: domains that warned or defrauded people reach shortly before they pay, and
that few other people reach (seed 003: the national centre "研判锁定涉诈网站及App").

Looks at `visit` events, the people fanzha warned (alerts on a phone) or the police confirmed as
victims (`case` events' victim phones), and `transfer` events (a payment to a person by the
visitor's phone). A domain is suspected when at least `min_people` marked people visited it
within `before_hours` before paying someone, and marked people are at least `min_share` of all
its visitors (a popular site every victim also reads has many other visitors). Domains already
confirmed or suspected in intelligence are left out: they are not new. The output is evidence for
an analyst; `as_reports` turns it into centre reports, which `fanzha.intel` folds into
"suspected" (the analyst confirms or clears with a police/centre report).
Cannot see: sites reached through apps or links fanzha never sees; young domains and look-alikes
by name (the fraud_url detector's look-alike check does those on links and visits as they come).
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


def find_new_sites(
    store: Store,
    min_people: int = 2,
    min_share: float = 0.5,
    before_hours: int = 24,
    exclude_known: bool = True,
) -> pl.DataFrame:
    """domain, marked_payers, visitors, marked_share, first_visit, examples (evidence);
    `exclude_known=False` also lists domains intelligence already holds (to measure it)."""
    empty = pl.DataFrame(schema={"domain": pl.String, "marked_payers": pl.UInt32})
    counts = store.count_events()
    if not counts.get("visit") or not counts.get("transfer"):
        return empty
    top = store.max_seq()
    visits = pl.from_arrow(store.read_events("visit", 0, top))
    visits = visits.select("phone", "domain", "ts").filter(pl.col.domain.is_not_null())
    pays = (
        pl.from_arrow(store.read_events("transfer", 0, top))
        .filter(
            pl.col.payer_phone.is_not_null()
            & (pl.col.payee_type.fill_null("person") == "person")
        )
        .select(phone="payer_phone", pay_ts="ts")
    )
    marked = marked_people(store)
    visitors = visits.group_by("domain").agg(pl.col.phone.n_unique().alias("visitors"),
                                             pl.col.ts.min().alias("first_visit"))
    v = visits.join(marked, on="phone").join(pays, on="phone").filter(
        (pl.col.pay_ts >= pl.col.ts)
        & (pl.col.pay_ts <= pl.col.ts + pl.duration(hours=before_hours))
    )
    if not v.height:
        return empty
    known = _known_domains(store) if exclude_known else []
    hits = (
        v.group_by("domain")
        .agg(pl.col.phone.n_unique().alias("marked_payers"),
             pl.col.phone.unique().sort().head(5).alias("examples"))
        .join(visitors, on="domain")
        .join(
            visits.join(marked, on="phone").group_by("domain").agg(
                pl.col.phone.n_unique().alias("marked_visitors")
            ),
            on="domain",
        )
        .with_columns(marked_share=pl.col.marked_visitors / pl.col.visitors)
        .filter(
            (pl.col.marked_payers >= min_people)
            & (pl.col.marked_share >= min_share)
            & ~pl.col.domain.is_in(known)
        )
        .sort("marked_payers", "domain", descending=[True, False])
    )
    return hits.with_columns(
        evidence=pl.format(
            "{} warned or defrauded people visited it within {} h before paying someone; "
            "{} of its {} visitors are warned or defrauded",
            "marked_payers", pl.lit(before_hours), "marked_visitors", "visitors",
        )
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
    """Centre reports (verdict report: suspected, for an analyst to confirm), one per domain."""
    from fanzha.events import KINDS

    k = KINDS["report"]
    schema = pa.schema([pa.field(f.name, f.arrow_type) for f in k.fields])
    rows = [
        {f.name: f.default for f in k.fields}
        | {"ts": now, "reporter_kind": "centre", "target_kind": "domain", "target_value": d,
           "verdict": "report", "reporter": source, "text": e, "source": source}
        for d, e in found.select("domain", "evidence").iter_rows()
    ] if found.height else []
    return pa.Table.from_pylist([{n: r.get(n) for n in schema.names} for r in rows],
                                schema=schema)
