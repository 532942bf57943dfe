"""Policy versions and backtest on the session's small world: a rollback restores the alerts
exactly, a backtest writes nothing and gives the same JSON twice, and deliberately worse
candidates (home visits for everyone, no high tier) are caught by their numbers."""

from __future__ import annotations

import json
import shutil

import polars as pl
import pytest

from fanzha.decide.policy import default_policy_text
from fanzha.engine.runner import Engine
from fanzha.store import open_store

START, END = "2026-03-07", "2026-03-12"
CAPACITY = """
capacity:
  home_visit: {per_day: 10}
  call: {agents: 4, per_agent: 60}
  sms: {per_day: 20000}
"""
LIVE = default_policy_text() + CAPACITY
VICTIM_TIERS = (
    "CASE WHEN score >= 0.8 THEN 'high' WHEN score >= 0.5 THEN 'medium' "
    "WHEN score >= 0.3 THEN 'low' END"
)
# everyone with a victim-risk score of 0.2 or more gets a home visit
FLOOD = LIVE.replace(VICTIM_TIERS, "CASE WHEN score >= 0.2 THEN 'high' END")
# the high tier is gone: nobody is visited, no bank hold
NO_HIGH = LIVE.replace(
    VICTIM_TIERS, "CASE WHEN score >= 0.5 THEN 'medium' WHEN score >= 0.3 THEN 'low' END"
)


@pytest.fixture(scope="module")
def live_db(scored, tmp_path_factory):
    """A copy of the scored world's store with LIVE applied (the session's store stays as is)."""
    assert FLOOD != LIVE and NO_HIGH != LIVE
    db = str(tmp_path_factory.mktemp("policy") / "fanzha.duckdb")
    shutil.copy(scored["meta"]["db"], db)
    from fanzha.decide.versions import apply_policy

    with open_store(db) as s:
        apply_policy(s, LIVE, "lead", "capacities per channel")
    return db


def _snapshot(db: str) -> dict:
    with open_store(db, read_only=True) as s:
        return {
            "signals": s.signals(),
            "alerts": s.alerts(),
            "engine": s.load_engine(),
            "audit": s.audit_log(),
            "tasks": s.tasks(),
            "outcomes": s.outcomes(),
            "policies": s.policy_history(),
            "max_seq": s.max_seq(),
        }


def _backtest(cli, tmp_path, text: str) -> dict:
    f = tmp_path / "candidate.yaml"
    f.write_text(text)
    world = cli.world
    r = cli("policy", "backtest", str(f), "--from", START, "--to", END, "--truth", world, "--json")
    return json.loads(r.output)


@pytest.fixture
def db(live_db) -> str:
    """The `cli` fixture on the live copy."""
    return live_db


@pytest.fixture
def pcli(cli, world):
    cli.world = str(world)
    return cli


def test_a_backtest_is_deterministic_and_touches_nothing_live(pcli, live_db, tmp_path):
    before = _snapshot(live_db)
    first = _backtest(pcli, tmp_path, FLOOD)
    second = _backtest(pcli, tmp_path, FLOOD)
    assert first == second
    after = _snapshot(live_db)
    for k in before:
        assert after[k] == before[k], k
    assert first["live"]["alerts"] > 0 and first["events"] == before["max_seq"]
    assert (first["people"], first["people_from"]) == (3000, "truth")


def test_a_flood_of_home_visits_is_caught_by_its_numbers(pcli, tmp_path):
    r = _backtest(pcli, tmp_path, FLOOD)
    live, cand = r["live"], r["candidate"]
    hv_live, hv_cand = live["channel_load"]["home_visit"], cand["channel_load"]["home_visit"]
    assert hv_live["capacity_per_day"] == 10
    assert hv_cand["peak"] > hv_live["peak"]
    assert hv_cand["over_capacity"] > hv_live["over_capacity"]
    assert cand["alerts_per_tier"]["high"] > live["alerts_per_tier"]["high"]
    assert r["overlap"]["candidate_higher_tier"] > 0
    assert r["overlap"]["candidate_lower_tier"] == 0
    # and it warns nobody more in time: the same victims, the same recall
    assert cand["truth"]["recall"] == live["truth"]["recall"]


def test_dropping_the_high_tier_is_caught_by_its_numbers(pcli, tmp_path):
    r = _backtest(pcli, tmp_path, NO_HIGH)
    live, cand = r["live"], r["candidate"]
    assert live["truth"]["victims"] > 0
    assert live["truth"]["victims_high_tier"] > 0.5
    assert cand["truth"]["victims_high_tier"] == 0
    assert live["outcomes"]["case_victims_high_tier"] > 0
    assert cand["outcomes"]["case_victims_high_tier"] == 0
    assert cand["channel_load"].get("home_visit", {"peak": 0})["peak"] == 0
    assert r["overlap"]["high_live_not_high_candidate"] > 0


def test_home_visit_load_is_counted_per_police_station(pcli, tmp_path):
    per_area = LIVE.replace("home_visit: {per_day: 10}", "home_visit: {per_area: 1}")
    hv = _backtest(pcli, tmp_path, per_area)["candidate"]["channel_load"]["home_visit"]
    counties = hv["per_area"]
    # the simulated SIM registry names each holder's county: people are spread over real areas
    assert len(counties) > 1 and "unknown" not in counties
    assert all(len(c) == 6 and c.isdigit() for c in counties)
    for day, n in hv["per_day"].items():
        assert n == sum(days.get(day, 0) for days in counties.values())
    assert hv["over_area_capacity"] == sum(
        max(0, n - 1) for d in counties.values() for n in d.values()
    )
    # one station for the whole city: its area load is the city's daily load
    areas = "areas:\n" + "".join(f"  '{c}': 全市\n" for c in counties)
    one = _backtest(pcli, tmp_path, per_area + areas)["candidate"]["channel_load"]["home_visit"]
    assert one["per_area"] == {"全市": hv["per_day"]}
    assert one["over_area_capacity"] == sum(max(0, n - 1) for n in hv["per_day"].values())
    assert one["over_area_capacity"] > hv["over_area_capacity"]


def test_a_rollback_restores_the_alerts_exactly(live_db, tmp_path):
    from fanzha.decide.versions import apply_policy, rollback

    db = str(tmp_path / "fanzha.duckdb")
    shutil.copy(live_db, db)
    with open_store(db) as s:

        def replay():
            s.reset_engine()
            Engine(s).run()
            return s.alerts(), s.signals()

        v_live = s.active_policy()[0]
        alerts_a, signals_a = replay()
        assert set(alerts_a["policy_version"].to_pylist()) == {v_live}
        worse = apply_policy(s, FLOOD, "bo", "more home visits")
        alerts_b, _ = replay()
        assert set(alerts_b["policy_version"].to_pylist()) == {worse.version}
        assert alerts_b["tier"].to_pylist() != alerts_a["tier"].to_pylist()
        back = rollback(s, "lead", "home visits flooded the stations")
        assert back.version == v_live and s.active_policy()[0] == v_live
        alerts_c, signals_c = replay()
        assert alerts_c == alerts_a and signals_c == signals_a
        actions = [r["action"] for r in s.audit_log().to_pylist()]
        assert actions[-2:] == ["policy.apply", "policy.rollback"]
        assert [(r["version"], r["author"]) for r in s.policy_history()[-3:]] == [
            (v_live, "lead"),
            (worse.version, "bo"),
            (v_live, "lead"),
        ]


def test_a_shadow_policy_records_what_it_would_do_and_acts_on_nothing(live_db, tmp_path, world):
    from fanzha.decide import shadow

    db = str(tmp_path / "fanzha.duckdb")
    shutil.copy(live_db, db)
    with open_store(db) as s:
        top = s.max_seq()
        s.reset_engine()
        Engine(s, batch_size=top // 3).run()
        reference = s.alerts()
        s.reset_engine()
        Engine(s, batch_size=top // 3).run(max_batches=1)
        since = s.load_engine()[0]
        v = shadow.start(s, FLOOD, "bo", "try more home visits")
        assert s.shadow_policy() == (v, FLOOD, since)
        Engine(s, batch_size=top // 3).run()
        assert s.alerts() == reference  # the live path is unchanged
        shadowed = s.shadow_alerts().to_pylist()
        assert shadowed and {a["policy_version"] for a in shadowed} == {v}
        assert min(a["first_seq"] for a in shadowed) > since
        r = shadow.report(s)
        assert r["shadow"]["alerts_per_tier"]["high"] > r["live"]["alerts_per_tier"]["high"]
        assert r["shadow"]["actions"]["home_visit"] > r["live"]["actions"]["home_visit"]
        assert r["overlap"]["candidate_higher_tier"] > 0
        live_v = s.active_policy()[0]
        assert shadow.drop(s, "lead", "too many visits") == v
        assert s.shadow_policy() is None and s.shadow_alerts().num_rows == 0
        assert s.active_policy()[0] == live_v
        shadow.start(s, FLOOD, "bo", "again")
        assert shadow.promote(s, "lead", "stations agreed") == v
        assert s.active_policy()[0] == v and s.shadow_policy() is None
        actions = [a["action"] for a in s.audit_log().to_pylist()][-4:]
        assert actions == [
            "policy.shadow_start",
            "policy.shadow_drop",
            "policy.shadow_start",
            "policy.apply",
        ]


def test_retrain_learns_only_from_before_the_cut(live_db, pcli, tmp_path):
    import datetime as dt

    import polars as pl

    from fanzha.models.retrain import labels, split

    cut = dt.datetime(2026, 3, 11, tzinfo=dt.UTC)
    with open_store(live_db, read_only=True) as s:
        lab = labels(s)
        train, held = split(s, cut)
    assert train["ts"].max() < cut <= held["ts"].min()
    late = set(
        lab.filter(pl.col.label)
        .group_by("number")
        .agg(pl.col.ts.min())
        .filter(pl.col.ts >= cut)["number"]
        .to_list()
    )
    early = set(lab.filter(pl.col.label & (pl.col.ts < cut))["number"].to_list())
    assert early and late  # the world confirms numbers on both sides of the cut
    trained_fraud = set(train.filter(pl.col.label)["number"].to_list())
    assert trained_fraud <= early and not (trained_fraud & (late - early))
    held_fraud = set(held.filter(pl.col.label)["number"].to_list())
    assert held_fraud & late  # what was learned later is used to judge, not to train
    out = tmp_path / "m.json"
    r = json.loads(
        pcli(
            "model", "retrain", "-o", str(out), "--cut", cut.isoformat(), "--rounds", "10", "--json"
        ).output
    )
    assert out.is_file() and r["train"]["fraud_numbers"] == len(early & set(train["number"]))
    assert r["before"]["numbers"] == r["after"]["numbers"] == held["number"].n_unique()


@pytest.fixture(scope="module")
def outcomes_db(live_db, world, tmp_path_factory) -> str:
    """The live copy with what a simulated field team's calls and visits found."""
    import datetime as dt

    from fanzha.sim.outcomes import field_outcomes
    from fanzha.sim.truth import load_truth

    db = str(tmp_path_factory.mktemp("outcomes") / "fanzha.duckdb")
    shutil.copy(live_db, db)
    with open_store(db) as s:
        end = dt.datetime(2026, 3, 12, tzinfo=dt.UTC)
        assert field_outcomes(s, load_truth(world), end) > 0
        assert field_outcomes(s, load_truth(world), end) == 0  # the same outcomes: none added
        assert "dissuaded" in s.outcomes()["outcome"].to_pylist()
    return db


def _victim_retrain(db: str, cut, out) -> dict:
    from fanzha.models.retrain import retrain_victim_risk

    with open_store(db, read_only=True) as s:
        return retrain_victim_risk(s, cut, out)


def test_victim_risk_retrain_learns_only_what_was_known_before_the_cut(outcomes_db, tmp_path):
    import datetime as dt

    from fanzha.ingest import ingest_rows
    from fanzha.models.retrain import victim_signals

    cut = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
    first = tmp_path / "a.json"
    r = _victim_retrain(outcomes_db, cut, first)
    assert r["train"]["positive_signals"] > 0 and r["train"]["last_ts"] < cut.isoformat()
    assert r["held_out"]["first_ts"] >= cut.isoformat()
    assert r["before"]["model"] == "hand-weighted"
    assert r["before"]["people"] == r["after"]["people"] > 0
    for k in ("before", "after"):  # the same people, judged by the same labels
        assert r[k]["at_risk_people"] == r["before"]["at_risk_people"]
    again = _victim_retrain(outcomes_db, cut, tmp_path / "b.json")
    assert first.read_bytes() == (tmp_path / "b.json").read_bytes()  # deterministic
    assert again == {**r, "after": {**r["after"], "model": str(tmp_path / "b.json")}}

    with open_store(outcomes_db, read_only=True) as s:
        sigs = victim_signals(s)
    # people signalled before the cut: cases naming them, paid an hour after their signal
    early = sigs.filter(pl.col.ts < cut - dt.timedelta(hours=12)).sort("ts", "entity")
    people = early.unique("entity", keep="first", maintain_order=True).head(40)

    def with_cases(recorded: dt.datetime) -> dict:
        db = str(tmp_path / f"c{recorded.day}.duckdb")
        shutil.copy(outcomes_db, db)
        rows = [
            {
                "ts": recorded.isoformat(),
                "case_id": f"X{i}",
                "fraud_type": "fake_loan",
                "victim_phone": p,
                "paid_at": (t + dt.timedelta(hours=1)).isoformat(),
            }
            for i, (p, t) in enumerate(people.select("entity", "ts").iter_rows())
        ]
        with open_store(db) as s:
            ingest_rows(s, "case", rows)
        out = tmp_path / f"m{recorded.day}.json"
        _victim_retrain(db, cut, out)
        return json.loads(out.read_text())

    model = json.loads(first.read_text())
    # the same losses recorded by the police only after the cut: not known then, same model
    assert with_cases(cut + dt.timedelta(hours=1)) == model
    # recorded before the cut they are known, and the model changes (the test can fail)
    assert with_cases(cut - dt.timedelta(hours=1))["coef"] != model["coef"]


def test_the_retrain_command_for_victim_risk(outcomes_db, tmp_path):
    from typer.testing import CliRunner

    from fanzha.cli import app
    from fanzha.errors import FanzhaError

    def cli(*args: str) -> str:
        res = CliRunner().invoke(app, [*args, "--db", outcomes_db], catch_exceptions=False)
        assert res.exit_code == 0, res.output
        return res.output

    out = tmp_path / "vr.json"
    args = ("model", "retrain", "--cut", "2026-03-10", "-o", str(out))
    r = json.loads(cli(*args, "--model", "victim-risk", "--json"))
    assert r["model"] == "victim-risk" and out.is_file()
    assert r["before"]["people"] == r["after"]["people"]
    text = cli(*args, "--model", "victim-risk")
    assert "hand-weighted" in text and "AUC" in text
    with pytest.raises(FanzhaError, match="must be numbers or victim-risk"):
        cli(*args, "--model", "people")
