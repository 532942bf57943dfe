"""`fanzha sites find`: new fraud sites from visits before payments, as suspected intel."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from fanzha.cli._app import DbOption, JsonOption, out, print_json, store
from fanzha.cli._app import app as root

app = typer.Typer(no_args_is_help=True, help="New fraud sites: found from visits and payments.")
root.add_typer(app, name="sites")


@app.command("find")
def find_cmd(
    min_people: Annotated[int, typer.Option("--min-people", min=1)] = 2,
    min_share: Annotated[float, typer.Option("--min-share", min=0.0, max=1.0)] = 0.5,
    before_hours: Annotated[int, typer.Option("--before-hours", min=1)] = 24,
    suspect: Annotated[
        bool, typer.Option("--suspect", help="Log each as a centre report (suspected intel).")
    ] = False,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Domains warned or defrauded people visit shortly before paying, and few others visit."""
    from fanzha.investigate.sites import as_reports, find_new_sites

    with store(db, read_only=not suspect) as s:
        found = find_new_sites(s, min_people, min_share, before_hours)
        logged = 0
        if suspect and found.height:
            from fanzha.ingest import ingest_rows

            rows = [
                {k: (v.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if k == "ts" else v)
                 for k, v in r.items() if v is not None}
                for r in as_reports(found, dt.datetime.now(dt.UTC)).to_pylist()
            ]
            logged = ingest_rows(s, "report", rows, origin="fanzha sites find").total("accepted")
    rows = found.select("domain", "marked_payers", "visitors", "evidence").to_dicts() \
        if found.height else []
    if json:
        print_json({"sites": rows, "reported": logged})
        return
    for r in rows:
        out.print(f"{r['domain']}: {r['evidence']}")
    out.print(f"{len(rows)} new suspected sites" + (f"; {logged} reports logged" if suspect else ""))
