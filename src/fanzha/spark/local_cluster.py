"""A throwaway Spark standalone cluster on loopback: a master and N one-core workers started from
the pyspark wheel's bin/spark-class (tests, bench)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from fanzha.errors import FanzhaError
from fanzha.spark.session import java_home, spark_home
from fanzha.stream.local_nats import free_port


class LocalSparkCluster:
    """`with LocalSparkCluster(workers=2) as c: c.url` - spark://127.0.0.1:P once every worker
    has registered with the master."""

    def __init__(self, workers: int = 2, memory: str = "1g", deadline: float = 90.0):
        home = java_home()
        if home is None:
            raise FanzhaError("Spark needs Java 17 or newer: set JAVA_HOME or install openjdk-17")
        self.env = {
            **os.environ,
            "JAVA_HOME": home,
            "SPARK_HOME": spark_home(),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": sys.executable,
        }
        self.dir = tempfile.mkdtemp(prefix="fanzha-spark-")
        self.env["SPARK_LOG_DIR"] = self.dir
        self.workers, self.memory, self.deadline = workers, memory, deadline
        self.port, self.ui = free_port(), free_port()
        self.procs: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def _start(self, name: str, *args: str) -> None:
        log = open(os.path.join(self.dir, f"{name}.log"), "wb")  # noqa: SIM115 - the process's
        cmd = [os.path.join(self.env["SPARK_HOME"], "bin", "spark-class"), *args]
        self.procs.append(
            subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)
        )
        log.close()

    def _alive(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui}/json/", timeout=2) as r:
            return int(json.load(r).get("aliveworkers", 0))

    def start(self) -> LocalSparkCluster:
        master = "org.apache.spark.deploy.master.Master"
        self._start("master", master, "--host", "127.0.0.1", "--port", str(self.port),
                    "--webui-port", str(self.ui))  # fmt: skip
        for i in range(self.workers):
            work = os.path.join(self.dir, f"work{i}")
            self._start(f"worker{i}", "org.apache.spark.deploy.worker.Worker", self.url,
                        "--host", "127.0.0.1", "--cores", "1", "--memory", self.memory,
                        "--webui-port", str(free_port()), "--work-dir", work)  # fmt: skip
        until = time.monotonic() + self.deadline
        while True:
            if any(p.poll() is not None for p in self.procs):
                self.stop()
                raise FanzhaError(f"a Spark daemon exited at start (logs in {self.dir})")
            try:
                if self._alive() >= self.workers:
                    return self
            except OSError:
                pass
            if time.monotonic() > until:
                self.stop()
                raise FanzhaError(f"the Spark cluster was not up within {self.deadline:.0f} s")
            time.sleep(0.2)

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []

    def __enter__(self) -> LocalSparkCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
