"""Ingest partner files into the event log, with a column map, validation and quarantine.

`ingest()` reads CSV (UTF-8 or GBK/GB18030), JSONL or Parquet; maps the partner's column names
onto fanzha's fields (`--map dst=src`); sets constant fields (`--set source=bank-a`); validates
and normalises every value; stages valid rows and quarantines every rejected one with its file,
line, raw text and reason; and commits all of it as one batch. Counts always add up:
read = accepted + duplicate + quarantined, per file and in total.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from fanzha.errors import FanzhaError
from fanzha.events import KINDS, EventKind, event_ids, kind
from fanzha.ingest.readers import FileError, RawChunk, Rejected, clip, read
from fanzha.ingest.validate import ParseOptions, validate
from fanzha.store import Store
from fanzha.store.tables import QUARANTINE_SCHEMA

__all__ = [
    "FileSummary",
    "IngestOptions",
    "IngestSummary",
    "ParseOptions",
    "Source",
    "infer_kind",
    "ingest",
    "ingest_rows",
]


@dataclass(frozen=True)
class Source:
    path: str
    kind: str
    label: str | None = None  # what reports and quarantine call it (default: the path)
    options: IngestOptions | None = None  # this file's own options (default: the batch's)

    @property
    def name(self) -> str:
        return self.label or self.path


@dataclass(frozen=True)
class IngestOptions:
    column_map: Mapping[str, str] = field(default_factory=dict)  # fanzha field -> partner column
    constants: Mapping[str, str] = field(default_factory=dict)  # fanzha field -> value, all rows
    parse: ParseOptions = field(default_factory=ParseOptions)
    encoding: str | None = None
    delimiter: str | None = None
    chunk_rows: int = 65536


@dataclass
class FileSummary:
    path: str
    kind: str
    read: int = 0
    accepted: int = 0
    duplicate: int = 0
    quarantined: int = 0
    reasons: Counter = field(default_factory=Counter)
    error: str | None = None
    ignored_columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "read": self.read,
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "quarantined": self.quarantined,
            "reasons": dict(sorted(self.reasons.items())),
            "error": self.error,
            "ignored_columns": self.ignored_columns,
        }


@dataclass
class IngestSummary:
    batch_id: int
    files: list[FileSummary]

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    @property
    def reasons(self) -> Counter:
        c: Counter = Counter()
        for f in self.files:
            c.update(f.reasons)
        return c

    @property
    def failed_files(self) -> list[FileSummary]:
        return [f for f in self.files if f.error]

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "read": self.total("read"),
            "accepted": self.total("accepted"),
            "duplicate": self.total("duplicate"),
            "quarantined": self.total("quarantined"),
            "reasons": dict(sorted(self.reasons.items())),
            "failed_files": len(self.failed_files),
            "files": [f.to_dict() for f in self.files],
        }


def infer_kind(path: str) -> str | None:
    """Kind named by a file name: calls.csv, call-2026-03.jsonl, transfers.parquet -> call, ..."""
    stem = os.path.basename(path).lower().split(".")[0]
    for k in sorted(KINDS, key=len, reverse=True):
        for name in (k, k + "s", k + "es"):
            if stem == name or stem.startswith((name + "-", name + "_")):
                return k
    return None


def _resolve_columns(
    k: EventKind, header: list[str], opts: IngestOptions, path: str, strict: bool
) -> tuple[dict[str, str], list[str]]:
    """fanzha name -> input column, and the input columns nobody uses."""
    wanted = ["event_id", "source", *k.field_names]
    for dst in opts.column_map:
        if dst not in wanted:
            raise FileError(
                f"--map {dst}=...: {k.name} has no field {dst!r}; fields: "
                f"{', '.join(k.field_names)}"
            )
    for dst in opts.constants:
        if dst not in wanted:
            raise FileError(f"--set {dst}=...: {k.name} has no field {dst!r}")
    lower = {h.lower(): h for h in header}
    mapping: dict[str, str] = {}
    for name in wanted:
        if name in opts.constants:
            continue
        src = opts.column_map.get(name)
        if src is not None:
            if src not in header:
                raise FileError(
                    f"{path}: --map {name}={src}: the file has no column {src!r}; "
                    f"columns: {', '.join(header[:30])}"
                )
            mapping[name] = src
        elif name in header:
            mapping[name] = name
        elif name.lower() in lower:
            mapping[name] = lower[name.lower()]
    derivable = {t for t, s in k.derive if s in mapping or s in opts.constants}
    missing = [
        f.name
        for f in k.fields
        if f.required
        and f.name not in mapping
        and f.name not in opts.constants
        and f.name not in derivable
    ]
    if missing and strict:
        raise FileError(
            f"{path}: missing required column(s) {', '.join(missing)} for kind {k.name}; the file "
            f"has {', '.join(header[:30]) or 'no columns'}; map them with --map "
            + " ".join(f"{m}=COLUMN" for m in missing)
        )
    used = set(mapping.values())
    return mapping, [h for h in header if h not in used]


def _mapped_table(
    chunk: RawChunk, mapping: dict[str, str], constants: Mapping[str, str]
) -> pa.Table:
    n = chunk.table.num_rows
    cols: dict[str, pa.Array] = {}
    names = set(chunk.table.column_names)
    for dst, src in mapping.items():
        if src in names:
            cols[dst] = chunk.table[src]
    for dst, value in constants.items():
        cols[dst] = pa.array([value] * n, pa.string())
    return pa.table(cols)


def _quarantine_rows(batch_id: int, k: str, path: str, rows: Iterable[Rejected]) -> pa.Table:
    rows = list(rows)
    return pa.table(
        {
            "batch_id": [batch_id] * len(rows),
            "kind": [k] * len(rows),
            "source_file": [path] * len(rows),
            "line": [r.line for r in rows],
            # shown, not parsed: NUL (which PostgreSQL cannot store) is written out as \x00
            "raw": [r.raw.replace("\x00", "\\x00") if r.raw else r.raw for r in rows],
            "reason_code": [r.code for r in rows],
            "reason": [r.reason.replace("\x00", "\\x00") for r in rows],
        },
        schema=QUARANTINE_SCHEMA,
    )


def _ingest_file(
    store: Store,
    batch_id: int,
    index: int,
    src: Source,
    opts: IngestOptions,
    fs: FileSummary,
    progress: Callable[[int, int], None] | None,
) -> None:
    k = kind(src.kind)
    header, chunks = read(
        src.path, encoding=opts.encoding, delimiter=opts.delimiter, chunk_rows=opts.chunk_rows
    )
    strict = not src.path.lower().endswith((".jsonl", ".ndjson", ".json"))
    mapping, fs.ignored_columns = _resolve_columns(k, header, opts, src.path, strict)
    size = os.path.getsize(src.path)
    for chunk in chunks:
        rejected = list(chunk.rejected)
        table = _mapped_table(chunk, mapping, opts.constants)
        n = chunk.table.num_rows
        if n:
            v = validate(k, table, opts.parse, n_rows=n)
            rejected += [
                Rejected(chunk.lines[i], clip(chunk.raw_row(i)), code, reason)
                for i, code, reason in v.errors
            ]
            events = v.events
            has_ids = "event_id" in table.column_names
            ids = None
            if has_ids:
                given = table["event_id"].take(pa.array(v.ok_rows)).to_pylist()
                ids = [g.strip() if isinstance(g, str) and g.strip() else None for g in given]
            computed = event_ids(k, events).to_pylist() if events.num_rows else []
            eid = [g or c for g, c in zip(ids or [None] * len(computed), computed, strict=True)]
            source = (
                table["source"].take(pa.array(v.ok_rows))
                if "source" in table.column_names
                else pa.nulls(events.num_rows, pa.string())
            )
            staged = events.append_column("event_id", pa.array(eid, pa.string())).append_column(
                "source", source.cast(pa.string())
            )
            if staged.num_rows:
                store.stage_events(k.name, staged, index, content_ids=not has_ids)
        if rejected:
            store.stage_quarantine(_quarantine_rows(batch_id, k.name, src.name, rejected))
        fs.read += n + len(chunk.rejected)
        fs.quarantined += len(rejected)
        fs.reasons.update(r.code for r in rejected)
        if progress:
            progress(chunk.bytes_done or size, size)


def ingest(
    store: Store,
    sources: list[Source],
    opts: IngestOptions | None = None,
    progress: Callable[[int, Source, int, int], None] | None = None,
) -> IngestSummary:
    """Ingest files as one batch. A file that cannot be read is reported, the others go in.

    Each file is read with its own `Source.options` if it has them (partners' files differ:
    one bank's column names and yuan, a warehouse's epoch seconds), else with `opts`.
    """
    opts = opts or IngestOptions()
    for s in sources:
        kind(s.kind)  # unknown kind: clear error before anything is read
    batch_id = store.begin_ingest(
        {"files": [s.name for s in sources], "kinds": [s.kind for s in sources]}
    )
    summaries = [FileSummary(s.name, s.kind) for s in sources]
    try:
        for i, (src, fs) in enumerate(zip(sources, summaries, strict=True)):
            cb = (
                (lambda done, total, i=i, src=src: progress(i, src, done, total))
                if progress
                else None
            )
            try:
                _ingest_file(store, batch_id, i, src, src.options or opts, fs, cb)
            except FileError as e:
                fs.error = str(e)
        summary = IngestSummary(batch_id, summaries)
        counts = store.commit_ingest(summary.to_dict())
    except BaseException:
        store.abort_ingest()
        raise
    for i, fs in enumerate(summaries):
        acc, dup = counts.get((fs.kind, i), (0, 0))
        fs.accepted, fs.duplicate = acc, dup
        if fs.read != fs.accepted + fs.duplicate + fs.quarantined:
            raise FanzhaError(
                f"internal error: {fs.path}: read {fs.read} != accepted {acc} + "
                f"duplicate {dup} + quarantined {fs.quarantined}"
            )
    return summary


def ingest_rows(
    store: Store,
    kind_name: str,
    rows: list[Mapping[str, Any]],
    opts: IngestOptions | None = None,
    origin: str = "<rows>",
) -> IngestSummary:
    """Ingest in-memory rows (API requests, `intel add`) through the same validation."""
    import json
    import tempfile

    import orjson

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "rows.jsonl")
        with open(path, "wb") as fh:
            for r in rows:
                try:
                    line = orjson.dumps(r, default=str)
                except TypeError:  # e.g. an integer beyond 64 bits: the reader quarantines it
                    line = json.dumps(r, default=str, ensure_ascii=False).encode()
                fh.write(line + b"\n")
        return ingest(store, [Source(path, kind_name, label=origin)], opts)
