"""The fraud of the synthetic city, as the reports tell it, and its ground truth.

- Village push (reports 000, 002): a team posing as medical-insurance promoters works a rural
  county village by village (up to ~200 people a day), takes elderly people's ID, phone and SMS
  codes; upstream number merchants register ~5 accounts per identity across platforms from a few
  devices and IPs far away while the codes arrive on the victim's phone; the team moves county
  after some days. The accounts later take 1-cent / 1-yuan new-user deals shipped to a few depots,
  and some are sold for fraud.
- Waybill theft (report 004): a remote-control program at a warehouse's printing PC or the
  sub-account of someone who left bulk-queries waybills in sequence, off hours; the records are
  sold at 3-5 yuan and days later "customer service" calls about a lost parcel and a refund.
- Impersonation calls (report 003): SIM-farm numbers (many handsets, many counties, short
  outgoing calls, almost no incoming) call as police, a leader or a loan agent; some victims are
  called again over days before they pay. The farm's cards were opened in customers' names by a
  business-hall insider (report 003: 镇江营业厅).
- Money (report 003): victims pay first-level mule accounts that split and forward within minutes
  through three or more levels, some through payment aggregators, to a cash-out.
- Fraud URLs and apps; citizens' reports with delay; police confirmations; victims' cases.

Nothing here looks at what any detector does: the parameters come from the scenario file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from fanzha.sim.base import (
    DAY_MS,
    HOUR_MS,
    MIN_MS,
    Clock,
    Events,
    bank_cards,
    id_numbers,
    id_regions,
    lognormal,
    mobiles,
    names,
    stream,
    token,
    uniform_int,
)
from fanzha.sim.life import (
    PLATFORM_PORT,
    StaffPlan,
    account_no,
    code_sms,
    merchant_account,
    registration_frame,
    s,
    warehouse_ip,
)
from fanzha.sim.population import Population, ip_strings

KEY_STEP = 10**9  # internal keys (_key) of fraud transfers live above the ordinary ones


@dataclass
class Truth:
    tables: dict[str, list[pl.DataFrame]] = field(default_factory=dict)

    def add(self, name: str, df: pl.DataFrame) -> None:
        if df.height:
            self.tables.setdefault(name, []).append(df)

    def get(self, name: str) -> pl.DataFrame:
        parts = self.tables.get(name)
        return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()


def _fake_ids(rng: np.random.Generator, counties: list[str], n: int, year: int) -> pl.Series:
    """ID numbers of people from outside the city (mule card holders, depot keepers)."""
    region = np.array([int(c) for c in counties])[rng.integers(0, len(counties), n)]
    by = year - rng.integers(19, 45, n)
    region = id_regions(region, by)
    ymd = by * 10000 + rng.integers(1, 13, n) * 100 + rng.integers(1, 29, n)
    return id_numbers(region, ymd, rng.integers(0, 999, n))


# --- village push ------------------------------------------------------------------------------


def village_push(
    P: Population, sc: dict, clock: Clock, seed: int, ev: Events, truth: Truth
) -> pl.DataFrame:
    """Harvested identities -> black accounts -> promotion-abuse orders (returned) and sales."""
    rng = stream(seed, "village-push")
    vp = sc["village_push"]
    geo = sc["geography"]
    platforms = list(vp["platforms"])
    rural = [c for c in range(len(P.county_codes)) if not P.county_urban[c]]
    harvested = np.zeros(P.n, dtype=bool)
    promo_frames = []
    acct_counter = 0
    for team in range(int(vp["teams"])):
        gang = f"vp-{team + 1}"
        up_county = geo["upstream_counties"][team % len(geo["upstream_counties"])]
        n_dev = int(vp["upstream_devices"])
        devices = token(
            "d",
            30_000_000
            + rng.choice(10**8, n_dev, replace=False) * 13
            + 1
            + rng.integers(0, 12, n_dev),
            9,
        )
        ips = ip_strings(
            np.full(int(vp["upstream_ips"]), 183),
            rng.integers(1, 250, int(vp["upstream_ips"])),
            rng.integers(1, 250, int(vp["upstream_ips"])),
            rng.integers(2, 250, int(vp["upstream_ips"])),
        )
        order = rng.permutation(rural)
        day, ci = 0, 0
        visited: set[int] = set()
        while day < clock.days and ci < len(order):
            c = int(order[ci])
            stay = int(uniform_int(rng, vp["days_per_county"], 1)[0])
            villages = [v for v in np.flatnonzero(P.village_county == c) if v not in visited]
            villages = list(rng.permutation(villages))
            for d in range(day, min(day + stay, clock.days)):
                today = villages[: int(vp["villages_per_day"])]
                villages = villages[int(vp["villages_per_day"]) :]
                cap = int(vp["max_victims_per_team_day"])
                t = clock.day_ms(d) + 9 * HOUR_MS + rng.integers(0, 30 * MIN_MS)
                got = []
                for v in today:
                    visited.add(int(v))
                    idx = np.arange(P.village_start[v], P.village_start[v] + P.village_size[v])
                    cand = idx[(P.age[idx] >= vp["min_age"]) & (P.phone[idx] > 0) & ~harvested[idx]]
                    cand = cand[rng.random(len(cand)) < vp["harvest_share"]]
                    got.append(cand[: max(0, cap - sum(len(g) for g in got))])
                who = np.concatenate(got) if got else np.empty(0, np.int64)
                if not len(who):
                    continue
                harvested[who] = True
                # a few minutes per villager and pusher, through the working day
                pushers = max(1, int(vp["pushers_per_team"]))
                h_ts = t + np.cumsum(rng.integers(2 * MIN_MS, 6 * MIN_MS, len(who)) // pushers)
                truth.add(
                    "harvested",
                    pl.DataFrame(
                        {
                            "person": who,
                            "id_number": P.id_number.gather(who),
                            "phone": s(P.phone[who]),
                            "harvested_ts": h_ts,
                            "county": P.county_code(who),
                            "village": P.village[who],
                            "gang_id": gang,
                            "cover": pl.Series(vp["covers"]).gather(
                                rng.integers(0, len(vp["covers"]), len(who))
                            ),
                        }
                    ),
                )
                acc = _black_accounts(P, vp, rng, who, h_ts, platforms, acct_counter)
                acct_counter += acc.height
                dev = devices.gather(rng.integers(0, n_dev, acc.height))
                ip_i = rng.integers(0, len(ips), acc.height)
                person = acc["person"].to_numpy()
                for plat in sorted(set(acc["platform"].to_list())):
                    m = (acc["platform"] == plat).to_numpy()
                    a = acc.filter(pl.Series(m))
                    reg = registration_frame(
                        P,
                        person[m],
                        plat,
                        a["account_id"],
                        a["ts"].to_numpy(),
                        dev.filter(pl.Series(m)),
                        ips.gather(ip_i[m]),
                        pl.Series([up_county] * a.height),
                        dev.filter(pl.Series(m)),
                        ips.gather(ip_i[m]),
                        pl.Series([up_county] * a.height),
                    )
                    ev.add("registration", reg)
                    if plat in PLATFORM_PORT:
                        ev.add("sms", code_sms(P, person[m], plat, a["ts"].to_numpy(), rng))
                    else:
                        ev.add(
                            "sms",
                            code_sms(P, person[m], "shop-a", a["ts"].to_numpy(), rng).with_columns(
                                sender=pl.lit("10690000" + str(7000 + platforms.index(plat))),
                                text=pl.col.text.str.replace("shop-a", plat, literal=True),
                            ),
                        )
                use = np.where(rng.random(acc.height) < vp["sold_share"], "sold", "idle")
                shopping = acc["platform"].is_in(sc["population"]["shopping_platforms"]).to_numpy()
                promo = shopping & (rng.random(acc.height) < vp["promo_abuse_share"])
                use = np.where(promo, "promo", use)
                lo, hi = vp["commission_yuan"]
                acc = acc.with_columns(
                    use=pl.Series(use),
                    gang_id=pl.lit(gang),
                    device_id=dev,
                    ip=ips.gather(ip_i),
                    commission_fen=pl.Series(uniform_int(rng, [lo * 100, hi * 100], acc.height)),
                )
                truth.add(
                    "black_accounts",
                    acc.select(
                        "platform",
                        "account_id",
                        "gang_id",
                        "person",
                        "id_number",
                        "phone",
                        "ts",
                        "use",
                        "device_id",
                        "commission_fen",
                    ),
                )
                promo_frames.append(
                    _promo_orders(
                        P, sc, clock, rng, acc.filter(pl.col.use == "promo"), up_county, ips, ev
                    )
                )
                _sold_logins(P, sc, clock, rng, acc.filter(pl.col.use == "sold"), ev)
                t = clock.day_ms(d + 1) + 9 * HOUR_MS + rng.integers(0, 30 * MIN_MS)
            day += stay
            ci += 1
    promo = [f for f in promo_frames if f.height]
    return pl.concat(promo, how="diagonal_relaxed") if promo else pl.DataFrame()


def _black_accounts(P, vp, rng, who, h_ts, platforms, counter) -> pl.DataFrame:
    n_acc = np.minimum(1 + rng.poisson(vp["accounts_per_identity"] - 1, len(who)), len(platforms))
    rows_p, rows_plat, rows_ts = [], [], []
    for i, (p, k) in enumerate(zip(who, n_acc, strict=True)):
        have = {P.platforms[j] for j in np.flatnonzero(P.accounts[p])}
        free = [x for x in platforms if x not in have]
        pick = rng.permutation(free)[: int(k)]
        rows_p += [p] * len(pick)
        rows_plat += list(pick)
        rows_ts += list(h_ts[i] + 30_000 + np.cumsum(rng.integers(40_000, 4 * MIN_MS, len(pick))))
    person = np.array(rows_p, dtype=np.int64)
    k = np.arange(counter, counter + len(person))
    plat_idx = np.array([platforms.index(x) for x in rows_plat], dtype=np.int64)
    return pl.DataFrame(
        {
            "person": person,
            "platform": pl.Series(rows_plat, dtype=pl.String),
            "account_id": token("u", account_no((P.n + 10**6 + k) * 8 + plat_idx % 8), 9),
            "ts": np.array(rows_ts, dtype=np.int64),
            "id_number": P.id_number.gather(person),
            "phone": s(P.phone[person]),
        }
    )


def _promo_orders(P, sc, clock, rng, acc: pl.DataFrame, up_county: str, ips, ev) -> pl.DataFrame:
    """1-cent / 1-yuan new-user deals by black accounts, shipped to a few depots (report 002)."""
    vp = sc["village_push"]
    if not acc.height:
        return pl.DataFrame()
    n_o = uniform_int(rng, vp["promo_orders_per_account"], acc.height)
    rep = np.repeat(np.arange(acc.height), n_o)
    a = acc[rep]
    delay = uniform_int(rng, vp["promo_delay_days"], len(rep)) * DAY_MS + rng.integers(
        0, DAY_MS, len(rep)
    )
    ts = a["ts"].to_numpy() + delay
    keep = ts < clock.end_ms
    a, ts = a.filter(pl.Series(keep)), ts[keep]
    m = a.height
    if not m:
        return pl.DataFrame()
    deals = vp["promo_deals"]
    di = rng.integers(0, len(deals), m)
    n_dep = int(vp["promo_addresses"])
    dep = rng.integers(0, n_dep, m)
    depot_phone = mobiles(rng, n_dep, taken=P.phone)
    depot_name = names(rng, n_dep)
    shop = np.zeros(m, dtype=np.int64)
    for plat in np.unique(a["platform"].to_numpy()):
        rows = np.flatnonzero(a["platform"].to_numpy() == plat)
        shops = np.flatnonzero(P.shop_platform == P.platforms.index(plat))
        shop[rows] = shops[rng.integers(0, len(shops), len(rows))]
    login_ts = ts - rng.integers(MIN_MS, 20 * MIN_MS, m)
    ev.add(
        "login",
        pl.DataFrame(
            {
                "ts": login_ts,
                "platform": a["platform"],
                "account_id": a["account_id"],
                "device_id": a["device_id"],
                "ip": a["ip"],
                "ip_county": up_county,
                "success": True,
            }
        ),
    )
    return pl.DataFrame(
        {
            "ts": ts,
            "account_id": a["account_id"],
            "platform": a["platform"],
            "shop_id": "s-" + s(shop).str.zfill(4),
            "warehouse": P.shop_warehouse[shop],
            "deal_id": pl.Series([deals[i]["deal_id"] for i in di]),
            "sku": pl.Series([deals[i]["sku"] for i in di]),
            "amount_fen": np.array([deals[i]["amount_fen"] for i in di], dtype=np.int64),
            "list_price_fen": np.array([deals[i]["list_price_fen"] for i in di], dtype=np.int64),
            "ship_name": depot_name.gather(dep),
            "ship_phone": s(depot_phone[dep]),
            "ship_address": "广东省广州市番禺区石楼镇物流园" + s(dep + 3) + "号仓",
            "ship_county": up_county,
            "_buyer": np.full(m, -1),
            "_promo": True,
            "_black_account": a["account_id"],
        }
    )


def _sold_logins(P, sc, clock, rng, acc: pl.DataFrame, ev) -> None:
    """Bought accounts are operated from the fraud gang's base, days later."""
    if not acc.height:
        return
    base = sc["geography"]["fraud_base_counties"]
    m = acc.height
    ts = acc["ts"].to_numpy() + rng.integers(2 * DAY_MS, 10 * DAY_MS, m)
    keep = ts < clock.end_ms
    dev = token("d", 30_000_000 + rng.choice(10**8, 8, replace=False) * 13 + 5, 9)
    ev.add(
        "login",
        pl.DataFrame(
            {
                "ts": ts,
                "platform": acc["platform"],
                "account_id": acc["account_id"],
                "device_id": dev.gather(rng.integers(0, 8, m)),
                "ip": ip_strings(
                    np.full(m, 103),
                    rng.integers(1, 250, m),
                    rng.integers(1, 250, m),
                    rng.integers(2, 250, m),
                ),
                "ip_county": pl.Series(base).gather(rng.integers(0, len(base), m)),
                "success": True,
            }
        ).filter(pl.Series(keep)),
    )


# --- waybill theft ------------------------------------------------------------------------------


def plan_leaks(P: Population, sc: dict, clock: Clock, seed: int, plan: StaffPlan) -> list[dict]:
    """Where and how each leak happens; an ex-employee leak makes its leaver (account left on)."""
    rng = stream(seed, "leak-plan")
    leaks = []
    order = list(np.argsort(-P.warehouse_size, kind="stable"))
    used: set[int] = set()
    for i, spec in enumerate(sc["waybill_theft"]["leaks"]):
        free = [w for w in order if w not in used] or order
        # remote-control programs hit the big printing offices (report 004: 义乌 cloud warehouses)
        top = free[:1] if spec["method"] == "remote_control" else free[: max(1, min(3, len(free)))]
        w = int(top[rng.integers(0, len(top))])
        used.add(w)
        printers = np.flatnonzero(
            (plan.warehouse == w) & (plan.role == 0) & (plan.left > clock.days)
        )
        if not len(printers):
            printers = np.flatnonzero(plan.warehouse == w)
        staff = int(printers[rng.integers(0, len(printers))])
        start = min(int(spec.get("start_day", 1)), max(clock.days - 1, 0))
        if spec["method"] == "ex_employee":
            plan.left[staff] = start - int(rng.integers(5, 20))
            plan.disabled[staff] = False
        elif spec["method"] == "temp_hire":
            plan.hired[staff] = start
            plan.left[staff] = start + 4
            plan.disabled[staff] = True
        leaks.append(
            {
                "leak_id": f"leak-{i + 1}",
                "method": spec["method"],
                "warehouse": w,
                "staff": staff,
                "start_day": start,
            }
        )
    return leaks


def waybill_theft(
    P: Population,
    sc: dict,
    clock: Clock,
    seed: int,
    ords: pl.DataFrame,
    plan: StaffPlan,
    leaks: list[dict],
    ev: Events,
    truth: Truth,
) -> pl.DataFrame:
    """Bulk sequential queries by each leak; returns the leaked records (with when they left)."""
    rng = stream(seed, "waybill-theft")
    wt = sc["waybill_theft"]
    records = []
    for leak in leaks:
        w, staff, method = leak["warehouse"], leak["staff"], leak["method"]
        site = f"wh-{w:02d}"
        account = plan.account(np.array([staff]))[0]
        mine = ords.filter(pl.col.warehouse == w).sort("waybill_no")
        taken = np.zeros(mine.height, dtype=bool)
        tool = wt["remote_tools"][int(rng.integers(0, len(wt["remote_tools"])))]
        pc = f"wh{w:02d}-pc-01"
        if method == "remote_control":
            ip, device, tools = warehouse_ip(np.array([w]))[0], pc, tool
        elif method == "ex_employee":
            device = P.device(np.array([plan.person[staff]]))[0]
            ip, tools = P.home_ip(np.array([plan.person[staff]]))[0], None
        else:
            ip, device, tools = warehouse_ip(np.array([w]))[0], pc, None
        accesses = []
        for d in range(leak["start_day"], clock.days):
            if method == "temp_hire" and d >= leak["start_day"] + 4:
                break
            if method == "remote_control":
                t0 = clock.day_ms(d) + int(rng.integers(1 * HOUR_MS, 5 * HOUR_MS))  # at dawn
            elif method == "ex_employee":
                t0 = clock.day_ms(d) + int(rng.integers(21 * HOUR_MS, 23 * HOUR_MS))
            else:
                t0 = clock.day_ms(d) + int(rng.integers(10 * HOUR_MS, 16 * HOUR_MS))
            avail = np.flatnonzero(~taken & (mine["ts"].to_numpy() < t0))
            k = min(int(uniform_int(rng, wt["records_per_night"], 1)[0]), len(avail))
            login = {
                "ts": [t0],
                "site": [site],
                "operator_account": [account],
                "action": ["login"],
                "system": ["WMS"],
                "device_id": [device],
                "ip": [ip],
                "record_count": [0],
                "remote_tools": [tools],
                "order_id": [None],
                "waybill_no": [None],
                "subject_phone": [None],
            }
            accesses.append(
                pl.DataFrame(
                    login,
                    schema_overrides={
                        c: pl.String
                        for c in ("remote_tools", "order_id", "waybill_no", "subject_phone")
                    },
                )
            )
            if not k:
                continue
            pick = avail[-k:]  # the latest waybills, in sequence
            taken[pick] = True
            rec = mine[pick]
            ts = t0 + 20_000 + np.cumsum(rng.integers(1_500, 6_000, k))
            accesses.append(
                pl.DataFrame(
                    {
                        "ts": ts,
                        "site": site,
                        "operator_account": account,
                        "action": "query",
                        "system": "WMS",
                        "device_id": device,
                        "ip": ip,
                        "record_count": np.ones(k, np.int64),
                        "remote_tools": pl.Series([tools] * k, dtype=pl.String),
                        "order_id": rec["order_id"],
                        "waybill_no": rec["waybill_no"],
                        "subject_phone": rec["ship_phone"],
                    }
                )
            )
            records.append(
                rec.select("order_id", "waybill_no", "ship_phone", "_buyer").with_columns(
                    leak_id=pl.lit(leak["leak_id"]),
                    leaked_ts=pl.Series(ts),
                    price_fen=pl.Series(
                        uniform_int(rng, [wt["price_yuan"][0] * 100, wt["price_yuan"][1] * 100], k)
                    ),
                )
            )
        if accesses:
            acc = pl.concat(accesses, how="diagonal_relaxed")
            key = pl.Series(
                np.arange(acc.height) + 10**9 * (1 + len(truth.tables.get("leak_accesses", [])))
            )
            acc = acc.with_columns(_key=key)
            ev.add("waybill_access", acc)
            truth.add(
                "leak_accesses",
                acc.select(
                    "_key", "ts", "site", "operator_account", "action", "waybill_no"
                ).with_columns(leak_id=pl.lit(leak["leak_id"])),
            )
            truth.add(
                "leaks",
                pl.DataFrame(
                    {
                        "leak_id": [leak["leak_id"]],
                        "site": [site],
                        "method": [method],
                        "operator_account": [account],
                        "device_id": [device],
                        "staff_id": [f"e-{plan.person[staff]:07d}"],
                        "first_ts": [int(acc["ts"].min())],
                        "last_ts": [int(acc["ts"].max())],
                        "records": [int(acc.filter(pl.col.action == "query").height)],
                    }
                ),
            )
    out = pl.concat(records) if records else pl.DataFrame()
    truth.add("leaked_records", out.drop("_buyer") if out.height else out)
    return out


# --- scams: contacts, journeys, payments -------------------------------------------------------

FRAUD_DOMAINS = {
    "fake_customer_service": ("tb-lipei{}.top", "kuaidi-tuikuan{}.cc", "wl-peifu{}.xyz"),
    "impersonate_authority": ("gaj-anquan{}.com", "zfjg-qingcha{}.net"),
    "fake_loan": ("jisu-daikuan{}.vip", "xinyong-kuai{}.top"),
}
FRAUD_APPS = {  # fake apps the victims are told to install; misused legit tools
    "fake_customer_service": (
        ("com.tb.lipei.kefu", "理赔助手", "fake"),
        ("com.oray.sunlogin.remote", "向日葵远程控制", "misused"),
    ),
    "impersonate_authority": (
        ("com.gaj.anquan.jiance", "安全防护", "fake"),
        ("us.zoom.videomeetings", "Zoom", "misused"),
    ),
    "fake_loan": (("com.jisu.daikuan", "极速贷", "fake"),),
    "impersonate_acquaintance": (),
}


@dataclass
class Gang:
    gang_id: str
    numbers: np.ndarray  # int64 phones
    imeis: np.ndarray
    counties: list[str]
    domains: list[str]


def _gang(P, sc, rng, gang_id, n_numbers, counties, fraud_types, virtual_share, year) -> Gang:
    virt = round(n_numbers * virtual_share)
    nums = np.concatenate(
        [
            mobiles(rng, virt, virtual=True, taken=np.concatenate([P.phone, P.phone2])),
            mobiles(rng, n_numbers - virt, taken=np.concatenate([P.phone, P.phone2])),
        ]
    )
    imeis = (
        860_000_000_000_000
        + (
            P.n
            + 1000
            + rng.choice(10**7, int(sc["impersonation"]["handsets_per_farm"]), replace=False)
        )
        * 7
        + 3
    )
    domains = []
    for ft in fraud_types:
        for pattern in FRAUD_DOMAINS.get(ft, ()):
            domains.append(pattern.format(int(rng.integers(10, 99))))
    return Gang(gang_id, rng.permutation(nums), imeis, counties, domains)


@dataclass
class Contacts:
    """Every fraud contact, in the order made (one row per call or SMS)."""

    rows: list[pl.DataFrame] = field(default_factory=list)

    def add(self, **cols) -> None:
        self.rows.append(pl.DataFrame(cols))

    def frame(self) -> pl.DataFrame:
        return pl.concat(self.rows, how="diagonal_relaxed") if self.rows else pl.DataFrame()


@dataclass
class Rotation:
    """A gang's numbers over time: `slots` numbers call in parallel; each is cut after a
    lognormal life (hours) and the next one of its slot takes over."""

    slot: np.ndarray
    start: np.ndarray  # UTC ms
    end: np.ndarray

    @classmethod
    def make(cls, rng, clock: Clock, slots: int, life_hours_median: float) -> Rotation:
        slot, start, end = [], [], []
        for j in range(max(1, slots)):
            t = clock.start_ms - int(rng.integers(0, 12 * HOUR_MS))
            while t < clock.end_ms:
                life = int(np.clip(lognormal(rng, life_hours_median, 0.7, 1)[0], 2, 96) * HOUR_MS)
                slot.append(j)
                start.append(t)
                end.append(t + life)
                t += life
        return cls(np.array(slot), np.array(start, np.int64), np.array(end, np.int64))

    def __len__(self) -> int:
        return len(self.slot)

    def at(self, rng, ts: np.ndarray) -> np.ndarray:
        """The number (index) calling at each time, from a random slot."""
        ts = np.asarray(ts, dtype=np.int64)
        slots = int(self.slot.max()) + 1
        pick = rng.integers(0, slots, len(ts))
        out = np.empty(len(ts), dtype=np.int64)
        for j in range(slots):
            rows = np.flatnonzero(pick == j)
            idx = np.flatnonzero(self.slot == j)
            pos = np.searchsorted(self.start[idx], ts[rows], side="right") - 1
            out[rows] = idx[np.clip(pos, 0, len(idx) - 1)]
        return out


def _pick_cards(P, person):
    return np.where(P.card[person] > 0, P.card[person], P.card2[person])


def impersonation(P, sc, clock, seed, ev, truth, contacts: Contacts, payments: list) -> Gang:
    rng = stream(seed, "impersonation")
    im = sc["impersonation"]
    geo = sc["geography"]
    calls_day = im["calls_per_1000_people_day"] * P.n / 1000
    per_number = max(1.0, im["calls_per_number_day"])
    scripts = im["scripts"]
    w = np.array([x["weight"] for x in scripts], dtype=float)
    city = [f"{c}" for c in P.county_codes]
    counties = list(rng.permutation(city))[: max(1, int(im["counties_per_farm"]) // 2)] + list(
        geo["fraud_base_counties"]
    )
    counties = counties[: max(1, int(im["counties_per_farm"]))]
    rot = Rotation.make(
        rng, clock, int(np.ceil(calls_day / per_number)), im["number_life_hours_median"]
    )
    gang = _gang(
        P,
        sc,
        rng,
        "farm-1",
        len(rot),
        counties,
        [x["fraud_type"] for x in scripts],
        0.5,
        clock.date(0).year,
    )
    with_phone = np.flatnonzero(P.phone > 0)
    victims = []
    for d in range(clock.days):
        k = rng.poisson(calls_day)
        if not k:
            continue
        target = with_phone[rng.integers(0, len(with_phone), k)]
        ts = clock.day_ms(d) + rng.integers(9 * HOUR_MS, 21 * HOUR_MS, k)
        num = rot.at(rng, ts)
        answered = rng.random(k) < im["answer_share"]
        engaged = answered & (rng.random(k) < im["engaged_share"])
        script = rng.choice(len(scripts), size=k, p=w / w.sum())
        dur = np.where(
            engaged,
            _engaged_seconds(rng, script, scripts),
            np.where(answered, rng.integers(3, 40, k), 0),
        )
        contacts.add(
            ts=ts,
            number=gang.numbers[num],
            person=target,
            channel=np.full(k, "call"),
            duration_s=dur,
            engaged=engaged,
            script=script,
            day=np.full(k, d),
            imei=gang.imeis[rng.integers(0, len(gang.imeis), k)],
            county=pl.Series(gang.counties).gather(rng.integers(0, len(gang.counties), k)),
            scenario=np.full(k, "impersonation"),
            fraud_type=pl.Series([x["fraud_type"] for x in scripts]).gather(script),
        )
        pay = engaged & (rng.random(k) < im["pay_share"]) & (_pick_cards(P, target) > 0)
        for i in np.flatnonzero(pay):
            victims.append(
                (int(target[i]), int(num[i]), int(ts[i]), int(dur[i]), int(script[i]), d)
            )
    # victims: called again over days, then pay (still on the line, or soon after)
    seen: set[int] = set()
    for person, num, ts, dur, script, d in victims:
        if person in seen:
            continue
        seen.add(person)
        ft = scripts[script]["fraud_type"]
        last_ts, last_dur = ts, dur
        if rng.random() < im["repeat_share"]:
            extra_days = int(uniform_int(rng, im["repeat_days"], 1)[0])
            for j in range(1, extra_days + 1):
                dd = d + j
                if dd >= clock.days:
                    break
                last_ts = int(clock.day_ms(dd) + rng.integers(9 * HOUR_MS, 20 * HOUR_MS))
                num2 = int(rot.at(rng, np.array([last_ts]))[0])
                last_dur = int(_engaged_seconds(rng, np.array([script]), scripts)[0])
                contacts.add(
                    ts=[last_ts],
                    number=[gang.numbers[num2]],
                    person=[person],
                    channel=["call"],
                    duration_s=[last_dur],
                    engaged=[True],
                    script=[script],
                    day=[dd],
                    imei=[gang.imeis[int(rng.integers(0, len(gang.imeis)))]],
                    county=[gang.counties[int(rng.integers(0, len(gang.counties)))]],
                    scenario=["impersonation"],
                    fraud_type=[ft],
                )
        _journey(
            P,
            sc,
            clock,
            rng,
            ev,
            gang,
            person,
            ft,
            last_ts,
            last_dur,
            scripts[script]["loss_median_yuan"],
            payments,
            "impersonation",
            num,
        )
    _number_truth(truth, gang, rot, "impersonation")
    truth.add("fraud_urls", pl.DataFrame({"domain": gang.domains, "gang_id": gang.gang_id}))
    return gang


def _number_truth(truth: Truth, gang: Gang, rot: Rotation, scenario: str) -> None:
    truth.add(
        "fraud_numbers",
        pl.DataFrame(
            {
                "number": s(gang.numbers),
                "gang_id": gang.gang_id,
                "scenario": scenario,
                "first_ts": rot.start,
                "last_ts": rot.end,
            }
        ),
    )


def _engaged_seconds(rng, script: np.ndarray, scripts: list[dict]) -> np.ndarray:
    ft = np.array([scripts[i]["fraud_type"] for i in script])
    police = lognormal(rng, 1800, 0.6, len(script))
    other = lognormal(rng, 420, 0.6, len(script))
    return np.clip(np.where(ft == "impersonate_authority", police, other), 60, 14_000).astype(
        np.int64
    )


def _journey(
    P,
    sc,
    clock,
    rng,
    ev,
    gang: Gang,
    person: int,
    ft: str,
    call_ts: int,
    dur: int,
    loss_median: float,
    payments: list,
    scenario: str,
    number_idx: int,
    leak_id=None,
) -> None:
    """After the script: a fraud URL, an app, then one or more payments to first-level mules."""
    phone = str(P.phone[person])
    t = call_ts + min(dur * 1000, 40 * MIN_MS) // 2
    domains = [x for x in gang.domains if _domain_type(x) == ft] or gang.domains
    if domains and ft in FRAUD_DOMAINS and rng.random() < 0.8 and not P.feature[person]:
        dom = domains[int(rng.integers(0, len(domains)))]
        page = ["claim", "verify", "apply"][int(rng.integers(0, 3))]
        url = f"https://{dom}/{page}?id={int(rng.integers(10**5, 10**6))}"
        ev.add(
            "visit",
            pl.DataFrame(
                {
                    "ts": [t],
                    "phone": [phone],
                    "domain": [dom],
                    "url": [url],
                    "ip": [f"45.{int(rng.integers(1, 250))}.{int(rng.integers(1, 250))}.9"],
                }
            ),
        )
        t += int(rng.integers(MIN_MS, 5 * MIN_MS))
    apps = FRAUD_APPS.get(ft, ())
    if apps and rng.random() < 0.6 and not P.feature[person]:
        app_id, app_name, _ = apps[int(rng.integers(0, len(apps)))]
        ev.add(
            "app",
            pl.DataFrame(
                {
                    "ts": [t, t + int(rng.integers(MIN_MS, 4 * MIN_MS))],
                    "phone": [phone, phone],
                    "app_id": [app_id, app_id],
                    "action": [
                        "install",
                        "screen_share" if app_name == "Zoom" else "remote_session",
                    ],
                    "app_name": [app_name, app_name],
                    "device_id": [P.device(np.array([person]))[0]] * 2,
                }
            ),
        )
        t += 5 * MIN_MS
    n_pay = int(uniform_int(rng, sc["money"]["payments_per_victim"], 1)[0])
    card = int(_pick_cards(P, np.array([person]))[0])
    total = float(lognormal(rng, loss_median, 0.7, 1)[0])
    shares = rng.dirichlet(np.ones(n_pay)) if n_pay > 1 else np.ones(1)
    for j in range(n_pay):
        t += int(rng.integers(2 * MIN_MS, 15 * MIN_MS))
        if t >= clock.end_ms:
            break
        payments.append(
            {
                "ts": t,
                "person": person,
                "card": card,
                "amount_fen": int(max(100, round(total * shares[j] * 100))),
                "gang_id": gang.gang_id,
                "scenario": scenario,
                "fraud_type": ft,
                "number": int(gang.numbers[number_idx]),
                "leak_id": leak_id,
            }
        )


def _domain_type(domain: str) -> str:
    for ft, patterns in FRAUD_DOMAINS.items():
        if any(domain.startswith(p.split("{")[0]) for p in patterns):
            return ft
    return ""


CHEAP_REGISTRARS = ("namesilo", "gname", "dynadot", "porkbun")  # privacy-friendly, cheap


def domain_records(sc: dict, clock: Clock, seed: int, gangs: list[Gang], ev: Events) -> None:
    """What a passive-DNS / WHOIS / ICP feed says of the visited domains: the gangs' sites were
    registered days before the period at a cheap registrar and never filed; the big sites years
    ago, filed with an ICP number; the small sites any time, some days ago, a few filed."""
    from fanzha.sim.life import LEGIT_DOMAINS, small_sites

    rng = stream(seed, "domains")
    fraud = sorted({d for g in gangs for d in g.domains})
    small = small_sites(sc, clock, seed)
    m, n, k = len(fraud), len(LEGIT_DOMAINS), small.height
    reg = np.concatenate(
        [
            clock.start_ms - rng.integers(2 * DAY_MS, 30 * DAY_MS, m),
            clock.start_ms - rng.integers(5 * 365, 25 * 365, n) * DAY_MS,
            small["registered_ts"].to_numpy(),
        ]
    )
    seen = reg + rng.integers(HOUR_MS, 2 * DAY_MS, m + n + k)
    filed = rng.random(k) < 0.3
    icp = (
        [None] * m
        + [f"京ICP备{int(x):08d}号" for x in rng.integers(10**7, 10**8, n)]
        + [
            f"桂ICP备{int(x):08d}号" if f else None
            for x, f in zip(rng.integers(10**7, 10**8, k), filed, strict=True)
        ]
    )
    registrar = (
        [CHEAP_REGISTRARS[int(i)] for i in rng.integers(0, 4, m)]
        + ["alibaba-cloud"] * n
        + [(*CHEAP_REGISTRARS, "alibaba-cloud", "dnspod")[int(i)] for i in rng.integers(0, 6, k)]
    )
    ev.add(
        "domain",
        pl.DataFrame(
            {
                "ts": np.concatenate([seen[:m], np.full(n, clock.start_ms), seen[m + n :]]),
                "domain": fraud + list(LEGIT_DOMAINS) + small["domain"].to_list(),
                "registered_ts": reg,
                "first_seen_ts": seen,
                "registrar": registrar,
                "icp": pl.Series(icp, dtype=pl.String),
            }
        ),
    )


def refund_scam(
    P, sc, clock, seed, ev, truth, leaked: pl.DataFrame, contacts: Contacts, payments: list
) -> Gang | None:
    """ "Your parcel was lost, here is a refund": calls and SMS to the leaked customers, days later."""
    rng = stream(seed, "refund-scam")
    wt = sc["waybill_theft"]
    geo = sc["geography"]
    if not leaked.height:
        return None
    rot = Rotation.make(rng, clock, int(wt["numbers_in_use"]), wt["number_life_hours_median"])
    gang = _gang(
        P,
        sc,
        rng,
        "cs-1",
        len(rot),
        list(geo["fraud_base_counties"]),
        ["fake_customer_service"],
        0.7,
        clock.date(0).year,
    )
    rec = leaked.filter(pl.col._buyer >= 0).unique("_buyer", keep="first", maintain_order=True)
    go = rng.random(rec.height) < wt["contact_share"]
    rec = rec.filter(pl.Series(go))
    m = rec.height
    delay = uniform_int(rng, wt["scam_delay_days"], m)
    day = (rec["leaked_ts"].to_numpy() - clock.start_ms) // DAY_MS + delay
    keep = day < clock.days
    rec, day = rec.filter(pl.Series(keep)), day[keep]
    m = rec.height
    person = rec["_buyer"].to_numpy()
    ts = clock.day_ms(day) + rng.integers(9 * HOUR_MS, 20 * HOUR_MS, m)
    num = rot.at(rng, ts)
    by_sms = rng.random(m) < wt["sms_share"]
    answered = ~by_sms & (rng.random(m) < wt["answer_share"])
    engaged = np.where(
        by_sms,
        rng.random(m) < wt["engaged_share"] / 3,
        answered & (rng.random(m) < wt["engaged_share"]),
    )
    dur = np.where(
        engaged & ~by_sms,
        lognormal(rng, 300, 0.5, m).astype(np.int64),
        np.where(answered, rng.integers(3, 45, m), 0),
    )
    contacts.add(
        ts=ts,
        number=gang.numbers[num],
        person=person,
        channel=np.where(by_sms, "sms", "call"),
        duration_s=dur,
        engaged=engaged,
        script=np.full(m, -1),
        day=day,
        imei=gang.imeis[rng.integers(0, len(gang.imeis), m)],
        county=pl.Series(gang.counties).gather(rng.integers(0, len(gang.counties), m)),
        scenario=np.full(m, "refund"),
        fraud_type=np.full(m, "fake_customer_service"),
        waybill_no=rec["waybill_no"],
        leak_id=rec["leak_id"],
    )
    pay = engaged & (rng.random(m) < wt["pay_share"]) & (_pick_cards(P, person) > 0)
    for i in np.flatnonzero(pay):
        _journey(
            P,
            sc,
            clock,
            rng,
            ev,
            gang,
            int(person[i]),
            "fake_customer_service",
            int(ts[i]),
            int(dur[i]),
            wt["loss_median_yuan"],
            payments,
            "refund",
            int(num[i]),
            leak_id=rec["leak_id"][int(i)],
        )
    _number_truth(truth, gang, rot, "refund")
    truth.add("fraud_urls", pl.DataFrame({"domain": gang.domains, "gang_id": gang.gang_id}))
    return gang


def contact_events(
    P, sc, clock, seed, contacts: pl.DataFrame, gangs: list[Gang], ev: Events
) -> None:
    """The calls and SMS of the fraud numbers, and the few calls back from the people."""
    rng = stream(seed, "fraud-contacts")
    if not contacts.height:
        return
    person = contacts["person"].to_numpy()
    callee = s(P.phone[person])
    calls = contacts.filter(pl.col.channel == "call")
    is_call = (contacts["channel"] == "call").to_numpy()
    c = contacts.filter(pl.Series(is_call))
    ev.add(
        "call",
        pl.DataFrame(
            {
                "ts": c["ts"],
                "caller": s(c["number"].to_numpy()),
                "callee": callee.filter(pl.Series(is_call)),
                "duration_s": c["duration_s"],
                "caller_imei": s(c["imei"].to_numpy()),
                "caller_cell": c["county"] + "-" + s(rng.integers(1, 40, c.height)),
                "caller_county": c["county"],
                "callee_county": P.county_code(person[is_call]),
            }
        ),
    )
    m = contacts.filter(~pl.Series(is_call))
    if m.height:
        dom = [g.domains for g in gangs if g.gang_id == "cs-1"]
        domains = dom[0] if dom else ["tb-lipei00.top"]
        d = pl.Series(domains).gather(rng.integers(0, len(domains), m.height))
        ev.add(
            "sms",
            pl.DataFrame(
                {
                    "ts": m["ts"],
                    "sender": s(m["number"].to_numpy()),
                    "receiver": callee.filter(~pl.Series(is_call)),
                    "text": "【客服】您的快递"
                    + m["waybill_no"].fill_null("")
                    + "已丢失，可获双倍理赔，请点击 https://"
                    + d
                    + "/claim 办理",
                    "sender_imei": s(m["imei"].to_numpy()),
                    "sender_county": m["county"],
                    "receiver_county": P.county_code(person[~is_call]),
                }
            ),
        )
    # almost no incoming: a few people call the number back
    back = calls.filter(pl.col.duration_s > 0)
    back = back.filter(pl.Series(rng.random(back.height) < sc["impersonation"]["incoming_share"]))
    if back.height:
        bp = back["person"].to_numpy()
        ev.add(
            "call",
            pl.DataFrame(
                {
                    "ts": back["ts"] + rng.integers(10 * MIN_MS, 6 * HOUR_MS, back.height),
                    "caller": s(P.phone[bp]),
                    "callee": s(back["number"].to_numpy()),
                    "duration_s": rng.integers(0, 30, back.height),
                    "caller_imei": s(P.imei[bp]),
                    "caller_county": P.county_code(bp),
                }
            ).filter(pl.col.ts < clock.end_ms),
        )


# --- money -------------------------------------------------------------------------------------


def mules(P, sc, clock, seed, payments: list, ev: Events, truth: Truth) -> pl.DataFrame:
    """Victim payments into first-level mules, split and forwarded within minutes through 3+
    levels (some via an aggregator's fake merchant) to a cash-out; returns the victim payments."""
    rng = stream(seed, "mules")
    mo = sc["money"]
    if not payments:
        return pl.DataFrame()
    pays = pl.DataFrame(payments, infer_schema_length=None).sort("ts", maintain_order=True)
    taken = np.concatenate([P.card, P.card2])
    pool_cards = bank_cards(rng, 64 + 12 * pays.height, taken=taken)
    next_card = 0
    accounts: list[dict] = []

    def new_account(level: int, gang: str, kind: str = "card") -> str:
        nonlocal next_card
        if kind == "aggregator":
            agg = P.aggregators[int(rng.integers(0, len(P.aggregators)))]
            acct = merchant_account(pl.Series([agg]), np.array([50_000 + len(accounts)]))[0]
        else:
            acct = str(pool_cards[next_card])
            next_card += 1
        accounts.append({"account": acct, "level": level, "gang_id": gang, "kind": kind})
        return acct

    l1: dict[str, list] = {}
    pools: dict[tuple[str, int], list[str]] = {}
    rows = []
    key = 0
    fwd = mo["forward_minutes"]
    for p in pays.iter_rows(named=True):
        g = p["gang_id"]
        cur = l1.get(g)
        if cur is None or cur[1] >= mo["l1_reuse"]:
            cur = l1[g] = [new_account(1, g), 0]
        cur[1] += 1
        key += 1
        root = key
        depth = int(uniform_int(rng, mo["levels"], 1)[0])
        rows.append(
            {
                "_key": root,
                "ts": p["ts"],
                "payer_account": str(p["card"]),
                "payee_account": cur[0],
                "amount_fen": p["amount_fen"],
                "payee_type": "person",
                "channel": "mobile",
                "payer_phone": str(P.phone[p["person"]]),
                "payer_id_number": P.id_number[p["person"]],
                "level": 1,
                "root": root,
            }
        )
        stack = [(cur[0], 1, p["amount_fen"], p["ts"], False)]
        while stack:
            acct, level, amount, t, via_agg = stack.pop()
            t_next = t + int(uniform_int(rng, fwd, 1)[0]) * MIN_MS + int(rng.integers(0, MIN_MS))
            if level >= depth:  # cash-out to an OTC crypto dealer or a cash withdrawal
                key += 1
                rows.append(
                    {
                        "_key": key,
                        "ts": t_next,
                        "payer_account": acct,
                        "payee_account": f"OTC-{int(rng.integers(1, 9)):02d}",
                        "amount_fen": max(1, int(amount * 0.99)),
                        "payee_type": "exchange",
                        "channel": "online",
                        "level": level + 1,
                        "root": root,
                    }
                )
                continue
            k = int(uniform_int(rng, mo["split"], 1)[0]) if not via_agg else 1
            shares = rng.dirichlet(np.ones(k) * 3)
            for sh in shares:
                child_level = level + 1
                agg = (
                    (not via_agg)
                    and child_level in (2, 3)
                    and rng.random() < mo["aggregator_share"] / 2
                )
                kind = "aggregator" if agg else "card"
                pool = pools.setdefault((g, child_level, kind), [])
                if not pool or rng.random() < 0.35:
                    pool.append(new_account(child_level, g, kind))
                child = pool[int(rng.integers(0, len(pool)))]
                amt = max(1, int(amount * (1 - mo["mule_fee_share"]) * sh))
                key += 1
                rows.append(
                    {
                        "_key": key,
                        "ts": t_next,
                        "payer_account": acct,
                        "payee_account": child,
                        "amount_fen": amt,
                        "payee_type": "aggregator" if agg else "person",
                        "channel": "online",
                        "level": child_level,
                        "root": root,
                    }
                )
                stack.append(
                    (child, child_level, amt, t_next + int(rng.integers(0, 3 * MIN_MS)), agg)
                )
    flows = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        _key=pl.col._key + 3 * KEY_STEP
    )
    keep = flows.filter(pl.col.ts < clock.end_ms)
    ev.add("transfer", keep.drop("level", "root"))
    truth.add(
        "mule_transfers",
        keep.select(
            "_key",
            "ts",
            "payer_account",
            "payee_account",
            "amount_fen",
            "level",
            pl.col.root + 3 * KEY_STEP,
        ),
    )
    acc = pl.DataFrame(accounts, infer_schema_length=None)
    truth.add("mules", acc)
    _mule_cards(P, sc, clock, rng, acc.filter(pl.col.kind == "card"), ev, truth)
    victim_pay = pays.with_columns(
        _key=pl.Series(flows.filter(pl.col.level == 1)["_key"].to_numpy())
    )
    return victim_pay


def _mule_cards(P, sc, clock, rng, acc: pl.DataFrame, ev: Events, truth: Truth) -> None:
    """Mule cards were opened days to weeks ago by people who sold them (卡农)."""
    m = acc.height
    if not m:
        return
    local = rng.random(m) < sc["money"]["mule_cards_local_share"]
    young = np.flatnonzero((P.age >= 18) & (P.age < 35))
    who = young[rng.integers(0, len(young), m)]
    outside = _fake_ids(rng, sc["geography"]["fraud_base_counties"], m, clock.date(0).year)
    ids = pl.select(
        pl.when(pl.Series(local)).then(P.id_number.gather(who)).otherwise(outside)
    ).to_series()
    holder = pl.select(
        pl.when(pl.Series(local)).then(P.name.gather(who)).otherwise(names(rng, m))
    ).to_series()
    county = pl.select(
        pl.when(pl.Series(local))
        .then(P.county_code(who))
        .otherwise(
            pl.Series(sc["geography"]["fraud_base_counties"]).gather(
                rng.integers(0, len(sc["geography"]["fraud_base_counties"]), m)
            )
        )
    ).to_series()
    ts = clock.start_ms - rng.integers(3, 60, m) * DAY_MS + rng.integers(0, DAY_MS, m)
    ev.add(
        "card",
        pl.DataFrame(
            {
                "ts": ts,
                "card_type": "bank",
                "card_number": acc["account"],
                "id_number": ids,
                "action": "open",
                "holder_name": holder,
                "issuer": "bank-a",
                "card_kind": "debit",
                "shop_id": "branch-" + county,
                "holder_county": county,
            }
        ),
    )
    truth.add(
        "cards",
        pl.DataFrame(
            {
                "card_type": "bank",
                "card_number": acc["account"],
                "id_number": ids,
                "how": "sold",
                "opened_ts": ts,
            }
        ),
    )


def insider_sims(P, sc, clock, seed, gang: Gang, ev: Events, truth: Truth) -> None:
    """The farm's SIM cards: most opened in customers' names by one business-hall clerk."""
    rng = stream(seed, "insider-sims")
    used = truth.get("fraud_numbers").filter(pl.col.gang_id == gang.gang_id)["number"]
    m = len(used)
    if not m:
        return
    insider = rng.random(m) < sc["impersonation"]["insider_cards_share"]
    c = int(rng.integers(0, len(P.county_codes)))
    customers = np.flatnonzero((P.county == c) & (P.age >= 18))
    who = customers[rng.integers(0, len(customers), m)]
    base = sc["geography"]["fraud_base_counties"]
    outside = _fake_ids(rng, base, m, clock.date(0).year)
    ids = pl.select(
        pl.when(pl.Series(insider)).then(P.id_number.gather(who)).otherwise(outside)
    ).to_series()
    hall = f"hall-{P.county_codes[c]}-1"
    first = truth.get("fraud_numbers").filter(pl.col.gang_id == gang.gang_id)["first_ts"].to_numpy()
    ts = first - rng.integers(1, 20, m) * DAY_MS - rng.integers(0, DAY_MS, m)
    agent = pl.select(
        pl.when(pl.Series(insider))
        .then(pl.lit(f"ag-{P.county_codes[c] % 1000 * 10 + 3}"))
        .otherwise(pl.lit("ag-reseller-7"))
    ).to_series()
    ev.add(
        "card",
        pl.DataFrame(
            {
                "ts": ts,
                "card_type": "sim",
                "card_number": used,
                "id_number": ids,
                "action": "open",
                "holder_name": pl.select(
                    pl.when(pl.Series(insider)).then(P.name.gather(who)).otherwise(names(rng, m))
                ).to_series(),
                "issuer": pl.Series(["operator-a", "operator-b", "operator-c"]).gather(
                    rng.integers(0, 3, m)
                ),
                "card_kind": "prepaid",
                "shop_id": pl.select(
                    pl.when(pl.Series(insider))
                    .then(pl.lit(hall))
                    .otherwise(pl.lit("dealer-online-3"))
                ).to_series(),
                "agent_id": agent,
                "holder_county": pl.select(
                    pl.when(pl.Series(insider))
                    .then(P.county_code(who))
                    .otherwise(pl.Series(base).gather(rng.integers(0, len(base), m)))
                ).to_series(),
            }
        ),
    )
    truth.add(
        "cards",
        pl.DataFrame(
            {
                "card_type": "sim",
                "card_number": used,
                "id_number": ids,
                "how": pl.select(
                    pl.when(pl.Series(insider))
                    .then(pl.lit("insider_opened"))
                    .otherwise(pl.lit("bought"))
                ).to_series(),
                "opened_ts": ts,
            }
        ),
    )


# --- reports, confirmations, cases -------------------------------------------------------------


def reports_and_cases(
    P,
    sc,
    clock,
    seed,
    contacts: pl.DataFrame,
    victim_pay: pl.DataFrame,
    gangs: list[Gang],
    ev: Events,
    truth: Truth,
) -> None:
    rng = stream(seed, "reports")
    rp = sc["reports"]
    end = clock.end_ms
    reports = []
    victims = set(victim_pay["person"].to_list()) if victim_pay.height else set()
    if contacts.height:
        first = contacts.sort("ts").unique(["person", "number"], keep="first", maintain_order=True)
        first = first.filter((pl.col.duration_s > 0) | (pl.col.channel == "sms"))
        is_victim = first["person"].is_in(list(victims)).to_numpy()
        p = np.where(is_victim, rp["victim_report_share"], rp["citizen_report_share"])
        rep = first.filter(pl.Series(rng.random(first.height) < p))
        k = rep.height
        delay = lognormal(rng, rp["report_delay_hours_median"], 1.0, k) * HOUR_MS
        as_url = rng.random(k) < rp["url_report_share"]
        dom_of = {g.gang_id: g.domains for g in gangs}
        gang_of = np.where(rep["scenario"].to_numpy() == "refund", "cs-1", "farm-1")
        url = [
            f"https://{dom_of[g][i % len(dom_of[g])]}/claim" if dom_of.get(g) else None
            for i, g in enumerate(gang_of)
        ]
        as_url &= np.array([u is not None for u in url], dtype=bool)
        reports.append(
            pl.DataFrame(
                {
                    "ts": (rep["ts"].to_numpy() + delay).astype(np.int64),
                    "reporter_kind": "citizen",
                    "target_kind": np.where(as_url, "url", "phone"),
                    "target_value": pl.select(
                        pl.when(pl.Series(as_url))
                        .then(pl.Series(url, dtype=pl.String))
                        .otherwise(s(rep["number"].to_numpy()))
                    ).to_series(),
                    "verdict": "report",
                    "reporter": s(P.phone[rep["person"].to_numpy()]),
                    "fraud_type": rep["fraud_type"],
                    "text": "自称客服/公检法/领导来电，疑似诈骗",
                    "_true": np.ones(k, bool),
                }
            )
        )
    # couriers and telesales get reported as harassment
    busy = np.flatnonzero((P.role == 1) | (P.role == 2))
    m = rng.poisson(len(busy) * rp["false_report_per_busy_number_day"] * clock.days)
    if m:
        who = busy[rng.integers(0, len(busy), m)]
        rep_by = np.flatnonzero(P.phone > 0)[rng.integers(0, int((P.phone > 0).sum()), m)]
        reports.append(
            pl.DataFrame(
                {
                    "ts": clock.start_ms + rng.integers(0, clock.days * DAY_MS, m),
                    "reporter_kind": "citizen",
                    "target_kind": "phone",
                    "target_value": s(P.phone[who]),
                    "verdict": "report",
                    "reporter": s(P.phone[rep_by]),
                    "text": "陌生号码频繁来电骚扰",
                    "_true": np.zeros(m, bool),
                }
            )
        )
    citizen = pl.concat(reports, how="diagonal_relaxed") if reports else pl.DataFrame()
    # victims' cases: one row per payment
    cases = pl.DataFrame()
    if victim_pay.height:
        per = (
            victim_pay.group_by("person")
            .agg(pl.col.ts.max().alias("last"), pl.col.number.first())
            .sort("person")
        )
        go = per.filter(pl.Series(rng.random(per.height) < rp["case_share"]))
        delay = (lognormal(rng, rp["case_delay_hours_median"], 1.0, go.height) * HOUR_MS).astype(
            np.int64
        )
        go = go.with_columns(
            case_ts=pl.col("last") + delay,
            case_id="J" + s(20260000000 + np.arange(go.height) * 7 + 13),
        )
        cases = victim_pay.join(go.select("person", "case_ts", "case_id"), on="person").sort(
            ["case_ts", "ts"]
        )
        pp = cases["person"].to_numpy()
        ev.add(
            "case",
            pl.DataFrame(
                {
                    "ts": cases["case_ts"],
                    "case_id": cases["case_id"],
                    "fraud_type": cases["fraud_type"],
                    "victim_phone": s(P.phone[pp]),
                    "victim_id_number": P.id_number.gather(pp),
                    "victim_account": s(cases["card"].to_numpy()),
                    "_tkey": cases["_key"],
                    "loss_fen": cases["amount_fen"],
                    "paid_at": cases["ts"],
                    "fraud_contact": s(cases["number"].to_numpy()),
                }
            ).filter(pl.col.ts < end),
        )
    # police confirm numbers after reports or a case, and clear some false reports
    confirms = []
    if citizen.height:
        ph = citizen.filter(pl.col.target_kind == "phone").sort("ts")
        nth = int(rp["police_confirm_reports"])
        trig = ph.with_columns(n=pl.int_range(pl.len()).over("target_value")).filter(
            pl.col.n == nth - 1
        )
        trig = trig.select("target_value", "_true", t=pl.col.ts, by=pl.lit("reports"))
        if cases.height:
            cs = (
                cases.group_by("number")
                .agg(pl.col.case_ts.min())
                .select(
                    target_value=pl.col.number.cast(pl.String),
                    _true=pl.lit(True),
                    t=pl.col.case_ts,
                    by=pl.lit("case"),
                )
            )
            trig = pl.concat([trig, cs], how="diagonal_relaxed")
        trig = trig.with_columns(pl.col.target_value.cast(pl.String), pl.col._true.cast(pl.Boolean))
        trig = trig.sort("t").unique("target_value", keep="first", maintain_order=True)
        k = trig.height
        true_ = trig["_true"].to_numpy()
        by_case = (trig["by"] == "case").to_numpy()
        med = np.where(
            by_case, rp["police_case_delay_hours_median"], rp["police_delay_hours_median"]
        )
        t = trig["t"].to_numpy() + (med * np.exp(rng.standard_normal(k) * 0.8) * HOUR_MS).astype(
            np.int64
        )
        act = np.where(
            true_,
            rng.random(k) < rp["police_confirm_share"],
            rng.random(k) < rp["police_clear_share"],
        )
        ft = (
            contacts.group_by("number")
            .agg(pl.col.fraud_type.first())
            .with_columns(target_value=pl.col.number.cast(pl.String))
            if contacts.height
            else None
        )
        conf = (
            pl.DataFrame(
                {
                    "ts": t,
                    "reporter_kind": "police",
                    "target_kind": "phone",
                    "target_value": trig["target_value"],
                    "verdict": np.where(true_, "confirm", "clear"),
                    "reporter": "police-gg",
                }
            )
            .filter(pl.Series(act))
            .with_columns(pl.col.target_value.cast(pl.String))
        )
        if ft is not None:
            conf = conf.join(ft.select("target_value", "fraud_type"), on="target_value", how="left")
            conf = conf.with_columns(
                fraud_type=pl.when(pl.col.verdict == "confirm").then(pl.col.fraud_type)
            )
        confirms.append(conf)
        urls = (
            citizen.filter(pl.col.target_kind == "url")
            .sort("ts")
            .unique("target_value", keep="first", maintain_order=True)
        )
        if urls.height:
            k = urls.height
            confirms.append(
                pl.DataFrame(
                    {
                        "ts": urls["ts"].to_numpy()
                        + (
                            lognormal(rng, rp["police_delay_hours_median"] * 2, 0.8, k) * HOUR_MS
                        ).astype(np.int64),
                        "reporter_kind": "centre",
                        "target_kind": "url",
                        "target_value": urls["target_value"],
                        "verdict": "confirm",
                        "reporter": "centre-gg",
                        "fraud_type": urls["fraud_type"],
                    }
                ).filter(pl.Series(rng.random(k) < rp["police_confirm_share"]))
            )
    for df in ([citizen.drop("_true")] if citizen.height else []) + confirms:
        ev.add("report", df.filter(pl.col.ts < end))
    truth.add("police", pl.concat(confirms, how="diagonal_relaxed") if confirms else pl.DataFrame())
