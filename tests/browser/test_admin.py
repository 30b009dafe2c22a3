"""The agency admin's screens in a real browser, one test per flow, as the demo's admin.

One server for the module (the demo agency); each test leaves the demo as the next one needs it
or uses people and names of its own, so the tests do not depend on their order.
"""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

from caseshare.demo import DEMO_PASSWORD
from tests.browser.conftest import assert_accessible, csrf_of, form_post, sign_in
from tests.services.forms import block, create, form, update


def _flash(page: Any) -> str:
    return str(page.locator(".flash").inner_text())


def _api(page: Any, method: str, path: str, body: Any = None) -> Any:
    """The JSON API from the signed-in page, as /docs would call it (session and CSRF header)."""
    headers = {"X-CSRF-Token": csrf_of(page)}
    origin = re.match(r"^https?://[^/]+", page.url)
    assert origin is not None
    return page.request.fetch(origin.group(0) + path, method=method, headers=headers, data=body)


def _count(page: Any, server: str, case_type: str) -> int:
    """How many cases of a type the signed-in person's View cases lists."""
    page.goto(f"{server}/cases?view=advanced&tab=cases&applied=1&case_type={case_type}")
    return int(page.locator(".pager .count").first.get_attribute("data-count"))


def test_s_crt_2_admin_creates_a_user_in_a_case_sharing_group_whose_new_case_goes_to_it(
    server: str, context: Any, browser: Any
) -> None:
    page = sign_in(context, server, "admin")
    team = f"Mobile team {uuid.uuid4().hex[:4]}"
    page.click("nav[aria-label='Main menu'] >> text=People")
    page.click("nav[aria-label='People'] >> text=Groups")
    page.fill("#name", team)
    page.check("#case_sharing")
    page.click("button:has-text('Add group')")
    assert team in _flash(page)
    page.click("nav[aria-label='People'] >> text=Users")
    page.click("text=Add a user")
    username = f"carla.{uuid.uuid4().hex[:6]}"
    page.fill("#username", username)
    page.fill("#full_name", "Carla Newcomer")
    page.fill("#password", "a first password")
    page.click("button:has-text('Add user')")
    assert page.locator("#new-password").inner_text() == "a first password"
    page.click("text=Go to Carla Newcomer's page")
    assert "nowhere" in page.inner_text("#new-cases")  # S-CRT-4: in no group yet
    page.check(f"label:has-text('{team}')")
    page.click("button:has-text('Save groups')")
    assert f"joined {team}" in _flash(page)
    assert page.inner_text("#new-cases") == f"to {team} (group)"

    carla = sign_in(browser.new_context(), server, username, "a first password")
    made = _api(carla, "POST", "/api/v1/cases", {"case_type": "visit", "name": "Carla's visit"})
    assert made.status == 201, made.text()
    case_id = made.json()["case_id"]
    assert made.json()["owner"]["name"] == team
    carla.goto(f"{server}/cases?view=advanced&tab=cases&applied=1&owned_by_me=1")
    row = carla.locator("#cases tr", has_text="Carla's visit")
    assert row.locator("td[data-label='Owner']").inner_text() == f"{team} (group)"
    assert case_id in row.inner_text()


def test_admin_sets_a_case_types_default_access_to_read_and_a_colleague_sees_those_cases(
    server: str, context: Any, browser: Any
) -> None:
    omar = sign_in(browser.new_context(), server, "omar")
    assert _count(omar, server, "contact") == 0
    page = sign_in(context, server, "admin")
    everyone = _count(page, server, "contact")
    page.click("nav[aria-label='Main menu'] >> text=Sharing settings")
    assert_accessible(page, "sharing settings")
    page.select_option("tr:has-text('contact') select", "read")
    page.click("button:has-text('Save sharing settings')")
    assert "contact: read" in _flash(page)
    assert _count(omar, server, "contact") == everyone > 0
    # and back, so the demo stays as the other tests know it
    page.select_option("tr:has-text('contact') select", "")
    page.click("button:has-text('Save sharing settings')")
    assert _count(omar, server, "contact") == 0


def test_s_rule_1_admin_writes_a_criteria_rule_and_the_matching_cases_appear_for_its_grantee(
    server: str, context: Any, browser: Any
) -> None:
    omar = sign_in(browser.new_context(), server, "omar")
    omar.goto(f"{server}/cases?view=advanced&tab=cases&applied=1&q=patient-2")
    assert omar.locator("#cases a", has_text=re.compile(r"^patient-2$")).count() == 0
    page = sign_in(context, server, "admin")
    page.goto(f"{server}/admin/sharing/rules")
    page.click("text=Add a criteria rule")
    page.fill("#name", "Will's patients to Omar")
    page.select_option("#field_0", "case_type")
    page.fill("#value_0", "patient")
    page.select_option("#field_1", "owner")
    page.fill("#value_1", "Will Worker")  # an owner by name, not by id
    page.fill("#grantee-q", "omar")
    page.click("button:has-text('Search')")
    page.check("label:has-text('Omar Outsider')")
    assert page.input_value("#value_1") == "Will Worker"  # the search kept what was typed
    page.click("#rule-form button:has-text('Save rule') >> nth=-1")
    assert "Will's patients to Omar" in _flash(page)
    row = page.locator("#rules tr", has_text="Will's patients to Omar")
    assert "the owner is Will Worker" in row.inner_text()
    omar.goto(f"{server}/cases?view=advanced&tab=cases&applied=1&q=patient-2")
    assert omar.locator("#cases a", has_text=re.compile(r"^patient-2$")).count() == 1
    # deactivating the rule takes the access away at once
    row.locator("button:has-text('Deactivate')").click()
    assert "inactive" in _flash(page)
    omar.reload()
    assert omar.locator("#cases a", has_text=re.compile(r"^patient-2$")).count() == 0


def test_s_acc_4_admin_deactivates_a_user_whose_open_session_ends_at_the_next_click(
    server: str, context: Any, browser: Any
) -> None:
    vera = sign_in(browser.new_context(), server, "vera")
    page = sign_in(context, server, "admin")
    page.goto(f"{server}/admin/people?q=vera")
    page.click("#users >> text=Vera Viewer")
    page.click("button:has-text('Deactivate Vera Viewer')")
    assert "Deactivated Vera Viewer" in _flash(page)
    vera.click("nav[aria-label='Main menu'] >> text=View cases")
    vera.wait_for_url(f"{server}/signin*")
    vera.fill("#agency", "demo")
    vera.fill("#username", "vera")
    vera.fill("#password", DEMO_PASSWORD)
    vera.click("button:has-text('Sign in')")
    assert "wrong" in vera.inner_text("[data-error-summary]")  # she cannot sign in again
    page.click("button:has-text('Reactivate Vera Viewer')")
    assert "active again" in _flash(page)
    sign_in(browser.new_context(), server, "vera")


def test_s_shr_8_admin_restores_a_case_from_the_recycle_bin_and_purges_another(
    server: str, context: Any
) -> None:
    page = sign_in(context, server, "admin")
    page.goto(f"{server}/admin/reports/recycle-bin")
    kept, gone = f"bin-keep-{uuid.uuid4().hex[:6]}", f"bin-gone-{uuid.uuid4().hex[:6]}"
    for case_id in (kept, gone):
        body = {"case_type": "visit", "name": case_id, "case_id": case_id, "owner": "user:1"}
        assert _api(page, "POST", "/api/v1/cases", body).status == 201
        assert _api(page, "DELETE", f"/api/v1/cases/{case_id}").status == 204
    page.reload()
    assert_accessible(page, "the recycle bin")
    assert page.locator("#binned tr").nth(1).inner_text().startswith(gone)  # last deleted first
    page.locator("#binned tr", has_text=kept).locator("button:has-text('Restore')").click()
    assert f"Restored case {kept}" in _flash(page)
    assert page.locator("#binned tr", has_text=kept).count() == 0
    assert _api(page, "GET", f"/api/v1/cases/{kept}").status == 200
    page.locator("#binned tr", has_text=gone).locator("text=Purge").click()
    assert_accessible(page, "the purge confirmation")
    page.click("button:has-text('Purge for good')")
    assert f"Purged case {gone}" in _flash(page)
    assert page.locator("#binned tr", has_text=gone).count() == 0
    assert _api(page, "GET", f"/api/v1/cases/{gone}").status == 404


def _device_post(context: Any, server: str, xml: str) -> None:
    auth = base64.b64encode(f"nina:{DEMO_PASSWORD}".encode()).decode()
    answer = context.request.post(
        f"{server}/a/demo/receiver/",
        headers={"Authorization": f"Basic {auth}", "Content-Type": "text/xml"},
        data=xml,
    )
    assert answer.status == 201, answer.text()


def test_s_tx_8_admin_archives_a_device_form_and_the_case_it_touched_is_rebuilt_without_it(
    server: str, context: Any, browser: Any
) -> None:
    case_id = f"dev-{uuid.uuid4().hex[:8]}"
    first, second = (f"uuid:{uuid.uuid4()}" for _ in range(2))
    device = browser.new_context()
    _device_post(
        device, server, form(block(case_id, create(name=f"Visit {case_id}")), instance=first)
    )
    _device_post(device, server, form(block(case_id, update(colour="blue")), instance=second))
    nina = sign_in(device, server, "nina")
    nina.goto(f"{server}/cases?view=advanced&tab=cases&applied=1&q=blue")
    assert nina.locator("#cases", has_text=case_id).count() == 1

    page = sign_in(context, server, "admin")
    page.goto(f"{server}/admin/reports/forms")
    assert_accessible(page, "device forms")
    page.click(f"#device-forms >> text={second}")
    assert "<colour>blue</colour>" in page.inner_text("pre.xml")
    assert "colour = blue" in page.inner_text("#touched")
    assert_accessible(page, "a device form")
    page.click("button:has-text('Archive this form')")
    assert f"rebuilt without it ({case_id})" in _flash(page)
    assert page.text_content("#form-status") == "Archived"
    assert "colour" not in page.inner_text("#touched")  # rebuilt without the archived form
    nina.reload()
    assert nina.locator("#cases", has_text=case_id).count() == 0  # "blue" is gone
    # the form that made the case: archived, the case is gone; unarchived, it is back
    page.goto(f"{server}/admin/reports/forms/{first}")
    page.click("button:has-text('Archive this form')")
    assert "No longer exists" in page.inner_text("#touched")
    page.click("button:has-text('Unarchive this form')")
    assert f"Visit {case_id}" in page.inner_text("#touched")


def test_a_non_admin_gets_the_404_page_for_admin_screens_and_the_403_page_for_their_forms(
    server: str, context: Any
) -> None:
    page = sign_in(context, server, "wendy")
    assert "People" not in page.inner_text("nav[aria-label='Main menu']")
    shown = page.goto(f"{server}/admin/people")
    assert shown is not None and shown.status == 404
    assert page.inner_text("h1") == "Page not found"
    token = csrf_of(page)
    with page.expect_navigation() as sent:  # a form made by hand, posted from her own page
        page.evaluate(
            """token => {
                const f = document.createElement("form");
                f.method = "post"; f.action = "/admin/people/new";
                for (const [k, v] of [["csrf_token", token], ["username", "intruder"],
                                       ["perm_admin", "1"]]) {
                    const i = document.createElement("input");
                    i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i);
                }
                document.body.appendChild(f); f.submit();
            }""",
            token,
        )
    assert sent.value.status == 403
    assert page.inner_text("h1") == "You cannot do that"
    assert_accessible(page, "the 403 page")
    for path, fields in (
        ("/admin/sharing", {"access_all": "edit", "child_access": "edit"}),
        ("/admin/people/users/1/deactivate", {}),
        ("/admin/reports/recycle-bin/purge", {"case_id": "private-1"}),
    ):
        answer = form_post(page, f"{server}{path}", {"csrf_token": token, **fields})
        assert answer.status == 403, path
    admin = sign_in(context.browser.new_context(), server, "admin")
    admin.goto(f"{server}/admin/people?q=intruder&status=all")
    assert admin.locator("#users td.empty").count() == 1  # nothing changed
    admin.goto(f"{server}/admin/sharing")
    assert admin.input_value("#access_all") == "private"
    assert "Ada Admin" in admin.inner_text("header")  # still active


def test_every_admin_screen_passes_axe_core(server: str, context: Any) -> None:
    """No serious or critical axe-core violation on any admin screen, its refusals included,
    and the lists still fit a 360 px wide phone. (Sharing settings, the recycle bin, a purge,
    device forms, a device form and the 403 page are checked in their flows above.)"""
    page = sign_in(context, server, "admin")
    screens = [
        "/admin/people",
        "/admin/people/new",
        "/admin/people/users/1",
        "/admin/people/groups",
        "/admin/people/groups/1?member_q=n",
        "/admin/people/roles",
        "/admin/people/roles/2",
        "/admin/people/team-roles",
        "/admin/structure",
        "/admin/structure/locations/1",
        "/admin/structure/types",
        "/admin/sharing/rules",
        "/admin/sharing/rules/new?kind=criteria",
        "/admin/sharing/rules/new?kind=owner",
        "/admin/reports",
        "/admin/reports/audit",
        "/admin/reports/audit?kind=share&actor_q=nina",
    ]
    for path in screens:
        answer = page.goto(f"{server}{path}")
        assert answer is not None and answer.status == 200, path
        assert_accessible(page, path)
    # refusals: beside the field, in the error summary, still accessible
    page.goto(f"{server}/admin/people/new")
    page.fill("#username", "two words")
    page.click("button:has-text('Add user')")
    assert "no spaces" in page.inner_text("#username-error")
    assert page.input_value("#username") == "two words"
    assert_accessible(page, "a new user refused")
    page.goto(f"{server}/admin/sharing/rules/new?kind=criteria")
    page.fill("#name", "Nothing yet")
    page.click("#rule-form button:has-text('Save rule') >> nth=-1")
    assert "Choose who gets access" in page.inner_text("[data-error-summary]")
    assert_accessible(page, "a rule refused")
    page.set_viewport_size({"width": 360, "height": 800})
    for path in ("/admin/people", "/admin/people/users/1", "/admin/reports/audit"):
        page.goto(f"{server}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{path} is {width} px wide at 360"


def test_a_users_page_past_the_last_name_is_empty_with_a_way_back(
    server: str, context: Any
) -> None:
    """A cursor past every name (its users deactivated since, or typed by hand): the page says
    there is no one to show and its "previous" link leads back to the last users."""
    page = sign_in(context, server, "admin")
    page.goto(f"{server}/admin/people?after=zzzz")
    assert page.locator("#users td.empty").count() == 1
    assert_accessible(page, "an empty users page")
    page.click(".pager >> text=Previous")
    assert page.locator("#users tbody tr").count() > 1
    assert page.locator("#users td.empty").count() == 0


def test_a_form_too_large_to_read_gets_a_page_that_says_so(server: str, context: Any) -> None:
    """A form of more than 5 MiB (a pasted file, say) is refused before it is read, with a page
    a person understands and can leave, not a stack trace or a dropped connection."""
    page = sign_in(context, server, "admin")
    page.goto(f"{server}/admin/people/new")
    token = csrf_of(page)
    with page.expect_navigation() as sent:
        page.evaluate(
            """token => {
                const f = document.createElement("form");
                f.method = "post"; f.action = "/admin/people/new";
                for (const [k, v] of [["csrf_token", token], ["username", "big"],
                                       ["full_name", "x".repeat(6 * 1024 * 1024)]]) {
                    const i = document.createElement("input");
                    i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i);
                }
                document.body.appendChild(f); f.submit();
            }""",
            token,
        )
    assert sent.value.status == 413
    assert "larger than 5 MiB" in page.inner_text("main, body")
    assert_accessible(page, "the 413 page")
