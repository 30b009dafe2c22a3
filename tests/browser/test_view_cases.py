"""The seed's "View cases" screen in its three layouts (S-VIEW-1), as the demo personas use it."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import assert_accessible, open_context, sign_in


def _rows(page: Any, table: str = "#cases") -> list[str]:
    return page.locator(f"{table} tbody td[data-label='Case ID']").all_inner_texts()


def test_s_view_1_nina_finds_a_case_through_the_filters(server: str, context: Any) -> None:
    page = sign_in(context, server, "nina")
    assert page.inner_text("h1") == "Advanced view cases"  # her View cases setting: advanced
    page.click("nav[aria-label='Tabs'] a:text-is('Cases')")
    assert_accessible(page, "Advanced view, Cases tab")
    everything = int(page.locator(".count").get_attribute("data-count") or 0)
    page.check("#shared_with_me")
    page.select_option("#case_type", "patient")
    page.click("button:has-text('Apply filters')")
    page.wait_for_url("**shared_with_me=1**")
    found = _rows(page)
    assert "patient-2" in found  # shared with her (read)
    assert "referral-1" not in found
    shown = int(page.locator(".count").get_attribute("data-count") or 0)
    assert 0 < shown < everything and shown == len(found)
    assert page.is_checked("#shared_with_me")  # the panel shows what is applied
    page.click("#cases >> text=patient-2")
    page.wait_for_url(f"{server}/cases/patient-2")
    assert "patient-2" in page.inner_text("h1")


def test_s_view_1_a_saved_default_filter_is_what_the_cases_tab_opens_with(
    server: str, context: Any
) -> None:
    page = sign_in(context, server, "sam")
    page.goto(f"{server}/cases?view=advanced&tab=cases")
    page.select_option("#case_type", "household")
    page.select_option("#status", "open")
    page.click("button:has-text('Apply filters')")
    page.wait_for_url("**case_type=household**")
    page.fill("#filter_name", "Open households")
    page.check("#make_default")
    page.click("button:has-text('Save filter')")
    page.wait_for_selector(".flash")
    assert "Open households" in page.inner_text(".flash")
    page.goto(f"{server}/cases")
    page.click("nav[aria-label='Tabs'] a:text-is('Cases')")
    assert page.input_value("#case_type") == "household"
    assert page.input_value("#status") == "open"
    types = page.locator("#cases tbody td[data-label='Type']").all_inner_texts()
    assert types and set(types) == {"household"}
    assert "default" in page.inner_text(".saved-filters").casefold()


def test_saving_a_filter_without_a_name_keeps_the_list_and_says_why(
    server: str, context: Any
) -> None:
    page = sign_in(context, server, "sue")
    page.goto(f"{server}/cases?view=advanced&tab=cases&applied=1&case_type=patient")
    page.click("button:has-text('Save filter')")
    error = page.locator("#filter_name-error")
    error.wait_for()
    assert "name" in error.inner_text()
    assert error.get_attribute("data-code") == "validation_error"
    assert page.input_value("#case_type") == "patient"  # the list as it was
    assert_accessible(page, "the Cases tab with a refusal")


def test_the_owner_filter_finds_an_owner_by_name_without_javascript(
    browser: Any, server: str
) -> None:
    context = open_context(browser, java_script_enabled=False)
    try:
        page = sign_in(context, server, "dora")
        page.goto(f"{server}/cases?view=advanced&tab=cases")
        page.fill("#owner-q", "nurses")
        page.click("button:has-text('Apply filters')")
        page.wait_for_url("**owner_q=nurses**")
        owners = page.locator("#cases tbody td[data-label='Owner']").all_inner_texts()
        assert owners and set(owners) == {"nurses (group)"}
        assert page.is_checked("input[name=owner][value^='group:']")
    finally:
        context.close()


def test_the_people_picker_searches_as_you_type(server: str, context: Any) -> None:
    page = sign_in(context, server, "vera")
    page.goto(f"{server}/cases?view=advanced&tab=cases")
    page.type("#owner-q", "clinic-", delay=30)
    page.wait_for_selector("#owner-results input[name=owner]")
    labels = page.locator("#owner-results label").all_inner_texts()
    assert any("clinic-a" in label for label in labels)
    page.check("#owner-results label:has-text('clinic-a') >> xpath=preceding-sibling::input")
    page.fill("#owner-q", "clinic-a")
    page.click("button:has-text('Apply filters')")
    page.wait_for_url("**owner=location**")
    owners = set(page.locator("#cases tbody td[data-label='Owner']").all_inner_texts())
    assert owners == {"clinic-a (location)"}, (page.url, page.inner_text("main")[:1500])


def test_sortable_columns_and_keyset_pages_back_and_forth(server: str, context: Any) -> None:
    page = sign_in(context, server, "admin")
    page.goto(f"{server}/cases?view=advanced&tab=cases&applied=1")
    page.click("#cases th >> text=Name")
    page.wait_for_url("**sort=name**")
    header = page.locator("#cases th[aria-sort='ascending']")
    assert "Name" in header.inner_text()
    first = page.locator("#cases tbody td[data-label='Name']").all_inner_texts()
    assert first == sorted(first, key=str)  # A→Z as the database sorts it
    page.click("a[rel=next] >> nth=0")
    page.wait_for_url("**after=**")
    second = page.locator("#cases tbody td[data-label='Name']").all_inner_texts()
    assert second[0] >= first[-1]
    page.click("a[rel=prev] >> nth=0")
    page.wait_for_url("**before=**")
    assert page.locator("#cases tbody td[data-label='Name']").all_inner_texts() == first
    page.click("#cases th >> text=Name")  # again: the other way round
    assert "Name" in page.locator("#cases th[aria-sort='descending']").inner_text()


def test_the_three_layouts_and_the_view_cases_setting(server: str, context: Any) -> None:
    page = sign_in(context, server, "wendy")
    page.select_option("#layout", "grid")
    page.click("button:has-text('Save setting')")
    page.wait_for_selector(".flash")
    page.click("nav[aria-label='Main menu'] >> text=View cases")
    assert page.inner_text("h1") == "View cases"  # the Grid view, as she chose
    assert page.locator("h2:has-text('My recent cases')").count() == 1
    assert page.input_value("#scope") == "created"  # OSS-ESPA's default: cases I created
    assert_accessible(page, "Grid view")
    created = _rows(page)
    assert "private-1" in created and "patient-2" not in created
    page.select_option("#scope", "assigned")
    page.click("button:has-text('Search')")
    page.wait_for_url("**scope=assigned**")
    assigned = _rows(page)
    assert "patient-2" in assigned and "private-1" not in assigned  # created by Will
    page.click("nav[aria-label='Layouts'] >> text=Tree view")
    assert page.inner_text("h1") == "View i-cases"
    assert_accessible(page, "Tree view")
    page.click("nav[aria-label='Layouts'] >> text=Advanced view")
    assert page.inner_text("h1") == "Advanced view cases"
    assert_accessible(page, "Advanced view, Favourite & recent cases tab")


def test_the_tree_view_draws_children_and_extensions_below_their_case(
    server: str, context: Any
) -> None:
    page = sign_in(context, server, "will")
    page.goto(f"{server}/cases?view=tree&q=patient-2")
    tree = page.locator("#tree").inner_text()
    assert "patient-2" in tree and "extension (host): contact-1" in tree
    page = sign_in(context, server, "wendy")
    page.goto(f"{server}/cases?view=tree&q=household-1")
    assert "child (parent): patient-1" in page.locator("#tree").inner_text()


def test_the_lists_work_at_360_pixels_and_from_the_keyboard(browser: Any, server: str) -> None:
    context = open_context(browser, viewport={"width": 360, "height": 740})
    try:
        page = sign_in(context, server, "nina")
        for address in ("/cases?view=advanced&tab=cases", "/cases?view=grid", "/cases?view=tree"):
            page.goto(server + address)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{address} is {width} px wide"
        page.goto(f"{server}/cases?view=advanced&tab=cases")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
        reached = set()
        for _ in range(40):
            page.keyboard.press("Tab")
            reached.add(
                page.evaluate("document.activeElement.id || document.activeElement.textContent")
            )
        assert {"shared_with_me", "case_type", "owner-q"} <= reached
    finally:
        context.close()
