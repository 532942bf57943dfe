"""Events in: partners send their own events (a JSON batch or a file), with the same validation and
quarantine as `fanzha ingest`; the response is the summary `fanzha ingest --json` prints."""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from fanzha.api.access import CARD_TYPE, INGEST_KINDS, REPORTER_KIND, Principal
from fanzha.api.deps import Db, allow, get_db, principal
from fanzha.api.models import EventBatch, EventKindName, IngestOptions, IngestSummary, KindInfo
from fanzha.api.models import kind_info as _kind_info
from fanzha.api.views import View, view
from fanzha.events import KINDS, json_schema
from fanzha.events import kind as event_kind
from fanzha.ingest import IngestOptions as Options
from fanzha.ingest import ParseOptions, Source, ingest, ingest_rows

router = APIRouter(tags=["events"])
SENDERS = tuple(r for r, kinds in INGEST_KINDS.items() if kinds)
FORMATS = {"csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl", "parquet": ".parquet"}
_SUFFIX = re.compile(r"\.(csv|tsv|txt|jsonl|ndjson|json|parquet|pq)(\.(gz|zst|bz2))?$", re.I)


def _may_send(p: Principal, kind: str) -> None:
    if kind not in INGEST_KINDS.get(p.role, ()):
        raise HTTPException(403, f"the {p.role} role may not send {kind} events")


def _options(p: Principal, kind: str, o: IngestOptions, **read: str | None) -> Options:
    """The caller's options; a partner's events always carry its own name as source, and a
    partner's reports and cards speak only for itself."""
    constants: dict[str, str] = {}
    if p.role != "analyst":
        constants["source"] = p.org
        if kind == "report" and REPORTER_KIND.get(p.role):
            constants["reporter_kind"] = REPORTER_KIND[p.role]  # type: ignore[assignment]
        if kind == "card" and p.role in CARD_TYPE:
            constants["card_type"] = CARD_TYPE[p.role]
        if set(o.column_map) & set(constants):
            raise HTTPException(403, f"{', '.join(constants)} are set from your key")
    return Options(
        column_map=o.column_map,
        constants=constants,
        parse=ParseOptions(
            tz=o.tz,
            epoch=o.epoch,
            time_unit=o.time_unit,
            money_unit=o.money_unit,
            max_future=dt.timedelta(hours=o.max_future_hours),
        ),
        encoding=read.get("encoding"),
        delimiter=read.get("delimiter"),
    )


UNREADABLE = {400: {"model": IngestSummary, "description": "Nothing could be read (see error)"}}


def _answer(summary) -> JSONResponse | dict:
    d = summary.to_dict()
    if summary.failed_files:  # e.g. a file without a required column: nothing of it went in
        return JSONResponse(IngestSummary(**d).model_dump(mode="json"), status_code=400)
    return d


@router.post(
    "/events/{kind}",
    response_model=IngestSummary,
    summary="Send a batch of events",
    **allow(*SENDERS, responses=UNREADABLE),
)
def send_events(
    kind: EventKindName,
    batch: EventBatch,
    p: Principal = Depends(principal),
    db: Db = Depends(get_db),
):
    """Validate the events, quarantine bad rows with their reason, append the others to the log
    (an event sent twice is a duplicate, not a second event). Banks send transfers, cards and
    reports; operators calls, SMS, visits, cards and reports; platforms registrations, logins,
    orders, apps and reports; warehouses access logs, rosters and orders; police cases and
    reports; the centre any kind. A partner's events carry its organisation as `source`."""
    k = kind.value
    _may_send(p, k)
    opts = _options(p, k, batch.options)
    with db() as s:
        summary = ingest_rows(s, k, batch.events, opts, origin=f"api:{p.org}")
    return _answer(summary)


@router.post(
    "/events/{kind}/file",
    response_model=IngestSummary,
    summary="Send a file of events (CSV, JSONL or Parquet)",
    **allow(*SENDERS, responses=UNREADABLE),
)
def send_file(
    request: Request,
    kind: EventKindName,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GBK/GB18030), JSONL or Parquet")],
    format: Annotated[
        str | None, Form(description="csv, tsv, jsonl or parquet (default: the file name's)")
    ] = None,
    column_map: Annotated[
        str | None, Form(description="fanzha field=your column,... (as --map)", max_length=4000)
    ] = None,
    tz: Annotated[str, Form(max_length=64)] = "Asia/Shanghai",
    money_unit: Annotated[str, Form(max_length=8)] = "fen",
    time_unit: Annotated[str | None, Form(max_length=8)] = None,
    encoding: Annotated[str | None, Form(max_length=32)] = None,
    delimiter: Annotated[str | None, Form(max_length=1)] = None,
    p: Principal = Depends(principal),
    db: Db = Depends(get_db),
):
    """The same as a batch, for a partner's file as it is: its columns mapped with
    `column_map`, its encoding and delimiter detected."""
    k = kind.value
    _may_send(p, k)
    name = os.path.basename(file.filename or "upload")[:200] or "upload"
    if format is not None:
        if format not in FORMATS:
            raise HTTPException(400, f"format must be one of {', '.join(FORMATS)}")
        suffix = FORMATS[format]
    elif m := _SUFFIX.search(name):
        suffix = m.group(0).lower()
    else:
        raise HTTPException(400, "cannot tell the file's format from its name: give format")
    mapping: dict[str, str] = {}
    for item in (column_map or "").split(","):
        if item.strip():
            dst, sep, src = item.partition("=")
            if not sep or not dst.strip():
                raise HTTPException(400, f"column_map expects field=column, got {item!r}")
            mapping[dst.strip()] = src.strip()
    try:
        o = IngestOptions(tz=tz, money_unit=money_unit, time_unit=time_unit, column_map=mapping)
    except ValidationError as e:
        why = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
        raise HTTPException(422, why) from None
    opts = _options(p, k, o, encoding=encoding, delimiter=delimiter)
    limit = request.app.state.settings.upload_limit_bytes
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "upload" + suffix)
        with open(path, "wb") as out:
            copied = 0
            while chunk := file.file.read(1 << 20):
                copied += len(chunk)
                if copied > limit:
                    raise HTTPException(413, f"the file is larger than {limit} bytes")
                out.write(chunk)
        with db() as s:
            summary = ingest(s, [Source(path, k, label=f"api:{p.org}:{name}")], opts)
    return _answer(summary)


@router.get("/kinds", response_model=list[KindInfo], summary="Event kinds", **allow(*SENDERS))
def kinds() -> list[KindInfo]:
    return [_kind_info(k) for k in KINDS]


@router.get("/kinds/{kind}/schema", summary="JSON Schema of an event kind", **allow(*SENDERS))
def kind_schema(kind: EventKindName) -> dict:
    return json_schema(event_kind(kind.value))


@router.get(
    "/quarantine",
    summary="Rejected rows with their reason",
    **allow("analyst"),
)
def quarantine(batch_id: int | None = None, v: View = Depends(view)) -> list[dict]:
    """Rows ingest rejected (file, line, raw text, reason); raw text is masked unless unmasked."""
    with v.db() as s:
        rows = s.quarantine(batch_id).to_pylist()
    return v.show(rows, f"quarantine:{batch_id if batch_id is not None else 'all'}")
