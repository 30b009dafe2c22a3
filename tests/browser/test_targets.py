"""Targets on the "Manage case" screen (SPEC §2, issue 11 item 1): a case's targets with their
identifiers for whoever may view it; add, change and remove for whoever may edit it; refusals in
words beside their field; every change in the case's history (S-AUD-1)."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import assert_accessible, csrf_of, form_post, sign_in


def test_s_2_targets_are_listed_on_the_case_and_edited_with_their_identifiers(
    server: str, context: Any
) -> None:
    page = sign_in(context, server, "wendy")
    page.goto(f"{server}/cases/patient-1")  # her clinic's case: full access
    targets = page.inner_text("#target-list")
    assert "Rex Rivers" in targets and "Suspect" in targets and "AB12 CDE" in targets
    assert "Mia Moss" in targets and "mia.moss@example.org" in targets
    assert_accessible(page, "Manage case with targets")

    page.click("#add-target")
    assert_accessible(page, "Add a target")
    page.select_option("#kind", "witness")
    page.fill("#name", "Wade Walker")
    page.select_option("#type", "phone")
    page.fill("#value", "12")  # too short for a phone number: refused beside the field
    page.click("button:text-is('Add target')")
    assert page.locator("#value-error").is_visible()
    assert "between 3 and 20 digits" in page.inner_text("#value-error")
    assert page.input_value("#name") == "Wade Walker"  # what was typed is kept
    assert_accessible(page, "Add a target, refused")
    page.fill("#value", "+1 555 0100 200")
    page.check("#deconfliction")
    page.click("button:text-is('Add target')")
    page.wait_for_url(f"{server}/cases/patient-1*")
    assert "Added Wade Walker as a witness." in page.inner_text(".flash")
    row = page.locator("#target-list tr", has_text="Wade Walker")
    assert "Witness" in row.inner_text() and "+1 555 0100 200" in row.inner_text()
    assert "deconfliction" in row.inner_text().casefold()

    row.locator("a:text-is('Wade Walker')").click()
    assert_accessible(page, "a target's page")
    page.select_option("#kind", "suspect")
    page.fill("#name", "Wade Walker Jr")
    page.click("button:text-is('Save target')")
    assert page.inner_text("h1") == "Wade Walker Jr (suspect)"
    page.select_option("#add-type", "plate")
    page.fill("#add-value", "--")  # no letters or digits
    page.click("button:text-is('Add identifier')")
    assert "not a valid plate identifier" in page.inner_text("#add-value-error")
    page.fill("#add-value", "xy 99 zzz")
    page.click("button:text-is('Add identifier')")
    assert "xy 99 zzz" in page.inner_text("#identifier-list")
    page.locator("#identifier-list tr", has_text="555").locator("a").click()
    assert_accessible(page, "change an identifier")
    page.uncheck("#deconfliction")
    page.click("button:text-is('Save identifier')")
    phone = page.locator("#identifier-list tr", has_text="555").inner_text()
    assert "Off" in phone
    page.locator("#identifier-list tr", has_text="xy 99 zzz").locator("button").click()
    assert "xy 99 zzz" not in page.inner_text("#identifier-list")
    page.click("button:text-is('Remove Wade Walker Jr')")
    page.wait_for_url(f"{server}/cases/patient-1*")
    assert "Wade Walker" not in page.inner_text("#target-list")

    history = page.inner_text("#history + ol")
    assert "added the target Wade Walker (witness) with 1 identifier(s)" in history
    assert "renamed the target Wade Walker to Wade Walker Jr" in history
    assert "added the vehicle plate xy 99 zzz (target Wade Walker Jr)" in history
    assert "turned deconfliction off for +1 555 0100 200" in history
    assert "removed the target Wade Walker Jr (suspect)" in history


def test_s_2_a_reader_sees_targets_without_controls_and_a_forged_post_is_refused(
    server: str, context: Any
) -> None:
    page = sign_in(context, server, "nina")
    page.goto(f"{server}/cases/patient-2")  # shared with her at read
    assert "Tom Tally" in page.inner_text("#target-list")
    assert page.locator("#add-target").count() == 0
    assert page.locator("#target-list a").count() == 0
    token = csrf_of(page)
    refused = form_post(
        page,
        f"{server}/cases/patient-2/targets/new",
        {"csrf_token": token, "kind": "suspect", "name": "Forged"},
    )
    assert refused.status == 403 and "read access" in refused.text()
    answer = page.goto(f"{server}/cases/patient-2/targets/new")
    assert answer is not None and answer.status == 403
    page.goto(f"{server}/cases/patient-2")
    assert "Forged" not in page.inner_text("#target-list")
    hidden = page.goto(f"{server}/cases/no-such-case/targets/new")
    assert hidden is not None and hidden.status == 404
