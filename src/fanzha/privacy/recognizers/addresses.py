"""Addresses without a model: a chain of administrative divisions from the GB/T 2260 table
(黑龙江省哈尔滨市南岗区, 福建厦门思明区) and the street, number, building and room that follow it, or
a street with a house number on its own (学府路360号). Waybill and delivery scams start from exactly
this: a stolen address with a name and a phone.
"""

from __future__ import annotations

import re

from fanzha.privacy.divisions import admin_chains
from fanzha.privacy.findings import Finding

# After an administrative head, the detail goes on over letters and digits until punctuation or a
# word that starts the next clause.
_EXT = re.compile(r"[^\W_]{1,60}")
_STOP = re.compile(
    r"的|是|在|和|与|或|及|电话|手机|联系|身份证|邮箱|可通过|工作|居住|附近|一带|等地|出发|人民|"
    r"开设|发生|警方|公安|法院|医院|大学|学院|公司|银行|派出所|政府|委员会|办事处"
)
# The last character of a detail must end an address element.
_ENDS = set(
    "0123456789０１２３４５６７８９"
    "号栋幢室户楼层元院座组村路街巷弄道园区苑城庄屯厦场里坊府镇乡寓墅湾"
)
# A detail is one if it names a street-level place or numbers a house, building or room.
_STREETLIKE = re.compile(
    r"路|街|道|巷|弄|胡同|里|村|组|屯|小区|花园|苑|园|城|庄|大厦|广场|公寓|社区|镇|乡"
    r"|[0-9０-９一二三四五六七八九十]+(?:号|栋|幢|室|单元|楼|层)"
)
# A street and house number without an administrative head.
_STREET = re.compile(
    r"[^\W\d_]{1,10}?(?:路|街|大街|大道|巷|弄|胡同|里)"
    r"[0-9０-９一二三四五六七八九十百零〇]{1,5}(?:号院|号楼|号|弄)"
    r"(?:[0-9０-９A-Za-z\-－]{1,6}(?:号楼|栋|幢|座|单元|楼|层|室|户|号))*"
)
_LEAD = re.compile(
    r"^(?:家住|住在|住址|地址|位于|现居|居住于|居住在|寄往|送到|收货地址|住|在|于|至|到|往)+"
)


def detail_end(text: str, pos: int) -> int:
    """Where the street/number/room part that starts at `pos` ends (`pos` if there is none)."""
    m = _EXT.match(text, pos)
    if not m:
        return pos
    seg = m.group()
    stop = _STOP.search(seg)
    if stop:
        seg = seg[: stop.start()]
    end = len(seg)
    while end and (
        seg[end - 1] not in _ENDS or (seg[end - 1] == "元" and seg[end - 2 : end] != "单元")
    ):
        end -= 1
    if not _STREETLIKE.search(seg, 0, end):
        return pos
    return pos + end


def find(text: str) -> list[Finding]:
    out: list[Finding] = []
    for start, end, chain in admin_chains(text):
        full = any(h.full for h in chain)
        stop = detail_end(text, end)
        if stop > end:
            conf = 0.85
        elif len(chain) >= 2:
            conf = 0.7
        elif full:
            conf = 0.5
        else:
            continue  # a lone short name (海淀, 南岗) is too often something else
        out.append(Finding("address", start, stop, text[start:stop], conf, "address.divisions"))
    for m in _STREET.finditer(text):
        s, e = m.span()
        lead = _LEAD.match(m.group())
        if lead:
            s += lead.end()
        if e - s < 4:
            continue
        out.append(Finding("address", s, e, text[s:e], 0.7, "address.street_number"))
    return out
