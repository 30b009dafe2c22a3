"""Agency shares in a real browser (S-AG-2, S-AG-3, S-AG-5): Wendy sends a case from "Case
share details" → "Send" → "Add new" and revokes it; Partner's admin finalises a case sent to
Partner from "Cases sent to us", and the receiving user sees it in View cases with the
receiving icon.

The module's server runs on its own copy of the demo, to which this module adds an approved
agreement between the demo agency and Partner, Partner's admin and a field unit, and a target.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from caseshare.core.principals import Principal
from caseshare.demo import DEMO_PASSWORD
from caseshare.services import Caseshare
from caseshare.store import open_store
from tests.browser.conftest import assert_accessible, demo_server, sign_in


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_database: Path) -> Iterator[str]:
    db = Path(tmp_path_factory.mktemp("browser-agency")) / "demo.db"
    shutil.copyfile(demo_database, db)
    store = open_store(f"sqlite:///{db}")
    try:
        svc = Caseshare(store)
        demo, partner = store.agency_by_slug("demo"), store.agency_by_slug("partner")
        assert demo is not None and partner is not None
        admin = next(u for u in svc.context(demo).directory.users.values() if u.username == "admin")
        pia = svc.create_user(
            partner,
            None,
            "pia",
            full_name="Pia Partner-Admin",
            email="pia@partner.example",
            permissions=["admin"],
        )
        svc.set_password(partner, None, pia, DEMO_PASSWORD)
        pat = next(u for u in svc.context(partner).directory.users.values() if u.username == "pat")
        svc.set_password(partner, None, pat.id, DEMO_PASSWORD)
        unit = svc.create_group(partner, None, "Field unit East", kind="unit")
        svc.add_member(partner, None, unit, Principal("user", pat.id))
        flags = {"outbound_sharing": True, "inbound_sharing": True}
        row = svc.propose_agreement(demo, admin.id, "partner", flags)
        svc.answer_agreement(partner, pia, row.id, approve=True)
        svc.add_target(demo, None, "private-1", "suspect", "Sid Suspect")
        svc.add_target(demo, None, "patient-2", "suspect", "Paul Suspect")
        svc.send_case(demo, None, "patient-2", ["partner"])
        store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    with demo_server(db) as base:
        yield base


def test_s_ag_2_wendy_sends_a_case_to_partner_and_revokes_it(server: str, context: Any) -> None:
    wendy = sign_in(context, server, "wendy")
    wendy.goto(f"{server}/cases/private-1/share")
    assert "Not sent to any agency." in wendy.inner_text("#sent")
    wendy.click("#send-add-new")
    wendy.wait_for_url(f"{server}/cases/private-1/share/send")
    assert_accessible(wendy, "Send → Add new")
    wendy.click("button:has-text('Save')")  # nothing ticked: refused beside the field
    assert "Tick at least one agency" in wendy.inner_text("#agencies")
    wendy.check("label:has-text('Partner Agency')")
    wendy.check("label:has-text('Field unit East')")
    wendy.check("label:has-text('Sid Suspect')")
    wendy.check("#auto_include")
    wendy.click("button:has-text('Save')")
    wendy.wait_for_url(f"{server}/cases/private-1/share#send")
    assert "Sent the case to Partner Agency" in wendy.inner_text(".flash")
    sent = wendy.inner_text("#sent")
    assert "Partner Agency" in sent and "Pending" in sent and "Field unit East" in sent
    assert_accessible(wendy, "Case share details with a sent case")
    wendy.goto(f"{server}/cases?view=advanced&tab=cases&applied=1&q=private")
    assert wendy.get_attribute("td.sharing-state", "data-sharing-state") == "sending"
    wendy.goto(f"{server}/cases/private-1/share")
    wendy.click("#sent >> button:has-text('Revoke')")
    wendy.wait_for_url(f"{server}/cases/private-1/share#send")
    flash = wendy.inner_text(".flash")
    assert "Revoked the case sent to Partner Agency" in flash and "admins are told" in flash
    assert "Revoked" in wendy.inner_text("#sent")


def test_s_ag_3_partners_admin_finalises_and_the_receiving_user_reads_it(
    server: str, context: Any, browser: Any
) -> None:
    pia = sign_in(context, server, "pia", agency="partner")
    pia.goto(f"{server}/agency-shares")
    assert_accessible(pia, "Cases sent to us")
    assert "Pending" in pia.inner_text("#received")
    pia.click("#received >> text=Case patient-2")
    pia.click("button:has-text('Finalise')")  # nobody chosen: refused beside the field
    assert "Choose the person who receives the case" in pia.inner_text("main")
    pia.select_option("#receiving_user", label="Pat Partner (pat)")
    pia.fill("#name", "Referral from Demo")
    pia.click("button:has-text('Finalise')")
    assert "Finalised" in pia.inner_text(".flash")
    assert pia.inner_text("#share-status") == "Active"
    assert_accessible(pia, "a finalised share")

    pat_context = browser.new_context()
    pat = sign_in(pat_context, server, "pat", agency="partner")
    pat.goto(f"{server}/cases?view=advanced&tab=cases&applied=1")
    table = pat.inner_text("#cases")
    assert "Referral from Demo" in table and "(sent by Demo District Health)" in table
    states = pat.locator("td.sharing-state").evaluate_all(
        "cells => cells.map(c => c.dataset.sharingState)"
    )
    # the case sent and her own case for it, twice: the demo sent Pat patient-1 already
    assert states.count("receiving") == 4
    assert_accessible(pat, "View cases with a received case")
    pat_context.close()


def test_s_xc_1_the_demo_shows_cases_sent_both_ways_and_an_x_case_alert(
    server: str, context: Any
) -> None:
    """Issue 11 item 9: Wendy's patient-1 is sent to Partner Agency and receives Partner's tip
    (S-AG-5 ``both``), and Rex Rivers' phone puts an X-Case alert on it, in the list and on
    Manage case; Partner's admin finds referral-1 waiting for her."""
    wendy = sign_in(context, server, "wendy")
    wendy.goto(f"{server}/cases?view=advanced&tab=cases&applied=1&q=patient-1")
    row = wendy.locator("#cases tr", has_text="patient-1")
    cell = row.locator("td.sharing-state")
    assert cell.get_attribute("data-sharing-state") == "both"
    assert "X-Case alert: 1 other case shares an identifier" in cell.inner_text()
    wendy.goto(f"{server}/cases/patient-1")
    assert "referral-1" in wendy.inner_text("#xcase")
    received = wendy.inner_text("#received")
    assert "Tip from the harbour" in received and "Vic Vance (suspect)" in received
    wendy.goto(f"{server}/cases/patient-1/share")
    sent = wendy.inner_text("#sent")
    assert "Partner Agency" in sent and "Active" in sent
    padma = sign_in(context, server, "padma", agency="partner")
    padma.click("nav[aria-label='Main menu'] >> text=Partner agencies")
    padma.click("text=Cases sent to us")
    waiting = padma.locator("#received tr", has_text="referral-1")
    assert "Pending" in waiting.inner_text()
