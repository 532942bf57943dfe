"""`fanzha trace` and `fanzha funds mules`: follow the money, freeze it, find the mule accounts."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from fanzha.cli._app import DbOption, JsonOption, app, fail, iso_time, out, print_json, store
from fanzha.errors import FanzhaError
from fanzha.investigate.funds import PAYEE_TYPES, TraceSettings, run_trace
from fanzha.investigate.mules import MuleScoreSettings, mule_scores

funds_app = typer.Typer(no_args_is_help=True, help="Mule accounts over the whole transfer log.")
app.add_typer(funds_app, name="funds")


def _stop_list(path: Path | None) -> dict[str, str]:
    """CSV with columns account,type (type: merchant, aggregator, exchange, ...)."""
    if path is None:
        return {}
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        fail(f"--stop-list {path}: {e}")
    if rows and not {"account", "type"} <= set(rows[0]):
        fail(f"--stop-list {path}: needs columns account,type")
    return {r["account"].strip(): (r["type"] or "listed").strip() for r in rows if r["account"]}


def _yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen / 100:,.2f}"


@app.command("trace")
def trace_cmd(
    transfer: Annotated[
        list[str] | None,
        typer.Option(
            "--transfer",
            help="A victim's payment (bank transfer id or event id). "
            "Repeat for the victims of one case.",
        ),
    ] = None,
    account: Annotated[
        str | None, typer.Option(help="Trace every payment out of this account from --since.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="With --account: from this time.")] = None,
    until: Annotated[
        str | None, typer.Option(help="With --account: to this time (default since + 48 h).")
    ] = None,
    case: Annotated[
        str | None, typer.Option("--case", help="Trace the victims of a case (its case events).")
    ] = None,
    levels: Annotated[int, typer.Option(help="Levels of accounts to follow.")] = 3,
    window_hours: Annotated[
        float, typer.Option(help="Follow hops within this long after the victim paid.")
    ] = 48.0,
    rule: Annotated[str, typer.Option(help="Allocation: fifo or haircut (proportional).")] = "fifo",
    stop_type: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Payee types to stop at (default merchant, aggregator, exchange; "
            f"types: {', '.join(PAYEE_TYPES)})."
        ),
    ] = None,
    stop_list: Annotated[
        Path | None, typer.Option(help="CSV account,type of more accounts to stop at.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="See transfers up to this time (default: the latest).")
    ] = None,
    save_case: Annotated[
        str | None, typer.Option(help="Save the trace as this case (default with --case: it).")
    ] = None,
    freeze: Annotated[
        bool, typer.Option("--freeze", help="Add the freeze orders to the freeze list.")
    ] = False,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Follow victims' money through at most 3 levels within 48 h; freeze orders by urgency."""
    if sum(bool(x) for x in (transfer, account, case)) != 1:
        fail("give one of --transfer, --account (with --since) or --case")
    if account is not None and since is None:
        fail("--account needs --since")
    settings = TraceSettings(
        levels=levels,
        window_hours=window_hours,
        rule=rule,
        stop_types=tuple(stop_type) if stop_type else TraceSettings().stop_types,
        stop_accounts=_stop_list(stop_list),
    )
    writing = freeze or save_case is not None or case is not None
    with store(db, read_only=not writing) as s:
        result, _ = run_trace(
            s,
            transfers=transfer or (),
            account=account,
            since=iso_time(since, "--since"),
            until=iso_time(until, "--until"),
            case=case,
            settings=settings,
            as_of=iso_time(as_of, "--as-of"),
            save_case=save_case,
            freeze=freeze,
        )
    if json:
        print_json(result)
        return
    _print_trace(result)


def _print_trace(r: dict) -> None:
    t = r["totals"]
    out.print(
        f"trace {r['case_id']}: {len(r['roots'])} victim payment(s), ¥{_yuan(t['victim_paid_fen'])}"
        f" paid; rule {r['rule']}, {r['levels']} levels, {r['window_hours']:g} h; as of "
        f"{r['as_of']:%Y-%m-%d %H:%M} UTC"
    )
    acc = Table(title=f"{len(r['accounts'])} account(s) reached")
    for c in (
        "hop",
        "account",
        "bank",
        "victims",
        "traced in",
        "passed on",
        "left",
        "still there",
        "balance",
        "stop",
    ):
        acc.add_column(c, justify="right" if c not in ("account", "bank", "stop") else "left")
    for a in r["accounts"]:
        acc.add_row(
            ",".join(map(str, a["hops"])),
            a["account"],
            a["bank"] or "",
            str(a["n_victims"]),
            _yuan(a["traced_in_fen"]),
            _yuan(a["forwarded_fen"]),
            _yuan(a["left_fen"]),
            _yuan(a["remaining_fen"]),
            _yuan(a["balance_fen"]),
            a["stop"] or "",
        )
    out.print(acc)
    fz = Table(title=f"{len(r['freeze_orders'])} freeze order(s), most urgent first")
    for c in ("account", "bank", "amount", "victims", "hop", "deadline (UTC)", "renew until"):
        fz.add_column(c, justify="right" if c in ("amount", "victims", "hop") else "left")
    for o in r["freeze_orders"]:
        fz.add_row(
            o["account"],
            o["bank"] or "",
            _yuan(o["amount_fen"]),
            str(o["n_victims"]),
            str(o["hop"]),
            f"{o['expires_ts']:%Y-%m-%d %H:%M}",
            f"{o['renew_until_ts']:%Y-%m-%d %H:%M}",
        )
    out.print(fz)
    if "freeze_entries_added" in r:
        out.print(f"{r['freeze_entries_added']} freeze list entr(ies) added")


@funds_app.command("mules")
def mules_cmd(
    output: Annotated[Path, typer.Option("-o", "--output", help="CSV: account,score,label.")],
    threshold: Annotated[float, typer.Option(help="Label 1 at or above this score.")] = 0.5,
    window_hours: Annotated[float, typer.Option(help="The detector's window.")] = 24.0,
    fast_minutes: Annotated[
        float,
        typer.Option(
            help="Money passed on within this long counts as passed through; 0 when "
            "the log's times are too coarse to tell (e.g. one per day)."
        ),
    ] = 30.0,
    cycle_days: Annotated[float, typer.Option(help="Round trips within this long.")] = 30.0,
    cycle_any_order: Annotated[
        bool,
        typer.Option(
            "--cycle-any-order", help="Count round trips whose transfers are not in time order."
        ),
    ] = False,
    truth: Annotated[
        Path | None,
        typer.Option(help="CSV of known labels: print precision, recall and F1 against it."),
    ] = None,
    truth_id: Annotated[str, typer.Option(help="Account column of --truth.")] = "account",
    truth_label: Annotated[str, typer.Option(help="Label column of --truth (1 = mule).")] = "label",
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Score every account seen in the transfer log for mule behaviour."""
    from fanzha.detectors.mule_account import MuleAccountSettings

    settings = MuleScoreSettings(
        detector=MuleAccountSettings(window_hours=window_hours, fast_minutes=fast_minutes),
        threshold=threshold,
        cycle_days=cycle_days,
        cycle_any_order=cycle_any_order,
    )
    with store(db, read_only=True) as s:
        top = s.max_seq()
        transfers = pl.from_arrow(s.read_events("transfer", 0, top))
        cases = pl.from_arrow(s.read_events("case", 0, top))
    assert isinstance(transfers, pl.DataFrame) and isinstance(cases, pl.DataFrame)
    scores = mule_scores(transfers, cases, settings)
    try:
        scores.select("account", "score", "label").write_csv(output)
    except OSError as e:
        fail(f"cannot write {output}: {e}")
    result: dict = {
        "accounts": scores.height,
        "mules": int(scores["label"].sum()),
        "output": str(output),
    }
    if truth is not None:
        result.update(_against(scores, truth, truth_id, truth_label))
    if json:
        print_json(result)
        return
    out.print(f"{result['accounts']} accounts scored, {result['mules']} labelled mule -> {output}")
    if truth is not None:
        out.print(
            f"against {truth}: precision {result['precision']:.3f}, recall {result['recall']:.3f}"
            f", F1 {result['f1']:.3f} ({result['true_positives']} of {result['known_mules']})"
        )
    for r in scores.filter(pl.col.label == 1).head(10).to_dicts():
        out.print(f"  {r['score']:.2f}  {r['account']}  {r['reasons']}")


def _against(scores: pl.DataFrame, truth: Path, id_col: str, label_col: str) -> dict:
    try:
        known = pl.read_csv(
            truth, columns=[id_col, label_col], schema_overrides={id_col: pl.String}
        )
    except (OSError, pl.exceptions.PolarsError) as e:
        raise FanzhaError(f"--truth {truth}: {str(e).splitlines()[0]}") from None
    known = known.select(pl.col(id_col).alias("_id"), pl.col(label_col).alias("_truth"))
    j = known.join(scores, left_on="_id", right_on="account", how="left").with_columns(
        pl.col.label.fill_null(0), pl.col._truth.cast(pl.Int64, strict=False).fill_null(0)
    )
    tp = j.filter((pl.col.label == 1) & (pl.col._truth == 1)).height
    pred = j.filter(pl.col.label == 1).height
    real = j.filter(pl.col._truth == 1).height
    p = tp / pred if pred else 0.0
    r = tp / real if real else 0.0
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
        "true_positives": tp,
        "known_mules": real,
    }
