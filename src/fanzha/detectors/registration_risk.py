"""Registration risk: new platform accounts opened with harvested identities (村推/地推 black accounts).

Fraud caught: gangs posing as medical-insurance promoters collect rural elderly people's ID, phone
and SMS codes; upstream "number merchants" register ~5 shopping and social accounts per identity
with them and sell them or use them for 1-cent new-user deals (reports 000 and 002: 1.88万
identities -> 10万+ accounts in three months; ~200 villagers a day per team; the code is sent to
an upstream WeChat group and typed there). The identities are real, so real-name checks pass.
Looks at: `registration` events, and `promoter` events (the registry of authorised promotion
teams). For each registration, with readable evidence:
- `code_far`: the SMS code was submitted from an IP in another county / city / province than the
  phone's serving cell at that moment (the code was relayed);
- `shared_device`: the registering or code-submitting device served many identities that day;
- `shared_network`: the IP /24 served many identities through few devices that day (public Wi-Fi
  and carrier NAT serve many identities through as many devices, and are not flagged);
- `multi_platform`: the number opened accounts on several platforms within hours;
- `burst`: a county-day burst of first-time registrations by elderly owners (a team's visit);
- `elderly_rural` and `first_account`: the owner is >= 60 (from the ID number) from a rural county
  (county code 21-99, or the settings' lists), and the number's first account in the log; these
  two only raise the others, never alert alone;
- `promoter_outside`: the registration carries a promotion team's code, but the team is not in the
  registry, or the county, date, platform or device is outside its authorisation, or it was
  revoked; `team_device`: a registered team's device used outside that team's authorisation.
Registrations inside an authorised team's authorisation are exempt from the device, network and
burst signals: the legitimate activations of report 000's authorised channels are not flagged.
Score: noisy-or of the reasons' weights; a signal when it reaches `min_score`.
Entity: the account as "platform:account_id" (entity_kind "account", details.role "suspect").
Cannot see: registrations on platforms that do not report; a gang that types the code on the
victim's own phone in the village (then only the burst, age and device signals remain); counts
of events more than `late_days` older than the newest one seen (state is kept that long).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl
import pyarrow as pa

from fanzha.engine.protocol import Batch, Lookup, State, empty_signals, history_key, signals_from
from fanzha.events import TS_TYPE
from fanzha.ids import resident_id

DAY_MS = 86_400_000
HOUR_MS = 3_600_000

FIRSTS_SCHEMA = pa.schema(
    [
        pa.field("what", pa.string()),
        pa.field("key", pa.string()),
        pa.field("bucket", pa.int64()),
        pa.field("member", pa.string()),
        pa.field("first_seq", pa.int64()),
    ]
)
REGISTRY_SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64()),
        pa.field("ts", TS_TYPE),
        pa.field("team_id", pa.string()),
        pa.field("issuer", pa.string()),
        pa.field("action", pa.string()),
        pa.field("valid_from", TS_TYPE),
        pa.field("valid_to", TS_TYPE),
        pa.field("county", pa.string()),
        pa.field("device_id", pa.string()),
        pa.field("platform", pa.string()),
    ]
)

# the region table is reference data: load it once at import, never while stepping
resident_id.region_name("110101")


@dataclass(frozen=True)
class RegistrationRiskSettings:
    utc_offset_hours: int = 8  # local day boundaries (China Standard Time)
    elderly_age: int = 60
    w_code_far_province: float = 0.8
    w_code_far_city: float = 0.6
    w_code_far_county: float = 0.3
    device_identities_min: int = 5  # identities on one device in a day (a family has 2-4)
    w_shared_device: float = 0.5  # at the minimum; rises to w_shared_device_max at 4x it
    w_shared_device_max: float = 0.8
    network_identities_min: int = 10  # identities on one IP /24 in a day ...
    network_identities_per_device: float = 3.0  # ... through few devices (Wi-Fi/NAT: ~1)
    w_shared_network: float = 0.4
    multi_platform_hours: float = 6.0
    multi_platform_min: int = 3
    w_multi_platform: float = 0.5
    burst_min_identities: int = 20  # elderly first-time owners in one county in one day
    w_burst: float = 0.35
    w_elderly_rural: float = 0.15
    w_first_account: float = 0.1
    w_promoter_outside: float = 0.6
    w_team_device: float = 0.6
    min_score: float = 0.5
    late_days: int = 2  # running counts keep this many past days
    urban_counties: tuple[str, ...] = ()  # override the county-code rule (districts are urban)
    rural_counties: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegistrationRisk:
    """Signals on new accounts that look opened with a harvested identity (村推 black accounts)."""

    settings: RegistrationRiskSettings = field(default_factory=RegistrationRiskSettings)
    name: ClassVar[str] = "registration_risk"
    kinds: ClassVar[tuple[str, ...]] = ("registration", "promoter")

    def initial_state(self) -> State:
        return {"firsts": FIRSTS_SCHEMA.empty_table(), "registry": REGISTRY_SCHEMA.empty_table()}

    def lookups(self, batch: Batch, state: State) -> list[Lookup]:
        reg = batch.get("registration")
        if reg is None or reg.num_rows == 0:
            return []
        phones = pl.from_arrow(reg.select(["phone"]))["phone"].drop_nulls().unique().sort()
        return [Lookup("registration", ("phone",), tuple(phones.to_list()))]

    def step(self, batch: Batch, state: State) -> tuple[pa.Table, State]:
        s = self.settings
        registry = pl.from_arrow(state["registry"])
        new_reg = _registry_rows(batch.get("promoter"))
        if new_reg.height:
            registry = pl.concat([registry, new_reg]).sort("seq")
        reg = batch.get("registration")
        if reg is None or reg.num_rows == 0:
            if not new_reg.height:
                return empty_signals(), state
            return empty_signals(), {**state, "registry": _arrow(registry, REGISTRY_SCHEMA)}
        r = registration_features(pl.from_arrow(reg), s)
        r = authorisation(r, registry)
        r = _first_accounts(r, batch.get(history_key("registration")))
        firsts = pl.from_arrow(state["firsts"])
        counts, firsts = _running_counts(r, firsts, s)
        r = r.join(counts, on="seq", how="left")
        signals = self._signals(r)
        out_state = {"firsts": _arrow(firsts, FIRSTS_SCHEMA), "registry": state["registry"]}
        if new_reg.height:
            out_state["registry"] = _arrow(registry, REGISTRY_SCHEMA)
        return signals, out_state

    def _signals(self, r: pl.DataFrame) -> pa.Table:
        s = self.settings
        c = pl.col
        dev_n = pl.max_horizontal(c.n_dev.fill_null(0), c.n_cdev.fill_null(0))
        shared_dev = dev_n >= s.device_identities_min
        dev_w = s.w_shared_device + (s.w_shared_device_max - s.w_shared_device) * (
            ((dev_n - s.device_identities_min) / (3 * s.device_identities_min)).clip(0, 1)
        )
        net = (c.n_net.fill_null(0) >= s.network_identities_min) & (
            c.n_net.fill_null(0) >= s.network_identities_per_device * c.n_netdev.fill_null(1)
        )
        plat_n = pl.max_horizontal(c.n_plat_a.fill_null(1), c.n_plat_b.fill_null(1))
        burst = c.n_burst.fill_null(0) >= s.burst_min_identities
        far_w = (
            pl.when(c.code_far == "province")
            .then(s.w_code_far_province)
            .when(c.code_far == "city")
            .then(s.w_code_far_city)
            .when(c.code_far == "county")
            .then(s.w_code_far_county)
            .otherwise(0.0)
        )
        weights = {
            "code_far": far_w,
            "shared_device": pl.when(shared_dev & ~c.authorised).then(dev_w).otherwise(0.0),
            "shared_network": pl.when(net & ~c.authorised).then(s.w_shared_network).otherwise(0.0),
            "multi_platform": pl.when(plat_n >= s.multi_platform_min)
            .then(s.w_multi_platform)
            .otherwise(0.0),
            "burst": pl.when(burst & ~c.authorised).then(s.w_burst).otherwise(0.0),
            "promoter_outside": pl.when(c.outside.is_not_null())
            .then(s.w_promoter_outside)
            .otherwise(0.0),
            "team_device": pl.when(c.team_device.is_not_null())
            .then(s.w_team_device)
            .otherwise(0.0),
        }
        weak = {
            "elderly_rural": pl.when(c.elderly & c.rural).then(s.w_elderly_rural).otherwise(0.0),
            "first_account": pl.when(c.first_account).then(s.w_first_account).otherwise(0.0),
        }
        r = r.with_columns(
            dev_n=dev_n, plat_n=plat_n, **{f"w_{k}": v for k, v in {**weights, **weak}.items()}
        )
        strong = pl.any_horizontal([c(f"w_{k}") > 0 for k in weights])
        keep = 1.0
        for k in (*weights, *weak):
            keep = keep * (1.0 - c(f"w_{k}"))
        r = r.with_columns(score=(1.0 - keep).clip(0.0, 1.0)).filter(
            strong & (c.score >= s.min_score)
        )
        if r.height == 0:
            return empty_signals()
        h = _fmt_hours(s.multi_platform_hours)
        parts = {
            "code_far": pl.lit("SMS code typed at an IP in ")
            + c.code_place
            + ", "
            + pl.when(c.code_far == "province")
            .then(pl.lit("another province"))
            .when(c.code_far == "city")
            .then(pl.lit("another city"))
            .otherwise(pl.lit("another county"))
            + ", while the phone was in "
            + c.phone_place,
            "shared_device": pl.lit("device ")
            + c.dev_key
            + " used for "
            + c.dev_n.cast(pl.String)
            + " identities that day",
            "shared_network": pl.lit("network ")
            + c.net
            + ".0/24 used for "
            + c.n_net.cast(pl.String)
            + " identities through "
            + c.n_netdev.cast(pl.String)
            + " devices that day",
            "multi_platform": pl.lit("the number opened accounts on ")
            + c.plat_n.cast(pl.String)
            + f" platforms within {h}",
            "burst": c.n_burst.cast(pl.String)
            + " first-time registrations of elderly owners in "
            + c.phone_place
            + " that day",
            "promoter_outside": pl.lit("promoter code ") + c.promoter_id + ": " + c.outside,
            "team_device": pl.lit("device ") + c.device_id + " " + c.team_device,
            "elderly_rural": pl.lit("owner aged ")
            + c.age.cast(pl.String)
            + " from rural "
            + c.home_place,
            "first_account": pl.lit("the number's first account"),
        }
        clauses = [pl.when(c(f"w_{k}") > 0).then(v) for k, v in parts.items()]
        reasons = [pl.when(c(f"w_{k}") > 0).then(pl.lit(k)) for k in parts]
        df = r.with_columns(
            entity_kind=pl.lit("account"),
            entity=c.platform + ":" + c.account_id,
            fraud_type=pl.lit("medical_insurance"),
            reasons=pl.concat_list(reasons).list.drop_nulls(),
            evidence=c.platform
            + " account "
            + c.account_id
            + " opened with "
            + c.phone
            + ": "
            + pl.concat_str(clauses, separator="; ", ignore_nulls=True),
        )
        df = df.with_columns(
            details=pl.struct(
                role=pl.lit("suspect"),
                platform=c.platform,
                account_id=c.account_id,
                phone=c.phone,
                id_number=c.id_number,
                age=c.age,
                county=c.home_county,
                reasons=c.reasons,
                code_far=c.code_far,
                code_county=c.code_ip_county,
                device_identities=c.dev_n,
                network_identities=c.n_net,
                network_devices=c.n_netdev,
                platforms_within_hours=c.plat_n,
                burst=c.n_burst,
                first_account=c.first_account,
                promoter_id=c.promoter_id,
                authorised_team=pl.when(c.authorised).then(c.promoter_id),
                outside=c.outside,
            ).struct.json_encode(),
            event_ids=pl.concat_list(c.event_id),
        )
        return signals_from(df, self.name, ["event_id"])


def _fmt_hours(h: float) -> str:
    return f"{int(h)} h" if float(h).is_integer() else f"{h} h"


def _arrow(df: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    return df.select(schema.names).to_arrow().cast(schema)


def _registry_rows(t: pa.Table | None) -> pl.DataFrame:
    empty = pl.from_arrow(REGISTRY_SCHEMA.empty_table())
    if t is None or t.num_rows == 0:
        return empty
    return pl.from_arrow(t).select(REGISTRY_SCHEMA.names).cast(dict(empty.schema))


def _with_places(df: pl.DataFrame, cols: dict[str, str]) -> pl.DataFrame:
    """Readable places ('广州市 番禺区 (440113)') for county-code columns, looked up once per code."""
    codes = pl.concat([df[c] for c in cols]).drop_nulls().unique().to_list()
    names = {}
    for code in codes:
        name = (resident_id.region_name(code) or "").split(" ", 1)[-1]
        names[code] = f"{name} ({code})" if name else code
    return df.with_columns(
        pl.col(c).replace_strict(names, default=None, return_dtype=pl.String).alias(out)
        for c, out in cols.items()
    )


def _rural(code: pl.Expr, s: RegistrationRiskSettings) -> pl.Expr:
    """GB/T 2260: a county code ending 01-20 is a city district (urban); 21-99 a county or a
    county-level city (rural). The settings' lists override it."""
    tail = code.str.slice(4, 2).cast(pl.Int32, strict=False)
    rule = tail > 20
    return (
        pl.when(code.is_in(list(s.rural_counties)))
        .then(True)
        .when(code.is_in(list(s.urban_counties)))
        .then(False)
        .otherwise(rule)
        .fill_null(False)
    )


def registration_features(r: pl.DataFrame, s: RegistrationRiskSettings) -> pl.DataFrame:
    """Per registration: identity, owner's age and home county, local day, where the code was."""
    c = pl.col
    offset = s.utc_offset_hours * HOUR_MS
    ms = c.ts.dt.epoch("ms")
    birth = (
        pl.when(~c.id_number.str.starts_with("9"))
        .then(c.id_number.str.slice(6, 8))
        .str.to_date("%Y%m%d", strict=False)
    )
    local = (c.ts + pl.duration(milliseconds=offset)).dt.date()
    age = (
        local.dt.year()
        - birth.dt.year()
        - ((local.dt.month() * 100 + local.dt.day()) < (birth.dt.month() * 100 + birth.dt.day()))
    )
    home = pl.coalesce(c.phone_county, c.id_number.str.slice(0, 6))
    far = (
        pl.when(c.code_ip_county.is_null() | c.phone_county.is_null())
        .then(None)
        .when(c.code_ip_county.str.slice(0, 2) != c.phone_county.str.slice(0, 2))
        .then(pl.lit("province"))
        .when(c.code_ip_county.str.slice(0, 4) != c.phone_county.str.slice(0, 4))
        .then(pl.lit("city"))
        .when(c.code_ip_county != c.phone_county)
        .then(pl.lit("county"))
    )
    out = r.with_columns(
        identity=pl.coalesce(c.id_number, c.phone),
        age=age.cast(pl.Int64),
        home_county=home,
        day=(ms + offset) // DAY_MS,
        code_far=far,
        net=c.ip.str.extract(r"^(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$", 1),
        dev_key=pl.coalesce(c.device_id, c.code_device_id),
    )
    out = out.with_columns(
        elderly=(c.age >= s.elderly_age).fill_null(False), rural=_rural(c.home_county, s)
    )
    return _with_places(
        out,
        {
            "home_county": "home_place",
            "phone_county": "phone_place",
            "code_ip_county": "code_place",
        },
    )


def authorisation(r: pl.DataFrame, registry: pl.DataFrame) -> pl.DataFrame:
    """`authorised` (inside a registered team's authorisation, as the registry stood before the
    registration), `outside` (why a promoter code is outside it) and `team_device` (a team's
    device used outside that team's authorisation)."""
    c = pl.col
    base = r.select("seq", "ts", "promoter_id", "platform", "device_id", "code_device_id")
    base = base.with_columns(county=pl.coalesce(r["phone_county"], r["ip_county"]))
    reg = registry.rename({"seq": "r_seq", "ts": "r_ts", "device_id": "r_device"})
    reg = reg.rename({"county": "r_county", "platform": "r_platform"})
    coded = base.filter(c.promoter_id.is_not_null())
    # every registry row of the registration's team, issued before the registration
    j = coded.join(reg, left_on="promoter_id", right_on="team_id", how="inner").filter(
        c.r_seq < c.seq
    )
    in_time = (c.valid_from.is_null() | (c.valid_from <= c.ts)) & (
        c.valid_to.is_null() | (c.ts <= c.valid_to)
    )
    grants = j.filter(c.action == "grant")
    per = (
        coded.select("seq")
        .join(
            grants.group_by("seq").agg(
                known=pl.lit(True),
                county_ok=(c.r_county.is_not_null() & (c.r_county == c.county) & in_time).any(),
                any_time=in_time.any(),
                device_ok=((c.r_device == c.device_id) & in_time).any(),
                platform_rows=c.r_platform.is_not_null().any(),
                platform_ok=(c.r_platform == c.platform).any(),
            ),
            on="seq",
            how="left",
        )
        .join(
            j.filter((c.action == "revoke") & (pl.coalesce(c.valid_from, c.r_ts) <= c.ts))
            .group_by("seq")
            .agg(revoked=pl.coalesce(c.valid_from, c.r_ts).min()),
            on="seq",
            how="left",
        )
        .join(coded.select("seq", "device_id", "code_device_id", "county"), on="seq")
    )
    own_phone = c.device_id.is_null() | (c.device_id == c.code_device_id)
    why = (
        pl.when(c.known.is_null())
        .then(pl.lit("no such team in the promoter registry"))
        .when(c.revoked.is_not_null())
        .then(pl.lit("the team's authorisation was revoked on ") + c.revoked.dt.date().cast(str))
        .when(~c.any_time)
        .then(pl.lit("outside the dates of the team's authorisation"))
        .when(~c.county_ok)
        .then(pl.lit("county ") + c.county.fill_null("?") + " is outside the team's area")
        .when(c.platform_rows & ~c.platform_ok.fill_null(False))
        .then(pl.lit("the team is not authorised for this platform"))
        .when(~(c.device_ok | own_phone))
        .then(pl.lit("device ") + c.device_id + " is not a registered member's device")
    )
    per = per.with_columns(outside=why).select(
        "seq", "outside", authorised=c.known.fill_null(False) & why.is_null()
    )
    out = r.join(per, on="seq", how="left").with_columns(c.authorised.fill_null(False))
    # a registered team's device used outside that team's authorisation
    devices = reg.filter((c.action == "grant") & c.r_device.is_not_null()).select(
        "r_seq", "r_device", "team_id"
    )
    misuse = (
        base.join(devices, left_on="device_id", right_on="r_device")
        .filter(c.r_seq < c.seq)
        .join(out.select("seq", "authorised"), on="seq")
        .filter(~(c.authorised & (c.promoter_id == c.team_id)))
        .group_by("seq")
        .agg(
            team_device=pl.lit("is a registered device of promotion team ")
            + c.team_id.min()
            + ", used outside its authorisation"
        )
    )
    return out.join(misuse, on="seq", how="left")


def _first_accounts(r: pl.DataFrame, history: pa.Table | None) -> pl.DataFrame:
    """The number's first registration in the log (history holds the log up to the batch end)."""
    past = r.select("seq", "phone")
    if history is not None and history.num_rows:
        past = pl.concat([past, pl.from_arrow(history.select(["seq", "phone"]))])
    first = past.group_by("phone").agg(first_seq=pl.col.seq.min())
    return r.join(first, on="phone", how="left").with_columns(
        first_account=pl.col.seq == pl.col.first_seq
    )


def _running_counts(
    r: pl.DataFrame, firsts: pl.DataFrame, s: RegistrationRiskSettings
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """For each registration, distinct members seen in (what, key, bucket) up to and including
    it in log order: identities per device / code device / network per day, devices per network
    per day, platforms per number per H-hour bucket (two phases), elderly first-time identities
    per county per day. Returns (seq -> counts, new firsts state)."""
    c = pl.col
    h_ms = int(s.multi_platform_hours * HOUR_MS)
    free = ~r["authorised"]
    occ_parts = [
        ("dev", r.filter(free).select("seq", key="device_id", bucket="day", member="identity")),
        (
            "cdev",
            r.filter(free).select("seq", key="code_device_id", bucket="day", member="identity"),
        ),
        ("net", r.filter(free).select("seq", key="net", bucket="day", member="identity")),
        ("netdev", r.filter(free).select("seq", key="net", bucket="day", member="dev_key")),
        (
            "plat_a",
            r.select("seq", key="phone", bucket=c.ts.dt.epoch("ms") // h_ms, member="platform"),
        ),
        (
            "plat_b",
            r.select(
                "seq",
                key="phone",
                bucket=(c.ts.dt.epoch("ms") + h_ms // 2) // h_ms,
                member="platform",
            ),
        ),
        (  # every elderly owner's registration asks; only first accounts add to the count
            "burst",
            r.filter(free & c.elderly).select(
                "seq",
                key="home_county",
                bucket="day",
                member=pl.when(c.first_account).then(c.identity),
            ),
        ),
    ]
    occ = pl.concat(
        [df.with_columns(what=pl.lit(w)) for w, df in occ_parts], how="vertical_relaxed"
    ).filter(c.key.is_not_null())
    occ = occ.select("what", "key", "bucket", "member", "seq").cast(
        {"bucket": pl.Int64, "seq": pl.Int64}
    )
    g = ["what", "key", "bucket"]
    new = (
        occ.filter(c.member.is_not_null())
        .group_by([*g, "member"])
        .agg(first_seq=c.seq.min())
        .join(firsts, on=[*g, "member"], how="anti")
    )
    touched = pl.concat([firsts.join(occ.select(g).unique(), on=g, how="semi"), new])
    ranked = touched.sort("first_seq").with_columns(n=pl.int_range(1, pl.len() + 1).over(g))
    counted = occ.sort("seq").join_asof(
        ranked.select(*g, "first_seq", "n"),
        left_on="seq",
        right_on="first_seq",
        by=g,
        strategy="backward",
        check_sortedness=False,
    )
    counts = (
        counted.group_by("seq")
        .agg([c.n.fill_null(0).filter(c.what == w).max().alias(f"n_{w}") for w, _ in occ_parts])
        .cast({f"n_{w}": pl.Int64 for w, _ in occ_parts})
    )
    state = pl.concat([firsts, new])
    if state.height:
        top = state.group_by("what").agg(top=c.bucket.max())
        keep = (
            pl.when(c.what.str.starts_with("plat"))
            .then(pl.lit(s.late_days * DAY_MS // max(h_ms, 1) + 2))
            .otherwise(pl.lit(s.late_days))
        )
        state = (
            state.join(top, on="what")
            .filter(c.bucket >= c.top - keep)
            .drop("top")
            .sort(["what", "key", "bucket", "first_seq", "member"])
        )
    return counts, state
