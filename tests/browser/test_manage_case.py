"""The seed's "Manage case" screen: only the actions the reader's access allows, each confirmed
where it cannot be undone, refusals in words, and the 403 and 404 pages for what one may not."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import assert_accessible, csrf_of, form_post, open_context, sign_in

ACTIONS = ("Edit case", "Share", "Change owner", "Close case", "Delete case")


def _actions(page: Any) -> list[str]:
    found = page.locator("ul.actions a")
    return [a for a in found.all_inner_texts() if a] if found.count() else []


def test_manage_case_shows_only_the_actions_the_access_allows(server: str, context: Any) -> None:
    page = sign_in(context, server, "wendy")
    page.goto(f"{server}/cases/household-1")  # owned by her clinic: full access
    assert _actions(page) == list(ACTIONS)
    assert page.inner_text("#owner") == "clinic-a (location)"
    assert "Wendy Worker" in page.inner_text("#details")  # who opened it, by name
    assert "patient-1" in page.inner_text("#related")  # its child case
    assert page.get_attribute("a:text-is('Share')", "href") == "/cases/household-1/share"
    assert_accessible(page, "Manage case")
    page = sign_in(context, server, "omar")
    page.goto(f"{server}/cases/household-1")  # a read-only case team member
    assert _actions(page) == []
    assert "read" in page.inner_text("#your-access")


def test_a_read_only_user_sees_no_controls_and_gets_the_403_page_on_a_forged_post(
    server: str, context: Any
) -> None:
    page = sign_in(context, server, "nina")
    page.goto(f"{server}/cases/patient-2")  # shared with her at read
    assert _actions(page) == []
    assert page.locator("form[action$='/close'], form[action$='/edit']").count() == 0
    token = csrf_of(page)
    for tail in ("/close", "/delete", "/edit", "/owner"):
        refused = form_post(page, f"{server}/cases/patient-2{tail}", {"csrf_token": token})
        assert refused.status == 403, tail
        assert "You cannot do that" in refused.text() and "read access" in refused.text()
    page.goto(f"{server}/cases/patient-2/close")
    assert page.inner_text("h1") == "You cannot do that"
    assert_accessible(page, "the 403 page")
    page.goto(f"{server}/cases/patient-2")
    assert page.locator(".case-head .tag").inner_text().casefold() == "open"  # nothing changed
    stale = form_post(page, f"{server}/cases/patient-2/favourite", {"on": "1"})
    assert stale.status == 403 and "expired" in stale.text()  # no CSRF token: refused


def test_an_outsider_gets_the_404_page_for_a_case_id_they_guess(server: str, context: Any) -> None:
    page = sign_in(context, server, "omar")
    hidden = page.goto(f"{server}/cases/private-1")  # exists, not his to see
    missing_page = context.new_page()
    missing = missing_page.goto(f"{server}/cases/no-such-case")
    assert hidden is not None and missing is not None
    assert hidden.status == missing.status == 404
    assert page.inner_text("h1") == missing_page.inner_text("h1") == "Page not found"
    assert_accessible(page, "the 404 page of a case")
    pat = open_context(context.browser)
    try:
        other = sign_in(pat, server, "pat", agency="partner")
        answer = other.goto(f"{server}/cases/household-1")  # another agency's case
        assert answer is not None and answer.status == 404
    finally:
        pat.close()


def test_editing_a_case_keeps_the_input_and_shows_the_refusal_beside_its_field(
    server: str, context: Any
) -> None:
    page = sign_in(context, server, "wendy")
    page.goto(f"{server}/cases/household-1")
    page.click("a:text-is('Edit case')")
    assert_accessible(page, "Edit case")
    page.fill("#name", "Household one")
    page.fill("#new_key", "two words")
    page.fill("#new_value", "x")
    page.click("button:has-text('Save changes')")
    error = page.locator("#new_key-error")
    error.wait_for()
    assert (
        "two words" in error.inner_text() and error.get_attribute("data-code") == "validation_error"
    )
    assert page.locator("[data-error-summary] a[href='#new_key']").count() == 1
    assert page.input_value("#name") == "Household one"  # the input is kept
    page.fill("#new_key", "village")
    page.fill("#new_value", "Amani")
    page.click("button:has-text('Save changes')")
    page.wait_for_url(f"{server}/cases/household-1")
    assert "Saved" in page.inner_text(".flash")
    assert "Household one" in page.inner_text("h1")
    assert "Amani" in page.inner_text("#properties")
    assert "Wendy Worker changed name to “Household one”, village to “Amani”" in page.inner_text(
        "ol.history"
    )


def test_s_tx_4_closing_is_confirmed_first_and_final(server: str, context: Any) -> None:
    page = sign_in(context, server, "wendy")
    page.goto(f"{server}/cases/patient-1")
    page.click("a:text-is('Close case')")
    assert "final" in page.inner_text("main")
    assert_accessible(page, "Close case")
    page.click("button:has-text('Close case')")
    page.wait_for_url(f"{server}/cases/patient-1")
    assert "Closed" in page.inner_text(".flash")
    assert page.locator(".case-head .tag").inner_text().casefold() == "closed"
    assert "Close case" not in _actions(page)  # there is no reopening
    assert "Wendy Worker closed the case" in page.inner_text("ol.history")


def test_s_shr_6_changing_the_owner_says_which_manual_shares_go(server: str, context: Any) -> None:
    nina = sign_in(context, server, "nina")
    nina.goto(f"{server}/cases/private-1")  # shared with her group at edit
    assert _actions(nina) == ["Edit case", "Close case"]
    page = sign_in(
        open_context(context.browser),
        server,
        "wendy",
    )
    page.goto(f"{server}/cases/private-1")
    page.click("a:text-is('Change owner')")
    assert "nurses (group) (edit)" in page.inner_text("#shares-that-go")
    page.fill("#owner-q", "will")
    page.click("button:has-text('Search')")  # the GET search, as without JavaScript
    page.wait_for_url("**owner_q=will**")
    page.check("#owner-results label:has-text('Will Worker') >> xpath=preceding-sibling::input")
    assert_accessible(page, "Change owner")
    page.fill("#reason", "Will takes over")
    page.click("button:has-text('Change owner')")
    page.wait_for_url(f"{server}/cases")  # she no longer sees it
    assert "1 manual share(s) were removed" in page.inner_text(".flash")
    page.context.close()
    gone = nina.goto(f"{server}/cases/private-1")
    assert gone is not None and gone.status == 404  # the nurses' share went with the owner


def test_a_refused_owner_change_is_said_beside_the_picker(server: str, context: Any) -> None:
    page = sign_in(context, server, "wendy")
    page.goto(f"{server}/cases/patient-2/owner")  # assigned to her: full access
    token = csrf_of(page)
    refused = form_post(
        page, f"{server}/cases/patient-2/owner", {"csrf_token": token, "owner": "group:999999"}
    )
    assert refused.status == 422
    assert 'data-code="invalid_owner"' in refused.text()
    assert 'href="#owner-q"' in refused.text()


def test_favourites_and_recent_cases_on_the_first_tab(server: str, context: Any) -> None:
    page = sign_in(context, server, "sam")
    page.goto(f"{server}/cases/referral-1")
    page.click("button:has-text('Add to favourites')")
    page.wait_for_selector("button:has-text('Remove from favourites')")
    page.goto(f"{server}/cases?view=advanced")
    assert "referral-1" in page.inner_text("#favourites")
    assert "referral-1" in page.inner_text("#recent")


def test_deleting_a_case_is_confirmed_and_sends_it_to_the_recycle_bin(
    server: str, context: Any
) -> None:
    page = sign_in(context, server, "wendy")
    page.goto(f"{server}/cases/hh-009")
    page.click("a:text-is('Delete case')")
    assert "recycle bin" in page.inner_text("main")
    assert_accessible(page, "Delete case")
    page.click("button:has-text('Delete case')")
    page.wait_for_url(f"{server}/cases")
    assert "recycle bin" in page.inner_text(".flash")
    gone = page.goto(f"{server}/cases/hh-009")
    assert gone is not None and gone.status == 404


def test_the_case_pages_work_at_360_pixels(browser: Any, server: str) -> None:
    context = open_context(browser, viewport={"width": 360, "height": 740})
    try:
        page = sign_in(context, server, "wendy")
        for tail in ("", "/edit", "/owner?owner_q=nur"):
            page.goto(f"{server}/cases/household-1{tail}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{tail or 'the case'} is {width} px wide"
    finally:
        context.close()
