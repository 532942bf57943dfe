"""Detection in free text: every type, every disguise, and what must not be found."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fanzha.ids import bank_card, phone, resident_id, uscc
from fanzha.privacy import PATTERN_TYPES, TYPES, Scanner, find_pii
from fanzha.privacy.findings import Finding, resolve

NUMBERS = Scanner(types=frozenset(PATTERN_TYPES), ner="off")
RNG = random.Random(11)
ID = resident_id.fake(RNG)
MOBILE = "13800138000"
CARD19 = bank_card.fake(RNG, "622202")  # 19-digit UnionPay debit card
USCC = uscc.fake(RNG, "9")


def types_of(text: str, scanner: Scanner = NUMBERS) -> list[tuple[str, str]]:
    return [(f.type, f.text) for f in scanner.scan(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"身份证号{ID}联系", ("resident_id", ID)),  # no \b between Chinese and digits
        (f"手机{MOBILE}。", ("mobile", MOBILE)),
        ("座机010-87654321转", ("landline", "010-87654321")),
        ("电话：87654321", ("landline", "87654321")),  # local number, announced by 电话
        (f"卡号{CARD19}请转账", ("bank_card", CARD19)),
        ("邮箱keshiteng@163.com或", ("email", "keshiteng@163.com")),
        (f"信用代码{USCC}。", ("uscc", USCC)),
        ("护照E12345678。", ("passport", "E12345678")),
        ("通行证C12345678", ("hk_macau_permit", "C12345678")),
        ("回乡证H1234567801", ("home_return_permit", "H1234567801")),
        ("车牌粤B·12345停", ("plate", "粤B·12345")),
        ("来自192.168.1.20的", ("ip", "192.168.1.20")),
        ("ip 2001:db8::1 登录", ("ip", "2001:db8::1")),
        ("加QQ 123456789 领取", ("qq", "123456789")),
        ("加微信: wx_abc123 领", ("wechat", "wx_abc123")),
    ],
)
def test_each_type_is_found_with_its_span(text, expected):
    assert expected in types_of(text)


@pytest.mark.parametrize(
    "text, value",
    [
        ("电话１３８００１３８０００", MOBILE),  # full-width digits
        ("电话壹叁捌零零壹叁捌零零零", MOBILE),  # financial numerals
        ("电话一三八零零一三八零零零", MOBILE),  # plain Chinese numerals
        ("电话幺三八 0013 8000", MOBILE),  # mixed scripts and spaces
        ("电话138 0013 8000", MOBILE),
        ("电话138-0013-8000", MOBILE),
        ("电话138.0013.8000", MOBILE),
        ("电话138*0013*8000", MOBILE),
        ("电话(+86) 138 0013 8000", MOBILE),
        (f"身份证{' '.join([ID[:6], ID[6:14], ID[14:]])}", ID),
        (f"卡号{' '.join(CARD19[i : i + 4] for i in range(0, 19, 4))}", CARD19),
        ("拨打13800138000一次", MOBILE),  # a Chinese numeral glued on after the number
    ],
)
def test_disguised_numbers_are_found_with_their_value(text, value):
    found = NUMBERS.scan(text)
    assert [f.value for f in found] == [value], found
    f = found[0]
    assert text[f.start : f.end] == f.text


def test_qq_number_split_by_dots_and_stars():
    [f] = NUMBERS.scan("兼职刷单日结，加q:56793.***6")
    assert (f.type, f.text, f.value, f.rule) == ("qq", "56793.***6", "567936", "qq.number")


def test_two_numbers_in_one_run_are_split():
    found = NUMBERS.scan(f"{ID} {MOBILE}")
    assert [(f.type, f.value) for f in found] == [("resident_id", ID), ("mobile", MOBILE)]


def test_every_finding_has_type_span_confidence_and_rule():
    text = f"张三，身份证{ID}，手机{MOBILE}，住北京市海淀区中关村南大街5号院3号楼2单元501室。"
    found = find_pii(text)
    assert {f.type for f in found} >= {"resident_id", "mobile", "address"}
    for f in found:
        assert f.type in TYPES
        assert text[f.start : f.end] == f.text
        assert 0.5 <= f.confidence <= 1.0
        assert f.rule and "." in f.rule
        assert set(f.to_dict()) == {"type", "start", "end", "text", "confidence", "rule", "value"}


@pytest.mark.parametrize(
    "text",
    [
        "2024年3月15日下午3点，价格1,054,071.27元，订单号2024031512345678901234。",
        "第一二三四五章",  # Chinese numerals that are not a number
        "今天天气不错，我们去公园散步吧。",
        "版本1.2.3发布",
        "12345",  # five digits with no context are nobody's QQ
        "会议时间 12:30:45",
    ],
)
def test_ordinary_text_has_no_numbers_to_mask(text):
    assert NUMBERS.scan(text) == []


def test_a_wrong_check_digit_still_counts_as_an_id_but_less_sure():
    bad = ID[:17] + ("0" if ID[17] != "0" else "1")
    [f] = NUMBERS.scan(f"证件号{bad}")
    [good] = NUMBERS.scan(f"证件号{ID}")
    assert f.type == good.type == "resident_id"
    assert 0.5 <= f.confidence < good.confidence


def test_unallocated_mobile_segment_is_not_a_mobile():
    assert NUMBERS.scan("号码12012345678") == []
    assert phone.is_valid_mobile(MOBILE)


def test_names_and_addresses_with_the_rules_and_with_the_model():
    text = "收件人欧阳娜娜，福建厦门思明区莲前东路123号3单元501室。欧阳娜娜说好的。"
    for ner in ("rules", "lac"):
        found = Scanner(ner=ner).scan(text)  # type: ignore[arg-type]
        names = [f.text for f in found if f.type == "name"]
        assert names == ["欧阳娜娜", "欧阳娜娜"], (ner, found)  # every occurrence
        [addr] = [f for f in found if f.type == "address"]
        assert addr.text == "福建厦门思明区莲前东路123号3单元501室"


def test_model_finds_a_name_the_rules_cannot():
    text = "昨天柯世腾和李安琪一起去了公园。"  # no cue word: the rules see nothing
    rules = {f.text for f in Scanner(ner="rules").scan(text) if f.type == "name"}
    model = {f.text for f in Scanner(ner="lac").scan(text) if f.type == "name"}
    assert (model, rules) == ({"柯世腾", "李安琪"}, set())


def test_the_rules_find_names_announced_by_a_cue():
    text = "柯世腾是一位64岁的会计。他的主治医生李安琪开了药，请王先生签收。"
    rules = {f.text for f in Scanner(ner="rules").scan(text) if f.type == "name"}
    assert rules == {"柯世腾", "李安琪"}


def test_ner_off_finds_no_names():
    assert [f for f in Scanner(ner="off").scan("收件人张三丰") if f.type == "name"] == []


def test_unknown_type_or_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown PII type"):
        Scanner(types=frozenset({"dna"}))
    with pytest.raises(ValueError, match="ner must be"):
        Scanner(ner="bert")  # type: ignore[arg-type]


def test_scan_many_equals_scan_one_by_one():
    texts = [f"手机{MOBILE}", "", "无", f"证件{ID} 邮箱a@b.cn", "电话：87654321"]
    assert NUMBERS.scan_many(texts) == [NUMBERS.scan(t) for t in texts]


def test_context_words_do_not_leak_across_texts_of_a_batch():
    # "电话" ends the first text; the second starts with an 8-digit number that needs it
    assert NUMBERS.scan_many(["电话", "87654321"]) == [[], []]


def test_resolve_keeps_longer_then_surer_without_overlaps():
    a = Finding("email", 0, 20, "x" * 20, 0.9, "r")
    b = Finding("mobile", 0, 11, "x" * 11, 0.99, "r")
    c = Finding("name", 25, 28, "xxx", 0.8, "r")
    d = Finding("address", 26, 30, "xxxx", 0.7, "r")
    assert resolve([b, c, a, d]) == [a, d]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(
        alphabet=st.sampled_from("0123456789 -.*一二三九零壹叁捌１３８@a张三市区路号室"),
        max_size=80,
    )
)
def test_any_text_gives_valid_non_overlapping_spans(text):
    found = Scanner(ner="rules").scan(text)
    end = -1
    for f in found:
        assert f.start >= end and text[f.start : f.end] == f.text
        end = f.end
