"""S-XC-1 and S-XC-2 through the services on both stores: X-Case alerts from the
deconfliction index (full details of cases the user may view, a pointer otherwise) and the
deconfliction search across agencies (pointers only, audited)."""

from __future__ import annotations

from caseshare.core.levels import Level
from tests.services.cast import Cast, code_of

PHONE = [{"type": "phone", "value": "+1 555 0100", "deconfliction": True}]


def _target(c: Cast, agency: int, actor: int, case_id: str, phone: str, on: bool = True) -> None:
    c.svc.add_target(
        agency,
        actor,
        case_id,
        "suspect",
        "Sid Suspect",
        [{"type": "phone", "value": phone, "deconfliction": on}],
    )


def test_s_xc_1_a_shared_identifier_alerts_each_case_with_details_or_a_pointer(
    cast: Cast,
) -> None:
    c = cast
    _target(c, c.agency, c.owner, c.case, "+1 555 0100")
    _target(c, c.agency, c.owner, c.private, "(1) 555-0100")  # the same number, written apart
    mine = c.svc.xcase_alerts(c.agency, c.owner, c.case)
    assert mine == [
        {
            "case": {
                "case_id": c.private,
                "name": "Olga's own",
                "case_type": "patient",
                "status": "open",
            },
            "owner": {"name": "Olga Owner", "email": "olga@north.example"},
            "identifiers": [{"type": "phone", "value": mine[0]["identifiers"][0]["value"]}],
        }
    ]
    # Colin works k1 but may not view Olga's private case: a pointer only
    assert c.fresh().access(c.colleague, c.private).level is Level.NONE
    theirs = c.svc.xcase_alerts(c.agency, c.colleague, c.case)
    assert [(a["case"], a["owner"]["name"]) for a in theirs] == [(None, "Olga Owner")]
    # the alert is on each of the cases, and counted on list rows and the record
    assert [a["case"]["case_id"] for a in c.svc.xcase_alerts(c.agency, c.owner, c.private)] == [
        c.case
    ]
    rows = {i["case_id"]: i["x_case_alert"] for i in c.fresh().list_cases(c.owner).items}
    assert rows == {c.case: 1, c.private: 1}
    assert code_of(c.svc.xcase_alerts, c.agency, c.outsider, c.case) == "not_found"


def test_s_xc_1_no_alert_without_deconfliction_nor_from_a_deleted_case(cast: Cast) -> None:
    c = cast
    _target(c, c.agency, c.owner, c.case, "+1 555 0199")
    _target(c, c.agency, c.owner, c.private, "+1 555 0199", on=False)
    assert c.svc.xcase_alerts(c.agency, c.owner, c.case) == []
    other = c.svc.create_case(c.agency, c.owner, "patient", "Binned", owner=f"user:{c.owner}")
    _target(c, c.agency, c.owner, other, "+1 555 0199")
    assert len(c.svc.xcase_alerts(c.agency, c.owner, c.case)) == 1
    c.svc.delete_case(c.agency, c.owner, other)
    assert c.svc.xcase_alerts(c.agency, c.owner, c.case) == []
    # south's case with the same number is another agency: never an X-Case alert here
    _target(c, c.other_agency, c.foreigner, "k1", "+1 555 0199")
    assert c.svc.xcase_alerts(c.agency, c.owner, c.case) == []


def test_s_xc_2_search_across_agencies_gives_pointers_only_and_is_audited(cast: Cast) -> None:
    c = cast
    _target(c, c.other_agency, c.foreigner, "k1", "+1 555 0123")
    search = c.svc.deconfliction_search
    assert code_of(search, c.agency, c.owner, "phone", "+1 555 0123") == "agreement_required"
    south = c.store.agency(c.other_agency)[1]
    row = c.svc.propose_agreement(c.agency, c.admin, south, {"outbound_search": True})
    assert code_of(search, c.agency, c.owner, "phone", "+1 555 0123") == "agreement_required"
    c.svc.answer_agreement(c.other_agency, c.foreigner, row.id, approve=True)
    found = search(c.agency, c.owner, "phone", "+1 (555) 0123")
    assert found["agencies"] == [{"name": "South"}]
    assert found["pointers"] == [
        {"agency": "South", "owner_name": "Fred Foreign", "owner_email": "fred@south.example"}
    ]
    assert "k1" not in repr(found) and "Fred's k1" not in repr(found)  # never case data
    # south may not search north: its outbound search is off
    assert code_of(search, c.other_agency, c.foreigner, "phone", "+1 555 0100") == (
        "agreement_required"
    )
    for agency, action in (
        (c.agency, "deconfliction.search"),
        (c.other_agency, "deconfliction.searched"),
    ):
        events = [e for e in c.store.audit_events(agency, limit=50) if e.action == action]
        assert len(events) == 1 and events[0].actor == f"user:{c.owner}"
    assert search(c.agency, c.owner, "phone", "+1 555 9999")["pointers"] == []


def test_s_xc_2_the_searched_side_decides_with_its_inbound_search(cast: Cast) -> None:
    """S-AG-1 direction: outbound search on at the searcher is not enough; the searched agency's
    inbound search (or its whole agreement) switched off stops the search at once, and a
    refused search is audited nowhere and returns nothing."""
    c = cast
    _target(c, c.other_agency, c.foreigner, "k1", "+1 555 0123")
    south = c.store.agency(c.other_agency)[1]
    flags = {"outbound_search": True, "inbound_search": True}
    row = c.svc.propose_agreement(c.agency, c.admin, south, flags)
    c.svc.answer_agreement(c.other_agency, c.foreigner, row.id, approve=True)
    search = c.svc.deconfliction_search
    assert search(c.agency, c.owner, "phone", "+1 555 0123")["pointers"]
    # south may search north too: both directions are on
    assert search(c.other_agency, c.foreigner, "phone", "+1 555 0123")["pointers"] == []

    def audited() -> int:
        return sum(
            1
            for agency in (c.agency, c.other_agency)
            for e in c.store.audit_events(agency, limit=10_000)
            if e.action.startswith("deconfliction.")
        )

    before = audited()
    for change in ({"inbound_search": False}, {"enabled": False}):
        c.svc.update_agreement(c.other_agency, c.foreigner, row.id, change)
        assert code_of(search, c.agency, c.owner, "phone", "+1 555 0123") == ("agreement_required")
        assert audited() == before
        c.svc.update_agreement(c.other_agency, c.foreigner, row.id, dict.fromkeys(change, True))
    # south's outbound search off: south may no longer search north, north still searches south
    c.svc.update_agreement(c.other_agency, c.foreigner, row.id, {"outbound_search": False})
    assert code_of(search, c.other_agency, c.foreigner, "phone", "+1 555 0123") == (
        "agreement_required"
    )
    assert search(c.agency, c.owner, "phone", "+1 555 0123")["pointers"]
