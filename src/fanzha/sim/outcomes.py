"""The simulated field team: what the calls and home visits of a dispatch found out.

`fanzha score` dispatches warnings but nobody answers them, so a simulated world has no
dissuasion outcomes to learn from (`fanzha model retrain --model victim-risk`). This plays the
officers and agents: for every sent call or home visit, at its SLA deadline (event time), the
person is unreachable for a fixed share of tasks (chosen by a hash of the task id: the same world
gives the same outcomes); otherwise a person who had already paid the fraudster says so
('already_paid'), one who was engaging with a fraudster is talked out of it ('dissuaded'), and
everyone else records nothing (not contacted by fraud, or hung up on it: no loss either way).
Uses the world's truth, as a real team learns it from the person; nothing else reads the truth.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa

from fanzha.hashing import sha256_32_one
from fanzha.sim.truth import Truth
from fanzha.store import Store
from fanzha.store.tables import OUTCOME_SCHEMA

HUMAN_ACTIONS = ("call", "home_visit")
UNREACHABLE_SHARE = 0.15  # assumption: one call or visit in seven finds nobody


def field_outcomes(store: Store, truth: Truth, recorded_at: dt.datetime) -> int:
    """Record the outcomes of every sent call and home visit; returns how many were added."""
    tasks = pl.from_arrow(store.tasks("sent"))
    tasks = tasks.filter(pl.col.action.is_in(HUMAN_ACTIONS))
    if tasks.height == 0:
        return 0
    targets = truth.get("targets").select("phone", "engaged")
    victims = truth.get("victims").select("phone", paid_ms="first_payment_ts")
    at = pl.coalesce("due_ts", "created_ts")
    t = (
        tasks.select("task_id", "alert_id", person="entity", at=at)
        .join(targets, left_on="person", right_on="phone", how="left")
        .join(victims, left_on="person", right_on="phone", how="left")
        .with_columns(
            reach=pl.col.task_id.map_elements(
                lambda s: int(sha256_32_one(f"field\x1f{s}")[:8], 16) / 0xFFFFFFFF,
                return_dtype=pl.Float64,
            )
        )
    )
    outcome = (
        pl.when(pl.col.reach < UNREACHABLE_SHARE)
        .then(pl.lit("unreachable"))
        .when(pl.col.paid_ms.is_not_null() & (pl.col.paid_ms <= pl.col.at.dt.epoch("ms")))
        .then(pl.lit("already_paid"))
        .when(pl.col.engaged.fill_null(False) | pl.col.paid_ms.is_not_null())
        .then(pl.lit("dissuaded"))
    )
    rows = (
        t.with_columns(outcome=outcome)
        .filter(pl.col.outcome.is_not_null())
        .sort("task_id")
        .to_dicts()
    )
    table = pa.Table.from_pylist(
        [
            {
                "outcome_id": sha256_32_one(
                    f"{r['task_id']}\x1f{r['outcome']}\x1f{r['at'].isoformat()}"
                ),
                "task_id": r["task_id"],
                "alert_id": r["alert_id"],
                "outcome": r["outcome"],
                "outcome_ts": r["at"],
                "by": "sim-field-team",
                "note": None,
                "recorded_at": recorded_at,
            }
            for r in rows
        ],
        schema=OUTCOME_SCHEMA,
    )
    return store.add_outcomes(table) if table.num_rows else 0
