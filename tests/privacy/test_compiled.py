"""The compiled numbers-only scan finds exactly what the Python path finds.

The Python path (`Scanner._scan_many_python`) is the oracle: for every text below, the compiled
pass (`fanzha.privacy.compiled`) must give the same findings - type, span, text, confidence, rule
and value - for every set of supported types and several confidence floors.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanzha.ids import phone, resident_id
from fanzha.privacy import compiled, detect
from fanzha.privacy.normalize import CN_DIGITS, SEPARATORS

pytestmark = pytest.mark.skipif(not compiled.available(), reason="numba is not installed")

TYPE_SETS = [
    frozenset({"resident_id", "mobile", "email"}),
    frozenset({"resident_id"}),
    frozenset({"mobile"}),
    frozenset({"email"}),
    frozenset({"resident_id", "email"}),
    frozenset({"mobile", "email"}),
]
PEOPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "pii" / "people_zh.json"
if not PEOPLE.is_file():
    PEOPLE = Path("/work/shared/data/pii/people_zh.json")


def assert_same(texts: list[str], floors=(0.5,)) -> None:
    for types in TYPE_SETS:
        for least in floors:
            scanner = detect.Scanner(types=types, ner="off", min_confidence=least)
            want = scanner._scan_many_python(texts)
            got = compiled.scan_many(texts, types, least)
            for text, w, g in zip(texts, want, got, strict=True):
                assert g == w, (sorted(types), least, text)
            assert span_rows(compiled.scan_spans(texts, types, least)) == [
                (i, f.start, f.end, f.type, f.confidence, f.rule)
                for i, fs in enumerate(want)
                for f in fs
            ], (sorted(types), least)


def span_rows(t) -> list[tuple]:
    """`scan_spans` columns as rows, dictionaries decoded."""
    cols = [t[c].to_pylist() for c in ("text", "start", "end", "type", "confidence", "rule")]
    return list(zip(*cols, strict=True))


# --- texts made of the things that decide a finding --------------------------------------------

_WIDE = {str(i): chr(0xFF10 + i) for i in range(10)}
_CN_FORMS: dict[str, list[str]] = {}
for _k, _v in CN_DIGITS.items():
    _CN_FORMS.setdefault(_v, []).append(_k)
_OTHER = {str(i): chr(0x2460 + i - 1) for i in range(1, 10)} | {"0": "⓪"}


def _values(rng: random.Random) -> list[str]:
    rid = resident_id.fake(rng)
    old = resident_id.fake(rng, birth_date=resident_id._dt.date(1950 + rng.randrange(49), 5, 17))
    return [
        rid,
        rid[:17] + "X",  # a check character that is wrong
        rid[:17] + "x",
        rid[:17] + str((int(rid[17]) + 1) % 10 if rid[17] != "X" else 0),  # ID-like
        rid[:6] + "20991231" + rid[14:],  # born in the future
        rid[:6] + "19000229" + rid[14:],  # no such day
        old[:6] + old[8:17],  # the 15-digit form
        resident_id.fake(rng, kind="permanent_residence"),
        resident_id.fake(rng, kind="hk_residence_permit"),
        phone.fake_mobile(rng),
        "86" + phone.fake_mobile(rng),
        "12" + str(rng.randrange(10**8, 10**9)),  # not a mobile segment
        str(rng.randrange(10**4, 10**20)),
        str(rng.randrange(10, 10**7)),
        "0" + str(rng.randrange(10**9, 10**11)),
        "keshiteng@163.com",
        "x_y+z@mail.qq.com",
        "ｋｅ＠１６３．ｃｏｍ",
        "a" * rng.randrange(60, 70) + "@b.cn",
        "1380013800@qq.c",
    ]


def _disguise(value: str, style: int, cut: int, rng: random.Random) -> str:
    if style == 1:
        return "".join(_WIDE.get(c, c) for c in value)
    if style == 2:
        return (
            "".join(rng.choice(_CN_FORMS[c]) if c in _CN_FORMS else c for c in value[:cut])
            + (value[cut:])
        )
    if style == 3:
        sep = rng.choice(SEPARATORS) * rng.randrange(1, 6)
        return value[:cut] + sep + value[cut:]
    if style == 4:
        return rng.choice("-. *").join(value[k : k + 3] for k in range(0, len(value), 3))
    if style == 5:
        return "".join(_OTHER.get(c, c) if rng.random() < 0.3 else c for c in value)
    if style == 6:
        return value.replace("X", rng.choice("xＸｘ×")).replace("x", rng.choice("Xｘ"))
    return value


_GLUE = ["", " ", ".", "**", "，", "号码", "身份证", "身份证号：", "ＩＤ", "证件", "电话", "qq:", "年",
         "中文", "\x00", "\ud800", "😀", "\n", "@", "a", "　", "X"]  # fmt: skip


@st.composite
def number_texts(draw):
    rng = random.Random(draw(st.integers(0, 2**32)))
    parts = [draw(st.sampled_from(["", "联系", "证件", "身份证", "邮箱"]))]
    for _ in range(draw(st.integers(1, 5))):
        value = draw(st.sampled_from(_values(rng)))
        parts.append(_disguise(value, draw(st.integers(0, 7)), draw(st.integers(1, 12)), rng))
        parts.append(draw(st.sampled_from(_GLUE)))
    return "".join(parts)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(number_texts(), min_size=1, max_size=4))
def test_compiled_equals_python_on_disguised_numbers(texts):
    assert_same(texts, floors=(0.0, 0.5, 0.9))


# every character class the scan tells apart, packed densely
_DENSE = "0123456789０９一七零〇两幺壹玖①⓪ -.*（·　_Xx×ｘ@＠﹫．ab中身份证ID：\x00"


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.text(alphabet=_DENSE, max_size=80), min_size=1, max_size=3))
def test_compiled_equals_python_on_dense_text(texts):
    assert_same(texts)


@settings(max_examples=200, deadline=None)
@given(
    head=st.sampled_from(["110105", "440524", "990000", "810000", "912000", "000000", "130000"]),
    year=st.integers(1890, 2100),
    month=st.integers(0, 13),
    day=st.integers(0, 32),
    tail=st.text(alphabet="0123456789X", min_size=4, max_size=4),
    before=st.sampled_from(["", "身份证", "id ", "电话"]),
)
def test_compiled_equals_python_on_id_dates_and_regions(head, year, month, day, tail, before):
    body = f"{head}{year:04d}{month:02d}{day:02d}"
    texts = [before + body + tail, body[:6] + body[8:] + tail[:3], "号" + body[:17] + "X"]
    texts.append(body[:17] + resident_id.check_digit(body[:17]) if len(body) >= 17 else "")
    assert_same(texts, floors=(0.0, 0.5))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**11 - 1))
def test_mobile_table_equals_the_pattern(n):
    digits = f"1{n:010d}"
    rx = re.compile(phone.MOBILE_PATTERN)
    found = compiled.scan_many([digits], frozenset({"mobile"}), 0.0)[0]
    assert bool(found) == bool(rx.fullmatch(digits))


def test_every_mobile_segment_prefix():
    texts = [
        f"{p}{s}{q}00{r}" for p in ("1",) for s in range(10) for q in range(100) for r in "012"
    ]
    texts = [t.ljust(11, "7")[:11] for t in texts]
    assert_same(texts)


# --- corpora -----------------------------------------------------------------------------------


def _disguised_corpus(rng: random.Random, n: int) -> list[str]:
    out = []
    words = ["您好", "请联系", "身份证号", "手机", "邮箱", "地址北京市", "。", "，", "我的"]
    pool = [v for _ in range(50) for v in _values(rng)]
    for _ in range(n):
        parts = []
        for _ in range(rng.randrange(1, 6)):
            parts.append(rng.choice(words))
            value = rng.choice(pool)
            parts.append(_disguise(value, rng.randrange(8), rng.randrange(1, 12), rng))
        out.append("".join(parts))
    return out


def test_compiled_equals_python_on_4000_synthetic_disguised_texts():
    texts = _disguised_corpus(random.Random(11), 4000)
    assert_same(texts, floors=(0.0, 0.5))


@pytest.mark.skipif(not PEOPLE.is_file(), reason="shared data not present")
def test_compiled_equals_python_on_people_zh_as_written_and_disguised():
    people = json.loads(PEOPLE.read_text("utf-8"))
    texts = [p["naturalParagraph"] for p in people]
    rng = random.Random(5)
    disguised = []
    for p, text in zip(people, texts, strict=True):
        for v in (str(p["idCardNumbers"]), str(p["phoneNumbers"])):
            text = text.replace(v, _disguise(v, rng.randrange(1, 7), rng.randrange(1, 12), rng))
        disguised.append(text)
    assert_same(texts)
    assert_same(disguised)
    found = compiled.scan_many(texts, frozenset({"resident_id", "mobile", "email"}), 0.5)
    assert sum(map(len, found)) >= len(texts)  # it does find things


# --- bad input, and the Python path as the fallback ----------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "邮箱keshiteng@163.com或",
        "ｋｅ＠１６３．ｃｏｍ",
        "x_y+z@mail.qq.com，a.b@c.cn",
        "a@b.com.x@y.com",
        "a@b@c.com",
        ".a@b.com",
        "中.a@b.com",
        "a" * 64 + "@b.com",
        "a" * 65 + "@b.com",
        "@b.com a@b a@b.c 李@x.com test@中国.cn",
        "a@b." + "c" * 23 + " a@b." + "c" * 24 + " a@b." + "c" * 25 + " a@b.c9." + "d" * 30,
        "a@b.cn. a@b..cn a@b.c-n.x1 a@b-.cc-d a@b.cc.d 13800138000@qq.com",
        " ".join(f"u{i}@x{i}.cn ＠ 1380013{i:04d}" for i in range(300)),  # @ past the 64 kept at first
    ],
)
def test_compiled_equals_python_on_tricky_emails(text):
    assert_same([text, text + "x", "1" + text])


def test_bad_input():
    types = frozenset({"resident_id", "mobile", "email"})
    assert compiled.scan_many([], types, 0.5) == []
    assert compiled.scan_many([""], types, 0.5) == [[]]
    odd = ["\ud800手机13800138000\udfff", "\x00" * 5 + "13800138000\x00a@b.cn", "😀13800138000😀"]
    assert_same(odd)
    assert [f.start for f in compiled.scan_many(odd, types, 0.5)[2]] == [1]


def test_a_10_mb_line():
    line = ("身份证号码１１０１０５１９４９１２３１００２Ｘ " + "1" * 40 + "中" * 60) * 85_000
    assert len(line) > 10_000_000
    types = frozenset({"resident_id", "mobile", "email"})
    got = compiled.scan_many([line], types, 0.5)[0]
    want = detect.Scanner(types=types, ner="off")._scan_many_python([line])[0]
    assert got == want and len(got) == 85_000


def test_many_texts_cross_chunks(monkeypatch):
    texts = _disguised_corpus(random.Random(2), 300)
    types = frozenset({"resident_id", "mobile", "email"})
    one = compiled.scan_many(texts, types, 0.5)
    monkeypatch.setattr(compiled, "_CHUNK_CHARS", 50)
    assert compiled.scan_many(texts, types, 0.5) == one


def test_scanner_takes_the_compiled_pass_only_for_supported_types(monkeypatch):
    calls = []
    real = compiled.scan_many
    monkeypatch.setattr(compiled, "scan_many", lambda *a: calls.append(a[1]) or real(*a))
    text = "手机13800138000 座机010-12345678 a@b.cn"
    fast = detect.Scanner(types=frozenset({"mobile", "email"}), ner="off").scan(text)
    assert calls == [frozenset({"mobile", "email"})]
    assert [f.type for f in fast] == ["mobile", "email"]
    slow = detect.Scanner(types=frozenset({"mobile", "email", "landline"}), ner="off").scan(text)
    assert len(calls) == 1 and [f.type for f in slow] == ["mobile", "landline", "email"]


def test_without_numba_the_python_path_runs(monkeypatch):
    monkeypatch.setattr(compiled, "available", lambda: False)
    scanner = detect.Scanner(types=frozenset({"mobile"}), ner="off")
    assert not compiled.supports(scanner.types)
    assert [f.value for f in scanner.scan("手机１３８ ００１３ ８０００")] == ["13800138000"]


def test_a_twin_given_the_class_finding_is_the_same_frozen_finding():
    import dataclasses

    from fanzha.privacy.findings import Finding, _Twin

    args = ("mobile", 3, 14, "13800138000", 0.94, "phone.mobile", "13800138000")
    twin = object.__new__(_Twin)
    for name, value in zip(_Twin.__slots__, args, strict=True):
        setattr(twin, name, value)
    twin.__class__ = Finding
    slow = Finding(*args)
    assert type(twin) is Finding and twin == slow and hash(twin) == hash(slow)
    assert twin.to_dict() == slow.to_dict()
    with pytest.raises(dataclasses.FrozenInstanceError):
        twin.start = 0  # type: ignore[misc]


def test_spans_through_the_python_path_are_the_same_columns():
    """Types the kernel does not find (landline) give scan_spans through the Finding objects."""
    text = ["手机13800138000 座机010-12345678 a@b.cn", "", "身份证110105194912310029"]
    compiled_types = detect.Scanner(types=frozenset({"mobile", "email"}), ner="off")
    python_types = detect.Scanner(types=frozenset({"mobile", "email", "landline"}), ner="off")
    fast, slow = compiled_types.scan_spans(text), python_types.scan_spans(text)
    assert fast.column_names == slow.column_names
    assert [r for r in span_rows(slow) if r[3] != "landline"] == span_rows(fast)
    assert any(r[3] == "landline" for r in span_rows(slow))
    assert span_rows(compiled_types.scan_spans([])) == []
