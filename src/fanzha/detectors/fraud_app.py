"""Fraud apps and remote control: installs of listed apps, remote-control and screen sharing.

Fraud caught: scammers have the victim install a fake app (a "claims assistant", a "security
check", a "fast loan") or a remote-control tool and share the screen, then move the money
themselves or read the SMS codes (report 004: remote-control programs; report 003: the centres
"研判锁定涉诈App"). Looks at app events from phone vendors or the anti-fraud app, and report
events about apps folded by `fanzha.intel` (listed = suspected or confirmed, not expired):
- a listed app installed, opened or used for a session: exposure (scaled by the listing's
  confidence); when an app becomes listed, it looks back over `lookback_days` of installs;
- a remote session or screen share by a remote-control tool (`fraud_app.yaml`) on a phone that
  has not used one for `habit_days` before (an IT worker who uses ToDesk every week is not
  signalled), stronger if the tool was installed just before;
- a remote session or screen share by an app that is neither a remote-control tool, a meeting
  app nor a known app: fake apps carry their own screen sharing, so the app becomes a suspect
  (role "suspect" on the app) and later installs of it are exposures too;
- screen sharing in a meeting app or installing a remote-control tool: weak signs (scores below
  victim risk's threshold) that only count next to other exposure.
Signals on the person: role "exposed", via the app id.
Cannot see: apps sideloaded on phones the vendor does not report, or sharing on a PC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from importlib import resources
from typing import ClassVar

import polars as pl
import pyarrow as pa
import yaml

from fanzha.engine.protocol import Batch, Lookup, State, empty_signals, history_key, signals_from
from fanzha.events import TS_TYPE
from fanzha.intel import (
    FACT_SCHEMA,
    LISTING_SCHEMA,
    IntelSettings,
    facts_from_reports,
    facts_from_signals,
    looked_back,
    status_at,
    update,
)

_DATA = yaml.safe_load(
    resources.files("fanzha.detectors").joinpath("fraud_app.yaml").read_text("utf-8")
)
SESSIONS_SCHEMA = pa.schema(
    [pa.field("phone", pa.string()), pa.field("first_ts", TS_TYPE)]
)  # first remote-control session seen per phone
SHARING = ("remote_session", "screen_share")


@dataclass(frozen=True)
class FraudAppSettings:
    score_listed_install: float = 0.7  # x the listing's confidence
    score_listed_session: float = 0.85
    score_remote_first: float = 0.6  # first remote-control session on this phone
    score_remote_fresh: float = 0.7  # ... with the tool installed `fresh_minutes` before
    score_unknown_sharing: float = 0.7  # an unknown app shares the screen (and is a suspect)
    score_remote_install: float = 0.25  # weak signs
    score_meeting_share: float = 0.2
    habit_days: float = 1.0
    fresh_minutes: float = 60.0
    lookback_days: float = 7.0
    remote_control: tuple[str, ...] = tuple(_DATA["remote_control"])
    meeting: tuple[str, ...] = tuple(_DATA["meeting"])
    known: tuple[str, ...] = tuple(_DATA["known"])
    intel: IntelSettings = field(default_factory=IntelSettings)


@dataclass(frozen=True)
class FraudApp:
    """Signals for people who install fraud apps or let someone control their phone."""

    settings: FraudAppSettings = field(default_factory=FraudAppSettings)
    name: ClassVar[str] = "fraud_app"
    kinds: ClassVar[tuple[str, ...]] = ("app", "report")

    def initial_state(self) -> State:
        return {
            "facts": FACT_SCHEMA.empty_table(),
            "listings": LISTING_SCHEMA.empty_table(),
            "sessions": SESSIONS_SCHEMA.empty_table(),
        }

    def _prefix(self, names: tuple[str, ...]) -> pl.Expr:
        return pl.any_horizontal(
            [pl.col.app_id.str.starts_with(p) for p in names] or [pl.lit(False)]
        )

    def lookups(self, batch: Batch, state: State) -> list[Lookup]:
        apps = _apps(batch.get("app"))
        out = []
        sess = apps.filter(
            pl.col.action.is_in(SHARING) & self._prefix(self.settings.remote_control)
        )
        if sess.height:
            since = sess["ts"].min() - dt.timedelta(minutes=self.settings.fresh_minutes)
            out.append(Lookup("app", ("phone",), tuple(sorted(set(sess["phone"]))), since))
        new = facts_from_reports(batch.get("report"), ("app",))
        if new.height:
            _, listings = update(state["facts"], state["listings"], new, self.settings.intel)
            trig = listings.filter(
                pl.col.seq.is_in(new["seq"].implode())
                & pl.col.status.is_in(["suspected", "confirmed"])
            )
            if trig.height:
                since = trig["ts"].min() - dt.timedelta(days=self.settings.lookback_days)
                out.append(Lookup("app", ("app_id",), tuple(sorted(set(trig["value"]))), since))
        return out

    def step(self, batch: Batch, state: State) -> tuple[pa.Table, State]:
        s = self.settings
        apps = _apps(batch.get("app"))
        reports = facts_from_reports(batch.get("report"), ("app",))
        old = pl.from_arrow(state["facts"])
        if apps.height == 0 and reports.height == 0:
            return empty_signals(), state
        remote = self._prefix(s.remote_control)
        meeting = self._prefix(s.meeting)
        known = self._prefix(s.known)
        sharing = pl.col.action.is_in(SHARING)
        # fake apps that share the screen themselves: the app is a suspect
        unknown = apps.filter(sharing & ~remote & ~meeting & ~known)
        listed_before = old.filter(pl.col.by == "detector")["value"]
        suspects = self._suspects(unknown.filter(~pl.col.app_id.is_in(listed_before.implode())))
        new = pl.concat([reports, facts_from_signals(suspects)])
        facts, listings = update(state["facts"], state["listings"], new, s.intel)
        hits = status_at(apps, listings, "app_id").filter(pl.col.listed)
        listed = hits.select(
            *_APP_COLS,
            score=pl.when(pl.col.l_status == "confirmed").then(1.0).otherwise(pl.col.l_confidence)
            * pl.when(sharing).then(s.score_listed_session).otherwise(s.score_listed_install),
            sign=pl.lit("listed"),
            status=pl.col.l_status,
            fraud_type=pl.col.l_fraud_type,
            by=pl.col.l_source,
        )
        sessions, first = self._first_sessions(apps.filter(sharing & remote), state, batch)
        weak = apps.filter((sharing & meeting) | ((pl.col.action == "install") & remote)).select(
            *_APP_COLS,
            score=pl.when(sharing).then(s.score_meeting_share).otherwise(s.score_remote_install),
            sign=pl.when(sharing).then(pl.lit("meeting_share")).otherwise(pl.lit("remote_install")),
        )
        own = unknown.select(
            *_APP_COLS, score=pl.lit(s.score_unknown_sharing), sign=pl.lit("unknown_sharing")
        )
        back = self._looked_back(batch, listings, reports["seq"])
        hits = pl.concat([listed, sessions, own, weak, back], how="diagonal_relaxed")
        sigs = [self._exposed(hits), suspects]
        out = pa.concat_tables(sigs) if any(t.num_rows for t in sigs) else empty_signals()
        if new.height == 0 and first is None:
            return out, state
        new_state = dict(state)
        if new.height:
            new_state["facts"] = facts.to_arrow().cast(FACT_SCHEMA)
            new_state["listings"] = listings.to_arrow().cast(LISTING_SCHEMA)
        if first is not None:
            new_state["sessions"] = first
        return out, new_state

    def _first_sessions(
        self, sess: pl.DataFrame, state: State, batch: Batch
    ) -> tuple[pl.DataFrame, pa.Table | None]:
        """Remote-control sessions on phones not habitually using one; the new first-use table."""
        s = self.settings
        if sess.height == 0:
            return pl.DataFrame(), None
        seen = pl.from_arrow(state["sessions"])
        sess = (
            sess.sort("seq")
            .join(seen, on="phone", how="left")
            .with_columns(first_ts=pl.min_horizontal("first_ts", pl.col.ts.cum_min().over("phone")))
        )
        habitual = pl.col.first_ts <= pl.col.ts - dt.timedelta(days=s.habit_days)
        hist = _apps(batch.get(history_key("app")))
        installs = hist.filter(pl.col.action == "install").select(
            "phone", "app_id", i_seq="seq", i_ts="ts"
        )
        fresh = (
            sess.join(installs, on=["phone", "app_id"])
            .filter(
                (pl.col.i_seq < pl.col.seq)
                & (pl.col.i_ts >= pl.col.ts - dt.timedelta(minutes=s.fresh_minutes))
            )
            .select("event_id")
            .unique()
        )
        hits = (
            sess.filter(~habitual)
            .with_columns(fresh=pl.col.event_id.is_in(fresh["event_id"].implode()))
            .select(
                *_APP_COLS,
                score=pl.when(pl.col.fresh)
                .then(s.score_remote_fresh)
                .otherwise(s.score_remote_first),
                sign=pl.when(pl.col.fresh)
                .then(pl.lit("remote_after_install"))
                .otherwise(pl.lit("remote_first")),
            )
        )
        first = (
            pl.concat([seen, sess.select("phone", first_ts="ts")])
            .group_by("phone")
            .agg(pl.col.first_ts.min())
            .sort("phone")
        )
        return hits, first.to_arrow().cast(SESSIONS_SCHEMA)

    def _looked_back(
        self, batch: Batch, listings: pl.DataFrame, new_seqs: pl.Series
    ) -> pl.DataFrame:
        """Installs and uses of an app logged before it became listed in this batch."""
        past = _apps(batch.get(history_key("app")))
        if past.height == 0 or new_seqs.len() == 0:
            return pl.DataFrame()
        hits = looked_back(
            past.with_columns(_key=pl.col.event_id),
            listings,
            new_seqs,
            "app_id",
            dt.timedelta(days=self.settings.lookback_days),
        )
        if hits.height == 0:
            return pl.DataFrame()
        conf = pl.when(pl.col.t_status == "confirmed").then(1.0).otherwise(pl.col.t_confidence)
        return hits.select(
            *[c for c in _APP_COLS if c not in ("seq", "ts")],
            seq=pl.col.t_seq,
            ts=pl.max_horizontal("ts", "t_ts"),
            contact_ts=pl.col.ts,
            score=conf
            * pl.when(pl.col.action.is_in(SHARING))
            .then(self.settings.score_listed_session)
            .otherwise(self.settings.score_listed_install),
            sign=pl.lit("listed"),
            status=pl.col.t_status,
            fraud_type=pl.col.t_fraud_type,
            by=pl.col.t_source,
            found=pl.lit("look-back"),
        )

    def _suspects(self, unknown: pl.DataFrame) -> pa.Table:
        if unknown.height == 0:
            return empty_signals()
        first = unknown.sort("seq", "event_id").unique("app_id", keep="first")
        df = first.select(
            "seq",
            "ts",
            entity_kind=pl.lit("app"),
            entity=pl.col.app_id,
            score=pl.lit(self.settings.score_unknown_sharing),
            evidence=pl.col.app_id
            + pl.when(pl.col.app_name.is_not_null())
            .then(pl.lit(" (") + pl.col.app_name + ")")
            .otherwise(pl.lit(""))
            + " ran a "
            + pl.col.action.str.replace("_", " ")
            + " on "
            + pl.col.phone
            + ": an app that is not a remote-control or meeting tool shares the screen",
            details=pl.struct(
                role=pl.lit("suspect"), app_name=pl.col.app_name, first_seen_by=pl.col.phone
            ).struct.json_encode(),
            event_ids=pl.concat_list(pl.col.event_id),
        )
        return signals_from(df, self.name, ["entity_kind", "entity"])

    def _exposed(self, hits: pl.DataFrame) -> pa.Table:
        if hits.height == 0:
            return empty_signals()
        for c, t in (
            ("status", pl.String),
            ("fraud_type", pl.String),
            ("by", pl.String),
            ("found", pl.String),
            ("contact_ts", pl.Datetime("ms", "UTC")),
        ):
            if c not in hits.columns:
                hits = hits.with_columns(pl.lit(None, t).alias(c))
        # one signal per event: the strongest reading of it
        hits = (
            hits.with_columns(
                found=pl.col.found.fill_null("contact"),
                contact_ts=pl.col.contact_ts.fill_null(pl.col.ts),
            )
            .sort("score", "sign", descending=[True, False])
            .unique(["event_id", "found"], keep="first")
        )
        why = (
            pl.when(pl.col.sign == "listed")
            .then(
                pl.when(pl.col.status == "confirmed")
                .then(pl.lit("an app confirmed as fraud by "))
                .otherwise(pl.lit("an app suspected on the word of "))
                + pl.col.by.fill_null("?")
            )
            .when(pl.col.sign == "remote_after_install")
            .then(pl.lit("a remote-control tool installed minutes before, first use on this phone"))
            .when(pl.col.sign == "remote_first")
            .then(pl.lit("a remote-control tool, first use on this phone"))
            .when(pl.col.sign == "unknown_sharing")
            .then(pl.lit("an unknown app sharing the screen"))
            .when(pl.col.sign == "meeting_share")
            .then(pl.lit("a meeting app sharing the screen (weak sign alone)"))
            .otherwise(pl.lit("a remote-control tool installed (weak sign alone)"))
        )
        df = hits.with_columns(
            entity_kind=pl.lit("phone"),
            entity=pl.col.phone,
            score=pl.col.score.clip(0.0, 1.0),
            evidence=pl.col.phone
            + " "
            + pl.col.action.str.replace("_", " ")
            + ": "
            + pl.col.app_id
            + pl.when(pl.col.app_name.is_not_null())
            .then(pl.lit(" (") + pl.col.app_name + ")")
            .otherwise(pl.lit(""))
            + ", "
            + why
            + pl.when(pl.col.found == "look-back")
            .then(pl.lit("; before the app was listed"))
            .otherwise(pl.lit("")),
            details=pl.struct(
                role=pl.lit("exposed"),
                via=pl.col.app_id,
                via_kind=pl.lit("app"),
                channel=pl.col.action,
                sign=pl.col.sign,
                listing=pl.col.status,
                contact_ts_ms=pl.col.contact_ts.dt.epoch("ms"),
                found=pl.col.found,
            ).struct.json_encode(),
            event_ids=pl.concat_list(pl.col.event_id),
        )
        return signals_from(df, self.name, ["event_id", "found", "status"])


_APP_COLS = ("seq", "ts", "event_id", "phone", "app_id", "app_name", "action")
_APP_SCHEMA = {
    "seq": pl.Int64,
    "ts": pl.Datetime("ms", "UTC"),
    "event_id": pl.String,
    "phone": pl.String,
    "app_id": pl.String,
    "app_name": pl.String,
    "action": pl.String,
}


def _apps(t: pa.Table | None) -> pl.DataFrame:
    if t is None or t.num_rows == 0:
        return pl.DataFrame(schema=_APP_SCHEMA)
    return pl.from_arrow(t).select(list(_APP_SCHEMA)).cast(_APP_SCHEMA)  # type: ignore[arg-type]
