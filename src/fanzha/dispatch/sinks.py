"""Where dissuasion tasks go: a directory of JSONL files, or an HTTP webhook.

Each task carries its `task_id` as an idempotency key. The file sink never writes a task id twice
(it reads the ids already in its files when it opens), so even a dispatch killed between sending
and recording sends nothing twice; a webhook receiver gets the id in the `Idempotency-Key` header
to do the same.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol

import orjson

from fanzha.errors import FanzhaError


class SinkError(Exception):
    """This task could not be delivered now (it is retried by the next dispatch)."""


class Sink(Protocol):
    name: str

    def send(self, task: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class FileSink:
    """One JSONL file per channel in a directory (SMS gateway, call centre, ... pick them up)."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise FanzhaError(f"cannot create sink directory {self.dir}: {e.strerror}") from None
        self.name = str(self.dir)
        self._seen: set[str] = set()
        for p in self.dir.glob("*.jsonl"):
            with open(p, "rb") as fh:
                for line in fh:
                    try:
                        self._seen.add(orjson.loads(line)["task_id"])
                    except (orjson.JSONDecodeError, KeyError, TypeError):
                        continue  # a torn last line of a killed run: that task is resent
        self._files: dict[str, Any] = {}

    def send(self, task: dict[str, Any]) -> None:
        if task["task_id"] in self._seen:
            return
        ch = task["channel"]
        fh = self._files.get(ch)
        try:
            if fh is None:
                fh = self._files[ch] = open(self.dir / f"{ch}.jsonl", "ab")  # noqa: SIM115
            fh.write(orjson.dumps(task, default=str) + b"\n")
            fh.flush()
        except OSError as e:
            raise SinkError(f"{self.dir}: {e.strerror or e}") from None
        self._seen.add(task["task_id"])

    def close(self) -> None:
        for fh in self._files.values():
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
        self._files = {}


class WebhookSink:
    """POST each task as JSON to a URL; 2xx is delivered, anything else is retried later."""

    def __init__(self, url: str, timeout_s: float = 10.0):
        self.url = self.name = url
        self.timeout_s = timeout_s

    def send(self, task: dict[str, Any]) -> None:
        req = urllib.request.Request(
            self.url,
            data=orjson.dumps(task, default=str),
            method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": task["task_id"]},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                if not 200 <= r.status < 300:
                    raise SinkError(f"{self.url} answered {r.status}")
        except urllib.error.HTTPError as e:
            raise SinkError(f"{self.url} answered {e.code}") from None
        except (urllib.error.URLError, OSError) as e:
            raise SinkError(f"{self.url}: {getattr(e, 'reason', e)}") from None

    def close(self) -> None:
        pass


def open_sink(target: str) -> Sink:
    """A webhook for http(s) URLs, else a directory."""
    if target.startswith(("http://", "https://")):
        return WebhookSink(target)
    if "://" in target:
        raise FanzhaError(f"--sink {target!r}: only a directory or an http(s) URL")
    return FileSink(target)
