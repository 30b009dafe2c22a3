"""Find a PostgreSQL server for the tests, or start a throwaway cluster from installed binaries."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class PostgresUnavailable(RuntimeError):
    """No server answered and none could be started."""


def _answers(url: str) -> str | None:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip() or type(exc).__name__
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _throwaway_cluster(base: Path) -> Iterator[str]:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        raise PostgresUnavailable("no PostgreSQL binaries under /usr/lib/postgresql")
    bindir = Path(bins[-1]).parent
    data = base / "pgdata"
    port = _free_port()
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root and runuser is missing")
        run_as = ["runuser", "-u", "postgres", "--"]
        base.chmod(0o777)
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(base / "pg.log"),
            "-o",
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )


@contextlib.contextmanager
def ensure_postgres(url: str | None, factory: pytest.TempPathFactory) -> Iterator[str]:
    """Yield a URL of a server that answers: the given one, the local one, or a throwaway one."""
    url = url or DEFAULT_URL
    problem = _answers(url)
    if problem is None:
        yield url
        return
    try:
        with _throwaway_cluster(factory.mktemp("pg")) as started:
            deadline = time.monotonic() + 30
            while (late := _answers(started)) is not None:
                if time.monotonic() > deadline:
                    raise PostgresUnavailable(f"throwaway cluster did not answer: {late}")
                time.sleep(0.2)
            yield started
    except (subprocess.CalledProcessError, OSError) as exc:
        raise PostgresUnavailable(
            f"{url} did not answer ({problem}) and no cluster started: {exc}"
        ) from exc
