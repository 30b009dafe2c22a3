"""Small in-memory worlds for the pure core tests: dataclasses only, no store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from caseshare.core.directory import Directory
from caseshare.core.engine import AgencyContext
from caseshare.core.levels import Cause, Level
from caseshare.core.model import (
    CaseFacts,
    Group,
    Location,
    LocationType,
    Role,
    StoredGrant,
    TeamRole,
    User,
)
from caseshare.core.principals import Principal
from caseshare.core.rules import Rule
from caseshare.core.settings import Settings

AGENCY = 1
OTHER_AGENCY = 2


def P(text: str) -> Principal:
    return Principal.parse(text)


def user(
    uid: int,
    *,
    agency: int = AGENCY,
    role: int | None = None,
    active: bool = True,
    perms: Iterable[str] = (),
    name: str = "",
) -> User:
    return User(
        uid,
        agency,
        name or f"u{uid}",
        f"u{uid}@example.org",
        name or f"User {uid}",
        active,
        role,
        frozenset(perms),
    )


def directory(
    users: Iterable[User] = (),
    *,
    groups: Iterable[tuple[int, bool]] = (),
    members: Iterable[tuple[int, str]] = (),
    location_types: Iterable[tuple[int, bool, bool]] = (),
    locations: Iterable[tuple[int, int, int | None, bool]] = (),
    user_locations: Iterable[tuple[int, int]] = (),
    roles: Iterable[tuple[int, int | None]] = (),
    agency: int = AGENCY,
) -> Directory:
    """groups: (id, case_sharing); members: (group id, "user:5"); location_types: (id, shares,
    view_descendants); locations: (id, type, parent, archived); roles: (id, parent)."""
    return Directory(
        users=list(users),
        groups=[Group(gid, agency, f"g{gid}", cs) for gid, cs in groups],
        group_members=[(gid, P(m)) for gid, m in members],
        location_types=[
            LocationType(tid, agency, f"t{tid}", shares, view)
            for tid, shares, view in location_types
        ],
        locations=[
            Location(lid, agency, f"l{lid}", tid, parent, archived)
            for lid, tid, parent, archived in locations
        ],
        user_locations=list(user_locations),
        roles=[Role(rid, agency, f"r{rid}", parent) for rid, parent in roles],
    )


def context(
    d: Directory,
    *,
    settings: Mapping[str, Any] | None = None,
    rules: Iterable[Rule] = (),
    team_roles: Iterable[tuple[int, Level]] = (),
    agency: int = AGENCY,
) -> AgencyContext:
    return AgencyContext(
        agency,
        Settings.from_dict(settings),
        d,
        tuple(rules),
        {rid: TeamRole(rid, agency, f"team{rid}", lvl) for rid, lvl in team_roles},
    )


_grant_ids = iter(range(1, 10**9))


def grant(
    cause: Cause, grantee: str, level: Level = Level.FULL, *, team_role: int | None = None
) -> StoredGrant:
    return StoredGrant(next(_grant_ids), 0, cause, P(grantee), level, team_role)


def manual(grantee: str, level: Level) -> StoredGrant:
    return grant(Cause.MANUAL, grantee, level)


def assigned(grantee: str) -> StoredGrant:
    return grant(Cause.ASSIGNED, grantee, Level.FULL)


def team(grantee: str, role: int) -> StoredGrant:
    return grant(Cause.TEAM, grantee, Level.NONE, team_role=role)


def case(
    pk: int,
    owner: str,
    *,
    case_type: str = "patient",
    name: str = "",
    agency: int = AGENCY,
    grants: Iterable[StoredGrant] = (),
    properties: Mapping[str, str] | None = None,
    parents: Iterable[CaseFacts] = (),
    children: Iterable[CaseFacts] = (),
    deleted: bool = False,
) -> CaseFacts:
    return CaseFacts(
        pk=pk,
        agency_id=agency,
        case_id=f"k{pk}",
        case_type=case_type,
        name=name or f"case {pk}",
        owner=P(owner),
        properties=dict(properties or {}),
        deleted=deleted,
        grants=tuple(grants),
        parents=tuple(parents),
        children=tuple(children),
    )
