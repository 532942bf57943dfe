"""Must-show measurements on third-party data (read from ../shared/data, never copied).

people_zh.json: 487 synthetic people with a paragraph each. After masking the paragraph, no ID
number, phone or e-mail may survive (verbatim, or with separators removed); name and address leak
rates are printed and must be <= 2%. A value leaks if it appears verbatim after masking.
cluener_train.jsonl: name and address recall and precision are printed, on the first 2,000
sentences (the LAC model reads ~30,000 chars/s; the whole file takes ~15 s, see bench/privacy.py).
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from fanzha.privacy import Masker, Scanner, load_policy
from fanzha.privacy.normalize import strip_separators
from helpers import SHARED_DATA

PEOPLE = SHARED_DATA / "pii" / "people_zh.json"
CLUENER = SHARED_DATA / "pii" / "cluener_train.jsonl"
CLUENER_SENTENCES = 2000

pytestmark = pytest.mark.skipif(not PEOPLE.exists(), reason="../shared/data/pii not present")


def leaks(policy: str, ner: str) -> dict[str, float]:
    people = json.loads(PEOPLE.read_text("utf-8"))
    masker = Masker(replace(load_policy(policy), text_ner=ner))
    masked = masker.mask_texts([p["naturalParagraph"] for p in people])
    fields = {
        "resident_id": "idCardNumbers",
        "phone": "phoneNumbers",
        "email": "emailAddress",
        "name": "name",
        "address": "location",
    }
    counts = dict.fromkeys(fields, 0)
    for p, out in zip(people, masked, strict=True):
        flat = strip_separators(out)
        for k, f in fields.items():
            v = str(p[f])
            if v in p["naturalParagraph"] and (v in out or strip_separators(v) in flat):
                counts[k] += 1
    rates = {k: n / len(people) for k, n in counts.items()}
    print(f"people_zh {policy}/{ner}: {len(people)} paragraphs, leak rates {rates}")
    return rates


@pytest.mark.parametrize("policy", ["display", "waybill"])
@pytest.mark.parametrize("ner", ["lac", "rules"])
def test_people_zh_nothing_identifying_survives(policy, ner):
    rates = leaks(policy, ner)
    assert rates["resident_id"] == rates["phone"] == rates["email"] == 0
    assert rates["name"] <= 0.02
    assert rates["address"] <= 0.02


def cluener_scores(ner: str) -> dict[str, dict[str, float]]:
    with CLUENER.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for _, line in zip(range(CLUENER_SENTENCES), fh, strict=False)]
    scanner = Scanner(types=frozenset({"name", "address"}), ner=ner)  # type: ignore[arg-type]
    found = scanner.scan_many([r["text"] for r in rows])
    out = {}
    for typ in ("name", "address"):
        gold = hit = exact = pred = correct = 0
        for r, fs in zip(rows, found, strict=True):
            g = [(s, e + 1) for spans in r["label"].get(typ, {}).values() for s, e in spans]
            p = [(f.start, f.end) for f in fs if f.type == typ]
            gold += len(g)
            pred += len(p)
            hit += sum(any(a < pe and ps < b for ps, pe in p) for a, b in g)
            exact += sum((a, b) in p for a, b in g)
            correct += sum(any(a < pe and ps < b for a, b in g) for ps, pe in p)
        out[typ] = {
            "recall": hit / gold,
            "recall_exact": exact / gold,
            "precision": correct / pred if pred else 0.0,
        }
    print(f"CLUENER first {len(rows)} sentences, ner={ner}: {out}")
    return out


@pytest.mark.skipif(not CLUENER.exists(), reason="../shared/data/pii not present")
def test_cluener_name_and_address_recall_and_precision():
    model = cluener_scores("lac")
    rules = cluener_scores("rules")
    # Regression floors below the measured figures (lac: name recall 0.85, address 0.83).
    assert model["name"]["recall"] >= 0.8 and model["name"]["precision"] >= 0.55
    assert model["address"]["recall"] >= 0.75 and model["address"]["precision"] >= 0.3
    assert model["name"]["recall"] > rules["name"]["recall"]
