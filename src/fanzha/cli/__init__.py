"""The `fanzha` command line. Every command takes --db (or $FANZHA_DB) and exits non-zero with a
one-line reason on failure."""

from __future__ import annotations

import os
import sys
import traceback

from fanzha.cli import (  # noqa: F401 - registers the commands
    accounts,
    cards,
    dispatch,
    engine,
    funds,
    ingest,
    intel,
    lake,
    leaks,
    model,
    policy,
    privacy,
    schema,
    serve,
    sim,
    sites,
    spark,
    stream,
)
from fanzha.cli._app import app
from fanzha.errors import FanzhaError


def main() -> None:
    try:
        app()
    except FanzhaError as e:
        print(f"fanzha: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("fanzha: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as e:  # a bug: still one line, the traceback on request
        if os.environ.get("FANZHA_DEBUG"):
            traceback.print_exc()
        first = str(e).splitlines()[0] if str(e) else ""
        print(
            f"fanzha: internal error: {type(e).__name__}: {first} "
            "(set FANZHA_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        sys.exit(1)


__all__ = ["app", "main"]
