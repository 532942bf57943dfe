"""The people of the synthetic city and the businesses they live with.

People live in counties, townships and villages (urban districts and rural counties), in
households; they have an age, a sex, a resident ID, one or two phone cards (feature phones for
many elderly people), bank cards, and accounts on platforms (most rural elderly have none: report
000). Elderly people have a family contact registered with the operator (12381, report 003).
Businesses: employers with a payroll, online shops that ship from e-commerce cloud warehouses with
staff sub-accounts and printing PCs, couriers and telesales people who call strangers all day,
business halls that open SIM cards, payment aggregators, platforms and their SMS ports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from fanzha.ids import resident_id
from fanzha.sim.base import Clock, bank_cards, id_numbers, id_regions, mobiles, names, stream, token

ROLE_NONE, ROLE_COURIER, ROLE_SALES, ROLE_STAFF = 0, 1, 2, 3
WAREHOUSE_COURIERS = ("YT", "ZT", "ST", "YD", "JT")  # courier company prefix of waybill numbers


@dataclass
class Population:
    n: int
    county_codes: np.ndarray  # per county: int code
    county_urban: np.ndarray  # per county: bool
    county: np.ndarray  # per person: county index
    village: np.ndarray  # per person: global village index
    village_start: np.ndarray  # per village: first person
    village_size: np.ndarray
    village_county: np.ndarray
    county_start: np.ndarray
    county_size: np.ndarray
    urban: np.ndarray
    age: np.ndarray
    sex: np.ndarray  # 1 = male
    id_number: pl.Series
    name: pl.Series
    phone: np.ndarray  # int64, 0 = none
    phone2: np.ndarray
    feature: np.ndarray  # feature phone (no apps, no web)
    imei: np.ndarray
    card: np.ndarray  # bank card, 0 = none
    card2: np.ndarray
    accounts: np.ndarray  # (n, platforms) bool
    role: np.ndarray
    employer: np.ndarray  # -1 = none
    landlord: np.ndarray  # -1 = none
    family: np.ndarray  # family contact person, -1 = none
    household: np.ndarray
    township: np.ndarray
    address: pl.Series
    # businesses
    platforms: list[str]
    employer_account: pl.Series
    employer_name: pl.Series
    shop_platform: np.ndarray
    shop_warehouse: np.ndarray
    shop_port: np.ndarray  # int64 SMS port (1069...)
    shop_weight: np.ndarray
    warehouse_county: np.ndarray
    warehouse_courier: np.ndarray
    warehouse_night: np.ndarray
    warehouse_size: np.ndarray
    staff_person: np.ndarray  # per staff sub-account: person
    staff_warehouse: np.ndarray
    staff_hired_day: np.ndarray  # relative day (negative: before the world starts)
    warehouse_pcs: np.ndarray  # per warehouse: number of PCs
    halls_per_county: int
    aggregators: list[str]

    @property
    def elderly(self) -> np.ndarray:
        return self.age >= 60

    @property
    def adult(self) -> np.ndarray:
        return (self.age >= 20) & (self.age < 60)

    def account_id(self, platform: int, person: np.ndarray) -> pl.Series:
        """Platform account ids of ordinary users (black accounts use another range)."""
        return token(
            f"{self.platforms[platform][0]}{self.platforms[platform][-1]}",
            10_000_000 + np.asarray(person) * 7 + platform,
            9,
        )

    def device(self, person: np.ndarray) -> pl.Series:
        return token("d", 30_000_000 + np.asarray(person) * 13, 9)

    def home_ip(self, person: np.ndarray) -> pl.Series:
        p = np.asarray(person)
        c = self.county[p]
        return ip_strings(
            np.full(len(p), 113), 64 + c * 4 + (p % 4), (p // 4) % 250 + 1, p % 251 + 2
        )

    def county_code(self, person: np.ndarray) -> pl.Series:
        return pl.Series(self.county_codes[self.county[np.asarray(person)]]).cast(pl.String)


def ip_strings(a, b, c, d) -> pl.Series:
    parts = [pl.Series(np.asarray(x, dtype=np.int64)).cast(pl.String) for x in (a, b, c, d)]
    return parts[0] + "." + parts[1] + "." + parts[2] + "." + parts[3]


def _bins(rng: np.random.Generator, bins: list[int], weights: list[float], n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    b = rng.choice(len(w), size=n, p=w / w.sum())
    lo, hi = np.asarray(bins[:-1])[b], np.asarray(bins[1:])[b]
    return lo + (rng.random(n) * (hi - lo)).astype(np.int64)


def build(sc: dict, n: int, seed: int, clock: Clock) -> Population:
    rng = stream(seed, "population")
    geo, pop = sc["geography"], sc["population"]
    counties = geo["counties"]
    codes = np.array([int(c["code"]) for c in counties], dtype=np.int64)
    urban_c = np.array([bool(c["urban"]) for c in counties])
    w = np.array([c["weight"] for c in counties], dtype=float)
    per_county = rng.multinomial(n, w / w.sum())
    county = np.repeat(np.arange(len(counties)), per_county)
    county_start = np.concatenate([[0], np.cumsum(per_county)[:-1]])
    # villages: contiguous blocks of people inside each county
    village = np.empty(n, dtype=np.int64)
    v_start, v_size, v_county = [], [], []
    next_v = 0
    for c, (s, k) in enumerate(zip(county_start, per_county, strict=True)):
        nv = max(1, round(k / pop_per_village(geo)))
        edges = np.linspace(s, s + k, nv + 1).round().astype(np.int64)
        for j in range(nv):
            village[edges[j] : edges[j + 1]] = next_v + j
            v_start.append(edges[j])
            v_size.append(edges[j + 1] - edges[j])
            v_county.append(c)
        next_v += nv
    v_start_a, v_size_a = np.array(v_start, np.int64), np.array(v_size, np.int64)
    v_county_a = np.array(v_county, np.int64)
    urban = urban_c[county]
    first_v_of_county = np.searchsorted(v_county_a, np.arange(len(counties)))
    township = (village - first_v_of_county[county]) // geo["villages_per_township"] + county * 1000

    age = np.where(
        urban,
        _bins(rng, pop["age_bins"], pop["urban_age_weights"], n),
        _bins(rng, pop["age_bins"], pop["rural_age_weights"], n),
    )
    sex = (rng.random(n) < 0.5).astype(np.int64)
    today = np.datetime64(clock.date(0).isoformat(), "D")
    birth = today - (age * 365.25).astype(np.int64) - rng.integers(1, 365, n)
    birth_year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    month = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
    birth_ymd = birth_year * 10000 + month * 100 + dom
    seq3 = rng.integers(0, 500, n) * 2 + sex  # odd for men
    region = id_regions(codes[county], birth_year)
    key = region * 10**11 + birth_ymd * 1000
    while True:  # one ID number per person: redraw the sequence of the few that collide
        _, first = np.unique(key + seq3, return_index=True)
        dup = np.setdiff1d(np.arange(n), first)
        if not len(dup):
            break
        seq3[dup] = rng.integers(0, 500, len(dup)) * 2 + sex[dup]
    id_number = id_numbers(region, birth_ymd, seq3).alias("id_number")
    name = names(rng, n)

    elderly = age >= 60
    adult = (age >= 20) & (age < 60)
    has_phone = (age >= pop["phone_from_age"] + 3) | (
        (age >= pop["phone_from_age"]) & (rng.random(n) < 0.6)
    )
    phone_all = mobiles(rng, n + n // 4)
    phone = np.where(has_phone, phone_all[:n], 0)
    second = adult & has_phone & (rng.random(n) < pop["second_sim_share"])
    extra = phone_all[n:]
    idx2 = np.flatnonzero(second)[: len(extra)]
    phone2 = np.zeros(n, dtype=np.int64)
    phone2[idx2] = extra[: len(idx2)]
    fs = pop["feature_phone_share"]
    p_feature = np.where(
        elderly & ~urban, fs["rural_elderly"], np.where(elderly, fs["urban_elderly"], fs["other"])
    )
    feature = has_phone & (rng.random(n) < p_feature)
    imei = 860_000_000_000_000 + rng.permutation(n) * 7 + rng.integers(0, 7, n)

    cards = bank_cards(rng, n + n // 2)
    has_card = (age >= 18) & (rng.random(n) < pop["bank_card_share"])
    card = np.where(has_card, cards[:n], 0)
    has_card2 = has_card & (age < 70) & (rng.random(n) < pop["second_bank_card_share"])
    card2 = np.zeros(n, dtype=np.int64)
    i2 = np.flatnonzero(has_card2)
    card2[i2] = cards[n : n + len(i2)]

    platforms = list(pop["platforms"])
    ps = pop["platform_account_share"]
    p_acc = np.where(
        elderly & ~urban, ps["rural_elderly"], np.where(elderly, ps["urban_elderly"], ps["other"])
    )
    smart = has_phone & ~feature & (age >= 14)
    any_acc = smart & (rng.random(n) < p_acc)
    accounts = any_acc[:, None] & (rng.random((n, len(platforms))) < 0.75)
    accounts[any_acc & ~accounts.any(axis=1), 0] = True

    role = np.zeros(n, dtype=np.int64)
    work_age = adult & has_phone & ~feature
    r = rng.random(n)
    role[work_age & (r < pop["courier_share"])] = ROLE_COURIER
    role[
        work_age & (r >= pop["courier_share"]) & (r < pop["courier_share"] + pop["sales_share"])
    ] = ROLE_SALES

    # households of about three people inside a village; family contacts of elderly people
    household = village * 10_000 + (np.arange(n) - v_start_a[village]) // 3
    hh = pl.DataFrame({"hh": household, "p": np.arange(n), "adult": adult & has_phone})
    hh_adult = hh.filter(pl.col.adult).group_by("hh").agg(pl.col.p.first()).sort("hh")
    adult_of = dict(zip(hh_adult["hh"].to_list(), hh_adult["p"].to_list(), strict=True))
    urban_adults = np.flatnonzero(urban & adult & has_phone & (age >= 25))
    if len(urban_adults) == 0:
        urban_adults = np.flatnonzero(adult & has_phone)
    family = np.full(n, -1, dtype=np.int64)
    eld = np.flatnonzero(elderly & (rng.random(n) < pop["family_contact_share"]))
    local = rng.random(len(eld)) < pop["family_contact_local_share"]
    far = urban_adults[rng.integers(0, len(urban_adults), len(eld))]
    if len(eld):
        family[eld] = [
            adult_of.get(int(household[e]), int(f)) if lo else int(f)
            for e, lo, f in zip(eld, local, far, strict=True)
        ]

    # employers and payroll
    employed = adult & has_card & (role == ROLE_NONE) & (rng.random(n) < pop["employed_share"])
    n_emp = max(3, int(employed.sum() / pop["people_per_employer"]))
    size_w = rng.pareto(1.2, n_emp) + 1
    employer = np.full(n, -1, dtype=np.int64)
    employer[employed] = rng.choice(n_emp, size=int(employed.sum()), p=size_w / size_w.sum())
    employer[(role != ROLE_NONE) & has_card] = rng.integers(
        0, n_emp, int(((role != ROLE_NONE) & has_card).sum())
    )
    employer_account = token("4402", rng.permutation(np.arange(n_emp)) + 10**11, 12).alias("acct")
    employer_name = pl.Series(
        [f"{_COMPANY[i % len(_COMPANY)]}{i + 1}号有限公司" for i in range(n_emp)]
    )

    # tenants pay rent to landlords (older urban card holders)
    landlord = np.full(n, -1, dtype=np.int64)
    tenants = np.flatnonzero(urban & adult & has_card & (rng.random(n) < pop["tenant_share"]))
    owners = np.flatnonzero(urban & has_card & (age >= 45))
    if len(owners) and len(tenants):
        landlord[tenants] = owners[rng.integers(0, len(owners), len(tenants))]

    # warehouses, shops
    n_wh = max(3, round(n / pop["people_per_warehouse"]))
    wh_size = np.sort(rng.pareto(1.0, n_wh) + 1)[::-1]
    wh_county = rng.choice(
        len(counties), size=n_wh, p=(w * (1 + urban_c)) / (w * (1 + urban_c)).sum()
    )
    wh_courier = np.arange(n_wh) % len(WAREHOUSE_COURIERS)
    wh_night = np.zeros(n_wh, dtype=bool)
    wh_night[: max(1, round(n_wh * sc["life"]["night_shift_warehouse_share"]))] = True
    n_shop = max(10, round(n / pop["people_per_shop"]))
    shopping = [platforms.index(p) for p in pop["shopping_platforms"]]
    shop_platform = np.array(shopping)[rng.permutation(np.arange(n_shop) % len(shopping))]
    shop_warehouse = rng.choice(n_wh, size=n_shop, p=wh_size / wh_size.sum())
    shop_weight = rng.pareto(1.5, n_shop) + 1
    shop_port = 1_069_000_000_000 + rng.choice(10**9, size=n_shop, replace=False)
    lo, hi = pop["staff_per_warehouse"]
    staff_n = np.clip(np.round(lo + (hi - lo) * wh_size / wh_size.max()), lo, hi).astype(np.int64)
    staff_person, staff_wh = [], []
    taken = np.zeros(n, dtype=bool)
    for wi in range(n_wh):
        c = wh_county[wi]
        pool = np.flatnonzero(
            (county == c) & adult & has_phone & has_card & (role == ROLE_NONE) & ~taken
        )
        if len(pool) < lo:  # a tiny world: staff commute from other counties
            pool = np.flatnonzero(adult & has_phone & (role == ROLE_NONE) & ~taken)
        k = min(int(staff_n[wi]), len(pool))
        chosen = rng.choice(pool, size=k, replace=False) if k else np.empty(0, np.int64)
        taken[chosen] = True
        staff_person.append(chosen)
        staff_wh.append(np.full(k, wi))
    staff_person_a = np.concatenate(staff_person)
    staff_wh_a = np.concatenate(staff_wh)
    role[staff_person_a] = ROLE_STAFF
    staff_hired = -rng.integers(20, 700, len(staff_person_a))
    pcs = np.clip(staff_n // 4 + 1, 2, 8)

    addr = _addresses(rng, codes, county, township, village, n)
    return Population(
        n=n,
        county_codes=codes,
        county_urban=urban_c,
        county=county,
        village=village,
        village_start=v_start_a,
        village_size=v_size_a,
        village_county=v_county_a,
        county_start=county_start,
        county_size=per_county,
        urban=urban,
        age=age,
        sex=sex,
        id_number=id_number,
        name=name,
        phone=phone,
        phone2=phone2,
        feature=feature,
        imei=imei,
        card=card,
        card2=card2,
        accounts=accounts,
        role=role,
        employer=employer,
        landlord=landlord,
        family=family,
        household=household,
        township=township,
        address=addr,
        platforms=platforms,
        employer_account=employer_account,
        employer_name=employer_name,
        shop_platform=shop_platform,
        shop_warehouse=shop_warehouse,
        shop_port=shop_port,
        shop_weight=shop_weight,
        warehouse_county=wh_county,
        warehouse_courier=wh_courier,
        warehouse_night=wh_night,
        warehouse_size=wh_size,
        staff_person=staff_person_a,
        staff_warehouse=staff_wh_a,
        staff_hired_day=staff_hired,
        warehouse_pcs=pcs,
        halls_per_county=2,
        aggregators=["AGG-LKL", "AGG-SQB", "AGG-FY"],
    )


def pop_per_village(geo: dict) -> int:
    return max(10, int(geo["people_per_village"]))


_COMPANY = [
    "贵港金桥",
    "玉林华盛",
    "桂平宏达",
    "平南永兴",
    "北流鑫源",
    "博白顺通",
    "容县恒丰",
    "陆川广源",
]
_SYL = list("东西南北大小新旧上下石平安和丰乐长青山水田林高龙凤")


def _addresses(rng, codes, county, township, village, n) -> pl.Series:
    names_ = {r.code: r.name for r in resident_id.regions()}
    county_name = pl.Series([names_.get(f"{c:06d}", "") for c in codes]).gather(county)
    syl = pl.Series(_SYL)
    t_name = syl.gather(township % len(_SYL)) + syl.gather((township // 7) % len(_SYL)) + "镇"
    v_name = syl.gather((village * 3) % len(_SYL)) + syl.gather((village // 5) % len(_SYL)) + "村"
    group = pl.Series(rng.integers(1, 12, n)).cast(pl.String) + "组"
    num = pl.Series(rng.integers(1, 99, n)).cast(pl.String) + "号"
    return ("广西壮族自治区" + county_name + t_name + v_name + group + num).alias("address")
