"""fraud_number on the small simulated city: the numbers it suspects are the gang's, nobody is
falsely warned, and a model can be trained from a world's call events."""

from __future__ import annotations

import json

from fanzha.detectors.fraud_number import FraudNumber, FraudNumberSettings
from fanzha.sim.truth import load_truth


def test_suspected_numbers_are_fraud_numbers(scored):
    # measured on this world (3,000 people, 5 days, seed 11): precision 1.0, recall 10/12 (the
    # two missed numbers made fewer than 3 outgoing contacts)
    assert scored["numbers"]["precision"] == 1.0
    assert scored["numbers"]["recall"] >= 0.8
    assert scored["warning"]["false_warnings_per_10k"] == 0.0


def test_a_model_trained_from_a_world_runs_in_the_detector(world, scored, cli, tmp_path):
    out = tmp_path / "m.json"
    rep = json.loads(cli("model", "train-numbers", "--from-world", str(world), "--rounds", "20",
                         "-o", str(out), "--json").output)
    truth = load_truth(world)
    assert rep["source"] == "events" and rep["world"]["seed"] == truth.world["seed"]
    assert 0 < rep["fraud_numbers"] <= truth.get("fraud_numbers").height
    assert rep["cv_macro_f1"] > 0.9
    det = FraudNumber(FraudNumberSettings(model=str(out)))
    assert det.threshold == rep["threshold"]
    bad = cli("model", "train-numbers", "--from-world", str(world), "--holdout", "0.2", "-o",
              str(tmp_path / "x.json"), ok=False)
    assert bad.exit_code != 0 and "--holdout" in bad.output
