"""Targets (SPEC §2) through the services on both stores: who may read and change them, the
audit trail (S-AUD-1), and the deconfliction index (ready for S-XC-1)."""

from __future__ import annotations

from tests.services.cast import Cast, code_of

PHONE = {"type": "phone", "value": "+44 20 7946-0000", "deconfliction": True}


def _add(c: Cast, actor: int | None = None, case_id: str | None = None, **kw: object) -> dict:
    return c.svc.add_target(
        c.agency,
        c.owner if actor is None else actor,
        case_id or c.case,
        str(kw.get("kind", "suspect")),
        str(kw.get("name", "John Doe")),
        kw.get("identifiers", [PHONE]),  # type: ignore[arg-type]
    )


def test_target_added_by_an_editor_is_read_by_everyone_who_views_the_case(cast: Cast) -> None:
    c = cast
    t = _add(c)
    assert t["kind"] == "suspect" and t["name"] == "John Doe"
    assert t["added_by"] == f"user:{c.owner}" and t["added_on"] == t["modified_on"]
    assert [i["normalized"] for i in t["identifiers"]] == ["442079460000"]
    for reader in (c.owner, c.colleague, c.reader, c.admin):
        assert c.svc.targets(c.agency, reader, c.case) == [t]
        assert c.svc.target(c.agency, reader, c.case, t["id"]) == t


def test_target_needs_edit_to_change_view_to_read_and_is_hidden_from_others(cast: Cast) -> None:
    c = cast
    t = _add(c)
    # the reader views the case: reads targets, may not change them
    assert code_of(_add, c, c.reader) == "insufficient_access"
    assert (
        code_of(c.svc.change_target, c.agency, c.reader, c.case, t["id"], name="X")
        == "insufficient_access"
    )
    assert code_of(c.svc.remove_target, c.agency, c.reader, c.case, t["id"]) == (
        "insufficient_access"
    )
    assert (
        code_of(c.svc.add_identifier, c.agency, c.reader, c.case, t["id"], "email", "a@b.org")
        == "insufficient_access"
    )
    # who cannot see the case learns nothing, not even that it exists (S-ACC-3)
    assert code_of(c.svc.targets, c.agency, c.outsider, c.case) == "not_found"
    assert code_of(_add, c, c.outsider) == "not_found"
    assert code_of(c.svc.targets, c.agency, c.foreigner, c.case) == "not_found"
    # the same id in the other agency is its own case, with no targets
    assert c.svc.targets(c.other_agency, c.foreigner, c.case) == []


def test_target_edit_follows_the_edit_policy_owners_cap(cast: Cast) -> None:
    """S-ACC-5: with edit_policy owners, an edit share reads targets but cannot change them."""
    c = cast
    editor = c.svc.create_user(c.agency, None, "eddie")
    c.svc.share(c.agency, c.owner, c.case, f"user:{editor}", "edit")
    _add(c, editor, name="Added under access")
    c.svc.update_settings(c.agency, None, {"edit_policy": "owners"})
    assert code_of(_add, c, editor) == "insufficient_access"
    assert [t["name"] for t in c.svc.targets(c.agency, editor, c.case)] == ["Added under access"]
    _add(c, c.colleague, name="Owner side")


def test_target_changes_and_identifiers(cast: Cast) -> None:
    c = cast
    t = _add(c)
    changed = c.svc.change_target(c.agency, c.colleague, c.case, t["id"], kind="victim")
    assert changed["kind"] == "victim" and changed["name"] == "John Doe"
    assert changed["modified_by"] == f"user:{c.colleague}"
    with_email = c.svc.add_identifier(
        c.agency, c.owner, c.case, t["id"], "email", "JD@Example.org", True
    )
    email = with_email["identifiers"][1]
    assert (email["type"], email["normalized"], email["deconfliction"]) == (
        "email",
        "jd@example.org",
        True,
    )
    off = c.svc.change_identifier(
        c.agency, c.owner, c.case, t["id"], email["id"], deconfliction=False
    )
    assert off["identifiers"][1]["deconfliction"] is False
    assert off["identifiers"][1]["value"] == "JD@Example.org"
    gone = c.svc.remove_identifier(c.agency, c.owner, c.case, t["id"], email["id"])
    assert [i["type"] for i in gone["identifiers"]] == ["phone"]
    c.svc.remove_target(c.agency, c.owner, c.case, t["id"])
    assert c.svc.targets(c.agency, c.owner, c.case) == []


def test_target_ids_belong_to_their_case(cast: Cast) -> None:
    c = cast
    t = _add(c)
    other = c.svc.create_case(c.agency, c.owner, "patient", "Other")
    for call in (
        lambda: c.svc.target(c.agency, c.owner, other, t["id"]),
        lambda: c.svc.change_target(c.agency, c.owner, other, t["id"], name="X"),
        lambda: c.svc.remove_target(c.agency, c.owner, other, t["id"]),
        lambda: c.svc.remove_identifier(c.agency, c.owner, c.case, t["id"], 10**9),
    ):
        assert code_of(call) == "not_found"
    assert len(c.svc.targets(c.agency, c.owner, c.case)) == 1


def test_target_refusals_speak_after_access_is_known(cast: Cast) -> None:
    c = cast
    assert code_of(_add, c, kind="villain") == "validation_error"
    assert code_of(_add, c, identifiers=[{"type": "phone", "value": "1"}]) == "validation_error"
    assert code_of(_add, c, identifiers=["555 0100"]) == "validation_error"
    assert code_of(_add, c, identifiers=[PHONE] * 51) == "validation_error"
    # an outsider sending nonsense still learns only "not found"
    assert code_of(_add, c, c.outsider, kind="villain") == "not_found"
    assert c.svc.targets(c.agency, c.owner, c.case) == []


def test_s_aud_1_every_target_change_is_an_event_in_the_case_history(cast: Cast) -> None:
    c = cast
    t = _add(c)
    c.svc.change_target(c.agency, c.owner, c.case, t["id"], name="Jon Doe")
    ident = c.svc.add_identifier(c.agency, c.owner, c.case, t["id"], "plate", "ab-12 cde")
    plate = ident["identifiers"][1]["id"]
    c.svc.change_identifier(c.agency, c.owner, c.case, t["id"], plate, value="AB12 CDF")
    c.svc.remove_identifier(c.agency, c.owner, c.case, t["id"], plate)
    c.svc.remove_target(c.agency, c.owner, c.case, t["id"])
    pk = c.store.case_pk(c.agency, c.case)
    events = [
        e for e in c.store.audit_events(c.agency, case_pk=pk) if e.action.startswith("target")
    ]
    assert [e.action for e in events] == [
        "target.create",
        "target.update",
        "target.identifier.create",
        "target.identifier.update",
        "target.identifier.delete",
        "target.delete",
    ]
    assert all(e.actor == f"user:{c.owner}" for e in events)
    assert events[0].before is None and events[0].after["name"] == "John Doe"
    assert events[1].before["name"] == "John Doe" and events[1].after["name"] == "Jon Doe"
    assert events[3].after["identifiers"][1]["value"] == "AB12 CDF"
    assert events[-1].after is None and events[-1].before["name"] == "Jon Doe"


def test_s_xc_1_the_deconfliction_index_finds_every_case_carrying_an_identifier(
    cast: Cast,
) -> None:
    c = cast
    second = c.svc.create_case(c.agency, c.owner, "patient", "Second")
    third = c.svc.create_case(c.agency, c.owner, "patient", "Third")
    _add(c)
    _add(c, case_id=second, identifiers=[{**PHONE, "value": "(44) 2079460000"}])
    _add(c, case_id=third, identifiers=[{**PHONE, "deconfliction": False}])  # not opted in
    c.svc.add_target(c.other_agency, c.foreigner, c.case, "suspect", "Elsewhere", [PHONE])
    pks = [c.store.case_pk(c.agency, k) for k in (c.case, second)]
    assert c.store.cases_with_identifier(c.agency, "phone", "442079460000") == sorted(pks)
    assert c.store.cases_with_identifier(c.agency, "phone", "4420794600") == []
    plan = " ".join(
        str(r)
        for r in c.store.rows(
            ("EXPLAIN QUERY PLAN " if not c.store.is_postgres else "EXPLAIN ")
            + "SELECT DISTINCT case_pk FROM target_identifiers WHERE agency_id = ? AND type = ?"
            " AND normalized = ? AND deconfliction = 1",
            (c.agency, "phone", "442079460000"),
        )
    )
    if not c.store.is_postgres:  # PostgreSQL's planner may scan a table this small
        assert "target_identifiers_deconfliction" in plan


def test_target_of_a_binned_case_is_not_found_and_purge_removes_it(cast: Cast) -> None:
    c = cast
    case_id = c.svc.create_case(c.agency, c.owner, "patient", "Binned")
    t = _add(c, case_id=case_id)
    c.svc.delete_case(c.agency, c.owner, case_id)
    assert code_of(c.svc.targets, c.agency, c.owner, case_id) == "not_found"
    assert code_of(c.svc.targets, c.agency, None, case_id) == "not_found"
    c.svc.restore_case(c.agency, c.owner, case_id)
    assert [x["id"] for x in c.svc.targets(c.agency, c.owner, case_id)] == [t["id"]]
    c.svc.delete_case(c.agency, c.owner, case_id)
    c.svc.purge_case(c.agency, c.owner, case_id)
    assert c.store.target(t["id"]) is None
    assert c.store.cases_with_identifier(c.agency, "phone", "442079460000") == []
