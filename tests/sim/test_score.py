"""The scorecard: 100% on the truth, about 0 on nothing, null where a capability is not built,
and the score.json keys outside tools read."""

from __future__ import annotations

import json

import polars as pl
import pytest

from fanzha.sim.score import (
    CAPABILITIES,
    DISSUASION_ACTIONS,
    METRICS,
    Predictions,
    empty_predictions,
    gang_purity,
    score,
    score_dissuasion,
    score_warning,
    truth_as_predictions,
)
from fanzha.sim.truth import Truth, load_truth

CONTRACT = [  # keys that tools outside fanzha read (DESIGN.md)
    "warning.victims_warned_before_payment",
    "warning.median_seconds_to_warning",
    "warning.false_warnings_per_10k",
    "numbers.precision",
    "numbers.recall",
    "funds.money_traced_share",
    "funds.money_frozen_share",
    "funds.mule_precision",
    "funds.mule_recall",
    "accounts.black_account_precision",
    "accounts.black_account_recall",
    "accounts.promo_abuse_precision",
    "accounts.promo_abuse_recall",
    "leaks.source_top1_share",
    "leaks.insider_recall",
    "decide.victim_payments_held",
    "decide.normal_transfers_held",
    "cards.precision",
    "cards.recall",
]
LOWER_IS_BETTER = {
    "median_seconds_to_warning",
    "false_warnings_per_10k",
    "normal_transfers_held",
    "source_mean_rank",
}


def _value(result: dict, dotted: str):
    cap, key = dotted.split(".")
    return result[cap][key]


def test_fed_the_truth_the_scorecard_gives_100_percent(world):
    truth = load_truth(world)
    r = score(truth, truth_as_predictions(truth))
    for cap, key, _, unit in METRICS:
        v = r[cap][key]
        assert v is not None, f"{cap}.{key}"
        if unit == "count":  # counts of tasks and outcomes: not rates
            continue
        if key in LOWER_IS_BETTER:
            assert v == (1.0 if key == "source_mean_rank" else 0.0), f"{cap}.{key} = {v}"
        else:
            assert v == pytest.approx(1.0), f"{cap}.{key} = {v}"


def test_fed_nothing_the_scorecard_gives_about_0(world):
    truth = load_truth(world)
    r = score(truth, empty_predictions())
    for cap, key, _, _unit in METRICS:
        v = r[cap][key]
        if key in ("median_seconds_to_warning", "source_mean_rank", "within_sla_share"):
            assert v is None  # no warning, no ranking, no outcome: no time, no rank, no share
        elif key in LOWER_IS_BETTER:
            assert v == 0.0
        else:
            assert v == 0.0, f"{cap}.{key} = {v}"


def test_capabilities_not_built_are_null_and_every_contract_key_exists(world):
    truth = load_truth(world)
    r = score(truth, Predictions(warnings=truth_as_predictions(truth).warnings))
    assert set(r) == set(CAPABILITIES)
    for dotted in CONTRACT:
        cap, key = dotted.split(".")
        assert key in r[cap], dotted
        if cap != "warning":
            assert r[cap][key] is None, dotted
    assert r["warning"]["victims_warned_before_payment"] == 1.0
    assert json.loads(json.dumps(r)) == r


def _tiny_truth() -> Truth:
    h = 3_600_000
    return Truth(
        {"people": 10_000, "transfers": 100},
        {
            "victims": pl.DataFrame(
                {
                    "phone": ["a", "b", "c"],
                    "first_contact_ts": [0, 0, 0],
                    "first_payment_ts": [2 * h, 2 * h, 2 * h],
                }
            ),
            "targets": pl.DataFrame(
                {"phone": ["a", "b", "c", "d"], "first_contact_ts": [0, 0, 0, 0]}
            ),
        },
    )


def test_a_warning_counts_only_before_the_payment_and_warnings_to_others_are_false():
    h = 3_600_000
    warned = pl.DataFrame({"phone": ["a", "b", "x", "y"], "warned_ts": [h, 3 * h, 0, 0]})
    r = score_warning(_tiny_truth(), warned)
    assert r["victims_warned_before_payment"] == pytest.approx(1 / 3)
    assert r["median_seconds_to_warning"] == pytest.approx(2 * 3600)  # median of 1 h and 3 h
    assert r["false_warnings_per_10k"] == pytest.approx(2.0)
    assert r["targets_warned_share"] == pytest.approx(2 / 4)


def test_gang_purity_counts_black_accounts_in_rings_of_their_own_gang():
    black = pl.DataFrame(
        {
            "platform": ["p"] * 4,
            "account_id": ["1", "2", "3", "4"],
            "gang_id": ["g1", "g1", "g2", "g2"],
        }
    )
    mixed = pl.DataFrame(
        {
            "platform": ["p"] * 5,
            "account_id": ["1", "2", "3", "4", "99"],
            "ring": ["r", "r", "r", "s", "s"],
        }
    )
    assert gang_purity(black, mixed) == pytest.approx((2 + 1) / 4)
    assert gang_purity(black, black.rename({"gang_id": "ring"})) == 1.0


def test_score_json_written_by_fanzha_score_keeps_the_contract(world, scored):
    on_disk = json.loads((world / "score.json").read_text())
    for dotted in CONTRACT:
        assert dotted.split(".")[1] in on_disk[dotted.split(".")[0]]
    w = on_disk["warning"]
    assert 0 <= w["victims_warned_before_payment"] <= 1 and w["false_warnings_per_10k"] >= 0
    built = set(on_disk["meta"]["capabilities_built"])
    assert built == {
        "warning",
        "numbers",
        "dissuasion",
        "funds",
        "accounts",
        "leaks",
        "decide",
        "cards",
        "sites",
    }
    f = on_disk["funds"]
    assert all(
        0 <= f[k] <= 1
        for k in ("money_traced_share", "money_frozen_share", "mule_precision", "mule_recall")
        if f[k] is not None
    )
    assert all(0 <= v <= 1 for v in on_disk["accounts"].values())
    d = on_disk["dissuasion"]
    assert d["tasks"] == sum(d[f"tasks_{a}"] for a in DISSUASION_ACTIONS) > 0
    assert d["within_sla_share"] is None and d["outcomes_dissuaded"] == 0  # nobody reported
    assert sum(1 for _ in (world / "dispatch").glob("*.jsonl")) >= 1
    assert 0 <= on_disk["numbers"]["precision"] <= 1 and 0 <= on_disk["numbers"]["recall"] <= 1
    html = (world / "report.html").read_text()
    assert "fanzha scorecard" in html and html.count("data:image/png;base64,") >= 3


def test_dissuasion_counts_tasks_and_judges_deadlines_against_payments_and_outcomes():
    h = 3_600_000
    tasks = pl.DataFrame(
        {
            "entity": ["a", "a", "b", "c", "x"],
            "action": ["sms", "call", "call", "home_visit", "sms"],
            "status": ["sent", "sent", "sent", "sent", "skipped"],
            "created_ts": [0, 0, h, 3 * h, 0],
            "due_ts": [h, h, 3 * h, 4 * h, h],
        }
    )
    outcomes = pl.DataFrame(
        {
            "task_id": ["t1", "t2"],
            "outcome": ["dissuaded", "already_paid"],
            "outcome_ts": [h, 5 * h],
            "due_ts": [h, 4 * h],
        }
    )
    r = score_dissuasion(_tiny_truth(), tasks, outcomes)
    assert r["tasks"] == 4 and r["tasks_sms"] == 1 and r["tasks_call"] == 2
    assert r["tasks_family_notice"] == 0
    # victims a, b, c pay at 2 h: only a's first task is due before
    assert r["victims_task_due_before_payment"] == pytest.approx(1 / 3)
    assert r["within_sla_share"] == pytest.approx(1 / 2)
    assert r["outcomes_dissuaded"] == 1 and r["outcomes_already_paid"] == 1
