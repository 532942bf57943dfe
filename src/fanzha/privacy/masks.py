"""Masks by type, in two profiles.

- `display` (what an analyst's screen shows): 张*三 / 欧阳** / 张*, phone 138****1234, ID
  110***********1234, card last 4, address kept to the district.
- `waybill` (GB/T 41833-2022 快递电子运单): hide at least one character of the name (only the
  surname is shown), at least six digits of the phone (only the last four are shown, as couriers
  use them), and the unit and room of the address (单元户室号). An address without a unit or room
  is one household: its door number is hidden instead. Stolen waybills sold at 3-5 yuan each feed
  "your parcel was lost, here is a refund" scams; a waybill masked this way is worth nothing.

Masks never fail: a value that is not what its type says is masked by a generic rule (keep the
first and last character), never returned as it was.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from fanzha.ids import IdError, phone
from fanzha.ids._common import clean
from fanzha.privacy.divisions import admin_end
from fanzha.privacy.normalize import fold
from fanzha.privacy.recognizers.names import split_name

PROFILES = ("display", "waybill")
STAR = "*"


def _stars(n: int) -> str:
    return STAR * max(n, 0)


def keep_ends(value: str, head: int, tail: int, min_hidden: int = 1) -> str:
    """Keep `head` and `tail` characters, star the rest; hide at least `min_hidden`."""
    n = len(value)
    if n == 0:
        return value
    while head + tail > n - min_hidden and (head or tail):
        if tail >= head and tail:
            tail -= 1
        else:
            head -= 1
    return value[:head] + _stars(n - head - tail) + (value[n - tail :] if tail else "")


# --- names -------------------------------------------------------------------------------------


def mask_name(value: str, profile: str = "display") -> str:
    v = value.strip()
    if not v:
        return value
    if not _is_cjk(v):  # Latin names: keep the first letter of each word
        return " ".join(w[:1] + _stars(len(w) - 1) for w in v.split())
    if len(v) == 1:
        return STAR
    surname, given = split_name(v)
    if profile == "waybill" or len(surname) == 2 or len(given) == 1:
        return surname + _stars(len(given))  # 张* / 张** / 欧阳**
    return surname + _stars(len(given) - 1) + given[-1]  # 张*三, 张**四


def _is_cjk(s: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in s)


# --- phones and numbers ------------------------------------------------------------------------


def _digits(value: str) -> str:
    return re.sub(r"[^0-9+Xx]", "", fold(value))


def mask_phone(value: str, profile: str = "display") -> str:
    """Mobile 138****1234 (display) / *******1234 (waybill); landline keeps its area code."""
    d = _digits(value)
    try:
        p = phone.parse(d)
        d, kind = p.value, p.kind
    except IdError:
        kind = "unknown"
    if profile == "waybill":
        hidden = max(6, len(d) - 4)
        return _stars(min(hidden, len(d))) + d[min(hidden, len(d)) :]
    if kind == "mobile":
        return d[:3] + _stars(4) + d[7:]
    if kind == "landline":
        area = 3 if d[1] in "12" else 4
        return d[:area] + keep_ends(d[area:], 0, 4, min_hidden=3)
    return keep_ends(d, 3, 4, min_hidden=max(4, len(d) // 3))


def mask_resident_id(value: str, profile: str = "display") -> str:
    d = _digits(value).upper()
    return keep_ends(d, 3, 4, min_hidden=len(d) // 2)


def mask_bank_card(value: str, profile: str = "display") -> str:
    d = _digits(value)
    return keep_ends(d, 0, 4, min_hidden=len(d) // 2)


def mask_email(value: str, profile: str = "display") -> str:
    local, at, domain = fold(value).partition("@")
    if not at:
        return keep_ends(value, 1, 0)
    return local[:1] + "***@" + domain


def mask_ip(value: str, profile: str = "display") -> str:
    v = fold(value).strip()
    try:
        ip = ipaddress.ip_address(v)
    except ValueError:
        return keep_ends(v, 2, 0)
    if ip.version == 4:
        a, b, _, _ = v.split(".")
        return f"{a}.{b}.*.*"
    groups = ip.exploded.split(":")
    return ":".join(groups[:2]) + ":*:*:*:*:*:*"


def mask_code(head: int, tail: int) -> Callable[[str, str], str]:
    """Codes (USCC, permits, QQ, WeChat ids): keep a few characters at each end."""

    def mask(value: str, profile: str = "display") -> str:
        v = clean(value) if value.strip() else value
        return keep_ends(v, head, tail, min_hidden=max(1, len(v) // 2))

    return mask


def mask_plate(value: str, profile: str = "display") -> str:
    v = clean(value)
    return keep_ends(v, 2, 2, min_hidden=3)


# --- addresses ---------------------------------------------------------------------------------

# Characters of house, unit and room numbers.
NUM = "0-9０-９A-Za-z一二三四五六七八九十百零〇"
# Where the unit/room part begins: "2单元", "501室", "12层", "5栋1203" (room after a building),
# "12-3-501" (building-unit-room). Written without look-behind so that Polars (Rust regex) runs
# the same expression over whole columns (`fanzha.privacy.columns`).
UNIT_ROOM = (
    rf"^(.*?)((?:[{NUM}]+\s*(?:单元|室|户|层|楼层|号房|房间|房)|(?:[栋幢座]|号楼)\s*[{NUM}]+).*"
    rf"|[-－—][{NUM}]+(?:[-－—][{NUM}]+)?)$"
)
# Without a unit or room: the last number (the door number of a one-household address).
DOOR = rf"^(.*?)([{NUM}]+)((?:号院|号|弄)?[^{NUM}]*)$"
_UNIT_ROOM = re.compile(UNIT_ROOM, re.S)
_DOOR = re.compile(DOOR, re.S)
_HIDE = re.compile(rf"[{NUM}]")


def hide_unit_room(address: str) -> str:
    """The unit/room part starred (digits and letters; 单元/室 stay so the shape is readable).
    Without one, the last house number is starred. Administrative names hold no numbers, so
    the whole address can be searched."""
    m = _UNIT_ROOM.match(address)
    if m:
        return m.group(1) + _HIDE.sub(STAR, m.group(2))
    m = _DOOR.match(address)
    if m:
        return m.group(1) + _stars(len(m.group(2))) + m.group(3)
    return address


def mask_address(value: str, profile: str = "display") -> str:
    if profile == "waybill":
        return hide_unit_room(value)
    end = admin_end(value)
    if not value[end:].strip():
        return value
    return value[:end] + "****"


MASKS: dict[str, Callable[[str, str], str]] = {
    "name": mask_name,
    "address": mask_address,
    "resident_id": mask_resident_id,
    "mobile": mask_phone,
    "landline": mask_phone,
    "phone": mask_phone,
    "bank_card": mask_bank_card,
    "email": mask_email,
    "uscc": mask_code(2, 4),
    "passport": mask_code(1, 3),
    "hk_macau_permit": mask_code(1, 3),
    "home_return_permit": mask_code(1, 3),
    "plate": mask_plate,
    "ip": mask_ip,
    "qq": mask_code(2, 2),
    "wechat": mask_code(1, 1),
}


def mask_value(type_: str, value: str | None, profile: str = "display") -> str | None:
    """The masked form of one value of a known type (None stays None)."""
    if value is None:
        return None
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    try:
        mask = MASKS[type_]
    except KeyError:
        raise ValueError(f"unknown type {type_!r}; known: {', '.join(MASKS)}") from None
    return mask(str(value), profile)
