"""The evasion normaliser: the spellings fraudsters use to dodge keyword filters come out plain."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanzha.models.text import normalize


@pytest.mark.parametrize("evasive, plain", [
    ("八.年.老.店", "八年老店"),  # decorations between the characters of a word
    ("加q:56793.***6", "加qq:567936"),  # a QQ number broken by symbols
    ("1 3 8 0 0 1 3 8 0 0 0", "13800138000"),  # spaced digits
    ("138 0013 8000", "13800138000"),
    ("１３８００１３８０００", "13800138000"),  # full-width digits
    ("ＡＰＰ下载", "app下载"),  # full-width letters
    ("①③⑧", "138"),  # circled digits
    ("幺三八零零一三八零零零", "13800138000"),  # digits written as Chinese numerals
    ("加微*信领红包", "加微信领红包"),
    ("支~付~宝", "支付宝"),
    ("加vx:kf888", "加微信:kf888"),  # nicknames of contact channels
    ("加薇信kf888", "加微信kf888"),
    ("扣扣号", "qq号"),
    ("раураl退款", "paypal退款"),  # Cyrillic letters that look Latin
    ("請轉帳到安全帳戶", "请转账到安全账户"),  # traditional -> simplified, 帳戶 -> 账户
    ("客\u200b服\u200d退\ufeff款", "客服退款"),  # zero-width characters
])
def test_evasions_come_out_plain(evasive, plain):
    assert normalize(evasive) == plain


@pytest.mark.parametrize("text, kept", [
    ("你好。我是客服", "你好。我是客服"),  # ordinary punctuation between words stays
    ("价格1.5元，10:30见", "价格1.5元,10:30见"),  # decimals and times stay
    ("吧！（注）本次", "吧!(注)本次"),  # varied punctuation is not a decoration
    ("张三: 你好\n\n李四: 好的", "张三: 你好\n李四: 好的"),  # dialogue turns stay on their lines
    ("Hello World", "hello world"),
])
def test_ordinary_text_is_left_alone(text, kept):
    assert normalize(text) == kept


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_string_normalises_without_error_and_stays_normalised(s):
    once = normalize(s)
    assert isinstance(once, str)
    assert normalize(once) == once


def test_the_same_fraud_script_normalises_the_same_with_and_without_evasions():
    plain = "加微信:kf888领取退款,客服电话13800138000"
    evasive = "加ｖｘ：ｋｆ８８８领.取.退.款，客服电话1 3 8 0 0 1 3 8 0 0 0"
    assert normalize(evasive) == normalize(plain)
