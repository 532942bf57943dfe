"""`fanzha mask` and `fanzha mask-text`: contracts, line for line, and bad input."""

from __future__ import annotations

import json
import subprocess
import time

from helpers import fanzha_cmd


def run(
    args: list[str], stdin: bytes = b"", env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*fanzha_cmd(), *args], input=stdin, capture_output=True, timeout=300, env=env
    )


def test_mask_text_is_line_for_line_from_stdin(env):
    text = "收件人欧阳娜娜，电话１３８１２３４５６７８\n\n没有个人信息的一行\n加q:56793.***6\n"
    r = run(["mask-text", "--profile", "waybill", "--ner", "rules"], text.encode(), env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().split("\n") == [
        "收件人欧阳**，电话*******5678",
        "",
        "没有个人信息的一行",
        "加q:56***6",
        "",
    ]


def test_mask_text_bad_bytes_empty_input_and_huge_line(env, tmp_path):
    r = run(["mask-text", "--db", str(tmp_path / "x.duckdb")], b"", env)  # empty input, --db taken
    assert (r.returncode, r.stdout) == (0, b"")
    r = run(["mask-text"], b"\xff\xfe\xc3 13812345678\n", env)  # not UTF-8
    assert r.returncode == 0 and r.stdout.decode() == "\ufffd\ufffd\ufffd 138****5678\n"
    block = "收件人张三丰电话13812345678，" + "普通文字" * 250 + "北京市海淀区学府路5号3单元501室。"
    line = block * (10_100_000 // len(block.encode()))
    big = tmp_path / "big.txt"
    big.write_text(line + "\n第二行\n", encoding="utf-8")
    assert big.stat().st_size > 10_000_000
    t = time.monotonic()
    r = run(["mask-text", str(big), "-o", str(tmp_path / "out.txt")], b"", env)
    elapsed = time.monotonic() - t
    assert r.returncode == 0, r.stderr
    out = (tmp_path / "out.txt").read_text("utf-8").split("\n")
    assert len(out) == 3 and out[1] == "第二行"
    assert "13812345678" not in out[0] and "张三丰" not in out[0] and "501" not in out[0]
    print(f"10 MB line masked in {elapsed:.1f}s")


def test_mask_file_with_a_built_in_policy(tmp_path, env):
    src = tmp_path / "waybills.csv"
    src.write_text(
        "waybill_no,收件人,receiver_phone,receiver_address\n"
        "SF1,欧阳娜娜,13812345678,北京市海淀区中关村南大街5号院3号楼2单元501室\n",
        encoding="utf-8",
    )
    out = tmp_path / "masked.csv"
    r = run(["mask", str(src), "--policy", "waybill", "-o", str(out), "--json"], env=env)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["rows"] == 1 and summary["columns"]["收件人"] == "name"
    assert out.read_text("utf-8").splitlines()[1] == (
        "SF1,欧阳**,*******5678,北京市海淀区中关村南大街5号院3号楼*单元***室"
    )


def test_failures_are_one_line_and_non_zero(tmp_path, cli, monkeypatch):
    src = tmp_path / "w.csv"
    src.write_text("phone\n13812345678\n", encoding="utf-8")
    monkeypatch.delenv("FANZHA_MASK_KEY", raising=False)
    cases = [
        (
            ["mask", str(src), "--policy", "export", "-o", str(tmp_path / "o.csv")],
            "FANZHA_MASK_KEY",
        ),
        (
            ["mask", str(src), "--policy", "nope", "-o", str(tmp_path / "o.csv")],
            "neither a built-in",
        ),
        (
            [
                "mask",
                str(tmp_path / "none.csv"),
                "--policy",
                "display",
                "-o",
                str(tmp_path / "o.csv"),
            ],
            "no such file",
        ),
        (["mask-text", str(tmp_path / "none.txt")], "no such file"),
        (["mask-text", "--ner", "bert"], "--ner must be"),
    ]
    for args, words in cases:
        r = cli(*args, ok=False)  # in-process: a FanzhaError is what main() prints and exits 2 on
        assert r.exit_code == 2 and words in r.output and "\n" not in r.output, (args, r.output)
    r = run(
        ["mask-text", "--profile", "nope"], env={k: v for k, v in __import__("os").environ.items()}
    )
    assert r.returncode == 2 and r.stderr.decode().count("\n") == 1


def test_export_with_a_key_file(tmp_path, env):
    key = tmp_path / "key"
    key.write_text("0123456789abcdef" * 4)
    src = tmp_path / "w.jsonl"
    src.write_text('{"phone": "13812345678", "note": "call 13812345678"}\n', encoding="utf-8")
    out = tmp_path / "o.jsonl"
    r = run(
        ["mask", str(src), "--policy", "export", "-o", str(out), "--key-file", str(key)], env=env
    )
    assert r.returncode == 0, r.stderr
    rec = json.loads(out.read_text())
    assert rec["phone"].startswith("phone#") and rec["note"] == "call [mobile]"
