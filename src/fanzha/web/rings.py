"""Account rings (黑号团伙): what `fanzha accounts rings` finds, for the console.

The rings are fanzha.investigate.rings' own (issue 7): accounts opened with harvested identities
(村推/地推), clustered by Leiden over the devices, networks, phones and addresses they share, with
FRAUDAR's lockstep deal orders; each cluster scored and explained. This module only picks the
rings to show and lays them out as a graph: accounts joined to the devices and phones they share
inside their ring (the evidence a reader can see), labels masked as the API masks them.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from fanzha.investigate.rings import find_rings_in, summary
from fanzha.store import Store

SHOWN = 30  # rings on the page: the black ones, highest score first
ACCOUNT_COLUMNS = ("account", "platform", "phone", "id_number", "name", "device", "home_county",
                   "score", "label", "lockstep", "own_evidence")  # fmt: skip


def store_rings(s: Store, shown: int = SHOWN) -> dict[str, Any]:
    """The black rings of the store's log (at most `shown`), each with its accounts, and the
    summary `fanzha accounts rings` prints: {"summary", "rings"}."""
    if not s.count_events().get("registration"):
        return {"summary": None, "rings": []}
    found = find_rings_in(s)
    black = found.clusters.filter(pl.col.label == "black").sort(
        ["score", "n_accounts", "cluster"], descending=[True, True, False]
    )
    rings = []
    for c in black.head(shown).iter_rows(named=True):
        members = found.accounts.filter(pl.col.cluster == c["cluster"]).sort(
            ["score", "account"], descending=[True, False]
        )
        rings.append({
            "cluster": c["cluster"], "score": c["score"], "explanation": c["explanation"],
            "n_accounts": c["n_accounts"], "n_identities": c["n_identities"],
            "n_devices": c["n_devices"], "platforms": c["platforms"],
            "lockstep_accounts": c["lockstep_accounts"],
            "accounts": members.select(ACCOUNT_COLUMNS).to_dicts(),
        })  # fmt: skip
    return {"summary": dict(summary(found)), "rings": rings}


def ring_graph(rings: list[dict[str, Any]], shown: list[dict[str, Any]]) -> dict[str, Any]:
    """One ECharts graph of the rings: each account joined to the devices and phones it shares
    with another account of its ring. Node identity from the raw rings, labels from the masked
    ones (two masked numbers may look alike)."""
    nodes: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for r, s in zip(rings, shown, strict=True):
        index: dict[tuple[str, str], int] = {}
        for a, b in zip(r["accounts"], s["accounts"], strict=True):
            index[("account", a["account"])] = len(nodes)
            nodes.append({"label": b["account"], "kind": "account", "ring": r["cluster"],
                          "score": a["score"], "lockstep": a["lockstep"]})  # fmt: skip
        for kind in ("device", "phone"):
            held: dict[str, list[tuple[str, str]]] = {}
            for a, b in zip(r["accounts"], s["accounts"], strict=True):
                if a[kind]:
                    held.setdefault(a[kind], []).append((a["account"], b[kind]))
            for _, accounts in sorted(held.items()):
                if len(accounts) < 2:
                    continue  # held by one account: no evidence of a ring
                node = len(nodes)
                nodes.append({"label": accounts[0][1], "kind": kind, "ring": r["cluster"],
                              "accounts": len(accounts)})  # fmt: skip
                links += [{"source": index[("account", acc)], "target": node, "kind": kind}
                          for acc, _ in accounts]  # fmt: skip
    return {"nodes": nodes, "links": links}
