"""Creating cases with the right owner (S-CRT-1…3), changing owners, updating and atomicity."""

from __future__ import annotations

import pytest

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action, Level
from caseshare.core.principals import Principal
from tests.services.cast import Cast, code_of


def _owner(c: Cast, case_id: str, agency: int | None = None) -> str:
    row = c.store.case_row(agency or c.agency, case_id)
    assert row is not None
    return str(row.owner)


@pytest.fixture
def places(cast: Cast) -> dict[str, int]:
    """A district that shares cases, a clinic type that does not, an archived sharing location."""
    c = cast
    sharing = c.svc.create_location_type(c.agency, None, "district", shares_cases=True)
    plain = c.svc.create_location_type(c.agency, None, "clinic")
    return {
        "district": c.svc.create_location(c.agency, None, "D1", sharing),
        "clinic": c.svc.create_location(c.agency, None, "C1", plain),
        "archived": c.svc.create_location(c.agency, None, "Old", sharing, archived=True),
        "plain_group": c.svc.create_group(c.agency, None, "plain"),
        "role": c.svc.create_role(c.agency, None, "clerk"),
    }


# -- S-CRT-1 ----------------------------------------------------------------------------------------


def test_s_crt_1_explicit_owner_among_the_creators_owner_ids(cast: Cast) -> None:
    c = cast
    k = c.svc.create_case(c.agency, c.colleague, "patient", "x", owner=str(c.group_principal))
    assert _owner(c, k) == str(c.group_principal)
    k = c.svc.create_case(c.agency, c.colleague, "patient", "y", owner=f"user:{c.colleague}")
    assert _owner(c, k) == f"user:{c.colleague}"


def test_s_crt_1_handing_a_new_case_to_someone_else_needs_transfer_or_admin(
    cast: Cast, places: dict[str, int]
) -> None:
    c = cast
    target = f"user:{c.outsider}"
    assert code_of(c.svc.create_case, c.agency, c.colleague, "patient", "x", owner=target) == (
        "invalid_owner"
    )
    mover = c.svc.create_user(c.agency, None, "mover", permissions=["transfer"])
    for actor in (mover, c.admin):
        k = c.svc.create_case(c.agency, actor, "patient", "x", owner=target)
        assert _owner(c, k) == target
        loc = f"location:{places['district']}"
        assert _owner(c, c.svc.create_case(c.agency, actor, "patient", "x", owner=loc)) == loc


@pytest.mark.parametrize("which", ["clinic", "archived", "plain_group", "role", "agency", "ghost"])
def test_s_crt_1_a_principal_that_cannot_own_is_invalid_owner(
    cast: Cast, places: dict[str, int], which: str
) -> None:
    c = cast
    owner = {
        "clinic": f"location:{places['clinic']}",
        "archived": f"location:{places['archived']}",
        "plain_group": f"group:{places['plain_group']}",
        "role": f"role:{places['role']}",
        "agency": f"agency:{c.agency}",
        "ghost": "user:999999",
    }[which]
    for actor in (c.admin, None):
        assert code_of(c.svc.create_case, c.agency, actor, "patient", "x", owner=owner) == (
            "invalid_owner"
        )
    assert c.svc.count_cases(c.admin) == 2


def test_s_crt_1_s_acc_3_a_principal_of_another_agency_cannot_own(cast: Cast) -> None:
    c = cast
    south_group = c.svc.create_group(c.other_agency, None, "south team", case_sharing=True)
    for owner in (f"user:{c.foreigner}", f"group:{south_group}"):
        assert code_of(c.svc.create_case, c.agency, c.admin, "patient", "x", owner=owner) == (
            "invalid_owner"
        )


# -- S-CRT-2 ----------------------------------------------------------------------------------------


def test_s_crt_2_without_an_owner_the_case_goes_to_the_single_case_sharing_group(
    cast: Cast,
) -> None:
    c = cast
    assert _owner(c, c.case) == str(c.group_principal)
    k = c.svc.create_case(c.agency, c.colleague, "patient", "from colin")
    assert _owner(c, k) == str(c.group_principal)
    assert c.svc.access(c.owner, k).level is Level.FULL  # S-ACC-2: the group works it


def test_s_crt_2_a_case_owning_location_counts_like_a_group(
    cast: Cast, places: dict[str, int]
) -> None:
    c = cast
    nurse = c.svc.create_user(c.agency, None, "nurse", locations=[places["district"]])
    k = c.svc.create_case(c.agency, nurse, "patient", "x")
    assert _owner(c, k) == f"location:{places['district']}"


def test_s_crt_2_creator_in_no_group_gets_no_case_sharing_group(cast: Cast) -> None:
    c = cast
    with pytest.raises(CaseShareError) as info:
        c.svc.create_case(c.agency, c.outsider, "patient", "x")
    err = info.value
    assert err.code == "no_case_sharing_group"
    assert "Join exactly one case-sharing group" in err.message
    assert "give an owner explicitly" in err.message
    assert c.svc.count_cases(c.admin) == 2


def test_s_crt_2_creator_in_two_groups_gets_multiple_naming_them(cast: Cast) -> None:
    c = cast
    second = c.svc.create_group(c.agency, None, "Second", case_sharing=True)
    c.svc.add_member(c.agency, None, second, Principal("user", c.owner))
    with pytest.raises(CaseShareError) as info:
        c.svc.create_case(c.agency, c.owner, "patient", "x")
    err = info.value
    assert err.code == "multiple_case_sharing_groups"
    assert str(c.group_principal) in err.message and f"group:{second}" in err.message
    assert "Stay in exactly one" in err.message and "give an owner explicitly" in err.message
    assert sorted(err.details["owners"]) == sorted([str(c.group_principal), f"group:{second}"])
    # giving the owner explicitly is the way out
    k = c.svc.create_case(c.agency, c.owner, "patient", "x", owner=f"group:{second}")
    assert _owner(c, k) == f"group:{second}"


def test_s_crt_2_nested_case_sharing_groups_count_as_several(cast: Cast) -> None:
    c = cast
    outer = c.svc.create_group(c.agency, None, "Outer", case_sharing=True)
    c.svc.add_member(c.agency, None, outer, c.group_principal)
    assert code_of(c.svc.create_case, c.agency, c.owner, "patient", "x") == (
        "multiple_case_sharing_groups"
    )


def test_s_crt_2_an_archived_location_never_becomes_the_owner(
    cast: Cast, places: dict[str, int]
) -> None:
    # SPEC §2: an archived location cannot own cases; S-CRT-2 must not hand it a new case.
    c = cast
    ranger = c.svc.create_user(c.agency, None, "ranger", locations=[places["archived"]])
    assert code_of(c.svc.create_case, c.agency, ranger, "patient", "x") == "no_case_sharing_group"
    assert [r["username"] for r in c.svc.case_sharing_report(c.agency)].count("ranger") == 1


def test_s_crt_2_with_case_sharing_off_the_creator_owns_it(cast: Cast) -> None:
    c = cast
    c.svc.update_settings(c.agency, c.admin, {"case_sharing": False})
    k = c.svc.create_case(c.agency, c.owner, "patient", "x")
    assert _owner(c, k) == f"user:{c.owner}"
    k = c.svc.create_case(c.agency, c.outsider, "patient", "y")
    assert _owner(c, k) == f"user:{c.outsider}"


def test_s_crt_2_opened_by_is_the_creator_for_the_system(cast: Cast) -> None:
    c = cast
    k = c.svc.create_case(c.agency, None, "patient", "x", opened_by=c.colleague)
    assert _owner(c, k) == str(c.group_principal)
    pk = c.store.case_pk(c.agency, k)
    assert pk is not None and c.store.case_record(pk)["opened_by"] == c.colleague
    assert code_of(c.svc.create_case, c.agency, None, "patient", "x") == "invalid_owner"


# -- S-CRT-3 ----------------------------------------------------------------------------------------


def test_s_crt_3_the_creators_own_id_keeps_the_case_private(cast: Cast) -> None:
    c = cast
    assert _owner(c, c.private) == f"user:{c.owner}"
    assert c.svc.access(c.owner, c.private).level is Level.FULL
    assert c.svc.access(c.colleague, c.private).level is Level.NONE
    assert c.private not in c.svc.visible_case_ids(c.colleague)


# -- validation and atomicity ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"case_id": "k1"}, "validation_error"),
        ({"case_type": ""}, "validation_error"),
        ({"name": "n" * 256}, "validation_error"),
        ({"case_id": "c" * 256}, "validation_error"),
        ({"external_id": "e" * 256}, "validation_error"),
        ({"indices": {"parent": ("k1", "sibling")}}, "invalid_index"),
        ({"indices": {"parent": ("missing", "child")}}, "invalid_index"),
        ({"case_id": "self", "indices": {"parent": ("self", "child")}}, "invalid_index"),
        ({"indices": {"a": ("k1", "child"), "b": ("missing", "extension")}}, "invalid_index"),
    ],
)
def test_s_aud_1_a_refused_case_creation_leaves_no_case_and_no_event(
    cast: Cast, kwargs: dict[str, object], code: str
) -> None:
    c = cast
    args = {"case_type": "patient", "name": "x", **kwargs}
    before = c.store.audit_events(c.agency, limit=10_000)
    cases = c.store.value("SELECT count(*) FROM cases WHERE agency_id = ?", (c.agency,))
    case_type, name = args.pop("case_type"), args.pop("name")
    assert code_of(c.svc.create_case, c.agency, c.owner, case_type, name, **args) == code
    assert c.store.value("SELECT count(*) FROM cases WHERE agency_id = ?", (c.agency,)) == cases
    assert c.store.audit_events(c.agency, limit=10_000) == before


def test_s_aud_1_case_creation_is_audited(cast: Cast) -> None:
    c = cast
    k = c.svc.create_case(c.agency, c.owner, "referral", "x", properties={"p": "1"})
    event = c.store.audit_events(c.agency, limit=10_000)[-1]
    assert (event.actor, event.action, event.subject) == (
        f"user:{c.owner}",
        "case.create",
        f"case:{k}",
    )
    assert event.after == {"owner": str(c.group_principal), "case_type": "referral"}


def test_s_acc_3_acting_user_of_another_agency_cannot_create_here(cast: Cast) -> None:
    c = cast
    assert code_of(c.svc.create_case, c.agency, c.foreigner, "patient", "x") == "not_found"


def test_create_case_with_indices_and_closed(cast: Cast) -> None:
    c = cast
    k = c.svc.create_case(
        c.agency,
        c.owner,
        "visit",
        "v",
        indices={"parent": (c.case, "child")},
        closed=True,
        external_id="EXT-9",
    )
    pk = c.store.case_pk(c.agency, k)
    assert pk is not None
    assert c.store.indices(pk) == [("parent", c.case, "patient", "child")]
    rec = c.store.case_record(pk)
    assert rec["closed"] and rec["external_id"] == "EXT-9"


# -- updates -------------------------------------------------------------------------------------------


def test_s_acc_1_update_needs_edit_close_needs_edit(cast: Cast) -> None:
    c = cast
    editor = c.svc.create_user(c.agency, None, "eddie")
    c.svc.share(c.agency, c.owner, c.case, f"user:{editor}", "edit")
    c.svc.update_case(c.agency, editor, c.case, name="Renamed", properties={"priority": "high"})
    c.svc.update_case(c.agency, editor, c.case, properties={"ward": "3"}, closed=True)
    row = c.store.case_row(c.agency, c.case)
    assert row is not None
    assert row.name == "Renamed" and row.closed
    assert dict(row.properties) == {"priority": "high", "ward": "3"}
    assert code_of(c.svc.update_case, c.agency, c.reader, c.case, name="x") == (
        "insufficient_access"
    )
    assert code_of(c.svc.update_case, c.agency, c.reader, c.case, closed=True) == (
        "insufficient_access"
    )
    assert code_of(c.svc.update_case, c.agency, c.outsider, c.case, name="x") == "not_found"
    event = c.store.audit_events(c.agency, limit=10_000)[-1]
    assert (event.action, event.actor) == ("case.update", f"user:{editor}")
    assert event.before["closed"] is False and event.after["closed"] is True


# -- change_owner --------------------------------------------------------------------------------------


def test_s_acc_1_transfer_with_edit_and_the_transfer_permission(cast: Cast) -> None:
    c = cast
    mover = c.svc.create_user(c.agency, None, "mover", permissions=["transfer"])
    editor = c.svc.create_user(c.agency, None, "eddie")
    for uid in (mover, editor):
        c.svc.share(c.agency, c.owner, c.case, f"user:{uid}", "edit")
    assert code_of(c.svc.change_owner, c.agency, editor, c.case, f"user:{editor}") == (
        "insufficient_access"
    )
    assert code_of(c.svc.change_owner, c.agency, c.reader, c.case, f"user:{c.reader}") == (
        "insufficient_access"
    )
    assert code_of(c.svc.change_owner, c.agency, c.outsider, c.case, f"user:{c.owner}") == (
        "not_found"
    )
    c.svc.change_owner(c.agency, mover, c.case, f"user:{mover}")
    assert _owner(c, c.case) == f"user:{mover}"


def test_s_acc_1_transfer_default_lets_every_user_hand_the_case_over(cast: Cast) -> None:
    c = cast
    c.svc.update_settings(c.agency, c.admin, {"default_access": {"patient": "transfer"}})
    assert c.svc.check(c.outsider, Action.TRANSFER, c.case).allowed
    c.svc.change_owner(c.agency, c.outsider, c.case, f"user:{c.outsider}")
    assert _owner(c, c.case) == f"user:{c.outsider}"


def test_s_crt_1_change_owner_to_a_principal_that_cannot_own_is_refused(
    cast: Cast, places: dict[str, int]
) -> None:
    c = cast
    for owner in (
        f"location:{places['archived']}",
        f"group:{places['plain_group']}",
        f"user:{c.foreigner}",
        f"role:{places['role']}",
    ):
        assert code_of(c.svc.change_owner, c.agency, c.owner, c.case, owner) == "invalid_owner"
    assert _owner(c, c.case) == str(c.group_principal)
    assert c.svc.access(c.reader, c.case).level is Level.READ  # the refused change kept the share


def test_s_crt_1_a_caller_cannot_borrow_another_creators_rights_through_opened_by(
    cast: Cast,
) -> None:
    # S-CRT-1 limits what *the creator* may hand a new case to. A user without the transfer
    # permission who names an admin as opened_by must not get the admin's latitude.
    c = cast
    err = code_of(
        c.svc.create_case,
        c.agency,
        c.outsider,
        "patient",
        "x",
        owner=f"user:{c.reader}",
        opened_by=c.admin,
    )
    assert err in ("invalid_owner", "validation_error", "insufficient_access")


def test_restore_and_purge_tell_an_outsider_nothing_about_a_case_s_state(cast: Cast) -> None:
    """S-ACC-3: "not in the recycle bin" would say the case exists; an outsider gets not_found."""
    assert code_of(cast.svc.restore_case, cast.agency, cast.outsider, cast.case) == "not_found"
    assert code_of(cast.svc.purge_case, cast.agency, cast.outsider, cast.case) == "not_found"
    assert code_of(cast.svc.restore_case, cast.agency, cast.owner, cast.case) == (
        "invalid_transition"
    )


def test_a_closed_case_cannot_be_reopened_through_the_api(cast: Cast) -> None:
    """S-TX-4: a close is sticky, whatever path the change comes by."""
    cast.svc.update_case(cast.agency, cast.owner, cast.case, closed=True)
    assert code_of(cast.svc.update_case, cast.agency, cast.owner, cast.case, closed=False) == (
        "invalid_transition"
    )
    assert cast.store.case_row(cast.agency, cast.case).closed  # type: ignore[union-attr]
