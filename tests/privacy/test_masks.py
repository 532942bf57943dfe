"""Display masks, and conformance of the waybill profile to GB/T 41833-2022 (快递电子运单):
hide at least one character of the name, at least six digits of the phone, the unit/room of the
address."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanzha.ids import phone
from fanzha.privacy import mask_value
from fanzha.privacy.recognizers.names import split_name, surnames

COMPOUND, SINGLE = surnames()


@pytest.mark.parametrize(
    "type_, value, shown",
    [
        ("name", "张三丰", "张*丰"),
        ("name", "张三", "张*"),
        ("name", "欧阳娜娜", "欧阳**"),
        ("name", "司马光", "司马*"),
        ("name", "诸葛亮", "诸葛*"),
        ("name", "王", "*"),
        ("name", "John Smith", "J*** S****"),
        ("mobile", "13812341234", "138****1234"),
        ("mobile", "+86 138 1234 1234", "138****1234"),
        ("landline", "010-87654321", "010****4321"),
        ("resident_id", "11010519491231002X", "110***********002X"),
        ("bank_card", "6222021234567890128", "***************0128"),
        ("email", "keshiteng@163.com", "k***@163.com"),
        ("address", "北京市海淀区中关村南大街5号院3号楼2单元501室", "北京市海淀区****"),
        ("address", "福建厦门思明区莲前东路123号", "福建厦门思明区****"),
        ("address", "北京市海淀区", "北京市海淀区"),  # nothing below the district to hide
        ("ip", "192.168.1.20", "192.168.*.*"),
        ("plate", "粤B·12345", "粤B***45"),
    ],
)
def test_display_profile(type_, value, shown):
    assert mask_value(type_, value, "display") == shown


def test_none_stays_none_and_unknown_type_or_profile_is_an_error():
    assert mask_value("name", None) is None
    with pytest.raises(ValueError, match="unknown type"):
        mask_value("dna", "x")
    with pytest.raises(ValueError, match="unknown profile"):
        mask_value("name", "张三", "print")


# --- GB/T 41833-2022 rule 1: hide at least one character of the name ---------------------------


def hidden_chars(original: str, masked: str) -> int:
    return sum(1 for a, b in zip(original, masked, strict=True) if a != b and b == "*")


@pytest.mark.parametrize("name", ["欧阳娜娜", "司马光", "诸葛亮", "上官婉儿", "皇甫嵩", "东方明"])
def test_waybill_compound_surname_stays_whole_and_the_given_name_is_hidden(name):
    masked = mask_value("name", name, "waybill")
    assert masked == name[:2] + "*" * (len(name) - 2)


@pytest.mark.parametrize("name", ["张", "王", "李"])
def test_waybill_one_character_name_is_hidden_entirely(name):
    assert mask_value("name", name, "waybill") == "*"


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(SINGLE) + sorted(COMPOUND)),
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=3),
)
def test_waybill_name_hides_at_least_one_character(surname, given):
    name = surname + given
    masked = mask_value("name", name, "waybill")
    assert len(masked) == len(name)
    assert hidden_chars(name, masked) >= 1
    assert masked != name


def test_split_name_knows_compound_surnames():
    assert split_name("欧阳娜娜") == ("欧阳", "娜娜")
    assert split_name("欧阳") == ("欧", "阳")  # two characters: a surname and a given name
    assert split_name("张三") == ("张", "三")


# --- rule 2: hide at least six digits of the phone ---------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from(["", " ", "-"]), st.booleans())
def test_waybill_phone_hides_at_least_six_digits(seed, sep, landline):
    rng = random.Random(seed)
    number = phone.fake_landline(rng) if landline else phone.fake_mobile(rng)
    written = sep.join([number[:3], number[3:7], number[7:]])
    masked = mask_value("mobile", written, "waybill")
    digits_shown = re.sub(r"\D", "", masked)
    assert masked.count("*") >= 6
    assert len(digits_shown) <= len(number) - 6
    assert number.endswith(digits_shown)  # only the last digits, as couriers use them


def test_waybill_mobile_shows_only_the_last_four():
    assert mask_value("mobile", "13812345678", "waybill") == "*******5678"


def test_hutool_style_display_mask_would_fail_the_waybill_rule():
    shown = mask_value("mobile", "13812345678", "display")
    assert shown.count("*") == 4  # 138****5678 is fine on a screen, not on a waybill
    assert mask_value("mobile", "13812345678", "waybill").count("*") >= 6


# --- rule 3: hide the unit and room of the address ---------------------------------------------


@pytest.mark.parametrize(
    "address, masked",
    [
        (
            "北京市海淀区中关村南大街5号院3号楼2单元501室",
            "北京市海淀区中关村南大街5号院3号楼*单元***室",
        ),
        ("上海市浦东新区张江路88弄6号1203室", "上海市浦东新区张江路88弄6号****室"),
        ("浙江省杭州市西湖区文三路5栋1203", "浙江省杭州市西湖区文三路5栋****"),
        ("广东省深圳市南山区科技园B座12层", "广东省深圳市南山区科技园B座**层"),
        ("福建厦门思明区莲前东路12-3-501", "福建厦门思明区莲前东路12-*-***"),
        (
            "江苏省南京市鼓楼区中山北路100号七单元三〇二室",
            "江苏省南京市鼓楼区中山北路100号*单元***室",
        ),
    ],
)
def test_waybill_address_hides_unit_and_room(address, masked):
    assert mask_value("address", address, "waybill") == masked


@pytest.mark.parametrize(
    "address, masked",
    [
        ("黑龙江省哈尔滨市南岗区学府路360号", "黑龙江省哈尔滨市南岗区学府路***号"),
        ("四川省南充市仪陇县新政镇太平村3组15号", "四川省南充市仪陇县新政镇太平村3组**号"),
        ("吉林省长春市朝阳区南湖街道", "吉林省长春市朝阳区南湖街道"),  # no number at all
    ],
)
def test_waybill_address_without_room_hides_the_door_number(address, masked):
    """One household per door: without a unit or room, the door number is the household's."""
    assert mask_value("address", address, "waybill") == masked


def test_waybill_address_keeps_what_a_courier_needs():
    masked = mask_value("address", "北京市海淀区中关村南大街5号院3号楼2单元501室", "waybill")
    assert masked.startswith("北京市海淀区中关村南大街5号院3号楼")
    assert "501" not in masked and "2单元" not in masked
