"""S-OWN-1 owner ids and S-OWN-2 membership of the in-memory directory, with their paths."""

from __future__ import annotations

import pytest

from caseshare.core.directory import Directory
from caseshare.core.principals import Principal
from tests.core.builders import OTHER_AGENCY, P, directory, user

# group 2 (case-sharing) ∋ user 5; group 7 (case-sharing) ∋ group 2; group 9 (plain) ∋ group 7
NESTED = directory(
    [user(5), user(6), user(8, active=False)],
    groups=[(2, True), (7, True), (9, False), (11, False)],
    members=[(2, "user:5"), (7, "group:2"), (9, "group:7"), (11, "user:6"), (2, "user:8")],
)

# location types: 1 district (shares, view descendants), 2 clinic (shares), 3 region (neither,
# view descendants), 4 archive-type (shares)
# locations: 10 district ⊃ 11 clinic ⊃ 12 clinic; 10 ⊃ 13 clinic (archived); 20 region ⊃ 21 clinic
LOCATIONS = directory(
    [user(1), user(2), user(3), user(4, active=False)],
    location_types=[(1, True, True), (2, True, False), (3, False, True)],
    locations=[
        (10, 1, None, False),
        (11, 2, 10, False),
        (12, 2, 11, False),
        (13, 2, 10, True),
        (20, 3, None, False),
        (21, 2, 20, False),
    ],
    user_locations=[(1, 10), (2, 11), (3, 20), (4, 10), (2, 13)],
)

# roles: 1 chief ⊃ 2 sergeant ⊃ 3 officer; 1 ⊃ 4 clerk
ROLES = directory(
    [user(1, role=1), user(2, role=2), user(3, role=3), user(4, role=4), user(5)],
    roles=[(1, None), (2, 1), (3, 2), (4, 1)],
)


def _all_principals(d: Directory, agencies: tuple[int, ...] = (1,)) -> list[Principal]:
    out = [Principal("user", u) for u in d.users]
    out += [Principal("group", g) for g in d.groups]
    out += [Principal("location", loc) for loc in d.locations]
    out += [Principal(kind, r) for r in d.roles for kind in ("role", "role_tree")]
    out += [Principal("agency", a) for a in agencies]
    return out


# -- S-OWN-2: what a user belongs to ----------------------------------------------------------------


def test_s_own_2_user_is_in_groups_directly_and_through_nested_groups() -> None:
    found = NESTED.principals_of(5)
    assert set(found) == {P("user:5"), P("group:2"), P("group:7"), P("group:9"), P("agency:1")}


def test_s_acc_6_paths_read_from_the_container_down_to_the_user() -> None:
    found = NESTED.principals_of(5)
    assert found[P("user:5")] == "user:5"
    assert found[P("group:2")] == "group:2 ∋ user:5"
    assert found[P("group:7")] == "group:7 → group:2 ∋ user:5"
    assert found[P("group:9")] == "group:9 → group:7 → group:2 ∋ user:5"
    assert found[P("agency:1")] == "agency:1 ∋ user:5"


def test_s_own_1_owner_ids_are_the_user_and_case_sharing_groups_only() -> None:
    owners = NESTED.owner_ids(5)
    assert set(owners) == {P("user:5"), P("group:2"), P("group:7")}
    assert owners[P("group:7")] == "group:7 → group:2 ∋ user:5"
    assert set(NESTED.owner_ids(6)) == {P("user:6")}  # group 11 does not share cases


def test_s_acc_4_inactive_user_is_a_member_of_nothing_and_owns_nothing() -> None:
    assert NESTED.principals_of(8) == {}
    assert NESTED.owner_ids(8) == {}
    assert 8 not in NESTED.members_of(P("group:2"))
    assert 8 not in NESTED.members_of(P("user:8"))
    assert 8 not in NESTED.members_of(P("agency:1"))


def test_s_own_2_unknown_user_belongs_to_nothing() -> None:
    assert NESTED.principals_of(999) == {}
    assert NESTED.owner_ids(999) == {}


def test_s_own_2_assigned_locations_and_view_descendants() -> None:
    # user 1 at the district 10 (view descendants): 11 and 12 below it, not the archived 13
    assert {p for p in LOCATIONS.principals_of(1) if p.kind == "location"} == {
        P("location:10"),
        P("location:11"),
        P("location:12"),
    }
    paths = LOCATIONS.principals_of(1)
    assert paths[P("location:10")] == "location:10 ∋ user:1"
    assert paths[P("location:12")].startswith("location:12 ⊂ location:10 (view descendants)")
    assert paths[P("location:12")].endswith("∋ user:1")


def test_s_own_2_without_view_descendants_only_the_assigned_location_counts() -> None:
    # user 2 at clinic 11 (no view descendants) and at the archived clinic 13
    assert {p for p in LOCATIONS.principals_of(2) if p.kind == "location"} == {
        P("location:11"),
        P("location:13"),
    }


def test_s_own_1_owner_ids_of_locations() -> None:
    # the district shares cases and views its descendants: 10, 11, 12; never the archived 13
    assert {p for p in LOCATIONS.owner_ids(1) if p.kind == "location"} == {
        P("location:10"),
        P("location:11"),
        P("location:12"),
    }
    # a region that shares nothing but views descendants: only its sharing descendants
    assert {p for p in LOCATIONS.owner_ids(3) if p.kind == "location"} == {P("location:21")}
    assert LOCATIONS.principals_of(3).keys() >= {P("location:20"), P("location:21")}


def test_s_own_1_archived_descendants_are_never_owner_ids() -> None:
    for uid in LOCATIONS.users:
        assert P("location:13") not in {
            p for p, path in LOCATIONS.owner_ids(uid).items() if "view descendants" in path
        }


def test_s_own_1_case_sharing_owners_lists_groups_and_locations_but_not_the_user() -> None:
    assert NESTED.case_sharing_owners(5) == [P("group:2"), P("group:7")]
    assert NESTED.case_sharing_owners(6) == []
    assert LOCATIONS.case_sharing_owners(3) == [P("location:21")]


def test_s_own_2_members_of_a_location_include_view_descendants_holders_above_it() -> None:
    assert LOCATIONS.members_of(P("location:12")) == {1}  # 2 is at 11 (no view descendants)
    assert LOCATIONS.members_of(P("location:11")) == {1, 2}
    assert LOCATIONS.members_of(P("location:21")) == {3}
    assert LOCATIONS.members_of(P("location:10")) == {1}  # user 4 is inactive


def test_s_own_2_role_and_role_tree_membership() -> None:
    assert ROLES.members_of(P("role:2")) == {2}
    assert ROLES.members_of(P("role_tree:2")) == {2, 3}
    assert ROLES.members_of(P("role_tree:1")) == {1, 2, 3, 4}
    found = ROLES.principals_of(3)
    assert {p for p in found if p.kind == "role_tree"} == {
        P("role_tree:3"),
        P("role_tree:2"),
        P("role_tree:1"),
    }
    assert P("role:2") not in found
    assert found[P("role:3")] == "role:3 ∋ user:3"
    assert found[P("role_tree:1")] == "role_tree:1 ⊇ role:3 ∋ user:3"
    assert not any(p.kind.startswith("role") for p in ROLES.principals_of(5))


def test_s_hier_1_role_tree_helpers() -> None:
    assert ROLES.role_ancestors(3) == (2, 1)
    assert ROLES.roles_below(1) == {2, 3, 4}
    assert ROLES.roles_below(3) == frozenset()
    assert ROLES.is_above(1, 3)
    assert not ROLES.is_above(3, 1)
    assert not ROLES.is_above(2, 2)
    assert not ROLES.is_above(4, 3)  # a sibling branch
    assert not ROLES.is_above(None, 3)
    assert ROLES.role_would_cycle(1, 3)
    assert ROLES.role_would_cycle(2, 2)
    assert not ROLES.role_would_cycle(3, 4)


def test_s_own_2_agency_members_are_its_active_users() -> None:
    d = directory([user(1), user(2, active=False), user(3, agency=OTHER_AGENCY)])
    assert d.members_of(P("agency:1")) == {1}
    assert d.members_of(P("agency:2")) == {3}


@pytest.mark.parametrize("d", [NESTED, LOCATIONS, ROLES], ids=["groups", "locations", "roles"])
def test_s_own_2_members_of_agrees_with_principals_of_for_every_principal(d: Directory) -> None:
    for principal in _all_principals(d):
        expected = {uid for uid in d.users if principal in d.principals_of(uid)}
        assert d.members_of(principal) == expected, principal


def test_s_own_2_members_of_agrees_with_principals_of_in_a_mixed_directory() -> None:
    d = directory(
        [user(1, role=2), user(2, role=1), user(3, active=False, role=2), user(4)],
        groups=[(1, True), (2, False), (3, True)],
        members=[(1, "user:1"), (2, "group:1"), (2, "user:4"), (3, "group:2"), (3, "user:3")],
        location_types=[(1, True, True), (2, False, False)],
        locations=[(1, 1, None, False), (2, 2, 1, False), (3, 1, 2, False), (4, 1, 3, True)],
        user_locations=[(1, 1), (4, 2), (3, 3)],
        roles=[(1, None), (2, 1)],
    )
    for principal in _all_principals(d):
        expected = {uid for uid in d.users if principal in d.principals_of(uid)}
        assert d.members_of(principal) == expected, principal


# -- owners, rules and structure checks --------------------------------------------------------------


def test_s_crt_1_only_users_case_sharing_groups_and_live_sharing_locations_can_own() -> None:
    assert NESTED.can_own(P("user:5"))
    assert NESTED.can_own(P("group:2"))
    assert not NESTED.can_own(P("group:9"))  # not case-sharing
    assert not NESTED.can_own(P("user:404"))
    assert not NESTED.can_own(P("agency:1"))
    assert LOCATIONS.can_own(P("location:11"))
    assert not LOCATIONS.can_own(P("location:13"))  # archived
    assert not LOCATIONS.can_own(P("location:20"))  # type does not share cases
    assert not ROLES.can_own(P("role:1"))
    assert not ROLES.can_own(P("role_tree:1"))


def test_s_rule_1_owner_rule_source_contains_itself_its_users_and_nested_groups() -> None:
    assert NESTED.contains_owner(P("group:9"), P("group:9"))
    assert NESTED.contains_owner(P("group:9"), P("group:2"))
    assert NESTED.contains_owner(P("group:9"), P("user:5"))
    assert not NESTED.contains_owner(P("group:9"), P("user:6"))
    assert not NESTED.contains_owner(P("group:9"), P("user:8"))  # inactive: a member of nothing
    assert not NESTED.contains_owner(P("group:2"), P("group:7"))  # containment goes downward
    assert NESTED.owners_within(P("group:9")) == {
        P("group:9"),
        P("group:7"),
        P("group:2"),
        P("user:5"),
    }


def test_s_rule_1_location_owner_rule_contains_users_below_it() -> None:
    assert LOCATIONS.contains_owner(P("location:11"), P("user:1"))
    assert LOCATIONS.contains_owner(P("location:11"), P("user:2"))
    assert not LOCATIONS.contains_owner(P("location:11"), P("user:3"))


def test_s_own_2_group_cycles_are_detected() -> None:
    assert NESTED.group_would_cycle(2, P("group:9"))
    assert NESTED.group_would_cycle(2, P("group:2"))
    assert not NESTED.group_would_cycle(9, P("group:11"))
    assert not NESTED.group_would_cycle(2, P("user:6"))


def test_s_own_2_nested_members_reach_every_depth() -> None:
    assert NESTED.nested_members(9) == {P("group:7"), P("group:2"), P("user:5"), P("user:8")}


def test_location_cycles_are_detected() -> None:
    assert LOCATIONS.location_would_cycle(10, 12)
    assert LOCATIONS.location_would_cycle(10, 10)
    assert not LOCATIONS.location_would_cycle(12, 10)


def test_exists_names_only_this_directory() -> None:
    assert LOCATIONS.exists(P("location:10"))
    assert not LOCATIONS.exists(P("location:99"))
    assert ROLES.exists(P("role_tree:1"))
    assert not ROLES.exists(P("group:1"))
    assert NESTED.exists(P("agency:1"))  # the caller checks agencies


def test_s_acc_6_legend_names_every_principal_an_explanation_mentions() -> None:
    from caseshare.core.directory import Directory
    from caseshare.core.model import Group, Role, User

    directory = Directory(
        users=[User(6, 1, "nina", full_name="Nina Nurse")],
        groups=[Group(3, 1, "nurses", case_sharing=True)],
        roles=[Role(2, 1, "chief")],
    )
    text = "owner → group:3 ∋ user:6; rule 'r' → role_tree:2 ⊇ role:2 ∋ user:6; user:99"
    assert directory.legend(text) == [
        "group:3 = nurses",
        "user:6 = nina (Nina Nurse)",
        "role_tree:2 = chief and below",
        "role:2 = chief",
    ]
