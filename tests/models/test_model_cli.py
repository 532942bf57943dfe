"""`fanzha model train-texts` and `score-texts`: CSV and JSONL in, a line out for every row."""

from __future__ import annotations

import csv
import json
import subprocess

import pytest

from fanzha.models.text import TextModel
from helpers import fanzha_cmd
from text_corpus import FRAUD_SMS, NORMAL_SMS, corpus_rows, tiny_text_model


def _write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def _read_csv(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_train_texts_from_csv_then_score_every_row_in_input_order(cli, tmp_path):
    texts, labels = corpus_rows()
    train = tmp_path / "train.csv"
    _write_csv(train, ["content", "label"], zip(texts, labels, strict=True))
    model = tmp_path / "m.model"
    rep = json.loads(cli("model", "train-texts", "--train", str(train), "-o", str(model),
                         "--folds", "3", "--json").output)
    assert rep["rows_trained"] == len(texts) and model.exists()
    assert rep["labels"]["冒充客服服务"] == "fake_customer_service" and rep["labels"]["0"] == ""

    inp = tmp_path / "in.csv"
    _write_csv(inp, ["msg_id", "text"], [("a1", FRAUD_SMS), ("a2", NORMAL_SMS), ("a3", "")])
    out = tmp_path / "pred.csv"
    cli("model", "score-texts", "--model", str(model), "--in", str(inp), "--id-col", "msg_id",
        "-o", str(out), "--explain", "3")
    rows = _read_csv(out)
    assert list(rows[0])[:3] == ["msg_id", "label", "score"]
    assert [r["msg_id"] for r in rows] == ["a1", "a2", "a3"]
    assert rows[0]["label"] == "冒充客服服务" and rows[0]["fraud_type"] == "fake_customer_service"
    assert 0 < float(rows[0]["score"]) <= 1 and float(rows[0]["fraud_score"]) > 0.8
    words, shape_part = rows[0]["reason"].split(" (shape:")
    assert len(words.split()) == 3  # the explanation: three words, then the shape's share
    assert shape_part.endswith(")") and float(shape_part[:-1]) == pytest.approx(
        TextModel.load(model).shape_share(FRAUD_SMS, "冒充客服服务"), abs=0.006
    )
    assert rows[1]["label"] == "0" and rows[1]["fraud_type"] == ""
    assert rows[2]["label"] == "" and "no text" in rows[2]["reason"]


def test_train_texts_from_jsonl_with_named_columns_and_a_dev_split(cli, tmp_path):
    texts, labels = corpus_rows()
    train = tmp_path / "train.jsonl"
    with open(train, "w", encoding="utf-8") as fh:
        for t, lab in zip(texts, labels, strict=True):
            fh.write(json.dumps({"input": t, "is_fraud": lab != "0"}, ensure_ascii=False) + "\n")
    model = tmp_path / "m.model"
    rep = json.loads(cli("model", "train-texts", "--train", str(train), "--text-col", "input",
                         "--label-col", "is_fraud", "-o", str(model), "--dev-share", "0.3",
                         "--folds", "3", "--json").output)
    assert rep["labels"] == {"false": "", "true": "other"}
    assert rep["dev"]["rows"] + rep["rows_trained"] == len(texts)
    assert set(rep["dev"]["per_label"]) == {"false", "true"}
    assert 0 <= rep["dev"]["macro_f1"] <= 1
    assert TextModel.load(model).shape_weights is not None
    cli("model", "train-texts", "--train", str(train), "--text-col", "input", "--label-col",
        "is_fraud", "-o", str(model), "--folds", "3", "--no-shape")
    flat = TextModel.load(model)
    assert flat.shape_weights is None and flat.info["shape"] is False


def test_bad_rows_keep_their_place_with_a_reason(cli, tmp_path):
    inp = tmp_path / "in.csv"
    with open(inp, "wb") as fh:
        fh.write(("text\n" + FRAUD_SMS + "\n" + '""\n').encode())
        fh.write(b"\xff\xfe not utf-8\n")
        fh.write(("x" * 70000 + "\n").encode())
        fh.write((NORMAL_SMS + "\n").encode())
    out = tmp_path / "pred.csv"
    cli("model", "score-texts", "--model", tiny_text_model(), "--in", str(inp), "-o", str(out))
    rows = _read_csv(out)
    assert len(rows) == 5
    assert rows[0]["label"] == "冒充客服服务"
    assert rows[1]["label"] == "" and "no text" in rows[1]["reason"]
    assert rows[2]["label"] == "" and "utf-8" in rows[2]["reason"].lower()
    assert rows[3]["label"] == "" and "longer than" in rows[3]["reason"]
    assert rows[4]["label"] == "0"


def test_jsonl_input_with_broken_lines(cli, tmp_path):
    inp = tmp_path / "in.jsonl"
    with open(inp, "wb") as fh:
        fh.write(json.dumps({"id": 1, "text": FRAUD_SMS}, ensure_ascii=False).encode() + b"\n")
        fh.write(b"{not json\n")
        fh.write(json.dumps({"id": 3}).encode() + b"\n")
        fh.write(json.dumps({"id": 4, "text": NORMAL_SMS}, ensure_ascii=False).encode() + b"\n")
    out = tmp_path / "pred.csv"
    cli("model", "score-texts", "--model", tiny_text_model(), "--in", str(inp), "--id-col", "id",
        "-o", str(out))
    rows = _read_csv(out)
    assert [r["id"] for r in rows] == ["1", "", "3", "4"]
    assert [bool(r["label"]) for r in rows] == [True, False, False, True]
    assert "bad_json" in rows[1]["reason"] and "no text" in rows[2]["reason"]


@pytest.mark.parametrize("args, words", [
    (["score-texts", "--model", "/nonexistent.model", "--in", "x.csv", "-o", "o.csv"],
     "no such model file"),
    (["train-texts", "--train", "/nonexistent.csv", "-o", "m.model"], "no such file"),
    (["train-texts", "--train", "{train}", "--label-col", "nope", "-o", "m.model"],
     "no label column 'nope'"),
    (["train-texts", "--train", "{unmapped}", "-o", "m.model"], "--label-map"),
    (["score-texts", "--model", "{model}", "--in", "{train}", "--text-col", "nope", "-o", "o.csv"],
     "no text column 'nope'"),
])
def test_failures_are_one_line_reasons(cli, tmp_path, args, words):
    train = tmp_path / "train.csv"
    _write_csv(train, ["text", "label"], [("a", "0"), ("b", "1")])
    unmapped = tmp_path / "unmapped.csv"
    _write_csv(unmapped, ["text", "label"], [("a", "spam"), ("b", "ham"), ("c", "spam")])
    subst = {"{train}": str(train), "{unmapped}": str(unmapped), "{model}": tiny_text_model()}
    r = cli("model", *[subst.get(a, a) for a in args], ok=False)
    assert r.exit_code != 0 and words in r.output


def test_the_real_command_line_exits_2_with_one_line(tmp_path):
    r = subprocess.run([*fanzha_cmd(), "model", "score-texts", "--model", str(tmp_path / "no"),
                        "--in", "x.csv", "-o", str(tmp_path / "o.csv")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "no such model file" in r.stderr
