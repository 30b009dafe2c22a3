"""Partner agencies in a real browser (issue 11 items 2, 7, 9): agreements between agencies
(S-AG-1) and the outbox of email notifications (S-NOT-1), as the demo's admins.

The module runs its own ``caseshare serve --demo`` so that the outbox test can deliver the
server's database with ``caseshare outbox deliver`` to a real SMTP server on loopback.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import (
    assert_accessible,
    csrf_of,
    demo_server,
    form_post,
    open_context,
    sign_in,
)
from tests.smtpserver import Handler, running


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, demo_database: Path) -> Iterator[Any]:
    db = Path(tmp_path_factory.mktemp("partners")) / "demo.db"
    shutil.copyfile(demo_database, db)
    with demo_server(db) as base:
        yield base, db


def _flash(page: Any) -> str:
    return str(page.locator(".flash").inner_text())


def _deliver(db: Path, smtp: str) -> str:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "caseshare.cli", "outbox", "deliver"),
            *("--smtp", smtp, "--database", f"sqlite:///{db}"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_s_ag_1_admin_answers_an_incoming_proposal_and_switches_the_agencys_own_flags(
    served: Any, context: Any
) -> None:
    server, _ = served
    page = sign_in(context, server, "admin")
    page.click("nav[aria-label='Main menu'] >> text=Partner agencies")
    row = page.locator("#agreement-list tr", has_text="County Safeguarding Board")
    assert "Incoming" in row.inner_text() and "pending" in row.inner_text().casefold()
    assert "Partner Agency" in page.inner_text("#agreement-list")  # the approved one
    assert_accessible(page, "Agreements")
    row.locator("a").click()
    assert page.inner_text("h1") == "Agreement with County Safeguarding Board"
    assert "by the system (an operator)" in page.inner_text("#agreement-summary")  # the demo
    assert_accessible(page, "an incoming agreement")
    page.click("button:text-is('Reject agreement')")  # no reason: refused beside the field
    assert "Give a reason" in page.inner_text("#reason-error")
    assert_accessible(page, "a refused rejection")
    assert page.is_checked("#inbound_sharing")  # the mirror of the county's outbound sharing
    page.check("#outbound_search")
    page.click("button:text-is('Approve agreement')")
    assert "Approved the agreement with County Safeguarding Board" in _flash(page)
    assert "approved" in page.inner_text("#agreement-summary").casefold()
    flows = page.inner_text("#flows")
    assert "They send us cases: yes." in flows and "We send them cases: no." in flows
    page.uncheck("#enabled")
    page.click("button:text-is('Save switches')")
    assert "Saved your agency's switches" in _flash(page)
    assert "They send us cases: no." in page.inner_text("#flows")
    assert "has disabled its agreement" in page.inner_text("#flows")
    page.fill("#end_date", "2999-12-31")  # no end yet: an earlier end narrows it
    page.click("button:text-is('Save switches')")
    assert "Until 2999-12-31" in page.inner_text("#agreement-summary")
    page.fill("#end_date", "")  # widening it again is refused beside the field
    page.click("button:text-is('Save switches')")
    assert "may only narrow" in page.inner_text("#start_date-error")
    assert_accessible(page, "a refused change of dates")


def test_s_ag_1_admin_proposes_an_agreement_and_the_partner_admin_approves_it(
    served: Any, context: Any, browser: Any
) -> None:
    server, _ = served
    page = sign_in(context, server, "admin")
    page.goto(f"{server}/admin/agreements/new")
    assert_accessible(page, "Propose an agreement")
    page.select_option("#partner", label="Partner Agency")
    page.check("#outbound_search")
    page.fill("#start_date", "2030-06-01")
    page.fill("#end_date", "2030-01-01")
    page.click("button:text-is('Propose agreement')")
    assert "is before the start date" in page.inner_text("#end_date-error")
    assert page.input_value("#partner") == "partner"  # what was chosen is kept
    assert_accessible(page, "a refused proposal")
    page.fill("#start_date", "2026-01-01")
    page.fill("#end_date", "")
    page.click("button:text-is('Propose agreement')")
    assert "Proposed the agreement to Partner Agency" in _flash(page)
    assert "Outgoing: we proposed it to Partner Agency" in page.inner_text("#agreement-summary")
    assert page.locator("button:text-is('Approve agreement')").count() == 0  # not ours to answer
    assert page.locator("button:text-is('Withdraw proposal')").count() == 1

    other = open_context(browser)
    try:
        padma = sign_in(other, server, "padma", agency="partner")
        padma.click("nav[aria-label='Main menu'] >> text=Partner agencies")
        mine = padma.locator("#agreement-list tr", has_text="Waiting for an answer")
        assert "Incoming: Demo District Health proposed it" in mine.inner_text()
        mine.locator("a").click()
        assert "From 2026-01-01, no end" in padma.inner_text("#agreement-summary")
        padma.click("button:text-is('Approve agreement')")
        assert "Approved the agreement with Demo District Health" in _flash(padma)
    finally:
        other.close()

    page.reload()
    summary = page.inner_text("#agreement-summary")
    assert "approved" in summary.casefold()
    assert "by an admin of Partner Agency" in summary and "Padma" not in summary  # not ours
    assert page.locator("button:text-is('End agreement')").count() == 1
    page.goto(f"{server}/admin/agreements?status=superseded")
    assert "Partner Agency" in page.inner_text("#agreement-list")  # the one it replaced


def test_s_not_1_the_outbox_shows_waiting_and_failed_messages_and_sends_one_again(
    served: Any, context: Any
) -> None:
    server, db = served
    page = sign_in(context, server, "admin")
    page.goto(f"{server}/admin/outbox")
    assert "No mail server is configured: messages wait here" in page.inner_text("#mail-note")
    assert "Partner Agency approved your agreement proposal" in page.inner_text("#outbox")
    assert "pending" in page.inner_text("#outbox").casefold()
    assert_accessible(page, "Outbox")
    handler = Handler(refuse={"admin@demo.example": "550 5.1.1 no such mailbox"})
    with running(handler) as smtp:
        said = _deliver(db, smtp.url)
        assert "failed" in said
        page.goto(f"{server}/admin/outbox?status=failed")
        failed = page.locator("#outbox tbody tr").first
        assert "550 5.1.1 no such mailbox" in failed.inner_text()
        assert "Ada Admin" in failed.inner_text()
        assert_accessible(page, "Outbox with failures")
        failed.locator("a").click()
        assert "550 5.1.1 no such mailbox" in page.inner_text("#message-summary")
        assert_accessible(page, "an outbox message")
        page.click("button:text-is('Send again')")
        assert "Queued the message to Ada Admin again" in _flash(page)
        handler.refuse.clear()
        _deliver(db, smtp.url)
    assert "admin@demo.example" in [r for m in handler.received for r in m.recipients]
    page.goto(f"{server}/admin/outbox?status=sent")
    assert "Ada Admin" in page.inner_text("#outbox")


def test_non_admins_get_the_404_page_for_partner_screens_and_403_for_their_forms(
    served: Any, context: Any
) -> None:
    server, _ = served
    page = sign_in(context, server, "nina")
    assert page.locator("nav[aria-label='Main menu'] >> text=Partner agencies").count() == 0
    for path in ("/admin/agreements", "/admin/agreements/new", "/admin/outbox"):
        answer = page.goto(f"{server}{path}")
        assert answer is not None and answer.status == 404, path
    page.goto(f"{server}/cases")
    refused = form_post(
        page,
        f"{server}/admin/agreements/new",
        {"csrf_token": csrf_of(page), "partner": "partner", "enabled": "1"},
    )
    assert refused.status == 403
