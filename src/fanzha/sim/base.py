"""What every part of the simulator shares: seeded random streams, the clock, the event buffer,
and vectorised makers of valid Chinese identifiers (phones, ID numbers, bank cards, names).

Determinism: each sub-model draws from its own numpy Generator, derived from the world's seed and
the sub-model's name, so adding draws to one sub-model never changes another's. Nothing here reads
the wall clock or iterates a set or dict whose order could change between runs.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from fanzha.events import KINDS
from fanzha.ids import resident_id
from fanzha.ids.bank_card import BINS
from fanzha.ids.phone import MOBILE_PATTERN, MOBILE_SEGMENTS, VIRTUAL_SEGMENTS

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MIN_MS = 60_000


def stream(seed: int, name: str) -> np.random.Generator:
    """The random stream of one sub-model: independent of every other sub-model's draws."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode())]))


@dataclass(frozen=True)
class Clock:
    """Days of the world in event time (UTC ms); local time is UTC + offset (no DST in China)."""

    start_ms: int  # UTC ms of local midnight of day 0
    days: int
    offset_ms: int

    @classmethod
    def of(cls, start_date: str, days: int, offset_hours: int) -> Clock:
        d = dt.date.fromisoformat(start_date)
        midnight = dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC)
        offset = offset_hours * HOUR_MS
        return cls(int(midnight.timestamp() * 1000) - offset, days, offset)

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.days * DAY_MS

    def day_ms(self, day):
        """UTC ms of local midnight of a day (an int or an int array)."""
        return self.start_ms + np.asarray(day, dtype=np.int64) * DAY_MS

    def date(self, day: int) -> dt.date:
        first = dt.datetime.fromtimestamp((self.start_ms + self.offset_ms) / 1000, dt.UTC).date()
        return first + dt.timedelta(days=day)

    def local_hour(self, ts: np.ndarray) -> np.ndarray:
        return ((ts + self.offset_ms) % DAY_MS) // HOUR_MS


# Hour-of-day weights (local time) of ordinary activity: awake 7-23, peaks morning and evening.
DIURNAL = np.array(
    [
        0.2,
        0.1,
        0.05,
        0.05,
        0.1,
        0.3,
        1.0,
        2.5,
        4.0,
        5.0,
        5.0,
        4.5,
        4.0,
        4.0,
        4.5,
        4.5,
        4.5,
        4.5,
        5.0,
        5.5,
        5.0,
        4.0,
        2.0,
        0.8,
    ]
)
WORK_HOURS = np.array([0.0] * 8 + [1.0] * 4 + [0.5] + [1.0] * 6 + [0.3] * 2 + [0.0] * 3)


def times_in_day(
    rng: np.random.Generator,
    clock: Clock,
    day: np.ndarray | int,
    n: int,
    hours: np.ndarray = DIURNAL,
) -> np.ndarray:
    """n event times (UTC ms) on the given local day(s), hour drawn from `hours` weights."""
    p = hours / hours.sum()
    h = rng.choice(24, size=n, p=p)
    within = rng.integers(0, HOUR_MS, size=n)
    return (
        clock.day_ms(np.broadcast_to(np.asarray(day), (n,)).astype(np.int64)) + h * HOUR_MS + within
    )


def lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(n))


def yuan_to_fen(yuan: np.ndarray) -> np.ndarray:
    return np.maximum(np.round(yuan * 100).astype(np.int64), 1)


def uniform_int(rng: np.random.Generator, lo_hi: list[int] | tuple[int, int], n: int) -> np.ndarray:
    """Integers in [lo, hi] inclusive (the YAML's ranges are inclusive)."""
    lo, hi = int(lo_hi[0]), int(lo_hi[1])
    return rng.integers(lo, hi + 1, size=n)


# --- the event buffer --------------------------------------------------------------------------


@dataclass
class Events:
    """Events of every kind as Polars frames with fanzha's field names; `ts` is Int64 UTC ms.
    Columns starting with `_` are the simulator's own keys (never written)."""

    parts: dict[str, list[pl.DataFrame]] = field(default_factory=lambda: defaultdict(list))

    def add(self, kind: str, df: pl.DataFrame) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind}")
        unknown = {c for c in df.columns if not c.startswith("_")} - set(KINDS[kind].field_names)
        if unknown:
            raise ValueError(f"{kind}: no such fields {sorted(unknown)}")
        if df.height:
            self.parts[kind].append(df)

    def frame(self, kind: str) -> pl.DataFrame:
        """All events of a kind in event-time order (stable: ties keep generation order)."""
        parts = self.parts.get(kind, [])
        if not parts:
            return pl.DataFrame({"ts": pl.Series([], dtype=pl.Int64)})
        df = pl.concat(parts, how="diagonal_relaxed")
        return df.sort("ts", maintain_order=True)

    def count(self, kind: str) -> int:
        return sum(p.height for p in self.parts.get(kind, []))


# --- identifiers -------------------------------------------------------------------------------

_MOBILE_RE = f"^(?:{MOBILE_PATTERN})$"


def _valid_mobiles(values: np.ndarray) -> np.ndarray:
    s = pl.Series(values.astype(np.int64)).cast(pl.String)
    return s.str.contains(_MOBILE_RE).to_numpy()


def mobiles(
    rng: np.random.Generator, n: int, *, virtual: bool = False, taken: np.ndarray | None = None
) -> np.ndarray:
    """n distinct allocated mobile numbers (int64), none in `taken`."""
    segments = np.array(
        VIRTUAL_SEGMENTS if virtual else [s for s in MOBILE_SEGMENTS if s not in VIRTUAL_SEGMENTS],
        dtype=np.int64,
    )
    out = np.empty(0, dtype=np.int64)
    avoid = np.unique(taken) if taken is not None and len(taken) else np.empty(0, np.int64)
    while len(out) < n:
        k = int((n - len(out)) * 1.3) + 16
        cand = rng.choice(segments, size=k) * 10**8 + rng.integers(0, 10**8, size=k)
        cand = cand[_valid_mobiles(cand)]
        cand = cand[~np.isin(cand, avoid)]
        _, first = np.unique(cand, return_index=True)
        cand = cand[np.sort(first)]
        cand = cand[~np.isin(cand, out)]
        out = np.concatenate([out, cand[: n - len(out)]])
    return out


def digits(x: np.ndarray, width: int) -> np.ndarray:
    """(n, width) matrix of the decimal digits of non-negative int64s, most significant first."""
    x = x.astype(np.int64).copy()
    out = np.empty((len(x), width), dtype=np.int64)
    for i in range(width - 1, -1, -1):
        out[:, i] = x % 10
        x //= 10
    return out


_ID_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_ID_CHECK = np.array(list("10X98765432"))


def id_numbers(region: np.ndarray, birth_ymd: np.ndarray, seq3: np.ndarray) -> pl.Series:
    """18-character resident ID numbers (GB 11643) from region code, yyyymmdd and a 3-digit
    sequence (odd for men), with the right check character."""
    body = region.astype(np.int64) * 10**11 + birth_ymd.astype(np.int64) * 1000 + seq3
    check = _ID_CHECK[(digits(body, 17) * _ID_WEIGHTS).sum(axis=1) % 11]
    return pl.Series(body).cast(pl.String) + pl.Series(check)


_CARD_BINS = np.array(sorted(int(b) for b, (_, _, n) in BINS.items() if n == 19), dtype=np.int64)


def bank_cards(rng: np.random.Generator, n: int, taken: np.ndarray | None = None) -> np.ndarray:
    """n distinct Luhn-valid 19-digit UnionPay debit card numbers (int64; all start with 62)."""
    out = np.empty(0, dtype=np.int64)
    while len(out) < n:
        k = n - len(out) + 8
        body = rng.choice(_CARD_BINS, size=k) * 10**12 + rng.integers(0, 10**12, size=k)
        d = digits(body, 18)[:, ::-1]  # from the right; the check digit will be position 0
        dbl = d[:, 0::2] * 2
        total = (dbl - 9 * (dbl > 9)).sum(axis=1) + d[:, 1::2].sum(axis=1)
        card = body * 10 + (10 - total % 10) % 10
        card = np.unique(card)
        if taken is not None:
            card = card[~np.isin(card, taken)]
        out = np.unique(np.concatenate([out, card]))
    return rng.permutation(out)[:n]


SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
)
GIVEN = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建国建华文志明海燕春梅丽娟"
    "德福德明金凤淑珍桂芳秀珍玉珍凤英"
)


def names(rng: np.random.Generator, n: int) -> pl.Series:
    s = pl.Series(SURNAMES).gather(rng.integers(0, len(SURNAMES), n))
    g1 = pl.Series(GIVEN).gather(rng.integers(0, len(GIVEN), n))
    g2 = pl.Series(GIVEN).gather(rng.integers(0, len(GIVEN), n))
    two = pl.Series(rng.random(n) < 0.7)
    return pl.select(pl.when(two).then(s + g1 + g2).otherwise(s + g1)).to_series().alias("name")


@functools.cache
def _province_codes(province: str) -> tuple[tuple[int, tuple[int, ...]], ...]:
    return tuple(
        (
            y,
            tuple(
                sorted(
                    {
                        int(r.code)
                        for r in resident_id.regions()
                        if r.code.startswith(province)
                        and not r.code.endswith("00")
                        and resident_id.region_valid_in(r.code, y)
                    }
                )
            ),
        )
        for y in range(1900, 2031)
    )


def id_regions(county: np.ndarray, birth_year: np.ndarray) -> np.ndarray:
    """Region code for an ID number: the county's own code if it existed in the birth year, else
    the nearest code of the same province valid then (the county was renamed or split since)."""
    out = county.astype(np.int64).copy()
    pairs = np.unique(np.stack([county.astype(np.int64), birth_year.astype(np.int64)]), axis=1)
    for c, y in pairs.T:
        code = f"{c:06d}"
        if resident_id.region_valid_in(code, int(y)):
            continue
        valid = dict(_province_codes(code[:2])).get(int(y), ())
        if not valid:
            raise ValueError(f"no region code of province {code[:2]} is valid in {y}")
        arr = np.array(valid)
        same_city = arr[arr // 100 == c // 100]
        pick = same_city if len(same_city) else arr
        best = int(pick[np.argmin(np.abs(pick - c))])
        out[(county == c) & (birth_year == y)] = best
    return out


def token(prefix: str, n: np.ndarray | pl.Series, width: int = 0) -> pl.Series:
    """'prefix' + zero-padded number, as a string Series."""
    s = pl.Series(np.asarray(n, dtype=np.int64)).cast(pl.String)
    if width:
        s = s.str.zfill(width)
    return prefix + s


_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


def check_token(value: str) -> str:
    if not _SAFE.match(value):
        raise ValueError(f"not a safe token: {value!r}")
    return value
