"""A throwaway PostgreSQL server on loopback, for tests and benchmarks (never for data you keep:
fsync is off).

It finds the server programs (on PATH, else Debian's /usr/lib/postgresql/<version>/bin), makes a
cluster in a temporary directory, starts it on a free port of 127.0.0.1 (no Unix socket outside
that directory) and, on `stop`, stops it and deletes the directory. PostgreSQL refuses to run as
root, so as root the server runs as the `postgres` user (Debian's package makes it), else as
`nobody`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from fanzha.errors import FanzhaError

SUPERUSER = "fanzha"


def server_bin() -> Path | None:
    """The directory that holds initdb, pg_ctl and postgres, or None if PostgreSQL is not
    installed."""
    found = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        found.append(Path(os.path.realpath(on_path)).parent)

    def version(p: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", p.parent.name)) or (0,)

    found += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for d in found:
        if all((d / p).is_file() for p in ("initdb", "pg_ctl", "postgres")):
            return d
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPostgres:
    """`with LocalPostgres() as pg: url = pg.create_database("t1")`."""

    def __init__(self) -> None:
        self.bin = server_bin()
        if self.bin is None:
            raise FanzhaError(
                "PostgreSQL is not installed (no initdb/pg_ctl on PATH or in "
                "/usr/lib/postgresql/*/bin); apt-get install postgresql"
            )
        self.dir: Path | None = None
        self.port = 0
        self._user: pwd.struct_passwd | None = None  # whom the server runs as, if not us
        if os.geteuid() == 0:
            try:
                self._user = pwd.getpwnam("postgres")
            except KeyError:
                self._user = pwd.getpwnam("nobody")

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        who = {}
        if self._user is not None:  # the child drops root before it starts
            who = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        r = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd="/", **who)
        if r.returncode != 0:
            log = self.dir / "server.log" if self.dir else None
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise FanzhaError(
                f"{Path(args[0]).name} failed ({r.returncode}): {r.stderr.strip()} {tail}".strip()
            )
        return r

    def start(self) -> LocalPostgres:
        try:
            return self._start()
        except BaseException:
            self.stop()  # nothing left behind
            raise

    def _start(self) -> LocalPostgres:
        self.dir = Path(tempfile.mkdtemp(prefix="fanzha-pg-"))
        if self._user is not None:
            os.chown(self.dir, self._user.pw_uid, self._user.pw_gid)
        data = self.dir / "data"
        self._run(
            str(self.bin / "initdb"),
            "-D", str(data), "-U", SUPERUSER, "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        for attempt in range(3):
            self.port = _free_port()
            opts = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            try:
                self._run(
                    str(self.bin / "pg_ctl"),
                    "-D", str(data), "-l", str(self.dir / "server.log"),
                    "-w", "-t", "60", "-o", opts, "start",
                )  # fmt: skip
                return self
            except FanzhaError:
                if attempt == 2:
                    raise
        return self

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database (a copy of `template` if given); its URL."""
        return create_database(self.url(), name, template)

    def stop(self) -> None:
        if self.dir is None:
            return
        with contextlib.suppress(FanzhaError, OSError):  # never started: nothing to stop
            self._run(
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.dir / "data"),
                "-m",
                "immediate",
                "-w",
                "stop",
            )
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _admin(url: str, sql: str) -> None:
    import adbc_driver_postgresql.dbapi as pg

    with pg.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(sql)


def create_database(admin_url: str, name: str, template: str | None = None) -> str:
    """Create database `name` on the server of `admin_url` (a copy of `template` if given)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise FanzhaError(f"not a plain database name: {name!r}")
    _admin(admin_url, f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    return with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    _admin(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def with_database(url: str, name: str) -> str:
    """The same server URL, naming database `name`."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
