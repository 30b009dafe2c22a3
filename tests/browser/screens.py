"""Every screen of the browser app, as docs/ui.md walks through them.

One list serves twice: ``test_screens.py`` opens each screen and holds it to axe-core and to a
360 px wide window; ``python -m tests.browser.screenshots`` (``make screenshots``) photographs
each one from a fresh demo into ``docs/ui/``. A screen is who looks (a demo persona, or nobody
signed in), where, and what they do first (fill a form, press a button).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Screen:
    slug: str  # docs/ui/{slug}.png
    title: str
    #: the demo user signed in (``name@agency`` for one of another demo agency), or None
    persona: str | None
    path: str
    prepare: Callable[[Any], None] | None = None
    status: int = 200  # what opening the address answers (before ``prepare``)
    #: axe-core judges our pages; Swagger UI's own markup is not ours to fix
    axe: bool = True
    #: what the photograph shows: the window around this element (default: the top of the page)
    scroll_to: str = ""


def _refused_share(page: Any) -> None:
    """Nina shares a referral case at read: everyone reads referral cases already."""
    page.check("#share-level >> label:has-text('Read only')")
    page.click("button:has-text('Save share')")
    page.locator("#share-level-error").wait_for()


def _search_as_you_type(page: Any) -> None:
    page.fill("#assign-q", "wor")
    page.locator("#assign-results >> text=Will Worker").wait_for()


def _swagger_drawn(page: Any) -> None:
    page.locator('[data-path="/api/v1/cases"]').first.wait_for(timeout=60_000)


def _new_token(page: Any) -> None:
    page.fill("#token_name", "nightly export")
    page.click("button:has-text('Create token')")
    page.locator("#new-token-secret").wait_for()


def _post_anyway(page: Any) -> None:
    """A reader posts the share form anyway (a form of their own): the 403 page."""
    page.evaluate(
        """() => {
          const form = document.createElement('form');
          form.method = 'post';
          form.action = '/cases/household-1/share/manual';
          for (const [name, value] of [
              ['csrf_token', document.querySelector('input[name=csrf_token]').value],
              ['share', 'user:7'], ['share-level', 'edit']]) {
            const input = document.createElement('input');
            input.type = 'hidden'; input.name = name; input.value = value;
            form.appendChild(input);
          }
          document.body.appendChild(form);
          form.submit();
        }"""
    )
    page.wait_for_load_state()
    page.locator("h1", has_text="You cannot do that").wait_for()


def _click(selector: str) -> Callable[[Any], None]:
    """Open what a link leads to, as a person would from the list (its address holds an id)."""

    def prepare(page: Any) -> None:
        page.locator(selector).first.click()
        page.wait_for_load_state()

    return prepare


SCREENS = (
    Screen("signin", "Sign in", None, "/signin"),
    Screen(
        "cases-favourites",
        "View cases: Advanced view, Favourite & recent cases",
        "nina",
        "/cases?view=advanced&tab=favourites",
    ),
    Screen(
        "cases-advanced",
        "View cases: Advanced view, the Cases tab and its FILTERS",
        "nina",
        "/cases?view=advanced&tab=cases&applied=1&created_by_me=1&case_type=referral&q=Dune",
    ),
    Screen("cases-grid", "View cases: Grid view", "wendy", "/cases?view=grid"),
    Screen("cases-tree", "View i-cases: Tree view", "sam", "/cases?view=tree"),
    Screen("manage-case", "Manage case", "wendy", "/cases/patient-1"),
    Screen(
        "manage-case-targets",
        "Manage case: targets and their identifiers",
        "wendy",
        "/cases/patient-1",
        scroll_to="#targets",
    ),
    Screen("target-new", "Add a target", "wendy", "/cases/patient-1/targets/new"),
    Screen(
        "target",
        "A target, its identifiers, and removing it",
        "wendy",
        "/cases/patient-1",
        prepare=_click("#target-list a:text-is('Rex Rivers')"),
    ),
    Screen("edit-case", "Edit a case", "wendy", "/cases/patient-1/edit"),
    Screen("change-owner", "Change the owner", "wendy", "/cases/household-1/owner"),
    Screen("close-case", "Close a case", "wendy", "/cases/patient-1/close"),
    Screen("delete-case", "Delete a case", "wendy", "/cases/private-1/delete"),
    Screen("case-share", "Case share details", "wendy", "/cases/household-1/share"),
    Screen(
        "case-share-assign",
        "Case share details: searching people as you type",
        "wendy",
        "/cases/household-1/share",
        prepare=_search_as_you_type,
        scroll_to="#assign",
    ),
    Screen(
        "case-share-refused",
        "Case share details: a refusal beside its field",
        "nina",
        "/cases/referral-1/share?share_q=omar%40demo",
        prepare=_refused_share,
        scroll_to="#share-level",
    ),
    Screen(
        "case-share-who",
        "Case share details: who has access, and the sharing history",
        "wendy",
        "/cases/patient-2/share",
        scroll_to="#who",
    ),
    Screen(
        "case-share-reader",
        "Case share details, as a reader",
        "omar",
        "/cases/household-1/share",
    ),
    Screen("account", "My account", "nina", "/account"),
    Screen(
        "account-token",
        "My account: a new API token, shown once",
        "nina",
        "/account",
        prepare=_new_token,
    ),
    Screen(
        "not-found", "A case you cannot see: the 404 page", "omar", "/cases/private-1", status=404
    ),
    Screen(
        "forbidden",
        "A form you may not send: the 403 page",
        "omar",
        "/cases/household-1/share",
        prepare=_post_anyway,
    ),
    Screen("api-docs", "The API documentation", "nina", "/docs", prepare=_swagger_drawn, axe=False),
    # the admin screens (issue 10)
    Screen("admin-users", "People: users", "admin", "/admin/people"),
    Screen(
        "admin-user",
        "People: a user's page",
        "admin",
        "/admin/people",
        prepare=_click("a:text-is('Nina Nurse')"),
    ),
    Screen("admin-groups", "People: groups", "admin", "/admin/people/groups"),
    Screen("admin-roles", "People: roles", "admin", "/admin/people/roles"),
    Screen("admin-team-roles", "People: team roles", "admin", "/admin/people/team-roles"),
    Screen("admin-locations", "Structure: locations", "admin", "/admin/structure"),
    Screen("admin-location-types", "Structure: location types", "admin", "/admin/structure/types"),
    Screen("admin-sharing", "Sharing settings", "admin", "/admin/sharing"),
    Screen("admin-rules", "Sharing rules", "admin", "/admin/sharing/rules"),
    Screen("admin-report", "The case sharing report", "admin", "/admin/reports"),
    Screen("admin-recycle-bin", "The recycle bin", "admin", "/admin/reports/recycle-bin"),
    Screen("admin-audit", "The audit log", "admin", "/admin/reports/audit"),
    Screen("admin-forms", "Device forms", "admin", "/admin/reports/forms"),
    # partner agencies (issue 11)
    Screen("admin-agreements", "Agreements with other agencies", "admin", "/admin/agreements"),
    Screen(
        "admin-agreement",
        "An incoming agreement: approve or reject",
        "admin",
        "/admin/agreements",
        prepare=_click("#agreement-list a:text-is('County Safeguarding Board')"),
    ),
    Screen("admin-agreement-new", "Propose an agreement", "admin", "/admin/agreements/new"),
    Screen("admin-outbox", "The outbox", "admin", "/admin/outbox"),
    # agency shares and X-Case alerts (issue 11): the demo's cases sent both ways
    Screen(
        "cases-sharing",
        "View cases: sharing states and X-Case alerts",
        "wendy",
        "/cases?view=advanced&tab=cases&applied=1&q=patient-",
        scroll_to="#cases",
    ),
    Screen(
        "manage-case-xcase",
        "Manage case: an X-Case alert",
        "wendy",
        "/cases/patient-1",
        scroll_to="#xcase",
    ),
    Screen(
        "manage-case-received",
        "Manage case: a case another agency sent, mapped to this one",
        "wendy",
        "/cases/patient-1",
        scroll_to="#received",
    ),
    Screen(
        "case-share-send",
        "Case share details: Send, the cases sent to other agencies",
        "wendy",
        "/cases/patient-1/share",
        scroll_to="#send",
    ),
    Screen("send-add-new", "Send → Add new", "wendy", "/cases/patient-2/share/send"),
    Screen("agency-shares", "Cases sent to us", "padma@partner", "/agency-shares"),
    Screen(
        "agency-share-finalise",
        "A case sent to us: finalise or reject",
        "padma@partner",
        "/agency-shares",
        prepare=_click("#received a:has-text('referral-1')"),
    ),
    Screen(
        "cases-received",
        "View cases: a case sent to us, and the local case it maps to",
        "pat@partner",
        "/cases?view=advanced&tab=cases&applied=1",
        scroll_to="#cases",
    ),
)
