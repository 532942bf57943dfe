"""Signals -> alerts: one alert per person and campaign, escalated as new signals arrive.

The policy says, for each signal, which rule applies, the tier, the dedup key and extra actions.
Signals are then folded in log order: a signal joins the open alert of its (rule, dedup key) if it
is no later than the rule's window after that alert's last signal; otherwise it opens a new alert.
Joining may raise the tier (an escalation: more actions, a nearer SLA deadline), never lower it.
Ids are hashes of the rule, key and first signal, so replaying the same events gives the same
alerts. State is the open alerts; alerts idle for longer than `retention` are dropped from it (a
signal arriving later than that opens a new alert).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from fanzha.decide import ALERT_SCHEMA, TIERS
from fanzha.decide.policy import Policy, Rule, policy_connection
from fanzha.engine.protocol import State
from fanzha.errors import FanzhaError
from fanzha.hashing import sha256_32_one

MAX_SIGNAL_IDS = 50
_RANK = {t: i for i, t in enumerate(TIERS)}


@dataclass
class Decider:
    policy: Policy
    retention: dt.timedelta = dt.timedelta(days=30)
    # the open alerts as dicts, for the state table they were last turned into (a memo, not state)
    _cache: tuple[pa.Table | None, dict] = field(default=(None, {}), repr=False, compare=False)

    name = "decide"

    def initial_state(self) -> State:
        return {"open": ALERT_SCHEMA.empty_table()}

    def _classify(self, signals: pa.Table) -> dict[str, tuple[Rule, str, str, tuple[str, ...]]]:
        """signal_id -> (rule, tier, dedup key, extra actions), first matching rule wins."""
        con = policy_connection()
        con.register("sig", signals)
        out: dict[str, tuple[Rule, str, str, tuple[str, ...]]] = {}
        for rule in self.policy.rules:
            adds = [f"coalesce(({a.when}), false)" for a in rule.add_actions] or ["false"]
            rows = con.sql(
                f"SELECT signal_id, ({rule.tier}) AS tier, CAST(({rule.dedup}) AS VARCHAR) AS k, "
                f"[{', '.join(adds)}] AS adds FROM sig WHERE coalesce(({rule.match}), false)"
            ).fetchall()
            for sid, tier, key, flags in rows:
                if sid in out or tier is None or key is None:
                    continue
                if tier not in _RANK:
                    raise FanzhaError(
                        f"policy rule '{rule.id}': tier expression gave {tier!r}, "
                        f"not one of {', '.join(TIERS)}"
                    )
                extra = tuple(a for a, on in zip(rule.add_actions, flags, strict=False) if on)
                out[sid] = (rule, tier, key, tuple(x for a in extra for x in a.actions))
        con.close()
        return out

    def _open(self, state: State) -> dict[tuple[str, str], dict[str, Any]]:
        table = state["open"]
        memo_table, memo = self._cache
        if memo_table is table:
            return memo
        return {(r["rule"], r["dedup_key"]): r for r in table.to_pylist()}

    def step(self, signals: pa.Table, state: State) -> tuple[pa.Table, State]:
        if signals.num_rows == 0:
            return ALERT_SCHEMA.empty_table(), state
        decided = self._classify(signals)
        if not decided:
            return ALERT_SCHEMA.empty_table(), state
        open_ = dict(self._open(state))
        # by alert id: one batch may close an alert of a key and open the next one (both kept)
        touched: dict[str, dict[str, Any]] = {}
        rows = sorted(
            (s for s in signals.to_pylist() if s["signal_id"] in decided),
            key=lambda s: (s["seq"], s["signal_id"]),
        )
        latest = max(s["ts"] for s in rows)
        for s in rows:
            rule, tier, key, extra = decided[s["signal_id"]]
            k = (rule.id, key)
            cur = open_.get(k)
            window = dt.timedelta(hours=rule.window_hours)
            if cur is not None and s["ts"] <= cur["last_ts"] + window:
                cur = self._merge(rule, dict(cur), s, tier, extra)
            else:
                cur = self._new(rule, key, s, tier, extra)
            open_[k] = touched[cur["alert_id"]] = cur
        for k in [k for k, a in open_.items() if a["last_ts"] < latest - self.retention]:
            del open_[k]
        table = pa.Table.from_pylist(list(open_.values()), schema=ALERT_SCHEMA)
        self._cache = (table, open_)
        upserts = pa.Table.from_pylist(list(touched.values()), schema=ALERT_SCHEMA)
        return upserts, {"open": table}

    def _actions(
        self, rule: Rule, tier: str, extra: tuple[str, ...], before: list[str] | None
    ) -> list[str]:
        out: list[str] = []
        base = rule.actions.get(tier, self.policy.tiers[tier].actions)
        for a in (*base, *(before or ()), *extra):
            if a not in out:
                out.append(a)
        return out

    def _sla(self, tier: str, ts: dt.datetime) -> dt.datetime:
        return ts + dt.timedelta(minutes=self.policy.tiers[tier].sla_minutes)

    def _new(self, rule: Rule, key: str, s: dict, tier: str, extra: tuple[str, ...]) -> dict:
        aid = sha256_32_one(f"{rule.id}\x1f{key}\x1f{s['signal_id']}")
        return {
            "alert_id": aid,
            "rule": rule.id,
            "dedup_key": key,
            "entity_kind": s["entity_kind"],
            "entity": s["entity"],
            "tier": tier,
            "actions": self._actions(rule, tier, extra, None),
            "fraud_type": s["fraud_type"],
            "score": s["score"],
            "first_ts": s["ts"],
            "last_ts": s["ts"],
            "first_seq": s["seq"],
            "last_seq": s["seq"],
            "n_signals": 1,
            "signal_ids": [s["signal_id"]],
            "evidence": s["evidence"],
            "sla_due": self._sla(tier, s["ts"]),
            "escalations": 0,
            "policy_version": self.policy.version,
        }

    def _merge(self, rule: Rule, a: dict, s: dict, tier: str, extra: tuple[str, ...]) -> dict:
        a["n_signals"] += 1
        if len(a["signal_ids"]) < MAX_SIGNAL_IDS:
            a["signal_ids"] = [*a["signal_ids"], s["signal_id"]]
        a["first_ts"] = min(a["first_ts"], s["ts"])
        a["last_ts"] = max(a["last_ts"], s["ts"])
        a["last_seq"] = s["seq"]
        if s["score"] > a["score"]:
            a["score"] = s["score"]
            a["evidence"] = s["evidence"]
            a["fraud_type"] = s["fraud_type"] or a["fraud_type"]
        if _RANK[tier] > _RANK[a["tier"]]:
            a["tier"] = tier
            a["escalations"] += 1
            a["sla_due"] = min(a["sla_due"], self._sla(tier, s["ts"]))
        a["actions"] = self._actions(rule, a["tier"], extra, a["actions"])
        a["policy_version"] = self.policy.version
        return a
