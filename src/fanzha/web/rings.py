"""Account rings (资金团伙): the accounts fanzha's mule scores label as mules, joined by the
transfers among them. Each connected group is one ring; its evidence is each account's mule
reasons (fanzha.investigate.mules, what `fanzha funds mules` prints) and the money between them.

Until an investigation module of its own lands (fanzha.investigate.rings), this is the console's
view of mule networks; the scores are computed over the whole transfer log on each request.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from fanzha.investigate.mules import mule_scores
from fanzha.store import Store


def _find(parent: dict[str, str], x: str) -> str:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def mule_rings(
    transfers: pl.DataFrame, cases: pl.DataFrame | None = None, min_size: int = 2
) -> list[dict[str, Any]]:
    """Rings of at least `min_size` mule accounts, most money first: ring, accounts (account,
    score, reasons), links (payer, payee, transfers, amount_fen), amount_fen."""
    if transfers.height == 0:
        return []
    scores = mule_scores(transfers, cases)
    mules = scores.filter(pl.col.label == 1)
    ids = mules["account"].to_list()
    links = (
        transfers.filter(pl.col.payer_account.is_in(ids) & pl.col.payee_account.is_in(ids))
        .filter(pl.col.payer_account != pl.col.payee_account)
        .group_by(payer="payer_account", payee="payee_account")
        .agg(transfers=pl.len(), amount_fen=pl.col.amount_fen.sum())
        .sort("payer", "payee")
    )
    parent = {a: a for a in ids}
    for p, q in links.select("payer", "payee").iter_rows():
        parent[_find(parent, p)] = _find(parent, q)
    ring_of = {a: _find(parent, a) for a in parent}
    by_root: dict[str, list[str]] = {}
    for a, root in ring_of.items():
        by_root.setdefault(root, []).append(a)
    info = {r["account"]: r for r in mules.to_dicts()}
    link_rows = links.to_dicts()
    rings = []
    for members in by_root.values():
        if len(members) < min_size:
            continue
        inside = set(members)
        ls = [x for x in link_rows if x["payer"] in inside]
        rings.append(
            {
                "accounts": sorted(
                    ({k: info[a][k] for k in ("account", "score", "reasons")} for a in members),
                    key=lambda r: (-r["score"], r["account"]),
                ),
                "links": ls,
                "amount_fen": sum(x["amount_fen"] for x in ls),
            }
        )
    rings.sort(key=lambda r: (-r["amount_fen"], r["accounts"][0]["account"]))
    for i, r in enumerate(rings, 1):
        r["ring"] = i
    return rings


def store_rings(s: Store, min_size: int = 2) -> list[dict[str, Any]]:
    """Rings over the store's whole transfer log (with its police cases as victims)."""
    top = s.max_seq()
    transfers = pl.from_arrow(s.read_events("transfer", 0, top))
    cases = pl.from_arrow(s.read_events("case", 0, top))
    assert isinstance(transfers, pl.DataFrame) and isinstance(cases, pl.DataFrame)
    return mule_rings(transfers, cases, min_size)


def ring_graph(rings: list[dict[str, Any]], shown: list[dict[str, Any]]) -> dict[str, Any]:
    """One ECharts graph of the rings: node identity from the raw accounts, labels masked."""
    nodes, links, index = [], [], {}
    for r, s in zip(rings, shown, strict=True):
        for a, b in zip(r["accounts"], s["accounts"], strict=True):
            index[a["account"]] = len(nodes)
            nodes.append({"label": b["account"], "ring": r["ring"], "score": a["score"]})
        links += [
            {
                "source": index[x["payer"]],
                "target": index[x["payee"]],
                "amount_fen": x["amount_fen"],
                "transfers": x["transfers"],
            }
            for x in r["links"]
        ]
    return {"nodes": nodes, "links": links}
