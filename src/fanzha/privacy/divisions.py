"""Administrative divisions: split an address into province / city / district and the rest.

The table is GB/T 2260 as python-stdnum ships it (every county-level code with the years it was in
use), the same table `fanzha.ids.resident_id` validates ID regions with, so a masked address and a
masked ID number agree on where a person lives. Names are matched in full (海淀区) and in the short
forms people write (海淀, 福建厦门), with an Aho-Corasick automaton (pyahocorasick).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import ahocorasick

from fanzha.ids.resident_id import regions

_PLACEHOLDERS = {
    "市辖区",
    "县",
    "省直辖县级行政区划",
    "自治区直辖县级行政区划",
    "省直辖县级行政单位",
}
_LEVEL_SUFFIX = re.compile(r"(?:省|市|区|县|旗|州|盟|自治区|特别行政区|地区|林区|岛)$")
# The 55 minority nationalities that name autonomous divisions (延边朝鲜族自治州 -> 延边).
_NATIONS = (
    "蒙古|回|藏|维吾尔|苗|彝|壮|布依|朝鲜|满|侗|瑶|白|土家|哈尼|哈萨克|傣|黎|傈僳|佤|畲|高山|拉祜|水|"
    "东乡|纳西|景颇|柯尔克孜|土|达斡尔|仫佬|羌|布朗|撒拉|毛南|仡佬|锡伯|阿昌|普米|塔吉克|怒|乌孜别克|"
    "俄罗斯|鄂温克|德昂|保安|裕固|京|塔塔尔|独龙|鄂伦春|赫哲|门巴|珞巴|基诺"
)
_SHORT = re.compile(
    rf"(?:(?:{_NATIONS})族)*(?:自治区|自治州|自治县|自治旗|特别行政区|地区|省|市|区|县|盟|旗)$"
)


@dataclass(frozen=True, slots=True)
class Division:
    code: str  # six-digit GB/T 2260 code
    name: str  # full name
    level: int  # 1 province, 2 prefecture city, 3 county/district


@dataclass(frozen=True, slots=True)
class AddressParts:
    """An address split at the end of its administrative part."""

    province: str | None
    city: str | None
    district: str | None
    admin: str  # the administrative head as written ("福建厦门思明区")
    detail: str  # everything after it ("莲前东路123号3单元501室")
    code: str | None  # code of the lowest division recognised


def _level(code: str) -> int:
    if code.endswith("0000"):
        return 1
    if code.endswith("00"):
        return 2
    return 3


def short_name(name: str) -> str | None:
    """'海淀' for 海淀区, '延边' for 延边朝鲜族自治州; None if nothing of two characters is left."""
    s = _SHORT.sub("", name)
    return s if len(s) >= 2 and s != name else None


@functools.cache
def divisions() -> tuple[Division, ...]:
    seen: dict[tuple[str, str], Division] = {}
    for r in regions():
        if r.name in _PLACEHOLDERS or len(r.name) < 2 or not _LEVEL_SUFFIX.search(r.name):
            continue
        seen.setdefault((r.code, r.name), Division(r.code, r.name, _level(r.code)))
    return tuple(seen.values())


@functools.cache
def _automaton() -> ahocorasick.Automaton:
    """Every written form -> the divisions it may name (full names first)."""
    forms: dict[str, list[tuple[Division, bool]]] = {}
    for d in divisions():
        forms.setdefault(d.name, []).append((d, True))
        s = short_name(d.name)
        if s:
            forms.setdefault(s, []).append((d, False))
    a = ahocorasick.Automaton()
    for form, ds in forms.items():
        a.add_word(form, (form, tuple(ds)))
    a.make_automaton()
    return a


@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    form: str
    divisions: tuple[tuple[Division, bool], ...]  # (division, written in full)

    @property
    def full(self) -> bool:
        return any(f for _, f in self.divisions)


def hits(text: str) -> list[Hit]:
    """Division names in the text, longest first where two start at the same place."""
    out: list[Hit] = []
    for end, (form, ds) in _automaton().iter(text):
        out.append(Hit(end - len(form) + 1, end + 1, form, ds))
    out.sort(key=lambda h: (h.start, -(h.end - h.start)))
    return out


def admin_chains(text: str, max_gap: int = 0) -> list[tuple[int, int, list[Hit]]]:
    """Runs of consecutive division names ('黑龙江省哈尔滨市南岗区'), as (start, end, hits)."""
    chains: list[tuple[int, int, list[Hit]]] = []
    pos = -1
    for h in hits(text):
        if h.start < pos:
            continue  # inside a longer name already taken
        if chains and h.start - chains[-1][1] <= max_gap and _nests(chains[-1][2], h):
            s, _, hs = chains[-1]
            chains[-1] = (s, h.end, [*hs, h])
        else:
            chains.append((h.start, h.end, [h]))
        pos = h.end
    return chains


def _nests(prev: list[Hit], h: Hit) -> bool:
    """True if `h` can follow the chain: a lower level inside the same higher division."""
    for pd, _ in prev[-1].divisions:
        for d, _ in h.divisions:
            if d.level > pd.level and _inside(d.code, pd):
                return True
    return False


def _inside(code: str, parent: Division) -> bool:
    if parent.level == 1:
        return code[:2] == parent.code[:2]
    if parent.level == 2:
        return code[:4] == parent.code[:4]
    return False


def parse_address(address: str) -> AddressParts:
    """Province, city and district of an address written from the top down, and the rest.

    Only a chain of divisions at the start counts (after leading spaces); an address that names
    no division keeps everything in `detail`.
    """
    text = address.strip()
    lead = len(address) - len(address.lstrip())
    chains = admin_chains(text)
    if not chains or chains[0][0] != 0:
        return AddressParts(None, None, None, "", address, None)
    _, end, chain = chains[0]
    picked = _pick(chain)
    names: dict[int, str] = {}
    for d in picked:
        names.setdefault(d.level, d.name)
    if 2 not in names and picked and picked[0].level == 1 and picked[0].name.endswith("市"):
        names[2] = picked[0].name  # municipalities: 北京市海淀区 has no prefecture city of its own
    code = picked[-1].code if picked else None
    return AddressParts(
        names.get(1),
        names.get(2),
        names.get(3),
        address[: lead + end],
        address[lead + end :],
        code,
    )


def _pick(chain: list[Hit]) -> list[Division]:
    """One division per hit, consistent down the chain (福建 -> 厦门 -> 思明区)."""
    out: list[Division] = []
    for h in chain:
        options = [d for d, _ in h.divisions]
        if out:
            options = [d for d in options if d.level > out[-1].level and _inside(d.code, out[-1])]
        if not options:
            break
        options.sort(key=lambda d: (d.level, d.code))
        out.append(options[0])
    if out and out[0].level > 1:
        prov = _by_code().get(out[0].code[:2] + "0000")
        if prov is not None:
            out.insert(0, prov)  # the province was not written; the code says which it is
    return out


@functools.cache
def _by_code() -> dict[str, Division]:
    by: dict[str, Division] = {}
    for d in divisions():
        by.setdefault(d.code, d)
    return by


def admin_end(address: str) -> int:
    """Where the administrative head of an address ends (0 if it does not start with one)."""
    text = address.lstrip()
    lead = len(address) - len(text)
    chains = admin_chains(text)
    return lead + chains[0][1] if chains and chains[0][0] == 0 else 0
