"""Personal data in responses: masked by role, unmasked only with a reason, always audited.

Every response that carries personal data goes through a `View`. By default the data is masked
with the API's view policy (`view.yaml`: fanzha.privacy's display masks over the API's field
names). The centre's analysts and police may ask for it unmasked (`?unmask=true&reason=...`);
the reason is required, and the view is written to the hash-chained audit log with who, what, why
and when. Exports always need a reason and are always audited, masked or not.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import Response

from fanzha.api.access import PARTNERS, UNMASK, Principal
from fanzha.api.deps import Db, get_db, principal
from fanzha.linkage import queue_list_entries
from fanzha.privacy import Masker
from fanzha.store import Store

POLICY = str(Path(__file__).with_name("view.yaml"))


@functools.cache
def masker() -> Masker:
    return Masker(POLICY)


def mask(obj: Any, keep: tuple[str, ...] = ()) -> Any:
    """Records, lists of records and nested records (a saved trace) masked field by field;
    fields named in `keep` are left as they are."""
    if isinstance(obj, dict):
        return _mask_rows([obj], keep)[0]
    if isinstance(obj, list):
        if all(isinstance(x, dict) for x in obj):
            return _mask_rows(obj, keep)
        return masker().mask_column("text", None, obj)
    return obj


def _nested(v: Any) -> bool:
    return isinstance(v, dict | list)


def _mask_rows(rows: list[dict[str, Any]], keep: tuple[str, ...]) -> list[dict[str, Any]]:
    m = masker()
    flat = [{k: v for k, v in r.items() if not _nested(v) and k not in keep} for r in rows]
    out = []
    for r, f in zip(rows, m.mask_records(flat), strict=True):
        o = dict(r)
        o.update(f)
        for k, v in r.items():
            if k in keep or not _nested(v):
                continue
            if isinstance(v, dict) or (v and all(isinstance(x, dict) for x in v)):
                o[k] = mask(v, keep)
            else:
                kind, op = m.column_plan([k])[k]
                o[k] = [mask(x, keep) if _nested(x) else x for x in m.mask_column(kind, op, v)]
        out.append(o)
    return out


def partner_view(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """List entries as the partner they are addressed to sees them: the identifier it must act
    on (its own customer's account, card or number) in clear, the rest masked."""
    return mask(rows, keep=("entity",))


def notify_partners(s: Store, entries: pa.Table, at: dt.datetime) -> int:
    """Queue a notification for each new list entry's partner, as that partner may see it."""
    return queue_list_entries(s, entries, at, show=partner_view)


class View:
    """How one response shows personal data to its caller."""

    def __init__(self, request: Request, p: Principal, db: Db, unmask: bool, reason: str | None):
        self.request = request
        self.principal = p
        self.db = db
        self.unmasked = unmask
        self.reason = reason

    def show(self, obj: Any, target: str, keep: tuple[str, ...] = ()) -> Any:
        """`obj` as the caller may see it; an unmasked view is audited."""
        if not self.unmasked:
            return mask(obj, keep)
        self.audit("view_unmasked", target, self.reason or "")
        return obj

    def audit(self, action: str, target: str, reason: str, **detail: Any) -> None:
        p = self.principal
        with self.db() as s:
            s.append_audit(
                p.key_id,
                p.role,
                action,
                target,
                reason,
                {"org": p.org, "route": self.request.url.path, **detail},
            )


UNMASK_DOC = (
    "Show personal data unmasked (analyst and police only; needs `reason`; written to the "
    "audit log)."
)
REASON_DOC = "Why you need this (required to unmask and to export; kept in the audit log)."


def view(
    request: Request,
    p: Principal = Depends(principal),
    db: Db = Depends(get_db),
    unmask: bool = Query(False, description=UNMASK_DOC),
    reason: str | None = Query(None, max_length=500, description=REASON_DOC),
) -> View:
    reason = reason.strip() if reason else None
    if unmask:
        if p.role not in UNMASK:
            raise HTTPException(403, f"the {p.role} role may not see personal data unmasked")
        if not reason:
            raise HTTPException(400, "an unmasked view needs a reason (?reason=...)")
    return View(request, p, db, unmask, reason)


def own_partner(p: Principal, partner: str | None, what: str) -> str | None:
    """The partner whose data a request reads: a bank, operator, platform or warehouse reads
    only its own (asking for another's is refused); the centre reads any (None: all)."""
    if p.role not in PARTNERS:
        return partner
    if partner is not None and partner != p.org:
        raise HTTPException(403, f"a partner sees only its own {what}")
    return p.org


FILE_RESPONSES = {200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}}


def file_response(rows: list[dict[str, Any]], columns: list[str], format: str) -> Response:
    """Rows as a CSV (UTF-8) or JSONL download."""
    if format == "jsonl":
        body = b"".join(orjson.dumps(r, default=str) + b"\n" for r in rows)
        return Response(body, media_type="application/x-ndjson")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8")


def export_view(v: View = Depends(view)) -> View:
    if not v.reason:
        raise HTTPException(400, "an export needs a reason (?reason=...)")
    return v
