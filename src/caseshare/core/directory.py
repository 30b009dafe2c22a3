"""An agency's people and structure in memory: membership (S-OWN-2) and owner ids (S-OWN-1)."""

from __future__ import annotations

import re
from bisect import insort
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TypeVar

from caseshare.core.errors import CaseShareError
from caseshare.core.model import Group, Location, LocationType, Role, User
from caseshare.core.principals import Principal

T = TypeVar("T")
_PRINCIPAL_IN_TEXT = re.compile(r"\b(user|group|location|role_tree|role):(\d+)\b")


class Directory:
    """Read-only view of users, groups, locations and roles; answers who belongs to what.

    Every path string reads from the container down to the user, as in SPEC S-ACC-6:
    ``group:7 → group:2 ∋ user:5``.
    """

    def __init__(
        self,
        *,
        users: Iterable[User] = (),
        groups: Iterable[Group] = (),
        group_members: Iterable[tuple[int, Principal]] = (),
        location_types: Iterable[LocationType] = (),
        locations: Iterable[Location] = (),
        user_locations: Iterable[tuple[int, int]] = (),
        roles: Iterable[Role] = (),
    ) -> None:
        self.users: dict[int, User] = {u.id: u for u in users}
        self.groups: dict[int, Group] = {g.id: g for g in groups}
        self.location_types: dict[int, LocationType] = {t.id: t for t in location_types}
        self.locations: dict[int, Location] = {loc.id: loc for loc in locations}
        self.roles: dict[int, Role] = {r.id: r for r in roles}
        self._containers: dict[Principal, list[int]] = defaultdict(list)
        self._group_members: dict[int, list[Principal]] = defaultdict(list)
        for group_id, member in group_members:
            self._containers[member].append(group_id)
            self._group_members[group_id].append(member)
        self._user_locations: dict[int, list[int]] = defaultdict(list)
        self._location_users: dict[int, list[int]] = defaultdict(list)
        for user_id, location_id in user_locations:
            self._user_locations[user_id].append(location_id)
            self._location_users[location_id].append(user_id)
        self._location_children: dict[int, list[int]] = defaultdict(list)
        for loc in self.locations.values():
            if loc.parent_id is not None:
                self._location_children[loc.parent_id].append(loc.id)
        self._role_children: dict[int, list[int]] = defaultdict(list)
        for role in self.roles.values():
            if role.parent_id is not None:
                self._role_children[role.parent_id].append(role.id)
        self._users_by_role: dict[int, list[int]] = defaultdict(list)
        for user in self.users.values():
            if user.role_id is not None:
                self._users_by_role[user.role_id].append(user.id)
        self._principals: dict[int, dict[Principal, str]] = {}
        self._owner_ids: dict[int, dict[Principal, str]] = {}
        self._members: dict[Principal, frozenset[int]] = {}
        self._ancestors: dict[int, tuple[int, ...]] = {}
        self._ancestor_sets: dict[int, frozenset[int]] = {}

    def patched(
        self,
        *,
        users: Mapping[int, User | None] | None = None,
        user_locations: Mapping[int, Iterable[int]] | None = None,
        groups: Mapping[int, Group | None] | None = None,
        group_members: Mapping[int, Iterable[Principal]] | None = None,
        location_types: Mapping[int, LocationType | None] | None = None,
        locations: Mapping[int, Location | None] | None = None,
        roles: Mapping[int, Role | None] | None = None,
    ) -> Directory:
        """A new directory with these rows replaced (None: removed), sharing every unchanged
        structure with this one, which stays as it was (other threads may be reading it).

        ``user_locations`` and ``group_members`` give a user's whole location list and a
        group's whole member list. What is derived (memberships, owner ids, members, role
        ancestors) starts afresh and is computed again per user on first use. The result
        equals a directory built from the same rows (lists of groups a member is in stay in
        group id order, as ``StructureStore.load_context`` reads them)."""
        new = Directory.__new__(Directory)
        new.__dict__.update(self.__dict__)
        new._principals, new._owner_ids = {}, {}
        if roles:
            new._ancestors, new._ancestor_sets = {}, {}
        if users:
            new.users = dict(self.users)
            by_role = defaultdict(list, self._users_by_role)
            for user_id, user in users.items():
                old = self.users.get(user_id)
                was = old.role_id if old is not None else None
                now = user.role_id if user is not None else None
                if was != now:
                    if was is not None:
                        by_role[was] = [u for u in by_role[was] if u != user_id]
                    if now is not None:
                        by_role[now] = [*by_role[now], user_id]
                if user is None:
                    new.users.pop(user_id, None)
                else:
                    new.users[user_id] = user
            new._users_by_role = by_role
        if user_locations:
            mine = defaultdict(list, self._user_locations)
            theirs = defaultdict(list, self._location_users)
            for user_id, loc_ids in user_locations.items():
                for loc_id in mine.get(user_id, ()):
                    theirs[loc_id] = [u for u in theirs[loc_id] if u != user_id]
                mine[user_id] = list(loc_ids)
                for loc_id in mine[user_id]:
                    theirs[loc_id] = [*theirs[loc_id], user_id]
            new._user_locations, new._location_users = mine, theirs
        if groups:
            new.groups = dict(self.groups)
            for group_id, group in groups.items():
                if group is None:
                    new.groups.pop(group_id, None)
                else:
                    new.groups[group_id] = group
        if group_members:
            containers = defaultdict(list, self._containers)
            inside = defaultdict(list, self._group_members)
            for group_id, members in group_members.items():
                for member in inside.get(group_id, ()):
                    containers[member] = [g for g in containers[member] if g != group_id]
                inside[group_id] = list(members)
                for member in inside[group_id]:
                    containers[member] = list(containers[member])
                    insort(containers[member], group_id)
            new._containers, new._group_members = containers, inside
        if location_types:
            new.location_types = _replaced(self.location_types, location_types)
        if locations:
            new.locations = _replaced(self.locations, locations)
            new._location_children = _children(self._location_children, self.locations, locations)
        if roles:
            new.roles = _replaced(self.roles, roles)
            new._role_children = _children(self._role_children, self.roles, roles)
        new._members = self._members_kept(
            new,
            set(users or ()) | set(user_locations or ()),
            set(groups or ()) | set(group_members or ()),
            bool(location_types or locations or roles),
        )
        return new

    def _members_kept(
        self, new: Directory, users: set[int], groups: set[int], trees: bool
    ) -> dict[Principal, frozenset[int]]:
        """The member sets (``members_of``) a patch leaves as they were: a big group's members
        are not counted again because someone joined a small team elsewhere."""
        if trees:
            return {}
        dirty: set[int] = set()
        for group_id in groups:
            here = Principal("group", group_id)
            dirty.add(group_id)
            dirty |= self._containing(here) | new._containing(here)
        for user_id in users:
            dirty |= self._containing(Principal("user", user_id))
        kept: dict[Principal, frozenset[int]] = {}
        # list(): other threads may be adding to the old directory's cache as we read it
        for principal, members in list(self._members.items()):
            kind = principal.kind
            if kind == "group":
                if principal.id in dirty:
                    continue
            elif kind == "user":
                if principal.id in users:
                    continue
            elif users:  # a user's role, locations or activity may have moved
                continue
            kept[principal] = members
        return kept

    def _containing(self, member: Principal) -> set[int]:
        """Every group that holds ``member``, at any depth."""
        out: set[int] = set()
        stack = [member]
        while stack:
            for group_id in self._containers.get(stack.pop(), ()):
                if group_id not in out:
                    out.add(group_id)
                    stack.append(Principal("group", group_id))
        return out

    # -- existence -------------------------------------------------------------------------

    def exists(self, principal: Principal) -> bool:
        """Whether the principal names something of this directory (agencies: the caller checks)."""
        kind = principal.kind
        if kind == "agency":
            return True
        if kind == "user":
            return principal.id in self.users
        if kind == "group":
            return principal.id in self.groups
        if kind == "location":
            return principal.id in self.locations
        return kind in ("role", "role_tree") and principal.id in self.roles

    def can_own(self, principal: Principal) -> bool:
        """Only users, case-sharing groups and live locations that share cases own cases."""
        if principal.kind == "user":
            return principal.id in self.users
        if principal.kind == "group":
            group = self.groups.get(principal.id)
            return group is not None and group.case_sharing
        if principal.kind == "location":
            loc = self.locations.get(principal.id)
            return loc is not None and not loc.archived and self._shares(loc)
        return False

    def _shares(self, loc: Location) -> bool:
        kind = self.location_types.get(loc.type_id)
        return kind is not None and kind.shares_cases

    def _views_descendants(self, loc: Location) -> bool:
        kind = self.location_types.get(loc.type_id)
        return kind is not None and kind.view_descendants

    # -- a user's side: what the user belongs to ------------------------------------------------

    def principals_of(self, user_id: int) -> Mapping[Principal, str]:
        """Every principal the user is a member of, each with the path that makes it so."""
        cached = self._principals.get(user_id)
        if cached is not None:
            return cached
        user = self.users.get(user_id)
        found: dict[Principal, str] = {}
        if user is not None and user.active:
            me = Principal("user", user_id)
            found[me] = str(me)
            frontier: list[tuple[Principal, str]] = [(me, f"∋ {me}")]
            while frontier:
                member, tail = frontier.pop()
                for group_id in self._containers.get(member, ()):
                    group = Principal("group", group_id)
                    if group not in found:
                        path = f"{group} {tail}" if member == me else f"{group} → {tail}"
                        found[group] = path
                        frontier.append((group, path))
            for loc_id in self._user_locations.get(user_id, ()):
                found.setdefault(Principal("location", loc_id), f"location:{loc_id} ∋ {me}")
            for loc_id in self._user_locations.get(user_id, ()):
                loc = self.locations.get(loc_id)
                if loc is not None and self._views_descendants(loc):
                    for desc in self._descendants(loc_id):
                        if not desc.archived:
                            found.setdefault(
                                Principal("location", desc.id),
                                f"location:{desc.id} ⊂ location:{loc_id} (view descendants) ∋ {me}",
                            )
            if user.role_id is not None and user.role_id in self.roles:
                found[Principal("role", user.role_id)] = f"role:{user.role_id} ∋ {me}"
                for role_id in (user.role_id, *self.role_ancestors(user.role_id)):
                    found[Principal("role_tree", role_id)] = (
                        f"role_tree:{role_id} ⊇ role:{user.role_id} ∋ {me}"
                    )
            found[Principal("agency", user.agency_id)] = f"agency:{user.agency_id} ∋ {me}"
        self._principals[user_id] = found
        return found

    def owner_ids(self, user_id: int) -> Mapping[Principal, str]:
        """S-OWN-1: the ids whose cases the user works and syncs, with their paths."""
        cached = self._owner_ids.get(user_id)
        if cached is None:
            cached = self._owner_ids[user_id] = self._compute_owner_ids(user_id)
        return cached

    def _compute_owner_ids(self, user_id: int) -> dict[Principal, str]:
        found: dict[Principal, str] = {}
        for principal, path in self.principals_of(user_id).items():
            if principal.kind == "user" or (
                principal.kind == "group" and self.groups[principal.id].case_sharing
            ):
                found[principal] = path
        user = self.users.get(user_id)
        if user is None or not user.active:
            return found
        for loc_id in self._user_locations.get(user_id, ()):
            loc = self.locations.get(loc_id)
            if loc is None:
                continue
            if self._shares(loc):
                found.setdefault(
                    Principal("location", loc_id), f"location:{loc_id} ∋ user:{user_id}"
                )
            if self._views_descendants(loc):
                for desc in self._descendants(loc_id):
                    if not desc.archived and self._shares(desc):
                        found.setdefault(
                            Principal("location", desc.id),
                            f"location:{desc.id} ⊂ location:{loc_id} (view descendants)"
                            f" ∋ user:{user_id}",
                        )
        return found

    def case_sharing_owners(self, user_id: int) -> list[Principal]:
        """S-CRT-2/S-CRT-4: the user's case-sharing groups and case-owning locations."""
        return sorted(p for p in self.owner_ids(user_id) if p.kind != "user" and self.can_own(p))

    # -- the other side: who belongs to a principal ---------------------------------------------

    def members_of(self, principal: Principal) -> frozenset[int]:
        """S-OWN-2: the active users who are members of the principal."""
        cached = self._members.get(principal)
        if cached is not None:
            return cached
        ids: set[int] = set()
        kind = principal.kind
        if kind == "user":
            ids.add(principal.id)
        elif kind == "group":
            ids.update(m.id for m in self.nested_members(principal.id) if m.kind == "user")
        elif kind == "location":
            loc = self.locations.get(principal.id)
            ids.update(self._location_users.get(principal.id, ()))
            if loc is not None and not loc.archived:
                parent = loc.parent_id
                while parent is not None and parent in self.locations:
                    ancestor = self.locations[parent]
                    if self._views_descendants(ancestor):
                        ids.update(self._location_users.get(parent, ()))
                    parent = ancestor.parent_id
        elif kind == "role":
            ids.update(self._users_by_role.get(principal.id, ()))
        elif kind == "role_tree":
            for role_id in (principal.id, *self.roles_below(principal.id)):
                ids.update(self._users_by_role.get(role_id, ()))
        elif kind == "agency":
            ids.update(u.id for u in self.users.values() if u.agency_id == principal.id)
        result = frozenset(i for i in ids if i in self.users and self.users[i].active)
        self._members[principal] = result
        return result

    def nested_members(self, group_id: int) -> set[Principal]:
        """Every user and group inside a group, at any depth."""
        seen: set[Principal] = set()
        stack = [group_id]
        while stack:
            for member in self._group_members.get(stack.pop(), ()):
                if member not in seen:
                    seen.add(member)
                    if member.kind == "group":
                        stack.append(member.id)
        return seen

    def owners_within(self, source: Principal) -> frozenset[Principal]:
        """S-RULE-1: owners an owner rule on ``source`` matches — itself, its users, nested groups."""
        found = {source}
        found.update(Principal("user", uid) for uid in self.members_of(source))
        if source.kind == "group":
            found.update(m for m in self.nested_members(source.id) if m.kind == "group")
        return frozenset(found)

    def contains_owner(self, source: Principal, owner: Principal) -> bool:
        if owner == source:
            return True
        if owner.kind == "user":
            return source in self.principals_of(owner.id)
        if owner.kind == "group" and source.kind == "group":
            return Principal("group", owner.id) in self.nested_members(source.id)
        return False

    def group_would_cycle(self, group_id: int, member: Principal) -> bool:
        """Adding ``member`` to the group would make it contain itself."""
        if member.kind != "group":
            return False
        return member.id == group_id or Principal("group", group_id) in self.nested_members(
            member.id
        )

    # -- trees ------------------------------------------------------------------------------------

    def _descendants(self, loc_id: int) -> list[Location]:
        out: list[Location] = []
        stack = list(self._location_children.get(loc_id, ()))
        while stack:
            child = stack.pop()
            if child in self.locations:
                out.append(self.locations[child])
                stack.extend(self._location_children.get(child, ()))
        return out

    def role_ancestors(self, role_id: int) -> tuple[int, ...]:
        """Strict ancestors of a role, nearest first."""
        cached = self._ancestors.get(role_id)
        if cached is None:
            cached = self._ancestors[role_id] = self._compute_ancestors(role_id)
        return cached

    def _compute_ancestors(self, role_id: int) -> tuple[int, ...]:
        out: list[int] = []
        parent = self.roles[role_id].parent_id if role_id in self.roles else None
        while parent is not None and parent in self.roles and parent not in out:
            out.append(parent)
            parent = self.roles[parent].parent_id
        return tuple(out)

    def roles_below(self, role_id: int) -> frozenset[int]:
        """Strict descendants of a role."""
        out: set[int] = set()
        stack = list(self._role_children.get(role_id, ()))
        while stack:
            child = stack.pop()
            if child not in out:
                out.add(child)
                stack.extend(self._role_children.get(child, ()))
        return frozenset(out)

    def has_roles_below(self, role_id: int) -> bool:
        """Whether anyone can stand below this role (leaf roles manage no one)."""
        return bool(self._role_children.get(role_id))

    def is_above(self, manager_role: int | None, role: int | None) -> bool:
        """Whether ``manager_role`` is a strict ancestor of ``role`` in the role tree."""
        if manager_role is None or role is None:
            return False
        ancestors = self._ancestor_sets.get(role)
        if ancestors is None:
            ancestors = self._ancestor_sets[role] = frozenset(self.role_ancestors(role))
        return manager_role in ancestors

    def role_would_cycle(self, role_id: int, parent_id: int | None) -> bool:
        return parent_id is not None and (
            parent_id == role_id or role_id in self.role_ancestors(parent_id)
        )

    def location_would_cycle(self, loc_id: int, parent_id: int | None) -> bool:
        return parent_id is not None and (
            parent_id == loc_id or any(d.id == parent_id for d in self._descendants(loc_id))
        )

    def name_of(self, principal: Principal) -> str | None:
        """A person's word for a principal: a username and full name, a group's name …"""
        kind, key = principal.kind, principal.id
        if kind == "user" and key in self.users:
            user = self.users[key]
            return f"{user.username} ({user.full_name})" if user.full_name else user.username
        if kind == "group" and key in self.groups:
            return self.groups[key].name
        if kind == "location" and key in self.locations:
            return self.locations[key].name
        if kind in ("role", "role_tree") and key in self.roles:
            return self.roles[key].name + (" and below" if kind == "role_tree" else "")
        return None

    def legend(self, *texts: str) -> list[str]:
        """``user:6 = nina (Nina Nurse)`` for every principal the texts mention, in order."""
        seen: dict[Principal, str] = {}
        for text in texts:
            for kind, key in _PRINCIPAL_IN_TEXT.findall(text):
                principal = Principal(kind, int(key))
                name = self.name_of(principal)
                if name is not None and principal not in seen:
                    seen[principal] = f"{principal} = {name}"
        return list(seen.values())

    def user(self, user_id: int) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise CaseShareError("not_found", f"User {user_id} was not found.") from None


def _replaced(rows: dict[int, T], changes: Mapping[int, T | None]) -> dict[int, T]:
    out = dict(rows)
    for key, row in changes.items():
        if row is None:
            out.pop(key, None)
        else:
            out[key] = row
    return out


def _children(
    children: dict[int, list[int]],
    before: Mapping[int, Location | Role],
    changes: Mapping[int, Location | Role | None],
) -> dict[int, list[int]]:
    """A tree's parent → children index after these rows changed."""
    out = defaultdict(list, children)
    for key, row in changes.items():
        old = before.get(key)
        was = old.parent_id if old is not None else None
        now = row.parent_id if row is not None else None
        if was == now:
            continue
        if was is not None:
            out[was] = [c for c in out[was] if c != key]
        if now is not None:
            out[now] = [*out[now], key]
    return out
