"""DIR/report.html: the scorecard with charts (matplotlib, rendered to PNG and embedded, so the
page is one file that opens offline)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import polars as pl

from fanzha.sim.score import METRICS, Predictions
from fanzha.sim.truth import Truth

DAY_MS = 86_400_000


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def format_value(value: Any, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "share":
        return f"{value * 100:.1f}%"
    if unit == "seconds":
        return _duration(value)
    if unit == "per10k":
        return f"{value:.1f}"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:.2f}"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _scorecard_chart(result: dict) -> str:
    import matplotlib.pyplot as plt

    rows = [(f"{c}.{k}", result[c][k]) for c, k, _, unit in METRICS if unit == "share"]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(rows) + 0.8))
    labels = [r[0] for r in rows][::-1]
    values = [r[1] for r in rows][::-1]
    ax.barh(
        labels,
        [v or 0 for v in values],
        color=["#2b8a3e" if v is not None else "#ced4da" for v in values],
    )
    for i, v in enumerate(values):
        ax.text(
            0.01 if v is None else min(v, 0.9) + 0.01,
            i,
            "n/a" if v is None else f"{v * 100:.1f}%",
            va="center",
            fontsize=8,
        )
    ax.set_xlim(0, 1)
    ax.set_xlabel("share")
    ax.set_title("Scorecard (grey: capability not built yet)")
    return _png(fig)


def _victims_warned(truth: Truth, warnings: pl.DataFrame | None) -> pl.DataFrame | None:
    """The victims with the time each was first warned (null if never); None if no victims."""
    v = truth.get("victims")
    if not v.height:
        return None
    if warnings is not None and warnings.height:
        return v.join(warnings, on="phone", how="left")
    return v.with_columns(warned_ts=pl.lit(None, pl.Int64))


def _victim_chart(truth: Truth, warnings: pl.DataFrame | None) -> str | None:
    import matplotlib.pyplot as plt

    v = _victims_warned(truth, warnings)
    if v is None:
        return None
    v = v.sort("first_contact_ts").with_columns(
        pay_h=(pl.col.first_payment_ts - pl.col.first_contact_ts) / 3_600_000,
        warn_h=(pl.col.warned_ts - pl.col.first_contact_ts) / 3_600_000,
    )
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.12 * v.height + 1)))
    y = list(range(v.height))
    ax.scatter(v["pay_h"].to_list(), y, marker="x", color="#c92a2a", label="first payment", s=18)
    w = v.with_row_index("i").filter(pl.col.warn_h.is_not_null())
    ax.scatter(
        w["warn_h"].to_list(),
        w["i"].to_list(),
        marker="o",
        facecolors="none",
        edgecolors="#2b8a3e",
        label="warned",
        s=22,
    )
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("hours after the first fraud contact")
    ax.set_ylabel("victims (by first contact)")
    ax.set_title("Each victim: when they paid, and when fanzha warned them")
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def _daily_chart(truth: Truth, warnings: pl.DataFrame | None) -> str | None:
    import matplotlib.pyplot as plt

    start = int(truth.world.get("start_ms", 0))
    contacts, pays = truth.get("contacts"), truth.get("payments")
    if not contacts.height:
        return None

    def per_day(df: pl.DataFrame, col: str) -> dict[int, int]:
        if df is None or not df.height:
            return {}
        c = df.select(((pl.col(col) - start) // DAY_MS).alias("d")).group_by("d").len()
        return dict(zip(c["d"].to_list(), c["len"].to_list(), strict=True))

    days = list(range(int(truth.world.get("days", 1))))
    fig, ax = plt.subplots(figsize=(8, 3))
    for df, col, label, color in (
        (contacts, "ts", "fraud contacts", "#868e96"),
        (pays, "ts", "victim payments", "#c92a2a"),
        (warnings, "warned_ts", "people warned", "#2b8a3e"),
    ):
        c = per_day(df, col)
        ax.plot(days, [c.get(d, 0) for d in days], marker=".", label=label, color=color)
    ax.set_yscale("symlog", linthresh=10)
    ax.set_xlabel("day")
    ax.set_title("Per day")
    ax.legend(fontsize=8)
    return _png(fig)


def _scenario_chart(truth: Truth, warnings: pl.DataFrame | None) -> str | None:
    import matplotlib.pyplot as plt

    v = _victims_warned(truth, warnings)
    if v is None:
        return None
    g = (
        v.group_by("fraud_type")
        .agg(
            victims=pl.len(),
            loss=pl.col.loss_fen.sum() / 100,
            before=(pl.col.warned_ts < pl.col.first_payment_ts).fill_null(False).mean(),
        )
        .sort("fraud_type")
    )
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3))
    a1.bar(g["fraud_type"].to_list(), g["loss"].to_list(), color="#c92a2a")
    a1.set_title("loss by fraud type (yuan)")
    a1.tick_params(axis="x", rotation=30, labelsize=7)
    a2.bar(g["fraud_type"].to_list(), g["before"].to_list(), color="#2b8a3e")
    a2.set_ylim(0, 1)
    a2.set_title("victims warned before paying")
    a2.tick_params(axis="x", rotation=30, labelsize=7)
    return _png(fig)


def write_report(path: Path, result: dict, truth: Truth, pred: Predictions) -> None:
    import matplotlib

    matplotlib.use("Agg")
    charts = [
        c
        for c in (
            _scorecard_chart(result),
            _victim_chart(truth, pred.warnings),
            _daily_chart(truth, pred.warnings),
            _scenario_chart(truth, pred.warnings),
        )
        if c
    ]
    meta = result.get("meta", {})
    rows = "".join(
        f"<tr><td>{html.escape(c)}</td><td>{html.escape(label)}</td>"
        f"<td class=v>{html.escape(format_value(result[c][k], unit))}</td><td><code>{c}.{k}</code></td></tr>"
        for c, k, label, unit in METRICS
    )
    facts = "".join(
        f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in meta.items()
    )
    imgs = "".join(f'<p><img src="{c}" alt="chart"></p>' for c in charts)
    path.write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fanzha scorecard</title>
<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;color:#212529}}
table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #dee2e6;padding:.3rem .6rem;text-align:left}}
td.v{{text-align:right;font-weight:bold}}img{{max-width:100%}}</style></head>
<body><h1>fanzha scorecard</h1>
<p>The whole pipeline (ingest, detectors, decide, investigations that exist) on a synthetic city
with known truth. <b>n/a</b>: the capability is not built yet.</p>
<table><tr><th>capability</th><th>metric</th><th>value</th><th>score.json key</th></tr>{rows}</table>
{imgs}
<h2>Run</h2><ul>{facts}</ul>
</body></html>
""",
        encoding="utf-8",
    )
