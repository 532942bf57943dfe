"""无诈社区: per community, how many residents were warned, how many became victims, and how
often a warning dissuaded them — so a county sees where its work is needed.

A community here is the county of the resident ID a phone card is registered to (GB/T 2260 code,
the ID's first six digits): the events carry no finer address. A warning is an alert on a phone;
a dissuasion is an alert closed as `dissuaded` or contacted with `reached_dissuaded`; the rate is
dissuasions over the warnings someone worked (contacted or closed). Counts only, no personal data.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from fanzha.api.routers.alerts import derived
from fanzha.ids.resident_id import region_name
from fanzha.store import Store


def _frame(t: Any) -> pl.DataFrame:
    df = pl.from_arrow(t)
    assert isinstance(df, pl.DataFrame)
    return df


def community_stats(s: Store) -> list[dict[str, Any]]:
    """One row per county with residents: residents (IDs with a phone card), warned (people with
    an alert on their phone), warnings, worked, dissuaded, dissuasion_rate, victims, cases,
    coverage (warned / residents); most victims first."""
    cards = _frame(s.find_events("card", card_type="sim"))
    if cards.height == 0:
        return []
    holders = (
        cards.filter(pl.col.id_number.is_not_null() & (pl.col.id_number.str.len_chars() == 18))
        .select(phone="card_number", id_number="id_number", region=pl.col.id_number.str.slice(0, 6))
        .unique(["phone", "id_number"])
    )
    residents = holders.group_by("region").agg(residents=pl.col.id_number.n_unique())
    a = derived(s.alerts(), s.alert_actions()).filter(pl.col.entity_kind == "phone")
    warned = (
        a.join(holders, left_on="entity", right_on="phone")
        .group_by("region")
        .agg(
            warned=pl.col.id_number.n_unique(),
            warnings=pl.len(),
            worked=(pl.col.outcome.is_not_null() | (pl.col.status == "closed")).sum(),
            dissuaded=(
                (pl.col.resolution == "dissuaded") | (pl.col.outcome == "reached_dissuaded")
            ).sum(),
        )
    )
    case_events = _frame(s.find_events("case"))
    victims = (
        case_events.join(holders, left_on="victim_phone", right_on="phone")
        .group_by("region")
        .agg(victims=pl.col.id_number.n_unique(), cases=pl.col.case_id.n_unique())
        if case_events.height
        else pl.DataFrame(schema={"region": pl.String, "victims": pl.UInt32, "cases": pl.UInt32})
    )
    out = (
        residents.join(warned, on="region", how="left")
        .join(victims, on="region", how="left")
        .fill_null(0)
        .with_columns(
            dissuasion_rate=pl.when(pl.col.worked > 0).then(pl.col.dissuaded / pl.col.worked),
            coverage=pl.col.warned / pl.col.residents,
        )
        .sort(["victims", "warnings", "region"], descending=[True, True, False])
    )
    return [{**r, "name": region_name(r["region"]) or r["region"]} for r in out.to_dicts()]
