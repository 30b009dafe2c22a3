"""Every screen of docs/ui.md (tests/browser/screens.py): axe-core finds no serious or critical
violation, and the page fits a 360 px wide window without scrolling sideways (issue 9)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser.conftest import assert_accessible
from tests.browser.screens import SCREENS, Screen
from tests.browser.screenshots import ROOT, WINDOW, open_screen, persona_pages


@pytest.fixture(scope="module")
def pages(browser: Any, server: str) -> Iterator[Callable[[str | None], Any]]:
    page_of, close = persona_pages(browser, server)
    yield page_of
    close()


#: the screens whose markup is ours (Swagger UI's is not; test_signin.py sees that /docs renders)
OURS = [s for s in SCREENS if s.axe]


@pytest.mark.parametrize("screen", OURS, ids=[s.slug for s in OURS])
def test_every_screen_passes_axe_core_and_fits_a_360_px_window(
    screen: Screen, server: str, pages: Callable[[str | None], Any]
) -> None:
    page = pages(screen.persona)
    page.set_viewport_size(WINDOW)
    response = open_screen(page, server, screen)
    assert response is not None and response.status == screen.status, screen.path
    assert_accessible(page, screen.title)
    page.set_viewport_size({"width": 360, "height": 800})
    sideways = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert sideways <= 1, f"{screen.path} scrolls {sideways} px sideways at 360 px"


def test_docs_ui_shows_every_screen_and_every_picture_is_of_one() -> None:
    """docs/ui.md and docs/ui/ stay in step with the list the screenshots are made from."""
    text = (ROOT / "docs" / "ui.md").read_text(encoding="utf-8")
    pictures = {p.stem for p in (ROOT / "docs" / "ui").glob("*.png")}
    slugs = {s.slug for s in SCREENS}
    assert pictures == slugs, "run make screenshots"
    for screen in SCREENS:
        assert f"(ui/{screen.slug}.png)" in text, screen.slug
