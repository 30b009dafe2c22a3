"""The main job: ``caseshare serve --demo`` on a new SQLite file, over a real socket, stopped by Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from caseshare.demo import DEMO_PASSWORD


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, body: dict[str, str] | None = None, headers: dict[str, str] | None = None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as response:
        return response.status, json.loads(response.read() or b"null"), response.headers


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_creates_the_database_loads_the_demo_and_stops_on_ctrl_c(
    tmp_path: Path, workers: int
) -> None:
    port = _free_port()
    db = tmp_path / "new.db"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "caseshare.cli",
            "serve",
            "--database",
            f"sqlite:///{db}",
            "--demo",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _request(f"{base}/healthz")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the server did not start within 60 s"
            time.sleep(0.2)
        status, me, headers = _request(
            f"{base}/api/v1/session",
            {"agency": "demo", "username": "wendy", "password": DEMO_PASSWORD},
        )
        assert status == 200 and me["user"]["username"] == "wendy"
        cookie = headers["Set-Cookie"].split(";")[0]
        status, again, _ = _request(f"{base}/api/v1/session", headers={"Cookie": cookie})
        assert again["user"]["id"] == me["user"]["id"]
        try:
            _request(f"{base}/api/v1/session")
            raise AssertionError("an anonymous request was answered")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert f"http://127.0.0.1:{port}/signin" in out
    assert "demo sign-ins" in out and DEMO_PASSWORD in out
    assert "Application shutdown complete" in out
    assert db.exists()
