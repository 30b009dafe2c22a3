"""Grants in words (S-ACC-6): every path the engine writes is read back and said with names."""

from __future__ import annotations

from caseshare.core.engine import Grant, evaluate
from caseshare.core.levels import Cause, Level
from caseshare.core.naming import display_name, named_text, namer, principals_in
from caseshare.core.rules import Rule
from caseshare.core.why import read_why
from tests.core.builders import (
    P,
    assigned,
    case,
    context,
    directory,
    manual,
    team,
    user,
)

NINA, OMAR, DORA, SAM, WILL, ADA, VERA = range(1, 8)
NURSES, NORTH_TEAM = 1, 2
DISTRICT, CLINIC = 1, 2
DIRECTOR, SUPERVISOR, WORKER = 1, 2, 3

USERS = [
    user(NINA, name="Nina Nurse"),
    user(OMAR, name="Omar Outsider"),
    user(DORA, role=DIRECTOR, name="Dora Director"),
    user(SAM, role=SUPERVISOR, name="Sam Supervisor"),
    user(WILL, role=WORKER, name="Will Worker"),
    user(ADA, perms={"admin"}, name="Ada Admin"),
    user(VERA, perms={"view_all"}, name="Vera Viewer"),
]
DIRECTORY = directory(
    USERS,
    groups=[(NURSES, True), (NORTH_TEAM, False)],
    members=[(NURSES, "user:1"), (NORTH_TEAM, "group:1")],
    location_types=[(1, True, True), (2, True, False)],
    locations=[(DISTRICT, 1, None, False), (CLINIC, 2, DISTRICT, False)],
    user_locations=[(SAM, DISTRICT), (OMAR, CLINIC)],
    roles=[(DIRECTOR, None), (SUPERVISOR, DIRECTOR), (WORKER, SUPERVISOR)],
)
NAME = namer(DIRECTORY, 1, "Demo Health")
RULE = Rule(9, 1, "nurses read Will's", "owner", P("group:2"), Level.READ, True, P("user:5"))
CTX = context(
    DIRECTORY,
    settings={"default_access": {"*": "private", "referral": "read"}},
    rules=[RULE],
    team_roles=[(1, Level.READ)],
)


def _grants(user_id: int, facts: object) -> list[Grant]:
    access = evaluate(CTX, DIRECTORY.users[user_id], facts)  # type: ignore[arg-type]
    return list(access.grants)


def _words(user_id: int, facts: object) -> dict[str, str]:
    return {
        g.cause.value: read_why(g.cause.value, g.path).words(NAME) for g in _grants(user_id, facts)
    }


def test_names_of_every_kind_of_principal() -> None:
    assert NAME(P("user:1")) == "Nina Nurse"
    assert NAME(P("group:1")) == "g1 (group)"
    assert NAME(P("location:2")) == "l2 (location)"
    assert NAME(P("role:2")) == "r2 (role)"
    assert NAME(P("role_tree:1")) == "r1 and below (roles)"
    assert NAME(P("agency:1")) == "everyone in Demo Health"
    assert NAME(P("agency:2")) == "another agency"
    assert display_name(P("group:99"), DIRECTORY, 1, "x") == "a group no longer known"
    assert named_text("owner → group:1 ∋ user:1", NAME) == "owner → g1 (group) ∋ Nina Nurse"
    assert principals_in("role:1 above role:3 of user:5", "user:5") == [
        P("role:1"),
        P("role:3"),
        P("user:5"),
    ]


def test_s_acc_6_owner_paths_in_words() -> None:
    mine = case(1, "user:1")
    assert _words(NINA, mine)["owner"] == "Owner: owns the case"
    nested = case(2, "group:1")
    assert _words(NINA, nested)["owner"] == "Owner: member of g1 (group)"
    clinic = case(3, "location:2")
    assert _words(OMAR, clinic)["owner"] == "Owner: assigned to l2 (location)"
    below = _words(SAM, clinic)["owner"]
    assert below == "Owner: assigned to l1 (location), which sees l2 (location) below it"


def test_s_acc_6_stored_grants_name_their_grantee_and_who_made_them() -> None:
    facts = case(
        4,
        "user:5",
        grants=[manual("group:2", Level.EDIT), assigned("user:2"), team("user:1", 1)],
    )
    (share,) = [g for g in _grants(NINA, facts) if g.cause is Cause.MANUAL]
    why = read_why(share.cause.value, share.path)
    assert why.grantee == P("group:2") and why.key() == ("manual", "group:2")
    assert why.words(NAME, by="Wendy Worker") == (
        "Manual share by Wendy Worker: member of g1 (group), which is in g2 (group)"
    )
    words = _words(OMAR, facts)
    assert words["assigned"] == "Assigned"
    (member,) = [g for g in _grants(NINA, facts) if g.cause is Cause.TEAM]
    said = read_why("team", member.path).words(NAME, by="Ada Admin", team_role="Observer")
    assert said == "Case team as Observer, added by Ada Admin"


def test_s_acc_6_roles_agency_and_role_trees_in_words() -> None:
    facts = case(
        5,
        "user:2",
        grants=[
            manual("role:2", Level.EDIT),
            manual("role_tree:1", Level.READ),
            manual("agency:1", Level.READ),
        ],
    )
    sam = {
        read_why(g.cause.value, g.path).member.grantee.kind: read_why(  # type: ignore[union-attr]
            g.cause.value, g.path
        ).words(NAME)
        for g in _grants(SAM, facts)
        if g.cause is Cause.MANUAL
    }
    assert sam == {
        "role": "Manual share: holds the role r2",
        "role_tree": "Manual share: holds the role r2, below r1",
        "agency": "Manual share: everyone in Demo Health",
    }


def test_s_hier_1_hierarchy_says_whom_the_manager_stands_above() -> None:
    facts = case(6, "user:5", grants=[manual("user:1", Level.READ)])
    words = _words(SAM, facts)
    assert words["hierarchy"] == "Role hierarchy: as r2, above Will Worker (r3), who owns the case"
    (grant,) = [g for g in _grants(DORA, facts) if g.cause is Cause.HIERARCHY]
    assert read_why("hierarchy", grant.path).key() == ("hierarchy", "user:5 owner")


def test_default_permission_rule_and_implicit_access_in_words() -> None:
    referral = case(7, "user:5", case_type="referral")
    assert _words(OMAR, referral)["default"] == (
        "Default access: everyone has read on referral cases"
    )
    assert _words(ADA, referral)["permission"] == "Permission: agency admin"
    assert _words(VERA, referral)["permission"] == "Permission: view all cases"
    ruled = _words(NINA, case(8, "user:5"))
    assert (
        ruled["rule"]
        == "Sharing rule “nurses read Will's”: member of g1 (group), which is in g2 (group)"
    )
    parent = case(9, "group:1")
    child = case(10, "user:5", parents=[parent])
    said = _words(NINA, child)["implicit_child"]
    assert said == "Parent case k9 — Owner: member of g1 (group)"
    why = read_why("implicit_child", _grants(NINA, child)[-1].path)
    assert why.key() == ("implicit_child", "k9") and why.inner is not None


def test_s_sync_1_the_sync_path_in_words() -> None:
    """Row cause sync: the index path from the case the user owns, with names."""
    path = "sync → case:k2 (owner → group:1 ∋ user:1) → parent case:k1 → extension case:k7"
    why = read_why("sync", path)
    assert why.related_case == "k2" and why.route == (("parent", "k1"), ("extension", "k7"))
    assert why.words(NAME) == (
        "Device sync: their device holds case k2 (Owner: member of g1 (group)),"
        " its parent k1, its extension k7"
    )
    assert why.key() == ("sync", "k2")
    assert read_why("sync", "sync → something else").words(NAME).startswith("Device sync: ")


def test_a_path_it_cannot_read_is_said_with_names_not_dropped() -> None:
    odd = read_why("agency_share", "agency_share → user:1 via something new")
    assert odd.member is None
    assert odd.words(NAME) == "Agency share: agency_share → Nina Nurse via something new"


def test_s_ag_4_an_agency_share_is_said_in_words() -> None:
    from caseshare.core.why import read_why

    def name(p: object) -> str:
        return str(p)

    got = read_why("agency_share", "agency_share → agency_share:7 → receiving user:12")
    assert got.words(name) == "Agency share 7: the receiving user at the receiving agency"
    unit = read_why("agency_share", "agency_share → agency_share:7 → unit group:4 ∋ user:13")
    assert unit.words(name) == (
        "Agency share 7: a member of a field unit it was sent to at the receiving agency"
    )
