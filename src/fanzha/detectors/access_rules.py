"""Access watch, hard rules: insiders and intruders reading personal data in a warehouse, a shop or
a telecom hall's CRM, access by access.

Fraud caught: the theft of customer records that feeds fake customer-service refund scams. Report
004: gangs got into e-commerce cloud warehouses as temporary hires or at dawn, installed
remote-control programs on the waybill-printing PCs, or kept using the sub-accounts of people who
had left, and sold the waybills at 3-5 yuan each. Report 003: a telecom business-hall employee
sold customers' data for a year (镇江). Law art. 29: data custodians must guard it.
Looks at: `waybill_access` (look-ups, prints, exports and logins of any system holding personal
data) and `roster` (hire, leave, disable). Each access is judged in log order against what came
before it:
- `left_account`: the account's owner has left (or the account was disabled) and it is used;
- `remote_tool`: a remote-control program (TeamViewer, 向日葵/Sunlogin, ToDesk, AnyDesk, ...) is
  running while records are read (at a login alone it is usually IT support: a low score);
- `new_device` / `new_network`: a PC or a network (IPv4 /24) the site had never seen, within a day
  of its first use, once the site has a day of history;
- `night_bulk`: the account has touched >= N records in one night (local 00:00-06:00);
- `sequential_scan`: >= N records read whose waybill or order numbers follow one another, each
  within minutes of the last: a script walking the numbers, not a packer picking orders;
- `export_spike`: an export far above the account's own earlier exports;
- `no_service_reason`: a look-up of a customer's record with no service reason (ticket, order,
  business transaction) at a site whose system records one (it has given one before): the
  business-hall insider who looks customers up to sell them (report 003). One such look-up is a
  slip (low score); the `unexplained_per_day`-th of one account's local day is an insider.
One signal per flagged access on the operator account (`details.role = "insider"`), with every
rule that fired, their combined score (noisy-OR) and evidence; the signal that first crosses a
count (night_bulk, sequential_scan) also names the earlier accesses of the run.
Cannot see: copies made outside the system (screen photos, paper waybills), accesses the system
does not log, or a patient thief who reads slowly, by day, from the office PC, without tools
(`access_anomaly` compares each account's day with its history and peers for that).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl
import pyarrow as pa

from fanzha.engine.protocol import Batch, State, empty_signals, signals_from

TOUCH = ("query", "view", "print", "export")  # actions that read personal data
READ = ("query", "view", "export")  # a sequential scan reads; printing a batch in order is normal

# Remote-control programs, as data: (label, regex over the lower-cased process list).
REMOTE_TOOLS: tuple[tuple[str, str], ...] = (
    ("TeamViewer", r"teamviewer|tv_w32|tv_x64"),
    ("向日葵/Sunlogin", r"sunlogin|向日葵|oray|awesun"),
    ("ToDesk", r"todesk"),
    ("AnyDesk", r"anydesk"),
    ("RustDesk", r"rustdesk"),
    ("Splashtop", r"splashtop|srserver"),
    ("Radmin", r"radmin|rserver3"),
    ("VNC", r"vnc"),
    ("LogMeIn", r"logmein"),
    ("ScreenConnect", r"screenconnect|connectwise"),
    ("Chrome Remote Desktop", r"remoting_host|chrome remote"),
    ("GoToAssist", r"gotoassist|g2ax"),
    ("Ammyy", r"ammyy"),
    ("NetSupport", r"netsupport|client32"),
    ("DameWare", r"dameware|dwrcs"),
    ("Parsec", r"parsec"),
    ("QuickSupport", r"quicksupport"),
    ("UU远程", r"uu远程|uuremote|gameviewer"),
)

_TS = pa.timestamp("ms", tz="UTC")
STAFF_SCHEMA = pa.schema(
    [("site", pa.string()), ("account", pa.string()), ("status", pa.string()),
     ("seq", pa.int64()), ("ts", _TS), ("role", pa.string())]
)  # fmt: skip
SITES_SCHEMA = pa.schema([("site", pa.string()), ("first_ts", _TS), ("first_seq", pa.int64())])
SEEN_SCHEMA = pa.schema(
    [("site", pa.string()), ("kind", pa.string()), ("value", pa.string()),
     ("first_ts", _TS), ("first_seq", pa.int64())]
)  # fmt: skip
RUNS_SCHEMA = pa.schema(
    [("site", pa.string()), ("account", pa.string()), ("prefix", pa.string()),
     ("num", pa.int64()), ("ts", _TS), ("run_len", pa.int64()),
     ("pending", pa.list_(pa.string()))]
)  # fmt: skip
NIGHTS_SCHEMA = pa.schema(
    [("site", pa.string()), ("account", pa.string()), ("night", pa.int64()),
     ("records", pa.int64()), ("pending", pa.list_(pa.string()))]
)  # fmt: skip
REASON_SITES_SCHEMA = pa.schema([("site", pa.string()), ("first_seq", pa.int64())])
UNEXPLAINED_SCHEMA = pa.schema(
    [("site", pa.string()), ("account", pa.string()), ("day", pa.int64()), ("n", pa.int64())]
)
EXPORTS_SCHEMA = pa.schema(
    [("site", pa.string()), ("account", pa.string()), ("n", pa.int64()), ("total", pa.int64())]
)
_G = ["site", "account"]
_STATUS = {"leave": "left", "disable": "disabled", "hire": "active", "enable": "active"}


@dataclass(frozen=True)
class AccessRulesSettings:
    utc_offset_hours: float = 8.0  # the sites' local time (China)
    night_hours: tuple[int, int] = (0, 6)  # local [start, end)
    night_bulk_records: int = 50  # records one account touches in one night
    sequential_min_run: int = 20  # consecutive record numbers read in a row
    sequential_max_gap_s: int = 600  # seconds between two reads of a run
    new_window_hours: float = 24.0  # a device/network counts as new this long after first use
    warmup_hours: float = 24.0  # a site's first day of log teaches what is normal there
    export_min_records: int = 200  # exports smaller than this are never a spike
    export_spike_ratio: float = 5.0  # x the account's mean earlier export
    export_first_records: int = 2000  # a first export this large is a spike by itself
    score_left: float = 0.95
    score_disabled: float = 0.98
    score_remote_read: float = 0.9
    score_remote_login: float = 0.3
    score_new_device: float = 0.4
    score_new_network: float = 0.5
    score_night_bulk: float = 0.6
    score_sequential: float = 0.6
    score_export_spike: float = 0.7
    unexplained_per_day: int = 5  # look-ups without a service reason by one account in a day
    score_no_reason: float = 0.3
    score_no_reason_many: float = 0.9


@dataclass(frozen=True)
class AccessRules:
    """Per-access hard rules over waybill/CRM access logs and the staff roster."""

    settings: AccessRulesSettings = field(default_factory=AccessRulesSettings)
    name: ClassVar[str] = "access_rules"
    kinds: ClassVar[tuple[str, ...]] = ("waybill_access", "roster")
    # every state table and every rule is per site (or per site and account): keyed by site
    partition_by: ClassVar[Mapping[str, str]] = {"waybill_access": "site", "roster": "site"}

    def initial_state(self) -> State:
        return {
            "staff": STAFF_SCHEMA.empty_table(),
            "sites": SITES_SCHEMA.empty_table(),
            "seen": SEEN_SCHEMA.empty_table(),
            "runs": RUNS_SCHEMA.empty_table(),
            "nights": NIGHTS_SCHEMA.empty_table(),
            "exports": EXPORTS_SCHEMA.empty_table(),
            "reason_sites": REASON_SITES_SCHEMA.empty_table(),
            "unexplained": UNEXPLAINED_SCHEMA.empty_table(),
        }

    def step(self, batch: Batch, state: State) -> tuple[pa.Table, State]:
        roster = batch.get("roster")
        acc_t = batch.get("waybill_access")
        has_roster = roster is not None and roster.num_rows > 0
        if not has_roster and (acc_t is None or acc_t.num_rows == 0):
            return empty_signals(), state
        new_state = dict(state)
        changes = _status_changes(roster, state)
        if has_roster:
            new_state["staff"] = _latest(changes, _G).to_arrow().cast(STAFF_SCHEMA)
        if acc_t is None or acc_t.num_rows == 0:
            return empty_signals(), new_state
        s = self.settings
        off = int(s.utc_offset_hours * 3_600_000)
        a = (
            pl.from_arrow(acc_t)
            .sort("seq")
            .with_columns(
                account=pl.col.operator_account,
                local_ms=pl.col.ts.dt.epoch("ms") + off,
                records=pl.when(pl.col.action.is_in(TOUCH))
                .then(pl.col.record_count.fill_null(1))
                .otherwise(0),
            )
            .with_columns(
                hour=(pl.col.local_ms // 3_600_000) % 24, day=pl.col.local_ms // 86_400_000
            )
        )
        hits = [
            self._left(a, changes),
            self._remote(a),
            *self._new_things(a, state, new_state),
            self._night_bulk(a, state, new_state),
            self._sequential(a, state, new_state),
            self._export_spike(a, state, new_state),
            self._no_reason(a, state, new_state),
        ]
        hits = [h for h in hits if h.height]
        if not hits:
            return empty_signals(), new_state
        return self._signals(a, pl.concat(hits, how="diagonal_relaxed")), new_state

    # --- rules: each returns (event_id, rule, score, note, extra_ids) --------------------------

    def _left(self, a: pl.DataFrame, changes: pl.DataFrame) -> pl.DataFrame:
        if not changes.height:
            return pl.DataFrame()
        st = changes.select(
            *_G, "status", status_seq="seq", status_ts="ts"
        ).sort("status_seq")
        j = a.select("seq", "event_id", *_G).join_asof(
            st, left_on="seq", right_on="status_seq", by=_G, strategy="backward",
            check_sortedness=False,
        )  # fmt: skip
        bad = j.filter(pl.col.status.is_in(["left", "disabled"]))
        s = self.settings
        return bad.select(
            "event_id",
            rule=pl.lit("left_account"),
            score=pl.when(pl.col.status == "disabled")
            .then(s.score_disabled)
            .otherwise(s.score_left),
            note=pl.lit("the account's owner ")
            + pl.when(pl.col.status == "disabled")
            .then(pl.lit("left and it was disabled"))
            .otherwise(pl.lit("left"))
            + pl.lit(" on ")
            + _local_text(pl.col.status_ts, self.settings.utc_offset_hours),
        )

    def _remote(self, a: pl.DataFrame) -> pl.DataFrame:
        r = a.filter(pl.col.remote_tools.is_not_null() & (pl.col.remote_tools.str.strip_chars() != ""))
        if not r.height:
            return pl.DataFrame()
        low = pl.col.remote_tools.str.to_lowercase()
        labels = pl.concat_list(
            [pl.when(low.str.contains(rx)).then(pl.lit(label)) for label, rx in REMOTE_TOOLS]
        ).list.drop_nulls()
        r = r.with_columns(tools=labels).with_columns(
            tools=pl.when(pl.col.tools.list.len() > 0)
            .then(pl.col.tools.list.join(", "))
            .otherwise(pl.col.remote_tools)
        )
        s = self.settings
        reads = pl.col.action.is_in(TOUCH)
        return r.select(
            "event_id",
            rule=pl.when(reads).then(pl.lit("remote_tool")).otherwise(pl.lit("remote_tool_login")),
            score=pl.when(reads).then(s.score_remote_read).otherwise(s.score_remote_login),
            note=pl.lit("remote-control program running: ") + pl.col.tools,
        )

    def _new_things(self, a: pl.DataFrame, state: State, new_state: dict) -> list[pl.DataFrame]:
        s = self.settings
        sites = pl.from_arrow(state["sites"])
        first_site = a.group_by("site").agg(
            first_ts=pl.col.ts.sort_by("seq").first(), first_seq=pl.col.seq.min()
        )
        sites_all = pl.concat([sites, first_site.select(sites.columns)]).sort("first_seq")
        sites_all = sites_all.unique("site", keep="first")
        new_state["sites"] = sites_all.to_arrow().cast(SITES_SCHEMA)
        vals = pl.concat(
            [
                a.select("seq", "ts", "event_id", "site", kind=pl.lit("device"),
                         value=pl.col.device_id),
                a.select("seq", "ts", "event_id", "site", kind=pl.lit("network"),
                         value=_network(pl.col.ip)),
            ]
        ).filter(pl.col.value.is_not_null() & (pl.col.value != ""))  # fmt: skip
        seen = pl.from_arrow(state["seen"])
        first_b = vals.group_by("site", "kind", "value").agg(
            first_ts=pl.col.ts.sort_by("seq").first(), first_seq=pl.col.seq.min()
        )
        seen_all = (
            pl.concat([seen, first_b.select(seen.columns)])
            .sort("first_seq")
            .unique(["site", "kind", "value"], keep="first")
        )
        new_state["seen"] = seen_all.to_arrow().cast(SEEN_SCHEMA)
        j = vals.join(seen_all, on=["site", "kind", "value"]).join(
            sites_all.select("site", site_ts="first_ts"), on="site"
        )
        win = dt.timedelta(hours=s.new_window_hours)
        warm = dt.timedelta(hours=s.warmup_hours)
        new = j.filter(
            (pl.col.ts - pl.col.first_ts <= win) & (pl.col.first_ts - pl.col.site_ts >= warm)
        )
        out = []
        for kind, rule, score in (
            ("device", "new_device", s.score_new_device),
            ("network", "new_network", s.score_new_network),
        ):
            n = new.filter(pl.col.kind == kind)
            if n.height:
                out.append(
                    n.select(
                        "event_id",
                        rule=pl.lit(rule),
                        score=pl.lit(score),
                        note=pl.lit(f"a {kind} the site had never seen before ")
                        + _local_text(pl.col.first_ts, s.utc_offset_hours)
                        + pl.lit(": ")
                        + pl.col.value,
                    )
                )
        return out

    def _night_bulk(self, a: pl.DataFrame, state: State, new_state: dict) -> pl.DataFrame:
        s = self.settings
        lo, hi = s.night_hours
        n_min = s.night_bulk_records
        rows = a.filter(pl.col.action.is_in(TOUCH) & (pl.col.hour >= lo) & (pl.col.hour < hi))
        if not rows.height:
            return pl.DataFrame()
        rows = rows.select(
            *_G, "seq", "event_id", night=pl.col.day, rec=pl.col.records,
            carry=pl.lit(False), pending=pl.lit(None, pl.List(pl.String)),
        )  # fmt: skip
        old = pl.from_arrow(state["nights"])
        carry = old.join(rows.select(_G).unique(), on=_G).select(
            *_G, seq=pl.lit(-1, pl.Int64), event_id=pl.lit(None, pl.String), night="night",
            rec="records", carry=pl.lit(True), pending="pending",
        )  # fmt: skip
        df = pl.concat([carry, rows]).sort([*_G, "seq"])
        df = df.with_columns(cur=pl.col.night.cum_max().over(_G)).filter(
            pl.col.carry | (pl.col.night >= pl.col.cur)
        )  # a night the account has moved past is stale: not counted
        df = df.with_columns(cum=pl.col.rec.cum_sum().over([*_G, "night"]))
        early = (
            df.group_by([*_G, "night"])
            .agg(
                ids=pl.col.event_id.filter(~pl.col.carry & (pl.col.cum < n_min)),
                carried=pl.col.pending.filter(pl.col.carry).first(),
                last_cum=pl.col.cum.last(),
                last_night=pl.col.night.last(),
            )
            .with_columns(
                ids=pl.concat_list(pl.col.carried.fill_null(pl.lit([], pl.List(pl.String))),
                                   pl.col.ids).list.head(2 * n_min)
            )
        )  # fmt: skip
        latest = early.sort("night").group_by(_G).agg(pl.all().last())
        upd = latest.select(
            *_G, "night", records="last_cum",
            pending=pl.when(pl.col.last_cum < n_min).then(pl.col.ids)
            .otherwise(pl.lit([], pl.List(pl.String))),
        )  # fmt: skip
        new_state["nights"] = _replace_rows(old, upd, NIGHTS_SCHEMA)
        flagged = df.filter(~pl.col.carry & (pl.col.cum >= n_min)).join(
            early.select(*_G, "night", "ids"), on=[*_G, "night"]
        )
        return flagged.select(
            "event_id",
            rule=pl.lit("night_bulk"),
            score=pl.lit(s.score_night_bulk),
            note=pl.col.cum.cast(pl.String) + pl.lit(" records touched tonight by this account"),
            extra_ids=pl.when(pl.col.cum - pl.col.rec < n_min).then(pl.col.ids),
        )

    def _sequential(self, a: pl.DataFrame, state: State, new_state: dict) -> pl.DataFrame:
        s = self.settings
        n_min = s.sequential_min_run
        rows = (
            a.filter(pl.col.action.is_in(READ))
            .with_columns(rid=pl.coalesce("waybill_no", "order_id"))
            .with_columns(m=pl.col.rid.str.extract_groups(r"^(.*?)(\d{3,})$"))
            .filter(pl.col.m.struct.field("2").is_not_null())
            .select(
                *_G, "seq", "ts", "event_id",
                prefix=pl.col.m.struct.field("1"),
                num=pl.col.m.struct.field("2").str.slice(-15).cast(pl.Int64),
                w=pl.lit(1, pl.Int64), carry=pl.lit(False),
                pending=pl.lit(None, pl.List(pl.String)),
            )
        )  # fmt: skip
        if not rows.height:
            return pl.DataFrame()
        old = pl.from_arrow(state["runs"])
        carry = old.join(rows.select(_G).unique(), on=_G).select(
            *_G, seq=pl.lit(-1, pl.Int64), ts="ts", event_id=pl.lit(None, pl.String),
            prefix="prefix", num="num", w="run_len", carry=pl.lit(True), pending="pending",
        )  # fmt: skip
        df = pl.concat([carry, rows]).sort([*_G, "seq"])
        same = (pl.col.prefix == pl.col.prefix.shift(1).over(_G)) & (
            pl.col.num == pl.col.num.shift(1).over(_G)
        )
        df = df.filter(pl.col.carry | ~same.fill_null(False))  # a print after a query: one read
        gap = dt.timedelta(seconds=s.sequential_max_gap_s)
        step = (
            ~pl.col.carry
            & (pl.col.prefix == pl.col.prefix.shift(1).over(_G))
            & ((pl.col.num - pl.col.num.shift(1).over(_G)).abs() == 1)
            & (pl.col.ts - pl.col.ts.shift(1).over(_G) <= gap)
        ).fill_null(False)
        df = df.with_columns(run=(~step).cast(pl.Int64).cum_sum().over(_G))
        df = df.with_columns(run_len=pl.col.w.cum_sum().over([*_G, "run"]))
        early = df.group_by([*_G, "run"]).agg(
            ids=pl.col.event_id.filter(~pl.col.carry & (pl.col.run_len < n_min)),
            carried=pl.col.pending.filter(pl.col.carry).first(),
        ).with_columns(
            ids=pl.concat_list(pl.col.carried.fill_null(pl.lit([], pl.List(pl.String))),
                               pl.col.ids)
        )  # fmt: skip
        last = df.group_by(_G).agg(pl.all().sort_by("seq").last()).drop("pending")
        last = last.join(early.select(*_G, "run", "ids"), on=[*_G, "run"])
        upd = last.select(
            *_G, "prefix", "num", "ts", "run_len",
            pending=pl.when(pl.col.run_len < n_min).then(pl.col.ids)
            .otherwise(pl.lit([], pl.List(pl.String))),
        )  # fmt: skip
        new_state["runs"] = _replace_rows(old, upd, RUNS_SCHEMA)
        flagged = df.filter(~pl.col.carry & (pl.col.run_len >= n_min)).join(
            early.select(*_G, "run", "ids"), on=[*_G, "run"]
        )
        return flagged.select(
            "event_id",
            rule=pl.lit("sequential_scan"),
            score=pl.lit(s.score_sequential),
            note=pl.lit("record ")
            + pl.col.run_len.cast(pl.String)
            + pl.lit(" of a run of consecutive numbers (")
            + pl.col.prefix
            + pl.col.num.cast(pl.String)
            + pl.lit(")"),
            extra_ids=pl.when(pl.col.run_len - pl.col.w < n_min).then(pl.col.ids),
        )

    def _export_spike(self, a: pl.DataFrame, state: State, new_state: dict) -> pl.DataFrame:
        s = self.settings
        rows = a.filter(pl.col.action == "export").select(
            *_G, "seq", "event_id", x=pl.col.record_count.fill_null(1),
            wn=pl.lit(1, pl.Int64), carry=pl.lit(False),
        )  # fmt: skip
        if not rows.height:
            return pl.DataFrame()
        old = pl.from_arrow(state["exports"])
        carry = old.join(rows.select(_G).unique(), on=_G).select(
            *_G, seq=pl.lit(-1, pl.Int64), event_id=pl.lit(None, pl.String), x="total",
            wn="n", carry=pl.lit(True),
        )  # fmt: skip
        df = (
            pl.concat([carry, rows])
            .sort([*_G, "seq"])
            .with_columns(cn=pl.col.wn.cum_sum().over(_G), ct=pl.col.x.cum_sum().over(_G))
            .with_columns(prev_n=pl.col.cn - 1, prev_total=pl.col.ct - pl.col.x)
        )
        last = df.group_by(_G).agg(n=pl.col.cn.last(), total=pl.col.ct.last())
        new_state["exports"] = _replace_rows(old, last, EXPORTS_SCHEMA)
        mean = pl.col.prev_total / pl.col.prev_n
        spike = (pl.col.x >= s.export_min_records) & (
            ((pl.col.prev_n == 0) & (pl.col.x >= s.export_first_records))
            | ((pl.col.prev_n > 0) & (pl.col.x > s.export_spike_ratio * mean))
        )
        hit = df.filter(~pl.col.carry & spike)
        return hit.select(
            "event_id",
            rule=pl.lit("export_spike"),
            score=pl.lit(s.score_export_spike),
            note=pl.lit("exported ")
            + pl.col.x.cast(pl.String)
            + pl.when(pl.col.prev_n > 0)
            .then(
                pl.lit(" records, ")
                + (pl.col.x / mean).round(1).cast(pl.String)
                + pl.lit("x its mean earlier export of ")
                + mean.round(0).cast(pl.Int64).cast(pl.String)
            )
            .otherwise(pl.lit(" records in its first export")),
        )

    def _no_reason(self, a: pl.DataFrame, state: State, new_state: dict) -> pl.DataFrame:
        s = self.settings
        ref = pl.col.service_ref.str.strip_chars().replace("", None)
        a = a.with_columns(ref=ref)
        old_sites = pl.from_arrow(state.get("reason_sites", REASON_SITES_SCHEMA.empty_table()))
        sites = (
            pl.concat(
                [old_sites, a.filter(pl.col.ref.is_not_null()).select("site", first_seq="seq")]
            )
            .group_by("site")
            .agg(pl.col.first_seq.min())
            .sort("site")
        )
        new_state["reason_sites"] = sites.to_arrow().cast(REASON_SITES_SCHEMA)
        customer = pl.any_horizontal(
            pl.col(c).is_not_null() for c in ("subject_phone", "order_id", "waybill_no")
        )
        rows = (
            a.filter(pl.col.action.is_in(TOUCH) & pl.col.ref.is_null() & customer)
            .join(sites, on="site")
            .filter(pl.col.seq > pl.col.first_seq)
            .select(*_G, "day", "seq", "event_id", carry=pl.lit(False), w=pl.lit(1, pl.Int64))
        )
        if not rows.height:
            return pl.DataFrame()
        old = pl.from_arrow(state.get("unexplained", UNEXPLAINED_SCHEMA.empty_table()))
        carry = old.join(rows.select(_G).unique(), on=_G).select(
            *_G, "day", seq=pl.lit(-1, pl.Int64), event_id=pl.lit(None, pl.String),
            carry=pl.lit(True), w="n",
        )  # fmt: skip
        df = (
            pl.concat([carry, rows])
            .sort([*_G, "seq"])
            .with_columns(n=pl.col.w.cum_sum().over([*_G, "day"]))
        )
        last = df.group_by(_G).agg(pl.col.day.last(), pl.col.n.last())
        new_state["unexplained"] = _replace_rows(old, last, UNEXPLAINED_SCHEMA)
        many = pl.col.n >= s.unexplained_per_day
        return df.filter(~pl.col.carry).select(
            "event_id",
            rule=pl.lit("no_service_reason"),
            score=pl.when(many).then(s.score_no_reason_many).otherwise(s.score_no_reason),
            note=pl.lit("a customer's record looked up with no service reason recorded (")
            + pl.col.n.cast(pl.String)
            + pl.lit(" such look-ups by this account today; the site records reasons)"),
        )

    # --- signals -------------------------------------------------------------------------------

    def _signals(self, a: pl.DataFrame, hits: pl.DataFrame) -> pa.Table:
        if "extra_ids" not in hits.columns:
            hits = hits.with_columns(extra_ids=pl.lit(None, pl.List(pl.String)))
        per = (
            hits.sort("rule")
            .group_by("event_id")
            .agg(
                rules=pl.col.rule,
                notes=pl.col.note,
                score=1 - (1 - pl.col.score).product(),
                extra=pl.col.extra_ids.list.explode(keep_nulls=False, empty_as_null=False)
                .drop_nulls()
                .unique()
                .sort(),
            )
        )
        df = a.join(per, on="event_id")
        what = pl.when(pl.col.action == "login").then(pl.lit("")).otherwise(
            pl.lit(" ")
            + pl.coalesce(
                pl.lit("waybill ") + pl.col.waybill_no,
                pl.lit("order ") + pl.col.order_id,
                pl.col.record_count.fill_null(0).cast(pl.String) + pl.lit(" records"),
            )
        )
        df = df.with_columns(
            entity_kind=pl.lit("operator_account"),
            entity=pl.col.account,
            score=pl.col.score.clip(0.0, 1.0),
            evidence=pl.col.account
            + pl.lit(" at ")
            + pl.col.site
            + pl.lit(" ")
            + pl.col.action
            + what
            + pl.lit(" at ")
            + _local_text(pl.col.ts, self.settings.utc_offset_hours)
            + pl.lit(" (local) from ")
            + pl.col.device_id.fill_null("an unknown device")
            + pl.lit(": ")
            + pl.col.notes.list.join("; "),
            details=pl.struct(
                role=pl.lit("insider"),
                site=pl.col.site,
                account=pl.col.account,
                action=pl.col.action,
                rules=pl.col.rules,
                device_id=pl.col.device_id,
                ip=pl.col.ip,
                access_id=pl.col.access_id,
                subject_phone=pl.col.subject_phone,
                record_count=pl.col.record_count,
                local_day=pl.col.day,
            ).struct.json_encode(),
            event_ids=pl.concat_list(pl.col.event_id, pl.col.extra.list.set_difference(
                pl.concat_list(pl.col.event_id))),
        )  # fmt: skip
        return signals_from(df, self.name, ["event_id"])


def _replace_rows(old: pl.DataFrame, new: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    """Per-account state: the accounts in `new` take its rows, the others keep theirs."""
    keep = old.join(new.select(_G).unique(), on=_G, how="anti")
    return pl.concat([keep, new.select(schema.names)], how="vertical_relaxed").to_arrow().cast(
        schema
    )


def _network(ip: pl.Expr) -> pl.Expr:
    """IPv4 as its /24 (a site's LAN or its line); other addresses as they are."""
    v4 = ip.str.extract(r"^(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$", 1)
    return pl.coalesce(v4 + pl.lit(".0/24"), ip)


def _local_text(ts: pl.Expr, offset_hours: float) -> pl.Expr:
    return (ts + pl.duration(minutes=int(offset_hours * 60))).dt.strftime("%Y-%m-%d %H:%M")


def _latest(df: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return df.sort("seq").unique(keys, keep="last")


def _status_changes(roster: pa.Table | None, state: State) -> pl.DataFrame:
    """The staff status table before the batch plus every change in it, in log order."""
    old = pl.from_arrow(state["staff"])
    if roster is None or roster.num_rows == 0:
        return old
    r = pl.from_arrow(roster).with_columns(
        status=pl.col.action.replace_strict(_STATUS, default=None)
    )
    r = r.filter(pl.col.status.is_not_null()).select(
        "site", account="operator_account", status="status", seq="seq", ts="ts", role="role"
    )
    return pl.concat([old, r.cast(dict(old.schema))]).sort("seq")
