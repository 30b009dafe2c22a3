"""The sign-in pages in a real browser: Debian's chromium, driven by Playwright, against the real
server on a socket (``caseshare serve --demo``).

It signs in through the form (so the CSRF cookie, the session cookie and the redirect are the
browser's own doing), sees the cases the engine lets Wendy see, is refused with a wrong password,
and signs out. The browser is the system's (``/usr/bin/chromium``, Debian package ``chromium``;
``CASESHARE_CHROMIUM`` names another); Playwright never downloads one. Without it the test is
skipped, with the reason in the summary.
"""

from __future__ import annotations

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

import pytest

from caseshare.demo import DEMO_PASSWORD
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

pytestmark = pytest.mark.skipif(
    not CHROMIUM, reason="no chromium (Debian package chromium, or set CASESHARE_CHROMIUM)"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    db = Path(tmp_path_factory.mktemp("browser")) / "demo.db"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "caseshare.cli", "serve", "--database", f"sqlite:///{db}"),
            *("--demo", "--port", str(port), "--log-level", "warning"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                break
        except (urllib.error.URLError, ConnectionError):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
    yield base
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield launched
        launched.close()


def _sign_in(page: object, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/signin")  # type: ignore[attr-defined]
    page.fill("input[name=agency]", "demo")  # type: ignore[attr-defined]
    page.fill("input[name=username]", username)  # type: ignore[attr-defined]
    page.fill("input[name=password]", password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def test_sign_in_see_my_cases_and_sign_out(server: str, browser: object) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, server, "wendy", DEMO_PASSWORD)
    page.wait_for_url(f"{server}/")
    assert "Wendy Worker" in page.inner_text("body")
    cases = page.locator("#cases li")
    assert cases.count() == 20  # the first page; Wendy sees 100+ cases
    assert "household-1" in page.inner_text("#cases")
    cookies = {c["name"]: c for c in context.cookies()}
    session = cookies["caseshare_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    assert "caseshare_csrf" not in cookies  # the form's token is spent once signed in
    page.click("text=Sign out")
    page.wait_for_url(f"{server}/signin")
    page.goto(f"{server}/")
    page.wait_for_url(f"{server}/signin")  # signed out: home sends the browser to sign in
    context.close()


def test_a_wrong_password_stays_on_the_form_with_a_message(server: str, browser: object) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, server, "nina", "not her password")
    alert = page.locator("[role=alert]")
    alert.wait_for()
    assert "wrong" in alert.inner_text()
    assert "caseshare_session" not in {c["name"] for c in context.cookies()}
    context.close()


def test_the_api_docs_render(server: str, browser: object, tmp_path: Path) -> None:
    """Swagger UI comes from the installed package and renders our OpenAPI 3.1 document (the
    Swagger UI 4 first used could not: "Unable to render this definition"); no request leaves
    the machine."""
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(server) else None,
    )
    page.goto(f"{server}/docs")
    page.locator('[data-path="/api/v1/cases"]').first.wait_for()
    assert "Unable to render" not in page.inner_text("body")
    page.screenshot(path=str(tmp_path / "docs.png"))  # for a person looking at a failure
    assert not outside, outside
    context.close()
