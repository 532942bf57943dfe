"""Apply a policy to free text, to one record, to an Arrow table, and to files (streaming).

The console and the API call `mask_text`, `mask_record` and `mask_table` with the policy of the
viewer's role; `fanzha mask` and `fanzha mask-text` call `mask_file` and `mask_lines`.
Typed columns are masked value by value with the same operators as findings in free text; values
repeated within a batch are masked once. Columns of free text are scanned.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fanzha.errors import FanzhaError
from fanzha.privacy import columns
from fanzha.privacy.detect import Scanner
from fanzha.privacy.findings import Finding
from fanzha.privacy.keyed import Keys
from fanzha.privacy.policy import Operator, Policy, load_policy, operator


class Masker:
    """A policy bound to its key: operators built once, scanners compiled once."""

    def __init__(self, policy: Policy | str, keys: Keys | None = None):
        self.policy = load_policy(policy) if isinstance(policy, str) else policy
        self.keys = keys
        self._ops: dict[tuple[str, bool], Operator] = {}
        self.scanner = Scanner(ner=self.policy.text_ner)  # type: ignore[arg-type]
        if keys is None:  # fail now, with the reason, rather than at the first keyed value
            for spec in self.policy.specs():
                operator(spec, None, self.policy.name)

    def op(self, type_: str, in_text: bool = False) -> Operator:
        k = (type_, in_text)
        f = self._ops.get(k)
        if f is None:
            f = self._ops[k] = operator(
                self.policy.spec_for(type_, in_text), self.keys, self.policy.name
            )
        return f

    # --- free text ----------------------------------------------------------------------------

    def mask_text(self, text: str) -> str:
        return self.mask_texts([text])[0]

    def mask_texts(self, texts: list[str]) -> list[str]:
        """Every finding of each text replaced by its operator's output (NER batched)."""
        return [
            apply(t, f, self) for t, f in zip(texts, self.scanner.scan_many(texts), strict=True)
        ]

    # --- records and tables -------------------------------------------------------------------

    def mask_value(self, kind: str, value: Any, column_op: Operator | None = None) -> Any:
        if value is None or kind == "keep":
            return value
        if kind == "drop":
            return None
        if not isinstance(value, str):
            if isinstance(value, bool | int | float) and kind == "text":
                return value  # numbers in a free-text column carry no text to scan
            value = str(value) if not isinstance(value, bytes) else value.decode("utf-8", "replace")
        if kind == "text":
            return self.mask_text(value)
        if not value.strip():
            return value
        return (column_op or self.op(kind))(kind, value)

    def column_plan(self, columns: Iterable[str]) -> dict[str, tuple[str, Operator | None]]:
        plan = {}
        for c in columns:
            col = self.policy.column_kind(c)
            op = operator(col.op, self.keys, self.policy.name) if col.op else None
            plan[c] = (col.kind, op)
        return plan

    def mask_record(self, record: dict[str, Any]) -> dict[str, Any]:
        return self.mask_records([record])[0]

    def mask_records(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Records (JSON objects) masked column by column; other values keep their JSON types."""
        names: dict[str, None] = {}
        for r in records:
            names.update(dict.fromkeys(r))
        plan = self.column_plan(names)
        out = [dict(r) for r in records]
        for name in names:
            kind, op = plan[name]
            if kind == "keep":
                continue
            rows = [i for i, r in enumerate(records) if name in r]
            masked = self.mask_column(kind, op, [records[i][name] for i in rows])
            for i, m in zip(rows, masked, strict=True):
                out[i][name] = m
        return out

    def mask_table(self, table: pa.Table) -> pa.Table:
        """An Arrow table masked column by column. Masked columns become strings; kept and
        free-text columns of other types are left as they are."""
        plan = self.column_plan(table.column_names)
        cols: list[pa.Array | pa.ChunkedArray] = []
        for name in table.column_names:
            kind, op = plan[name]
            col = table.column(name)
            if kind == "keep" or (kind == "text" and not _is_text(col.type)):
                cols.append(col)
                continue
            if kind == "drop":
                cols.append(pa.nulls(len(col), pa.string()))
                continue
            cols.append(self._mask_arrow(kind, op, col))
        return pa.table(cols, names=table.column_names)

    def _mask_arrow(self, kind: str, op: Operator | None, col: pa.ChunkedArray) -> pa.Array:
        """A typed column: the Polars fast path where it applies, per value for the rest."""
        spec = self.policy.spec_for(kind) if op is None else None
        if (
            spec is not None
            and spec.op == "mask"
            and kind in columns.FAST_TYPES
            and _is_text(col.type)
        ):
            fast = columns.mask_column(kind, spec.options.get("profile", "display"), col)
            todo = pc.and_(pc.is_null(fast), pc.is_valid(col))
            if not pc.any(todo).as_py():
                return fast
            idx = pc.indices_nonzero(todo)
            slow = self.mask_column(kind, op, col.take(idx).to_pylist())
            out = fast.to_pylist()
            for i, m in zip(idx.to_pylist(), slow, strict=True):
                out[i] = m
            return pa.array(out, type=pa.string())
        return pa.array(self.mask_column(kind, op, col.to_pylist()), type=pa.string())

    def mask_column(self, kind: str, op: Operator | None, values: list[Any]) -> list[Any]:
        """One column's values: free text scanned in one batch, typed values masked once each."""
        if kind == "keep":
            return values
        if kind == "text":
            values = list(values)
            idx = [i for i, v in enumerate(values) if isinstance(v, str) and v]
            for i, m in zip(idx, self.mask_texts([values[i] for i in idx]), strict=True):
                values[i] = m
            for i, v in enumerate(values):
                if isinstance(v, dict | list):
                    values[i] = self._mask_nested(v)
            return values
        memo: dict[Any, Any] = {}
        out = []
        for v in values:
            try:
                m = memo[v]
            except KeyError:
                m = memo[v] = self.mask_value(kind, v, op)
            except TypeError:  # unhashable (a JSON list or object): mask its text form
                m = self.mask_value(kind, orjson.dumps(v).decode(), op)
            out.append(m)
        return out

    def _mask_nested(self, v: Any) -> Any:
        """Strings inside JSON objects and lists of a free-text column are scanned too."""
        if isinstance(v, str):
            return self.mask_text(v)
        if isinstance(v, dict):
            return {k: self._mask_nested(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self._mask_nested(x) for x in v]
        return v


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def apply(text: str, findings: list[Finding], masker: Masker) -> str:
    """The text with each finding replaced (findings are in order and do not overlap)."""
    if not findings:
        return text
    parts = []
    pos = 0
    for f in findings:
        parts.append(text[pos : f.start])
        value = f.value if f.value is not None and f.type not in ("plate", "email") else f.text
        out = masker.op(f.type, in_text=True)(f.type, value)
        parts.append("" if out is None else out)
        pos = f.end
    parts.append(text[pos:])
    return "".join(parts)


# --- files -------------------------------------------------------------------------------------

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


@dataclass
class MaskSummary:
    path: str
    out: str
    format: str
    rows: int = 0
    rejected: int = 0
    rejected_path: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # column -> kind it was masked as
    reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def file_format(path: str) -> str:
    name = path.lower()
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    raise FanzhaError(f"{path}: cannot tell the format from the name (.csv, .jsonl or .parquet)")


def mask_file(
    src: str,
    dst: str,
    masker: Masker,
    *,
    progress: Progress | None = None,
    chunk_rows: int = 20_000,
) -> MaskSummary:
    """Mask a CSV, JSONL or Parquet file into `dst` (same format), streaming in chunks.

    Rows that cannot be read are not copied: each goes to `dst + '.rejected.jsonl'` with its line
    and reason, its raw text masked as free text, so nothing is lost and nothing leaks.
    """
    fmt = file_format(src)
    out_fmt = file_format(dst)
    if fmt != out_fmt:
        raise FanzhaError(f"{dst}: output must have the input's format ({fmt})")
    if os.path.abspath(src) == os.path.abspath(dst):
        raise FanzhaError(f"{dst}: output would overwrite the input")
    if not os.path.isfile(src):
        raise FanzhaError(f"{src}: no such file")
    total = os.path.getsize(src)
    summary = MaskSummary(src, dst, fmt)
    rejects = _Rejects(dst + ".rejected.jsonl", masker, summary)
    tick = progress or (lambda done, all_: None)
    try:
        if fmt == "csv":
            _mask_csv(src, dst, masker, summary, rejects, tick, total, chunk_rows)
        elif fmt == "jsonl":
            _mask_jsonl(src, dst, masker, summary, rejects, tick, total, chunk_rows)
        else:
            _mask_parquet(src, dst, masker, summary, tick, total, chunk_rows)
    finally:
        rejects.close()
    tick(total, total)
    return summary


class _Rejects:
    def __init__(self, path: str, masker: Masker, summary: MaskSummary):
        self.path, self.masker, self.summary, self.fh = path, masker, summary, None

    def add(self, line: int, code: str, reason: str, raw: str) -> None:
        if self.fh is None:
            self.fh = open(self.path, "wb")  # noqa: SIM115 - closed in close()
            self.summary.rejected_path = self.path
        rec = {"line": line, "code": code, "reason": reason, "raw": self.masker.mask_text(raw)}
        self.fh.write(orjson.dumps(rec) + b"\n")
        self.summary.rejected += 1
        self.summary.reasons[code] = self.summary.reasons.get(code, 0) + 1

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()


def _mask_csv(src, dst, masker, summary, rejects, tick, total, chunk_rows) -> None:
    from fanzha.ingest.readers import FileError, read

    try:
        header, chunks = read(src, chunk_rows=chunk_rows)
    except FileError as e:
        raise FanzhaError(str(e)) from None
    summary.columns = {c: k for c, (k, _) in masker.column_plan(header).items()}
    with open(dst, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for chunk in chunks:
            for r in chunk.rejected:
                rejects.add(r.line, r.code, r.reason, r.raw)
            if chunk.table.num_rows:
                t = masker.mask_table(chunk.table)
                w.writerows(zip(*(t.column(i).to_pylist() for i in range(t.num_columns)), strict=True))
                summary.rows += chunk.table.num_rows
            tick(chunk.bytes_done, total)


def _mask_jsonl(src, dst, masker, summary, rejects, tick, total, chunk_rows) -> None:
    with open(src, "rb") as fh, open(dst, "wb") as out:
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            for rec in masker.mask_records(batch):
                out.write(orjson.dumps(rec) + b"\n")
            for rec in batch:
                for c in rec:
                    summary.columns.setdefault(c, masker.policy.column_kind(c).kind)
            summary.rows += len(batch)
            batch.clear()
            tick(fh.tell(), total)

        for i, b in enumerate(fh, start=1):
            if not b.strip():
                continue
            try:
                text = b.decode("utf-8")
            except UnicodeDecodeError as e:
                raw = b.decode("utf-8", "replace")
                rejects.add(i, "bad_encoding", f"line is not valid UTF-8 (byte {e.start})", raw)
                continue
            try:
                obj = orjson.loads(text)
            except orjson.JSONDecodeError as e:
                rejects.add(i, "bad_json", str(e), text.rstrip("\r\n"))
                continue
            if not isinstance(obj, dict):
                rejects.add(i, "bad_json", f"expected an object, got {type(obj).__name__}", text)
                continue
            batch.append(obj)
            if len(batch) >= chunk_rows:
                flush()
        if batch:
            flush()


def _mask_parquet(src, dst, masker, summary, tick, total, chunk_rows) -> None:
    try:
        pf = pq.ParquetFile(src)
    except (pa.ArrowInvalid, OSError) as e:
        raise FanzhaError(f"{src}: not a readable Parquet file ({e})") from None
    summary.columns = {c: k for c, (k, _) in masker.column_plan(pf.schema_arrow.names).items()}
    writer = None
    done = 0
    try:
        for rb in pf.iter_batches(batch_size=chunk_rows):
            t = masker.mask_table(pa.Table.from_batches([rb]))
            if writer is None:
                writer = pq.ParquetWriter(dst, t.schema)
            writer.write_table(t.cast(writer.schema))
            summary.rows += t.num_rows
            done += rb.nbytes
            tick(min(done, total), total)
        if writer is None:  # no rows: still write the (masked) schema
            empty = masker.mask_table(pf.schema_arrow.empty_table())
            writer = pq.ParquetWriter(dst, empty.schema)
    finally:
        if writer is not None:
            writer.close()


def mask_lines(lines: Iterable[bytes], masker: Masker, batch: int = 256) -> Iterator[str]:
    """Free text line for line (`fanzha mask-text`): one output line per input line, always.

    A line that is not UTF-8 is decoded with replacement characters (U+FFFD) and masked like any
    other; the caller is told nothing is lost because the line count never changes.
    """
    buf: list[str] = []
    for b in lines:
        text = b.decode("utf-8", "replace") if isinstance(b, bytes) else b
        buf.append(text.rstrip("\r\n"))
        if len(buf) >= batch:
            yield from masker.mask_texts(buf)
            buf = []
    if buf:
        yield from masker.mask_texts(buf)
