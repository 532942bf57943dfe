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
    # tier -> actions for this rule's alerts instead of the tier's (a mule account or a staff
    # account is not visited at home); a YAML list means the same actions at every tier
    actions: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Capacity:
    """What one channel can carry in a day: `per_day` in all (an SMS budget), or `agents` x
    `per_agent` (calls), and/or `per_area` (home visits per police station and day)."""

    per_day: int | None = None
    agents: int | None = None
    per_agent: int | None = None
    per_area: int | None = None

    @property
    def daily(self) -> int | None:
        """The whole day's capacity, if the policy gives one without areas."""
        if self.per_day is not None:
            return self.per_day
        if self.agents is not None and self.per_agent is not None:
            return self.agents * self.per_agent
        return None


@dataclass(frozen=True)
class Policy:
    name: str
    version: str
    text: str
    tiers: dict[str, Tier]
    rules: tuple[Rule, ...]
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    capacity: dict[str, Capacity] = field(default_factory=dict)  # action -> daily capacity
    # county code (a person's `area` from victim_risk) -> the police station whose per_area
    # capacity serves it; a county not listed is its own area
    areas: dict[str, str] = field(default_factory=dict)


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
        own = r.get("actions") or {}
        if isinstance(own, list):  # one list: the same actions at every tier
            own = dict.fromkeys(TIERS, own)
        if not isinstance(own, dict) or set(own) - set(TIERS):
            raise FanzhaError(
                f"policy: rule '{rid}' actions must be a list, or map tiers ({', '.join(TIERS)}) to lists"
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
                {t: tuple(a or ()) for t, a in own.items()},
            )
        )
    detectors = doc.get("detectors") or {}
    if not isinstance(detectors, dict):
        raise FanzhaError("policy: 'detectors' must map detector names to settings")
    capacity = _capacity(doc.get("capacity") or {})
    areas = doc.get("areas") or {}
    if not isinstance(areas, dict) or not all(
        isinstance(v, str) and v and not isinstance(k, bool) for k, v in areas.items()
    ):
        raise FanzhaError("policy: 'areas' must map county codes to police station names")
    version = hashlib.sha256(text.encode()).hexdigest()[:12]
    policy = Policy(
        str(doc.get("name", "unnamed")),
        version,
        text,
        tiers,
        tuple(rules),
        {k: dict(v or {}) for k, v in detectors.items()},
        capacity,
        {str(k): v for k, v in areas.items()},
    )
    _compile(policy)
    return policy


def _capacity(doc: Any) -> dict[str, Capacity]:
    if not isinstance(doc, dict):
        raise FanzhaError(
            "policy: 'capacity' must map actions to {per_day|agents+per_agent|per_area}"
        )
    out = {}
    names = ("per_day", "agents", "per_agent", "per_area")
    for action, c in doc.items():
        if not isinstance(c, dict) or not c or set(c) - set(names):
            raise FanzhaError(
                f"policy: capacity.{action} takes {', '.join(names)} (whole numbers), got {c!r}"
            )
        vals = {}
        for k, v in c.items():
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise FanzhaError(f"policy: capacity.{action}.{k} must be a whole number >= 0")
            vals[k] = v
        if ("agents" in vals) != ("per_agent" in vals):
            raise FanzhaError(f"policy: capacity.{action} needs both agents and per_agent")
        out[str(action)] = Capacity(**vals)
    return out


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
