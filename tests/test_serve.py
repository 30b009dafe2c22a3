"""The main job: ``caseshare serve --demo`` on a new SQLite file, over a real socket, stopped by Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from caseshare.cli.serve import EXIT_CANNOT_LISTEN
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
    # issue 12 item 7: the compiled HTTP stack (in the lock) serves, in worker processes too
    assert "HTTP:     httptools + uvloop" in out, out
    assert "Application shutdown complete" in out
    assert db.exists()
    # one line per request (issue 9): client, method, path (no query), status, time taken
    assert re.search(r"INFO: +127\.0\.0\.1 POST /api/v1/session 200 [0-9.]+ ms", out), out
    assert re.search(r"INFO: +127\.0\.0\.1 GET /api/v1/session 401 [0-9.]+ ms", out), out


def test_a_port_in_use_is_said_plainly_before_any_banner_with_its_own_exit_code(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                *(sys.executable, "-m", "caseshare.cli", "serve"),
                *("--database", f"sqlite:///{tmp_path / 'never.db'}", "--port", str(port)),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == EXIT_CANNOT_LISTEN == 5
    assert done.stdout == ""  # no banner, no sign-in address that would not answer
    assert done.stderr.startswith(f"error: validation_error: Port {port} on 127.0.0.1 is already")
    assert f"make run PORT={port + 1}" in done.stderr
    assert not (tmp_path / "never.db").exists()  # nothing was created or loaded


def test_make_run_takes_port_host_and_database() -> None:
    root = Path(__file__).resolve().parents[1]

    def command(*settings: str) -> str:
        env = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST", "DATABASE")}
        done = subprocess.run(
            ["make", "-n", "-s", "run", *settings],
            cwd=root,
            capture_output=True,
            text=True,
            env=env,
        )
        return done.stdout.strip().splitlines()[-1]

    assert command().endswith(
        'serve --database "sqlite:///caseshare.db" --host "127.0.0.1" --port "8000" --demo'
    )
    chosen = command("PORT=8001", "HOST=0.0.0.0", "DATABASE=other.db")
    assert '--database "sqlite:///other.db" --host "0.0.0.0" --port "8001"' in chosen
    url = "postgresql://postgres@127.0.0.1:5432/cs"
    assert f'--database "{url}"' in command(f"DATABASE={url}")


def test_s_not_1_serve_with_smtp_delivers_the_outbox_from_the_server_process(
    tmp_path: Path,
) -> None:
    """``caseshare serve --smtp URL --base-url …``: a message waiting before the start, and one
    a request writes while it runs, both reach the mail server; Ctrl-C stops the delivery too."""
    from caseshare.store import open_store
    from tests.services.cast import build_cast
    from tests.smtpserver import Handler, running

    url = f"sqlite:///{tmp_path / 'mail.db'}"
    store = open_store(url)
    cast = build_cast(store)  # Olga's share with Rita already waits in the outbox
    token = cast.svc.create_token(cast.owner, "tests")[1]
    store.close()
    port = _free_port()
    with running(Handler()) as smtp:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "caseshare.cli",
                "serve",
                "--database",
                url,
                "--port",
                str(port),
                "--smtp",
                smtp.url,
                "--base-url",
                "https://cs.example.org",
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
            status, _, _ = _request(
                f"{base}/api/v1/cases/{cast.case}/assignees",
                {"user_id": cast.outsider},  # type: ignore[dict-item]  # (an int in JSON)
                {"Authorization": f"Bearer {token}"},
            )
            assert status == 201
            deadline = time.monotonic() + 30
            while len(smtp.handler.received) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert f"email:    smtp://127.0.0.1:{smtp.port}" in out
    subjects = sorted(str(r.message["Subject"]) for r in smtp.handler.received)
    assert subjects == [
        "Olga Owner shared case Ann Smith with you",
        "You were assigned to case Ann Smith",
    ]
    body = smtp.handler.received[-1].message.get_payload(decode=True).decode()
    assert "https://cs.example.org/cases/k1" in body
    store = open_store(url)
    try:
        assert store.outbox_counts(None)["sent"] == 2
    finally:
        store.close()


def test_issue12_http_stacks_compiled_where_installed_pure_on_request() -> None:
    import pickle

    from caseshare.http.protocol import NoDelayH11Protocol, stack

    protocol, loop, name = stack("auto")
    assert (loop, name) == ("uvloop", "httptools + uvloop")
    assert protocol.__name__ == "NoDelayHttpToolsProtocol"
    assert pickle.loads(pickle.dumps(protocol)) is protocol  # handed to worker processes
    assert stack("compiled")[1] == "uvloop"
    assert stack("pure") == (NoDelayH11Protocol, "asyncio", "h11 + asyncio")
    with pytest.raises(ValueError):
        stack("fast")
