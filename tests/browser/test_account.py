"""My account in a real browser: API tokens shown once and revoked, the password changed with
the current one, the View cases setting, signing out everywhere; and /docs trying a write with
the session's CSRF token (issue 9)."""

from __future__ import annotations

import json
from typing import Any

from caseshare.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, sign_in


def _error(page: Any, field: str) -> tuple[str, str]:
    found = page.locator(f"#{field}-error")
    return str(found.get_attribute("data-code")), found.inner_text()


def test_a_token_is_created_shown_once_used_and_revoked(server: str, context: Any) -> None:
    page = sign_in(context, server, "sam")
    page.click("nav[aria-label='Main menu'] >> text=My account")
    page.wait_for_url(f"{server}/account")
    page.click("button:has-text('Create token')")  # no name
    assert _error(page, "token_name")[0] == "validation_error"
    page.fill("#token_name", "nightly export")
    page.click("button:has-text('Create token')")
    secret = page.input_value("#new-token-secret")
    assert secret.startswith("cs_") and "shown only this once" in page.inner_text("#new-token")
    api = page.context.request  # a program, with the token and without the browser's cookie
    me = api.get(f"{server}/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"})
    assert me.status == 200 and [t["name"] for t in me.json()["items"]] == ["nightly export"]

    page.goto(f"{server}/account")
    assert secret not in page.content()  # never shown again
    row = page.locator("#token-list tr", has_text="nightly export")
    assert "Never" not in row.inner_text()  # the program's use is recorded
    row.locator("button:has-text('Revoke')").click()
    page.wait_for_url(f"{server}/account")
    assert "Revoked the token “nightly export”" in page.inner_text(".flash")
    assert (
        "revoked" in page.locator("#token-list tr", has_text="nightly export").inner_text().lower()
    )
    gone = api.get(f"{server}/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"})
    assert gone.status == 401


def test_the_password_is_changed_with_the_current_one_and_other_browsers_sign_out(
    server: str, context: Any, browser: Any
) -> None:
    other = browser.new_context()
    elsewhere = sign_in(other, server, "vera")
    page = sign_in(context, server, "vera")
    page.goto(f"{server}/account")
    page.fill("#current_password", "not my password")
    page.fill("#new_password", "a new secret 42")
    page.fill("#confirm_password", "a new secret 42")
    page.click("button:has-text('Change password')")
    code, said = _error(page, "current_password")
    assert code == "insufficient_access" and "current password is wrong" in said
    assert page.input_value("#new_password") == ""  # passwords are never sent back
    assert_accessible(page, "My account with a refused password change")

    page.fill("#current_password", DEMO_PASSWORD)
    page.fill("#new_password", "a new secret 42")
    page.fill("#confirm_password", "a new secret 24")
    page.click("button:has-text('Change password')")
    assert _error(page, "confirm_password")[0] == "validation_error"

    page.fill("#current_password", DEMO_PASSWORD)
    page.fill("#new_password", "a new secret 42")
    page.fill("#confirm_password", "a new secret 42")
    page.click("button:has-text('Change password')")
    page.wait_for_url(f"{server}/account")
    assert "Your password is changed" in page.inner_text(".flash")
    page.goto(f"{server}/cases")  # this browser is still signed in
    assert "Vera Viewer" in page.inner_text("header")
    elsewhere.goto(f"{server}/cases")  # the other one is not
    elsewhere.wait_for_url(f"{server}/signin*")
    other.close()

    page.click("header >> text=Sign out")
    page.wait_for_url(f"{server}/signin")
    sign_in(context, server, "vera", "a new secret 42")


def test_the_view_cases_setting_and_signing_out_of_every_browser(
    server: str, context: Any, browser: Any
) -> None:
    other = browser.new_context()
    elsewhere = sign_in(other, server, "dora")
    page = sign_in(context, server, "dora")
    page.goto(f"{server}/account")
    page.check("#layout >> label:has-text('Tree view')")
    page.click("button:has-text('Save setting')")
    page.wait_for_url(f"{server}/account")
    assert "Tree view" in page.inner_text(".flash")
    page.click("nav[aria-label='Main menu'] >> text=View cases")
    assert page.inner_text("h1") == "View i-cases"
    page.goto(f"{server}/account")
    page.click("button:has-text('Sign out of every browser')")
    page.wait_for_url(f"{server}/signin")
    elsewhere.goto(f"{server}/cases")
    elsewhere.wait_for_url(f"{server}/signin*")
    other.close()


def test_docs_tries_a_write_with_the_sessions_csrf_token(server: str, context: Any) -> None:
    """Swagger UI's "Try it out" creates a token as the signed-in person: the write carries
    X-CSRF-Token (before, it was refused for want of it)."""
    page = sign_in(context, server, "will")
    sent: list[dict[str, str]] = []
    page.on(
        "request",
        lambda r: sent.append(r.headers) if r.method == "POST" and "/api/v1/tokens" in r.url else 0,
    )
    page.goto(f"{server}/docs#/session/create_token_api_v1_tokens_post")
    operation = page.locator("#operations-session-create_token_api_v1_tokens_post")
    operation.wait_for(timeout=60_000)  # Swagger UI is a large script: slow on a busy machine
    if operation.locator("button:has-text('Try it out')").count() == 0:
        operation.locator(".opblock-summary").click()
    operation.locator("button:has-text('Try it out')").click()
    operation.locator("textarea.body-param__text").fill(json.dumps({"name": "from the docs"}))
    operation.locator("button:has-text('Execute')").click()
    status = operation.locator(".live-responses-table tr.response .response-col_status")
    status.wait_for()
    assert status.inner_text().strip() == "201"
    assert sent and sent[0].get("x-csrf-token")
    page.goto(f"{server}/account")
    assert "from the docs" in page.inner_text("#token-list")
