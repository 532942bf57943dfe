"""registration_risk: the village-push ring is signalled; an authorised team, a busy public Wi-Fi,
a family sharing a phone and ordinary sign-ups are not."""

from __future__ import annotations

import datetime as dt

import orjson
import polars as pl
import pyarrow as pa

from fanzha.decide.decide import Decider
from fanzha.decide.policy import default_policy
from fanzha.detectors import RegistrationRisk
from fanzha.detectors.registration_risk import RegistrationRiskSettings
from fanzha.engine.check import check_detector, run_detector
from fanzha.testing import START, as_log
from scenario import TEAM, registrations, registrations_log, table


def _run(events: dict[str, pa.Table], det: RegistrationRisk | None = None) -> pl.DataFrame:
    top = max(int(t["seq"].to_pylist()[-1]) for t in events.values() if t.num_rows)
    sigs, _ = run_detector(det or RegistrationRisk(), events, [top])
    df = pl.from_arrow(sigs)
    return df.with_columns(
        group=pl.col.entity.str.extract(r":(\w+)-", 1),
        reasons=pl.col.details.map_elements(
            lambda d: orjson.loads(d)["reasons"], return_dtype=pl.List(pl.String)
        ),
    )


def test_the_ring_is_signalled_and_the_others_are_not():
    df = _run(registrations_log())
    ring = df.filter(pl.col.group == "r")
    assert ring.height == 200  # 40 identities x 5 platforms, every one
    assert ring["score"].min() >= 0.8
    assert set(df["group"].unique()) == {"r", "x"}  # no y (team), w (Wi-Fi), f (family), o
    assert (ring["entity_kind"] == "account").all()
    assert all(orjson.loads(d)["role"] == "suspect" for d in df["details"])
    late = ring.filter(pl.col.entity == "live-g:r-39-4")
    reasons = late["reasons"][0].to_list()
    assert {"code_far", "shared_device", "shared_network", "multi_platform", "burst"} <= set(
        reasons
    )
    ev = late["evidence"][0]
    assert "SMS code typed at an IP in 广州市 番禺区 (440113), another province" in ev
    assert "while the phone was in 贵港市 平南县 (450821)" in ev
    assert "5 platforms within 6 h" in ev and "first-time registrations of elderly owners" in ev


def test_outside_the_authorisation_is_flagged_with_the_reason():
    df = _run(registrations_log())
    x = df.filter(pl.col.group == "x").sort("entity")
    code = x.filter(pl.col.entity.str.contains("x-code"))
    assert code.height == 4 and all("promoter_outside" in r for r in code["reasons"].to_list())
    assert "county 450922 is outside the team's area" in code["evidence"][0]
    tab = x.filter(pl.col.entity.str.contains("x-tab"))
    assert tab.height == 2 and all(r.to_list()[0] == "team_device" for r in tab["reasons"])
    assert "yb-tab-1 is a registered device of promotion team yb-team-01" in tab["evidence"][0]


def test_without_a_registry_or_after_revocation_the_team_is_outside():
    ev = registrations()
    no_registry = as_log({"registration": ev["registration"], "promoter": ev["promoter"].slice(0, 0)})
    y = _run(no_registry).filter(pl.col.group == "y")
    assert y.height == 30
    assert "no such team in the promoter registry" in y["evidence"][0]
    revoke = table("promoter", [{"ts": START, "team_id": TEAM, "issuer": "贵港市医疗保障局",
                                 "action": "revoke"}])
    revoked = as_log({**ev, "promoter": pa.concat_tables([ev["promoter"], revoke])})
    y = _run(revoked).filter(pl.col.group == "y")
    assert y.height == 30 and "revoked on 2026-03-01" in y["evidence"][0]


def test_a_burst_of_elderly_first_accounts_in_one_county_is_signalled_past_the_threshold():
    rows = []
    for i in range(25):  # each on their own phone and home network: only the burst is odd
        rows.append({"ts": START + dt.timedelta(hours=1, minutes=10 * i), "platform": "shop-a",
                     "account_id": f"b-{i}", "phone": f"1390000{i:04d}",
                     "id_number": f"45082119500101{i:03d}0"[:17] + "X", "device_id": f"own-{i}",
                     "ip": f"113.1.{i}.2", "code_ip_county": "450821", "phone_county": "450821"})
    # invalid check digits do not matter to the detector (ingest validates them)
    df = _run(as_log({"registration": table("registration", rows),
                      "promoter": table("promoter", [])}))
    assert df["entity"].to_list() == [f"shop-a:b-{i}" for i in range(19, 25)]
    assert all(r.to_list() == ["burst", "elderly_rural", "first_account"] for r in df["reasons"])
    assert "20 first-time registrations of elderly owners in 贵港市 平南县 (450821)" in (
        df["evidence"][0]
    )


def test_missing_fields_do_not_crash_and_weak_signals_never_alert_alone():
    rows = [{"ts": START, "platform": "p", "account_id": "a1", "phone": "13900000001"},
            {"ts": START, "platform": "p", "account_id": "a2", "phone": "13900000002",
             "id_number": "450821194001011234", "phone_county": "450821",
             "code_ip_county": None, "ip": "not-an-ip"}]
    df = _run(as_log({"registration": table("registration", rows),
                      "promoter": table("promoter", [{"ts": START, "team_id": "t",
                                                     "issuer": "x"}])}))
    assert df.height == 0


def test_one_event_batches_and_checkpoints_give_the_same_signals():
    sigs = check_detector(RegistrationRisk(), registrations_log(ring=8))
    assert sigs.num_rows >= 40


def test_settings_change_the_outcome():
    strict = RegistrationRisk(RegistrationRiskSettings(w_code_far_province=0.0,
                                                       w_multi_platform=0.0))
    df = _run(registrations_log(), strict)
    ring = df.filter(pl.col.group == "r")
    assert 0 < ring.height < 200  # the shared devices and networks still show most of it
    assert all("code_far" not in r for r in ring["reasons"].to_list())


def test_the_policy_turns_signals_into_account_alerts_for_the_platform():
    top = max(int(t["seq"].to_pylist()[-1]) for t in registrations_log().values())
    signals, _ = run_detector(RegistrationRisk(), registrations_log(), [top])
    decider = Decider(default_policy())
    alerts, _ = decider.step(signals, decider.initial_state())
    a = pl.from_arrow(alerts)
    assert a.height == signals.num_rows and (a["rule"] == "registration-risk").all()
    actions = {x for acts in a["actions"].to_list() for x in acts}
    assert "platform_review" in actions and "restrict_account" in actions
    assert not actions & {"home_visit", "call", "sms", "flash_sms", "bank_hold"}
