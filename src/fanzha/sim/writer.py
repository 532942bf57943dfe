"""Write the world as its partners would send it, the manifest that says how to ingest each file,
and the truth.

Partner shapes:
- operator-a: calls, SMS, visits, SIM cards as CSV with fanzha's field names, UTC ISO times.
- bank-a: transfers as a GB18030 CSV with the bank's own Chinese column names, amounts in yuan
  and local (Beijing) times without an offset; bank cards as CSV.
- payco (a payment institution): payments through aggregators as Parquet (fen, typed times).
- platform: registrations as JSONL, logins and orders as Parquet.
- warehouse: the WMS access log with the vendor's own column names and times in epoch seconds;
  the HR roster as CSV.
- vendor-x: app events as JSONL; app-96110: citizens' reports; police: confirmations and cases.
- insurance-bureau: the registry of authorised promotion teams (kind `promoter`) as CSV.

`DIR/ingest.yaml` lists every file with its kind and ingest options (`--map`, `--money-unit`,
`--time-unit`, `--set source=...`) and the equivalent `fanzha ingest` command line.
"""

from __future__ import annotations

import io
import json
import shlex
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import yaml

BANK_COLUMNS = {  # fanzha field -> bank-a's column
    "transfer_id": "交易流水号",
    "ts": "交易时间",
    "payer_account": "付款账号",
    "payer_phone": "付款人手机号",
    "payer_id_number": "付款人证件号码",
    "payee_account": "收款账号",
    "payee_name": "收款人户名",
    "payee_type": "收款方类型",
    "channel": "交易渠道",
    "amount_fen": "交易金额",
    "memo": "附言",
}
WMS_COLUMNS = {  # fanzha field -> the WMS vendor's column
    "access_id": "log_id",
    "ts": "op_time",
    "site": "wh",
    "operator_account": "user",
    "action": "op",
    "system": "sys",
    "device_id": "pc",
    "ip": "ip",
    "order_id": "order_no",
    "waybill_no": "waybill",
    "subject_phone": "receiver_phone",
    "record_count": "rows",
    "remote_tools": "procs",
}


def _iso(col: str = "ts") -> pl.Expr:
    return pl.from_epoch(pl.col(col), "ms").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")


def _typed_ts(df: pl.DataFrame, cols: tuple[str, ...] = ("ts",)) -> pl.DataFrame:
    return df.with_columns(
        [
            pl.from_epoch(pl.col(c), "ms").dt.replace_time_zone("UTC")
            for c in cols
            if c in df.columns
        ]
    )


def _partner_columns(
    df: pl.DataFrame, columns: dict[str, str]
) -> tuple[pl.DataFrame, dict[str, str]]:
    """The frame under the partner's own column names, and the --map that undoes it."""
    have = [c for c in columns if c in df.columns]
    mapping = {c: columns[c] for c in have if columns[c] != c}
    return df.select(have).rename(mapping), mapping


def _csv(df: pl.DataFrame, path: Path, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if encoding == "utf-8":
        df.write_csv(path, line_terminator="\n")
        return
    buf = io.BytesIO()
    df.write_csv(buf, line_terminator="\n")
    path.write_bytes(buf.getvalue().decode("utf-8").encode(encoding))


def _parquet(df: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(df.to_arrow(), path, compression="zstd", write_statistics=False)


def _jsonl(df: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.write_ndjson(path)


def _entry(path: str, kind: str, source: str, **options: Any) -> dict[str, Any]:
    e: dict[str, Any] = {"path": path, "kind": kind, "set": {"source": source}}
    e.update({k: v for k, v in options.items() if v})
    return e


def command_line(e: dict[str, Any]) -> str:
    """The `fanzha ingest` command that ingests one manifest entry."""
    parts = ["fanzha", "ingest", e["path"], "--kind", e["kind"]]
    if e.get("map"):
        parts += ["--map", ",".join(f"{k}={v}" for k, v in e["map"].items())]
    for opt in ("money_unit", "time_unit", "tz", "encoding"):
        if e.get(opt):
            parts += [f"--{opt.replace('_', '-')}", str(e[opt])]
    parts += ["--set", ",".join(f"{k}={v}" for k, v in e["set"].items())]
    return " ".join(shlex.quote(p) for p in parts)


def write_world(
    out: Path,
    frames: dict[str, pl.DataFrame],
    truth: dict[str, pl.DataFrame],
    meta: dict,
    sc: dict,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    files: list[dict[str, Any]] = []
    empty = pl.DataFrame({"ts": pl.Series([], dtype=pl.Int64)})

    def get(kind: str) -> pl.DataFrame:
        return frames.get(kind, empty)

    for kind, name in (("call", "calls.csv"), ("sms", "sms.csv"), ("visit", "visits.csv")):
        _csv(get(kind).with_columns(ts=_iso()), out / "operator-a" / name)
        files.append(_entry(f"operator-a/{name}", kind, "operator-a"))
    cards = get("card")
    _csv(
        cards.filter(pl.col.card_type == "sim").with_columns(ts=_iso()),
        out / "operator-a" / "sim_cards.csv",
    )
    files.append(_entry("operator-a/sim_cards.csv", "card", "operator-a"))
    _csv(
        cards.filter(pl.col.card_type == "bank").with_columns(ts=_iso()),
        out / "bank-a" / "cards.csv",
    )
    files.append(_entry("bank-a/cards.csv", "card", "bank-a"))

    t = get("transfer")
    via_payco = (pl.col.payee_type == "aggregator") | pl.col.payer_account.str.starts_with("AGG-")
    bank = t.filter(~via_payco)
    offset = sc["utc_offset_hours"] * 3_600_000
    yuan = (
        (pl.col.amount_fen // 100).cast(pl.String)
        + "."
        + (pl.col.amount_fen % 100).cast(pl.String).str.zfill(2)
    )
    bank, bank_map = _partner_columns(
        bank.with_columns(
            ts=pl.from_epoch(pl.col.ts + offset, "ms").dt.strftime("%Y-%m-%d %H:%M:%S"),
            amount_fen=yuan,
        ),
        BANK_COLUMNS,
    )
    _csv(bank, out / "bank-a" / "transfers.csv", encoding="gb18030")
    files.append(
        _entry(
            "bank-a/transfers.csv",
            "transfer",
            "bank-a",
            map=bank_map,
            money_unit="yuan",
            tz=f"Etc/GMT-{sc['utc_offset_hours']}"
            if sc["utc_offset_hours"] != 8
            else "Asia/Shanghai",
        )
    )
    _parquet(_typed_ts(t.filter(via_payco)), out / "payco" / "payments.parquet")
    files.append(_entry("payco/payments.parquet", "transfer", "payco"))

    _jsonl(get("registration").with_columns(ts=_iso()), out / "platform" / "registrations.jsonl")
    files.append(_entry("platform/registrations.jsonl", "registration", "platform"))
    for kind, name in (("login", "logins.parquet"), ("order", "orders.parquet")):
        _parquet(_typed_ts(get(kind)), out / "platform" / name)
        files.append(_entry(f"platform/{name}", kind, "platform"))

    promoters = get("promoter")
    if promoters.height:
        promoters = promoters.with_columns(
            ts=_iso(), valid_from=_iso("valid_from"), valid_to=_iso("valid_to")
        )
    _csv(promoters, out / "insurance-bureau" / "promoters.csv")
    files.append(_entry("insurance-bureau/promoters.csv", "promoter", "insurance-bureau"))

    wa = get("waybill_access")
    wms, wms_map = _partner_columns(wa.with_columns(ts=pl.col.ts // 1000), WMS_COLUMNS)
    _csv(wms, out / "warehouse" / "wms_access.csv")
    files.append(
        _entry(
            "warehouse/wms_access.csv",
            "waybill_access",
            "warehouse-wms",
            map=wms_map,
            time_unit="s",
        )
    )
    _csv(get("roster").with_columns(ts=_iso()), out / "warehouse" / "roster.csv")
    files.append(_entry("warehouse/roster.csv", "roster", "warehouse-hr"))

    _jsonl(get("app").with_columns(ts=_iso()), out / "vendor-x" / "apps.jsonl")
    files.append(_entry("vendor-x/apps.jsonl", "app", "vendor-x"))
    doms = get("domain")
    if doms.height:
        doms = doms.with_columns(
            ts=_iso(), registered_ts=_iso("registered_ts"), first_seen_ts=_iso("first_seen_ts")
        )
    _jsonl(doms, out / "pdns-x" / "domains.jsonl")
    files.append(_entry("pdns-x/domains.jsonl", "domain", "pdns-x"))
    rep = get("report")
    citizen = rep.filter(pl.col.reporter_kind == "citizen") if rep.height else rep
    police = rep.filter(pl.col.reporter_kind != "citizen") if rep.height else rep
    _csv(citizen.with_columns(ts=_iso()), out / "app-96110" / "reports.csv")
    files.append(_entry("app-96110/reports.csv", "report", "app-96110"))
    _csv(police.with_columns(ts=_iso()), out / "police" / "confirmations.csv")
    files.append(_entry("police/confirmations.csv", "report", "police"))
    case = get("case")
    if case.height:
        case = case.with_columns(ts=_iso(), paid_at=_iso("paid_at"))
    _csv(case, out / "police" / "cases.csv")
    files.append(_entry("police/cases.csv", "case", "police"))

    for e in files:
        e["rows"] = _rows(out / e["path"])
        e["command"] = command_line(e)
    for e in [e for e in files if e["rows"] == 0]:  # a partner with nothing to send sends nothing
        (out / e["path"]).unlink()
    files = [e for e in files if e["rows"] > 0]
    manifest = {
        "about": "A fanzha sim world: each partner file, its event kind and how to ingest it. "
        "`fanzha score DIR` ingests them all as one batch with these options.",
        "world": {k: meta[k] for k in ("seed", "people", "days", "start_date")},
        "files": files,
    }
    (out / "ingest.yaml").write_text(
        yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8"
    )
    write_truth(out / "truth", truth, meta)


def _rows(path: Path) -> int:
    if not path.stat().st_size:
        return 0
    if path.suffix == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    with open(path, "rb") as fh:
        n = sum(1 for _ in fh)
    return n - 1 if path.suffix == ".csv" else n


TIME_COLUMNS = (
    "ts",
    "first_contact_ts",
    "first_payment_ts",
    "registered_ts",
    "harvested_ts",
    "first_ts",
    "last_ts",
    "leaked_ts",
    "opened_ts",
)


def write_truth(d: Path, truth: dict[str, pl.DataFrame], meta: dict) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for name, df in sorted(truth.items()):
        df = df.with_columns([_iso(c) for c in TIME_COLUMNS if c in df.columns])
        df.write_csv(d / f"{name}.csv", line_terminator="\n")
    summary = dict(meta)
    summary["truth"] = {k: v.height for k, v in sorted(truth.items())}
    (d / "world.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
