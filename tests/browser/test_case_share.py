"""The "Case share details" screen in a real browser, as the demo personas (issue 9); each
screen itself is held to axe-core in test_screens.py, these add the states flows lead to.

One server per module (the demo on its own SQLite file); each test works on its own cases, so
the tests never depend on their order.
"""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import assert_accessible, csrf_of, form_post, sign_in


def _cases_tab(page: Any, server: str) -> None:
    page.goto(f"{server}/cases?view=advanced")
    page.click('nav[aria-label=Tabs] >> text="Cases"')
    page.wait_for_url(re.compile(r".*tab=cases.*"))


def test_s_asg_1_nina_finds_a_case_assigns_omar_through_the_name_search_and_omar_sees_it(
    server: str, context: Any, browser: Any
) -> None:
    omar_context = browser.new_context()
    omar = sign_in(omar_context, server, "omar")
    omar.goto(f"{server}/cases?view=grid&scope=assigned")
    assert "Referral from Amani" not in omar.inner_text("#cases")

    nina = sign_in(context, server, "nina")
    _cases_tab(nina, server)
    nina.check("#created_by_me")
    nina.select_option("#case_type", "referral")
    nina.fill("#q", "Amani")
    nina.click("button:has-text('Apply filters')")
    nina.click("#cases >> text=Referral from Amani")
    nina.wait_for_url(f"{server}/cases/rf-077")
    nina.click(".actions >> text=Share")
    nina.wait_for_url(f"{server}/cases/rf-077/share")
    assert nina.inner_text("h1") == "Case share details: Referral from Amani"

    nina.fill("#assign-q", "outsid")  # any part of a name or email; the list follows the typing
    nina.locator("#assign-results >> text=Omar Outsider").wait_for()
    nina.check("#assign-results >> label:has-text('Omar Outsider')")
    nina.click("button:has-text('Save assign')")
    nina.wait_for_url(f"{server}/cases/rf-077")  # the seed: the Manage case screen reopens
    assert "Assigned Omar Outsider to the case" in nina.inner_text(".flash")
    nina.goto(f"{server}/cases/rf-077/share")
    assert "Omar Outsider" in nina.inner_text("#assignees")
    assert "Nina Nurse" in nina.inner_text("#sharing-history")

    omar.goto(f"{server}/cases?view=grid&scope=assigned")
    omar.click("#cases >> text=Referral from Amani")
    omar.wait_for_url(f"{server}/cases/rf-077")
    actions = omar.inner_text(".actions")
    assert "Edit case" in actions and "Share" in actions  # assignees work it as its creator
    omar_context.close()


def test_wendy_shares_a_case_with_a_group_at_edit_and_a_member_edits_it(
    server: str, context: Any, browser: Any
) -> None:
    nina_context = browser.new_context()
    nina = sign_in(nina_context, server, "nina")
    nina.goto(f"{server}/cases/household-1")
    assert nina.locator(".actions >> text=Edit case").count() == 0  # read only, for now

    wendy = sign_in(context, server, "wendy")
    wendy.goto(f"{server}/cases/household-1/share")
    wendy.fill("#share-q", "everyone-n")
    wendy.locator("#share-results >> text=everyone-north").wait_for()
    wendy.check("#share-results >> label:has-text('everyone-north')")
    wendy.check("#share-level >> label:has-text('Read and edit')")
    wendy.click("button:has-text('Save share')")
    wendy.wait_for_url(f"{server}/cases/household-1/share#sharing")
    assert "Shared the case with everyone-north (group): edit." in wendy.inner_text(".flash")
    row = wendy.locator("#grants tr", has_text="everyone-north (group)")
    assert "Edit" in row.inner_text() and "Manual share" in row.inner_text()
    assert "by Wendy Worker" in row.inner_text()
    who = wendy.locator("#who-has-access tr", has_text="Nina Nurse").inner_text()
    assert "Manual share by Wendy Worker: member of nurses (group), which is in" in who
    assert_accessible(wendy, "Case share details after a share")
    wendy.fill("#share-q", "everyone in")  # the whole agency, by the picker too
    wendy.check("#share-results >> label:has-text('Everyone in Demo District Health')")
    wendy.check("#share-level >> label:has-text('Read only')")
    wendy.click("button:has-text('Save share')")
    wendy.wait_for_url(f"{server}/cases/household-1/share#sharing")
    assert "with everyone in Demo District Health: read." in wendy.inner_text(".flash")

    nina.goto(f"{server}/cases/household-1")
    nina.click(".actions >> text=Edit case")
    nina.fill("#name", "Household 1, visited")
    nina.click("button:has-text('Save changes')")
    nina.wait_for_url(f"{server}/cases/household-1")
    assert "Household 1, visited" in nina.inner_text("h1")
    nina_context.close()


def test_a_read_only_user_sees_no_share_controls_and_a_post_anyway_is_the_403_page(
    server: str, context: Any
) -> None:
    omar = sign_in(context, server, "omar")  # an observer in household-1's case team: read
    omar.goto(f"{server}/cases/household-1")
    assert omar.locator(".actions >> text=Share").count() == 0
    omar.click("#who-has-access-link")
    omar.wait_for_url(f"{server}/cases/household-1/share")
    assert "only people with full access" in omar.inner_text("#your-access")
    assert omar.locator("main form[method=post]").count() == 0  # no control at all
    for control in ("Save assign", "Save share", "Add to team", "Remove", "Save level"):
        assert omar.locator(f"button:has-text('{control}')").count() == 0
    assert "Omar Outsider" in omar.inner_text("#who-has-access")
    answer = form_post(
        omar,
        f"{server}/cases/household-1/share/manual",
        {"csrf_token": csrf_of(omar), "share": "user:7", "share-level": "edit"},
    )
    assert answer.status == 403
    assert "You cannot do that" in answer.text() and "insufficient_access" in answer.text()
    for tail in ("/assign", "/team"):
        refused = form_post(
            omar,
            f"{server}/cases/household-1/share{tail}",
            {"csrf_token": csrf_of(omar), "assign": "user:7", "team": "user:7", "team-role": "1"},
        )
        assert refused.status == 403, tail
    omar.goto(f"{server}/cases/household-1/share")
    assert "Omar Outsider" in omar.inner_text("#team-members")  # nothing was changed


def test_an_outsider_gets_the_404_page_for_the_share_screen_of_a_case_they_cannot_see(
    server: str, context: Any
) -> None:
    omar = sign_in(context, server, "omar")
    response = omar.goto(f"{server}/cases/private-1/share")
    assert response is not None and response.status == 404
    assert omar.inner_text("h1") == "Page not found"


def _error(page: Any, field: str) -> tuple[str, str]:
    """The refusal beside a field: its §14 code and its sentence."""
    found = page.locator(f"#{field}-error")
    return str(found.get_attribute("data-code")), found.inner_text()


def test_every_refusal_appears_beside_its_field(server: str, context: Any) -> None:
    """S-SHR-1…5 and S-ASG-1 refusals, each as the API's sentence beside the field it concerns,
    linked from the error summary, with the input kept."""
    nina = sign_in(context, server, "nina")
    share = f"{server}/cases/referral-1/share"
    nina.goto(share)
    nina.click("button:has-text('Save share')")  # nothing chosen
    assert nina.locator("[data-error-summary] a[href='#share-q']").count() == 1
    assert _error(nina, "share-q")[0] == "validation_error"
    assert _error(nina, "share-level")[0] == "validation_error"
    assert_accessible(nina, "Case share details with refusals")

    # without JavaScript's help: the Search button finds the one match and chooses it
    nina.fill("#share-q", "omar@demo")
    nina.click("#share-q ~ button:has-text('Search')")
    nina.wait_for_url(re.compile(r".*share_q=omar.*"))
    assert nina.is_checked("#share-results >> label:has-text('Omar Outsider')")
    nina.check("#share-level >> label:has-text('Read only')")
    nina.click("button:has-text('Save share')")
    code, said = _error(nina, "share-level")  # referral cases are read for everyone already
    assert code == "access_level_too_low" and "must give more than that" in said
    assert nina.is_checked("#share-results >> label:has-text('Omar Outsider')")  # input kept

    nina.check("#share-level >> label:has-text('Read and edit')")
    nina.click("button:has-text('Save share')")
    nina.wait_for_url(f"{share}#sharing")
    row = nina.locator("#grants tr", has_text="Manual share").filter(has_text="Omar Outsider")
    share_id = re.search(r"level-(\d+)", row.inner_html())
    assert share_id is not None
    level = f"level-{share_id[1]}"
    nina.locator(f"#{level}").select_option("read")
    row.locator("button:has-text('Save level')").click()
    assert _error(nina, level)[0] == "access_level_too_low"

    nina.goto(f"{share}?share_q=nurses")  # the owner itself
    nina.check("#share-results >> label:has-text('nurses')")
    nina.check("#share-level >> label:has-text('Read and edit')")
    nina.click("button:has-text('Save share')")
    code, said = _error(nina, "share-q")
    assert code == "cannot_share_with_owner" and "owns case" in said

    nina.goto(f"{share}?share_q=omar@demo")
    nina.evaluate("document.querySelector('#share-level-2').value = 'full'")  # a tampered form
    nina.check("#share-level-2")
    nina.click("button:has-text('Save share')")
    assert _error(nina, "share-level")[0] == "invalid_access_level"

    nina.goto(f"{share}?share_q=omar@demo")
    nina.evaluate("document.querySelector('#share-results input').value = 'group:999999'")
    nina.check("#share-level >> label:has-text('Read and edit')")
    nina.click("button:has-text('Save share')")
    assert _error(nina, "share-q")[0] == "invalid_grantee"

    nina.goto(share)
    nina.click("button:has-text('Save assign')")  # nobody ticked
    assert _error(nina, "assign-q")[0] == "validation_error"

    nina.goto(f"{share}?team_q=vera@demo")
    nina.click("button:has-text('Add to team')")  # no team role chosen
    code, said = _error(nina, "team-role")
    assert code == "validation_error" and "team role" in said
    assert nina.is_checked("#team-results >> label:has-text('Vera Viewer')")
    nina.select_option("#team-role", label="observer (read)")
    nina.click("button:has-text('Add to team')")
    nina.wait_for_url(f"{share}#team")
    assert "Vera Viewer is in the case team as observer." in nina.inner_text(".flash")
