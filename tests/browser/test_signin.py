"""Signing in and out, the layout every page shares, and the error pages, in a real browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from caseshare.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, sign_in


def test_sign_in_lands_on_view_cases_and_sign_out_ends_the_session(
    server: str, context: Any
) -> None:
    page = context.new_page()
    page.goto(f"{server}/signin")
    assert_accessible(page, "the sign-in page")
    page.fill("#agency", "demo")
    page.fill("#username", "wendy")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{server}/cases*")
    header = page.inner_text("header")
    assert "Wendy Worker" in header and "Demo District Health" in header
    assert "View cases" in header and "My account" in header
    assert "People" not in header  # the admin entries are for admins only
    cookies = {c["name"]: c for c in context.cookies()}
    session = cookies["caseshare_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    assert "caseshare_csrf" not in cookies  # the form's token is spent once signed in
    page.click("text=Sign out")
    page.wait_for_url(f"{server}/signin")
    page.goto(f"{server}/cases")
    page.wait_for_url(f"{server}/signin?next=%2Fcases")  # signed out: the sign-in page


def test_a_wrong_password_stays_on_the_form_with_the_reason_beside_the_field(
    server: str, context: Any
) -> None:
    page = context.new_page()
    page.goto(f"{server}/signin")
    page.fill("#agency", "demo")
    page.fill("#username", "nina")
    page.fill("#password", "not her password")
    page.click("button:has-text('Sign in')")
    summary = page.locator("[data-error-summary]")
    summary.wait_for()
    assert "wrong" in summary.inner_text()
    assert "wrong" in page.inner_text("#password-error")
    assert page.input_value("#username") == "nina"  # the input is kept, the password is not
    assert page.input_value("#password") == ""
    assert "caseshare_session" not in {c["name"] for c in context.cookies()}
    assert_accessible(page, "the sign-in page with an error")


def test_signing_in_returns_to_the_page_asked_for(server: str, context: Any) -> None:
    page = context.new_page()
    page.goto(f"{server}/cases?view=tree")
    page.wait_for_url(f"{server}/signin?next=*")
    page.fill("#agency", "demo")
    page.fill("#username", "nina")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{server}/cases?view=tree")


def test_admins_see_the_admin_entries_of_the_main_menu(server: str, context: Any) -> None:
    page = sign_in(context, server, "admin")
    menu = page.locator("nav[aria-label='Main menu']").inner_text()
    assert "People" in menu and "Sharing settings" in menu


def test_an_unknown_page_reads_like_a_404_page_and_the_api_keeps_json(
    server: str, context: Any
) -> None:
    page = sign_in(context, server, "nina")
    response = page.goto(f"{server}/no/such/page")
    assert response is not None and response.status == 404
    assert page.inner_text("h1") == "Page not found"
    assert "Nina Nurse" in page.inner_text("header")  # still the signed-in layout
    assert_accessible(page, "the 404 page")
    api = page.request.get(f"{server}/api/v1/no/such/thing")
    assert api.status == 404 and api.json()["code"] == "not_found"


def test_the_api_docs_render(server: str, context: Any, tmp_path: Path) -> None:
    """Swagger UI comes from the installed package and renders our OpenAPI 3.1 document (the
    Swagger UI 4 first used could not: "Unable to render this definition"); no request leaves
    the machine."""
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(server) else None,
    )
    page.goto(f"{server}/docs")
    # Swagger UI is a 1.4 MB script and a 300 kB document: 15 s on a busy 2-core machine
    page.locator('[data-path="/api/v1/cases"]').first.wait_for(timeout=60_000)
    assert "Unable to render" not in page.inner_text("body")
    page.screenshot(path=str(tmp_path / "docs.png"))  # for a person looking at a failure
    assert not outside, outside
