"""Account rings: black accounts registered with harvested identities, clustered into the gangs
that made them, and the lockstep promotion abuse they do (村推/地推, reports 000 and 002).

Fraud caught: a village-push gang hands elderly villagers' ID numbers, phones and SMS codes to
upstream "number merchants", who open ~5 accounts per identity on many platforms from a few
devices and networks, then use the shopping ones for 1-cent / 1-yuan new-user deals shipped to a
few depots (100+ tonnes of rice seized) and sell the rest for fraud.

How (batch, over the whole log):
1. An account-attribute graph: each account (from registrations and orders) is joined to its
   registering device and code-submitting device (one "dev:" node space), its IP /24, the phone
   it was verified with, its shipping addresses and payment accounts, and its registration minute
   on its network.
   An attribute held by one account is dropped. Edge weight = the attribute type's weight x a
   rarity factor log(N/d)/log(N) (an attribute shared by few of N accounts says more than one
   shared by many). Networks that serve many accounts through about as many devices (carrier
   NAT, public Wi-Fi) are weighted down by `shared_network_factor`; registration minutes link
   only accounts already in the graph through something else.
2. Leiden clustering of that graph (modularity with resolution `leiden_resolution`, fixed seed):
   igraph's own Leiden by default, the leidenalg package with `leiden_backend="leidenalg"`.
3. Lockstep after registration: FRAUDAR (Hooi et al., KDD 2016: greedy peeling of the densest
   block, columns weighted 1/log(degree + 5) so that popular columns are no camouflage) on
   account x (deal, shipping address, shipping phone) from orders, repeated for a few blocks.
   Implemented here (no maintained Python package exists; rgmining-fraudar wraps the 2016
   research code for review graphs only).
4. Each cluster is scored (mean registration risk of its accounts from the `registration_risk`
   detector's signals, identities per device, lockstep share; zero when its registrations are
   inside an authorised promotion team's authorisation) and explained in a sentence; each account
   gets score = max(its own registration risk, its ring's score if the ring is black and the
   account holds one of the ring's devices, phones, addresses or payment accounts) and a label:
   black (in a black ring, or suspect on its own), authorised (a registered team's activation),
   household (a few identities sharing a phone or address), shared_network, normal.
5. Actions (`act`): freeze / cancel list entries per platform with evidence, cancellation of the
   lockstep deal orders, a case and a notice to police and the medical-insurance bureau per
   gang, and a notice to each person whose identity was used listing the accounts opened in
   their name (一证通查 for platform accounts); files partners load (CSV, JSON).
Cannot see: accounts of platforms that do not report; gangs that use each victim's own phone
and home network (then only the detector's burst and age signals remain).
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from fanzha.detectors.registration_risk import (
    RegistrationRiskSettings,
    authorisation,
    registration_features,
)
from fanzha.errors import FanzhaError
from fanzha.events import KINDS
from fanzha.hashing import sha256_32
from fanzha.store import Store
from fanzha.store.tables import LIST_SCHEMA

DETECTOR = "registration_risk"
REF = "rings:"  # list entries of this investigation: ref = "rings:" + ring (or the account)
LABELS = ("black", "authorised", "household", "shared_network", "normal")


@dataclass(frozen=True)
class RingSettings:
    # attribute type weights (before rarity)
    w_device: float = 1.0
    w_phone: float = 0.6
    w_network: float = 0.5
    w_address: float = 0.8
    w_payment: float = 0.8
    w_minute: float = 0.1
    shared_network_factor: float = 0.05  # NAT / public Wi-Fi: many accounts, ~as many devices
    shared_network_accounts: int = 10
    shared_network_devices_per_account: float = 0.5
    leiden_seed: int = 1
    leiden_iterations: int = 2
    # igraph's C Leiden (15-30x faster here, see bench/rings.py) or the leidenalg package
    leiden_backend: str = "igraph"
    leiden_resolution: float = 0.2  # modularity resolution: lower -> larger rings
    # cluster scoring
    min_ring_identities: int = 5  # fewer identities: a household, not a ring
    w_structure: float = 0.6  # many identities per device
    w_lockstep: float = 0.5
    ring_min_score: float = 0.5  # a cluster at or above it is a black ring
    account_min_score: float = 0.5  # an account at or above it is black
    # FRAUDAR
    lockstep_blocks: int = 3
    lockstep_min_accounts: int = 10
    lockstep_min_edges: int = 2  # an account with this many edges into a block's columns joins it
    lockstep_accounts_per_column: float = 5.0  # block edges per block column, at least
    promo_max_paid_share: float = 0.2  # a deal order paid at most this share of list price
    registration: RegistrationRiskSettings = field(default_factory=RegistrationRiskSettings)


@dataclass
class Rings:
    accounts: pl.DataFrame  # one row per account: account, score, cluster, label, ...
    clusters: pl.DataFrame  # one row per cluster of >= 2 accounts, scored and explained
    blocks: pl.DataFrame  # lockstep blocks: block, account, density
    promo_orders: pl.DataFrame  # order_id, account, platform, deal_id, ship_address, why

    def black(self) -> pl.DataFrame:
        return self.accounts.filter(pl.col.label == "black")


# --- loading --------------------------------------------------------------------------------


def load(store: Store) -> dict[str, pl.DataFrame]:
    """The events and signals the investigation reads, from the store."""
    top = store.max_seq()
    out = {
        k: pl.from_arrow(store.read_events(k, 0, top))
        for k in ("registration", "order", "promoter", "login")
    }
    sig = pl.from_arrow(store.signals())
    out["signals"] = sig.filter(pl.col.detector == DETECTOR) if sig.height else sig
    return out  # type: ignore[return-value]


def find_rings_in(store: Store, settings: RingSettings | None = None) -> Rings:
    d = load(store)
    return find_rings(d["registration"], d["order"], d["signals"], d["promoter"], settings)


# --- the investigation ------------------------------------------------------------------------


def _empty(kind: str) -> pl.DataFrame:
    return pl.from_arrow(KINDS[kind].schema.empty_table())  # type: ignore[return-value]


def find_rings(
    registrations: pl.DataFrame,
    orders: pl.DataFrame | None = None,
    signals: pl.DataFrame | None = None,
    registry: pl.DataFrame | None = None,
    settings: RingSettings | None = None,
) -> Rings:
    """Rings of accounts from registrations (+ orders, the detector's signals, the registry)."""
    s = settings or RingSettings()
    registry = registry if registry is not None and registry.height else _empty("promoter")
    return rings_of(registration_rows(registrations, registry, s), orders, signals, s)


def registration_rows(
    registrations: pl.DataFrame, registry: pl.DataFrame | None, s: RingSettings
) -> pl.DataFrame:
    """Each registration with its features and authorisation (one row each, given the whole
    promoter registry: the part of the investigation that needs no other registration)."""
    registry = registry if registry is not None and registry.height else _empty("promoter")
    return _registrations(registrations, registry, s)


def rings_of(
    reg: pl.DataFrame,
    orders: pl.DataFrame | None,
    signals: pl.DataFrame | None,
    s: RingSettings,
) -> Rings:
    """The graph, its Leiden clusters, FRAUDAR's blocks, scores and labels: the whole-graph part,
    from `registration_rows`."""
    orders = orders if orders is not None and orders.height else _empty("order")
    accounts = _accounts(reg, orders, signals)
    edges = _edges(accounts, reg, orders, s)
    accounts = accounts.join(_leiden(accounts, edges, s), on="node", how="left")
    blocks, block_cols = lockstep(orders, s)
    accounts = accounts.join(
        blocks.group_by("account").agg(pl.col.block.min()), on="account", how="left"
    )
    clusters = _score_clusters(accounts, edges, s)
    accounts = _label_accounts(accounts, clusters, edges, s)
    promo = _promo_orders(orders, accounts, blocks, block_cols, s)
    return Rings(accounts.drop("node"), clusters, blocks, promo)


def _registrations(r: pl.DataFrame, registry: pl.DataFrame, s: RingSettings) -> pl.DataFrame:
    if not r.height:
        r = _empty("registration")
    r = registration_features(r, s.registration)
    reg_rows = registry.select(
        "seq",
        "ts",
        "team_id",
        "issuer",
        "action",
        "valid_from",
        "valid_to",
        "county",
        "device_id",
        "platform",
    )
    # the investigation reads the whole registry, whenever it was loaded (the detector, which
    # streams, only knows the registry rows logged before each registration)
    r = authorisation(r, reg_rows.with_columns(seq=pl.lit(-1, pl.Int64)))
    return r.with_columns(account=pl.col.platform + ":" + pl.col.account_id)


def _accounts(
    reg: pl.DataFrame, orders: pl.DataFrame, signals: pl.DataFrame | None
) -> pl.DataFrame:
    """One row per account (registered in the log, or seen ordering), with its own risk."""
    c = pl.col
    first = reg.sort("seq").unique("account", keep="first")
    acc = first.select(
        "account",
        "platform",
        "account_id",
        "phone",
        "id_number",
        "name",
        "age",
        "home_county",
        "code_far",
        "authorised",
        "promoter_id",
        registered_ts="ts",
        device="dev_key",
    )
    ordered = (
        orders.filter(c.platform.is_not_null())
        .select(
            account=c.platform + ":" + c.account_id, platform="platform", account_id="account_id"
        )
        .unique("account")
        .join(acc.select("account"), on="account", how="anti")
    )
    acc = pl.concat([acc, ordered], how="diagonal_relaxed")
    risk = pl.DataFrame(
        schema={
            "account": pl.String,
            "own_score": pl.Float64,
            "own_evidence": pl.String,
            "relayed": pl.Boolean,
        }
    )
    if signals is not None and signals.height:
        risk = (
            signals.filter(c.entity_kind == "account")
            .sort(["score", "seq"], descending=[True, False])
            .group_by("entity", maintain_order=True)
            .agg(
                own_score=c.score.first(),
                own_evidence=c.evidence.first(),
                relayed=c.details.str.json_path_match("$.code_far")
                .is_in(["province", "city"])
                .any(),
            )
            .rename({"entity": "account"})
        )
    acc = acc.join(risk, on="account", how="left").with_columns(
        c.own_score.fill_null(0.0), c.authorised.fill_null(False), c.relayed.fill_null(False)
    )
    return acc.sort("account").with_row_index("node").with_columns(c.node.cast(pl.Int64))


def _edges(
    acc: pl.DataFrame, reg: pl.DataFrame, orders: pl.DataFrame, s: RingSettings
) -> pl.DataFrame:
    """(node, attr, kind, weight): account-attribute edges of attributes shared by >= 2 accounts."""
    c = pl.col
    parts = [
        reg.select("account", kind=pl.lit("dev"), value="device_id"),
        reg.select("account", kind=pl.lit("dev"), value="code_device_id"),
        reg.select("account", kind=pl.lit("net"), value="net"),
        reg.select("account", kind=pl.lit("phone"), value="phone"),
        reg.select(
            "account",
            kind=pl.lit("minute"),
            # the same minute on the same network: lockstep registration (the minute alone
            # glues unrelated people together once there are many registrations a minute)
            value=(c.ts.dt.epoch("ms") // 60_000).cast(pl.String) + "@" + c.net,
        ),
        orders.select(
            account=c.platform + ":" + c.account_id,
            kind=pl.lit("addr"),
            value=c.ship_address.str.replace_all(r"\s+", ""),
        ),
        orders.select(
            account=c.platform + ":" + c.account_id, kind=pl.lit("pay"), value="payment_account"
        ),
    ]
    e = (
        pl.concat(parts)
        .filter(c.value.is_not_null() & (c.value != "") & c.account.is_not_null())
        .unique(["account", "kind", "value"])
        .join(acc.select("account", "node", "device"), on="account")
    )
    # registration minutes only link accounts already linked through something else
    deg = e.group_by(["kind", "value"]).agg(d=c.node.n_unique())
    e = e.join(deg, on=["kind", "value"])
    linked = e.filter((c.kind != "minute") & (c.d >= 2)).select("node").unique()
    e = e.filter((c.kind != "minute") | c.node.is_in(linked["node"].implode()))
    e = (
        e.drop("d")
        .join(
            e.group_by(["kind", "value"]).agg(d=c.node.n_unique(), devices=c.device.n_unique()),
            on=["kind", "value"],
        )
        .filter(c.d >= 2)
    )
    n = max(acc.height, 2)
    base = {
        "dev": s.w_device,
        "net": s.w_network,
        "phone": s.w_phone,
        "addr": s.w_address,
        "pay": s.w_payment,
        "minute": s.w_minute,
    }
    shared_net = (
        (c.kind == "net")
        & (c.d >= s.shared_network_accounts)
        & (c.devices >= s.shared_network_devices_per_account * c.d)
    )
    weight = (
        c.kind.replace_strict(base, return_dtype=pl.Float64)
        * (np.log(n) - c.d.cast(pl.Float64).log()).clip(lower_bound=0.05)
        / np.log(n)
        * pl.when(shared_net).then(s.shared_network_factor).otherwise(1.0)
    )
    return e.select(
        "node",
        "kind",
        "value",
        "d",
        shared_network=shared_net,
        attr=c.kind + ":" + c.value,
        weight=weight,
    ).sort(["attr", "node"])


def _leiden(acc: pl.DataFrame, edges: pl.DataFrame, s: RingSettings) -> pl.DataFrame:
    """node -> cluster (accounts with no shared attribute are left out: cluster null)."""
    import igraph as ig
    import leidenalg

    if not edges.height:
        return pl.DataFrame(schema={"node": pl.Int64, "cluster": pl.String})
    # only accounts with a shared attribute take part (the others would be singletons)
    nodes = edges.select("node").unique().sort("node").with_row_index("v")
    attrs = edges.select("attr").unique().sort("attr").with_row_index("a")
    e = edges.join(nodes, on="node").join(attrs, on="attr").sort(["v", "a"])
    n_acc = nodes.height
    src = e["v"].to_numpy().astype(np.int64)
    dst = e["a"].to_numpy().astype(np.int64) + n_acc
    g = ig.Graph(n=n_acc + attrs.height, edges=np.column_stack([src, dst]).tolist())
    weights = e["weight"].to_list()
    if s.leiden_backend == "leidenalg":
        part = leidenalg.find_partition(
            g,
            leidenalg.RBConfigurationVertexPartition,
            weights=weights,
            n_iterations=s.leiden_iterations,
            seed=s.leiden_seed,
            resolution_parameter=s.leiden_resolution,
        )
    elif s.leiden_backend == "igraph":
        # igraph draws from the generator it is given: a seeded one, then the default again
        ig.set_random_number_generator(random.Random(s.leiden_seed))
        try:
            part = g.community_leiden(
                objective_function="modularity",
                weights=weights,
                resolution=s.leiden_resolution,
                n_iterations=s.leiden_iterations,
            )
        finally:
            ig.set_random_number_generator(random)
    else:
        raise FanzhaError(f"unknown Leiden backend {s.leiden_backend!r} (igraph or leidenalg)")
    member = np.asarray(part.membership[:n_acc], dtype=np.int64)
    out = pl.DataFrame({"node": nodes["node"], "community": member})
    # stable, readable names: by size (largest first), then by the smallest member
    sizes = (
        out.group_by("community")
        .agg(n=pl.len(), first=pl.col.node.min())
        .sort(["n", "first"], descending=[True, False])
        .with_row_index("rank")
        .with_columns(cluster=pl.format("C{}", (pl.col("rank") + 1).cast(pl.String).str.zfill(5)))
    )
    return out.join(sizes.select("community", "cluster"), on="community").select("node", "cluster")


def _score_clusters(acc: pl.DataFrame, edges: pl.DataFrame, s: RingSettings) -> pl.DataFrame:
    """Per cluster of >= 2 accounts: facts, score and a sentence that explains it."""
    c = pl.col
    m = acc.filter(c.cluster.is_not_null())
    if not m.height:
        return pl.DataFrame(
            schema={
                "cluster": pl.String,
                "score": pl.Float64,
                "label": pl.String,
                "explanation": pl.String,
            }
        )
    net_share = (
        edges.join(m.select("node", "cluster"), on="node")
        .group_by("cluster")
        .agg(net_weight=c.weight.filter(c.shared_network).sum(), weight=c.weight.sum())
    )
    cl = (
        m.group_by("cluster")
        .agg(
            n_accounts=pl.len(),
            n_identities=c.phone.n_unique(),
            n_devices=c.device.n_unique(),
            platforms=c.platform.unique().sort(),
            counties=c.home_county.drop_nulls().unique().sort(),
            first_ts=c.registered_ts.min(),
            last_ts=c.registered_ts.max(),
            risk_mean=c.own_score.mean(),
            far_share=c.code_far.is_in(["province", "city"]).mean(),
            elderly_share=(c.age >= s.registration.elderly_age).mean(),
            authorised_share=c.authorised.mean(),
            lockstep_accounts=c.block.is_not_null().sum(),
            teams=c.promoter_id.drop_nulls().unique().sort(),
        )
        .join(net_share, on="cluster", how="left")
    )
    per_device = c.n_identities / pl.max_horizontal(c.n_devices, pl.lit(1))
    structure = (
        pl.when(c.n_identities >= s.min_ring_identities)
        .then(s.w_structure * ((per_device - 2) / 8).clip(0, 1))
        .otherwise(0.0)
    )
    lock = s.w_lockstep * c.lockstep_accounts / c.n_accounts
    score = (1 - (1 - c.risk_mean.fill_null(0)) * (1 - structure) * (1 - lock)) * (
        1 - c.authorised_share.fill_null(0)
    )
    cl = cl.with_columns(per_device=per_device, score=score.clip(0, 1))
    label = (
        pl.when((c.score >= s.ring_min_score) & (c.n_identities >= s.min_ring_identities))
        .then(pl.lit("black"))
        .when(c.authorised_share >= 0.5)
        .then(pl.lit("authorised"))
        .when(c.n_identities < s.min_ring_identities)
        .then(pl.lit("household"))
        .when(c.net_weight >= 0.5 * c.weight)
        .then(pl.lit("shared_network"))
        .otherwise(pl.lit("normal"))
    )
    cl = cl.with_columns(label=label)
    return cl.with_columns(explanation=_explain(cl)).sort("cluster")


def _explain(cl: pl.DataFrame) -> pl.Series:
    out = []
    for r in cl.iter_rows(named=True):
        span = (
            f"{_day(r['first_ts'])}..{_day(r['last_ts'])}" if r["first_ts"] else "no registrations"
        )
        parts = [
            f"{r['n_accounts']} accounts of {r['n_identities']} identities on "
            f"{len(r['platforms'])} platforms ({', '.join(r['platforms'][:6])}), "
            f"registered {span} from {r['n_devices']} devices "
            f"({r['per_device']:.1f} identities per device)",
        ]
        if r["counties"]:
            parts.append("owners' counties " + ", ".join(r["counties"][:8]))
        if r["far_share"]:
            parts.append(f"{r['far_share']:.0%} had the SMS code typed in another city or province")
        if r["elderly_share"]:
            parts.append(f"{r['elderly_share']:.0%} of owners aged 60+")
        if r["lockstep_accounts"]:
            parts.append(f"{r['lockstep_accounts']} in a lockstep deal/address block")
        if r["authorised_share"]:
            parts.append(
                f"{r['authorised_share']:.0%} inside the authorisation of "
                + ", ".join(r["teams"] or ["a registered team"])
            )
        parts.append(f"mean registration risk {r['risk_mean']:.2f}; label {r['label']}")
        out.append("; ".join(parts))
    return pl.Series("explanation", out, dtype=pl.String)


def _day(ts: dt.datetime | None) -> str:
    return ts.strftime("%Y-%m-%d") if ts else "?"


def _label_accounts(
    acc: pl.DataFrame, clusters: pl.DataFrame, edges: pl.DataFrame, s: RingSettings
) -> pl.DataFrame:
    c = pl.col
    # an account takes its ring's score only if a device, phone, address or payment account of
    # its own is in the ring (a shared network or a registration minute alone is not enough)
    strong = edges.filter(c.kind.is_in(["dev", "phone", "addr", "pay"]) & ~c.shared_network)
    attr_cluster = (
        strong.join(acc.select("node", "cluster"), on="node")
        .group_by(["attr", "cluster"])
        .agg(k=pl.len())
        .filter(c.k >= 2)
    )
    tied = (
        strong.join(acc.select("node", "cluster"), on="node")
        .join(attr_cluster.select("attr", "cluster"), on=["attr", "cluster"], how="semi")
        .select("node")
        .unique()
        .with_columns(tied=pl.lit(True))
    )
    a = acc.join(
        clusters.select("cluster", ring_score="score", ring_label="label"),
        on="cluster",
        how="left",
    ).join(tied, on="node", how="left")
    ring = pl.when(c.ring_label == "black").then(c.ring_score).otherwise(0.0).fill_null(0.0)
    ring_part = pl.when(c.tied.fill_null(False)).then(ring).otherwise(0.0)
    a = a.with_columns(score=pl.max_horizontal(c.own_score, ring_part).clip(0, 1))
    # inside a registered team's authorisation: not black, unless the code was relayed far away
    a = a.with_columns(
        score=pl.when(c.authorised & ~c.relayed)
        .then(pl.min_horizontal(c.score, pl.lit(0.1)))
        .otherwise(c.score)
    )
    label = (
        pl.when(c.score >= s.account_min_score)
        .then(pl.lit("black"))
        .when(c.authorised)
        .then(pl.lit("authorised"))
        .when(c.ring_label.is_in(["household", "shared_network", "authorised"]))
        .then(c.ring_label)
        .otherwise(pl.lit("normal"))
    )
    return a.with_columns(label=label, lockstep=c.block.is_not_null()).drop("tied")


# --- FRAUDAR ------------------------------------------------------------------------------------


def fraudar(rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The densest block of a bipartite graph by FRAUDAR's greedy peeling (Hooi et al. 2016).

    `rows`, `cols`: the edges as 0-based row and column indices (duplicates ignored). Edge weight
    1/log(column degree + 5). Repeatedly removes the node whose removal costs the least weight;
    returns (row indices, column indices, density = weight / nodes) of the best set seen."""
    if len(rows) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), 0.0
    pairs = np.unique(np.column_stack([rows, cols]).astype(np.int64), axis=0)
    r, cc = pairs[:, 0], pairs[:, 1]
    n_r, n_c = int(r.max()) + 1, int(cc.max()) + 1
    w = 1.0 / np.log(np.bincount(cc, minlength=n_c)[cc] + 5.0)
    u, v = r, cc + n_r  # one node space: rows then columns
    n = n_r + n_c
    prio = np.bincount(u, w, n) + np.bincount(v, w, n)
    ends = np.concatenate([u, v])
    others = np.concatenate([v, u])
    weights = np.concatenate([w, w])
    order = np.argsort(ends, kind="stable")
    start = np.searchsorted(ends[order], np.arange(n + 1))
    nbr, nw = others[order].tolist(), weights[order].tolist()
    start_l = start.tolist()
    present = np.bincount(ends, minlength=n) > 0
    alive = present.copy()
    prio_l = prio.tolist()
    heap = [(prio_l[i], i) for i in np.flatnonzero(present).tolist()]
    heapq.heapify(heap)
    total, n_alive = float(w.sum()), int(present.sum())
    best, best_at, removed = total / n_alive, 0, []
    alive_l = alive.tolist()
    while heap:
        p, x = heapq.heappop(heap)
        if not alive_l[x] or p != prio_l[x]:
            continue
        alive_l[x] = False
        removed.append(x)
        total -= prio_l[x]
        n_alive -= 1
        for k in range(start_l[x], start_l[x + 1]):
            y = nbr[k]
            if alive_l[y]:
                prio_l[y] -= nw[k]
                heapq.heappush(heap, (prio_l[y], y))
        if n_alive and total / n_alive > best:
            best, best_at = total / n_alive, len(removed)
    keep = present.copy()
    keep[np.asarray(removed[:best_at], dtype=np.int64)] = False
    nodes = np.flatnonzero(keep)
    return nodes[nodes < n_r], nodes[nodes >= n_r] - n_r, best


def lockstep(orders: pl.DataFrame, s: RingSettings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Dense blocks of account x (deal, shipping address, shipping phone), strongest first.

    Returns (block, account, density) and (block, column) frames."""
    c = pl.col
    empty = (
        pl.DataFrame(schema={"block": pl.Int64, "account": pl.String, "density": pl.Float64}),
        pl.DataFrame(schema={"block": pl.Int64, "column": pl.String}),
    )
    if not orders.height:
        return empty
    acct = c.platform.fill_null("?") + ":" + c.account_id
    e = (
        pl.concat(
            [
                orders.select(account=acct, column=pl.lit("deal:") + c.deal_id),
                orders.select(
                    account=acct,
                    column=pl.lit("addr:") + c.ship_address.str.replace_all(r"\s+", ""),
                ),
                orders.select(account=acct, column=pl.lit("to:") + c.ship_phone),
            ]
        )
        .drop_nulls()
        .unique()
        .sort(["account", "column"])
    )
    blocks, cols_out = [], []
    for b in range(1, s.lockstep_blocks + 1):
        if not e.height:
            break
        ra = e.select("account").unique().sort("account").with_row_index("r")
        ca = e.select("column").unique().sort("column").with_row_index("c")
        ee = e.join(ra, on="account").join(ca, on="column")
        rr, cc, density = fraudar(ee["r"].to_numpy(), ee["c"].to_numpy())
        inside = ee.filter(
            c.r.is_in(pl.Series(rr.astype(np.uint32)).implode())
            & c.c.is_in(pl.Series(cc.astype(np.uint32)).implode())
        ).height
        # lockstep: many accounts on the same few columns (a household's address, or a crowd of
        # accounts each with its own address and a popular coupon, is no lockstep)
        if len(rr) < s.lockstep_min_accounts or inside < s.lockstep_accounts_per_column * len(cc):
            break
        cols = ca.filter(c.c.is_in(pl.Series(cc.astype(np.uint32)).implode()))["column"]
        # the block's columns define the lockstep: every account with at least
        # `lockstep_min_edges` of its edges into them is in it (greedy peeling keeps only the
        # densest rows, and would leave the gang's one-order accounts out)
        accs = (
            e.filter(c.column.is_in(cols.implode()))
            .group_by("account")
            .len()
            .filter(c.len >= s.lockstep_min_edges)["account"]
            .sort()
        )
        accs = (
            pl.concat(
                [accs, ra.filter(c.r.is_in(pl.Series(rr.astype(np.uint32)).implode()))["account"]]
            )
            .unique()
            .sort()
        )
        blocks.append(pl.DataFrame({"block": b, "account": accs, "density": density}))
        cols_out.append(pl.DataFrame({"block": b, "column": cols}))
        e = e.filter(~(c.account.is_in(accs.implode()) & c.column.is_in(cols.implode())))
    if not blocks:
        return empty
    return pl.concat(blocks), pl.concat(cols_out)


def _promo_orders(
    orders: pl.DataFrame,
    acc: pl.DataFrame,
    blocks: pl.DataFrame,
    block_cols: pl.DataFrame,
    s: RingSettings,
) -> pl.DataFrame:
    """Deal orders of black accounts, and deal orders inside a lockstep block."""
    c = pl.col
    if not orders.height:
        return pl.DataFrame(schema={"order_id": pl.String, "account": pl.String, "why": pl.String})
    o = orders.with_columns(
        account=c.platform.fill_null("?") + ":" + c.account_id,
        addr="addr:" + c.ship_address.str.replace_all(r"\s+", ""),
        deal="deal:" + c.deal_id,
    ).filter(
        c.deal_id.is_not_null()
        | (c.amount_fen <= s.promo_max_paid_share * c.list_price_fen).fill_null(False)
    )
    black = acc.filter(c.label == "black").select("account")
    by_black = o.join(black, on="account", how="semi").with_columns(
        why=pl.lit("deal order of a black account")
    )
    in_block = (
        o.join(blocks.select("block", "account"), on="account")
        .join(block_cols.rename({"column": "addr"}), on=["block", "addr"], how="semi")
        .with_columns(why=pl.lit("deal order shipped inside a lockstep block"))
    )
    both = pl.concat([by_black, in_block.drop("block")], how="diagonal_relaxed")
    return (
        both.group_by("order_id", maintain_order=True)
        .agg(
            c.account.first(),
            c.platform.first(),
            c.deal_id.first(),
            c.amount_fen.first(),
            c.ship_address.first(),
            c.ts.first(),
            why=c.why.unique().sort().str.join("; "),
        )
        .sort("order_id")
    )


def promoter_report(registry: pl.DataFrame, registrations: pl.DataFrame) -> pl.DataFrame:
    """Per team (registered, or only seen as a registration's promoter code): issuer, area,
    devices, validity, and its registrations inside and outside its authorisation."""
    c = pl.col
    s = RingSettings()
    reg = _registrations(
        registrations.filter(c.promoter_id.is_not_null())
        if registrations.height
        else registrations,
        registry if registry.height else _empty("promoter"),
        s,
    )
    grants = registry.filter(c.action == "grant") if registry.height else _empty("promoter")
    teams = grants.group_by("team_id").agg(
        issuer=c.issuer.first(),
        counties=c.county.drop_nulls().n_unique(),
        devices=c.device_id.drop_nulls().n_unique(),
        valid=pl.concat_str(
            [c.valid_from.min().dt.strftime("%Y-%m-%d"), c.valid_to.max().dt.strftime("%Y-%m-%d")],
            separator="..",
        ),
    )
    used = reg.group_by(team_id="promoter_id").agg(
        inside=c.authorised.sum(),
        outside=(~c.authorised).sum(),
        why_outside=c.outside.drop_nulls().unique().sort().head(3).str.join("; "),
    )
    return (
        teams.join(used, on="team_id", how="full", coalesce=True)
        .with_columns(
            c.inside.fill_null(0),
            c.outside.fill_null(0),
            c.counties.fill_null(0),
            c.devices.fill_null(0),
        )
        .sort("team_id")
    )


# --- actions and linkage ------------------------------------------------------------------------


def _entry_ids(df: pl.DataFrame) -> pl.Series:
    canon = df.select(
        pl.concat_str(
            ["list_name", "partner", "entity", "ref"], separator="\x1f", ignore_nulls=True
        )
    ).to_series()
    return pl.Series("entry_id", sha256_32(canon.to_arrow()))


def list_entries(
    rings: Rings, orders: pl.DataFrame, now: dt.datetime, logins: pl.DataFrame | None = None
) -> pa.Table:
    """Freeze (used after registration, by an order or a login: evidence for police) or cancel
    (never used) each black account, per platform; cancel the lockstep deal orders."""
    c = pl.col
    black = rings.black()
    used = pl.concat(
        [
            f.select(account=c.platform.fill_null("?") + ":" + c.account_id)
            for f in (orders, logins)
            if f is not None and f.height
        ]
        or [pl.DataFrame(schema={"account": pl.String})]
    ).unique()
    acc = black.join(used.with_columns(used=pl.lit(True)), on="account", how="left").join(
        rings.clusters.select("cluster", "explanation"), on="cluster", how="left"
    )
    acc = acc.with_columns(
        list_name=pl.when(c.used.fill_null(False))
        .then(pl.lit("freeze"))
        .otherwise(pl.lit("cancel")),
    )
    accounts = acc.select(
        "list_name",
        partner="platform",
        entity_kind=pl.lit("account"),
        entity="account",
        action=pl.when(c.list_name == "freeze")
        .then(pl.lit("freeze the account (keep its data for police)"))
        .otherwise(pl.lit("cancel the account (opened with a harvested identity)")),
        reason=pl.lit("black account registered with a harvested identity (村推/地推)")
        + pl.when(c.cluster.is_not_null())
        .then(pl.lit(", ring ") + c.cluster)
        .otherwise(pl.lit("")),
        evidence=pl.coalesce(
            c.own_evidence,
            pl.lit("shares a device, phone, address or payment account with ring ")
            + c.cluster
            + ": "
            + c.explanation,
        ),
        ref=REF + pl.coalesce(c.cluster, c.account),
    )
    promo = rings.promo_orders.join(
        rings.accounts.select("account", ring=pl.coalesce(c.cluster, c.account)),
        on="account",
        how="left",
    ).with_columns(c.ring.fill_null(c.account))
    order_rows = promo.select(
        list_name=pl.lit("cancel"),
        partner="platform",
        entity_kind=pl.lit("order"),
        entity="order_id",
        action=pl.lit("cancel the order before it ships"),
        reason=pl.lit("new-user deal abused by a black account (薅羊毛)"),
        evidence=c.why + " " + c.account + ", shipped to " + c.ship_address.fill_null("?"),
        ref=REF + c.ring,
    )
    df = pl.concat([accounts, order_rows], how="vertical_relaxed")
    df = df.with_columns(
        entry_id=_entry_ids(df),
        created_ts=pl.lit(now).cast(pl.Datetime("ms", "UTC")),
        expires_ts=pl.lit(None, pl.Datetime("ms", "UTC")),
    )
    return df.select(LIST_SCHEMA.names).to_arrow().cast(LIST_SCHEMA)


def gang_notices(rings: Rings) -> list[dict[str, Any]]:
    """One notice per black ring for police and the medical-insurance bureau: counties, dates,
    victims (identities used), accounts per platform, devices and networks, lockstep orders."""
    c = pl.col
    black_rings = rings.clusters.filter(c.label == "black")
    members = rings.accounts.filter(c.cluster.is_in(black_rings["cluster"].implode()))
    promo = rings.promo_orders.join(members.select("account", "cluster"), on="account", how="inner")
    out = []
    for r in black_rings.iter_rows(named=True):
        m = members.filter((c.cluster == r["cluster"]) & (c.label == "black"))
        victims = (
            m.filter(c.phone.is_not_null())
            .group_by("phone")
            .agg(
                c.id_number.first(),
                c.name.first(),
                c.home_county.first(),
                c.age.first(),
                accounts=c.account.sort(),
            )
            .sort("phone")
        )
        po = promo.filter(c.cluster == r["cluster"])
        out.append(
            {
                "ring": r["cluster"],
                "to": ["police (网安)", "medical-insurance bureau (医保局)"],
                "score": round(float(r["score"]), 3),
                "explanation": r["explanation"],
                "counties": r["counties"],
                "first_registration": _iso(r["first_ts"]),
                "last_registration": _iso(r["last_ts"]),
                "victims": victims.height,
                "accounts": m.height,
                "accounts_per_platform": dict(
                    m.group_by("platform").len().sort("platform").iter_rows()
                ),
                "devices": sorted(d for d in m["device"].unique().to_list() if d),
                "promoter_codes": r["teams"],
                "promo_orders": po.height,
                "promo_addresses": sorted(a for a in po["ship_address"].unique().to_list() if a),
                "identities": victims.to_dicts(),
            }
        )
    return out


def identity_notices(rings: Rings) -> pl.DataFrame:
    """One row per account opened in the name of a person whose identity was used: whom to tell
    (phone, ID, name), which account on which platform, when, and what was done."""
    c = pl.col
    b = rings.black().filter(c.phone.is_not_null())
    return b.select(
        "phone",
        "id_number",
        "name",
        "platform",
        "account_id",
        registered_at=c.registered_ts,
        ring="cluster",
        message=pl.lit("一个")
        + c.platform
        + pl.lit("账号(")
        + c.account_id
        + pl.lit(")于")
        + c.registered_ts.dt.strftime("%Y-%m-%d")
        + pl.lit(
            "用您的身份证号和手机号注册，疑为冒充医保推广人员骗取信息后所注册；平台已冻结或注销。"
            "请勿再向陌生人提供身份证号和验证码。"
        ),
    ).sort(["phone", "platform", "account_id"])


def _iso(ts: dt.datetime | None) -> str | None:
    return ts.isoformat() if ts else None


@dataclass
class ActSummary:
    lists_added: int
    black_accounts: int
    rings: int
    promo_orders: int
    identities: int
    files: list[str]


def act(
    store: Store, rings: Rings, out_dir: str | Path | None = None, now: dt.datetime | None = None
) -> ActSummary:
    """Lists into the store, a case per black ring, and (if `out_dir`) the partners' files:
    lists/<platform>.csv, gangs.json, identity_notices.csv and .json, rings.csv."""
    now = now or dt.datetime.now(dt.UTC)
    d = load(store)
    entries = list_entries(rings, d["order"], now, d["login"])
    added = store.add_list_entries(entries)
    gangs = gang_notices(rings)
    for g in gangs:
        store.put_case(
            f"ring-{g['ring']}", "open", {k: v for k, v in g.items() if k != "identities"}
        )
    people = identity_notices(rings)
    files: list[str] = []
    if out_dir is not None:
        files = write_files(Path(out_dir), rings, pl.from_arrow(entries), gangs, people)
    return ActSummary(
        added,
        rings.black().height,
        len(gangs),
        rings.promo_orders.height,
        people["phone"].n_unique() if people.height else 0,
        files,
    )


def write_files(
    out: Path, rings: Rings, entries: pl.DataFrame, gangs: list[dict], people: pl.DataFrame
) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "lists").mkdir(exist_ok=True)
    files = []
    for (partner,), part in entries.sort("entry_id").group_by(["partner"], maintain_order=True):
        p = out / "lists" / f"{_safe(str(partner))}.csv"
        part.drop("entry_id").with_columns(
            created_ts=pl.col.created_ts.dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
            expires_ts=pl.col.expires_ts.dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
        ).write_csv(p)
        files.append(str(p))
    p = out / "gangs.json"
    p.write_text(json.dumps(gangs, ensure_ascii=False, indent=2, default=str) + "\n", "utf-8")
    files.append(str(p))
    p = out / "identity_notices.csv"
    people.with_columns(
        registered_at=pl.col.registered_at.dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
    ).write_csv(p)
    files.append(str(p))
    grouped = people.group_by("phone", maintain_order=True).agg(
        pl.col.id_number.first(),
        pl.col.name.first(),
        accounts=pl.struct("platform", "account_id", "registered_at", "ring"),
    )
    p = out / "identity_notices.json"
    p.write_text(
        json.dumps(grouped.to_dicts(), ensure_ascii=False, indent=2, default=str) + "\n", "utf-8"
    )
    files.append(str(p))
    p = out / "rings.csv"
    write_rings_csv(rings, p)
    files.append(str(p))
    return files


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "_"


def write_rings_csv(rings: Rings, path: str | Path) -> int:
    """The contract file: account,score,cluster,label (one row per account)."""
    df = rings.accounts.select(
        "account", score=pl.col.score.round(4), cluster="cluster", label="label"
    ).sort(["score", "account"], descending=[True, False])
    df.write_csv(path)
    return df.height


def summary(rings: Rings) -> Mapping[str, Any]:
    a = rings.accounts
    return {
        "accounts": a.height,
        "labels": dict(a.group_by("label").len().sort("label").iter_rows()),
        "clusters": rings.clusters.height,
        "black_rings": rings.clusters.filter(pl.col.label == "black").height,
        "lockstep_blocks": rings.blocks["block"].n_unique() if rings.blocks.height else 0,
        "promo_orders": rings.promo_orders.height,
    }


__all__ = [
    "LABELS",
    "RingSettings",
    "Rings",
    "act",
    "find_rings",
    "find_rings_in",
    "fraudar",
    "gang_notices",
    "identity_notices",
    "list_entries",
    "lockstep",
    "write_rings_csv",
]
