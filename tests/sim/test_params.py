"""Scenario parameters: defaults with their sources, overrides, and clear errors."""

from __future__ import annotations

import re

import pytest

from fanzha.errors import FanzhaError
from fanzha.sim.params import default_text, load_scenario


def test_defaults_load_and_carry_the_reports_numbers():
    sc = load_scenario()
    assert sc["village_push"]["max_victims_per_team_day"] == 200
    assert sc["village_push"]["accounts_per_identity"] == pytest.approx(100_000 / 18_800, rel=0.01)
    assert sc["waybill_theft"]["price_yuan"] == [3, 5]
    assert sc["money"]["levels"][0] >= 3


@pytest.mark.parametrize(
    "key, report",
    [
        ("max_victims_per_team_day", "report 000"),
        ("accounts_per_identity", "report 000"),
        ("pushers_per_team", "report 002"),
        ("price_yuan", "report 004"),
        ("levels", "report 003"),
        ("upstream_devices", "report 002"),
        ("family_contact_share", "report 003"),
    ],
)
def test_numbers_from_the_reports_cite_them(key, report):
    line = next(x for x in default_text().splitlines() if x.strip().startswith(key + ":"))
    assert report in line.split("#", 1)[1]


def test_every_number_says_where_it_comes_from():
    """A numeric setting has a comment on its line or right above it: a report or 'assumption'."""
    lines = default_text().splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^\s+(?:- )?([a-z_]+): (\[[0-9., ]+\]|[0-9.]+)\s*(#.*)?$", line)
        if not m:
            continue
        note = m.group(3) or ""
        j = i - 1
        while not note and j >= 0 and lines[j].strip().startswith("#"):
            while j >= 0 and lines[j].strip().startswith("#"):  # the whole comment block above
                note += lines[j]
                j -= 1
        assert re.search(r"report 00[0-4]|assumption|issue 4", note), f"line {i + 1}: {line}"


def test_an_override_file_replaces_only_its_keys(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("village_push:\n  teams: 2\nmoney:\n  levels: [4, 6]\n")
    sc = load_scenario(f)
    assert sc["village_push"]["teams"] == 2 and sc["money"]["levels"] == [4, 6]
    assert sc["village_push"]["max_victims_per_team_day"] == 200


@pytest.mark.parametrize(
    "text, words",
    [
        ("village_push:\n  tems: 2\n", "unknown key 'village_push.tems'"),
        ("money:\n  levels: three\n", "money.levels must be a list"),
        ("reports:\n  case_share: 1.5\n", "reports.case_share must be a share"),
        ("money:\n  levels: [5, 3]\n", "money.levels must be [low, high]"),
        ("geography:\n  upstream_counties: ['999999']\n", "county code 999999"),
        ("start_date: 2026-13-01\n", "not valid YAML"),
        ("start_date: 2026-02-30x\n", "start_date"),
        ("village_push: [1, 2\n", "not valid YAML"),
        ("waybill_theft:\n  leaks: [{method: telepathy}]\n", "telepathy"),
    ],
)
def test_bad_scenarios_are_refused_with_the_key(tmp_path, text, words):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(FanzhaError, match=re.escape(words)):
        load_scenario(f)


def test_a_missing_scenario_file_is_a_clear_error(tmp_path):
    with pytest.raises(FanzhaError, match="does not exist"):
        load_scenario(tmp_path / "nope.yaml")
