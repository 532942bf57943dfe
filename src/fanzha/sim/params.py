"""Scenario parameters: the defaults shipped in `default_scenario.yaml`, and a user's overrides.

A user's file replaces only the keys it gives (mappings merge key by key; lists and numbers are
replaced whole). A key the defaults do not have is an error, so a typo cannot silently leave a
default in force; so is a value of another type than the default's.
"""

from __future__ import annotations

import copy
import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from fanzha.errors import FanzhaError
from fanzha.ids import resident_id

DEFAULT_FILE = "default_scenario.yaml"


def default_text() -> str:
    return resources.files("fanzha.sim").joinpath(DEFAULT_FILE).read_text(encoding="utf-8")


def _merge(base: Any, over: Any, path: str) -> Any:
    if isinstance(base, dict):
        if not isinstance(over, dict):
            raise FanzhaError(f"scenario: {path or 'the file'} must be a mapping")
        out = dict(base)
        for k, v in over.items():
            where = f"{path}.{k}" if path else str(k)
            if k not in base:
                raise FanzhaError(
                    f"scenario: unknown key {where!r}; known here: {', '.join(map(str, base))}"
                )
            out[k] = _merge(base[k], v, where)
        return out
    if isinstance(base, bool) or isinstance(over, bool):
        if not isinstance(over, bool) or not isinstance(base, bool):
            raise FanzhaError(f"scenario: {path} must be {type(base).__name__}, got {over!r}")
        return over
    if isinstance(base, int | float):
        if not isinstance(over, int | float):
            raise FanzhaError(f"scenario: {path} must be a number, got {over!r}")
        if over < 0:
            raise FanzhaError(f"scenario: {path} must not be negative, got {over!r}")
        return over
    if isinstance(base, list):
        if not isinstance(over, list):
            raise FanzhaError(f"scenario: {path} must be a list, got {over!r}")
        return copy.deepcopy(over)
    if isinstance(base, str) and isinstance(over, dt.date):  # YAML reads 2026-03-02 as a date
        return over.isoformat()
    if isinstance(base, str) and not isinstance(over, str):
        raise FanzhaError(f"scenario: {path} must be text, got {over!r}")
    return over


def load_scenario(path: str | Path | None = None) -> dict[str, Any]:
    """The default scenario, with the overrides of `path` (a YAML file) if given."""
    sc = yaml.safe_load(default_text())
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise FanzhaError(f"scenario file {p} does not exist")
        try:
            over = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, ValueError) as e:  # ValueError: a date like 2026-13-01
            raise FanzhaError(
                f"scenario file {p}: not valid YAML ({str(e).splitlines()[0]})"
            ) from None
        sc = _merge(sc, over, "")
    check(sc)
    return sc


def _share(sc: dict, *keys: str) -> None:
    v: Any = sc
    for k in keys:
        v = v[k]
    values = v.values() if isinstance(v, dict) else [v]
    for x in values:
        if not 0 <= x <= 1:
            raise FanzhaError(f"scenario: {'.'.join(keys)} must be a share in [0, 1], got {x}")


def _range(sc: dict, *keys: str) -> None:
    v: Any = sc
    for k in keys:
        v = v[k]
    if not (isinstance(v, list) and len(v) == 2 and 0 <= v[0] <= v[1]):
        raise FanzhaError(f"scenario: {'.'.join(keys)} must be [low, high] with 0 <= low <= high")


def check(sc: dict[str, Any]) -> None:
    """Values that would make a nonsense world are refused with the key that is wrong."""
    try:
        dt.date.fromisoformat(sc["start_date"])
    except ValueError:
        raise FanzhaError(f"scenario: start_date {sc['start_date']!r} is not YYYY-MM-DD") from None
    geo = sc["geography"]
    if not geo["counties"]:
        raise FanzhaError("scenario: geography.counties is empty")
    for c in (
        [x["code"] for x in geo["counties"]] + geo["upstream_counties"] + geo["fraud_base_counties"]
    ):
        if not resident_id.region_valid_in(str(c), dt.date.fromisoformat(sc["start_date"]).year):
            raise FanzhaError(f"scenario: county code {c} is not a county code in use")
    if not any(not c["urban"] for c in geo["counties"]):
        raise FanzhaError("scenario: geography.counties needs at least one rural county")
    pop = sc["population"]
    bins = pop["age_bins"]
    for key in ("rural_age_weights", "urban_age_weights"):
        if len(pop[key]) != len(bins) - 1 or sum(pop[key]) <= 0:
            raise FanzhaError(f"scenario: population.{key} needs one weight per age bin")
    for key in (
        "feature_phone_share",
        "platform_account_share",
        "bank_card_share",
        "second_bank_card_share",
        "second_sim_share",
        "family_contact_share",
        "family_contact_local_share",
        "employed_share",
        "courier_share",
        "sales_share",
        "tenant_share",
    ):
        _share(sc, "population", key)
    for section in ("village_push", "waybill_theft", "impersonation", "money", "reports", "life"):
        for k, v in sc[section].items():
            if k.endswith("_share") and isinstance(v, int | float):
                _share(sc, section, k)
            if isinstance(v, list) and len(v) == 2 and all(isinstance(x, int | float) for x in v):
                _range(sc, section, k)
    if sc["money"]["levels"][0] < 1:
        raise FanzhaError("scenario: money.levels must start at 1 or more")
    for leak in sc["waybill_theft"]["leaks"]:
        if leak.get("method") not in ("remote_control", "ex_employee", "temp_hire"):
            raise FanzhaError(
                f"scenario: waybill_theft.leaks: method {leak.get('method')!r} is not "
                "remote_control, ex_employee or temp_hire"
            )
    if not sc["impersonation"]["scripts"]:
        raise FanzhaError("scenario: impersonation.scripts is empty")
