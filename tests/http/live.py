"""``caseshare serve`` in its own process on a free port, for tests that need what the in-process
test client cannot give: a real socket, hundreds of clients at once, a kill -9 and a restart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """One ``caseshare serve`` process over ``database``; ``start`` again after ``kill``."""

    def __init__(self, database: str, log: Path, *args: str, env: dict[str, str] | None = None):
        self.database = database
        self.log = log
        self.args = args
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        command = [sys.executable, "-m", "caseshare.cli", "serve", "--database", self.database]
        command += ["--port", str(self.port), "--log-level", "warning", *self.args]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=self.env
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if self.proc.poll() is not None:
                raise AssertionError(f"the server stopped at start:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the server did not start in {timeout} s:\n{self.output()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, no goodbye."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:] if self.log.exists() else ""


@contextmanager
def serving(
    database: str, log: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    server = LiveServer(database, log, *args, env=env)
    server.start()
    try:
        yield server
    finally:
        server.stop()
