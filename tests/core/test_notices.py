"""S-NOT-1: what each notice says: people by name, the page's path, the reason when there is one."""

from __future__ import annotations

import datetime as dt

from caseshare.core import notices
from caseshare.core.agreements import Side


def test_s_not_1_agreement_proposed_names_the_proposer_terms_dates_and_page() -> None:
    mine = Side(1, "North Police", outbound_sharing=True, inbound_search=True)
    n = notices.agreement_proposed(
        7, mine, mine.mirrored(2, "South Police"), "Ada Admin", dt.date(2026, 1, 1), None
    )
    assert n.kind == "agreement_proposed" and n.about == "agreement:7"
    assert n.subject == "North Police proposes a data-sharing agreement with South Police"
    assert "Ada Admin of North Police proposes" in n.body
    assert "sends case data to South Police: yes" in n.body
    assert "starts on 2026-01-01 and has no end date" in n.body
    assert n.link == "/agreements/7"
    text = n.text_for("Fred Foreign")
    assert text.startswith("Hello Fred Foreign,\n\n")


def test_s_not_1_answers_carry_the_reason() -> None:
    north, south = Side(1, "North"), Side(2, "South")
    no = notices.agreement_answered(3, north, south, "Fred Foreign", False, "Not this year")
    assert no.subject == "South rejected your agreement proposal"
    assert '"Not this year"' in no.body
    yes = notices.agreement_answered(3, north, south, "Fred Foreign", True)
    assert "approved" in yes.subject and "reason" not in yes.body


def test_s_not_1_case_notices_link_the_case_page_with_its_id_quoted() -> None:
    n = notices.case_assigned("k 1/2", "Ann Smith", "Olga Owner")
    assert n.link == "/cases/k%201%2F2"
    assert 'Olga Owner assigned you to the case "Ann Smith"' in n.body
    shared = notices.case_shared("k1", "Ann Smith", "Olga Owner", "edit")
    assert "you may view and change it" in shared.body


def test_s_not_1_agency_share_hooks_word_the_waiting_and_the_answer() -> None:
    waiting = notices.agency_share_waiting(5, "North", "South", "Olga Owner", "Ann Smith")
    assert waiting.kind == "agency_share_waiting" and waiting.link == "/agency-shares/5"
    assert "until an admin of South finalises it" in waiting.body
    answered = notices.agency_share_answered(5, "North", "South", "Fred", "Ann Smith", False, "x")
    assert answered.subject == "South rejected the case Ann Smith" and '"x"' in answered.body


def test_s_not_1_the_sent_text_puts_the_base_url_before_the_path() -> None:
    body = "Hello Ann,\n\nSomething happened."
    assert notices.compose(body, "/cases/k1", "https://cs.example.org/") == (
        "Hello Ann,\n\nSomething happened.\n\nOpen it: https://cs.example.org/cases/k1"
        "\n\n-- \ncaseshare\n"
    )
    assert "Open it: /cases/k1" in notices.compose(body, "/cases/k1")
    assert "Open it" not in notices.compose(body, "")
