"""The browser-test harness: Debian's chromium driven by Playwright against the real server.

Each test module gets one server (``caseshare serve --demo`` on its own SQLite file, over a
socket) and the session shares one browser; each test opens its own context (cookies) and
signs in as a demo persona. ``assert_accessible`` runs axe-core (shipped inside the
``axe-playwright-python`` package) and fails on any serious or critical violation.

The browser is the system's (``/usr/bin/chromium``, Debian package ``chromium``;
``CASESHARE_CHROMIUM`` names another): Playwright never downloads one. On a developer's machine
without it the tests are skipped, saying why; in CI (``CI=true``) they fail instead — the same
rule as PostgreSQL (``make test`` installs chromium in CI when it is missing).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from caseshare.demo import DEMO_PASSWORD, load_demo
from caseshare.store import open_store
from tests.test_serve import _free_port

CHROMIUM = os.environ.get("CASESHARE_CHROMIUM") or shutil.which("chromium") or ""
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: what axe-core may report and still pass: only minor and moderate findings
BLOCKING_IMPACTS = ("serious", "critical")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser tests must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo agency, loaded once per run into a SQLite file each module copies."""
    db = Path(tmp_path_factory.mktemp("demo")) / "demo.db"
    store = open_store(f"sqlite:///{db}")
    try:
        load_demo(store)
        store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    return db


@contextlib.contextmanager
def demo_server(db: Path) -> Iterator[str]:
    """``caseshare serve --demo`` on a SQLite file (the demo is loaded when the file is new)
    until the block ends; its base URL. The server's output goes to ``server.log`` beside the
    file (a pipe nobody reads fills up and stops the server); a traceback in it — a 500 some
    page answered — fails the block."""
    port = _free_port()
    log_path = db.parent / "server.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "caseshare.cli", "serve", "--database", f"sqlite:///{db}"),
            *("--demo", "--port", str(port), "--log-level", "warning"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
        log.close()
    errors = log_path.read_text()
    assert "Traceback" not in errors, errors


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_database: Path) -> Iterator[str]:
    """``caseshare serve --demo`` on its own copy of the demo database, for one test module."""
    db = Path(tmp_path_factory.mktemp("browser")) / "demo.db"
    shutil.copyfile(demo_database, db)
    with demo_server(db) as base:
        yield base


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the whole run."""
    if not CHROMIUM:
        _unavailable("no chromium (Debian package chromium, or set CASESHARE_CHROMIUM)")
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as pw:
        try:
            launched = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        except Error as exc:
            _unavailable(f"chromium at {CHROMIUM} did not start: {exc}")
        yield launched
        launched.close()


def open_context(browser: Any, **options: Any) -> Any:
    """A fresh browser context (its own cookies); ``options`` as Playwright's new_context."""
    made = browser.new_context(**({"viewport": {"width": 1100, "height": 900}} | options))
    made.set_default_timeout(30_000)  # a busy 2-core CI machine is slow, not broken
    return made


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser context for one test."""
    made = open_context(browser)
    yield made
    made.close()


def sign_in(
    context: Any, base: str, username: str, password: str = DEMO_PASSWORD, agency: str = "demo"
) -> Any:
    """A page signed in as a demo persona, through the form, as a person would."""
    page = context.new_page()
    page.goto(f"{base}/signin")
    page.fill("#agency", agency)
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/cases*")
    return page


def assert_accessible(page: Any, what: str = "") -> None:
    """axe-core finds no serious or critical violation on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(n["html"][:120] for n in v["nodes"][:3])
        for v in blocking
    )
    assert not blocking, f"axe-core on {what or page.url}:\n{report}"


def form_post(page: Any, url: str, fields: dict[str, str]) -> Any:
    """POST a form with the page's cookies, as a forged or hand-made form would be sent."""
    return page.request.post(url, form=fields, max_redirects=0)


def csrf_of(page: Any) -> str:
    """The session's CSRF token, as every form of the page carries it."""
    return str(page.locator("input[name=csrf_token]").first.get_attribute("value"))
