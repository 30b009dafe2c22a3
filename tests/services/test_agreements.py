"""S-AG-1 through the services on both stores: proposing, answering, withdrawing, ending and
editing agreements; who may do each; the audit in both agencies; the notices (S-NOT-1)."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest

from caseshare.core.agreements import Status
from caseshare.core.errors import CaseShareError
from caseshare.services.agreements import agreement_json
from tests.services.cast import Cast, code_of

SHARING = {"outbound_sharing": True, "inbound_sharing": True}
DAY = dt.timedelta(days=1)


def _south(c: Cast) -> str:
    return c.store.agency(c.other_agency)[1]


def _north(c: Cast) -> str:
    return c.store.agency(c.agency)[1]


def _propose(c: Cast, **kw: object) -> int:
    row = c.svc.propose_agreement(c.agency, c.admin, _south(c), kw.pop("flags", SHARING), **kw)  # type: ignore[arg-type]
    return row.id


def _outbox(c: Cast, agency_id: int) -> list[tuple[str, str, str]]:
    return [
        (m.kind, m.recipient_name, m.status)
        for m in reversed(c.store.outbox_page(agency_id, limit=500))
    ]


def test_s_ag_1_an_admin_proposes_and_the_partners_admins_are_told(cast: Cast) -> None:
    c = cast
    silent = c.svc.create_user(
        c.other_agency, None, "sam", full_name="Sam Silent", permissions=["admin"]
    )
    agreement_id = _propose(c, start="2026-01-01", end="2026-12-31")
    row = c.svc.agreement(c.agency, c.admin, agreement_id)
    assert row.status is Status.PENDING
    a = row.agreement
    assert (a.proposer.agency_id, a.partner.agency_id) == (c.agency, c.other_agency)
    assert a.proposer.outbound_sharing and a.proposer.inbound_sharing
    assert a.partner.inbound_sharing and a.partner.outbound_sharing  # mirrored
    assert (a.start, a.end) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    # both south admins: Fred by email; Sam has no address, so his row says so
    assert _outbox(c, c.other_agency) == [
        ("agreement_proposed", "Fred Foreign", "pending"),
        ("agreement_proposed", "Sam Silent", "skipped"),
    ]
    skipped = c.store.outbox_page(c.other_agency, status="skipped")[0]
    assert skipped.recipient_user_id == silent and "no email address" in skipped.last_error
    sent = c.store.outbox_page(c.other_agency, status="pending")[0]
    assert sent.recipient_email == "fred@south.example"
    assert "Ada Admin of North proposes an agreement between North and South" in sent.body
    assert sent.link == f"/agreements/{agreement_id}"
    assert sent.message_id.startswith("<") and sent.message_id.endswith("@caseshare>")
    # north's own admins are not told of their own proposal
    assert not [m for m in _outbox(c, c.agency) if m[0] == "agreement_proposed"]


def test_s_ag_1_only_admins_propose_to_an_agency_that_exists(cast: Cast) -> None:
    c = cast
    assert code_of(c.svc.propose_agreement, c.agency, c.owner, _south(c)) == "insufficient_access"
    assert code_of(c.svc.propose_agreement, c.agency, c.admin, "nowhere") == "not_found"
    assert code_of(c.svc.propose_agreement, c.agency, c.admin, _north(c)) == "validation_error"
    assert (
        code_of(c.svc.propose_agreement, c.agency, c.admin, _south(c), {"sharing": True})
        == "validation_error"
    )
    assert (
        code_of(
            c.svc.propose_agreement,
            c.agency,
            c.admin,
            _south(c),
            start="2026-02-01",
            end="2026-01-01",
        )
        == "validation_error"
    )
    assert c.store.agreements_of(c.agency) == []
    assert _outbox(c, c.other_agency) == []


def test_s_ag_1_one_pending_proposal_per_pair_whichever_side_proposes(cast: Cast) -> None:
    c = cast
    first = _propose(c)
    assert code_of(_propose, c) == "invalid_transition"
    with pytest.raises(CaseShareError) as info:
        c.svc.propose_agreement(c.other_agency, c.foreigner, _north(c))
    assert info.value.code == "invalid_transition"
    assert f"Agreement {first}" in info.value.message and "pending already" in info.value.message


def test_s_ag_1_the_partner_approves_and_the_proposers_admins_are_told(cast: Cast) -> None:
    c = cast
    agreement_id = _propose(c)
    assert (
        code_of(c.svc.answer_agreement, c.agency, c.admin, agreement_id, approve=True)
        == "insufficient_access"
    )
    row = c.svc.answer_agreement(
        c.other_agency, c.foreigner, agreement_id, approve=True, flags={"inbound_sharing": False}
    )
    assert row.status is Status.APPROVED and row.answered_by == f"user:{c.foreigner}"
    assert row.agreement.partner.inbound_sharing is False
    assert c.svc.data_flow(c.other_agency, c.agency).allowed
    north_to_south = c.svc.data_flow(c.agency, c.other_agency)
    assert north_to_south.condition == "inbound_off"
    assert "South has inbound sharing off in its agreement with North" in north_to_south.reason
    with pytest.raises(CaseShareError) as info:
        north_to_south.require()
    assert info.value.code == "agreement_required"
    assert _outbox(c, c.agency)[-1] == ("agreement_answered", "Ada Admin", "pending")
    answer = c.store.outbox_page(c.agency, kind="agreement_answered")[0]
    assert "Fred Foreign of South approved the agreement North proposed" in answer.body
    # approving twice: the second finds it approved already
    assert (
        code_of(c.svc.answer_agreement, c.other_agency, c.foreigner, agreement_id, approve=True)
        == "invalid_transition"
    )


def test_s_ag_1_rejection_needs_a_reason_that_the_proposer_reads(cast: Cast) -> None:
    c = cast
    agreement_id = _propose(c)
    for empty in (None, "  "):
        assert (
            code_of(
                c.svc.answer_agreement,
                c.other_agency,
                c.foreigner,
                agreement_id,
                approve=False,
                reason=empty,
            )
            == "validation_error"
        )
    row = c.svc.answer_agreement(
        c.other_agency, c.foreigner, agreement_id, approve=False, reason="Not this year"
    )
    assert row.status is Status.REJECTED and row.reason == "Not this year"
    assert '"Not this year"' in c.store.outbox_page(c.agency, kind="agreement_answered")[0].body
    assert c.svc.data_flow(c.agency, c.other_agency).condition == "no_agreement"
    _propose(c)  # a rejected one leaves the way open for a new proposal


def test_s_ag_1_withdraw_is_the_proposers_while_pending_end_is_either_sides(cast: Cast) -> None:
    c = cast
    agreement_id = _propose(c)
    assert (
        code_of(c.svc.withdraw_agreement, c.other_agency, c.foreigner, agreement_id)
        == "insufficient_access"
    )
    assert code_of(c.svc.end_agreement, c.agency, c.admin, agreement_id) == "invalid_transition"
    row = c.svc.withdraw_agreement(c.agency, c.admin, agreement_id, "Sent too early")
    assert row.status is Status.WITHDRAWN and row.closed_by == f"user:{c.admin}"
    assert _outbox(c, c.other_agency)[-1] == ("agreement_withdrawn", "Fred Foreign", "pending")
    again = _propose(c)
    c.svc.answer_agreement(c.other_agency, c.foreigner, again, approve=True)
    assert code_of(c.svc.withdraw_agreement, c.agency, c.admin, again) == "invalid_transition"
    ended = c.svc.end_agreement(c.other_agency, c.foreigner, again, "Project over")
    assert ended.status is Status.ENDED
    assert c.svc.data_flow(c.agency, c.other_agency).condition == "no_agreement"
    notice = c.store.outbox_page(c.agency, kind="agreement_withdrawn")[0]
    assert "Fred Foreign of South ended the agreement" in notice.body


def test_s_ag_1_each_side_switches_its_own_flags_and_the_other_side_is_told(cast: Cast) -> None:
    c = cast
    agreement_id = _propose(c)
    c.svc.answer_agreement(c.other_agency, c.foreigner, agreement_id, approve=True)
    row = c.svc.update_agreement(c.other_agency, c.foreigner, agreement_id, {"enabled": False})
    assert row.agreement.partner.enabled is False and row.agreement.proposer.enabled is True
    flow = c.svc.data_flow(c.agency, c.other_agency)
    assert flow.condition == "disabled" and flow.inactive
    notice = c.store.outbox_page(c.agency, kind="agreement_changed")[0]
    assert "South's enabled: off" in notice.body and notice.recipient_name == "Ada Admin"
    # north cannot switch south back on: its own flags are the only ones it holds
    north = c.svc.update_agreement(c.agency, c.admin, agreement_id, {"enabled": True})
    assert north.agreement.partner.enabled is False
    # nothing changed: no event, no notice
    before = len(c.store.outbox_page(c.other_agency, limit=500))
    c.svc.update_agreement(c.agency, c.admin, agreement_id, {"outbound_sharing": True})
    assert len(c.store.outbox_page(c.other_agency, limit=500)) == before
    assert code_of(c.svc.update_agreement, c.agency, c.owner, agreement_id, {}) == (
        "insufficient_access"
    )


def test_s_ag_1_dates_proposers_terms_while_pending_narrow_only_once_approved(cast: Cast) -> None:
    c = cast
    jan, jun, dec = dt.date(2026, 1, 1), dt.date(2026, 6, 1), dt.date(2026, 12, 31)
    agreement_id = _propose(c, start=jan, end=dec)
    assert (
        code_of(c.svc.update_agreement, c.other_agency, c.foreigner, agreement_id, end=jun)
        == "insufficient_access"
    )
    row = c.svc.update_agreement(c.agency, c.admin, agreement_id, end=None)
    assert row.agreement.end is None  # the proposer may change its terms, even widen them
    c.svc.update_agreement(c.agency, c.admin, agreement_id, end=dec)
    c.svc.answer_agreement(c.other_agency, c.foreigner, agreement_id, approve=True)
    narrowed = c.svc.update_agreement(c.other_agency, c.foreigner, agreement_id, end=jun)
    assert narrowed.agreement.end == jun
    for change in ({"end": dec}, {"end": None}, {"start": None}, {"start": jan - DAY}):
        with pytest.raises(CaseShareError) as info:
            c.svc.update_agreement(c.agency, c.admin, agreement_id, **change)  # type: ignore[arg-type]
        assert info.value.code == "validation_error"
        assert "propose a new agreement" in info.value.message
    assert "end date: 2026-06-01" in c.store.outbox_page(c.agency, kind="agreement_changed")[0].body


def test_s_ag_1_a_new_approved_agreement_replaces_the_old_one(cast: Cast) -> None:
    c = cast
    old = _propose(c, end="2026-06-30")
    c.svc.answer_agreement(c.other_agency, c.foreigner, old, approve=True)
    new = c.svc.propose_agreement(c.other_agency, c.foreigner, _north(c), SHARING, end="2027-06-30")
    assert c.svc.agreement_between(c.agency, c.other_agency).id == old  # approved wins
    c.svc.answer_agreement(c.agency, c.admin, new.id, approve=True)
    replaced = c.svc.agreement(c.agency, c.admin, old)
    assert replaced.status is Status.SUPERSEDED and replaced.superseded_by == new.id
    assert c.svc.agreement_between(c.agency, c.other_agency).id == new.id
    assert code_of(c.svc.update_agreement, c.agency, c.admin, old, {"enabled": False}) == (
        "invalid_transition"
    )


def test_s_ag_1_s_acc_3_an_agreement_is_seen_only_by_admins_of_its_two_agencies(cast: Cast) -> None:
    c = cast
    agreement_id = _propose(c)
    west = c.svc.create_agency("west-" + _north(c), "West")
    warden = c.svc.create_user(west, None, "wanda", permissions=["admin"])
    assert code_of(c.svc.agreement, west, warden, agreement_id) == "not_found"
    assert code_of(c.svc.answer_agreement, west, warden, agreement_id, approve=True) == "not_found"
    assert c.svc.agreements(west, warden)[0] == []
    assert code_of(c.svc.agreement, c.agency, c.owner, agreement_id) == "insufficient_access"
    assert [r.id for r in c.svc.agreements(c.other_agency, c.foreigner)[0]] == [agreement_id]
    assert {a["slug"] for a in c.svc.partner_agencies(c.agency, c.admin)} >= {
        _south(c),
        "west-" + _north(c),
    }


def test_s_aud_1_every_agreement_change_is_in_both_agencies_trails(cast: Cast) -> None:
    c = cast
    agreement_id = _propose(c)
    c.svc.answer_agreement(c.other_agency, c.foreigner, agreement_id, approve=False, reason="No")
    for agency_id in (c.agency, c.other_agency):
        events = [
            e for e in c.store.audit_events(agency_id) if e.subject == f"agreement:{agreement_id}"
        ]
        assert [(e.action, e.actor) for e in events] == [
            ("agreement.propose", f"user:{c.admin}"),
            ("agreement.reject", f"user:{c.foreigner}"),
        ]
        assert events[1].before["status"] == "pending" and events[1].after["status"] == "rejected"
        assert events[1].reason == "No"


def test_s_ag_1_the_json_view_is_from_the_readers_side(cast: Cast) -> None:
    c = cast
    agreement_id = _propose(c, flags={"outbound_sharing": True})
    c.svc.answer_agreement(c.other_agency, c.foreigner, agreement_id, approve=True)
    row = c.svc.agreement(c.agency, c.admin, agreement_id)
    mine = agreement_json(row, c.agency, dt.date(2026, 6, 1))
    theirs = agreement_json(row, c.other_agency, dt.date(2026, 6, 1))
    assert mine["role"] == "proposer" and theirs["role"] == "partner"
    assert mine["today"]["send_data"]["allowed"] and not mine["today"]["receive_data"]["allowed"]
    assert theirs["today"]["receive_data"]["allowed"]
    assert mine["partner"]["agency"]["slug"] == _south(c)


def test_s_not_1_a_rolled_back_change_writes_nothing_to_the_outbox(cast: Cast) -> None:
    c = cast
    with contextlib.suppress(RuntimeError), c.store.transaction():
        _propose(c)
        assert len(_outbox(c, c.other_agency)) == 1
        raise RuntimeError("the surrounding change fails")
    assert _outbox(c, c.other_agency) == []
    assert c.store.agreements_of(c.agency) == []
