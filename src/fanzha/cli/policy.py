"""`fanzha policy show|diff|apply|rollback|backtest`: the warning policy's versions and their proof."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fanzha.cli._app import DbOption, JsonOption, fail, iso_time, out, print_json, store
from fanzha.cli._app import app as root
from fanzha.decide import TIERS

app = typer.Typer(
    no_args_is_help=True,
    help="Warning policy versions: show, diff, apply, roll back, backtest on the recorded log.",
)
root.add_typer(app, name="policy")

AuthorOption = Annotated[str, typer.Option("--author", help="Who makes the change.")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept with the version).")]


def _read(file: Path) -> str:
    try:
        return file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        fail(f"cannot read policy {file}: {e}")
    raise AssertionError  # unreachable: fail raises


@app.command("show")
def show_cmd(
    version: Annotated[
        str | None, typer.Argument(help="A version (prefix); default the live one.")
    ] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """A version's text and the history of every apply and rollback."""
    from fanzha.decide.versions import history, policy_text

    with store(db, read_only=True) as s:
        v, text = policy_text(s, version)
        rows = history(s)
    if json:
        print_json({"version": v, "text": text, "history": rows})
        return
    t = Table(title=f"policy history ({len(rows)} change(s))")
    for c in ("version", "when (UTC)", "author", "reason", "live"):
        t.add_column(c)
    for r in rows:
        t.add_row(
            r["version"],
            f"{r['created_at']:%Y-%m-%d %H:%M:%S}",
            r["author"],
            r["reason"],
            "*" if r["active"] else "",
        )
    out.print(t)
    out.print(f"--- policy {v} ---")
    out.print(text, markup=False, highlight=False)


@app.command("diff")
def diff_cmd(
    a: Annotated[str, typer.Argument(help="Version A (prefix).")],
    b: Annotated[str, typer.Argument(help="Version B (prefix).")],
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """A unified diff of two versions' texts."""
    from fanzha.decide.versions import diff

    with store(db, read_only=True) as s:
        d = diff(s, a, b)
    if json:
        print_json({"a": a, "b": b, "diff": d, "same": not d})
        return
    out.print(d or "the two versions are the same", markup=False, highlight=False)


@app.command("apply")
def apply_cmd(
    file: Annotated[Path, typer.Argument(help="The policy YAML.")],
    author: AuthorOption,
    reason: ReasonOption,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Check a policy and make it live (a new version with author, time and reason)."""
    from fanzha.decide.versions import apply_policy

    text = _read(file)
    with store(db) as s:
        p = apply_policy(s, text, author, reason)
    if json:
        print_json({"version": p.version, "name": p.name})
        return
    out.print(f"policy {p.name} version {p.version} is live")


@app.command("rollback")
def rollback_cmd(
    version: Annotated[
        str | None, typer.Argument(help="Version to restore; default the previous.")
    ] = None,
    author: AuthorOption = "",
    reason: ReasonOption = "",
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Make an earlier version live again (recorded like an apply)."""
    from fanzha.decide.versions import rollback

    with store(db) as s:
        p = rollback(s, author or "unknown", reason or "rollback", version)
    if json:
        print_json({"version": p.version, "name": p.name})
        return
    out.print(f"rolled back: policy {p.name} version {p.version} is live")


@app.command("backtest")
def backtest_cmd(
    candidate: Annotated[Path, typer.Argument(help="The candidate policy YAML.")],
    start: Annotated[str, typer.Option("--from", help="Start (ISO 8601, UTC if no offset).")],
    end: Annotated[str, typer.Option("--to", help="End, exclusive (ISO 8601).")],
    truth: Annotated[
        Path | None,
        typer.Option("--truth", help="A `fanzha sim` world: also score against its truth."),
    ] = None,
    people: Annotated[
        int | None, typer.Option("--people", help="Population, for warnings per 10,000 people.")
    ] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Replay the log under the candidate beside the live policy; writes nothing."""
    from fanzha.backtest import backtest
    from fanzha.decide.versions import checked_policy, live_policy

    t1, t2 = iso_time(start, "--from"), iso_time(end, "--to")
    assert t1 is not None and t2 is not None
    if t2 <= t1:
        fail("--to must be after --from")
    cand = checked_policy(_read(candidate))
    with store(db, read_only=True) as s:
        result = backtest(s, live_policy(s), cand, t1, t2, truth, people)
    if json:
        print_json(result)
        return
    _print(result)


def _fmt(v: object) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _print(r: dict) -> None:
    live, cand = r["live"], r["candidate"]
    t = Table(title=f"backtest {r['from']} .. {r['to']} ({r['events']:,} events)")
    for c in ("figure", f"live {live['version']}", f"candidate {cand['version']}"):
        t.add_column(c)
    rows: list[tuple[str, object, object]] = [("alerts", live["alerts"], cand["alerts"])]
    rows += [
        (f"  {x}", live["alerts_per_tier"][x], cand["alerts_per_tier"][x]) for x in reversed(TIERS)
    ]
    rows += [
        ("people warned", live["people_warned"], cand["people_warned"]),
        (
            "warnings per 10,000 people",
            live["warnings_per_10k_people"],
            cand["warnings_per_10k_people"],
        ),
    ]
    rows += [(f"outcomes {k}", live["outcomes"][k], cand["outcomes"][k]) for k in live["outcomes"]]
    if "truth" in live:
        rows += [(f"truth {k}", live["truth"][k], cand["truth"][k]) for k in live["truth"]]
    for action in sorted(set(live["channel_load"]) | set(cand["channel_load"])):
        lv, cv = live["channel_load"].get(action, {}), cand["channel_load"].get(action, {})
        cap = cv.get("capacity_per_day", lv.get("capacity_per_day"))
        rows.append(
            (f"{action} peak/day (capacity {_fmt(cap)})", lv.get("peak", 0), cv.get("peak", 0))
        )
        per_area = cv.get("capacity_per_area_day", lv.get("capacity_per_area_day"))
        if per_area is not None:
            rows.append(
                (
                    f"{action} over {per_area}/area/day (area-days)",
                    f"{lv.get('over_area_capacity', 0)} ({lv.get('area_days_over_capacity', 0)})",
                    f"{cv.get('over_area_capacity', 0)} ({cv.get('area_days_over_capacity', 0)})",
                )
            )
    for name, a, b in rows:
        t.add_row(name, _fmt(a), _fmt(b))
    out.print(t)
    o = r["overlap"]
    out.print(
        f"alerted by both {o['entities_both']}, live only {o['entities_live_only']}, candidate only "
        f"{o['entities_candidate_only']}; candidate tier higher {o['candidate_higher_tier']}, lower "
        f"{o['candidate_lower_tier']}; live high-tier not high under the candidate "
        f"{o['high_live_not_high_candidate']}"
    )


shadow_app = typer.Typer(
    no_args_is_help=True,
    help="Shadow mode: a candidate decides beside the live policy on the live stream, acting on nothing.",
)
app.add_typer(shadow_app, name="shadow")


@shadow_app.command("start")
def shadow_start_cmd(
    file: Annotated[Path, typer.Argument(help="The candidate policy YAML.")],
    author: AuthorOption,
    reason: ReasonOption,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Run a candidate in shadow from the next `fanzha run` on."""
    from fanzha.decide.shadow import start

    text = _read(file)
    with store(db) as s:
        v = start(s, text, author, reason)
    if json:
        print_json({"shadow_version": v})
        return
    out.print(f"policy {v} runs in shadow from the next `fanzha run` on")


@shadow_app.command("report")
def shadow_report_cmd(db: DbOption = None, json: JsonOption = False) -> None:
    """Live and shadow alerts since the shadow started, side by side."""
    from fanzha.decide.shadow import report

    with store(db, read_only=True) as s:
        r = report(s)
    if json:
        print_json(r)
        return
    t = Table(
        title=f"shadow {r['shadow_version']} vs live {r['live_version']} "
        f"(log positions {r['since_seq']}..{r['watermark']})"
    )
    for c in ("figure", "live", "shadow"):
        t.add_column(c)
    t.add_row("alerts", str(r["live"]["alerts"]), str(r["shadow"]["alerts"]))
    for x in reversed(TIERS):
        t.add_row(
            f"  {x}", str(r["live"]["alerts_per_tier"][x]), str(r["shadow"]["alerts_per_tier"][x])
        )
    for a in sorted(set(r["live"]["actions"]) | set(r["shadow"]["actions"])):
        t.add_row(
            f"action {a}",
            str(r["live"]["actions"].get(a, 0)),
            str(r["shadow"]["actions"].get(a, 0)),
        )
    out.print(t)
    o = r["overlap"]
    out.print(
        f"alerted by both {o['entities_both']}, live only {o['entities_live_only']}, shadow only "
        f"{o['entities_candidate_only']}; shadow tier higher {o['candidate_higher_tier']}, lower "
        f"{o['candidate_lower_tier']}"
    )


@shadow_app.command("promote")
def shadow_promote_cmd(
    author: AuthorOption, reason: ReasonOption, db: DbOption = None, json: JsonOption = False
) -> None:
    """Make the shadow policy live (a new version) and stop the shadow."""
    from fanzha.decide.shadow import promote

    with store(db) as s:
        v = promote(s, author, reason)
    if json:
        print_json({"version": v})
        return
    out.print(f"policy {v} is live; the shadow is stopped")


@shadow_app.command("drop")
def shadow_drop_cmd(
    author: AuthorOption, reason: ReasonOption, db: DbOption = None, json: JsonOption = False
) -> None:
    """Stop the shadow and forget its alerts."""
    from fanzha.decide.shadow import drop

    with store(db) as s:
        v = drop(s, author, reason)
    if json:
        print_json({"dropped": v})
        return
    out.print(f"shadow policy {v} dropped")
