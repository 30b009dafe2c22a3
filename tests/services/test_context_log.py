"""Issue 12 item 3: a structural change patches every process's agency context from the change
log instead of reloading the whole agency, and is in force at the next check everywhere.

Each test runs on a fresh, committed store (SQLite and PostgreSQL): what matters here is what
one connection's committed change does to another connection's cache, which the rolled-back
service fixtures cannot show. Two ``Caseshare`` objects over two connections, each with its own
``ContextCache``, are two server processes as far as the cache can tell.
"""

from __future__ import annotations

from typing import Any

import pytest

from caseshare.core.engine import AgencyContext, evaluate
from caseshare.core.levels import Level
from caseshare.core.principals import Principal
from caseshare.core.rules import parse_criteria
from caseshare.services import Caseshare
from caseshare.store import Store
from tests.services.cast import Cast


def _warm(svc: Caseshare, cast: Cast) -> None:
    for who in (cast.owner, cast.colleague, cast.reader, cast.outsider):
        svc.access(who, cast.case)


def test_s_own_2_a_membership_removed_through_one_process_is_in_force_at_the_next_check_of_another(
    two: tuple[Cast, Caseshare],
) -> None:
    cast, other = two
    _warm(cast.svc, cast)
    _warm(other, cast)
    assert other.access(cast.colleague, cast.case).level is Level.FULL
    loads = other.cache.loads

    cast.svc.remove_member(cast.agency, cast.admin, cast.group, Principal("user", cast.colleague))

    assert other.access(cast.colleague, cast.case).level is Level.NONE
    assert cast.svc.access(cast.colleague, cast.case).level is Level.NONE
    # patched from the log, not reloaded, in both processes
    assert other.cache.loads == loads and other.cache.patches == 1
    assert cast.svc.cache.patches >= 1


def test_s_rule_1_a_rule_deactivated_through_one_process_stops_granting_at_the_next_check_of_another(
    two: tuple[Cast, Caseshare],
) -> None:
    cast, other = two
    rule = cast.svc.add_rule(
        cast.agency,
        cast.admin,
        "Outsider reads",
        "owner",
        f"user:{cast.outsider}",
        "read",
        owner_in=cast.group_principal,
    )
    assert other.access(cast.outsider, cast.case).level is Level.READ
    cast.svc.set_rule_active(cast.agency, cast.admin, rule, False)
    assert other.access(cast.outsider, cast.case).level is Level.NONE
    cast.svc.delete_rule(cast.agency, cast.admin, rule)
    assert other.access(cast.outsider, cast.case).level is Level.NONE
    assert other.cache.patches == 2


def test_s_acc_4_a_user_deactivated_through_one_process_has_no_access_at_the_next_check_of_another(
    two: tuple[Cast, Caseshare],
) -> None:
    cast, other = two
    _warm(other, cast)
    cast.svc.set_active(cast.agency, cast.admin, cast.reader, False)
    assert other.access(cast.reader, cast.case).level is Level.NONE
    cast.svc.set_active(cast.agency, cast.admin, cast.reader, True)
    assert other.access(cast.reader, cast.case).level is Level.READ


def test_a_change_rolled_back_is_never_cached(two: tuple[Cast, Caseshare]) -> None:
    """A context read inside the transaction that changed the agency includes the change, for
    that transaction only: after the rollback no process, this one included, serves it."""
    cast, _ = two
    _warm(cast.svc, cast)

    class Undo(Exception):
        pass

    with pytest.raises(Undo), cast.store.transaction():
        cast.store.remove_member(cast.agency, cast.group, Principal("user", cast.colleague))
        assert cast.svc.access(cast.colleague, cast.case).level is Level.NONE
        raise Undo
    assert cast.svc.access(cast.colleague, cast.case).level is Level.FULL


def test_a_pruned_log_falls_back_to_loading_the_agency_whole(
    two: tuple[Cast, Caseshare],
) -> None:
    cast, other = two
    _warm(other, cast)
    cast.store.execute("DELETE FROM context_changes WHERE agency_id = ?", (cast.agency,))
    cast.svc.remove_member(cast.agency, cast.admin, cast.group, Principal("user", cast.colleague))
    cast.store.execute("DELETE FROM context_changes WHERE agency_id = ?", (cast.agency,))
    loads = other.cache.loads
    assert other.access(cast.colleague, cast.case).level is Level.NONE
    assert other.cache.loads == loads + 1 and other.cache.patches == 0


def _picture(ctx: AgencyContext) -> dict[str, Any]:
    """Everything a context holds, in a form two contexts can be compared by."""
    d = ctx.directory
    return {
        "settings": ctx.settings.to_dict(),
        "version": (ctx.version, ctx.change_seq),
        "rules": ctx.rules,
        "team_roles": dict(ctx.team_roles),
        "users": d.users,
        "groups": d.groups,
        "location_types": d.location_types,
        "locations": d.locations,
        "roles": d.roles,
        # lists whose order shapes the paths of an explanation
        "containers": {k: v for k, v in d._containers.items() if v},
        "user_locations": {k: v for k, v in d._user_locations.items() if v},
        # lists whose order does not
        "group_members": {k: sorted(v) for k, v in d._group_members.items() if v},
        "location_users": {k: sorted(v) for k, v in d._location_users.items() if v},
        "location_children": {k: sorted(v) for k, v in d._location_children.items() if v},
        "role_children": {k: sorted(v) for k, v in d._role_children.items() if v},
        "users_by_role": {k: sorted(v) for k, v in d._users_by_role.items() if v},
        # who belongs to what: a patch keeps the member sets no change touched, so these
        # compare member sets carried over from before the change with counted ones
        "members": {
            p: d.members_of(p)
            for p in [
                *(Principal("group", g) for g in d.groups),
                *(Principal("location", loc) for loc in d.locations),
                *(Principal(kind, r) for r in d.roles for kind in ("role", "role_tree")),
                *(Principal("user", u) for u in d.users),
                Principal("agency", ctx.agency_id),
            ]
        },
        "owners_within": {g: d.owners_within(Principal("group", g)) for g in sorted(d.groups)},
        "principals": {u: dict(d.principals_of(u)) for u in d.users},
        "owner_ids": {u: dict(d.owner_ids(u)) for u in d.users},
    }


def _same_as_a_fresh_load(svc: Caseshare, store: Store, agency: int, cases: list[str]) -> None:
    patched = svc.context(agency)
    fresh = store.load_context(agency)
    assert _picture(patched) == _picture(fresh)
    for case_id in cases:
        facts = store.facts(svc.case(fresh, case_id))
        for user in fresh.directory.users.values():
            assert evaluate(patched, user, facts) == evaluate(fresh, user, facts)


def test_every_kind_of_structural_change_patches_to_what_a_fresh_load_gives(
    two: tuple[Cast, Caseshare],
) -> None:
    """S-OWN-1, S-OWN-2, S-RULE-1, S-TEAM-1, S-HIER-1: after each change the patched context
    holds the same rows, the same memberships with the same paths, and gives the same access
    as the agency loaded whole."""
    cast, other = two
    a, admin, svc = cast.agency, cast.admin, cast.svc
    cases = [cast.case, cast.private]
    state: dict[str, int] = {}

    def check() -> None:
        _same_as_a_fresh_load(other, other.store, a, cases)

    other.context(a)
    steps = [
        lambda: state.setdefault("top", svc.create_role(a, admin, "Top")),
        lambda: state.setdefault("mid", svc.create_role(a, admin, "Mid", state["top"])),
        lambda: svc.set_role(a, admin, cast.owner, state["mid"]),
        lambda: svc.set_role(a, admin, cast.admin, state["top"]),
        lambda: svc.update_settings(a, admin, {"hierarchy_access": False}),
        lambda: svc.update_role(a, admin, state["mid"], {"parent_id": None}),
        lambda: svc.update_role(a, admin, state["mid"], {"parent_id": state["top"]}),
        lambda: state.setdefault(
            "region",
            svc.create_location_type(a, admin, "Region", shares_cases=True, view_descendants=True),
        ),
        lambda: state.setdefault("north", svc.create_location(a, admin, "N", state["region"])),
        lambda: state.setdefault(
            "east", svc.create_location(a, admin, "E", state["region"], parent_id=state["north"])
        ),
        lambda: svc.set_locations(a, admin, cast.outsider, [state["north"]]),
        lambda: svc.set_locations(a, admin, cast.reader, [state["east"], state["north"]]),
        lambda: svc.set_location_archived(a, admin, state["east"], True),
        lambda: svc.update_location(a, admin, state["east"], {"parent_id": None}),
        lambda: state.setdefault("outer", svc.create_group(a, admin, "Outer")),
        lambda: svc.add_member(a, admin, state["outer"], cast.group_principal),
        lambda: svc.add_member(a, admin, state["outer"], Principal("user", cast.outsider)),
        lambda: svc.update_group(a, admin, state["outer"], {"case_sharing": True}),
        lambda: svc.remove_member(a, admin, cast.group, Principal("user", cast.colleague)),
        lambda: state.setdefault("new", svc.create_user(a, admin, "nina", role_id=state["mid"])),
        lambda: svc.add_member(a, admin, cast.group, Principal("user", state["new"])),
        lambda: svc.set_active(a, admin, state["new"], False),
        lambda: state.setdefault("tr", svc.create_team_role(a, admin, "Helper", "read")),
        lambda: svc.set_team_role_level(a, admin, state["tr"], "edit"),
        lambda: svc.delete_team_role(a, admin, state["tr"]),
        lambda: state.setdefault(
            "rule",
            svc.add_rule(
                a,
                admin,
                "Patients",
                "criteria",
                f"user:{cast.outsider}",
                "read",
                criteria=parse_criteria({"case_type": "patient"}),
            ),
        ),
        lambda: svc.set_rule_active(a, admin, state["rule"], False),
        lambda: svc.delete_rule(a, admin, state["rule"]),
        lambda: svc.update_settings(a, admin, {"edit_policy": "owners"}),
    ]
    for step in steps:
        step()
        check()
    # several changes at once, from another process's point of view
    svc.add_member(a, admin, cast.group, Principal("user", cast.colleague))
    svc.set_role(a, admin, cast.reader, state["mid"])
    svc.update_settings(a, admin, {"hierarchy_access": True})
    check()
    assert other.cache.loads == 1
