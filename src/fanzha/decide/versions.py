"""Policy versions: apply, show, diff, roll back; each change is a row with author, time and reason.

A version is the hash of the policy text (detector settings included: they are in the same YAML),
so rolling back to a version makes the engine decide exactly as it did under it, and every alert
names the version that made or last changed it (`policy_version`). Every apply and rollback is
also written to the hash-chained audit log.
"""

from __future__ import annotations

import difflib
from typing import Any

from fanzha.decide.policy import Policy, default_policy_text, parse_policy
from fanzha.errors import FanzhaError
from fanzha.store import Store


def live_policy(store: Store) -> Policy:
    """The active policy, or the built-in default if none was ever applied (reads only)."""
    got = store.active_policy()
    return parse_policy(got[1] if got else default_policy_text())


def checked_policy(text: str) -> Policy:
    """Parse a policy and check its detector settings against the detectors that exist."""
    from fanzha.engine.runner import configured, default_detectors

    policy = parse_policy(text)
    configured(default_detectors(), policy)
    return policy


def apply_policy(store: Store, text: str, author: str, reason: str) -> Policy:
    """Check, save and activate a policy; the engine uses it from its next micro-batch on."""
    if not author.strip() or not reason.strip():
        raise FanzhaError("policy apply needs an author and a reason")
    policy = checked_policy(text)
    before = store.active_policy()
    store.save_policy(policy.version, text, author, reason)
    store.append_audit(
        author,
        "analyst",
        "policy.apply",
        policy.version,
        reason,
        {"previous": before[0] if before else None, "name": policy.name},
    )
    return policy


def policy_text(store: Store, version: str | None = None) -> tuple[str, str]:
    """(version, text) of a saved version (a unique prefix will do), or of the live one."""
    if version is None:
        p = live_policy(store)
        return p.version, p.text
    found = {
        r["version"]: r["text"] for r in store.policy_history() if r["version"].startswith(version)
    }
    if not found and parse_policy(default_policy_text()).version.startswith(version):
        return parse_policy(default_policy_text()).version, default_policy_text()
    if not found:
        raise FanzhaError(f"no policy version {version!r} in the store (see `fanzha policy show`)")
    if len(found) > 1:
        raise FanzhaError(f"policy version {version!r} is ambiguous: {', '.join(sorted(found))}")
    return next(iter(found.items()))


def previous_version(store: Store) -> str:
    """The version that was live before the current one."""
    history = store.policy_history()
    current = live_policy(store).version
    i = len(history) - 1
    while i >= 0 and history[i]["version"] == current:
        i -= 1
    if i < 0:
        default = parse_policy(default_policy_text()).version
        if current != default:  # before the first apply the built-in default was live
            return default
        raise FanzhaError("no earlier policy version to roll back to")
    return history[i]["version"]


def rollback(store: Store, author: str, reason: str, version: str | None = None) -> Policy:
    """Make an earlier version live again (the one before the current by default)."""
    target = previous_version(store) if version is None else policy_text(store, version)[0]
    _, text = policy_text(store, target)
    if not author.strip() or not reason.strip():
        raise FanzhaError("policy rollback needs an author and a reason")
    before = store.active_policy()
    store.save_policy(target, text, author, reason)
    store.append_audit(
        author,
        "analyst",
        "policy.rollback",
        target,
        reason,
        {"previous": before[0] if before else None},
    )
    return parse_policy(text)


def history(store: Store) -> list[dict[str, Any]]:
    """Every apply and rollback, oldest first, without the texts; `active` marks the live one."""
    live = store.active_policy()
    rows = store.policy_history()
    out = []
    for i, r in enumerate(rows):
        out.append(
            {
                "version": r["version"],
                "created_at": r["created_at"],
                "author": r["author"],
                "reason": r["reason"],
                "active": bool(live) and i == len(rows) - 1 and r["version"] == live[0],
            }
        )
    return out


def diff(store: Store, a: str, b: str) -> str:
    """A unified diff of two versions' texts ('' when they are the same)."""
    va, ta = policy_text(store, a)
    vb, tb = policy_text(store, b)
    return "".join(
        difflib.unified_diff(ta.splitlines(keepends=True), tb.splitlines(keepends=True), va, vb)
    )
