"""Keyed operators: pseudonyms join, fakes pass the same checks, encryption round-trips."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import hashes

from fanzha.ids import bank_card, phone, resident_id, uscc
from fanzha.privacy import Keys, decrypt, encrypt, fake, pseudonym
from fanzha.privacy.keyed import MaskKeyError, mac

KEY = Keys(b"k" * 32)
OTHER = Keys(b"o" * 32)
ID = "11010519491231002X"


def test_sm3_is_the_gb_t_32905_hash():
    h = hashes.Hash(hashes.SM3())
    h.update(b"abc")  # the standard's first example
    assert h.finalize().hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


@pytest.mark.parametrize("algo", ["hmac-sha256", "hmac-sm3"])
def test_pseudonym_is_stable_per_key_and_joins_written_forms(algo):
    a = pseudonym("mobile", "13800138000", KEY, algo)
    assert a == pseudonym("mobile", "138 0013 8000", KEY, algo)
    assert a == pseudonym("mobile", "+86 138-0013-8000", KEY, algo)
    assert a != pseudonym("mobile", "13800138001", KEY, algo)
    assert a != pseudonym("mobile", "13800138000", OTHER, algo)
    assert a.startswith("mobile#") and len(a) == len("mobile#") + 16
    assert "13800138000" not in a


def test_sm3_and_sha256_pseudonyms_differ():
    assert pseudonym("name", "张三", KEY, "hmac-sm3") != pseudonym("name", "张三", KEY)
    assert mac(b"k" * 16, b"x", "hmac-sm3") != mac(b"k" * 16, b"x", "hmac-sha256")
    with pytest.raises(ValueError, match="unknown algorithm"):
        mac(b"k" * 16, b"x", "md5")


def test_fake_id_is_valid_stable_and_keeps_region_and_birth_year_on_request():
    f = fake("resident_id", ID, KEY)
    assert resident_id.is_valid(f) and f != ID
    assert f == fake("resident_id", ID, KEY)
    assert f != fake("resident_id", ID, OTHER)
    same = resident_id.parse(fake("resident_id", ID, KEY, same_region=True, same_birth_year=True))
    real = resident_id.parse(ID)
    assert same.region_code == real.region_code
    assert same.birth_date.year == real.birth_date.year
    assert same.value != ID


def test_fakes_of_other_types_pass_fanzha_ids():
    card = fake("bank_card", "6222021234567890128", KEY, same_region=True)
    assert bank_card.parse(card).luhn_ok and card.startswith("622202") and len(card) == 19
    assert phone.is_valid_mobile(fake("mobile", "13800138000", KEY))
    assert fake("mobile", "13800138000", KEY, same_region=True).startswith("138")
    assert uscc.is_valid(fake("uscc", "91350100M000100Y43", KEY))
    assert fake("email", "keshiteng@163.com", KEY).endswith("@163.com")
    name = fake("name", "欧阳娜娜", KEY)
    assert len(name) == 4 and name != "欧阳娜娜"


@pytest.mark.parametrize("algo", ["sm4-gcm", "aes-gcm"])
def test_encryption_round_trips_and_is_randomised(algo):
    a = encrypt("张三 13800138000", KEY, algo)
    b = encrypt("张三 13800138000", KEY, algo)
    assert a.startswith(f"enc:{algo}:") and a != b
    assert decrypt(a, KEY) == decrypt(b, KEY) == "张三 13800138000"


def test_wrong_key_or_altered_token_is_a_clear_error():
    token = encrypt("13800138000", KEY)
    with pytest.raises(MaskKeyError, match="wrong key or altered"):
        decrypt(token, OTHER)
    body = token.rsplit(":", 1)[1]
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(MaskKeyError):
        decrypt(token.rsplit(":", 1)[0] + ":" + flipped, KEY)
    with pytest.raises(MaskKeyError, match="not an encrypted token"):
        decrypt("13800138000", KEY)
    with pytest.raises(ValueError, match="unknown cipher"):
        encrypt("x", KEY, "des")


def test_keys_from_text_and_a_short_key_is_refused():
    assert Keys.from_text("00" * 32).secret == bytes(32)
    assert Keys.from_text("a long enough passphrase").secret == b"a long enough passphrase"
    with pytest.raises(MaskKeyError, match="at least 16 bytes"):
        Keys.from_text("short")


def test_fake_birth_dates_are_real_dates():
    for i in range(50):
        value = resident_id.fake(__import__("random").Random(i))
        born = resident_id.parse(fake("resident_id", value, KEY)).birth_date
        assert dt.date(1900, 1, 1) <= born <= dt.date.today()
