"""Every detector passes the shared conformance check; the check catches broken detectors."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import polars as pl
import pytest

from cards import card_log
from fanzha.detectors import DEFAULT_DETECTORS, FraudApp, FraudContact, FraudUrl
from fanzha.detectors.access_anomaly import AccessAnomaly
from fanzha.detectors.access_rules import AccessRules
from fanzha.detectors.card_risk import CardRisk, CardRiskSettings
from fanzha.detectors.text_fraud import TextFraud, TextFraudSettings
from fanzha.engine.check import check_detector, run_detector
from fanzha.engine.protocol import empty_signals, signals_from, signals_key
from fanzha.testing import as_log
from scenario import (
    city_log,
    farm_city,
    money,
    registrations_log,
    warning_log,
    with_upstream,
)
from text_corpus import text_log, tiny_text_model
from warehouse import warehouse_log


def _with_rules(log):
    """The log with access_rules' signals, which access_anomaly reads."""
    top = sum(t.num_rows for t in log.values())
    up, _ = run_detector(AccessRules(), log, [top])
    return {**log, signals_key("access_rules"): up}


# The event set each detector is checked on; a new detector must add its own here.
SCENARIOS = {
    "fraud_contact": lambda: city_log(seed=1, calls=400, sms=120),
    "text_fraud": lambda: text_log(seed=1, n=150),
    "mule_account": lambda: as_log(money(seed=1)),
    "access_rules": lambda: warehouse_log(seed=1, days=3, per_day=20),
    "access_anomaly": lambda: _with_rules(warehouse_log(seed=2, days=6, per_day=12)),
    # 437 events: above the one-event-batch limit (that check runs in test_registration_risk)
    "registration_risk": lambda: registrations_log(ring=60),
    "fraud_url": lambda: warning_log(seed=2, calls=200, visits=150, apps=0, transfers=0),
    "fraud_app": lambda: warning_log(seed=3, calls=50, visits=0, apps=150, transfers=0),
    "victim_risk": lambda: with_upstream(
        warning_log(seed=4, calls=300, visits=120, apps=120, transfers=150),
        [FraudContact(), FraudUrl(), FraudApp()],
    ),
    "fraud_number": lambda: as_log(farm_city(seed=1, people=40, chatter=120, courier_calls=40)),
    "card_risk": lambda: card_log(seed=1),
}
# Detectors that need more than their default settings to do anything (a model file, ...).
BUILDERS = {
    "card_risk": lambda: CardRisk(CardRiskSettings(bad_inputs=("fraud_number", "mule_account"))),
    "text_fraud": lambda: TextFraud(TextFraudSettings(model=tiny_text_model())),
}


def test_every_registered_detector_has_a_scenario():
    assert {cls.name for cls in DEFAULT_DETECTORS} == set(SCENARIOS)


@pytest.mark.parametrize("cls", DEFAULT_DETECTORS, ids=lambda c: c.name)
def test_detector_conformance(cls):
    check_detector(BUILDERS.get(cls.name, cls)(), SCENARIOS[cls.name]())


@dataclasses.dataclass(frozen=True)
class CountsCalls:
    """Counts calls per batch and flags any batch with many calls: a fraud of batch boundaries,
    which the conformance check must catch."""

    name: ClassVar[str] = "counts_calls"
    kinds: ClassVar[tuple[str, ...]] = ("call",)

    def initial_state(self):
        return {}

    def step(self, batch, state):
        calls = batch.get("call")
        if calls is None or calls.num_rows < 50:
            return empty_signals(), state
        df = pl.from_arrow(calls).head(1).select(
            "seq", "ts", "event_id", entity_kind=pl.lit("phone"), entity=pl.col.caller,
            score=pl.lit(0.5), evidence=pl.lit("many calls in this batch"))
        return signals_from(df, self.name, ["event_id"]), state


@dataclasses.dataclass(frozen=True)
class WritesFiles(FraudContact):
    """Looks up fraud numbers in a file: impure, which the check must catch."""

    def step(self, batch, state):
        open("/tmp/fanzha-should-not-exist", "w")  # noqa: SIM115
        return super().step(batch, state)


def test_the_check_catches_a_batch_dependent_detector():
    with pytest.raises(AssertionError, match=r"depends on batch cuts|one-event batches"):
        check_detector(CountsCalls(), city_log(seed=1, calls=400, sms=0))


def test_the_check_catches_an_impure_detector():
    with pytest.raises(AssertionError, match="must not do I/O"):
        check_detector(WritesFiles(), city_log(seed=1, calls=100, sms=10))


def test_the_check_refuses_a_vacuous_run():
    log = city_log(seed=1, calls=100, sms=10)
    log["report"] = log["report"].slice(0, 0)
    with pytest.raises(AssertionError, match="vacuous"):
        check_detector(FraudContact(), log)


def test_keyed_detectors_are_checked_shard_by_shard():
    keyed = {cls.name for cls in DEFAULT_DETECTORS if getattr(cls, "partition_by", None)}
    assert keyed == {"access_rules", "text_fraud"}


@dataclasses.dataclass(frozen=True)
class SiteKeyedAnomaly(AccessAnomaly):
    """access_anomaly claiming to be keyed by site: its days close on the log's time over all
    sites (fraud by insiders is still what it catches), so the sharding check must refuse it."""

    partition_by: ClassVar[dict[str, str]] = {"waybill_access": "site", "roster": "site"}


def test_the_check_catches_a_detector_that_is_not_keyed_by_what_it_declares():
    with pytest.raises(AssertionError, match="key shards gives other signals"):
        check_detector(SiteKeyedAnomaly(), SCENARIOS["access_anomaly"]())


@dataclasses.dataclass(frozen=True)
class RepeatSender:
    """Senders of two SMS or more, signalled when the second comes but dated by the first: a
    pattern of SMS-blast fraud, keyed by sender, yet the engine would file its signal under a
    micro-batch that is already past, so the check must refuse it."""

    name: ClassVar[str] = "repeat_sender"
    kinds: ClassVar[tuple[str, ...]] = ("sms",)
    partition_by: ClassVar[dict[str, str]] = {"sms": "sender"}

    def initial_state(self):
        schema = {"sender": pl.String, "seq": pl.Int64, "ts": pl.Datetime("ms", "UTC"),
                  "event_id": pl.String, "done": pl.Boolean}  # fmt: skip
        return {"first": pl.DataFrame(schema=schema).to_arrow()}

    def step(self, batch, state):
        sms = batch.get("sms")
        if sms is None or sms.num_rows == 0:
            return empty_signals(), state
        old = pl.from_arrow(state["first"])
        new = pl.from_arrow(sms).select("sender", "seq", pl.col.ts.cast(pl.Datetime("ms", "UTC")),
                                        "event_id", done=pl.lit(False))  # fmt: skip
        both = pl.concat([old, new]).sort("seq")
        firsts = both.group_by("sender").agg(pl.all().first(), n=pl.len())
        due = firsts.filter((pl.col.n > 1) & ~pl.col.done)
        df = due.select("seq", "ts", "event_id", entity_kind=pl.lit("phone"), entity="sender",
                        score=pl.lit(0.5), evidence=pl.lit("sent a second SMS"))  # fmt: skip
        st = firsts.select("sender", "seq", "ts", "event_id", done=pl.col.done | (pl.col.n > 1))
        return signals_from(df, self.name, ["event_id"]), {"first": st.sort("sender").to_arrow()}


def test_the_check_catches_a_keyed_detector_that_signals_into_the_past():
    with pytest.raises(AssertionError, match="signal in a later batch than its seq"):
        check_detector(RepeatSender(), city_log(seed=1, calls=10, sms=150))
