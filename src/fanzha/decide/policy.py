"""The warning policy: which signals become alerts, at which tier, with which actions.

A policy is YAML that analysts edit (see default_policy.yaml). Expressions are SQL over one signal,
so a rule can say `detector = 'fraud_contact' AND score >= 0.6` or read evidence details; they are
compiled when the policy is loaded, so a typo fails at `policy apply`, not in the middle of a run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import duckdb
import yaml

from fanzha.decide import TIERS
from fanzha.engine.protocol import SIGNAL_SCHEMA
from fanzha.errors import FanzhaError


@dataclass(frozen=True)
class Tier:
    actions: tuple[str, ...]
    sla_minutes: int


@dataclass(frozen=True)
class AddActions:
    when: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    id: str
    match: str
    tier: str
    dedup: str = "entity"
    window_hours: float = 168
    doc: str = ""
    add_actions: tuple[AddActions, ...] = ()
    actions: tuple[str, ...] | None = None  # replace the tier's actions (accounts are not phoned)


@dataclass(frozen=True)
class Policy:
    name: str
    version: str
    text: str
    tiers: dict[str, Tier]
    rules: tuple[Rule, ...]
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)


def policy_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory SQL engine for policy expressions, with no file or network access."""
    return duckdb.connect(":memory:", config={"enable_external_access": False})


def _need(d: dict, key: str, where: str) -> Any:
    if key not in d:
        raise FanzhaError(f"policy: {where} needs '{key}'")
    return d[key]


def parse_policy(text: str) -> Policy:
    """Parse and check a policy; every expression is compiled against the signal schema."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise FanzhaError(f"policy: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise FanzhaError("policy: expected a mapping at the top level")
    tiers_doc = _need(doc, "tiers", "the policy")
    tiers = {}
    for name in TIERS:
        t = tiers_doc.get(name) if isinstance(tiers_doc, dict) else None
        if not isinstance(t, dict):
            raise FanzhaError(f"policy: tier '{name}' is missing")
        tiers[name] = Tier(tuple(t.get("actions") or ()), int(t.get("sla_minutes", 1440)))
    unknown = set(tiers_doc) - set(TIERS)
    if unknown:
        raise FanzhaError(
            f"policy: unknown tier(s) {', '.join(sorted(unknown))}; tiers are {', '.join(TIERS)}"
        )
    rules = []
    seen = set()
    for i, r in enumerate(_need(doc, "rules", "the policy") or []):
        where = f"rule {i + 1}"
        if not isinstance(r, dict):
            raise FanzhaError(f"policy: {where} is not a mapping")
        rid = str(_need(r, "id", where))
        if rid in seen:
            raise FanzhaError(f"policy: rule id '{rid}' is used twice")
        seen.add(rid)
        adds = tuple(
            AddActions(
                str(_need(a, "when", f"{where} add_actions")),
                tuple(_need(a, "actions", f"{where} add_actions")),
            )
            for a in r.get("add_actions") or []
        )
        rules.append(
            Rule(
                rid,
                str(_need(r, "match", where)),
                str(_need(r, "tier", where)),
                str(r.get("dedup", "entity")),
                float(r.get("window_hours", 168)),
                str(r.get("doc", "")),
                adds,
                tuple(r["actions"]) if r.get("actions") is not None else None,
            )
        )
    detectors = doc.get("detectors") or {}
    if not isinstance(detectors, dict):
        raise FanzhaError("policy: 'detectors' must map detector names to settings")
    version = hashlib.sha256(text.encode()).hexdigest()[:12]
    policy = Policy(
        str(doc.get("name", "unnamed")),
        version,
        text,
        tiers,
        tuple(rules),
        {k: dict(v or {}) for k, v in detectors.items()},
    )
    _compile(policy)
    return policy


def _compile(policy: Policy) -> None:
    con = policy_connection()
    con.register("sig", SIGNAL_SCHEMA.empty_table())
    for r in policy.rules:
        exprs = [("match", r.match), ("tier", r.tier), ("dedup", r.dedup)]
        exprs += [("add_actions.when", a.when) for a in r.add_actions]
        for what, expr in exprs:
            try:
                con.sql(f"SELECT ({expr}) FROM sig").fetchall()
            except duckdb.Error as e:
                first = str(e).splitlines()[0]
                raise FanzhaError(f"policy: rule '{r.id}' {what}: {first}") from None


def default_policy_text() -> str:
    return resources.files("fanzha.decide").joinpath("default_policy.yaml").read_text("utf-8")


def default_policy() -> Policy:
    return parse_policy(default_policy_text())
