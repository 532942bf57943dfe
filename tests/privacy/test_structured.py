"""Policies, records, tables and files; the Polars fast path equals the per-value masks."""

from __future__ import annotations

import json
import random

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanzha.ids import phone
from fanzha.privacy import Keys, Masker, PolicyError, load_policy, mask_file, mask_value
from fanzha.privacy.columns import mask_column
from fanzha.privacy.keyed import decrypt
from fanzha.privacy.recognizers.names import surnames

KEY = Keys(b"s" * 32)
WAYBILL = {
    "waybill_no": "SF1234567890",
    "收件人": "欧阳娜娜",
    "receiver_phone": "13812345678",
    "receiver_address": "北京市海淀区中关村南大街5号院3号楼2单元501室",
    "备注": "放门口，有事打13900001111找张三丰先生",
    "weight": 1.5,
}


def test_built_in_policies_load_and_describe_themselves():
    for name in ("waybill", "display", "export", "redact"):
        p = load_policy(name)
        assert p.name == name and p.description
    assert load_policy("export").needs_key and not load_policy("waybill").needs_key


def test_waybill_record():
    out = Masker("waybill").mask_record(WAYBILL)
    assert out == {
        "waybill_no": "SF1234567890",
        "收件人": "欧阳**",
        "receiver_phone": "*******5678",
        "receiver_address": "北京市海淀区中关村南大街5号院3号楼*单元***室",
        "备注": "放门口，有事打*******1111找张**先生",
        "weight": 1.5,  # numbers in other columns keep their JSON type
    }


def test_export_policy_joins_on_pseudonyms_and_redacts_free_text():
    m = Masker("export", KEY)
    a = m.mask_record(WAYBILL)
    b = m.mask_record({**WAYBILL, "receiver_phone": "138 1234 5678"})
    assert a["receiver_phone"] == b["receiver_phone"]
    assert a["receiver_phone"].startswith("phone#")
    assert a["receiver_address"] == "北京市海淀区****"
    assert a["备注"] == "放门口，有事打[mobile]找[name]先生"


def test_keyed_policy_without_a_key_is_a_clear_error():
    with pytest.raises(PolicyError, match=r"keyed operator pseudonym.*FANZHA_MASK_KEY"):
        Masker("export", None)


def test_user_policy_extends_a_built_in_and_maps_columns(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(
        "name: mine\nextends: waybill\n"
        "types:\n  resident_id: {op: encrypt, algo: aes-gcm}\n"
        "columns:\n  收货电话: phone\n  证件: resident_id\n  secret: drop\n"
        "  tel2: {type: phone, op: fake, same_region: true}\n"
        "other_columns: keep\n",
        encoding="utf-8",
    )
    m = Masker(load_policy(str(p)), KEY)
    out = m.mask_record(
        {
            "收货电话": "13812345678",
            "证件": "11010519491231002X",
            "secret": "x",
            "tel2": "13812345678",
            "sku": "A-13900001111",
        }
    )
    assert out["收货电话"] == "*******5678"
    assert decrypt(out["证件"], KEY) == "11010519491231002X"
    assert out["secret"] is None
    assert phone.is_valid_mobile(out["tel2"]) and out["tel2"].startswith("138")
    assert out["sku"] == "A-13900001111"  # other_columns: keep


@pytest.mark.parametrize(
    "yaml_text, words",
    [
        ("types: {name: {op: shred}}", "unknown operator 'shred'"),
        ("types: {dna: {op: mask}}", "unknown type 'dna'"),
        ("types: {name: {op: mask, profile: print}}", "profile must be one of"),
        ("types: {name: {op: mask, algo: x}}", "takes no option(s) algo"),
        ("columns: {a: dna}", "unknown type 'dna'"),
        ("other_columns: maybe", "other_columns must be"),
        ("colums: {}", "unknown field(s) colums"),
        ("[1, 2", "not valid YAML"),
        ("- a list", "a policy is a YAML mapping"),
    ],
)
def test_bad_policies_say_what_is_wrong(tmp_path, yaml_text, words):
    p = tmp_path / "bad.yaml"
    p.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(PolicyError) as e:
        load_policy(str(p))
    assert words in str(e.value)


def test_unknown_policy_name():
    with pytest.raises(PolicyError, match="neither a built-in"):
        load_policy("nope")


# --- the Polars fast path is the per-value mask ------------------------------------------------

_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
_NAMES = st.builds(
    lambda s, g: s + g,
    st.sampled_from(sorted(surnames()[0]) + sorted(surnames()[1])[:50]),
    st.text(alphabet=_CJK, max_size=3),
) | st.text(max_size=6)
_PHONES = st.builds(
    lambda seed: phone.fake_mobile(random.Random(seed)), st.integers(0, 10**6)
) | st.text(alphabet="0123456789+- ６", max_size=15)
_ADDR = st.builds(
    lambda head, road, n, unit, tail: f"{head}{road}{n}{unit}{tail}",
    st.sampled_from(["北京市海淀区", "福建厦门思明区", "", "黑龙江省哈尔滨市南岗区"]),
    st.sampled_from(["学府路", "中关村南大街", "太平村", "三里屯路"]),
    st.sampled_from(["5号", "360号", "12-3-501", "", "七"]),
    st.sampled_from(["", "3号楼2单元501室", "5栋1203", "B座12层", "88弄6号1203室"]),
    st.sampled_from(["", "（放门口）", "\n"]),
) | st.text(max_size=20)


@settings(max_examples=300, deadline=None)
@given(st.lists(_NAMES, max_size=20), st.lists(_PHONES, max_size=20), st.lists(_ADDR, max_size=20))
def test_column_fast_path_equals_per_value_masks(names, phones, addresses):
    for profile in ("display", "waybill"):
        for type_, values in (("name", names), ("mobile", phones), ("address", addresses)):
            fast = mask_column(type_, profile, pa.array(values, pa.string())).to_pylist()
            for v, f in zip(values, fast, strict=True):
                if f is not None:
                    assert f == mask_value(type_, v, profile), (type_, profile, v)


def test_mask_table_uses_the_fast_path_and_falls_back_per_value():
    t = pa.table(
        {
            "receiver_name": ["张三丰", "John Smith", None],
            "receiver_phone": ["13812345678", "010-87654321", "１３８１２３４５６７８"],
            "receiver_address": ["北京市海淀区中关村南大街5号院3号楼2单元501室", "学府路360号", ""],
            "n": [1, 2, 3],
        }
    )
    out = Masker("waybill").mask_table(t).to_pydict()
    assert out["receiver_name"] == ["张**", "J*** S****", None]
    assert out["receiver_phone"] == ["*******5678", "*******4321", "*******5678"]
    assert out["receiver_address"][:2] == [
        "北京市海淀区中关村南大街5号院3号楼*单元***室",
        "学府路***号",
    ]
    assert out["n"] == [1, 2, 3]


# --- files -------------------------------------------------------------------------------------


def test_csv_jsonl_parquet_files(tmp_path):
    rows = [WAYBILL, {**WAYBILL, "收件人": "王", "receiver_phone": "010-87654321"}]
    csv = tmp_path / "w.csv"
    header = list(WAYBILL)
    csv.write_text(
        ",".join(header) + "\n" + "".join(",".join(str(r[h]) for h in header) + "\n" for r in rows),
        encoding="utf-8",
    )
    jl = tmp_path / "w.jsonl"
    jl.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    pqf = tmp_path / "w.parquet"
    pq.write_table(pa.Table.from_pylist(rows), pqf)
    m = Masker("waybill")
    seen = []
    for src in (csv, jl, pqf):
        dst = tmp_path / f"out{src.suffix}"
        s = mask_file(str(src), str(dst), m, progress=lambda d, t: seen.append((d, t)))
        assert s.rows == 2 and s.rejected == 0
        if src.suffix == ".csv":
            text = dst.read_text("utf-8")
        elif src.suffix == ".jsonl":
            text = dst.read_text("utf-8")
            assert json.loads(text.splitlines()[0])["weight"] == 1.5
        else:
            text = json.dumps(pq.read_table(dst).to_pylist(), ensure_ascii=False)
        assert "欧阳**" in text and "*******5678" in text and "*单元***室" in text
        for secret in ("欧阳娜娜", "13812345678", "501", "87654321", "13900001111", "张三丰"):
            assert secret not in text, (src.suffix, secret)
    assert seen and seen[-1][0] == seen[-1][1]


def test_unreadable_rows_go_to_a_rejects_file_masked(tmp_path):
    src = tmp_path / "w.jsonl"
    src.write_bytes(
        orjson.dumps(WAYBILL)
        + b"\n"
        + b'{"phone": "13812345678", broken\n'
        + b'"just a string 13812345678"\n'
        + b'{"phone": "1381234\xff5678"}\n'
    )
    dst = tmp_path / "o.jsonl"
    s = mask_file(str(src), str(dst), Masker("display"))
    assert s.rows == 1 and s.rejected == 3
    assert s.reasons == {"bad_json": 2, "bad_encoding": 1}
    rejects = [
        json.loads(x) for x in (tmp_path / "o.jsonl.rejected.jsonl").read_text().splitlines()
    ]
    assert [r["line"] for r in rejects] == [2, 3, 4]
    assert all("13812345678" not in r["raw"] for r in rejects)
    assert "138****5678" in rejects[0]["raw"]


def test_csv_with_broken_encoding_row(tmp_path):
    src = tmp_path / "w.csv"
    src.write_bytes(b"name,phone\n\xe5\xbc\xa0\xe4\xb8\x89,13812345678\nab\xff,13900001111\n")
    s = mask_file(str(src), str(tmp_path / "o.csv"), Masker("display"))
    assert (s.rows, s.rejected, s.reasons) == (1, 1, {"bad_encoding": 1})
    assert (tmp_path / "o.csv").read_text("utf-8").splitlines() == ["name,phone", "张*,138****5678"]
    assert "13900001111" not in (tmp_path / "o.csv.rejected.jsonl").read_text()


def test_empty_and_mismatched_files_are_clear_errors(tmp_path):
    from fanzha.errors import FanzhaError

    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with pytest.raises(FanzhaError, match="file is empty"):
        mask_file(str(empty), str(tmp_path / "o.csv"), Masker("display"))
    with pytest.raises(FanzhaError, match="must have the input's format"):
        mask_file(str(empty), str(tmp_path / "o.jsonl"), Masker("display"))
    with pytest.raises(FanzhaError, match="overwrite the input"):
        mask_file(str(empty), str(empty), Masker("display"))
    with pytest.raises(FanzhaError, match="cannot tell the format"):
        mask_file(str(tmp_path / "x.xlsx"), str(tmp_path / "o.xlsx"), Masker("display"))
    empty_jsonl = tmp_path / "e.jsonl"
    empty_jsonl.write_bytes(b"")
    s = mask_file(str(empty_jsonl), str(tmp_path / "o.jsonl"), Masker("display"))
    assert s.rows == 0 and (tmp_path / "o.jsonl").read_bytes() == b""
