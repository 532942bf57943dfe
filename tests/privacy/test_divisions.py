"""Addresses split at province / city / district with the GB/T 2260 table (python-stdnum's)."""

from __future__ import annotations

import pytest

from fanzha.privacy.divisions import admin_end, parse_address, short_name


@pytest.mark.parametrize(
    "address, province, city, district, detail",
    [
        ("黑龙江省哈尔滨市南岗区学府路360号", "黑龙江省", "哈尔滨市", "南岗区", "学府路360号"),
        ("北京市海淀区中关村南大街5号", "北京市", "北京市", "海淀区", "中关村南大街5号"),
        ("福建厦门思明区莲前东路123号", "福建省", "厦门市", "思明区", "莲前东路123号"),
        ("厦门市思明区莲前东路123号", "福建省", "厦门市", "思明区", "莲前东路123号"),
        ("广西壮族自治区南宁市青秀区民族大道1号", "广西壮族自治区", "南宁市", "青秀区", "民族大道1号"),
        ("江苏省南京市鼓楼区中山北路3436号", "江苏省", "南京市", "鼓楼区", "中山北路3436号"),
    ],
)
def test_parse_address(address, province, city, district, detail):
    p = parse_address(address)
    assert (p.province, p.city, p.district, p.detail) == (province, city, district, detail)
    assert p.admin + p.detail == address
    assert admin_end(address) == len(p.admin)


def test_an_address_without_a_division_keeps_everything_in_detail():
    p = parse_address("学府路360号")
    assert (p.province, p.admin, p.detail, p.code) == (None, "", "学府路360号", None)


def test_a_district_of_another_province_does_not_chain():
    # 鼓楼区 exists in Nanjing, Fuzhou, Xuzhou and Kaifeng, but not in Heilongjiang
    p = parse_address("黑龙江省鼓楼区中山路1号")
    assert (p.province, p.district) == ("黑龙江省", None)
    assert p.detail == "鼓楼区中山路1号"


def test_short_names():
    assert short_name("海淀区") == "海淀"
    assert short_name("延边朝鲜族自治州") == "延边"
    assert short_name("广西壮族自治区") == "广西"
    assert short_name("忠县") is None  # one character left is too ambiguous
