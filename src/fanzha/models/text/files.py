"""Read texts (and labels) from a partner's CSV or JSONL file, keeping every row in order.

A row that cannot be used (broken encoding, bad JSON, no text, a text longer than fanzha accepts)
is kept with its reason, so that scoring writes a line for every input row and training says what
it skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fanzha.errors import FanzhaError
from fanzha.events import TEXT_MAX_LEN
from fanzha.ingest.readers import read

TEXT_COLUMNS = ("text", "content", "input", "body", "message", "sms")
LABEL_COLUMNS = ("label", "labels", "class", "category")


@dataclass
class TextRows:
    """The rows of a file in input order: text (None if unusable), label, id and reason."""

    columns: list[str]
    text_col: str
    lines: list[int] = field(default_factory=list)
    texts: list[str | None] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    ids: list[str | None] = field(default_factory=list)
    reasons: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lines)

    def usable(self) -> list[int]:
        return [i for i, r in enumerate(self.reasons) if r is None]


def _pick(columns: list[str], wanted: str | None, guesses: tuple[str, ...], what: str) -> str:
    if wanted is not None:
        if wanted not in columns:
            raise FanzhaError(f"no {what} column {wanted!r}; the file has {columns}")
        return wanted
    lower = {c.lower(): c for c in columns}
    for g in guesses:
        if g in lower:
            return lower[g]
    raise FanzhaError(
        f"cannot tell which column holds the {what} (tried {', '.join(guesses)}); "
        f"the file has {columns}: name it with --{what}-col"
    )


def read_texts(
    path: str,
    *,
    text_col: str | None = None,
    label_col: str | None = None,
    need_label: bool = False,
    id_col: str | None = None,
    max_len: int = TEXT_MAX_LEN,
) -> TextRows:
    """Every row of a CSV or JSONL file (by extension), in input order."""
    columns, chunks = read(path)
    tcol = _pick(columns, text_col, TEXT_COLUMNS, "text")
    lcol = _pick(columns, label_col, LABEL_COLUMNS, "label") if need_label else None
    if id_col is not None and id_col not in columns:
        raise FanzhaError(f"no id column {id_col!r}; the file has {columns}")
    rows: list[tuple[int, str | None, str | None, str | None, str | None]] = []
    for chunk in chunks:
        names = chunk.table.column_names
        cols = {n: chunk.table.column(n).to_pylist() for n in (tcol, lcol, id_col) if n in names}
        for j, line in enumerate(chunk.lines):
            text = cols[tcol][j] if tcol in cols else None
            label = cols[lcol][j] if lcol in cols else None
            ident = cols[id_col][j] if id_col in cols else None
            reason = None
            if text is None or not text.strip():
                reason = f"no text in column {tcol!r}"
            elif len(text) > max_len:
                reason = f"text longer than {max_len} characters ({len(text)})"
                text = None
            elif lcol is not None and (label is None or not label.strip()):
                reason = f"no label in column {lcol!r}"
            rows.append((line, None if reason else text, label, ident, reason))
        for r in chunk.rejected:
            rows.append((r.line, None, None, None, f"{r.code}: {r.reason}"))
    rows.sort(key=lambda r: r[0])
    out = TextRows(columns, tcol)
    for line, text, label, ident, reason in rows:
        out.lines.append(line)
        out.texts.append(text)
        out.labels.append(label.strip() if label is not None else None)
        out.ids.append(ident)
        out.reasons.append(reason)
    return out
