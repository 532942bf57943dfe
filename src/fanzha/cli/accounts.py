"""`fanzha accounts rings|act|promoters`: black accounts from harvested identities (村推/地推)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from fanzha.cli._app import DbOption, JsonOption, fail, out, print_json, store
from fanzha.cli._app import app as root

app = typer.Typer(
    no_args_is_help=True,
    help="Black accounts: rings of accounts opened with harvested identities, actions, promoters.",
)
root.add_typer(app, name="accounts")

OutFile = Annotated[Path | None, typer.Option("-o", "--out", help="CSV file to write.")]


def _found(db: str | None):
    from fanzha.investigate.rings import find_rings_in

    with store(db, read_only=True) as s:
        if not s.count_events().get("registration"):
            fail("no registration events in the database; ingest a platform's registrations first")
        return find_rings_in(s)


@app.command("rings")
def rings_cmd(
    output: OutFile = None,
    clusters: Annotated[
        Path | None, typer.Option("--clusters", help="Also write the rings, explained (JSON).")
    ] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Cluster accounts into rings; write FILE.csv with columns account,score,cluster,label."""
    from fanzha.investigate.rings import summary, write_rings_csv

    if output is None:
        fail("give the output file with -o FILE.csv")
    r = _found(db)
    try:
        n = write_rings_csv(r, output)
        if clusters is not None:
            r.clusters.with_columns(
                pl.col.first_ts.dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
                pl.col.last_ts.dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
            ).write_json(clusters)
    except OSError as e:
        fail(f"cannot write {e.filename}: {e.strerror}")
    result = {"out": str(output), "rows": n, **summary(r)}
    if json:
        print_json(result)
        return
    t = Table("ring", "label", "score", "accounts", "identities", "explanation")
    for row in r.clusters.filter(pl.col.label == "black").head(10).iter_rows(named=True):
        t.add_row(
            row["cluster"],
            row["label"],
            f"{row['score']:.2f}",
            str(row["n_accounts"]),
            str(row["n_identities"]),
            row["explanation"],
        )
    out.print(t)
    out.print(f"wrote {n:,} accounts to {output}; labels {result['labels']}")


@app.command("act")
def act_cmd(
    out_dir: Annotated[
        Path | None, typer.Option("-o", "--out", help="Directory for the partners' files.")
    ] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Put black accounts on freeze/cancel lists per platform and abused deal orders on cancel
    lists, open a case per ring, and write the notices: DIR/lists/<platform>.csv, DIR/gangs.json
    (police and the medical-insurance bureau), DIR/identity_notices.csv|json (the people whose
    identity was used), DIR/rings.csv."""
    from fanzha.investigate.rings import act

    r = _found(db)
    with store(db) as s:
        try:
            res = act(s, r, out_dir)
        except OSError as e:
            fail(f"cannot write {e.filename}: {e.strerror}")
    result = dict(res.__dict__)
    if json:
        print_json(result)
        return
    out.print(
        f"{res.black_accounts:,} black accounts in {res.rings} rings; {res.promo_orders:,} deal "
        f"orders to cancel; {res.identities:,} people to notify; {res.lists_added:,} list "
        "entries added"
    )
    for f in res.files:
        out.print(f"  wrote {f}")


@app.command("promoters")
def promoters_cmd(db: DbOption = None, json: JsonOption = False) -> None:
    """The registry of authorised promotion teams as the log holds it (kind `promoter`), and the
    registrations that carry each team's code: inside or outside its authorisation."""
    from fanzha.investigate.rings import load, promoter_report

    with store(db, read_only=True) as s:
        d = load(s)
    teams = promoter_report(d["promoter"], d["registration"])
    if json:
        print_json(teams.to_dicts())
        return
    if not teams.height:
        out.print("no promotion teams in the registry and no registration with a promoter code")
        return
    t = Table("team", "issuer", "counties", "devices", "valid", "inside", "outside", "why outside")
    for row in teams.iter_rows(named=True):
        t.add_row(
            row["team_id"],
            row["issuer"] or "(not registered)",
            str(row["counties"]),
            str(row["devices"]),
            row["valid"] or "",
            str(row["inside"]),
            str(row["outside"]),
            row["why_outside"] or "",
        )
    out.print(t)
