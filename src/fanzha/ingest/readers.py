"""Read partner files (CSV in UTF-8 or GBK/GB18030, JSONL, Parquet) into chunks of raw rows.

A reader never gives up on a file because one row is bad: a row it cannot read (broken encoding,
NUL bytes, wrong number of fields, bad JSON) becomes a `Rejected` with its line, raw text and
reason, and reading goes on. Only a file that cannot be read at all raises `FileError`.
Values come out as strings (CSV, JSONL) or typed Arrow columns (Parquet); validation is the
validator's job.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from fanzha.errors import FanzhaError

RAW_MAX = 65536  # raw row text kept in quarantine (longer rows are truncated, with a note)
FIELD_LIMIT = 1 << 28  # csv module limit; the validator enforces the real per-field limits


class FileError(FanzhaError):
    """The whole file cannot be ingested (unreadable, empty, no usable header, ...)."""


@dataclass
class Rejected:
    line: int
    raw: str
    code: str
    reason: str


@dataclass
class RawChunk:
    table: pa.Table  # one column per input column; CSV/JSONL: strings
    lines: list[int]  # line (CSV/JSONL) or row number (Parquet) of each row
    raw: list[str] | None  # raw text of each row (None: rebuilt on demand, Parquet)
    rejected: list[Rejected] = field(default_factory=list)
    bytes_done: int = 0

    def raw_row(self, i: int) -> str:
        if self.raw is not None:
            return self.raw[i]
        row = self.table.slice(i, 1).to_pylist()[0]
        return orjson.dumps(row, default=str).decode()


def clip(raw: str) -> str:
    if len(raw) <= RAW_MAX:
        return raw
    return raw[:RAW_MAX] + f"…[truncated: {len(raw)} characters in all]"


def _shown_bytes(b: bytes) -> str:
    return clip(b.decode("utf-8", "backslashreplace").rstrip("\r\n"))


def detect_format(path: str) -> str:
    name = path.lower()
    for suffix in (".gz", ".zst", ".bz2"):
        name = name.removesuffix(suffix)
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    return "csv"


def detect_encoding(sample: bytes) -> str:
    """UTF-8 unless most non-ASCII lines only decode as GB18030; BOMs win.

    Deciding per file from the majority of lines means a UTF-8 file with one broken row stays
    UTF-8 (and that row is quarantined), while a GBK export is read as GB18030.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    utf8 = gb = neither = lines = 0
    for line in sample.split(b"\n")[:-1] or [sample]:
        lines += 1
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8 += 1
            continue
        except UnicodeDecodeError:
            pass
        try:
            line.decode("gb18030")
            gb += 1
        except UnicodeDecodeError:
            neither += 1
    if gb > utf8:
        return "gb18030"
    if utf8 == 0 and gb == 0 and neither * 2 > lines:  # mostly undecodable: some other charset
        from charset_normalizer import from_bytes

        best = from_bytes(sample).best()
        if best is not None and best.encoding:
            return best.encoding
    return "utf-8"


def detect_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", "\t", "|", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read(
    path: str, *, encoding: str | None = None, delimiter: str | None = None, chunk_rows: int = 65536
) -> tuple[list[str], Iterator[RawChunk]]:
    """Open a file; return its column names and an iterator of chunks."""
    if not os.path.exists(path):
        raise FileError(f"{path}: no such file")
    if os.path.isdir(path):
        raise FileError(f"{path}: is a directory")
    if os.path.getsize(path) == 0:
        raise FileError(f"{path}: file is empty (0 bytes)")
    fmt = detect_format(path)
    if fmt == "parquet":
        return _read_parquet(path, chunk_rows)
    if fmt == "jsonl":
        return _read_jsonl(path, chunk_rows)
    return _read_csv(path, encoding, delimiter, chunk_rows)


def _columns_table(names: list[str], columns: list[list[str | None]]) -> pa.Table:
    return pa.table({n: pa.array(c, type=pa.string()) for n, c in zip(names, columns, strict=True)})


def _read_csv(
    path: str, encoding: str | None, delimiter: str | None, chunk_rows: int
) -> tuple[list[str], Iterator[RawChunk]]:
    csv.field_size_limit(FIELD_LIMIT)
    fh = open(path, "rb")  # noqa: SIM115 - closed by the generator below
    sample = fh.read(1 << 20)
    fh.seek(0)
    enc = encoding or detect_encoding(sample)
    if enc == "utf-16":  # rare; no per-line recovery: transcode as a whole
        text = fh.read().decode("utf-16", "replace")
        fh.close()
        fh = io.BytesIO(text.encode("utf-8"))
        enc = "utf-8"
    if enc == "utf-8-sig":
        fh.read(3)
        enc = "utf-8"
    state = {"line": 0, "bad": set(), "nul": set()}

    def lines() -> Iterator[str]:
        for b in fh:
            state["line"] += 1
            if b"\x00" in b:
                state["nul"].add(state["line"])
            try:
                yield b.decode(enc)
            except UnicodeDecodeError as e:
                state["bad"].add((state["line"], e.start, b))
                yield b.decode(enc, "replace")

    line_iter = lines()
    reader = None
    header: list[str] | None = None
    raw_lines: list[str] = []

    def raw_lines_feed() -> Iterator[str]:
        for s in line_iter:
            raw_lines.append(s)
            yield s

    feed = raw_lines_feed()
    first = None
    for first in feed:
        if first.strip():
            break
    if first is None or not first.strip():
        fh.close()
        raise FileError(f"{path}: no header line")
    delim = delimiter or detect_delimiter(first)
    header = next(csv.reader([first], delimiter=delim))
    header = [h.strip().lstrip("\ufeff") for h in header]
    if state["bad"]:
        fh.close()
        raise FileError(f"{path}: header line is not valid {enc}")
    if any(not h for h in header):
        fh.close()
        raise FileError(f"{path}: header has an empty column name: {first.strip()[:200]!r}")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        fh.close()
        raise FileError(f"{path}: header repeats column(s) {', '.join(dup)}")
    raw_lines.clear()
    reader = csv.reader(feed, delimiter=delim, strict=False)
    n = len(header)

    def chunks() -> Iterator[RawChunk]:
        cols: list[list[str | None]] = [[] for _ in range(n)]
        row_lines: list[int] = []
        raws: list[str] = []
        rejected: list[Rejected] = []
        prev_end = state["line"]  # the header and any blank lines before it
        try:
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as e:
                    start = prev_end + 1
                    raw = clip("".join(raw_lines))
                    raw_lines.clear()
                    prev_end = state["line"]
                    rejected.append(Rejected(start, raw, "bad_csv", f"cannot parse CSV row: {e}"))
                    continue
                start, end = prev_end + 1, state["line"]
                prev_end = end
                raw = "".join(raw_lines).rstrip("\r\n")
                raw_lines.clear()
                if not row or (len(row) == 1 and not row[0].strip() and n > 1):
                    continue  # blank line
                bad = [b for b in state["bad"] if start <= b[0] <= end]
                if bad:
                    ln, pos, b = bad[0]
                    for x in bad:
                        state["bad"].discard(x)
                    rejected.append(
                        Rejected(
                            start,
                            _shown_bytes(b),
                            "bad_encoding",
                            f"line {ln} is not valid {enc} (byte {pos})",
                        )
                    )
                    continue
                if any(start <= x <= end for x in state["nul"]):
                    rejected.append(
                        Rejected(
                            start,
                            clip(raw.replace("\x00", "\\x00")),
                            "nul_byte",
                            "row contains NUL bytes",
                        )
                    )
                    continue
                if len(row) != n:
                    rejected.append(
                        Rejected(
                            start,
                            clip(raw),
                            "wrong_field_count",
                            f"{len(row)} fields, the header has {n}",
                        )
                    )
                    continue
                for j, v in enumerate(row):
                    cols[j].append(v)
                row_lines.append(start)
                raws.append(raw)
                if len(row_lines) >= chunk_rows:
                    yield RawChunk(
                        _columns_table(header, cols), row_lines, raws, rejected, fh.tell()
                    )
                    cols = [[] for _ in range(n)]
                    row_lines, raws, rejected = [], [], []
            if row_lines or rejected:
                yield RawChunk(_columns_table(header, cols), row_lines, raws, rejected, fh.tell())
        finally:
            fh.close()

    return header, chunks()


def _scalar(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, int | float):
        return repr(v)
    return orjson.dumps(v).decode()


def _read_jsonl(path: str, chunk_rows: int) -> tuple[list[str], Iterator[RawChunk]]:
    fh = open(path, "rb")  # noqa: SIM115 - closed by the generator below
    names: list[str] = []
    # Columns are the union of keys; read a first sample to fix the order of the common ones.
    for b in fh.read(1 << 20).split(b"\n")[:1000]:
        try:
            obj = orjson.loads(b)
        except orjson.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            names.extend(k for k in obj if k not in names)
    fh.seek(0)

    def chunks() -> Iterator[RawChunk]:
        rows: list[dict] = []
        lines: list[int] = []
        raws: list[str] = []
        rejected: list[Rejected] = []
        try:
            for i, b in enumerate(fh, start=1):
                if not b.strip():
                    continue
                if b"\x00" in b:
                    rejected.append(
                        Rejected(
                            i,
                            _shown_bytes(b.replace(b"\x00", b"\\x00")),
                            "nul_byte",
                            "row contains NUL bytes",
                        )
                    )
                    continue
                try:
                    text = b.decode("utf-8")
                except UnicodeDecodeError as e:
                    rejected.append(
                        Rejected(
                            i,
                            _shown_bytes(b),
                            "bad_encoding",
                            f"line is not valid UTF-8 (byte {e.start})",
                        )
                    )
                    continue
                try:
                    obj = orjson.loads(text)
                except orjson.JSONDecodeError as e:
                    rejected.append(Rejected(i, clip(text.rstrip()), "bad_json", str(e)))
                    continue
                if not isinstance(obj, dict):
                    rejected.append(
                        Rejected(
                            i,
                            clip(text.rstrip()),
                            "bad_json",
                            f"expected an object, got {type(obj).__name__}",
                        )
                    )
                    continue
                for k in obj:
                    if k not in names:
                        names.append(k)
                rows.append(obj)
                lines.append(i)
                raws.append(text.rstrip("\r\n"))
                if len(rows) >= chunk_rows:
                    yield _json_chunk(names, rows, lines, raws, rejected, fh.tell())
                    rows, lines, raws, rejected = [], [], [], []
            if rows or rejected:
                yield _json_chunk(names, rows, lines, raws, rejected, fh.tell())
        finally:
            fh.close()

    return names, chunks()


def _json_chunk(
    names: list[str],
    rows: list[dict],
    lines: list[int],
    raws: list[str],
    rejected: list[Rejected],
    pos: int,
) -> RawChunk:
    cols = [[_scalar(r.get(n)) for r in rows] for n in names]
    return RawChunk(_columns_table(names, cols), lines, raws, rejected, pos)


def _read_parquet(path: str, chunk_rows: int) -> tuple[list[str], Iterator[RawChunk]]:
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise FileError(f"{path}: not a readable Parquet file ({e})") from None
    names = pf.schema_arrow.names

    def chunks() -> Iterator[RawChunk]:
        row = 0
        for rb in pf.iter_batches(batch_size=chunk_rows):
            t = pa.Table.from_batches([rb])
            lines = list(range(row + 1, row + t.num_rows + 1))
            row += t.num_rows
            yield RawChunk(t, lines, None, [], 0)

    return names, chunks()
