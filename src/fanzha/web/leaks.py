"""Leak source (数据泄露溯源): the report `fanzha leaks source` writes, for the console.

The ranking is fanzha.investigate.leaks' own (shops, warehouses, systems, PCs and operator
accounts the victims' data passed, chosen by one-sided hypergeometric tests and sharing the
blame); this module only picks the fraud type (or a case's) and shapes the bar chart.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from fanzha.errors import FanzhaError
from fanzha.investigate.leaks import leak_source
from fanzha.store import Store

TOP_VICTIMS = 30  # victims listed with their orders and the reads of them


def fraud_types(s: Store) -> list[str]:
    """The fraud types of the log's police cases, most cases first."""
    cases = pl.from_arrow(s.read_events("case", 0, s.max_seq()))
    assert isinstance(cases, pl.DataFrame)
    if not cases.height:
        return []
    n = cases.group_by("fraud_type").agg(n=pl.col.case_id.n_unique())
    return n.sort(["n", "fraud_type"], descending=[True, False])["fraud_type"].to_list()


def fraud_type_of_case(s: Store, case_id: str) -> str | None:
    cases = pl.from_arrow(s.read_events("case", 0, s.max_seq()))
    assert isinstance(cases, pl.DataFrame)
    mine = cases.filter(pl.col.case_id == case_id) if cases.height else cases
    return mine["fraud_type"][0] if mine.height else None


def leak_report(s: Store, fraud_type: str, victims_only: bool) -> dict[str, Any] | None:
    """The CLI's report (to_dict), with at most TOP_VICTIMS victims' evidence; None when the log
    has no victims of this fraud type, or no orders and waybill reads to trace them through."""
    counts = s.count_events()
    if not counts.get("order") and not counts.get("waybill_access"):
        return None
    try:
        report = leak_source(s, fraud_type, victims_only=victims_only).to_dict()
    except FanzhaError:
        return None
    report["victims_total"] = len(report["victims"])
    report["victims"] = report["victims"][:TOP_VICTIMS]
    report.pop("victim_sites")  # every victim's ranked sites: the victims' own lists suffice
    report.pop("touchpoints")
    return report


def source_chart(report: dict[str, Any]) -> dict[str, Any]:
    """Bars per source: its share of the victims and of all customers (percent)."""
    n, big_n = report["victims_n"] or 1, report["customers_n"] or 1
    rows = report["sources"]
    return {
        "names": [f"{r['rank']}. {r['tp']}" for r in rows],
        "victims": [round(100 * r["victims_passed"] / n, 1) for r in rows],
        "customers": [
            None if r["customers_passed"] is None else round(100 * r["customers_passed"] / big_n, 1)
            for r in rows
        ],
        "blame": [round(r["blame"], 1) for r in rows],
    }
