"""Agencies, people and structure in the store, and loading an agency's decision context."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from caseshare.core.directory import Directory
from caseshare.core.engine import AgencyContext
from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Level
from caseshare.core.model import Group, Location, LocationType, Role, TeamRole, User
from caseshare.core.principals import Principal
from caseshare.core.rules import Rule, criteria_to_data, parse_criteria
from caseshare.core.settings import Settings
from caseshare.store.base import Connection, dumps, loads
from caseshare.store.dialect import SQLITE

CHANGE_LOG_KEPT = 1000
_USER_FIELDS = (
    "id",
    "agency_id",
    "username",
    "email",
    "full_name",
    "active",
    "role_id",
    "permissions",
)
_USER_COLS = ", ".join(_USER_FIELDS)


def user_columns(alias: str) -> str:
    """The columns ``user_from_row`` reads, of the users table under ``alias``."""
    return ", ".join(f"{alias}.{c}" for c in _USER_FIELDS)


def user_from_row(row: Sequence[Any]) -> User:
    perms = frozenset(p for p in (row[7] or "").split(",") if p)
    return User(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], perms)


def _rule(row: tuple[Any, ...]) -> Rule:
    criteria = loads(row[5])
    return Rule(
        id=row[0],
        agency_id=row[1],
        name=row[2],
        kind=row[3],
        owner_in=Principal.parse(row[4]) if row[4] else None,
        criteria=parse_criteria(criteria) if criteria else None,
        grantee=Principal.parse(row[6]),
        level=Level(row[7]),
        active=bool(row[8]),
    )


class StructureStore(Connection):
    """Repository for agencies, users, groups, locations, roles, team roles and rules."""

    # -- agencies -----------------------------------------------------------------------------

    def create_agency(self, slug: str, name: str, settings: Settings) -> int:
        return self.insert(
            f"INSERT INTO agencies (slug, name, settings) VALUES (?, ?, {self.dialect.json_param()})",
            (slug, name, dumps(settings.to_dict())),
        )

    def agency(self, agency_id: int) -> tuple[int, str, str, Settings]:
        row = self.row("SELECT id, slug, name, settings FROM agencies WHERE id = ?", (agency_id,))
        if row is None:
            raise CaseShareError("not_found", f"Agency {agency_id} was not found.")
        return row[0], row[1], row[2], Settings.from_dict(loads(row[3]))

    def agency_by_slug(self, slug: str) -> int | None:
        if "\x00" in slug:  # no slug holds one, and PostgreSQL cannot compare text with one
            return None
        found = self.value("SELECT id FROM agencies WHERE slug = ?", (slug,))
        return None if found is None else int(found)

    def agencies(self) -> list[tuple[int, str, str]]:
        return [
            (r[0], r[1], r[2]) for r in self.rows("SELECT id, slug, name FROM agencies ORDER BY id")
        ]

    def set_settings(self, agency_id: int, settings: Settings) -> None:
        self.execute(
            f"UPDATE agencies SET settings = {self.dialect.json_param()} WHERE id = ?",
            (dumps(settings.to_dict()), agency_id),
        )
        self.bump(agency_id, "settings")

    def bump(self, agency_id: int, kind: str = "all", ref: int | None = None) -> None:
        """Mark the agency's decision context as changed (same transaction as the change), and
        log what changed (``kind``: user, group, location, location_type, role, team_role,
        rule, settings or all; ``ref``: the row's id), so that every process patches its
        context instead of reloading it (``services.ContextCache``).

        The new version is random, never the old one plus one: a version read inside a
        transaction that later rolls back can then never match a version committed afterwards,
        so no cache can serve a rolled-back context. ``change_seq`` counts the changes; it is
        taken under the agency row's lock, so the log has no holes and follows commit order.
        """
        seq = int(
            self.value(
                "UPDATE agencies SET version = ?, change_seq = change_seq + 1 WHERE id = ?"
                " RETURNING change_seq",
                (secrets.randbits(62), agency_id),
            )
        )
        self.execute(
            "INSERT INTO context_changes (agency_id, seq, kind, ref) VALUES (?, ?, ?, ?)",
            (agency_id, seq, kind, ref),
        )
        if seq % 100 == 0:  # keep the newest CHANGE_LOG_KEPT; an older cache reloads whole
            self.execute(
                "DELETE FROM context_changes WHERE agency_id = ? AND seq <= ?",
                (agency_id, seq - CHANGE_LOG_KEPT),
            )
        if self.in_transaction:
            self.changed_agencies.add(agency_id)

    def agency_state(self, agency_id: int) -> tuple[int, int]:
        """The agency's version and change count, in one indexed read."""
        found = self.row(
            "SELECT version, change_seq FROM agencies WHERE id = ?", (agency_id,), hot=True
        )
        if found is None:
            raise CaseShareError("not_found", f"Agency {agency_id} was not found.")
        return int(found[0]), int(found[1])

    def agency_state_and_stamp(
        self, agency_id: int
    ) -> tuple[tuple[int, int], tuple[Any, ...] | None]:
        """``agency_state`` and, on PostgreSQL outside a transaction, a ``list_stamp`` taken
        in the same statement (a list page's first two reads in one round trip); else the
        state alone and None (the page then takes its own stamp)."""
        if self.dialect is SQLITE or self.in_transaction:
            return self.agency_state(agency_id), None
        found = self.row(
            "SELECT version, change_seq, pg_current_snapshot()::text FROM agencies WHERE id = ?",
            (agency_id,),
            hot=True,
        )
        if found is None:
            raise CaseShareError("not_found", f"Agency {agency_id} was not found.")
        return (int(found[0]), int(found[1])), (self.url, found[2])

    def context_changes(self, agency_id: int, after: int, upto: int) -> list[tuple[str, int]]:
        """The logged changes ``after < seq <= upto``, in order; a pruned log returns fewer."""
        return [
            (r[0], r[1])
            for r in self.rows(
                "SELECT kind, ref FROM context_changes WHERE agency_id = ? AND seq > ?"
                " AND seq <= ? ORDER BY seq",
                (agency_id, after, upto),
            )
        ]

    def agency_version(self, agency_id: int) -> int:
        found = self.value("SELECT version FROM agencies WHERE id = ?", (agency_id,))
        if found is None:
            raise CaseShareError("not_found", f"Agency {agency_id} was not found.")
        return int(found)

    # -- users ----------------------------------------------------------------------------------

    def create_user(
        self,
        agency_id: int,
        username: str,
        *,
        email: str = "",
        full_name: str = "",
        active: bool = True,
        role_id: int | None = None,
        permissions: frozenset[str] = frozenset(),
    ) -> int:
        user_id = self.insert(
            "INSERT INTO users (agency_id, username, email, full_name, active, role_id, permissions)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                agency_id,
                username,
                email,
                full_name,
                int(active),
                role_id,
                ",".join(sorted(permissions)),
            ),
        )
        self.bump(agency_id, "user", user_id)
        return user_id

    def user(self, user_id: int) -> User:
        row = self.row(f"SELECT {_USER_COLS} FROM users WHERE id = ?", (user_id,), hot=True)
        if row is None:
            raise CaseShareError("not_found", f"User {user_id} was not found.")
        return user_from_row(row)

    def user_by_name(self, agency_id: int, username: str) -> User | None:
        if "\x00" in username:  # as agency_by_slug: no user name holds one
            return None
        row = self.row(
            f"SELECT {_USER_COLS} FROM users WHERE agency_id = ? AND username = ?",
            (agency_id, username),
        )
        return None if row is None else user_from_row(row)

    def update_user(self, user: User) -> None:
        self.execute(
            "UPDATE users SET email = ?, full_name = ?, active = ?, role_id = ?, permissions = ?"
            " WHERE id = ?",
            (
                user.email,
                user.full_name,
                int(user.active),
                user.role_id,
                ",".join(sorted(user.permissions)),
                user.id,
            ),
        )
        self.bump(user.agency_id, "user", user.id)

    def set_user_locations(self, user_id: int, agency_id: int, location_ids: list[int]) -> None:
        self.execute("DELETE FROM user_locations WHERE user_id = ?", (user_id,))
        for loc in location_ids:
            self.execute(
                "INSERT INTO user_locations (user_id, location_id) VALUES (?, ?)", (user_id, loc)
            )
        self.bump(agency_id, "user", user_id)

    # -- groups, locations, roles ------------------------------------------------------------------

    def create_group(self, agency_id: int, name: str, case_sharing: bool, kind: str) -> int:
        group_id = self.insert(
            "INSERT INTO agency_groups (agency_id, name, case_sharing, kind) VALUES (?, ?, ?, ?)",
            (agency_id, name, int(case_sharing), kind),
        )
        self.bump(agency_id, "group", group_id)
        return group_id

    def add_member(self, agency_id: int, group_id: int, member: Principal) -> bool:
        exists = self.value(
            "SELECT 1 FROM group_members WHERE group_id = ? AND member = ?", (group_id, str(member))
        )
        if exists:
            return False
        self.execute(
            "INSERT INTO group_members (group_id, member) VALUES (?, ?)", (group_id, str(member))
        )
        self.bump(agency_id, "group", group_id)
        return True

    def belongs(self, table: str, row_id: int, agency_id: int) -> bool:
        """Whether a row of an agency-owned table exists and belongs to the agency."""
        assert table in (
            "users",
            "agency_groups",
            "locations",
            "location_types",
            "roles",
            "team_roles",
            "rules",
        )
        found = self.value(f"SELECT agency_id FROM {table} WHERE id = ?", (row_id,))
        return found is not None and int(found) == agency_id

    def team_role_named(self, agency_id: int, name: str) -> int | None:
        found = self.value(
            "SELECT id FROM team_roles WHERE agency_id = ? AND name = ?", (agency_id, name)
        )
        return None if found is None else int(found)

    def group_contains(self, outer: int, inner: int) -> bool:
        """Whether group ``inner`` is ``outer`` or nested in it at any depth."""
        if outer == inner:
            return True
        found = self.value(
            "WITH RECURSIVE inside(id) AS (SELECT CAST(? AS BIGINT)"
            " UNION SELECT CAST(substr(m.member, 7) AS BIGINT) FROM group_members m"
            " JOIN inside ON m.group_id = inside.id WHERE m.member LIKE 'group:%')"
            " SELECT 1 FROM inside WHERE id = ? LIMIT 1",
            (outer, inner),
        )
        return found is not None

    def remove_member(self, agency_id: int, group_id: int, member: Principal) -> bool:
        cur = self.execute(
            "DELETE FROM group_members WHERE group_id = ? AND member = ?", (group_id, str(member))
        )
        self.bump(agency_id, "group", group_id)
        return bool(cur.rowcount)

    def create_location_type(
        self, agency_id: int, name: str, shares_cases: bool, view_descendants: bool
    ) -> int:
        type_id = self.insert(
            "INSERT INTO location_types (agency_id, name, shares_cases, view_descendants)"
            " VALUES (?, ?, ?, ?)",
            (agency_id, name, int(shares_cases), int(view_descendants)),
        )
        self.bump(agency_id, "location_type", type_id)
        return type_id

    def create_location(
        self, agency_id: int, name: str, type_id: int, parent_id: int | None, archived: bool
    ) -> int:
        loc_id = self.insert(
            "INSERT INTO locations (agency_id, name, type_id, parent_id, archived)"
            " VALUES (?, ?, ?, ?, ?)",
            (agency_id, name, type_id, parent_id, int(archived)),
        )
        self.bump(agency_id, "location", loc_id)
        return loc_id

    def set_location_archived(self, agency_id: int, loc_id: int, archived: bool) -> None:
        self.execute("UPDATE locations SET archived = ? WHERE id = ?", (int(archived), loc_id))
        self.bump(agency_id, "location", loc_id)

    def create_role(self, agency_id: int, name: str, parent_id: int | None) -> int:
        role_id = self.insert(
            "INSERT INTO roles (agency_id, name, parent_id) VALUES (?, ?, ?)",
            (agency_id, name, parent_id),
        )
        self.bump(agency_id, "role", role_id)
        return role_id

    def set_role_parent(self, agency_id: int, role_id: int, parent_id: int | None) -> None:
        self.execute("UPDATE roles SET parent_id = ? WHERE id = ?", (parent_id, role_id))
        self.bump(agency_id, "role", role_id)

    def update_group(
        self, agency_id: int, group_id: int, name: str, case_sharing: bool, kind: str
    ) -> None:
        self.execute(
            "UPDATE agency_groups SET name = ?, case_sharing = ?, kind = ? WHERE id = ?",
            (name, int(case_sharing), kind, group_id),
        )
        self.bump(agency_id, "group", group_id)

    def update_location_type(
        self, agency_id: int, type_id: int, name: str, shares_cases: bool, view_descendants: bool
    ) -> None:
        self.execute(
            "UPDATE location_types SET name = ?, shares_cases = ?, view_descendants = ?"
            " WHERE id = ?",
            (name, int(shares_cases), int(view_descendants), type_id),
        )
        self.bump(agency_id, "location_type", type_id)

    def update_location(
        self, agency_id: int, loc_id: int, name: str, parent_id: int | None
    ) -> None:
        self.execute(
            "UPDATE locations SET name = ?, parent_id = ? WHERE id = ?", (name, parent_id, loc_id)
        )
        self.bump(agency_id, "location", loc_id)

    def update_role(self, agency_id: int, role_id: int, name: str, parent_id: int | None) -> None:
        self.execute(
            "UPDATE roles SET name = ?, parent_id = ? WHERE id = ?", (name, parent_id, role_id)
        )
        self.bump(agency_id, "role", role_id)

    def owned_case_count(self, agency_id: int, owner: Principal) -> int:
        """How many cases (not in the recycle bin) the principal owns."""
        return int(
            self.value(
                "SELECT count(*) FROM cases WHERE agency_id = ? AND owner = ? AND deleted = 0",
                (agency_id, str(owner)),
            )
        )

    # -- team roles and rules ---------------------------------------------------------------------

    def create_team_role(self, agency_id: int, name: str, level: Level) -> int:
        role_id = self.insert(
            "INSERT INTO team_roles (agency_id, name, level) VALUES (?, ?, ?)",
            (agency_id, name, int(level)),
        )
        self.bump(agency_id, "team_role", role_id)
        return role_id

    def set_team_role_level(self, agency_id: int, role_id: int, level: Level) -> None:
        self.execute("UPDATE team_roles SET level = ? WHERE id = ?", (int(level), role_id))
        self.bump(agency_id, "team_role", role_id)

    def delete_team_role(self, agency_id: int, role_id: int) -> None:
        self.execute("DELETE FROM team_roles WHERE id = ?", (role_id,))
        self.bump(agency_id, "team_role", role_id)

    def lock_structure(self, agency_id: int) -> None:
        """Until the transaction ends, be the only one changing the agency's structure where
        a check reads what another change may write: the rules counted for S-RULE-1's limits,
        the role, location and group hierarchies checked for cycles. The agency's row, locked
        as ``bump`` locks it (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises every writer
        already); what is read after it includes every change committed before. ``FOR NO KEY
        UPDATE``: the lock ``bump``'s UPDATE takes, which rows inserted meanwhile that refer to
        the agency (a form's) do not wait for."""
        if self.is_postgres:
            self.execute("SELECT id FROM agencies WHERE id = ? FOR NO KEY UPDATE", (agency_id,))

    def lock_holder(self, table: str, row_id: int) -> None:
        """Until the transaction ends, be the only one adding to what one row holds under a
        limit (a user's favourites and saved filters, a target's identifiers), so that what is
        counted stays what there is, or changing the row from what was read of it (a target's
        kind or name): that row, locked (PostgreSQL; SQLite's BEGIN IMMEDIATE
        serialises every writer already)."""
        if self.is_postgres:
            assert table in ("users", "targets"), table
            self.execute(f"SELECT id FROM {table} WHERE id = ? FOR NO KEY UPDATE", (row_id,))

    def team_role_in_use(self, role_id: int) -> int:
        return int(
            self.value(
                "SELECT count(*) FROM grants WHERE team_role_id = ? AND cause = 'team'", (role_id,)
            )
        )

    def create_rule(self, rule: Rule) -> int:
        rule_id = self.insert(
            "INSERT INTO rules (agency_id, name, kind, owner_in, criteria, grantee, level, active)"
            f" VALUES (?, ?, ?, ?, {self.dialect.json_param()}, ?, ?, ?)",
            (
                rule.agency_id,
                rule.name,
                rule.kind,
                str(rule.owner_in) if rule.owner_in else None,
                dumps(criteria_to_data(rule.criteria)) if rule.criteria else None,
                str(rule.grantee),
                int(rule.level),
                int(rule.active),
            ),
        )
        self.bump(rule.agency_id, "rule", rule_id)
        return rule_id

    def update_rule(self, rule: Rule) -> None:
        """Everything of a rule but its kind and agency."""
        self.execute(
            "UPDATE rules SET name = ?, owner_in = ?, criteria ="
            f" {self.dialect.json_param()}, grantee = ?, level = ?, active = ? WHERE id = ?",
            (
                rule.name,
                str(rule.owner_in) if rule.owner_in else None,
                dumps(criteria_to_data(rule.criteria)) if rule.criteria else None,
                str(rule.grantee),
                int(rule.level),
                int(rule.active),
                rule.id,
            ),
        )
        self.bump(rule.agency_id, "rule", rule.id)

    def set_rule_active(self, agency_id: int, rule_id: int, active: bool) -> None:
        self.execute("UPDATE rules SET active = ? WHERE id = ?", (int(active), rule_id))
        self.bump(agency_id, "rule", rule_id)

    def delete_rule(self, agency_id: int, rule_id: int) -> None:
        self.execute("DELETE FROM rules WHERE id = ?", (rule_id,))
        self.bump(agency_id, "rule", rule_id)

    def rules(self, agency_id: int) -> list[Rule]:
        return [
            _rule(r)
            for r in self.rows(
                "SELECT id, agency_id, name, kind, owner_in, criteria, grantee, level, active"
                " FROM rules WHERE agency_id = ? ORDER BY id",
                (agency_id,),
            )
        ]

    # -- the decision context ---------------------------------------------------------------------

    def load_context(self, agency_id: int) -> AgencyContext:
        """Read everything agency-wide a decision needs, at one version (without waiting for a
        writer: a long write must not hold up every decision)."""
        with self.snapshot():
            version, change_seq = self.agency_state(agency_id)
            _, _, _, settings = self.agency(agency_id)
            a = (agency_id,)
            users = [
                user_from_row(r)
                for r in self.rows(f"SELECT {_USER_COLS} FROM users WHERE agency_id = ?", a)
            ]
            groups = [
                Group(r[0], agency_id, r[1], bool(r[2]), r[3])
                for r in self.rows(
                    "SELECT id, name, case_sharing, kind FROM agency_groups WHERE agency_id = ?", a
                )
            ]
            members = [
                (r[0], Principal.parse(r[1]))
                for r in self.rows(
                    "SELECT m.group_id, m.member FROM group_members m"
                    " JOIN agency_groups g ON g.id = m.group_id WHERE g.agency_id = ?"
                    " ORDER BY m.group_id, m.member",
                    a,
                )
            ]
            types = [
                LocationType(r[0], agency_id, r[1], bool(r[2]), bool(r[3]))
                for r in self.rows(
                    "SELECT id, name, shares_cases, view_descendants FROM location_types"
                    " WHERE agency_id = ?",
                    a,
                )
            ]
            locations = [
                Location(r[0], agency_id, r[1], r[2], r[3], bool(r[4]))
                for r in self.rows(
                    "SELECT id, name, type_id, parent_id, archived FROM locations"
                    " WHERE agency_id = ?",
                    a,
                )
            ]
            user_locations = [
                (r[0], r[1])
                for r in self.rows(
                    "SELECT ul.user_id, ul.location_id FROM user_locations ul"
                    " JOIN users u ON u.id = ul.user_id WHERE u.agency_id = ?"
                    " ORDER BY ul.user_id, ul.location_id",
                    a,
                )
            ]
            roles = [
                Role(r[0], agency_id, r[1], r[2])
                for r in self.rows("SELECT id, name, parent_id FROM roles WHERE agency_id = ?", a)
            ]
            team_roles = {
                r[0]: TeamRole(r[0], agency_id, r[1], Level(r[2]))
                for r in self.rows("SELECT id, name, level FROM team_roles WHERE agency_id = ?", a)
            }
            rules = tuple(self.rules(agency_id))
        directory = Directory(
            users=users,
            groups=groups,
            group_members=members,
            location_types=types,
            locations=locations,
            user_locations=user_locations,
            roles=roles,
        )
        return AgencyContext(agency_id, settings, directory, rules, team_roles, version, change_seq)

    def patch_context(self, ctx: AgencyContext, version: int, seq: int) -> AgencyContext | None:
        """``ctx`` brought up to the agency's state at ``version`` and change count ``seq`` (as
        just read by ``agency_state``) from the change log: the rows the logged changes name are
        read again (a few indexed reads) and patched in. None when the log cannot say (pruned
        past ``ctx``, a change of everything, a row gone that is never deleted): the caller
        loads the agency whole.

        No snapshot is needed: the rows read again are at least as new as ``seq``, and a
        change committed meanwhile moves the version, so the next use patches it in again."""
        if seq <= ctx.change_seq:
            return ctx if version == ctx.version else None
        changes = self.context_changes(ctx.agency_id, ctx.change_seq, seq)
        if len(changes) != seq - ctx.change_seq:
            return None
        refs: dict[str, set[int]] = {}
        for kind, ref in changes:
            if kind == "all" or (ref is None and kind != "settings"):
                return None
            refs.setdefault(kind, set()).add(ref)
        return self._patch(ctx, refs, version, seq)

    def _patch(
        self, ctx: AgencyContext, refs: dict[str, set[int]], version: int, seq: int
    ) -> AgencyContext | None:
        a = ctx.agency_id

        def fetch(kind: str, sql: str) -> list[Any]:
            ids = sorted(refs.get(kind, ()))
            if not ids:
                return []
            where, params = self.dialect.in_list("id", ids)
            return self.rows(f"{sql} WHERE agency_id = ? AND {where}", (a, *params))

        user_ids = sorted(refs.get("user", ()))
        users: dict[int, User | None] = {i: None for i in user_ids}
        users.update(
            (r[0], user_from_row(r)) for r in fetch("user", f"SELECT {_USER_COLS} FROM users")
        )
        user_locations: dict[int, list[int]] = {i: [] for i in user_ids}
        if user_ids:
            where, params = self.dialect.in_list("user_id", user_ids)
            for user_id, loc_id in self.rows(
                f"SELECT user_id, location_id FROM user_locations WHERE {where}"
                " ORDER BY user_id, location_id",
                params,
            ):
                user_locations[user_id].append(loc_id)
        group_ids = sorted(refs.get("group", ()))
        groups: dict[int, Group | None] = {i: None for i in group_ids}
        groups.update(
            (r[0], Group(r[0], a, r[1], bool(r[2]), r[3]))
            for r in fetch("group", "SELECT id, name, case_sharing, kind FROM agency_groups")
        )
        members: dict[int, list[Principal]] = {i: [] for i in group_ids}
        if group_ids:
            where, params = self.dialect.in_list("group_id", group_ids)
            for group_id, member in self.rows(
                f"SELECT group_id, member FROM group_members WHERE {where}"
                " ORDER BY group_id, member",
                params,
            ):
                members[group_id].append(Principal.parse(member))
        types: dict[int, LocationType | None] = dict.fromkeys(refs.get("location_type", ()))
        types.update(
            (r[0], LocationType(r[0], a, r[1], bool(r[2]), bool(r[3])))
            for r in fetch(
                "location_type",
                "SELECT id, name, shares_cases, view_descendants FROM location_types",
            )
        )
        locations: dict[int, Location | None] = dict.fromkeys(refs.get("location", ()))
        locations.update(
            (r[0], Location(r[0], a, r[1], r[2], r[3], bool(r[4])))
            for r in fetch(
                "location", "SELECT id, name, type_id, parent_id, archived FROM locations"
            )
        )
        roles: dict[int, Role | None] = dict.fromkeys(refs.get("role", ()))
        roles.update(
            (r[0], Role(r[0], a, r[1], r[2]))
            for r in fetch("role", "SELECT id, name, parent_id FROM roles")
        )
        # users, groups, locations and roles are never deleted: a missing one is a surprise
        if None in (*users.values(), *groups.values(), *types.values(), *locations.values()):
            return None
        if None in roles.values():
            return None
        team_roles: dict[int, TeamRole | None] = dict.fromkeys(refs.get("team_role", ()))
        team_roles.update(
            (r[0], TeamRole(r[0], a, r[1], Level(r[2])))
            for r in fetch("team_role", "SELECT id, name, level FROM team_roles")
        )
        rules: dict[int, Rule | None] = dict.fromkeys(refs.get("rule", ()))
        rules.update(
            (r[0], _rule(r))
            for r in fetch(
                "rule",
                "SELECT id, agency_id, name, kind, owner_in, criteria, grantee, level, active"
                " FROM rules",
            )
        )
        settings = self.agency(a)[3] if "settings" in refs else None
        structural = ("user", "group", "location_type", "location", "role")
        if not any(kind in refs for kind in structural):  # rules, team roles, settings only
            return ctx.patched(
                ctx.directory,
                version=version,
                change_seq=seq,
                settings=settings,
                rules=rules,
                team_roles=team_roles,
            )
        directory = ctx.directory.patched(
            users=users,
            user_locations=user_locations,
            groups=groups,
            group_members=members,
            location_types=types,
            locations=locations,
            roles=roles,
        )
        return ctx.patched(
            directory,
            version=version,
            change_seq=seq,
            settings=settings,
            rules=rules,
            team_roles=team_roles,
        )

    # -- reads for the directory API ----------------------------------------------------------------

    def group_members(self, group_id: int) -> list[Principal]:
        """A group's direct members (users and groups), in the order they were added."""
        return [
            Principal.parse(r[0])
            for r in self.rows(
                "SELECT member FROM group_members WHERE group_id = ? ORDER BY member", (group_id,)
            )
        ]

    def groups_with_member(self, agency_id: int, member: Principal) -> list[int]:
        """The groups of the agency that hold ``member`` directly."""
        return [
            int(r[0])
            for r in self.rows(
                "SELECT m.group_id FROM group_members m JOIN agency_groups g ON g.id = m.group_id"
                " WHERE g.agency_id = ? AND m.member = ? ORDER BY m.group_id",
                (agency_id, str(member)),
            )
        ]

    def user_locations(self, agency_id: int) -> dict[int, list[int]]:
        """Each user of the agency with the locations assigned to them (users with none left out)."""
        out: dict[int, list[int]] = {}
        for user_id, loc_id in self.rows(
            "SELECT ul.user_id, ul.location_id FROM user_locations ul"
            " JOIN users u ON u.id = ul.user_id WHERE u.agency_id = ?"
            " ORDER BY ul.user_id, ul.location_id",
            (agency_id,),
        ):
            out.setdefault(int(user_id), []).append(int(loc_id))
        return out
