"""Access watch, statistics: each account's day against its own history and its peers', ranked
per site within an alert budget.

Fraud caught: insiders who steal customer records without tripping a hard rule, e.g. a temporary
hire who reads far more waybills than any packer (report 004: gangs placed people in cloud
warehouses as temporary hires), or a business-hall clerk who looks up customers day after day
(report 003: 镇江, a year of selling customers' data). Also ranks the days on which the hard rules
of `access_rules` fired, so that a site's security officer sees the worst accounts first.
Looks at: `waybill_access` (records read, read at night, exported, per account and local day),
`roster` (role: an account is compared with peers of the same role at the same site) and the
signals of `access_rules`. When the log's event time passes the end of a local day (plus a grace
period) the day is closed: every feature gets a robust z-score against the account's own earlier
days ((x - median) / (1.4826 MAD), at least 3 days, days that were flagged left out so a thief
does not become the norm) and against its peers that day (leave-one-out); a feature is anomalous
when it is far above both (or above the one that exists). The day's score combines the largest
such z with the hard rules' score. The site's accounts are ranked by it; `within_budget` marks the
top `budget` of them (a share of the site's active accounts, at least `budget_min`), which is what
the policy turns into alerts, so an officer gets at most that many a day.
Cannot see: accesses logged late (after the day closed: counted as late, not scored), a thief
whose days look like his peers' (slow, by day, every day from the first day), or data taken
outside the system.
Why no pyod: a site has a handful to a few dozen accounts a day and three features; a robust
z-score per feature is exact, explainable in a sentence and needs no model; ECOD on three features
is the same tail test without the per-account baseline.
Not keyed by site (no `partition_by`): a day closes when the log's time over ALL sites passes it,
and the closing access (any site's) gives the signal its seq; a shard of sites would close days
later and call other accesses late. The sharding check catches it (tests/engine).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl
import pyarrow as pa

from fanzha.detectors.access_rules import TOUCH
from fanzha.engine.protocol import Batch, State, empty_signals, signals_from, signals_key

FEATURES = ("records", "night_records", "export_records")
_TS = pa.timestamp("ms", tz="UTC")
CLOCK_SCHEMA = pa.schema([("watermark", _TS), ("closed", pa.int64())])
OPEN_SCHEMA = pa.schema(
    [("site", pa.string()), ("account", pa.string()), ("day", pa.int64()),
     ("n_access", pa.int64()), *[(f, pa.int64()) for f in FEATURES],
     ("rule_score", pa.float64()), ("rule_hits", pa.int64()), ("rules", pa.list_(pa.string())),
     ("first_seq", pa.int64()), ("first_event", pa.string()), ("last_seq", pa.int64()),
     ("last_event", pa.string())]
)  # fmt: skip
HISTORY_SCHEMA = pa.schema(
    [("site", pa.string()), ("account", pa.string()), ("day", pa.int64()),
     *[(f, pa.int64()) for f in FEATURES], ("flagged", pa.bool_())]
)  # fmt: skip
ROLES_SCHEMA = pa.schema(
    [("site", pa.string()), ("account", pa.string()), ("role", pa.string()), ("seq", pa.int64())]
)
_G = ["site", "account"]
DAY_MS = 86_400_000


@dataclass(frozen=True)
class AccessAnomalySettings:
    utc_offset_hours: float = 8.0
    night_hours: tuple[int, int] = (0, 6)
    grace_hours: float = 2.0  # a day closes when the log's time is this far past its end
    history_days: int = 28
    min_history_days: int = 3
    min_peers: int = 2
    z_half: float = 4.0  # the z at which the statistical score is 0.5
    min_score: float = 0.35  # account-days scored lower are not signalled
    alert_score: float = 0.5  # ... and lower than this are never within the budget
    budget_share: float = 0.01  # of the site's active accounts that day
    budget_min: int = 1


@dataclass(frozen=True)
class AccessAnomaly:
    """Each account's day scored against its own history and its peers, ranked per site."""

    settings: AccessAnomalySettings = field(default_factory=AccessAnomalySettings)
    name: ClassVar[str] = "access_anomaly"
    kinds: ClassVar[tuple[str, ...]] = ("waybill_access", "roster")
    signal_inputs: ClassVar[tuple[str, ...]] = ("access_rules",)

    def initial_state(self) -> State:
        return {
            "clock": CLOCK_SCHEMA.empty_table(),
            "open": OPEN_SCHEMA.empty_table(),
            "history": HISTORY_SCHEMA.empty_table(),
            "roles": ROLES_SCHEMA.empty_table(),
        }

    def step(self, batch: Batch, state: State) -> tuple[pa.Table, State]:
        roster = batch.get("roster")
        acc_t = batch.get("waybill_access")
        new_state = dict(state)
        if roster is not None and roster.num_rows:
            r = pl.from_arrow(roster).select(
                "site", account="operator_account", role="role", seq="seq"
            ).filter(pl.col.role.is_not_null())
            roles = pl.concat([pl.from_arrow(state["roles"]), r]).sort("seq")
            new_state["roles"] = roles.unique(_G, keep="last").to_arrow().cast(ROLES_SCHEMA)
        if acc_t is None or acc_t.num_rows == 0:
            return empty_signals(), new_state
        s = self.settings
        off = int(s.utc_offset_hours * 3_600_000)
        grace = int(s.grace_hours * 3_600_000)
        clock = pl.from_arrow(state["clock"])
        wm0 = clock["watermark"][0] if clock.height else None
        closed0 = clock["closed"][0] if clock.height else None
        a = pl.from_arrow(acc_t).sort("seq")
        a = a.with_columns(
            account=pl.col.operator_account,
            local_ms=pl.col.ts.dt.epoch("ms") + off,
            wm=pl.col.ts.cum_max(),
        )
        if wm0 is not None:
            a = a.with_columns(wm=pl.max_horizontal("wm", pl.lit(wm0, _pl_ts())))
        a = a.with_columns(
            day=pl.col.local_ms // DAY_MS,
            hour=(pl.col.local_ms // 3_600_000) % 24,
            through=(pl.col.wm.dt.epoch("ms") + off - grace) // DAY_MS - 1,
        )
        rules = self._rule_hits(batch.get(signals_key("access_rules")))
        live = a.filter(pl.col.day > pl.col.through)  # later rows of a closed day are late
        opened = self._merge_open(pl.from_arrow(state["open"]), live, rules)
        through = int(a["through"].max())
        first_day = (closed0 + 1) if closed0 is not None else opened["day"].min()
        outs = []
        history = pl.from_arrow(state["history"])
        roles = pl.from_arrow(new_state["roles"])
        if first_day is not None:
            for d in range(int(first_day), through + 1):
                rows = opened.filter(pl.col.day == d)
                if not rows.height:
                    continue
                closer = a.filter(pl.col.through >= d).head(1)
                sig, scored = self._close_day(rows, history, roles, closer)
                outs.append(sig)
                history = pl.concat([history, scored])
                opened = opened.filter(pl.col.day != d)
        closed = through if closed0 is None else max(closed0, through)
        history = history.filter(pl.col.day > closed - s.history_days)
        new_state["clock"] = pa.table(
            {"watermark": [a["wm"].max()], "closed": [closed]}, schema=CLOCK_SCHEMA
        )
        new_state["open"] = opened.to_arrow().cast(OPEN_SCHEMA)
        new_state["history"] = history.to_arrow().cast(HISTORY_SCHEMA)
        sigs = [t for t in outs if t.num_rows]
        return (pa.concat_tables(sigs) if sigs else empty_signals()), new_state

    def _rule_hits(self, sigs: pa.Table | None) -> pl.DataFrame:
        schema = {"seq": pl.Int64, "rule_score": pl.Float64, "rules": pl.List(pl.String)}
        if sigs is None or sigs.num_rows == 0:
            return pl.DataFrame(schema=schema)
        df = pl.from_arrow(sigs).select(
            "seq",
            rule_score="score",
            rules=pl.col.details.str.json_decode(pl.Struct({"rules": pl.List(pl.String)}))
            .struct.field("rules"),
        )
        return df.group_by("seq").agg(
            pl.col.rule_score.max(), pl.col.rules.list.explode(keep_nulls=False).unique()
        ).cast(schema)

    def _merge_open(self, old: pl.DataFrame, live: pl.DataFrame, rules: pl.DataFrame):
        lo, hi = self.settings.night_hours
        touch = pl.col.action.is_in(TOUCH)
        rec = pl.when(touch).then(pl.col.record_count.fill_null(1)).otherwise(0)
        night = (pl.col.hour >= lo) & (pl.col.hour < hi)
        x = live.join(rules, on="seq", how="left").with_columns(
            records=rec,
            night_records=pl.when(night).then(rec).otherwise(0),
            export_records=pl.when(pl.col.action == "export").then(rec).otherwise(0),
        )
        new = x.group_by([*_G, "day"]).agg(
            n_access=pl.len().cast(pl.Int64),
            **{f: pl.col(f).sum().cast(pl.Int64) for f in FEATURES},
            rule_score=pl.col.rule_score.max().fill_null(0.0),
            rule_hits=pl.col.rule_score.is_not_null().sum().cast(pl.Int64),
            rules=pl.col.rules.list.explode(keep_nulls=False).drop_nulls().unique().sort(),
            first_seq=pl.col.seq.min(),
            first_event=pl.col.event_id.sort_by("seq").first(),
            last_seq=pl.col.seq.max(),
            last_event=pl.col.event_id.sort_by("seq").last(),
        )
        both = pl.concat([old, new.select(old.columns).cast(dict(old.schema))])
        return (
            both.sort("first_seq")
            .group_by([*_G, "day"], maintain_order=True)
            .agg(
                pl.col.n_access.sum(),
                *[pl.col(f).sum() for f in FEATURES],
                pl.col.rule_score.max(),
                pl.col.rule_hits.sum(),
                pl.col.rules.list.explode(keep_nulls=False).drop_nulls().unique().sort(),
                pl.col.first_seq.first(),
                pl.col.first_event.first(),
                pl.col.last_seq.last(),
                pl.col.last_event.last(),
            )
            .cast(dict(old.schema))
        )

    def _close_day(
        self,
        rows: pl.DataFrame,
        history: pl.DataFrame,
        roles: pl.DataFrame,
        closer: pl.DataFrame,
    ) -> tuple[pa.Table, pl.DataFrame]:
        s = self.settings
        rows = rows.join(roles.select(*_G, "role"), on=_G, how="left").with_columns(
            role=pl.col.role.fill_null("staff")
        )
        own = (
            history.filter(~pl.col.flagged)
            .sort("day")
            .group_by(_G)
            .agg(pl.all().tail(s.history_days))
            .explode([*FEATURES, "day", "flagged"])
        )
        own_stats = own.group_by(_G).agg(
            n_hist=pl.len(), **_med_mad({f: pl.col(f) for f in FEATURES}, "own")
        )
        pairs = rows.select(*_G, "role").join(
            rows.select("site", "role", *FEATURES, peer="account"), on=["site", "role"]
        ).filter(pl.col.account != pl.col.peer)
        peer_stats = pairs.group_by(_G).agg(
            n_peers=pl.len(), **_med_mad({f: pl.col(f) for f in FEATURES}, "peer")
        )
        df = (
            rows.join(own_stats, on=_G, how="left")
            .join(peer_stats, on=_G, how="left")
            .with_columns(
                n_hist=pl.col.n_hist.fill_null(0), n_peers=pl.col.n_peers.fill_null(0)
            )
        )
        zs = []
        for f in FEATURES:
            z_own = pl.when(pl.col.n_hist >= s.min_history_days).then(
                _z(pl.col(f), pl.col(f"{f}_own_med"), pl.col(f"{f}_own_mad"))
            )
            z_peer = pl.when(pl.col.n_peers >= s.min_peers).then(
                _z(pl.col(f), pl.col(f"{f}_peer_med"), pl.col(f"{f}_peer_mad"))
            )
            df = df.with_columns(
                z_own.alias(f"{f}_z_own"),
                z_peer.alias(f"{f}_z_peer"),
                pl.min_horizontal(z_own, z_peer).alias(f"{f}_z"),
            )
            zs.append(f"{f}_z")
        df = df.with_columns(
            stat_z=pl.max_horizontal([pl.col(c).fill_null(0.0) for c in zs]).clip(lower_bound=0),
            top_feature=pl.concat_list([pl.col(c).fill_null(0.0) for c in zs]).list.arg_max(),
        ).with_columns(
            stat_score=pl.col.stat_z**2 / (pl.col.stat_z**2 + s.z_half**2),
        ).with_columns(
            score=(1 - (1 - pl.col.stat_score) * (1 - pl.col.rule_score)).clip(0.0, 1.0)
        )
        df = df.sort(["site", "score", "account"], descending=[False, True, False]).with_columns(
            rank=pl.int_range(1, pl.len() + 1).over("site"),
            accounts=pl.len().over("site"),
        ).with_columns(
            budget=pl.max_horizontal(
                pl.lit(s.budget_min),
                (pl.col.accounts * s.budget_share).floor().cast(pl.Int64),
            )
        ).with_columns(
            within_budget=(pl.col.rank <= pl.col.budget) & (pl.col.score >= s.alert_score)
        )
        scored = df.select(
            *_G, "day", *FEATURES, flagged=pl.col.score >= s.alert_score
        ).cast(dict(HISTORY_SCHEMA_PL))
        hits = df.filter(pl.col.score >= s.min_score)
        if not hits.height:
            return empty_signals(), scored
        c = closer.row(0, named=True)
        feat = pl.lit(pl.Series(FEATURES)).get(pl.col.top_feature)
        date = pl.from_epoch(pl.col.day * DAY_MS, "ms").dt.strftime("%Y-%m-%d")
        hits = hits.with_columns(
            seq=pl.lit(c["seq"], pl.Int64),
            ts=pl.lit(c["ts"], _pl_ts()),
            entity_kind=pl.lit("operator_account"),
            entity=pl.col.account,
            date=date,
        )
        hits = hits.with_columns(
            evidence=pl.col.account
            + pl.lit(" at ")
            + pl.col.site
            + pl.lit(" on ")
            + pl.col.date
            + pl.lit(": ")
            + pl.col.records.cast(pl.String)
            + pl.lit(" records read (")
            + pl.col.night_records.cast(pl.String)
            + pl.lit(" at night, ")
            + pl.col.export_records.cast(pl.String)
            + pl.lit(" exported); peers' median ")
            + _num(pl.col.records_peer_med)
            + pl.lit(", own median ")
            + _num(pl.col.records_own_med)
            + pl.lit("; largest robust z ")
            + pl.col.stat_z.round(1).cast(pl.String)
            + pl.lit(" (")
            + feat
            + pl.lit(")")
            + pl.when(pl.col.rule_hits > 0)
            .then(
                pl.lit("; ")
                + pl.col.rule_hits.cast(pl.String)
                + pl.lit(" accesses broke rules: ")
                + pl.col.rules.list.join(", ")
            )
            .otherwise(pl.lit(""))
            + pl.lit("; rank ")
            + pl.col.rank.cast(pl.String)
            + pl.lit(" of ")
            + pl.col.accounts.cast(pl.String)
            + pl.lit(" accounts at the site that day (budget ")
            + pl.col.budget.cast(pl.String)
            + pl.lit(")"),
            details=pl.struct(
                role=pl.lit("insider"),
                site="site",
                account="account",
                date="date",
                local_day="day",
                staff_role="role",
                **{f: pl.col(f) for f in FEATURES},
                **{f"{f}_z_own": pl.col(f"{f}_z_own") for f in FEATURES},
                **{f"{f}_z_peer": pl.col(f"{f}_z_peer") for f in FEATURES},
                stat_z="stat_z",
                rule_score="rule_score",
                rules="rules",
                rank="rank",
                accounts="accounts",
                budget="budget",
                within_budget="within_budget",
                first_seq="first_seq",
                last_seq="last_seq",
            ).struct.json_encode(),
            event_ids=pl.concat_list("first_event", "last_event").list.unique(maintain_order=True),
        )
        return signals_from(hits, self.name, ["site", "account", "day"]), scored


HISTORY_SCHEMA_PL = pl.Schema(pl.from_arrow(HISTORY_SCHEMA.empty_table()).schema)


def _num(x: pl.Expr) -> pl.Expr:
    return pl.when(x.is_null()).then(pl.lit("n/a")).otherwise(x.round(0).cast(pl.Int64).cast(pl.String))


def _pl_ts() -> pl.Datetime:
    return pl.Datetime("ms", "UTC")


def _med_mad(cols: dict[str, pl.Expr], tag: str) -> dict[str, pl.Expr]:
    out = {}
    for f, c in cols.items():
        out[f"{f}_{tag}_med"] = c.median()
        out[f"{f}_{tag}_mad"] = (c - c.median()).abs().median()
    return out


def _z(x: pl.Expr, med: pl.Expr, mad: pl.Expr) -> pl.Expr:
    """Robust z: (x - median) / (1.4826 MAD), the scale floored at a Poisson-like sqrt(median)+1
    so that a feature that is nearly always 0 does not make 1 look like a thousand sigmas."""
    scale = pl.max_horizontal(1.4826 * mad, med.sqrt() + 1.0)
    return (x - med) / scale

