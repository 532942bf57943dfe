"""The Parquet event lake: the event log as Parquet files partitioned by kind and day, for the tools
that investigate everything at once (Spark, DuckDB, Trino) and as a copy of the log that a new
store can be loaded from.

Layout (hive-style partitions; docs/deployment.md shows how Spark and DuckDB read it):

    LAKE/_fanzha_lake.json                    the log up to seq N is in the lake
    LAKE/kind=<kind>/day=<YYYY-MM-DD>/part-<first>-<last>.parquet

A file holds the events of one kind and one UTC day (of event time `ts`) whose log positions lie in
one export chunk first..last, in seq order, with the kind's Arrow schema (seq, event_id, batch_id,
source and the kind's fields). Files whose names start with '.' or '_' are not data.

Export is incremental by seq: the events after the lake's seq, a chunk at a time; once a chunk's
files are written the manifest moves to the chunk's end. Re-running adds nothing; a crash inside
a chunk leaves files past the manifest's seq, which loaders ignore and the next export deletes.
Load appends the lake's events after the store's log end with their own seq, ids and batch ids
(Store.append_log), one transaction per chunk: into an empty store it reproduces the log.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from fanzha.errors import FanzhaError
from fanzha.events import KINDS
from fanzha.store import Store

MANIFEST = "_fanzha_lake.json"
FORMAT = 1
DEFAULT_CHUNK = 1_000_000  # log positions per export chunk (and per load transaction)
_PART = re.compile(r"kind=([^/]+)/day=(\d{4}-\d{2}-\d{2})/part-(\d+)-(\d+)\.parquet")


@dataclass(frozen=True)
class LakeFile:
    kind: str
    day: str
    first: int
    last: int
    path: str


def open_lake(url: str, *, create: bool = False) -> tuple[pafs.FileSystem, str]:
    """The file system and root path of a lake: a local directory, or an object-store URL that
    pyarrow opens (s3://bucket/path, gs://bucket/path, hdfs://host/path, file:///path)."""
    if "://" in url:
        try:
            fs, root = pafs.FileSystem.from_uri(url)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as e:
            raise FanzhaError(f"{url}: not a location pyarrow can open ({e})") from None
    else:
        fs, root = pafs.LocalFileSystem(), os.path.abspath(url)
    root = root.rstrip("/") or "/"
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.File:
        raise FanzhaError(f"{url}: is a file, not a lake directory")
    if info.type == pafs.FileType.NotFound:
        if not create:
            raise FanzhaError(f"{url}: no such lake")
        fs.create_dir(root, recursive=True)
    return fs, root


def read_manifest(fs: pafs.FileSystem, root: str) -> dict[str, Any] | None:
    path = f"{root}/{MANIFEST}"
    if fs.get_file_info(path).type == pafs.FileType.NotFound:
        return None
    with fs.open_input_stream(path) as f:
        raw = f.read()
    try:
        m = orjson.loads(raw)
        if m["format"] != FORMAT or not isinstance(m["seq"], int):
            raise ValueError(f"format {m['format']!r}")
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise FanzhaError(f"{path}: not a fanzha lake manifest ({e})") from None
    return m


def lake_files(fs: pafs.FileSystem, root: str) -> tuple[list[LakeFile], list[str]]:
    """(the lake's part files, left-over temporary files)."""
    files, junk = [], []
    selector = pafs.FileSelector(root, recursive=True, allow_not_found=True)
    for info in fs.get_file_info(selector):
        if info.type != pafs.FileType.File:
            continue
        rel = info.path[len(root) :].lstrip("/")
        m = _PART.fullmatch(rel)
        if m:
            if m[1] not in KINDS:
                raise FanzhaError(f"{info.path}: unknown event kind {m[1]!r} (a newer fanzha?)")
            files.append(LakeFile(m[1], m[2], int(m[3]), int(m[4]), info.path))
        elif info.base_name.startswith(".part-") and info.base_name.endswith(".tmp"):
            junk.append(info.path)
    return sorted(files, key=lambda f: (f.first, f.kind, f.day)), junk


def _write_atomic(fs: pafs.FileSystem, path: str, write) -> None:
    """Write to a hidden temporary name beside `path`, then move it into place (a rename on a
    local disk; readers never see half a file)."""
    head, _, name = path.rpartition("/")
    tmp = f"{head}/.{name}.tmp"
    write(tmp)
    fs.move(tmp, path)


def _event_id_at(store: Store, seq: int) -> str | None:
    for k in KINDS:
        t = store.read_event_columns(k, ["event_id"], seq - 1, seq)
        if t.num_rows:
            return t["event_id"][0].as_py()
    return None


def export_lake(store: Store, url: str, *, chunk: int = DEFAULT_CHUNK) -> dict[str, Any]:
    """Write the events the lake does not have yet; what was written."""
    if chunk < 1:
        raise FanzhaError("--chunk must be at least 1")
    fs, root = open_lake(url, create=True)
    manifest = read_manifest(fs, root) or {"format": FORMAT, "seq": 0, "events": {}}
    after, top = manifest["seq"], store.max_seq()
    if after > top or (after and manifest.get("last_event_id") != _event_id_at(store, after)):
        raise FanzhaError(
            f"{url} holds another log than this store's (the lake's log ends at {after}, the "
            f"store's at {top}); export into a new lake"
        )
    files, junk = lake_files(fs, root)
    stale = [f.path for f in files if f.last > after] + junk  # left by a crashed export
    for path in stale:
        fs.delete_file(path)
    written: dict[str, int] = defaultdict(int)
    n_files, start = 0, after
    while after < top:
        upto = min(after + chunk, top)
        for k in KINDS:
            t = store.read_events(k, after, upto)
            if not t.num_rows:
                continue
            days = pc.strftime(t["ts"], format="%Y-%m-%d")
            for day in sorted(pc.unique(days).to_pylist()):
                part = t.filter(pc.equal(days, day))
                d = f"{root}/kind={k}/day={day}"
                fs.create_dir(d, recursive=True)
                _write_atomic(
                    fs,
                    f"{d}/part-{after + 1:012d}-{upto:012d}.parquet",
                    lambda p, part=part: pq.write_table(part, p, filesystem=fs, compression="zstd"),
                )
                n_files += 1
            written[k] += t.num_rows
            manifest["events"][k] = manifest["events"].get(k, 0) + t.num_rows
        manifest.update(
            seq=upto,
            last_event_id=_event_id_at(store, upto),
            updated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        body = orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)

        def put(p: str, body: bytes = body) -> None:
            with fs.open_output_stream(p) as f:
                f.write(body)

        _write_atomic(fs, f"{root}/{MANIFEST}", put)
        after = upto
    return {
        "lake": url,
        "from_seq": start,
        "to_seq": after,
        "events": dict(written),
        "files": n_files,
        "removed_leftovers": len(stale),
    }


def _conform(name: str, t: pa.Table, path: str) -> pa.Table:
    """A file's table with its kind's columns: optional fields the file predates are empty; a
    field this fanzha does not know is an error (the lake is from a newer fanzha)."""
    schema = KINDS[name].schema
    unknown = [c for c in t.column_names if c not in schema.names]
    if unknown:
        raise FanzhaError(f"{path}: unknown {name} field(s) {', '.join(unknown)} (a newer fanzha?)")
    for f in schema:
        if f.name not in t.column_names:
            if not f.nullable:
                raise FanzhaError(f"{path}: no column {f.name!r}")
            t = t.append_column(f.name, pa.nulls(t.num_rows, f.type))
    return t.select(schema.names)


def _read(fs: pafs.FileSystem, f: LakeFile) -> pa.Table:
    try:
        with fs.open_input_file(f.path) as fh:
            t = pq.ParquetFile(fh).read()
    except (pa.ArrowInvalid, OSError) as e:
        raise FanzhaError(f"{f.path}: cannot read ({e})") from None
    return _conform(f.kind, t, f.path)


def load_lake(store: Store, url: str) -> dict[str, Any]:
    """Append the lake's events that come after the store's log; what was loaded."""
    fs, root = open_lake(url)
    manifest = read_manifest(fs, root)
    if manifest is None:
        raise FanzhaError(f"{url}: not a fanzha lake (no {MANIFEST})")
    files, _ = lake_files(fs, root)
    chunks: dict[tuple[int, int], list[LakeFile]] = defaultdict(list)
    for f in files:
        if f.last <= manifest["seq"]:  # beyond it: left by a crashed export
            chunks[(f.first, f.last)].append(f)
    top = start = store.max_seq()
    if top:  # the store must hold the same log as the lake, up to its end
        ours = _event_id_at(store, top)
        at = [fs_ for (a, b), fs_ in chunks.items() if a <= top <= b]
        theirs = None
        for f in at[0] if at else []:
            t = _read(fs, f)
            hit = t.filter(pc.equal(t["seq"], top))
            theirs = hit["event_id"][0].as_py() if hit.num_rows else theirs
        if top <= manifest["seq"] and theirs != ours:
            raise FanzhaError(
                f"{url} holds another log than this store's (they differ at seq {top}); "
                "load it into a new database"
            )
    loaded: dict[str, int] = defaultdict(int)
    n_chunks = 0
    for (_, last), group in sorted(chunks.items()):
        if last <= top:
            continue
        by_kind: dict[str, list[pa.Table]] = defaultdict(list)
        for f in group:
            by_kind[f.kind].append(_read(fs, f))
        tables = {}
        for k, parts in by_kind.items():
            t = pa.concat_tables(parts)
            t = t.filter(pc.greater(t["seq"], top)).sort_by("seq")
            tables[k] = t
            loaded[k] += t.num_rows
        store.append_log(tables, {"loaded_from_lake": url, "chunk_last_seq": last})
        top = store.max_seq()
        n_chunks += 1
    return {
        "lake": url,
        "from_seq": start,
        "to_seq": top,
        "events": dict(loaded),
        "chunks": n_chunks,
    }


def kind_files(url: str, kind: str) -> list[LakeFile]:
    """The lake's files of one kind up to its manifest's seq (what `read_kind` and Spark read);
    a clear error when there is no lake, no manifest or no such events."""
    if kind not in KINDS:
        raise FanzhaError(f"unknown event kind {kind!r}")
    fs, root = open_lake(url)
    manifest = read_manifest(fs, root)
    if manifest is None:
        raise FanzhaError(
            f"{url}: not a fanzha lake (no {MANIFEST}; write one with fanzha lake export)"
        )
    files = [f for f in lake_files(fs, root)[0] if f.kind == kind and f.last <= manifest["seq"]]
    if not files:
        raise FanzhaError(f"{url}: the lake holds no {kind} events")
    return files


def has_kind(url: str, kind: str) -> bool:
    """The lake holds events of this kind (other problems, such as no lake, still raise)."""
    try:
        kind_files(url, kind)
    except FanzhaError as e:
        if "holds no" not in str(e):
            raise
        return False
    return True


def read_kind(url: str, kind: str, columns: list[str] | None = None) -> pa.Table:
    """All of the lake's events of one kind, in log order (its kind's schema, or `columns`)."""
    fs, _ = open_lake(url)
    t = pa.concat_tables([_read(fs, f) for f in kind_files(url, kind)]).sort_by("seq")
    return t.select(columns) if columns else t
