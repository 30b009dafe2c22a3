"""S-AG-2…S-AG-5 through the services on both stores: sending a case to a partner agency,
finalising, rejecting, editing and revoking it; what the receiving side reads through the row
cause ``agency_share`` (check, explain, who-has-access and the list agreeing); sharing states."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from caseshare.core.agencyshares import Status
from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action, Cause, Level
from caseshare.core.principals import Principal
from tests.services.cast import Cast, code_of

SHARING = {"outbound_sharing": True, "inbound_sharing": True}


@dataclass
class South:
    slug: str
    agreement: int
    receiver: int  # Rhea Receiver, who will be the receiving user
    unit: int  # a field unit of south
    member: int  # Umar Unit, in that unit
    bystander: int  # Sam Bystander: south, neither receiver nor unit member
    plain_group: int  # a group of kind "group", not a unit
    target: int  # the target of k1 that is shared
    secret: int  # a target of k1 that is not


def _agree(c: Cast, **flags: bool) -> int:
    south = c.store.agency(c.other_agency)[1]
    row = c.svc.propose_agreement(c.agency, c.admin, south, SHARING)
    c.svc.answer_agreement(c.other_agency, c.foreigner, row.id, approve=True, flags=flags or None)
    return row.id


def _south(c: Cast, *, agree: bool = True) -> South:
    svc, s = c.svc, c.other_agency
    receiver = svc.create_user(s, None, "rhea", full_name="Rhea Receiver", email="rhea@s.example")
    member = svc.create_user(s, None, "umar", full_name="Umar Unit", email="umar@s.example")
    bystander = svc.create_user(s, None, "sam", full_name="Sam Bystander", email="sam@s.example")
    unit = svc.create_group(s, None, "Field unit 1", kind="unit")
    svc.add_member(s, None, unit, Principal("user", member))
    plain = svc.create_group(s, None, "Book club")
    target = svc.add_target(
        c.agency,
        c.owner,
        c.case,
        "suspect",
        "Sid Suspect",
        [{"type": "phone", "value": "+1 555 0100", "deconfliction": True}],
    )["id"]
    secret = svc.add_target(c.agency, c.owner, c.case, "witness", "Wanda Witness")["id"]
    agreement = _agree(c) if agree else 0
    slug = c.store.agency(s)[1]
    return South(slug, agreement, receiver, unit, member, bystander, plain, target, secret)


def _send(c: Cast, w: South, **kw: object) -> int:
    rows = c.svc.send_case(
        c.agency,
        c.owner,
        c.case,
        [w.slug],
        targets=kw.pop("targets", [w.target]),  # type: ignore[arg-type]
        units=kw.pop("units", {w.slug: [w.unit]}),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )
    assert [r.status for r in rows] == [Status.PENDING]
    return rows[0].id


def _accept(c: Cast, w: South, share_id: int, **kw: object) -> str:
    row = c.svc.accept_agency_share(c.other_agency, c.foreigner, share_id, w.receiver, **kw)  # type: ignore[arg-type]
    assert row.status is Status.ACTIVE and row.local_case_id
    return row.local_case_id


def _pk(c: Cast) -> int:
    pk = c.store.case_pk(c.agency, c.case)
    assert pk is not None
    return pk


def _reads(c: Cast, user: int) -> bool:
    """Check and list agree (S-ACC-7): True when both say the user reads the source case."""
    svc = c.fresh()
    level = svc.access_received(user, _pk(c)).level
    listed = _pk(c) in svc.visible_summaries(user, [_pk(c)])
    assert (level > Level.NONE) == listed, (level, listed)
    return listed


def test_s_ag_2_sending_needs_a_valid_agreement(cast: Cast) -> None:
    c = cast
    w = _south(c, agree=False)
    with pytest.raises(CaseShareError) as err:
        _send(c, w)
    assert err.value.code == "agreement_required"
    assert "no agreement" in err.value.message.lower()
    assert c.svc.share_recipients(c.agency, c.owner) == []


def test_s_ag_2_only_full_access_sends(cast: Cast) -> None:
    c = cast
    w = _south(c)
    send = c.svc.send_case
    assert code_of(send, c.agency, c.reader, c.case, [w.slug]) == "insufficient_access"
    assert code_of(send, c.agency, c.outsider, c.case, [w.slug]) == "not_found"
    assert code_of(send, c.agency, c.owner, c.case, []) == "validation_error"
    assert (
        code_of(send, c.agency, c.owner, c.case, [w.slug], units={w.slug: [w.plain_group]})
        == "invalid_grantee"
    )
    assert code_of(send, c.agency, c.owner, c.case, [w.slug], targets=[999_999]) == (
        "validation_error"
    )
    recipients = c.svc.share_recipients(c.agency, c.owner)
    assert [(r["slug"], [u["name"] for u in r["units"]]) for r in recipients] == [
        (w.slug, ["Field unit 1"])
    ]


def test_s_ag_3_a_sent_case_waits_for_the_receiving_admins(cast: Cast) -> None:
    c = cast
    w = _south(c)
    share_id = _send(c, w)
    waiting = [
        (m.kind, m.recipient_name)
        for m in c.store.outbox_page(c.other_agency, limit=50)
        if m.about == f"agency_share:{share_id}"
    ]
    assert waiting == [("agency_share_waiting", "Fred Foreign")]
    for agency_id in (c.agency, c.other_agency):
        events = [
            e.action
            for e in c.store.audit_events(agency_id, limit=500)
            if e.subject == f"agency_share:{share_id}"
        ]
        assert events == ["agency_share.create"]
    # a second send to the same agency is refused: edit the share instead
    assert code_of(_send, c, w) == "invalid_transition"
    # pending: nobody in south reads anything yet
    assert not _reads(c, w.receiver)
    assert [r.id for r in c.svc.agency_shares_received(c.other_agency, c.foreigner)] == [share_id]
    assert code_of(c.svc.agency_shares_received, c.other_agency, w.receiver) == (
        "insufficient_access"
    )


def test_s_ag_4_the_receiver_and_unit_read_the_summary_and_shared_targets(cast: Cast) -> None:
    c = cast
    w = _south(c)
    share_id = _send(c, w)
    local = _accept(c, w, share_id, new_case_name="From North")
    answered = [
        (m.kind, m.recipient_name)
        for m in reversed(c.store.outbox_page(c.agency, limit=50))
        if m.about == f"agency_share:{share_id}"
    ]
    assert answered == [
        ("agency_share_answered", "Olga Owner"),
        ("agency_share_answered", "Ada Admin"),
    ]
    assert _reads(c, w.receiver) and _reads(c, w.member)
    assert not _reads(c, w.bystander)
    for user in (w.receiver, w.member):
        summary = c.svc.received_case(c.other_agency, user, share_id)
        assert set(summary) == {
            "case_id",
            "name",
            "case_type",
            "status",
            "opened_on",
            "modified_on",
            "sending_agency",
            "owner",
            "targets",
        }
        assert summary["name"] == "Ann Smith" and summary["sending_agency"] == "North"
        assert [t["id"] for t in summary["targets"]] == [w.target]  # never the secret one
    assert code_of(c.svc.received_case, c.other_agency, w.bystander, share_id) == "not_found"
    # an admin of south finalises, but reads no case data through that
    assert code_of(c.svc.received_case, c.other_agency, c.foreigner, share_id) == "not_found"
    # seen from the mapped local case, which the receiving user owns
    seen = c.svc.received_for_local_case(c.other_agency, w.receiver, local)
    assert [s["share"] for s in seen] == [share_id]
    access = c.fresh().access_received(w.receiver, _pk(c))
    assert access.level is Level.READ and access.causes == {Cause.AGENCY_SHARE}
    assert access.grants[0].path == (
        f"agency_share → agency_share:{share_id} → receiving user:{w.receiver}"
    )
    unit_path = c.fresh().access_received(w.member, _pk(c)).grants[0].path
    assert unit_path.startswith(f"agency_share → agency_share:{share_id} → unit group:{w.unit}")
    # S-AG-4: a receiving user never edits, shares or sends the source case
    assert not access.allows(Action.EDIT) and not access.allows(Action.SHARE)
    who = {a.user_id: a for a in c.fresh().who_has_access(c.agency, c.case)}
    assert who[w.receiver].causes == {Cause.AGENCY_SHARE} and w.bystander not in who
    # their own case of the same id is theirs; the source case is never reached by id
    assert c.fresh().access(w.receiver, c.case).level is Level.NONE


def test_s_ag_4_new_targets_appear_with_auto_include(cast: Cast) -> None:
    c = cast
    w = _south(c)
    share_id = _send(c, w, auto_include=True)
    _accept(c, w, share_id)
    added = c.svc.add_target(c.agency, c.owner, c.case, "associate", "Al Associate")["id"]
    got = [t["id"] for t in c.svc.received_case(c.other_agency, w.receiver, share_id)["targets"]]
    assert got == [w.target, added]


def test_s_ag_2_editing_changes_targets_and_units(cast: Cast) -> None:
    c = cast
    w = _south(c)
    share_id = _send(c, w)
    _accept(c, w, share_id)
    c.svc.edit_agency_share(c.agency, c.owner, share_id, targets=[w.secret], units=[])
    got = [t["id"] for t in c.svc.received_case(c.other_agency, w.receiver, share_id)["targets"]]
    assert got == [w.secret]
    assert not _reads(c, w.member) and _reads(c, w.receiver)
    assert code_of(c.svc.edit_agency_share, c.other_agency, w.receiver, share_id) in (
        "not_found",
        "insufficient_access",
    )


def test_s_ag_2_revoking_ends_access_at_the_next_request(cast: Cast) -> None:
    c = cast
    w = _south(c)
    share_id = _send(c, w)
    _accept(c, w, share_id)
    assert _reads(c, w.receiver)
    row = c.svc.revoke_agency_share(c.agency, c.owner, share_id, "Closed the operation")
    assert row.status is Status.REVOKED
    assert not _reads(c, w.receiver) and not _reads(c, w.member)
    assert code_of(c.svc.received_case, c.other_agency, w.receiver, share_id) == "not_found"
    assert code_of(c.svc.revoke_agency_share, c.agency, c.owner, share_id) == "invalid_transition"
    # a revoked share may be sent again
    _send(c, w)


def test_s_ag_3_rejection_needs_a_reason_and_ends_the_share(cast: Cast) -> None:
    c = cast
    w = _south(c)
    share_id = _send(c, w)
    reject = c.svc.reject_agency_share
    assert code_of(reject, c.other_agency, c.foreigner, share_id, " ") == "validation_error"
    assert code_of(reject, c.agency, c.admin, share_id, "no") == "insufficient_access"
    row = reject(c.other_agency, c.foreigner, share_id, "Not our area")
    assert row.status is Status.REJECTED and row.reason == "Not our area"
    assert code_of(_accept, c, w, share_id) == "invalid_transition"
    assert not _reads(c, w.receiver)


def test_s_ag_5_sharing_states_and_an_inactive_agreement(cast: Cast) -> None:
    c = cast
    w = _south(c)
    share_id = _send(c, w)
    local = _accept(c, w, share_id)
    local_pk = c.store.case_pk(c.other_agency, local)
    assert local_pk is not None
    assert c.fresh().sharing_states([_pk(c)]) == {_pk(c): "sending"}
    assert c.fresh().sharing_states([local_pk]) == {local_pk: "receiving"}
    private_pk = c.store.case_pk(c.agency, c.private)
    assert private_pk is not None
    assert c.fresh().sharing_states([private_pk]) == {private_pk: None}
    # south switches its side off: the share stays, nothing flows, the state says so
    c.svc.update_agreement(c.other_agency, c.foreigner, w.agreement, {"enabled": False})
    assert c.fresh().sharing_states([_pk(c)]) == {_pk(c): "inactive"}
    assert c.fresh().sharing_states([local_pk]) == {local_pk: "inactive"}
    assert not _reads(c, w.receiver)
    c.svc.update_agreement(c.other_agency, c.foreigner, w.agreement, {"enabled": True})
    assert _reads(c, w.receiver)


def test_s_ag_3_finalising_maps_to_an_existing_case_and_assigns_the_receiver(cast: Cast) -> None:
    c = cast
    w = _south(c)
    share_id = _send(c, w)
    local = _accept(c, w, share_id, local_case_id="k1")  # south's own k1
    assert local == "k1"
    assert c.fresh().access(w.receiver, "k1").causes == {Cause.ASSIGNED}
    assert code_of(_accept, c, w, 999_999) == "not_found"


def test_s_ag_3_a_revoke_names_the_status_it_saw(cast: Cast) -> None:
    c = cast
    w = _south(c)
    share_id = _send(c, w)
    _accept(c, w, share_id)
    revoke = c.svc.revoke_agency_share
    assert code_of(revoke, c.agency, c.owner, share_id, expected="pending") == (
        "invalid_transition"
    )
    assert code_of(revoke, c.agency, c.owner, share_id, expected="rejected") == ("validation_error")
    assert revoke(c.agency, c.owner, share_id, expected="active").status is Status.REVOKED


def test_s_ag_5_list_rows_carry_the_state_and_a_received_summary(cast: Cast) -> None:
    c = cast
    w = _south(c)
    share_id = _send(c, w)
    local = _accept(c, w, share_id, new_case_name="From North")
    sent = {i["case_id"]: i for i in c.fresh().list_cases(c.owner).items}
    assert sent[c.case]["sharing_state"] == "sending"
    assert sent[c.private]["sharing_state"] is None
    rows = c.fresh().list_cases(w.receiver).items
    by_name = {i["name"]: i for i in rows}
    assert set(by_name) == {"Ann Smith", "From North"}
    assert by_name["From North"]["case_id"] == local
    assert by_name["From North"]["sharing_state"] == "receiving"
    source = by_name["Ann Smith"]
    assert source["sharing_state"] == "receiving" and source["owner"] is None
    assert source["received_from"] == {
        "agency": "North",
        "owner_name": "Olga Owner",
        "owner_email": "olga@north.example",
    }
    assert [i["name"] for i in c.fresh().list_cases(w.bystander).items] == []


def _told(c: Cast, share_id: int, kind: str) -> list[str]:
    return [
        m.recipient_name
        for m in reversed(c.store.outbox_page(c.other_agency, limit=100))
        if m.about == f"agency_share:{share_id}" and m.kind == kind
    ]


def test_s_not_1_a_revoke_tells_the_receiving_admins_and_the_receiving_user(cast: Cast) -> None:
    c = cast
    w = _south(c)
    pending = _send(c, w)
    c.svc.revoke_agency_share(c.agency, c.owner, pending, "Sent by mistake", expected="pending")
    # pending: nobody was assigned yet, so only the admins who would have finalised it
    assert _told(c, pending, "agency_share_revoked") == ["Fred Foreign"]
    notice = c.store.outbox_page(c.other_agency, kind="agency_share_revoked")[0]
    assert notice.status == "pending" and '"Sent by mistake"' in notice.body
    assert "Olga Owner of North revoked" in notice.body
    active = _send(c, w)
    _accept(c, w, active)
    c.svc.revoke_agency_share(c.agency, c.owner, active)
    assert _told(c, active, "agency_share_revoked") == ["Fred Foreign", "Rhea Receiver"]
    # a revoke that finds the status moved on rolls back and tells nobody
    again = _send(c, w)
    _accept(c, w, again)
    assert code_of(c.svc.revoke_agency_share, c.agency, c.owner, again, expected="pending") == (
        "invalid_transition"
    )
    assert _told(c, again, "agency_share_revoked") == []


def test_s_acc_3_the_senders_history_never_names_the_receivers_local_case(cast: Cast) -> None:
    """The share the sender reads hides the receiver's local case; its audit trail on the case's
    history (S-AUD-1) must not name it either, while the receiver's own trail does."""
    c = cast
    w = _south(c)
    share_id = _send(c, w)
    local = _accept(c, w, share_id)
    c.svc.revoke_agency_share(c.agency, c.owner, share_id, "Done")
    subject = f"agency_share:{share_id}"
    sender = [e for e in c.store.audit_events(c.agency, limit=10_000) if e.subject == subject]
    assert {e.action for e in sender} == {
        "agency_share.create",
        "agency_share.accept",
        "agency_share.revoke",
    }
    assert all(e.case_pk == _pk(c) for e in sender)
    assert local not in repr([(e.before, e.after) for e in sender])
    history = c.store.case_audit_page(c.agency, _pk(c), limit=100)
    assert local not in repr([(e.before, e.after) for e in history])
    receiver = [
        e for e in c.store.audit_events(c.other_agency, limit=10_000) if e.subject == subject
    ]
    accepted = [e for e in receiver if e.action == "agency_share.accept"]
    assert len(accepted) == 1 and accepted[0].after is not None
    assert accepted[0].after["local_case"] == local and accepted[0].case_pk is None


def test_s_acc_3_a_share_names_the_local_case_only_to_those_who_may_view_it(cast: Cast) -> None:
    c = cast
    w = _south(c)
    share_id = _send(c, w)
    local = _accept(c, w, share_id)
    svc = c.fresh()

    def named_to(user: int) -> str | None:
        row = svc.agency_share(c.other_agency, user, share_id)  # each of them may read the share
        return svc.agency_share_json(row, c.other_agency, user)["local_case_id"]  # type: ignore[no-any-return]

    assert svc.access(w.member, local).level is Level.NONE  # the unit reads the sent case only
    assert named_to(w.member) is None
    assert named_to(w.receiver) == local  # the receiving user holds the local case
    assert named_to(c.foreigner) == local  # south's admin sees every case of south
    sender = svc.agency_share(c.agency, c.owner, share_id)
    assert svc.agency_share_json(sender, c.agency, c.owner)["local_case_id"] is None
