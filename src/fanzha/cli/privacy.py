"""`fanzha mask` (CSV/JSONL/Parquet by a policy) and `fanzha mask-text` (free text, line for line)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from fanzha.cli._app import DbOption, JsonOption, app, err, fail, out, print_json
from fanzha.errors import FanzhaError
from fanzha.privacy import BUILT_IN, Keys, Masker, load_policy, mask_file, mask_lines
from fanzha.privacy.keyed import KEY_ENV

KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        help=f"Secret for pseudonym/fake/encrypt operators (default: ${KEY_ENV}).",
    ),
]


def _keys(key_file: Path | None) -> Keys | None:
    if key_file is None:
        return Keys.from_env()
    try:
        text = key_file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        fail(f"--key-file {key_file}: cannot read it ({e})")
    return Keys.from_text(text)


def _masker(policy: str, key_file: Path | None, ner: str | None) -> Masker:
    p = load_policy(policy)
    if ner is not None:
        if ner not in ("auto", "lac", "rules", "off"):
            fail("--ner must be auto, lac, rules or off")
        from dataclasses import replace

        p = replace(p, text_ner=ner)
    try:
        return Masker(p, _keys(key_file))
    except ValueError as e:  # e.g. --ner lac without the model installed
        raise FanzhaError(str(e)) from None


NerOption = Annotated[
    str | None,
    typer.Option(
        "--ner",
        help="Names/addresses in free text: auto (model if installed), lac, rules, off.",
    ),
]


@app.command("mask")
def mask_cmd(
    file: Annotated[Path, typer.Argument(help="CSV, JSONL or Parquet file to mask.")],
    policy: Annotated[
        str, typer.Option("--policy", help=f"Built-in ({', '.join(BUILT_IN)}) or a YAML file.")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Masked file (same format).")],
    key_file: KeyFileOption = None,
    ner: NerOption = None,
    chunk_rows: Annotated[int, typer.Option(help="Rows per streamed chunk.")] = 20_000,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Mask a file column by column with a policy (streaming, with a progress bar)."""
    masker = _masker(policy, key_file, ner)
    show = not json and err.is_terminal
    with Progress(
        TextColumn(os.path.basename(str(file))),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not show,
        transient=True,
    ) as bar:
        task = bar.add_task("mask", total=None)
        summary = mask_file(
            str(file),
            str(output),
            masker,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            chunk_rows=chunk_rows,
        )
    if json:
        print_json(summary.to_dict())
        return
    kinds = ", ".join(f"{c}={k}" for c, k in summary.columns.items())
    out.print(
        f"masked {summary.rows} row(s) of {file} into {output} with policy {masker.policy.name}"
    )
    out.print(f"columns: {kinds}")
    if summary.rejected:
        out.print(
            f"{summary.rejected} unreadable row(s) not copied ({summary.reasons}); "
            f"see {summary.rejected_path}"
        )


@app.command("mask-text")
def mask_text_cmd(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Text files (default: standard input).")
    ] = None,
    profile: Annotated[
        str,
        typer.Option("--profile", help=f"Policy: {', '.join(BUILT_IN)} or a YAML file."),
    ] = "display",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of standard output.")
    ] = None,
    key_file: KeyFileOption = None,
    ner: NerOption = None,
    db: DbOption = None,
) -> None:
    """Mask personal information in free text, line for line (stdin -> stdout, or files)."""
    masker = _masker(profile, key_file, ner)
    sink = open(output, "w", encoding="utf-8") if output else None  # noqa: SIM115
    write = sink.write if sink else sys.stdout.write
    try:
        sources = [str(f) for f in files] if files else ["-"]
        for src in sources:
            if src == "-":
                lines = sys.stdin.buffer
            else:
                if not os.path.isfile(src):
                    fail(f"{src}: no such file")
                lines = open(src, "rb")  # noqa: SIM115 - closed below
            try:
                for line in mask_lines(lines, masker):
                    write(line + "\n")
            finally:
                if src != "-":
                    lines.close()
    finally:
        if sink:
            sink.close()
        else:
            sys.stdout.flush()
