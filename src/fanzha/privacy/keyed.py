"""Operators that need a secret key: pseudonyms, format-preserving fakes, reversible encryption.

- `pseudonym`: HMAC-SHA256 or HMAC-SM3 (GB/T 32905) of the normalised value. Same value and key
  give the same token everywhere, so a bank and a police centre can join records on a phone number
  without either seeing it.
- `fake`: a value of the same kind that passes the same checks (ID check character and a region
  code valid in its birth year, Luhn, USCC check characters, allocated mobile segments), drawn
  from a generator seeded by the HMAC, so it is stable per key; optionally in the same region and
  birth year (ID), segment (mobile) and BIN (card), so statistics survive.
- `encrypt` / `decrypt`: SM4-GCM (GB/T 32907) or AES-256-GCM, for authorised re-identification.
All primitives come from `cryptography` (OpenSSL).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import random
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fanzha.errors import FanzhaError
from fanzha.ids import IdError, bank_card, permits, phone, plate, resident_id, uscc
from fanzha.ids._common import clean
from fanzha.privacy.divisions import parse_address
from fanzha.privacy.normalize import fold
from fanzha.privacy.recognizers.names import split_name, surnames

HASHES = {"hmac-sha256": hashes.SHA256, "hmac-sm3": hashes.SM3}
CIPHERS = ("sm4-gcm", "aes-gcm")
KEY_ENV = "FANZHA_MASK_KEY"


class MaskKeyError(FanzhaError):
    """A keyed operator without a usable key, or a token that does not decrypt."""


@dataclass(frozen=True)
class Keys:
    """A master secret; each operator uses its own key derived from it."""

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise MaskKeyError("a masking key needs at least 16 bytes")

    @classmethod
    def from_text(cls, text: str) -> Keys:
        """Hex (64 characters for 32 bytes) or any passphrase of at least 16 characters."""
        t = text.strip()
        try:
            raw = bytes.fromhex(t)
            if len(raw) >= 16:
                return cls(raw)
        except ValueError:
            pass
        return cls(t.encode("utf-8"))

    @classmethod
    def from_env(cls) -> Keys | None:
        v = os.environ.get(KEY_ENV)
        return cls.from_text(v) if v else None

    def derive(self, purpose: str, n: int = 32) -> bytes:
        return mac(self.secret, purpose.encode(), "hmac-sha256")[:n]


def mac(key: bytes, data: bytes, algo: str = "hmac-sha256") -> bytes:
    try:
        h = hmac.HMAC(key, HASHES[algo]())
    except KeyError:
        raise ValueError(f"unknown algorithm {algo!r}; known: {', '.join(HASHES)}") from None
    h.update(data)
    return h.finalize()


def normalise(type_: str, value: str) -> str:
    """One form per value, so '138 0013 8000' and '13800138000' get the same pseudonym."""
    v = fold(value).strip()
    try:
        if type_ in ("mobile", "landline", "phone"):
            return phone.parse(v).value
        if type_ == "resident_id":
            return resident_id.parse(v).value
        if type_ in (
            "bank_card",
            "uscc",
            "passport",
            "hk_macau_permit",
            "home_return_permit",
            "plate",
        ):
            return clean(v)
    except IdError:
        return clean(v) if type_ != "name" else v
    if type_ == "email":
        return v.lower()
    return v


def pseudonym(
    type_: str, value: str, keys: Keys, algo: str = "hmac-sha256", length: int = 16
) -> str:
    """'mobile#3fa94c...': the type and the first `length` hex digits of the keyed hash."""
    key = keys.derive(f"pseudonym:{algo}")
    digest = mac(key, f"{type_}\x1f{normalise(type_, value)}".encode(), algo)
    return f"{type_}#{digest.hex()[:length]}"


# --- format-preserving fakes -------------------------------------------------------------------

_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞辉宇浩然欣怡子轩梓涵雨晨佳琪"


def fake(
    type_: str,
    value: str,
    keys: Keys,
    *,
    same_region: bool = False,
    same_birth_year: bool = False,
) -> str:
    """A stable, valid-looking stand-in of the same kind."""
    norm = normalise(type_, value)
    rng = random.Random(mac(keys.derive("fake"), f"{type_}\x1f{norm}".encode()))
    make = _FAKERS.get(type_)
    if make is None:
        return "".join(
            rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(max(len(norm), 6))
        )
    return make(norm, rng, same_region, same_birth_year)


def _fake_id(v: str, rng: random.Random, same_region: bool, same_year: bool) -> str:
    try:
        real = resident_id.parse(v)
    except IdError:
        real = None
    year = real.birth_date.year if (real and same_year) else rng.randrange(1940, 2006)
    born = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
    region = real.region_code if (real and same_region and real.kind == "resident") else None
    if region is not None and not resident_id.region_valid_in(region, year):
        region = None
    for _ in range(100):
        out = resident_id.fake(rng, birth_date=born, region=region)
        if out != v:
            return out
    return out


def _fake_mobile(v: str, rng: random.Random, same_region: bool, _y: bool) -> str:
    seg = v[:3] if (same_region and len(v) == 11) else None
    try:
        return phone.fake_mobile(rng, seg)
    except IdError:
        return phone.fake_mobile(rng)


def _fake_phone(v: str, rng: random.Random, same_region: bool, y: bool) -> str:
    if v.startswith("0"):
        return phone.fake_landline(rng)
    return _fake_mobile(v, rng, same_region, y)


def _fake_card(v: str, rng: random.Random, same_region: bool, _y: bool) -> str:
    n = len(v) if 16 <= len(v) <= 19 and v.isdigit() else 19
    head = v[:6] if (same_region and v[:6].isdigit()) else rng.choice(sorted(bank_card.BINS))
    body = head + "".join(str(rng.randrange(10)) for _ in range(n - len(head) - 1))
    return body + bank_card.luhn_digit(body)


def _fake_name(v: str, rng: random.Random, _r: bool, _y: bool) -> str:
    compound, single = surnames()
    surname, given = split_name(v) if v else ("", "")
    pool = sorted(compound) if len(surname) == 2 else sorted(single)
    return rng.choice(pool) + "".join(rng.choice(_GIVEN) for _ in range(max(1, len(given))))


def _fake_email(v: str, rng: random.Random, _r: bool, _y: bool) -> str:
    _, _, domain = v.partition("@")
    local = "".join(rng.choice("abcdefghijkmnpqrstuvwxyz") for _ in range(8))
    return f"{local}@{domain or 'example.com'}"


def _fake_address(v: str, rng: random.Random, same_region: bool, _y: bool) -> str:
    parts = parse_address(v)
    head = parts.admin if same_region else ""
    road = rng.choice(
        ["和平", "幸福", "人民", "建设", "解放", "中山", "新华", "长江", "黄河", "光明"]
    )
    return f"{head}{road}路{rng.randrange(1, 999)}号"


def _fake_uscc(v: str, rng: random.Random, same_region: bool, _y: bool) -> str:
    region = v[2:8] if (same_region and len(v) == 18 and v[2:8].isdigit()) else "110105"
    return uscc.fake(rng, region=region)


def _fake_permit(kind: str):
    def make(v: str, rng: random.Random, _r: bool, _y: bool) -> str:
        return permits.fake(rng, kind)  # type: ignore[arg-type]

    return make


def _fake_plate(v: str, rng: random.Random, _r: bool, _y: bool) -> str:
    return plate.fake(rng, new_energy=len(v) == 8)


_FAKERS = {
    "resident_id": _fake_id,
    "mobile": _fake_mobile,
    "landline": lambda v, rng, r, y: phone.fake_landline(rng),
    "phone": _fake_phone,
    "bank_card": _fake_card,
    "name": _fake_name,
    "email": _fake_email,
    "address": _fake_address,
    "uscc": _fake_uscc,
    "passport": _fake_permit("passport"),
    "hk_macau_permit": _fake_permit("hk_macau_permit"),
    "home_return_permit": _fake_permit("home_return_permit"),
    "plate": _fake_plate,
    "ip": lambda v, rng, r, y: (
        f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    ),
    "qq": lambda v, rng, r, y: str(rng.randrange(10 ** (max(len(v), 5) - 1), 10 ** max(len(v), 5))),
}


# --- reversible encryption ---------------------------------------------------------------------


def encrypt(value: str, keys: Keys, algo: str = "sm4-gcm") -> str:
    """'enc:sm4-gcm:<base64url(nonce | ciphertext | tag)>'; a fresh nonce each time."""
    nonce = os.urandom(12)
    data = value.encode("utf-8")
    if algo == "sm4-gcm":
        enc = Cipher(
            algorithms.SM4(keys.derive("encrypt:sm4-gcm", 16)), modes.GCM(nonce)
        ).encryptor()
        blob = nonce + enc.update(data) + enc.finalize() + enc.tag
    elif algo == "aes-gcm":
        blob = nonce + AESGCM(keys.derive("encrypt:aes-gcm", 32)).encrypt(nonce, data, None)
    else:
        raise ValueError(f"unknown cipher {algo!r}; known: {', '.join(CIPHERS)}")
    return f"enc:{algo}:" + base64.urlsafe_b64encode(blob).decode().rstrip("=")


def decrypt(token: str, keys: Keys) -> str:
    """The value behind an `encrypt` token; a clear error if the key or token is wrong."""
    prefix, algo, b64 = [*token.split(":", 2), "", ""][:3]
    if prefix != "enc" or algo not in CIPHERS:
        raise MaskKeyError(f"not an encrypted token: {token[:40]!r}")
    try:
        blob = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
    except ValueError:
        raise MaskKeyError("encrypted token is not base64") from None
    if len(blob) < 28:
        raise MaskKeyError("encrypted token is too short")
    nonce, body, tag = blob[:12], blob[12:-16], blob[-16:]
    try:
        if algo == "sm4-gcm":
            key = keys.derive("encrypt:sm4-gcm", 16)
            dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
            data = dec.update(body) + dec.finalize()
        else:
            data = AESGCM(keys.derive("encrypt:aes-gcm", 32)).decrypt(nonce, body + tag, None)
    except InvalidTag:
        raise MaskKeyError(
            "token does not decrypt with this key (wrong key or altered token)"
        ) from None
    return data.decode("utf-8")
