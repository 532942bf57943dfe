"""`fanzha leaks source|access|decoys`: where personal data leaked (report 004, law art. 29)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import polars as pl
import typer
from rich.table import Table

from fanzha.cli._app import DbOption, JsonOption, fail, iso_time, out, print_json, store
from fanzha.cli._app import app as root
from fanzha.investigate import decoys as decoy_registry
from fanzha.investigate.leaks import leak_source, render_html, render_text
from fanzha.taxonomy import FRAUD_TYPE_CODES

app = typer.Typer(no_args_is_help=True, help="Data leaks: leak source, access watch, decoys.")
root.add_typer(app, name="leaks")
decoys_app = typer.Typer(no_args_is_help=True, help="Decoy waybills: issue, list, hits.")
app.add_typer(decoys_app, name="decoys")

WATCH = ("access_rules", "access_anomaly")


@app.command("source")
def source_cmd(
    fraud_type: Annotated[str, typer.Option("--fraud-type", help="Fraud type of the cases.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Write the report (JSON).")],
    since: Annotated[str | None, typer.Option(help="Only cases from this time (ISO 8601).")] = None,
    text: Annotated[Path | None, typer.Option(help="Also write it as plain text.")] = None,
    victims_only: Annotated[
        bool,
        typer.Option(
            "--victims-only",
            help="Only the victims of the cases, not everyone the fraud numbers reached.",
        ),
    ] = False,
    html: Annotated[Path | None, typer.Option(help="Also write it as an HTML page.")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Rank the touchpoints the victims' data passed before the fraud (shop, warehouse, system,
    PC, operator) by how much more often victims passed them than all customers."""
    if fraud_type not in FRAUD_TYPE_CODES:
        fail(f"--fraud-type must be one of {', '.join(FRAUD_TYPE_CODES)}")
    with store(db, read_only=True) as s:
        report = leak_source(
            s, fraud_type, iso_time(since, "--since"), victims_only=victims_only
        ).to_dict()
    try:
        output.write_bytes(orjson.dumps(report, default=str, option=orjson.OPT_INDENT_2))
        if text:
            text.write_text(render_text(report), encoding="utf-8")
        if html:
            html.write_text(render_html(report), encoding="utf-8")
    except OSError as e:
        fail(f"cannot write the report: {e.strerror}: {e.filename}")
    if json:
        print_json({"output": str(output), "victims": report["victims_n"],
                    "sources": report["sources"]})  # fmt: skip
        return
    out.print(
        f"{report['victims_n']} people reached by {fraud_type}, {report['customers_n']} "
        "customers; "
        f"report written to {output}"
    )
    t = Table("rank", "source", "victims", "customers", "p", "blame")
    for src in report["sources"]:
        p = "" if src["p_value_at_selection"] is None else f"{src['p_value_at_selection']:.2g}"
        t.add_row(str(src["rank"]), src["tp"], str(src["victims_passed"]),
                  str(src["customers_passed"] or ""), p, f"{src['blame']:.1f}")  # fmt: skip
    out.print(t)


@app.command("access")
def access_cmd(
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Also account-days beyond the budget and weak hits.")
    ] = False,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """The access watch: alerted accounts per site, with evidence (run `fanzha run` first)."""
    with store(db, read_only=True) as s:
        sig = pl.from_arrow(s.signals())
    if sig.height:
        sig = sig.filter(pl.col.detector.is_in(WATCH)).with_columns(
            site=pl.col.details.str.json_path_match("$.site"),
            within=pl.col.details.str.json_path_match("$.within_budget"),
        )
        if site:
            sig = sig.filter(pl.col.site == site)
        if not all_:
            sig = sig.filter(
                ((pl.col.detector == "access_rules") & (pl.col.score >= 0.85))
                | (pl.col.within == "true")
            )
    rows = []
    if sig.height:
        rows = (
            sig.group_by("site", "entity", "detector")
            .agg(
                signals=pl.len(),
                score=pl.col.score.max(),
                first_ts=pl.col.ts.min(),
                last_ts=pl.col.ts.max(),
                evidence=pl.col.evidence.sort_by("score").last(),
            )
            .sort(["score", "last_ts"], descending=True)
            .head(limit)
            .to_dicts()
        )
    if json:
        print_json({"site": site, "rows": rows})
        return
    if not rows:
        out.print("no access-watch alerts" + (f" at {site}" if site else ""))
        return
    t = Table("site", "account", "detector", "signals", "score", "last", "evidence")
    for r in rows:
        t.add_row(r["site"] or "", r["entity"], r["detector"], str(r["signals"]),
                  f"{r['score']:.2f}", str(r["last_ts"])[:16], r["evidence"])  # fmt: skip
    out.print(t)


@decoys_app.command("issue")
def decoys_issue_cmd(
    site: Annotated[str, typer.Option(help="The warehouse, shop or hall to plant them in.")],
    pool: Annotated[
        str, typer.Option(help="Leading digits of the centre's monitored mobile numbers.")
    ],
    count: Annotated[int, typer.Option(help="How many decoys.")] = 1,
    device: Annotated[str | None, typer.Option(help="Plant at this printing PC only.")] = None,
    account: Annotated[str | None, typer.Option(help="Plant under this sub-account only.")] = None,
    at: Annotated[
        str | None, typer.Option(help="When they were planted (ISO 8601; default now).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the records to plant (CSV).")
    ] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Issue unique monitored numbers for decoy records at one site, PC or sub-account."""
    with store(db) as s:
        made = decoy_registry.issue(s, site, pool, count, device, account, iso_time(at, "--at"))
    if output:
        try:
            pl.DataFrame(made).write_csv(output)
        except OSError as e:
            fail(f"cannot write {output}: {e.strerror}")
    if json:
        print_json({"issued": made})
        return
    for d in made:
        out.print(f"{d['decoy']}  {d['name']}  {d['address']}  -> {d['placement']}")


@decoys_app.command("list")
def decoys_list_cmd(db: DbOption = None, json: JsonOption = False) -> None:
    """Every decoy issued, with its placement."""
    with store(db, read_only=True) as s:
        reg = decoy_registry.registry(s)
    if json:
        print_json({"decoys": reg.to_dicts()})
        return
    t = Table("decoy", "placement", "name", "issued")
    for r in reg.iter_rows(named=True):
        t.add_row(r["decoy"], r["placement"], r["name"], str(r["issued_ts"])[:19])
    out.print(t)


@decoys_app.command("hits")
def decoys_hits_cmd(db: DbOption = None, json: JsonOption = False) -> None:
    """Calls and SMS to decoy numbers: each pins the leak to the decoy's placement."""
    with store(db, read_only=True) as s:
        hits = decoy_registry.decoy_hits(s)
    if json:
        print_json({"hits": hits.to_dicts()})
        return
    if not hits.height:
        out.print("no decoy has been contacted")
        return
    t = Table("when", "decoy", "placement", "contacted by", "channel")
    for r in hits.iter_rows(named=True):
        t.add_row(r["ts"], r["decoy"], r["placement"], r["fraud_contact"], r["channel"])
    out.print(t)
