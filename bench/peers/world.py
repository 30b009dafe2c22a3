"""The §16 world as plain data, read back from a caseshare agency, and the restricted copies
each peer is measured and verified on.

A restricted world is the same deterministic world (``caseshare.bench.world.build``, same seed)
loaded into its own agency, with what a peer cannot express taken out of the data or the
settings. caseshare itself answers on that agency, so the reference for every agreement check
is caseshare's own service, never a model written here.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from caseshare.bench.world import SIZES, build
from caseshare.core.levels import Level
from caseshare.services import Caseshare

#: The sharing features of the §16 world, each a SPEC rule a peer may or may not express.
FEATURES = {
    "default": "default access by case type (S-ACC-1: referral cases readable by every user)",
    "owner": "owners: users, case-sharing groups, clinic locations (S-OWN-1, S-OWN-2, S-ACC-2)",
    "inactive": "inactive users have no access (S-ACC-4)",
    "permission": "the view_all permission (§3 cause permission)",
    "manual": "manual shares with users and groups, read or edit (§5)",
    "assigned": "assignments, full access (S-ASG-1)",
    "team": "case team members at their team role's level (S-TEAM-1)",
    "owner_rules": "owner sharing rules: owner is the group, a member or a nested group (S-RULE-1)",
    "criteria_rules": "criteria sharing rules on case type and properties (S-RULE-1)",
    "hierarchy": "role hierarchy above the owner and above users named in grants (S-HIER-1)",
    "implicit": "implicit access through parent/child/extension indices (§3, S-ACC-8)",
}


@dataclass
class Case:
    pk: int
    case_id: str
    case_type: str
    owner: str  # canonical principal text: user:ID, group:ID, location:ID
    properties: dict[str, str]
    server_modified_on: str


@dataclass(frozen=True)
class Grant:
    case_pk: int
    cause: str  # manual, assigned or team
    grantee: str
    level: Level  # a team grant's level is its team role's level


@dataclass(frozen=True)
class Rule:
    kind: str  # owner or criteria
    owner_in: str | None
    criteria: dict[str, Any] | None
    grantee: str
    level: Level


@dataclass
class User:
    id: int
    username: str
    active: bool
    role_id: int | None
    permissions: frozenset[str]
    locations: tuple[int, ...] = ()


@dataclass
class World:
    """One agency's sharing facts, as every peer loads them."""

    agency_id: int
    slug: str
    features: frozenset[str]
    users: dict[int, User]
    user_order: list[int]  # by position in the generated world: index i is the same person
    groups: dict[int, bool]  # id → case_sharing
    group_parents: dict[str, list[int]]  # member principal → groups it is directly in
    role_parent: dict[int, int | None]
    location_shares: dict[int, bool]
    cases: list[Case]  # in listing order: server_modified_on, pk
    grants: list[Grant]
    rules: list[Rule]
    default_access: dict[str, str]
    case_by_id: dict[str, Case] = field(default_factory=dict)
    grants_by_case: dict[int, list[Grant]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.case_by_id = {c.case_id: c for c in self.cases}
        by_case: dict[int, list[Grant]] = defaultdict(list)
        for g in self.grants:
            by_case[g.case_pk].append(g)
        self.grants_by_case = dict(by_case)

    def groups_of(self, member: str) -> list[int]:
        """The groups a user or group is directly in (an inactive user is in none: S-OWN-2)."""
        if member.startswith("user:") and not self.users[int(member[5:])].active:
            return []
        return self.group_parents.get(member, [])


def build_restricted(svc: Caseshare, size: str, seed: int, features: frozenset[str]) -> int:
    """The §16 world in a new agency, without what ``features`` leaves out; its agency id."""
    store = svc.store
    world = build(store, SIZES[size], seed, slug=f"peers-{uuid.uuid4().hex[:6]}")
    agency = world.agency_id
    with store.transaction():
        if "implicit" not in features:
            store.execute(
                "DELETE FROM case_indices WHERE case_pk IN"
                " (SELECT pk FROM cases WHERE agency_id = ?)",
                (agency,),
            )
        for kind in ("owner", "criteria"):
            if f"{kind}_rules" not in features:
                store.execute("DELETE FROM rules WHERE agency_id = ? AND kind = ?", (agency, kind))
        settings = svc.context(agency).settings
        if "hierarchy" not in features:
            settings = settings.updated({"hierarchy_access": False})
        store.set_settings(agency, settings)
    for name, sql in (
        ("manual", "cause = 'manual'"),
        ("assigned", "cause = 'assigned'"),
        ("team", "cause = 'team'"),
    ):
        if name not in features:
            with store.transaction():
                store.execute(f"DELETE FROM grants WHERE agency_id = ? AND {sql}", (agency,))
                store.bump(agency)
    store.analyze()
    return agency


def read_world(svc: Caseshare, agency_id: int, features: frozenset[str]) -> World:
    """Read an agency back as plain data (the same rows caseshare decides on)."""
    store = svc.store
    ctx = svc.context(agency_id)
    rows = store.rows
    slug = rows("SELECT slug FROM agencies WHERE id = ?", (agency_id,))[0][0]
    locations: dict[int, list[int]] = defaultdict(list)
    for uid, lid in rows(
        "SELECT ul.user_id, ul.location_id FROM user_locations ul"
        " JOIN users u ON u.id = ul.user_id WHERE u.agency_id = ?",
        (agency_id,),
    ):
        locations[uid].append(lid)
    users = {}
    for uid, username, active, role_id, perms in rows(
        "SELECT id, username, active, role_id, permissions FROM users WHERE agency_id = ?"
        " ORDER BY id",
        (agency_id,),
    ):
        users[uid] = User(
            uid,
            username,
            bool(active),
            role_id,
            frozenset(p for p in perms.split(",") if p),
            tuple(sorted(locations.get(uid, ()))),
        )
    groups = {
        gid: bool(cs)
        for gid, cs in rows(
            "SELECT id, case_sharing FROM agency_groups WHERE agency_id = ?", (agency_id,)
        )
    }
    parents: dict[str, list[int]] = defaultdict(list)
    for gid, member in rows(
        "SELECT m.group_id, m.member FROM group_members m JOIN agency_groups g"
        " ON g.id = m.group_id WHERE g.agency_id = ? ORDER BY m.group_id",
        (agency_id,),
    ):
        parents[member].append(gid)
    role_parent = {
        rid: parent
        for rid, parent in rows("SELECT id, parent_id FROM roles WHERE agency_id = ?", (agency_id,))
    }
    location_shares: dict[int, bool] = {}
    for lid, shares, views in rows(
        "SELECT l.id, t.shares_cases, t.view_descendants FROM locations l"
        " JOIN location_types t ON t.id = l.type_id WHERE l.agency_id = ?",
        (agency_id,),
    ):
        location_shares[lid] = bool(shares)
        has_users = any(lid in u.locations for u in users.values())
        # every peer models a location's members as the users assigned to it: the world
        # assigns users to clinics only, whose type does not view descendants (S-OWN-1)
        assert not (views and has_users), "a user holds view_descendants: not modelled here"
    cases = [
        Case(pk, case_id, case_type, owner, json.loads(props), smo)
        for pk, case_id, case_type, owner, props, smo in rows(
            "SELECT pk, case_id, case_type, owner, properties, server_modified_on FROM cases"
            " WHERE agency_id = ? AND deleted = 0 ORDER BY server_modified_on, pk",
            (agency_id,),
        )
    ]
    grants = []
    for case_pk, cause, grantee, level, team_role in rows(
        "SELECT g.case_pk, g.cause, g.grantee, g.level, g.team_role_id FROM grants g"
        " WHERE g.agency_id = ? AND g.is_deleted = 0 ORDER BY g.id",
        (agency_id,),
    ):
        lvl = Level(level)
        if cause == "team":
            role = ctx.team_roles.get(team_role)
            lvl = role.level if role is not None else Level.NONE
        if lvl > Level.NONE:
            grants.append(Grant(case_pk, cause, grantee, lvl))
    rules = [
        Rule(
            kind,
            owner_in,
            json.loads(crit) if isinstance(crit, str) else crit,
            grantee,
            Level(level),
        )
        for kind, owner_in, crit, grantee, level in rows(
            "SELECT kind, owner_in, criteria, grantee, level FROM rules"
            " WHERE agency_id = ? AND active = 1 ORDER BY id",
            (agency_id,),
        )
    ]
    settings = ctx.settings
    assert settings.hierarchy_access == ("hierarchy" in features)
    assert settings.edit_policy == "access", "edit_policy caps are not modelled by any peer"
    n_indices = rows(
        "SELECT count(*) FROM case_indices i JOIN cases c ON c.pk = i.case_pk"
        " WHERE c.agency_id = ?",
        (agency_id,),
    )[0][0]
    assert ("implicit" in features) == (n_indices > 0)
    return World(
        agency_id,
        slug,
        features,
        users,
        sorted(users),
        groups,
        dict(parents),
        role_parent,
        location_shares,
        cases,
        grants,
        rules,
        {k: v for k, v in settings.to_dict()["default_access"].items()},
    )
