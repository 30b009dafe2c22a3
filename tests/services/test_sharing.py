"""Manual shares (S-SHR-*), assignments (S-ASG-1), case teams (S-TEAM-1) and their audit trail."""

from __future__ import annotations

import pytest

from caseshare.core.levels import Action, Cause, Level
from caseshare.core.principals import Principal
from caseshare.core.rules import Condition
from caseshare.services import SHARE_FIELDS
from tests.services.cast import Cast, code_of


def _level(c: Cast, uid: int, case_id: str | None = None) -> Level:
    return c.svc.access(uid, case_id or c.case).level


def _manual_rows(c: Cast, case_id: str | None = None) -> list[tuple[str, str]]:
    pk = c.store.case_pk(c.agency, case_id or c.case)
    assert pk is not None
    return [(str(r.grantee), r.level.label) for r in c.store.grant_rows(pk, cause=Cause.MANUAL)]


# -- S-SHR-1 ----------------------------------------------------------------------------------------


def test_s_shr_1_users_with_full_access_may_share(cast: Cast) -> None:
    c = cast
    for actor in (c.owner, c.colleague, c.admin, None):
        c.svc.share(c.agency, actor, c.case, f"user:{c.outsider}", "edit")
        assert _level(c, c.outsider) is Level.EDIT
        assert c.svc.unshare(c.agency, actor, c.case, f"user:{c.outsider}") is True
        assert _level(c, c.outsider) is Level.NONE


def test_s_shr_1_users_without_full_access_get_insufficient_access(cast: Cast) -> None:
    c = cast
    editor = c.svc.create_user(c.agency, None, "eddie")
    c.svc.share(c.agency, c.owner, c.case, f"user:{editor}", "edit")
    for actor in (c.reader, editor):
        assert code_of(c.svc.share, c.agency, actor, c.case, f"user:{c.outsider}", "edit") == (
            "insufficient_access"
        )
        assert code_of(c.svc.unshare, c.agency, actor, c.case, f"user:{c.reader}") == (
            "insufficient_access"
        )
    assert _manual_rows(c) == [(f"user:{c.reader}", "read"), (f"user:{editor}", "edit")]


def test_s_shr_1_s_acc_3_outsiders_and_other_agencies_get_not_found(cast: Cast) -> None:
    c = cast
    assert code_of(c.svc.share, c.agency, c.outsider, c.case, f"user:{c.reader}", "edit") == (
        "not_found"
    )
    assert code_of(c.svc.share, c.agency, c.outsider, "no-such-case", "user:1", "edit") == (
        "not_found"
    )
    assert _manual_rows(c) == [(f"user:{c.reader}", "read")]


def test_s_acc_3_foreigner_with_a_same_id_case_cannot_share_this_agencys_case(cast: Cast) -> None:
    # Fred owns a case called "k1" in his own agency; naming *this* agency must not let him in.
    c = cast
    assert code_of(c.svc.share, c.agency, c.foreigner, c.case, f"user:{c.outsider}", "edit") == (
        "not_found"
    )
    assert _level(c, c.outsider) is Level.NONE


def test_s_acc_3_foreigner_with_a_same_id_case_cannot_query_this_agencys_shares(
    cast: Cast,
) -> None:
    c = cast
    assert code_of(c.svc.query_shares, c.agency, c.foreigner, c.case) == "not_found"


# -- S-SHR-2 ----------------------------------------------------------------------------------------


def test_s_shr_2_share_at_or_below_the_default_is_access_level_too_low(cast: Cast) -> None:
    c = cast
    c.svc.update_settings(
        c.agency, c.admin, {"default_access": {"*": "private", "patient": "read"}}
    )
    err = code_of(c.svc.share, c.agency, c.owner, c.case, f"user:{c.outsider}", "read")
    assert err == "access_level_too_low"
    c.svc.share(c.agency, c.owner, c.case, f"user:{c.outsider}", "edit")
    c.svc.update_settings(c.agency, c.admin, {"default_access": {"patient": "transfer"}})
    err = code_of(c.svc.share, c.agency, c.owner, c.case, f"user:{c.colleague}", "edit")
    assert err == "access_level_too_low"


@pytest.mark.parametrize("level", ["full", "none", "owner", "", Level.FULL])
def test_s_shr_2_full_or_unknown_level_is_invalid_access_level(cast: Cast, level: object) -> None:
    c = cast
    assert code_of(c.svc.share, c.agency, c.owner, c.case, f"user:{c.outsider}", level) == (
        "invalid_access_level"
    )
    assert _level(c, c.outsider) is Level.NONE


# -- S-SHR-3 ----------------------------------------------------------------------------------------


def test_s_shr_3_sharing_again_updates_the_level_and_keeps_the_id(cast: Cast) -> None:
    c = cast
    first = c.svc.share(c.agency, c.owner, c.case, f"user:{c.outsider}", "read")
    second = c.svc.share(c.agency, c.colleague, c.case, f"user:{c.outsider}", "edit")
    assert second.id == first.id
    assert (second.access_level, second.row_cause, second.derived) == ("edit", "manual", False)
    assert second.created_by == f"user:{c.owner}"
    assert second.last_modified_by == f"user:{c.colleague}"
    assert _manual_rows(c).count((f"user:{c.outsider}", "edit")) == 1
    assert len([g for g, _ in _manual_rows(c) if g == f"user:{c.outsider}"]) == 1
    assert _level(c, c.outsider) is Level.EDIT


def test_s_shr_3_update_share_changes_the_level_of_the_same_entry(cast: Cast) -> None:
    c = cast
    entry = c.svc.share(c.agency, c.owner, c.case, f"user:{c.outsider}", "read")
    assert entry.id is not None
    updated = c.svc.update_share(c.agency, c.owner, entry.id, "edit")
    assert (updated.id, updated.access_level, updated.grantee) == (
        entry.id,
        "edit",
        f"user:{c.outsider}",
    )
    assert code_of(c.svc.update_share, c.agency, c.reader, entry.id, "read") == (
        "insufficient_access"
    )


# -- S-SHR-4 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("cause", ["rule", "assigned", "team", "owner", "default", "bogus"])
def test_s_shr_4_creating_a_share_with_another_row_cause_is_reserved_row_cause(
    cast: Cast, cause: str
) -> None:
    c = cast
    err = code_of(
        c.svc.share, c.agency, c.owner, c.case, f"user:{c.outsider}", "edit", row_cause=cause
    )
    assert err == "reserved_row_cause"
    assert _level(c, c.outsider) is Level.NONE


def test_s_shr_4_assignment_and_team_rows_are_read_only_through_the_share_api(cast: Cast) -> None:
    c = cast
    observer = c.svc.create_team_role(c.agency, None, "observer", "read")
    c.svc.assign(c.agency, c.owner, c.case, c.outsider)
    c.svc.team_add(c.agency, c.owner, c.case, c.admin, observer)
    pk = c.store.case_pk(c.agency, c.case)
    assert pk is not None
    for cause in (Cause.ASSIGNED, Cause.TEAM):
        (row,) = c.store.grant_rows(pk, cause=cause)
        assert code_of(c.svc.update_share, c.agency, c.owner, row.id, "edit") == "read_only_share"
        assert code_of(c.svc.update_share, c.agency, None, row.id, "read") == "read_only_share"
        assert code_of(c.svc.delete_share, c.agency, c.owner, row.id) == "read_only_share"
        assert c.store.grant_row(row.id) == row
    assert _level(c, c.outsider) is Level.FULL


def test_s_shr_4_delete_share_removes_a_manual_entry(cast: Cast) -> None:
    c = cast
    entry = c.svc.share(c.agency, c.owner, c.case, f"user:{c.outsider}", "edit")
    assert entry.id is not None
    stranger = c.svc.create_user(c.agency, None, "stranger")
    assert code_of(c.svc.delete_share, c.agency, c.reader, entry.id) == "insufficient_access"
    assert code_of(c.svc.delete_share, c.agency, stranger, entry.id) == "not_found"
    assert c.svc.delete_share(c.agency, c.owner, entry.id) is True
    assert _level(c, c.outsider) is Level.NONE
    assert code_of(c.svc.delete_share, c.agency, c.owner, entry.id) == "not_found"


def test_s_shr_4_case_and_grantee_are_not_updatable_fields() -> None:
    assert SHARE_FIELDS["case_id"]["update"] is False
    assert SHARE_FIELDS["grantee"]["update"] is False
    assert SHARE_FIELDS["row_cause"]["update"] is False
    assert SHARE_FIELDS["access_level"]["update"] is True


# -- S-SHR-5 ----------------------------------------------------------------------------------------


def test_s_shr_5_sharing_with_the_owner_principal_is_cannot_share_with_owner(cast: Cast) -> None:
    c = cast
    err = code_of(c.svc.share, c.agency, c.owner, c.case, str(c.group_principal), "edit")
    assert err == "cannot_share_with_owner"
    err = code_of(c.svc.share, c.agency, c.owner, c.private, f"user:{c.owner}", "edit")
    assert err == "cannot_share_with_owner"
    # a member of the owning group is not the owner principal itself
    c.svc.share(c.agency, c.owner, c.case, f"user:{c.colleague}", "edit")


@pytest.mark.parametrize(
    "grantee",
    [
        "foreigner",
        "user:999999",
        "group:999999",
        "location:999999",
        "role:999999",
        "other_agency",
        "nobody:1",
        "user:olga",
    ],
)
def test_s_shr_5_grantee_outside_the_agency_is_invalid_grantee(cast: Cast, grantee: str) -> None:
    c = cast
    text = {"foreigner": f"user:{c.foreigner}", "other_agency": f"agency:{c.other_agency}"}.get(
        grantee, grantee
    )
    assert code_of(c.svc.share, c.agency, c.owner, c.case, text, "edit") == "invalid_grantee"
    assert _manual_rows(c) == [(f"user:{c.reader}", "read")]


def test_s_shr_5_every_principal_kind_of_the_agency_is_a_valid_grantee(cast: Cast) -> None:
    c = cast
    role = c.svc.create_role(c.agency, None, "clerk")
    ltype = c.svc.create_location_type(c.agency, None, "clinic")
    loc = c.svc.create_location(c.agency, None, "C1", ltype)
    plain = c.svc.create_group(c.agency, None, "plain")
    for grantee in (
        f"agency:{c.agency}",
        f"role:{role}",
        f"role_tree:{role}",
        f"location:{loc}",
        f"group:{plain}",
    ):
        entry = c.svc.share(c.agency, c.owner, c.case, grantee, "read")
        assert entry.grantee == grantee
    assert _level(c, c.outsider) is Level.READ  # through agency:north


# -- S-SHR-6 ----------------------------------------------------------------------------------------


def test_s_shr_6_change_owner_removes_manual_shares_and_keeps_the_rest(cast: Cast) -> None:
    c = cast
    observer = c.svc.create_team_role(c.agency, None, "observer", "read")
    watcher = c.svc.create_user(c.agency, None, "wanda")
    ruled = c.svc.create_user(c.agency, None, "ruth")
    c.svc.add_rule(
        c.agency, c.admin, "patients", "criteria", f"user:{ruled}", "read", criteria=_patients()
    )
    c.svc.assign(c.agency, c.owner, c.case, c.outsider)
    c.svc.team_add(c.agency, c.owner, c.case, watcher, observer)
    c.svc.share(c.agency, c.owner, c.case, f"user:{c.admin}", "edit")
    removed = c.svc.change_owner(c.agency, c.owner, c.case, f"user:{c.colleague}")
    assert sorted(removed) == sorted(
        [f"case:{c.case}#read@user:{c.reader}", f"case:{c.case}#edit@user:{c.admin}"]
    )
    assert _manual_rows(c) == []
    assert _level(c, c.reader) is Level.NONE
    assert _level(c, c.outsider) is Level.FULL  # assignment stays
    assert _level(c, watcher) is Level.READ  # team stays
    assert _level(c, ruled) is Level.READ  # rule stays
    assert _level(c, c.colleague) is Level.FULL  # the new owner
    assert _level(c, c.owner) is Level.NONE  # no longer in the owning principal
    row = c.store.case_row(c.agency, c.case)
    assert row is not None and row.owner == Principal("user", c.colleague)


def test_s_shr_6_handing_a_case_to_its_own_owner_keeps_its_manual_shares(cast: Cast) -> None:
    """S-SHR-6 deletes manual shares when the owner *changes*: naming the owner the case has
    already changes nothing, as a form that re-states the same owner_id changes nothing."""
    c = cast
    assert c.svc.change_owner(c.agency, c.owner, c.case, str(c.group_principal)) == []
    assert _manual_rows(c) == [(f"user:{c.reader}", "read")]
    assert _level(c, c.reader) is Level.READ


def _patients() -> Condition:
    return Condition("case_type", "equals", "patient")


# -- S-SHR-7 ----------------------------------------------------------------------------------------


def test_s_shr_7_query_lists_stored_and_flagged_derived_entries(cast: Cast) -> None:
    c = cast
    c.svc.assign(c.agency, c.owner, c.case, c.outsider)
    entries = c.svc.query_shares(c.agency, c.reader, c.case)
    stored = {(e.grantee, e.row_cause, e.access_level) for e in entries if not e.derived}
    assert stored == {
        (f"user:{c.reader}", "manual", "read"),
        (f"user:{c.outsider}", "assigned", "full"),
    }
    assert all(e.id is not None for e in entries if not e.derived)
    derived = {(e.grantee, e.row_cause, e.access_level) for e in entries if e.derived}
    assert (f"user:{c.owner}", "owner", "full") in derived
    assert (f"user:{c.colleague}", "owner", "full") in derived
    assert (f"user:{c.admin}", "permission", "full") in derived
    assert all(e.id is None and e.path for e in entries if e.derived)
    assert not any(e.row_cause in ("manual", "assigned", "team") for e in entries if e.derived)


def test_s_shr_7_query_filters_by_cause_level_and_grantee(cast: Cast) -> None:
    c = cast
    c.svc.share(c.agency, c.owner, c.case, f"user:{c.outsider}", "edit")
    by_cause = c.svc.query_shares(c.agency, c.owner, c.case, cause="manual")
    assert {e.grantee for e in by_cause} == {f"user:{c.reader}", f"user:{c.outsider}"}
    by_level = c.svc.query_shares(c.agency, c.owner, c.case, level="full")
    assert {e.grantee for e in by_level} == {
        f"user:{c.owner}",
        f"user:{c.colleague}",
        f"user:{c.admin}",
    }
    by_grantee = c.svc.query_shares(c.agency, c.owner, c.case, grantee=f"user:{c.outsider}")
    assert [(e.row_cause, e.access_level) for e in by_grantee] == [("manual", "edit")]
    stored_only = c.svc.query_shares(c.agency, c.owner, c.case, derived=False)
    assert not any(e.derived for e in stored_only)


def test_s_shr_7_only_users_who_see_the_case_may_query_its_shares(cast: Cast) -> None:
    c = cast
    assert code_of(c.svc.query_shares, c.agency, c.outsider, c.case) == "not_found"
    assert code_of(c.svc.query_shares, c.agency, c.owner, "no-such-case") == "not_found"
    assert c.svc.query_shares(c.agency, None, c.case)


def test_s_shr_7_retrieve_returns_the_entry_for_viewers_only(cast: Cast) -> None:
    c = cast
    entry = c.svc.share(c.agency, c.owner, c.case, f"user:{c.outsider}", "edit")
    assert entry.id is not None
    got = c.svc.retrieve_share(c.agency, c.reader, entry.id)
    assert got == entry
    assert got.to_dict()["access_level"] == "edit"
    assert set(got.to_dict()) <= set(SHARE_FIELDS) | {"path"}
    assert code_of(c.svc.retrieve_share, c.agency, c.colleague, 10**9) == "not_found"
    c.svc.unshare(c.agency, c.owner, c.case, f"user:{c.outsider}")
    assert code_of(c.svc.retrieve_share, c.agency, c.owner, entry.id) == "not_found"
    mine = c.svc.share(c.agency, c.owner, c.private, f"user:{c.reader}", "read")
    assert mine.id is not None
    assert code_of(c.svc.retrieve_share, c.agency, c.outsider, mine.id) == "not_found"


def test_s_shr_7_a_share_of_another_agency_is_not_found(cast: Cast) -> None:
    c = cast
    theirs = c.svc.share(c.other_agency, None, c.case, f"agency:{c.other_agency}", "read")
    assert theirs.id is not None
    for call in (c.svc.retrieve_share, c.svc.delete_share):
        assert code_of(call, c.agency, c.admin, theirs.id) == "not_found"
    assert code_of(c.svc.update_share, c.agency, c.admin, theirs.id, "edit") == "not_found"


def test_s_shr_7_describe_names_every_field_and_its_properties() -> None:
    assert set(SHARE_FIELDS) >= {
        "id",
        "case_id",
        "grantee",
        "access_level",
        "row_cause",
        "created_by",
        "created_at",
        "last_modified_by",
        "last_modified_at",
        "is_deleted",
        "derived",
    }
    for name, spec in SHARE_FIELDS.items():
        assert {"type", "create", "update", "filter"} <= set(spec), name
    assert set(SHARE_FIELDS["row_cause"]["values"]) == {c.value for c in Cause}
    assert SHARE_FIELDS["id"]["create"] is False


# -- S-SHR-8 ----------------------------------------------------------------------------------------


def test_s_shr_8_delete_bins_the_case_and_restore_brings_manual_shares_back(cast: Cast) -> None:
    c = cast
    stranger = c.svc.create_user(c.agency, None, "stranger")
    entry = c.svc.share(c.agency, c.owner, c.case, f"user:{c.outsider}", "edit")
    assert code_of(c.svc.delete_case, c.agency, c.reader, c.case) == "insufficient_access"
    c.svc.delete_case(c.agency, c.owner, c.case)
    for uid in (c.owner, c.reader, c.outsider, c.admin):
        assert code_of(c.svc.require, uid, Action.VIEW, c.case) == "not_found"
        assert c.svc.check(uid, Action.VIEW, c.case).allowed is False
    assert c.case not in c.svc.visible_case_ids(c.owner)
    pk = c.store.case_pk(c.agency, c.case)
    assert pk is not None
    assert all(r.is_deleted for r in c.store.grant_rows(pk, include_deleted=True))
    assert code_of(c.svc.delete_case, c.agency, None, c.case) == "not_found"
    assert code_of(c.svc.restore_case, c.agency, stranger, c.case) == "not_found"
    assert code_of(c.svc.restore_case, c.agency, c.reader, c.case) == "insufficient_access"
    assert code_of(c.svc.restore_case, c.agency, c.outsider, c.case) == "insufficient_access"
    c.svc.restore_case(c.agency, c.owner, c.case)
    assert _level(c, c.reader) is Level.READ
    assert _level(c, c.outsider) is Level.EDIT
    assert c.svc.retrieve_share(c.agency, c.owner, entry.id or 0).id == entry.id
    assert code_of(c.svc.restore_case, c.agency, c.owner, c.case) == "invalid_transition"


def test_s_shr_8_admin_may_restore_and_purge_removes_for_good(cast: Cast) -> None:
    c = cast
    pk = c.store.case_pk(c.agency, c.case)
    assert pk is not None
    c.svc.delete_case(c.agency, c.colleague, c.case)
    assert code_of(c.svc.purge_case, c.agency, c.outsider, c.case) == "not_found"
    c.svc.restore_case(c.agency, c.admin, c.case)
    c.svc.delete_case(c.agency, c.admin, c.case)
    c.svc.purge_case(c.agency, c.owner, c.case)
    assert c.store.case_pk(c.agency, c.case) is None
    assert c.store.grant_rows(pk, include_deleted=True) == []
    assert code_of(c.svc.restore_case, c.agency, c.owner, c.case) == "not_found"
    assert code_of(c.svc.check, c.owner, Action.VIEW, c.case) == "not_found"
    assert code_of(c.svc.purge_case, c.agency, c.owner, c.private) == "invalid_transition"


# -- unshare -----------------------------------------------------------------------------------------


def test_s_shr_unshare_of_a_missing_share_changes_nothing(cast: Cast) -> None:
    c = cast
    before = len(c.store.audit_events(c.agency))
    assert c.svc.unshare(c.agency, c.owner, c.case, f"user:{c.outsider}") is False
    assert len(c.store.audit_events(c.agency)) == before


# -- S-ASG-1 ----------------------------------------------------------------------------------------


def test_s_asg_1_assignee_gets_full_access_and_unassign_removes_it(cast: Cast) -> None:
    c = cast
    assert c.svc.assign(c.agency, c.colleague, c.case, c.outsider) is True
    access = c.svc.access(c.outsider, c.case)
    assert (access.level, access.causes) == (Level.FULL, {Cause.ASSIGNED})
    assert c.svc.check(c.outsider, "share", c.case).allowed
    assert c.svc.unassign(c.agency, c.owner, c.case, c.outsider) is True
    assert _level(c, c.outsider) is Level.NONE
    assert c.svc.unassign(c.agency, c.owner, c.case, c.outsider) is False


def test_s_asg_1_assigning_twice_changes_nothing(cast: Cast) -> None:
    c = cast
    assert c.svc.assign(c.agency, c.owner, c.case, c.outsider) is True
    events = len(c.store.audit_events(c.agency))
    assert c.svc.assign(c.agency, c.colleague, c.case, c.outsider) is False
    assert len(c.store.audit_events(c.agency)) == events
    pk = c.store.case_pk(c.agency, c.case)
    assert pk is not None
    assert len(c.store.grant_rows(pk, cause=Cause.ASSIGNED)) == 1


def test_s_asg_1_only_full_access_may_assign_and_only_active_colleagues(cast: Cast) -> None:
    c = cast
    sleeper = c.svc.create_user(c.agency, None, "sleepy", active=False)
    assert code_of(c.svc.assign, c.agency, c.reader, c.case, c.outsider) == "insufficient_access"
    assert code_of(c.svc.assign, c.agency, c.outsider, c.case, c.outsider) == "not_found"
    assert code_of(c.svc.assign, c.agency, c.owner, c.case, sleeper) == "invalid_grantee"
    assert code_of(c.svc.assign, c.agency, c.owner, c.case, c.foreigner) == "invalid_grantee"
    assert code_of(c.svc.assign, c.agency, c.owner, c.case, 10**9) == "invalid_grantee"
    assert code_of(c.svc.unassign, c.agency, c.reader, c.case, c.outsider) == (
        "insufficient_access"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("olga", {"olga"}),
        ("Owner", {"olga"}),
        ("zzz", set()),
        ("colin@north", {"colin"}),
        ("north.example", {"olga", "colin", "rita", "otto", "ada"}),
        ("lin Coll", {"colin"}),
        ("rr@", {"rita"}),
        ("er", {"olga", "rita", "otto"}),
    ],
)
def test_s_asg_1_search_users_by_any_part_of_name_or_email(
    cast: Cast, text: str, expected: set[str]
) -> None:
    c = cast
    c.svc.create_user(c.agency, None, "oliver", full_name="Oliver Owner", active=False)
    found = c.svc.search_users(c.agency, text)
    assert {u["username"] for u in found} == expected
    assert all(set(u) == {"id", "username", "full_name", "email"} for u in found)


def test_s_asg_1_search_users_stays_in_the_agency(cast: Cast) -> None:
    c = cast
    assert c.svc.search_users(c.agency, "fred") == []
    assert [u["username"] for u in c.svc.search_users(c.other_agency, "fred")] == ["fred"]


# -- S-TEAM-1 -----------------------------------------------------------------------------------------


def test_s_team_1_member_gets_the_role_level_and_changes_apply_at_once(cast: Cast) -> None:
    c = cast
    observer = c.svc.create_team_role(c.agency, None, "observer", "read")
    editor = c.svc.create_team_role(c.agency, None, "editor", "edit")
    c.svc.team_add(c.agency, c.owner, c.case, c.outsider, observer)
    assert c.svc.access(c.outsider, c.case).causes == {Cause.TEAM}
    assert _level(c, c.outsider) is Level.READ
    c.svc.set_team_role_level(c.agency, c.admin, observer, "edit")
    assert _level(c, c.outsider) is Level.EDIT
    assert c.fresh().access(c.outsider, c.case).level is Level.EDIT
    c.svc.set_team_role_level(c.agency, c.admin, observer, "none")
    assert _level(c, c.outsider) is Level.NONE
    c.svc.team_add(c.agency, c.owner, c.case, c.outsider, editor)  # change the member's role
    assert _level(c, c.outsider) is Level.EDIT
    pk = c.store.case_pk(c.agency, c.case)
    assert pk is not None
    assert len(c.store.grant_rows(pk, cause=Cause.TEAM)) == 1
    assert c.svc.team_remove(c.agency, c.owner, c.case, c.outsider) is True
    assert _level(c, c.outsider) is Level.NONE
    assert c.svc.team_remove(c.agency, c.owner, c.case, c.outsider) is False


def test_s_team_1_a_role_in_use_is_only_deleted_by_replacing_it(cast: Cast) -> None:
    c = cast
    observer = c.svc.create_team_role(c.agency, None, "observer", "read")
    editor = c.svc.create_team_role(c.agency, None, "editor", "edit")
    unused = c.svc.create_team_role(c.agency, None, "unused", "read")
    c.svc.team_add(c.agency, c.owner, c.case, c.outsider, observer)
    assert code_of(c.svc.delete_team_role, c.agency, c.admin, observer) == "validation_error"
    assert _level(c, c.outsider) is Level.READ
    assert code_of(c.svc.delete_team_role, c.agency, c.admin, observer, 10**9) == (
        "validation_error"
    )
    c.svc.delete_team_role(c.agency, c.admin, observer, editor)
    assert _level(c, c.outsider) is Level.EDIT
    assert observer not in c.svc.context(c.agency).team_roles
    c.svc.delete_team_role(c.agency, c.admin, unused)
    assert code_of(c.svc.team_add, c.agency, c.owner, c.case, c.outsider, unused) == (
        "validation_error"
    )


def test_s_team_1_a_role_in_use_is_not_replaced_by_itself(cast: Cast) -> None:
    """S-TEAM-1: a role in use cannot be deleted, only replaced; naming the role itself as its
    replacement replaces nothing, so it is refused and the role and its members stay."""
    c = cast
    observer = c.svc.create_team_role(c.agency, None, "observer", "read")
    c.svc.team_add(c.agency, c.owner, c.case, c.outsider, observer)
    assert code_of(c.svc.delete_team_role, c.agency, c.admin, observer, observer) == (
        "validation_error"
    )
    assert observer in c.svc.context(c.agency).team_roles
    assert _level(c, c.outsider) is Level.READ


def test_s_team_1_only_full_access_manages_the_team(cast: Cast) -> None:
    c = cast
    observer = c.svc.create_team_role(c.agency, None, "observer", "read")
    assert code_of(c.svc.team_add, c.agency, c.reader, c.case, c.outsider, observer) == (
        "insufficient_access"
    )
    assert code_of(c.svc.team_add, c.agency, c.outsider, c.case, c.outsider, observer) == (
        "not_found"
    )
    assert code_of(c.svc.team_add, c.agency, c.owner, c.case, c.foreigner, observer) == (
        "invalid_grantee"
    )


# -- S-AUD-1 ----------------------------------------------------------------------------------------


def test_s_aud_1_every_share_change_is_an_audit_event_with_before_and_after(cast: Cast) -> None:
    c = cast
    start = len(c.store.audit_events(c.agency, limit=10_000))
    observer = c.svc.create_team_role(c.agency, None, "observer", "read")
    c.svc.share(c.agency, c.owner, c.case, f"user:{c.outsider}", "read")
    c.svc.share(c.agency, c.colleague, c.case, f"user:{c.outsider}", "edit")
    c.svc.unshare(c.agency, c.owner, c.case, f"user:{c.outsider}")
    c.svc.assign(c.agency, c.owner, c.case, c.outsider)
    c.svc.unassign(c.agency, c.owner, c.case, c.outsider)
    c.svc.team_add(c.agency, c.owner, c.case, c.outsider, observer)
    c.svc.team_remove(c.agency, c.owner, c.case, c.outsider)
    c.svc.change_owner(c.agency, c.owner, c.case, f"user:{c.owner}", reason="handover")
    events = c.store.audit_events(c.agency, limit=10_000)[start + 1 :]
    pk = c.store.case_pk(c.agency, c.case)
    summary = [(e.actor, e.action) for e in events]
    o, m = f"user:{c.owner}", f"user:{c.colleague}"
    assert summary == [
        (o, "share.create"),
        (m, "share.update"),
        (o, "share.delete"),
        (o, "assignment.create"),
        (o, "assignment.delete"),
        (o, "team.create"),
        (o, "team.delete"),
        (o, "share.delete"),  # S-SHR-6: the reader's share goes with the owner change
        (o, "case.owner"),
    ]
    assert all(e.case_pk == pk and e.subject == f"case:{c.case}" and e.at for e in events)
    create, update, delete = events[0], events[1], events[2]
    assert create.before is None
    assert create.after == {"grantee": f"user:{c.outsider}", "level": "read"}
    assert update.before == {"grantee": f"user:{c.outsider}", "level": "read"}
    assert update.after == {"grantee": f"user:{c.outsider}", "level": "edit"}
    assert delete.before == {"grantee": f"user:{c.outsider}", "level": "edit"}
    assert events[7].before == {"grantee": f"user:{c.reader}", "level": "read"}
    assert "S-SHR-6" in events[7].reason
    owner_change = events[8]
    assert owner_change.before == {"owner": str(c.group_principal)}
    assert owner_change.after == {"owner": o}
    assert owner_change.reason == "handover"


@pytest.mark.parametrize(
    "attempt",
    [
        "share_too_low",
        "share_with_owner",
        "share_by_reader",
        "reserved",
        "assign_inactive",
        "owner_invalid",
        "delete_by_reader",
        "unshare_by_reader",
    ],
)
def test_s_aud_1_a_refused_change_writes_no_audit_event(cast: Cast, attempt: str) -> None:
    c = cast
    sleeper = c.svc.create_user(c.agency, None, "sleepy", active=False)
    c.svc.update_settings(c.agency, None, {"default_access": {"patient": "read"}})
    before = c.store.audit_events(c.agency, limit=10_000)
    calls = {
        "share_too_low": (c.svc.share, c.agency, c.owner, c.case, f"user:{c.outsider}", "read"),
        "share_with_owner": (
            c.svc.share,
            c.agency,
            c.owner,
            c.case,
            str(c.group_principal),
            "edit",
        ),
        "share_by_reader": (c.svc.share, c.agency, c.reader, c.case, f"user:{c.outsider}", "edit"),
        "reserved": (c.svc.share, c.agency, c.owner, c.case, f"user:{c.outsider}", "edit"),
        "assign_inactive": (c.svc.assign, c.agency, c.owner, c.case, sleeper),
        "owner_invalid": (c.svc.change_owner, c.agency, c.owner, c.case, "role:1"),
        "delete_by_reader": (c.svc.delete_case, c.agency, c.reader, c.case),
        "unshare_by_reader": (c.svc.unshare, c.agency, c.reader, c.case, f"user:{c.reader}"),
    }
    fn, *args = calls[attempt]
    kwargs = {"row_cause": "rule"} if attempt == "reserved" else {}
    code_of(fn, *args, **kwargs)
    assert c.store.audit_events(c.agency, limit=10_000) == before
    assert _manual_rows(c) == [(f"user:{c.reader}", "read")]


def test_s_team_1_a_role_level_change_reaches_managers_neighbours_and_the_list(
    cast: Cast,
) -> None:
    """S-TEAM-1 with S-HIER-1, §3 implicit_child and S-ACC-7: a team role's level changed to
    none takes at once the member's grant, the hierarchy grant of the manager above the member
    and the implicit access both give on a child — in the check and in the list alike."""
    c = cast
    chief = c.svc.create_role(c.agency, None, "chief")
    staff = c.svc.create_role(c.agency, None, "staff", chief)
    manager = c.svc.create_user(c.agency, None, "mona")
    c.svc.set_role(c.agency, None, manager, chief)
    c.svc.set_role(c.agency, None, c.outsider, staff)
    child = c.svc.create_case(
        c.agency, c.owner, "visit", "Ann's visit", indices={"parent": (c.case, "child")}
    )
    observer = c.svc.create_team_role(c.agency, None, "observer", "read")
    c.svc.team_add(c.agency, c.owner, c.case, c.outsider, observer)
    for uid in (c.outsider, manager):
        assert c.fresh().visible_case_ids(uid) == {c.case, child}
        assert c.fresh().access(uid, child).level is Level.READ
    c.svc.set_team_role_level(c.agency, c.admin, observer, "none")
    for uid in (c.outsider, manager):
        fresh = c.fresh()
        assert fresh.visible_case_ids(uid) == set()
        assert fresh.access(uid, c.case).level is Level.NONE
        assert fresh.access(uid, child).level is Level.NONE
