"""Normal life: the calls, SMS, payments, orders, waybill look-ups and logins of honest people.

Made so that naive rules have false positives, as real data does: couriers and telesales call
many strangers briefly; shops and banks send many SMS from service ports; payroll and pensions fan
out from one account to hundreds; payment aggregators take money from many people and settle it
on; big cloud warehouses touch most customers and print through the night; IT staff use
remote-control tools; authorised promoters activate many elderly people's e-vouchers in a village
in one day, from a few shared tablets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from fanzha.sim.base import (
    DAY_MS,
    HOUR_MS,
    MIN_MS,
    WORK_HOURS,
    Clock,
    Events,
    lognormal,
    stream,
    times_in_day,
    token,
    yuan_to_fen,
)
from fanzha.sim.population import (
    ROLE_COURIER,
    ROLE_SALES,
    ROLE_STAFF,
    WAREHOUSE_COURIERS,
    Population,
    ip_strings,
)

COURIER_NAMES = {
    "YT": "圆通速递",
    "ZT": "中通快递",
    "ST": "申通快递",
    "YD": "韵达快递",
    "JT": "极兔速递",
}
COURIER_PORT = {
    "YT": 1069_0095_5546,
    "ZT": 1069_0095_3113,
    "ST": 1069_0095_5543,
    "YD": 1069_0095_5561,
    "JT": 1069_0095_6789,
}
BANK_PORT = "95588"
OPERATORS = ("operator-a", "operator-b", "operator-c")
PLATFORM_PORT = {
    "shop-a": 1069_0000_1111,
    "shop-b": 1069_0000_2222,
    "social-c": 1069_0000_3333,
    "video-d": 1069_0000_4444,
    "yibao": 1069_0000_5555,
}
LEGIT_DOMAINS = (
    "taobao.com",
    "jd.com",
    "pinduoduo.com",
    "weixin.qq.com",
    "baidu.com",
    "12306.cn",
    "douyin.com",
    "toutiao.com",
    "icbc.com.cn",
    "ccb.com",
    "gxzf.gov.cn",
    "nhsa.gov.cn",
    "meituan.com",
    "bilibili.com",
    "kuaidi100.com",
)
LEGIT_APPS = (
    ("com.tencent.mm", "微信"),
    ("com.taobao.taobao", "淘宝"),
    ("com.ss.android.ugc.aweme", "抖音"),
    ("com.xunmeng.pinduoduo", "拼多多"),
    ("com.eg.android.AlipayGphone", "支付宝"),
    ("cn.gov.nhsa.yibao", "国家医保服务平台"),
)
MEETING_APPS = (("com.tencent.wemeet", "腾讯会议"), ("us.zoom.videomeetings", "Zoom"))
IT_REMOTE = ("ToDesk.exe", "SunloginClient.exe")
SOCIAL_INSURANCE_ACCOUNT = "4500000000000888"
SMS_P2P = ("到家了吗", "明天回来吃饭", "好的", "收到", "钱已经转你了", "晚上打电话", "注意身体")


def s(x) -> pl.Series:
    """int64 identifiers as strings."""
    return pl.Series(np.asarray(x, dtype=np.int64)).cast(pl.String)


def account_no(k: np.ndarray) -> np.ndarray:
    """Platform account numbers: a bijection of 0..10^9 (unrelated to who or what they are)."""
    return (np.asarray(k, dtype=np.int64) * 2654435761 + 12345) % 10**9


def platform_account(P: Population, platform: int, person: np.ndarray) -> pl.Series:
    return token("u", account_no(np.asarray(person) * 8 + platform), 9)


def cell(P: Population, person: np.ndarray) -> pl.Series:
    p = np.asarray(person)
    return s(P.county_codes[P.county[p]]) + "-" + s(P.village[p] % 40 + 1)


@dataclass
class StaffPlan:
    """Each staff sub-account: who, where, hired and left (relative days), disabled at leave."""

    person: np.ndarray
    warehouse: np.ndarray
    hired: np.ndarray
    left: np.ndarray  # days; large = still there
    disabled: np.ndarray
    role: np.ndarray  # 0 picker/printer, 1 shift lead, 2 IT

    def account(self, i: np.ndarray) -> pl.Series:
        i = np.asarray(i)
        return "wh" + s(self.warehouse[i]).str.zfill(2) + "-sub-" + s(i).str.zfill(4)


def staff_plan(P: Population, sc: dict, clock: Clock, seed: int) -> StaffPlan:
    rng = stream(seed, "roster")
    k = len(P.staff_person)
    days = clock.days
    leave = rng.random(k) < sc["life"]["staff_leave_per_day"] * days
    left = np.where(leave, rng.integers(0, max(days, 1), k), 10**6)
    disabled = rng.random(k) >= sc["life"]["leaver_not_disabled_share"]
    role = np.zeros(k, dtype=np.int64)
    for w in np.unique(P.staff_warehouse):
        idx = np.flatnonzero(P.staff_warehouse == w)
        role[idx[0]] = 1
        if len(idx) > 5:
            role[idx[1]] = 2
    left[role > 0] = 10**6
    return StaffPlan(
        P.staff_person.copy(),
        P.staff_warehouse.copy(),
        P.staff_hired_day.copy(),
        left,
        disabled,
        role,
    )


def roster(P: Population, plan: StaffPlan, clock: Clock, seed: int, ev: Events) -> None:
    rng = stream(seed, "roster-events")
    k = len(plan.person)
    i = np.arange(k)
    roles = pl.Series(["printer", "lead", "it"]).gather(plan.role)
    hire = pl.DataFrame(
        {
            "ts": times_in_day(rng, clock, plan.hired, k, WORK_HOURS),
            "site": "wh-" + s(plan.warehouse).str.zfill(2),
            "operator_account": plan.account(i),
            "action": "hire",
            "staff_id": "e-" + s(plan.person).str.zfill(7),
            "role": roles,
        }
    )
    ev.add("roster", hire)
    gone = np.flatnonzero(plan.left < clock.days)
    if len(gone):
        t = times_in_day(rng, clock, plan.left[gone], len(gone), WORK_HOURS)
        leave = pl.DataFrame(
            {
                "ts": t,
                "site": "wh-" + s(plan.warehouse[gone]).str.zfill(2),
                "operator_account": plan.account(gone),
                "action": "leave",
                "staff_id": "e-" + s(plan.person[gone]).str.zfill(7),
                "role": roles.gather(gone),
            }
        )
        ev.add("roster", leave)
        dis = gone[plan.disabled[gone]]
        if len(dis):
            ev.add(
                "roster",
                leave.filter(pl.Series(plan.disabled[gone])).with_columns(
                    ts=pl.col.ts + rng.integers(10 * MIN_MS, 4 * HOUR_MS, len(dis)),
                    action=pl.lit("disable"),
                ),
            )


# --- cards --------------------------------------------------------------------------------------


def cards(P: Population, clock: Clock, seed: int, ev: Events) -> None:
    """The card registry: every SIM and bank card of the people, opened years or days ago."""
    rng = stream(seed, "cards")
    for which, phones in (("phone", P.phone), ("phone2", P.phone2)):
        who = np.flatnonzero(phones > 0)
        k = len(who)
        opened = clock.start_ms - rng.integers(30, 3000, k) * DAY_MS + rng.integers(0, DAY_MS, k)
        fam = P.family[who]
        fam_phone = np.where(fam >= 0, P.phone[np.maximum(fam, 0)], 0)
        county = P.county[who]
        df = pl.DataFrame(
            {
                "ts": opened,
                "card_type": "sim",
                "card_number": s(phones[who]),
                "id_number": P.id_number.gather(who),
                "action": "open",
                "holder_name": P.name.gather(who),
                "issuer": pl.Series(OPERATORS).gather(phones[who] // 10**8 % 3),
                "card_kind": pl.Series(["prepaid", "postpaid"]).gather(
                    (rng.random(k) < 0.6).astype(int)
                ),
                "shop_id": "hall-"
                + s(P.county_codes[county])
                + "-"
                + s(who % P.halls_per_county + 1),
                "agent_id": "ag-" + s(P.county_codes[county] % 1000 * 10 + who % 7),
                "holder_county": s(P.county_codes[county]),
                "family_phone": pl.Series(np.where(fam_phone > 0, fam_phone, 0)).cast(pl.String),
            }
        ).with_columns(family_phone=pl.when(pl.col.family_phone != "0").then(pl.col.family_phone))
        if which == "phone2":
            df = df.with_columns(family_phone=pl.lit(None, pl.String))
        ev.add("card", df)
    for cards_ in (P.card, P.card2):
        who = np.flatnonzero(cards_ > 0)
        k = len(who)
        ev.add(
            "card",
            pl.DataFrame(
                {
                    "ts": clock.start_ms
                    - rng.integers(30, 5000, k) * DAY_MS
                    + rng.integers(0, DAY_MS, k),
                    "card_type": "bank",
                    "card_number": s(cards_[who]),
                    "id_number": P.id_number.gather(who),
                    "action": "open",
                    "holder_name": P.name.gather(who),
                    "issuer": "bank-a",
                    "card_kind": "debit",
                    "shop_id": "branch-" + s(P.county_codes[P.county[who]]),
                    "holder_county": s(P.county_codes[P.county[who]]),
                }
            ),
        )


# --- orders and waybills -----------------------------------------------------------------------


def orders(P: Population, sc: dict, clock: Clock, seed: int) -> pl.DataFrame:
    """Ordinary online orders (ids and waybills are given later, with every other order)."""
    rng = stream(seed, "orders")
    life = sc["life"]
    shopping = [P.platforms.index(p) for p in sc["population"]["shopping_platforms"]]
    frames = []
    for d in range(clock.days):
        for plat in shopping:
            buyers = np.flatnonzero(P.accounts[:, plat])
            k = rng.poisson(len(buyers) * life["orders_per_account_day"] / len(shopping))
            if k == 0 or len(buyers) == 0:
                continue
            b = buyers[rng.integers(0, len(buyers), k)]
            shops = np.flatnonzero(P.shop_platform == plat)
            w = P.shop_weight[shops]
            shop = shops[rng.choice(len(shops), size=k, p=w / w.sum())]
            price = yuan_to_fen(lognormal(rng, life["order_median_yuan"], 0.9, k))
            deal = rng.random(k) < life["order_deal_share"]
            paid = np.where(deal, (price * 0.8).astype(np.int64), price)
            frames.append(
                pl.DataFrame(
                    {
                        "ts": times_in_day(rng, clock, d, k),
                        "account_id": platform_account(P, plat, b),
                        "platform": P.platforms[plat],
                        "shop_id": "s-" + s(shop).str.zfill(4),
                        "warehouse": P.shop_warehouse[shop],
                        "deal_id": pl.select(
                            pl.when(pl.Series(deal)).then(pl.lit("coupon-20off"))
                        ).to_series(),
                        "sku": "sku-" + s(rng.integers(1, 5000, k)).str.zfill(5),
                        "amount_fen": paid,
                        "list_price_fen": price,
                        "ship_name": P.name.gather(b),
                        "ship_phone": s(P.phone[b]),
                        "ship_address": P.address.gather(b),
                        "ship_county": s(P.county_codes[P.county[b]]),
                        "payment_account": pl.Series(np.where(P.card[b] > 0, P.card[b], 0)).cast(
                            pl.String
                        ),
                        "_buyer": b,
                        "_promo": False,
                    }
                ).with_columns(
                    payment_account=pl.when(pl.col.payment_account != "0").then(
                        pl.col.payment_account
                    )
                )
            )
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def number_orders(P: Population, all_orders: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Order ids in time order, and waybill numbers from each warehouse's courier in sequence."""
    rng = stream(seed, "waybills")
    df = all_orders.sort("ts", maintain_order=True).with_row_index("_order")
    df = df.with_columns(
        order_id="O" + (pl.col._order.cast(pl.Int64) + 880_000_000).cast(pl.String)
    )
    base = rng.integers(10**11, 9 * 10**11, len(P.warehouse_size))
    df = df.with_columns(_wseq=pl.int_range(pl.len()).over("warehouse"))
    prefix = pl.Series(WAREHOUSE_COURIERS).gather(P.warehouse_courier)
    wb = df.select(
        prefix.gather(df["warehouse"])
        + (pl.Series(base).gather(df["warehouse"]) + df["_wseq"]).cast(pl.String)
    ).to_series()
    return df.with_columns(waybill_no=wb, warehouse_id="wh-" + s(df["warehouse"]).str.zfill(2))


ORDER_FIELDS = (
    "ts",
    "order_id",
    "account_id",
    "platform",
    "shop_id",
    "warehouse_id",
    "deal_id",
    "sku",
    "amount_fen",
    "list_price_fen",
    "ship_name",
    "ship_phone",
    "ship_address",
    "ship_county",
    "waybill_no",
    "payment_account",
)


def warehouse_ip(w: np.ndarray) -> pl.Series:
    w = np.asarray(w)
    return ip_strings(np.full(len(w), 222), np.full(len(w), 84), 100 + w, np.full(len(w), 10))


def waybill_access(
    P: Population,
    sc: dict,
    clock: Clock,
    seed: int,
    ords: pl.DataFrame,
    plan: StaffPlan,
    ev: Events,
) -> None:
    """Staff look up and print each waybill in working hours (big warehouses also at night),
    the shift lead exports the day's list, IT support logs in with remote tools."""
    rng = stream(seed, "wms")
    local = ords
    k = local.height
    ts = local["ts"].to_numpy()
    wh = local["warehouse"].to_numpy()
    hour = clock.local_hour(ts)
    night_ok = P.warehouse_night[wh]
    day_of = (ts - clock.start_ms) // DAY_MS
    in_hours = (hour >= 8) & (hour < 20)
    same = in_hours | night_ok
    next_morning = clock.day_ms(day_of + (hour >= 20)) + 8 * HOUR_MS
    q_ts = np.where(same, ts, next_morning) + rng.integers(5 * MIN_MS, 3 * HOUR_MS, k)
    p_ts = q_ts + rng.integers(20_000, 40 * MIN_MS, k)
    # the operator: a printer of that warehouse who is employed then
    staff_of = {
        int(w): np.flatnonzero((plan.warehouse == w) & (plan.role == 0))
        for w in np.unique(plan.warehouse)
    }
    op = np.empty(k, dtype=np.int64)
    for w in np.unique(wh):
        rows = np.flatnonzero(wh == w)
        cand = staff_of.get(int(w))
        if cand is None or not len(cand):
            cand = np.flatnonzero(plan.warehouse == w)
        pick = cand[rng.integers(0, len(cand), len(rows))]
        day = (q_ts[rows] - clock.start_ms) // DAY_MS
        gone = plan.left[pick] <= day
        if gone.any():  # a leaver's work goes to a colleague still there
            stay = cand[plan.left[cand] >= clock.days]
            if not len(stay):
                stay = cand
            pick[gone] = stay[rng.integers(0, len(stay), int(gone.sum()))]
        op[rows] = pick
    pcs = P.warehouse_pcs[wh]
    pc = "wh" + s(wh).str.zfill(2) + "-pc-" + s(rng.integers(0, 1 << 30, k) % pcs + 1).str.zfill(2)
    common = {
        "site": local["warehouse_id"],
        "operator_account": plan.account(op),
        "device_id": pc,
        "ip": warehouse_ip(wh),
        "order_id": local["order_id"],
        "waybill_no": local["waybill_no"],
        "subject_phone": local["ship_phone"],
        "record_count": np.ones(k, dtype=np.int64),
    }
    ev.add(
        "waybill_access", pl.DataFrame({"ts": q_ts, "action": "query", "system": "WMS", **common})
    )
    ev.add(
        "waybill_access",
        pl.DataFrame({"ts": p_ts, "action": "print", "system": "print-client", **common}),
    )
    # the shift lead's export of the day's waybills; IT support sessions
    daily = (
        local.with_columns(day=pl.Series(day_of))
        .group_by(["warehouse", "day"])
        .len()
        .sort(["warehouse", "day"])
    )
    w_, d_, n_ = (daily[c].to_numpy() for c in ("warehouse", "day", "len"))
    exp = rng.random(len(w_)) < min(1.0, sc["life"]["bulk_export_per_warehouse_day"])
    lead = np.array(
        [
            np.flatnonzero((plan.warehouse == w) & (plan.role == 1))[0]
            if ((plan.warehouse == w) & (plan.role == 1)).any()
            else 0
            for w in w_
        ],
        dtype=np.int64,
    )
    if exp.any():
        e = np.flatnonzero(exp)
        ev.add(
            "waybill_access",
            pl.DataFrame(
                {
                    "ts": clock.day_ms(d_[e]) + 18 * HOUR_MS + rng.integers(0, 2 * HOUR_MS, len(e)),
                    "site": "wh-" + s(w_[e]).str.zfill(2),
                    "operator_account": plan.account(lead[e]),
                    "action": "export",
                    "system": "WMS",
                    "device_id": "wh" + s(w_[e]).str.zfill(2) + "-pc-01",
                    "ip": warehouse_ip(w_[e]),
                    "record_count": n_[e],
                }
            ),
        )
    n_wh = len(P.warehouse_size)
    rate = sc["life"]["it_remote_sessions_per_warehouse_day"]
    for d in range(clock.days):
        m = rng.poisson(rate * n_wh)
        if not m:
            continue
        w = rng.integers(0, n_wh, m)
        its = np.array([np.flatnonzero(plan.warehouse == x)[-1] for x in w], dtype=np.int64)
        ev.add(
            "waybill_access",
            pl.DataFrame(
                {
                    "ts": times_in_day(rng, clock, d, m, WORK_HOURS),
                    "site": "wh-" + s(w).str.zfill(2),
                    "operator_account": plan.account(its),
                    "action": "login",
                    "system": "WMS",
                    "device_id": "wh"
                    + s(w).str.zfill(2)
                    + "-pc-"
                    + s(rng.integers(1, 3, m)).str.zfill(2),
                    "ip": warehouse_ip(w),
                    "record_count": np.zeros(m, dtype=np.int64),
                    "remote_tools": pl.Series(IT_REMOTE).gather(rng.integers(0, 2, m)),
                }
            ),
        )


# --- calls and SMS -----------------------------------------------------------------------------


def _friend(P: Population, person: np.ndarray, k: np.ndarray, scope: str) -> np.ndarray:
    """A stable acquaintance: the k-th friend of a person in their village or county."""
    if scope == "village":
        v = P.village[person]
        start, size = P.village_start[v], P.village_size[v]
    else:
        c = P.county[person]
        start, size = P.county_start[c], P.county_size[c]
    h = (person.astype(np.int64) * 2654435761 + k * 40503 + 7) % (2**31)
    return start + h % np.maximum(size, 1)


_BUSINESS = np.array(
    [
        "95588",
        "10086",
        "12345",
        "95533",
        "4008123123",
        "07752223344",
        "07752891234",
        "07756677888",
        "07752345120",
        "07754561234",
    ]
)


def calls(P: Population, sc: dict, clock: Clock, seed: int, ords: pl.DataFrame, ev: Events) -> None:
    rng = stream(seed, "calls")
    life = sc["life"]
    cp = life["calls_per_day"]
    has = P.phone > 0
    rate = np.where(P.age >= 60, cp["elderly"], np.where(P.age < 20, cp["young"], cp["adult"]))
    rate = np.where(has, rate, 0.0)
    sales = np.flatnonzero(P.role == ROLE_SALES)
    mix = life["call_callee_mix"]
    kinds = ["family", "village", "county", "anywhere", "business"]
    pmix = np.array([mix[k] for k in kinds], dtype=float)
    pmix /= pmix.sum()
    with_phone = np.flatnonzero(has)
    for d in range(clock.days):
        k = rng.poisson(rate.sum())
        caller = rng.choice(P.n, size=k, p=rate / rate.sum())
        typ = rng.choice(5, size=k, p=pmix)
        callee = np.full(k, -1, dtype=np.int64)
        fam = P.family[caller]
        hh = caller - (caller - P.village_start[P.village[caller]]) % 3 + rng.integers(0, 3, k)
        hh = np.minimum(hh, P.n - 1)
        callee = np.where(typ == 0, np.where(fam >= 0, fam, hh), callee)
        callee = np.where(typ == 1, _friend(P, caller, rng.integers(0, 8, k), "village"), callee)
        callee = np.where(typ == 2, _friend(P, caller, rng.integers(0, 12, k), "county"), callee)
        callee = np.where(typ == 3, with_phone[rng.integers(0, len(with_phone), k)], callee)
        # telesales: cold calls to strangers of the county
        m = rng.poisson(len(sales) * cp["sales"])
        s_caller = sales[rng.integers(0, len(sales), m)] if len(sales) else np.empty(0, np.int64)
        s_callee = _friend(P, s_caller, rng.integers(0, 10**6, m), "county") if m else s_caller
        caller = np.concatenate([caller, s_caller])
        callee = np.concatenate([callee, s_callee])
        is_sales = np.concatenate([np.zeros(k, bool), np.ones(len(s_caller), bool)])
        biz = np.concatenate([typ == 4, np.zeros(len(s_caller), bool)])
        n_all = len(caller)
        ok = biz | ((callee >= 0) & (P.phone[np.maximum(callee, 0)] > 0) & (callee != caller))
        caller, callee, is_sales, biz = caller[ok], callee[ok], is_sales[ok], biz[ok]
        n_all = len(caller)
        ts = np.where(
            is_sales,
            times_in_day(rng, clock, d, n_all, WORK_HOURS),
            times_in_day(rng, clock, d, n_all),
        )
        answer = rng.random(n_all) < np.where(
            is_sales, life["sales_answer_share"], life["call_answer_share"]
        )
        dur = np.where(
            is_sales,
            lognormal(rng, 25, 0.8, n_all),
            lognormal(rng, life["call_median_s"], 1.0, n_all),
        )
        dur = np.where(answer, np.clip(dur, 1, 7200).astype(np.int64), 0)
        ce = np.maximum(callee, 0)
        callee_num = pl.select(
            pl.when(pl.Series(biz))
            .then(pl.Series(_BUSINESS[rng.integers(0, len(_BUSINESS), n_all)]))
            .otherwise(s(P.phone[ce]))
        ).to_series()
        callee_cty = pl.select(
            pl.when(pl.Series(biz))
            .then(pl.lit(None, pl.String))
            .otherwise(s(P.county_codes[P.county[ce]]))
        ).to_series()
        use2 = (P.phone2[caller] > 0) & (rng.random(n_all) < 0.3)
        ev.add(
            "call",
            pl.DataFrame(
                {
                    "ts": ts,
                    "caller": s(np.where(use2, P.phone2[caller], P.phone[caller])),
                    "callee": callee_num,
                    "duration_s": dur,
                    "caller_imei": s(P.imei[caller]),
                    "caller_cell": cell(P, caller),
                    "caller_county": s(P.county_codes[P.county[caller]]),
                    "callee_county": callee_cty,
                }
            ),
        )
    # couriers call the people whose parcels they deliver
    local = ords.filter(~pl.col._promo)
    if local.height:
        go = rng.random(local.height) < life["courier_call_share"]
        o = local.filter(pl.Series(go))
        buyer = o["_buyer"].to_numpy()
        c = P.county[buyer]
        couriers = np.flatnonzero(P.role == ROLE_COURIER)
        if len(couriers):
            pick = np.empty(len(buyer), dtype=np.int64)
            for cc in np.unique(c):
                rows = np.flatnonzero(c == cc)
                pool = couriers[P.county[couriers] == cc]
                pool = pool if len(pool) else couriers
                pick[rows] = pool[rng.integers(0, len(pool), len(rows))]
            day = (o["ts"].to_numpy() - clock.start_ms) // DAY_MS + rng.integers(2, 4, len(buyer))
            keep = day < clock.days
            m = int(keep.sum())
            answer = rng.random(m) < 0.85
            ev.add(
                "call",
                pl.DataFrame(
                    {
                        "ts": times_in_day(rng, clock, day[keep], m, WORK_HOURS),
                        "caller": s(P.phone[pick[keep]]),
                        "callee": o["ship_phone"].filter(pl.Series(keep)),
                        "duration_s": np.where(answer, rng.integers(8, 70, m), 0),
                        "caller_imei": s(P.imei[pick[keep]]),
                        "caller_cell": cell(P, pick[keep]),
                        "caller_county": s(P.county_codes[P.county[pick[keep]]]),
                        "callee_county": s(P.county_codes[c[keep]]),
                    }
                ),
            )


def sms(P: Population, sc: dict, clock: Clock, seed: int, ords: pl.DataFrame, ev: Events) -> None:
    """People's texts, shops' campaigns, couriers' notices."""
    rng = stream(seed, "sms")
    life = sc["life"]
    has = np.flatnonzero(P.phone > 0)
    for d in range(clock.days):
        k = rng.poisson(len(has) * life["p2p_sms_per_day"])
        a = has[rng.integers(0, len(has), k)]
        b = _friend(P, a, rng.integers(0, 8, k), "village")
        fam = P.family[a]
        b = np.where((fam >= 0) & (rng.random(k) < 0.5), fam, b)
        ok = (P.phone[b] > 0) & (a != b)
        a, b = a[ok], b[ok]
        m = len(a)
        ev.add(
            "sms",
            pl.DataFrame(
                {
                    "ts": times_in_day(rng, clock, d, m),
                    "sender": s(P.phone[a]),
                    "receiver": s(P.phone[b]),
                    "text": pl.Series(SMS_P2P).gather(rng.integers(0, len(SMS_P2P), m)),
                    "sender_imei": s(P.imei[a]),
                    "sender_county": s(P.county_codes[P.county[a]]),
                    "receiver_county": s(P.county_codes[P.county[b]]),
                }
            ),
        )
    local = ords.filter(~pl.col._promo)
    if local.height == 0:
        return
    # shop campaigns to their customers
    cust = (
        local.select("shop_id", "ship_phone", "ship_county")
        .unique()
        .sort(["shop_id", "ship_phone"])
    )
    shop_ids = cust["shop_id"].unique().sort()
    for d in range(clock.days):
        send = shop_ids.filter(
            pl.Series(rng.random(len(shop_ids)) < life["shop_campaign_share_per_day"])
        )
        if not len(send):
            continue
        c = cust.filter(pl.col.shop_id.is_in(send.implode()))
        c = c.filter(pl.Series(rng.random(c.height) < life["shop_campaign_reach"]))
        if not c.height:
            continue
        shop_no = c["shop_id"].str.slice(2).cast(pl.Int64).to_numpy()
        h = rng.integers(10, 20)
        ev.add(
            "sms",
            pl.DataFrame(
                {
                    "ts": clock.day_ms(d) + h * HOUR_MS + rng.integers(0, HOUR_MS, c.height),
                    "sender": s(P.shop_port[shop_no]),
                    "receiver": c["ship_phone"],
                    "text": "【店铺"
                    + c["shop_id"]
                    + "】会员专享：全场满199减30，点击 m.tb.cn/h.Xy"
                    + s(shop_no)
                    + " 回T退订",
                    "receiver_county": c["ship_county"],
                }
            ),
        )
    # courier notices: shipped
    wh = local["warehouse"].to_numpy()
    code = pl.Series(WAREHOUSE_COURIERS).gather(P.warehouse_courier[wh])
    port = np.array([COURIER_PORT[c] for c in code.to_list()], dtype=np.int64)
    ship = local["ts"].to_numpy() + rng.integers(4 * HOUR_MS, 30 * HOUR_MS, local.height)
    keep = ship < clock.end_ms
    names_ = pl.Series([COURIER_NAMES[c] for c in code.to_list()])
    df = pl.DataFrame(
        {
            "ts": ship,
            "sender": s(port),
            "receiver": local["ship_phone"],
            "text": "【" + names_ + "】您的快件" + local["waybill_no"] + "已发出，请保持电话畅通",
            "receiver_county": local["ship_county"],
        }
    ).filter(pl.Series(keep))
    ev.add("sms", df)


def bank_sms(P: Population, seed: int, transfers: pl.DataFrame, ev: Events) -> None:
    """The bank's notice of every payment made from a person's card."""
    rng = stream(seed, "bank-sms")
    t = transfers.filter(pl.col.payer_phone.is_not_null() & (pl.col.payee_type != "aggregator"))
    t = t.filter(pl.Series(rng.random(t.height) < 0.8))
    if not t.height:
        return
    yuan = (
        (t["amount_fen"] // 100).cast(pl.String)
        + "."
        + (t["amount_fen"] % 100).cast(pl.String).str.zfill(2)
    )
    ev.add(
        "sms",
        pl.DataFrame(
            {
                "ts": t["ts"] + rng.integers(2_000, 60_000, t.height),
                "sender": BANK_PORT,
                "receiver": t["payer_phone"],
                "text": "【银行】您尾号"
                + t["payer_account"].str.slice(-4)
                + "的账户支出人民币"
                + yuan
                + "元",
            }
        ),
    )


# --- money ------------------------------------------------------------------------------------


def _xfer(
    ts,
    payer,
    payee,
    amount,
    payee_type,
    channel,
    memo,
    payer_phone=None,
    payer_id=None,
    payee_name=None,
) -> pl.DataFrame:
    n = len(ts)
    df = pl.DataFrame(
        {
            "ts": np.asarray(ts, dtype=np.int64),
            "payer_account": payer,
            "payee_account": payee,
            "amount_fen": np.asarray(amount, dtype=np.int64),
            "payee_type": payee_type,
            "channel": channel,
            "memo": memo,
        }
    )
    if payer_phone is not None:
        df = df.with_columns(payer_phone=payer_phone)
    if payer_id is not None:
        df = df.with_columns(payer_id_number=payer_id)
    if payee_name is not None:
        df = df.with_columns(payee_name=payee_name)
    assert df.height == n
    return df


def merchant_account(aggregator: pl.Series, merchant: np.ndarray) -> pl.Series:
    """An aggregator's merchant account; numbers are a bijection of the merchant index."""
    code = (np.asarray(merchant, dtype=np.int64) * 7919 + 31337) % 100_000
    return aggregator + "-M" + s(81_000_000 + code)


def transfers(P: Population, sc: dict, clock: Clock, seed: int, ev: Events) -> None:
    """Salaries, pensions, rent, family allowances, shop payments through aggregators and their
    daily settlement, and payments between friends."""
    rng = stream(seed, "transfers")
    life = sc["life"]
    person_card = P.card > 0
    frames = []
    for d in range(clock.days):
        dom = clock.date(d).day
        if dom == life["salary_day"]:
            who = np.flatnonzero((P.employer >= 0) & person_card)
            m = len(who)
            frames.append(
                _xfer(
                    clock.day_ms(d) + 9 * HOUR_MS + rng.integers(0, 2 * HOUR_MS, m),
                    P.employer_account.gather(P.employer[who]),
                    s(P.card[who]),
                    yuan_to_fen(lognormal(rng, life["salary_median_yuan"], 0.35, m)),
                    "person",
                    "online",
                    "工资",
                    payee_name=P.name.gather(who),
                )
            )
        if dom == life["pension_day"]:
            who = np.flatnonzero((P.age >= 60) & person_card)
            m = len(who)
            frames.append(
                _xfer(
                    clock.day_ms(d) + 8 * HOUR_MS + rng.integers(0, 3 * HOUR_MS, m),
                    pl.Series([SOCIAL_INSURANCE_ACCOUNT] * m),
                    s(P.card[who]),
                    yuan_to_fen(lognormal(rng, life["pension_median_yuan"], 0.4, m)),
                    "person",
                    "online",
                    "养老金",
                    payee_name=P.name.gather(who),
                )
            )
        if dom == life["rent_day"]:
            who = np.flatnonzero(P.landlord >= 0)
            m = len(who)
            frames.append(
                _xfer(
                    times_in_day(rng, clock, d, m),
                    s(P.card[who]),
                    s(P.card[P.landlord[who]]),
                    yuan_to_fen(lognormal(rng, life["rent_median_yuan"], 0.3, m)),
                    "person",
                    "mobile",
                    "房租",
                    s(P.phone[who]),
                    P.id_number.gather(who),
                    P.name.gather(P.landlord[who]),
                )
            )
        # children send their elderly parents an allowance on a day of their own
        eld = np.flatnonzero((P.family >= 0) & person_card)
        giver = P.family[eld]
        due = (
            (eld * 7919 % 28 + 1 == dom)
            & (P.card[giver] > 0)
            & ((eld * 104729 % 100) < life["family_allowance_share"] * 100)
        )
        e, g = eld[due], giver[due]
        if len(e):
            frames.append(
                _xfer(
                    times_in_day(rng, clock, d, len(e)),
                    s(P.card[g]),
                    s(P.card[e]),
                    yuan_to_fen(rng.choice([300, 500, 800, 1000, 2000], len(e)).astype(float)),
                    "person",
                    "mobile",
                    "生活费",
                    s(P.phone[g]),
                    P.id_number.gather(g),
                    P.name.gather(e),
                )
            )
        # friends
        adults = np.flatnonzero((P.age >= 18) & person_card & (P.phone > 0))
        m = rng.poisson(len(adults) * life["p2p_transfers_per_adult_day"])
        a = adults[rng.integers(0, len(adults), m)]
        b = _friend(P, a, rng.integers(0, 12, m), "county")
        ok = (P.card[b] > 0) & (a != b)
        a, b = a[ok], b[ok]
        frames.append(
            _xfer(
                times_in_day(rng, clock, d, len(a)),
                s(P.card[a]),
                s(P.card[b]),
                yuan_to_fen(lognormal(rng, life["p2p_median_yuan"], 1.0, len(a))),
                "person",
                "mobile",
                pl.Series(rng.choice(["", "还钱", "红包", "饭钱"], len(a))),
                s(P.phone[a]),
                P.id_number.gather(a),
                P.name.gather(b),
            )
        )
    ev.add(
        "transfer",
        pl.concat(frames, how="diagonal_relaxed").with_columns(
            memo=pl.when(pl.col.memo != "").then(pl.col.memo)
        ),
    )
    shop_payments(P, sc, clock, seed, ev)


MERCHANTS_PER_COUNTY = 40


def shop_payments(P: Population, sc: dict, clock: Clock, seed: int, ev: Events) -> None:
    """QR-code payments at local shops through payment aggregators, settled daily to the shop."""
    rng = stream(seed, "shop-payments")
    life = sc["life"]
    payers = np.flatnonzero((P.age >= 16) & (P.card > 0) & ~P.feature & (P.phone > 0))
    n_c = len(P.county_codes)
    owners = np.flatnonzero((P.age >= 25) & (P.card > 0))
    owner = owners[rng.integers(0, len(owners), n_c * MERCHANTS_PER_COUNTY)]
    frames, settle = [], []
    for d in range(clock.days):
        m = rng.poisson(len(payers) * life["shop_payments_per_adult_day"])
        a = payers[rng.integers(0, len(payers), m)]
        merchant = P.county[a] * MERCHANTS_PER_COUNTY + rng.integers(0, MERCHANTS_PER_COUNTY, m)
        agg = merchant % len(P.aggregators)
        amt = yuan_to_fen(lognormal(rng, life["shop_payment_median_yuan"], 0.8, m))
        payee = merchant_account(pl.Series(P.aggregators).gather(agg), merchant)
        frames.append(
            _xfer(
                times_in_day(rng, clock, d, m),
                s(P.card[a]),
                payee,
                amt,
                "aggregator",
                pl.Series(rng.choice(["mobile", "pos"], m)),
                None,
                s(P.phone[a]),
                P.id_number.gather(a),
            )
        )
        day = (
            pl.DataFrame({"merchant": merchant, "payee": payee, "amt": amt})
            .group_by(["merchant", "payee"])
            .agg(pl.col.amt.sum())
            .sort("merchant")
        )
        mm = day["merchant"].to_numpy()
        settle.append(
            _xfer(
                clock.day_ms(d + 1) + 2 * HOUR_MS + rng.integers(0, HOUR_MS, day.height),
                day["payee"],
                s(P.card[owner[mm]]),
                (day["amt"].to_numpy() * 0.9962).astype(np.int64),
                "person",
                "online",
                pl.Series(["结算"] * day.height),
                payee_name=P.name.gather(owner[mm]),
            )
        )
    ev.add("transfer", pl.concat(frames, how="diagonal_relaxed"))
    st = pl.concat(settle, how="diagonal_relaxed")
    ev.add("transfer", st.filter(pl.col.ts < clock.end_ms))


# --- platforms, web, apps ----------------------------------------------------------------------


def logins(P: Population, sc: dict, clock: Clock, seed: int, ev: Events) -> None:
    rng = stream(seed, "logins")
    for plat in range(len(P.platforms)):
        holders = np.flatnonzero(P.accounts[:, plat])
        for d in range(clock.days):
            m = rng.poisson(len(holders) * sc["life"]["logins_per_account_day"])
            who = holders[rng.integers(0, len(holders), m)]
            ev.add(
                "login",
                pl.DataFrame(
                    {
                        "ts": times_in_day(rng, clock, d, m),
                        "platform": P.platforms[plat],
                        "account_id": platform_account(P, plat, who),
                        "device_id": P.device(who),
                        "ip": P.home_ip(who),
                        "ip_county": P.county_code(who),
                        "success": rng.random(m) < 0.98,
                    }
                ),
            )


def registration_frame(
    P: Population,
    person: np.ndarray,
    platform: str,
    account_id: pl.Series,
    ts: np.ndarray,
    device: pl.Series,
    ip: pl.Series,
    ip_county: pl.Series,
    code_device: pl.Series,
    code_ip: pl.Series,
    code_ip_county: pl.Series,
    promoter: str | None = None,
) -> pl.DataFrame:
    df = pl.DataFrame(
        {
            "ts": ts,
            "platform": platform,
            "account_id": account_id,
            "phone": s(P.phone[person]),
            "id_number": P.id_number.gather(person),
            "name": P.name.gather(person),
            "device_id": device,
            "ip": ip,
            "ip_county": ip_county,
            "code_device_id": code_device,
            "code_ip": code_ip,
            "code_ip_county": code_ip_county,
            "phone_county": P.county_code(person),
        }
    )
    if promoter is not None:
        df = df.with_columns(promoter_id=pl.lit(promoter))
    return df


def code_sms(P: Population, person: np.ndarray, platform: str, ts: np.ndarray, rng) -> pl.DataFrame:
    """The SMS verification code a platform sends to the phone just before a registration."""
    code = s(rng.integers(100000, 999999, len(person)))
    return pl.DataFrame(
        {
            "ts": ts - rng.integers(20_000, 120_000, len(person)),
            "sender": str(PLATFORM_PORT[platform]),
            "receiver": s(P.phone[person]),
            "text": "【"
            + platform
            + "】验证码"
            + code
            + "，用于注册账号，5分钟内有效，请勿告诉他人",
            "receiver_county": P.county_code(person),
        }
    )


def sign_ups(P: Population, sc: dict, clock: Clock, seed: int, ev: Events) -> None:
    """Ordinary people opening new accounts on their own phone."""
    rng = stream(seed, "sign-ups")
    smart = np.flatnonzero((P.phone > 0) & ~P.feature & (P.age >= 16))
    for d in range(clock.days):
        m = rng.poisson(len(smart) * sc["life"]["new_accounts_per_person_day"])
        who = smart[rng.integers(0, len(smart), m)]
        plat = rng.integers(0, len(P.platforms), m)
        for p in np.unique(plat):
            w = np.unique(who[plat == p])
            ts = times_in_day(rng, clock, d, len(w))
            # new accounts of people already registered get a fresh number in the same space
            acct = token("u", account_no((P.n + d * 10_000 + np.arange(len(w))) * 8 + p), 9)
            name = P.platforms[p]
            ev.add(
                "registration",
                registration_frame(
                    P,
                    w,
                    name,
                    acct,
                    ts,
                    P.device(w),
                    P.home_ip(w),
                    P.county_code(w),
                    P.device(w),
                    P.home_ip(w),
                    P.county_code(w),
                ),
            )
            ev.add("sms", code_sms(P, w, name, ts, rng))


def legit_promoters(P: Population, sc: dict, clock: Clock, seed: int, ev: Events) -> pl.DataFrame:
    """Authorised e-voucher promoters (report 000): many elderly people of a village activated in
    one day with one promoter code, some on the team's few tablets; the code is typed on the spot."""
    rng = stream(seed, "legit-promoters")
    life = sc["life"]
    rural_v = np.flatnonzero(~P.county_urban[P.village_county])
    out = []
    for team in range(int(life["legit_promoter_teams"])):
        tablets = token(f"yb{team}-tab-", np.arange(3), 2)
        ev.add("promoter", _promoter_registry(P, clock, f"yb-team-{team + 1:02d}", tablets))
        for d in range(clock.days):
            vs = rural_v[
                rng.integers(0, len(rural_v), int(life["legit_promoter_villages_per_day"]))
            ]
            for v in np.unique(vs):
                idx = np.arange(P.village_start[v], P.village_start[v] + P.village_size[v])
                cand = idx[(P.age[idx] >= 50) & (P.phone[idx] > 0) & ~P.feature[idx]]
                cand = cand[rng.random(len(cand)) < life["legit_promoter_share"]]
                if not len(cand):
                    continue
                ts = (
                    clock.day_ms(d) + 9 * HOUR_MS + np.sort(rng.integers(0, 6 * HOUR_MS, len(cand)))
                )
                on_tablet = rng.random(len(cand)) < 0.5
                dev = pl.select(
                    pl.when(pl.Series(on_tablet))
                    .then(tablets.gather(rng.integers(0, 3, len(cand))))
                    .otherwise(P.device(cand))
                ).to_series()
                acct = token("y", account_no(cand * 8 + 7), 9)
                ip = P.home_ip(cand)
                ev.add(
                    "registration",
                    registration_frame(
                        P,
                        cand,
                        "yibao",
                        acct,
                        ts,
                        dev,
                        ip,
                        P.county_code(cand),
                        P.device(cand),
                        ip,
                        P.county_code(cand),
                        promoter=f"yb-team-{team + 1:02d}",
                    ),
                )
                ev.add("sms", code_sms(P, cand, "yibao", ts, rng))
                out.append(pl.DataFrame({"account_id": acct, "person": cand}))
    return pl.concat(out) if out else pl.DataFrame()


def _promoter_registry(P: Population, clock: Clock, team: str, tablets: pl.Series) -> pl.DataFrame:
    """The bureau's authorisation of a promotion team (report 000: 第三方渠道…获得授权): every
    rural county of the city, the team's tablets, the e-voucher platform, issued a week before."""
    issued = clock.start_ms - 7 * DAY_MS
    counties = sorted(
        {str(c) for c, urban in zip(P.county_codes, P.county_urban, strict=True) if not urban}
    )
    grants = (
        [{"county": c} for c in counties]
        + [{"device_id": d, "member": f"{team}-m{i + 1}"} for i, d in enumerate(tablets)]
        + [{"platform": "yibao"}]
    )
    rows = [
        {
            "ts": issued,
            "team_id": team,
            "issuer": "广西壮族自治区医疗保障局",
            "action": "grant",
            "valid_from": issued,
            "valid_to": clock.end_ms + 90 * DAY_MS,
            "document_no": f"GXYB-{team}",
            "county": None,
            "device_id": None,
            "member": None,
            "platform": None,
            **g,
        }
        for g in grants
    ]
    return pl.DataFrame(
        rows, schema_overrides={"ts": pl.Int64, "valid_from": pl.Int64, "valid_to": pl.Int64}
    )


def visits(P: Population, sc: dict, clock: Clock, seed: int, ev: Events) -> None:
    rng = stream(seed, "visits")
    smart = np.flatnonzero((P.phone > 0) & ~P.feature)
    for d in range(clock.days):
        m = rng.poisson(len(smart) * sc["life"]["visits_per_smartphone_day"])
        who = smart[rng.integers(0, len(smart), m)]
        dom = pl.Series(LEGIT_DOMAINS).gather(rng.integers(0, len(LEGIT_DOMAINS), m))
        ev.add("visit", _visits(rng, clock, d, s(P.phone[who]), dom, 140, 80))


SMALL_SITE_SYLLABLES = (
    "hua",
    "mei",
    "lin",
    "shan",
    "feng",
    "yun",
    "chun",
    "tian",
    "ming",
    "qing",
    "hong",
    "bai",
    "song",
    "zhu",
    "he",
    "jiang",
    "hai",
    "xing",
    "lan",
    "yue",
)
SMALL_SITE_WORDS = ("luntan", "blog", "news", "jia", "che", "tu", "yx", "wiki", "shequ", "home")
SMALL_SITE_TLDS = ("com", "cn", "net", "com.cn", "top", "xyz")


def small_sites(sc: dict, clock: Clock, seed: int) -> pl.DataFrame:
    """domain, registered_ts, weight: ordinary small sites (names of two syllables and a word),
    a share of them young: young and obscure is no sign of fraud by itself."""
    rng = stream(seed, "small-sites")
    life = sc["life"]
    n = int(life["small_sites"])
    a, b = rng.integers(0, len(SMALL_SITE_SYLLABLES), (2, n))
    w = rng.integers(0, len(SMALL_SITE_WORDS), n)
    t = rng.integers(0, len(SMALL_SITE_TLDS), n)
    names = [
        f"{SMALL_SITE_SYLLABLES[i]}{SMALL_SITE_SYLLABLES[j]}-{SMALL_SITE_WORDS[k]}.{SMALL_SITE_TLDS[m]}"
        for i, j, k, m in zip(a, b, w, t, strict=True)
    ]
    young = rng.random(n) < life["small_site_young_share"]
    age_days = np.where(young, rng.integers(3, 80, n), rng.integers(400, 6000, n))
    reg = clock.start_ms - age_days * DAY_MS - rng.integers(0, DAY_MS, n)
    return pl.DataFrame(
        {"domain": names, "registered_ts": reg, "weight": 1.0 / (1 + rng.permutation(n))}
    ).unique("domain", keep="first", maintain_order=True)


def small_site_visits(P: Population, sc: dict, clock: Clock, seed: int, ev: Events) -> None:
    """Visits to the small sites, by popularity (a few busy, most seen by a handful)."""
    rng = stream(seed, "small-site-visits")
    sites = small_sites(sc, clock, seed)
    p = (sites["weight"] / sites["weight"].sum()).to_numpy()
    smart = np.flatnonzero((P.phone > 0) & ~P.feature)
    life = sc["life"]
    for d in range(clock.days):
        m = rng.poisson(
            len(smart) * life["visits_per_smartphone_day"] * life["small_site_visit_share"]
        )
        who = smart[rng.integers(0, len(smart), m)]
        dom = sites["domain"].gather(rng.choice(len(p), m, p=p))
        ev.add("visit", _visits(rng, clock, d, s(P.phone[who]), dom, 103, 7))


def _visits(rng, clock: Clock, d: int, phones: pl.Series, dom: pl.Series, net: int, host: int):
    """Visits on day `d` of `phones` to `dom`, from addresses net.x.y.host."""
    m = len(dom)
    return pl.DataFrame(
        {
            "ts": times_in_day(rng, clock, d, m),
            "phone": phones,
            "domain": dom,
            "url": "https://" + dom + "/",
            "ip": ip_strings(
                np.full(m, net), rng.integers(1, 250, m), rng.integers(1, 250, m), np.full(m, host)
            ),
        }
    )


def apps(P: Population, sc: dict, clock: Clock, seed: int, ev: Events) -> None:
    rng = stream(seed, "apps")
    smart = np.flatnonzero((P.phone > 0) & ~P.feature)
    workers = np.flatnonzero((P.phone > 0) & ~P.feature & (P.employer >= 0))
    for d in range(clock.days):
        m = rng.poisson(len(smart) * sc["life"]["app_events_per_smartphone_day"])
        who = smart[rng.integers(0, len(smart), m)]
        a = rng.integers(0, len(LEGIT_APPS), m)
        ev.add(
            "app",
            pl.DataFrame(
                {
                    "ts": times_in_day(rng, clock, d, m),
                    "phone": s(P.phone[who]),
                    "app_id": pl.Series([x[0] for x in LEGIT_APPS]).gather(a),
                    "action": pl.Series(["install", "open", "open"]).gather(rng.integers(0, 3, m)),
                    "app_name": pl.Series([x[1] for x in LEGIT_APPS]).gather(a),
                    "device_id": P.device(who),
                }
            ),
        )
        m = rng.poisson(len(workers) * sc["life"]["screen_share_per_worker_day"])
        who = workers[rng.integers(0, len(workers), m)]
        a = rng.integers(0, len(MEETING_APPS), m)
        ev.add(
            "app",
            pl.DataFrame(
                {
                    "ts": times_in_day(rng, clock, d, m, WORK_HOURS),
                    "phone": s(P.phone[who]),
                    "app_id": pl.Series([x[0] for x in MEETING_APPS]).gather(a),
                    "action": "screen_share",
                    "app_name": pl.Series([x[1] for x in MEETING_APPS]).gather(a),
                    "device_id": P.device(who),
                }
            ),
        )


def new_sims(P: Population, sc: dict, clock: Clock, seed: int, ev: Events) -> None:
    """Ordinary new SIM cards opened during the period (numbers not used in the calls here)."""
    from fanzha.sim.base import mobiles

    rng = stream(seed, "new-sims")
    adults = np.flatnonzero(P.age >= 18)
    m = rng.poisson(len(adults) * sc["life"]["new_sims_per_person_day"] * clock.days)
    who = adults[rng.integers(0, len(adults), m)]
    nums = mobiles(rng, m, taken=np.concatenate([P.phone, P.phone2]))
    ev.add(
        "card",
        pl.DataFrame(
            {
                "ts": clock.start_ms + rng.integers(0, clock.days * DAY_MS, m),
                "card_type": "sim",
                "card_number": s(nums),
                "id_number": P.id_number.gather(who),
                "action": "open",
                "holder_name": P.name.gather(who),
                "issuer": pl.Series(OPERATORS).gather(nums % 3),
                "card_kind": "prepaid",
                "shop_id": "hall-" + P.county_code(who) + "-1",
                "agent_id": "ag-" + s(P.county_codes[P.county[who]] % 1000 * 10 + who % 7),
                "holder_county": P.county_code(who),
            }
        ),
    )


__all__ = ["ROLE_STAFF", "StaffPlan"]
