"""S-NOT-1 for case changes: "you were assigned" and "a case was shared with you" go to that
person, in the change's own transaction; the system's changes tell nobody."""

from __future__ import annotations

from caseshare.core.principals import Principal
from tests.services.cast import Cast, code_of


def _notices(c: Cast) -> list[tuple[str, int | None, str]]:
    return [
        (m.kind, m.recipient_user_id, m.subject)
        for m in reversed(c.store.outbox_page(c.agency, limit=500))
    ]


def test_s_not_1_an_assigned_user_is_told_by_name_with_the_case_page(cast: Cast) -> None:
    c = cast
    before = _notices(c)
    c.svc.assign(c.agency, c.owner, c.case, c.outsider)
    new = _notices(c)[len(before) :]
    assert new == [("case_assigned", c.outsider, "You were assigned to case Ann Smith")]
    row = c.store.outbox_page(c.agency, kind="case_assigned")[0]
    assert row.recipient_email == "otto@north.example" and row.recipient_name == "Otto Outsider"
    assert row.body.startswith("Hello Otto Outsider,")
    assert 'Olga Owner assigned you to the case "Ann Smith" (k1)' in row.body
    assert row.link == "/cases/k1" and row.about == "case:k1"
    # assigning again changes nothing and tells nobody again
    c.svc.assign(c.agency, c.owner, c.case, c.outsider)
    assert len(_notices(c)) == len(before) + 1


def test_s_not_1_a_manual_share_with_a_user_tells_that_user_once(cast: Cast) -> None:
    c = cast
    before = len(_notices(c))
    c.svc.share(c.agency, c.owner, c.case, f"user:{c.outsider}", "read")
    c.svc.share(c.agency, c.owner, c.case, f"user:{c.outsider}", "edit")  # an upsert: no news
    others = c.svc.create_group(c.agency, None, "Others")
    c.svc.add_member(c.agency, None, others, Principal("user", c.outsider))
    c.svc.share(c.agency, c.owner, c.case, f"group:{others}", "edit")  # a group: nobody by mail
    assert _notices(c)[before:] == [
        ("case_shared", c.outsider, "Olga Owner shared case Ann Smith with you")
    ]


def test_s_not_1_nobody_is_told_of_their_own_change_or_of_the_systems(cast: Cast) -> None:
    c = cast
    before = len(_notices(c))
    c.svc.assign(c.agency, c.admin, c.case, c.admin)  # an admin assigns themselves
    c.svc.assign(c.agency, None, c.case, c.outsider)  # an import
    c.svc.share(c.agency, None, c.private, f"user:{c.reader}", "read")
    assert len(_notices(c)) == before


def test_s_not_1_a_refused_change_writes_no_message(cast: Cast) -> None:
    c = cast
    before = len(_notices(c))
    assert code_of(c.svc.assign, c.agency, c.reader, c.case, c.outsider) == "insufficient_access"
    assert (
        code_of(c.svc.share, c.agency, c.owner, c.case, Principal("user", c.foreigner), "read")
        == "invalid_grantee"
    )
    assert len(_notices(c)) == before


def test_s_not_1_a_user_without_email_is_recorded_as_skipped(cast: Cast) -> None:
    c = cast
    quiet = c.svc.create_user(c.agency, None, "quinn", full_name="Quinn Quiet")
    c.svc.assign(c.agency, c.owner, c.case, quiet)
    row = c.store.outbox_page(c.agency, kind="case_assigned")[0]
    assert (row.recipient_user_id, row.status, row.recipient_email) == (quiet, "skipped", "")
    assert "Quinn Quiet has no email address" in row.last_error
    assert c.store.outbox_counts(c.agency)["skipped"] >= 1


def test_s_not_1_admins_list_the_outbox_and_requeue_a_failed_message(cast: Cast) -> None:
    c = cast
    c.svc.assign(c.agency, c.owner, c.case, c.outsider)
    rows, more, counts = c.svc.outbox(c.agency, c.admin, kind="case_assigned")
    assert [r.recipient_user_id for r in rows] == [c.outsider] and more is None
    assert counts["pending"] >= 1
    assert code_of(c.svc.outbox, c.agency, c.owner) == "insufficient_access"
    assert code_of(c.svc.outbox_message, c.other_agency, c.foreigner, rows[0].id) == "not_found"
    assert code_of(c.svc.retry_message, c.agency, c.admin, rows[0].id) == "invalid_transition"
    c.store.mark_failed(rows[0].id, "550 no such user")
    again = c.svc.retry_message(c.agency, c.admin, rows[0].id)
    assert (again.status, again.attempts) == ("pending", 0)
    events = [e for e in c.store.audit_events(c.agency) if e.action == "outbox.retry"]
    assert events[-1].before == {"status": "failed", "last_error": "550 no such user"}
    assert code_of(c.svc.outbox, c.agency, c.admin, status="lost") == "validation_error"
