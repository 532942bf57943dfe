"""`fanzha sites find`: new fraud sites and apps (visits or installs before payments, young
domains, look-alikes), as suspected intel."""

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
    young_days: Annotated[
        int, typer.Option("--young-days", min=0, help="A domain this young needs one victim.")
    ] = 90,
    apps: Annotated[
        bool, typer.Option("--apps", help="New fraud apps (from installs) instead of sites.")
    ] = False,
    suspect: Annotated[
        bool, typer.Option("--suspect", help="Log each as a centre report (suspected intel).")
    ] = False,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Domains (or with --apps, apps) warned or defrauded people reach shortly before paying and
    few others reach; young domains and look-alikes of brands, banks and government sites."""
    from fanzha.investigate.sites import as_reports, find_new_apps, find_new_sites

    with store(db, read_only=not suspect) as s:
        if apps:
            found = find_new_apps(s, min_people, min_share, before_hours)
        else:
            found = find_new_sites(s, min_people, min_share, before_hours, young_days=young_days)
        logged = 0
        if suspect and found.height:
            from fanzha.ingest import ingest_rows

            rows = [
                {
                    k: (v.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if k == "ts" else v)
                    for k, v in r.items()
                    if v is not None
                }
                for r in as_reports(found, dt.datetime.now(dt.UTC)).to_pylist()
            ]
            logged = ingest_rows(s, "report", rows, origin="fanzha sites find").total("accepted")
    key, what = ("app_id", "apps") if apps else ("domain", "sites")
    cols = [key, "marked_payers", "users" if apps else "visitors", "evidence"]
    cols += ["app_name"] if apps else ["imitates", "age_days"]
    rows = found.select([c for c in cols if c in found.columns]).to_dicts() if found.height else []
    if json:
        print_json({what: rows, "reported": logged})
        return
    for r in rows:
        out.print(f"{r[key]}: {r['evidence']}")
    out.print(
        f"{len(rows)} new suspected {what}" + (f"; {logged} reports logged" if suspect else "")
    )
