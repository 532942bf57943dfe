"""`fanzha cards act`: lists of high-risk cards (断卡) for operators and banks, holder notices."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fanzha.cli._app import DbOption, JsonOption, fail, out, print_json, store
from fanzha.cli._app import app as root

app = typer.Typer(no_args_is_help=True, help="High-risk cards (断卡): lists for issuers, notices.")
root.add_typer(app, name="cards")


@app.command("act")
def act_cmd(
    output: Annotated[
        Path | None, typer.Option("-o", "--out", help="Also write the flagged cards (CSV).")
    ] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Put card_risk's cards on the issuers' cancel / freeze / watch lists and the holders'
    identities on the look-up service's notify list (run `fanzha run` first)."""
    from fanzha.investigate.cards import act

    with store(db) as s:
        added, flagged = act(s)
    if output is not None:
        try:
            flagged.with_columns(
                first_ts=flagged["first_ts"].dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
            ).write_csv(output) if flagged.height else output.write_text("")
        except OSError as e:
            fail(f"cannot write {e.filename}: {e.strerror}")
    result = {"cards": flagged.height, "entries_added": added,
              "out": str(output) if output else None}
    if json:
        print_json(result)
        return
    out.print(f"{flagged.height:,} high-risk cards; {added:,} list entries added")
