"""``python -m tests.browser.screenshots [DIR]`` (``make screenshots``): every screen of
docs/ui.md photographed from a fresh demo, with the same Playwright and Debian chromium as the
browser tests, into ``docs/ui/`` (or DIR). Exit 2 when no browser can start."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tests.browser.conftest import CHROMIUM, FLAGS, demo_server, sign_in
from tests.browser.screens import SCREENS, Screen

ROOT = Path(__file__).resolve().parents[2]
WINDOW = {"width": 1100, "height": 860}


def open_screen(page: Any, base: str, screen: Screen) -> Any:
    """Open the screen as its persona would, and do what it does first; the answer to the
    address (before ``prepare``)."""
    response = page.goto(base + screen.path)
    if screen.prepare is not None:
        screen.prepare(page)
    if screen.scroll_to:
        page.locator(screen.scroll_to).first.evaluate("e => e.scrollIntoView({block: 'center'})")
    return response


def persona_pages(
    browser: Any, base: str
) -> tuple[Callable[[str | None], Any], Callable[[], None]]:
    """A page per persona, signed in once (None: a page nobody is signed in on), and a way to
    close them all."""
    contexts: dict[str | None, Any] = {}
    pages: dict[str | None, Any] = {}

    def page_of(persona: str | None) -> Any:
        if persona not in pages:
            context = contexts[persona] = browser.new_context(viewport=WINDOW)
            context.set_default_timeout(60_000)
            if persona is None:
                pages[persona] = context.new_page()
            else:
                username, _, agency = persona.partition("@")
                pages[persona] = sign_in(context, base, username, agency=agency or "demo")
        return pages[persona]

    def close() -> None:
        for context in contexts.values():
            context.close()

    return page_of, close


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = Path(args[0]) if args else ROOT / "docs" / "ui"
    if not CHROMIUM:
        print("error: no chromium (apt-get install chromium, or set CASESHARE_CHROMIUM)")
        return 2
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        demo_server(Path(tmp) / "demo.db") as base,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page_of, close = persona_pages(browser, base)
        try:
            for screen in SCREENS:
                page = page_of(screen.persona)
                open_screen(page, base, screen)
                page.screenshot(path=str(out / f"{screen.slug}.png"))
                print(f"  {screen.slug}.png  {screen.title}")
        finally:
            close()
            browser.close()
    print(f"wrote {len(SCREENS)} screenshots to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
