"""`fanzha serve` (the HTTP API), `fanzha keys` (who may call it), `fanzha partners` (where
notifications go, and delivering them)."""

from __future__ import annotations

import os
import secrets
import sys
from typing import Annotated

import typer
from rich.table import Table

from fanzha.cli._app import DbOption, JsonOption, app, err, fail, out, print_json, store
from fanzha.store import db_url

keys_app = typer.Typer(no_args_is_help=True, help="API keys: add, list, revoke.")
app.add_typer(keys_app, name="keys")
partners_app = typer.Typer(
    no_args_is_help=True, help="Partners' webhooks and drop folders; notifications and delivery."
)
app.add_typer(partners_app, name="partners")


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            help="Worker processes. DuckDB allows one writer process: more than one needs a "
            "PostgreSQL store (--db postgresql://...)."
        ),
    ] = 1,
    sms_sink: Annotated[
        str | None,
        typer.Option(
            "--sms-sink",
            envvar="FANZHA_SMS_SINK",
            help="Where citizens' one-time codes go: a folder (sms.jsonl) or an http(s) URL.",
        ),
    ] = None,
    deliver_every: Annotated[
        float, typer.Option(help="Deliver due notifications every this many seconds (0: off).")
    ] = 30.0,
    engine_every: Annotated[
        float,
        typer.Option(help="Run the detectors over new events every this many seconds (0: off)."),
    ] = 10.0,
    upload_limit_mb: Annotated[int, typer.Option(help="Largest file upload.")] = 1024,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    openapi: Annotated[
        bool, typer.Option("--openapi", help="Print the OpenAPI document and exit.")
    ] = False,
    routes: Annotated[
        bool, typer.Option("--routes", help="Print docs/api.md (routes and roles) and exit.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) over the database."""
    if openapi or routes:
        from fanzha.api import create_app
        from fanzha.api.docs import routes_markdown

        doc = create_app(":memory:").openapi()
        if openapi:
            print_json(doc)
        else:
            sys.stdout.write(routes_markdown(doc))
        return
    import uvicorn

    from fanzha.linkage import SmsSink

    url = db_url(db)
    postgres = url.startswith(("postgresql://", "postgres://"))
    if workers < 1:
        fail("--workers must be at least 1")
    if workers > 1 and not postgres:
        fail(
            "DuckDB allows one writer process: --workers needs a PostgreSQL store "
            "(--db postgresql://...); one process serves many requests (a thread pool)"
        )
    if sms_sink is not None:
        SmsSink(sms_sink)  # a bad target fails now, not at the first citizen
    if workers > 1 and (engine_every or deliver_every):
        err.print(
            f"fanzha serve: with --workers {workers} the detectors and deliveries do not run in "
            "the server (each worker would run them); run `fanzha run` and `fanzha partners "
            "deliver` from one place (e.g. a timer)"
        )
        engine_every = deliver_every = 0
    env = {
        "FANZHA_DB": url,
        "FANZHA_SMS_SINK": sms_sink or "",
        "FANZHA_DELIVER_EVERY": str(deliver_every),
        "FANZHA_ENGINE_EVERY": str(engine_every),
        "FANZHA_UPLOAD_LIMIT": str(upload_limit_mb << 20),
        # one key signs the console's cookies in every worker (a new one each start: log in again)
        "FANZHA_CONSOLE_SECRET": os.environ.get("FANZHA_CONSOLE_SECRET") or secrets.token_hex(32),
    }
    os.environ.update(env)
    store(url).close()  # a locked, unreadable or unreachable store fails here, in one line
    uvicorn.run(
        "fanzha.api:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )


@keys_app.command("add")
def keys_add(
    org: Annotated[str, typer.Option("--org", help="The organisation, e.g. bank-icbc.")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="analyst, police, bank, operator, platform, warehouse or citizen (a citizen app).",
        ),
    ],
    label: Annotated[str | None, typer.Option(help="What the key is for.")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Make a key; it is printed once (only its hash is kept)."""
    from fanzha.api.access import add_key

    with store(db) as s:
        k = add_key(s, org, role, label)
    if json:
        print_json(k)
    else:
        out.print(
            f"key {k['key_id']} for {k['org']} ({k['role']}); keep it, it is not shown again:"
        )
        out.print(k["token"])


@keys_app.command("list")
def keys_list(db: DbOption = None, json: JsonOption = False) -> None:
    """Keys and citizens' sessions (never their secrets)."""
    with store(db, read_only=True) as s:
        rows = s.api_keys().drop_columns(["key_hash", "subject", "phone"]).to_pylist()
    if json:
        print_json(rows)
        return
    t = Table()
    for c in ("key_id", "org", "role", "label", "created_ts", "expires_ts", "revoked_ts"):
        t.add_column(c)
    for r in rows:
        t.add_row(
            *(
                str(r[c] or "")
                for c in (
                    "key_id",
                    "org",
                    "role",
                    "label",
                    "created_ts",
                    "expires_ts",
                    "revoked_ts",
                )
            )
        )
    out.print(t)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (fz_<key id>_...).")],
    db: DbOption = None,
) -> None:
    """Revoke a key at once."""
    from fanzha.linkage import now

    with store(db) as s:
        if not s.revoke_api_key(key_id, now()):
            fail(f"no key {key_id!r} that is not revoked already")
    out.print(f"key {key_id} revoked")


@partners_app.command("set")
def partners_set(
    partner: Annotated[str, typer.Argument(help="The partner (the org of its API key).")],
    webhook: Annotated[
        str | None, typer.Option(help="POST notifications to this http(s) URL, signed.")
    ] = None,
    drop_dir: Annotated[
        str | None, typer.Option(help="Drop notifications as JSON files into this folder.")
    ] = None,
    rotate_secret: Annotated[
        bool, typer.Option("--rotate-secret", help="Make a new signing secret.")
    ] = False,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Where a partner receives its notifications (neither: it pulls them through the API)."""
    from fanzha.linkage import new_secret, now

    if webhook is not None and not webhook.startswith(("http://", "https://")):
        fail("--webhook must be an http(s) URL")
    with store(db) as s:
        old = {p["partner"]: p for p in s.partners()}.get(partner) or {}
        secret = old.get("secret")
        fresh = webhook is not None and (rotate_secret or not secret)
        if fresh:
            secret = new_secret()
        s.put_partner(
            {
                "partner": partner,
                "webhook_url": webhook,
                "secret": secret,
                "file_dir": drop_dir,
                "updated_ts": now(),
            }
        )
    result = {"partner": partner, "webhook_url": webhook, "file_dir": drop_dir}
    if fresh:
        result["secret"] = secret
    if json:
        print_json(result)
        return
    out.print(f"{partner}: webhook {webhook or '-'}, drop folder {drop_dir or '-'}")
    if fresh:
        out.print(f"signing secret (give it to {partner}; shown once): {secret}")


@partners_app.command("list")
def partners_list(db: DbOption = None, json: JsonOption = False) -> None:
    with store(db, read_only=True) as s:
        rows = [
            {k: v for k, v in p.items() if k != "secret"} | {"signed": bool(p["secret"])}
            for p in s.partners()
        ]
    if json:
        print_json(rows)
        return
    for r in rows:
        out.print(f"{r['partner']}: webhook {r['webhook_url'] or '-'}, drop {r['file_dir'] or '-'}")


@partners_app.command("notifications")
def partners_notifications(
    partner: Annotated[str | None, typer.Option(help="Only this partner's.")] = None,
    status: Annotated[str | None, typer.Option(help="pending, delivered or failed.")] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Notifications and their delivery status."""
    with store(db, read_only=True) as s:
        rows = s.notifications(partner=partner, status=status).drop_columns(["payload"])
    rows = rows.to_pylist()
    if json:
        print_json(rows)
        return
    t = Table()
    cols = ("notification_id", "partner", "topic", "status", "attempts", "channel", "last_error")
    for c in cols:
        t.add_column(c)
    for r in rows:
        t.add_row(*(str(r[c] if r[c] is not None else "") for c in cols))
    out.print(t)


@partners_app.command("deliver")
def partners_deliver(db: DbOption = None, json: JsonOption = False) -> None:
    """Deliver every due notification once (webhooks, drop folders)."""
    from fanzha.linkage import deliver, store_session

    with store(db) as s:
        counts = deliver(store_session(s))
    if json:
        print_json(counts)
    else:
        out.print(", ".join(f"{v} {k}" for k, v in counts.items()))
