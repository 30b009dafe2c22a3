"""Agency administration: people, structure, team roles, rules and settings — all audited."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Level
from caseshare.core.model import PERMISSIONS
from caseshare.core.principals import Principal
from caseshare.core.rules import Criterion, Rule, check_limits
from caseshare.core.settings import Settings
from caseshare.services.base import ServiceBase, actor_name
from caseshare.services.cases import check_text
from caseshare.services.names import check_texts, checked_email, checked_name, checked_username


class AdminService(ServiceBase):
    """Structure changes: each bumps the agency version, so decisions see it at once."""

    def create_agency(
        self,
        slug: str,
        name: str = "",
        settings: dict[str, Any] | None = None,
        actor: int | None = None,
    ) -> int:
        # what neither an address nor PostgreSQL's text can hold (a scenario file may name any)
        check_text("The agency's slug", slug)
        check_text("The agency's name", name)
        with self.store.transaction():
            if self.store.agency_by_slug(slug) is not None:
                raise CaseShareError("validation_error", f"Agency {slug!r} exists already.")
            agency_id = self.store.create_agency(slug, name or slug, Settings.from_dict(settings))
            self.store.record(
                agency_id,
                actor_name(actor),
                "agency.create",
                f"agency:{agency_id}",
                after={"slug": slug, "settings": settings or {}},
            )
        return agency_id

    def update_settings(
        self, agency_id: int, actor: int | None, changes: dict[str, Any]
    ) -> Settings:
        with self.store.transaction():
            # a change of other settings at once waits: it is read here, and kept
            self.store.lock_structure(agency_id)
            self.require_admin(actor, agency_id)
            _, _, _, before = self.store.agency(agency_id)
            after = before.updated(changes)
            self.store.set_settings(agency_id, after)
            self.store.record(
                agency_id,
                actor_name(actor),
                "agency.settings",
                f"agency:{agency_id}",
                before=before.to_dict(),
                after=after.to_dict(),
            )
        return after

    # -- users ----------------------------------------------------------------------------------

    def create_user(
        self,
        agency_id: int,
        actor: int | None,
        username: str,
        *,
        email: str = "",
        full_name: str = "",
        active: bool = True,
        role_id: int | None = None,
        permissions: list[str] | None = None,
        locations: list[int] | None = None,
    ) -> int:
        username = checked_username(username)
        email = checked_email(email)
        check_text("The user's full name", full_name)
        perms = frozenset(permissions or ())
        unknown = perms - set(PERMISSIONS)
        if unknown:
            raise CaseShareError(
                "validation_error",
                f"Unknown permission(s) {', '.join(sorted(unknown))}"
                f" (known: {', '.join(PERMISSIONS)}).",
            )
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            if self.store.user_by_name(agency_id, username) is not None:
                raise CaseShareError("validation_error", f"User {username!r} exists already.")
            ctx = self.context(agency_id)
            if role_id is not None and role_id not in ctx.directory.roles:
                raise CaseShareError("validation_error", f"Role {role_id} is unknown.")
            for loc in locations or ():
                if loc not in ctx.directory.locations:
                    raise CaseShareError("validation_error", f"Location {loc} is unknown.")
            user_id = self.store.create_user(
                agency_id,
                username,
                email=email,
                full_name=full_name,
                active=active,
                role_id=role_id,
                permissions=perms,
            )
            if locations:
                self.store.set_user_locations(user_id, agency_id, list(locations))
            self.store.record(
                agency_id,
                actor_name(actor),
                "user.create",
                f"user:{user_id}",
                after={
                    "username": username,
                    "role": role_id,
                    "permissions": sorted(perms),
                    "locations": locations or [],
                },
            )
        return user_id

    def _change_user(
        self, agency_id: int, actor: int | None, user_id: int, action: str, **changes: Any
    ) -> None:
        with self.store.transaction():
            # two admins taking each other's admin permission (or deactivating each other) at
            # once: the second waits, then is no admin any more; the agency keeps one
            self.store.lock_structure(agency_id)
            self.require_admin(actor, agency_id)
            user = self.store.user(user_id)
            if user.agency_id != agency_id:
                raise CaseShareError("not_found", f"User {user_id} was not found.")
            after = replace(user, **changes)
            self.store.update_user(after)
            self.store.record(
                agency_id,
                actor_name(actor),
                action,
                f"user:{user_id}",
                before={k: _plain(getattr(user, k)) for k in changes},
                after={k: _plain(v) for k, v in changes.items()},
            )

    def set_active(self, agency_id: int, actor: int | None, user_id: int, active: bool) -> None:
        """S-ACC-4: deactivating removes all access at once; reactivating restores it.

        Deactivating also ends the user's browser sessions, so a reactivated user signs in
        again; API tokens are only suspended (a reactivated program keeps working). An admin
        cannot deactivate themselves: another admin must, so an agency is never locked out."""
        if actor == user_id and not active:
            raise CaseShareError(
                "validation_error", "You cannot deactivate yourself; ask another admin."
            )
        with self.store.transaction():
            self._change_user(
                agency_id,
                actor,
                user_id,
                "user.activate" if active else "user.deactivate",
                active=active,
            )
            if not active:
                self.store.delete_user_sessions(user_id)
            else:
                # the admin acts for the user, as a password reset does: attempts spent while
                # inactive (right password or not) no longer lock the name
                name = self.store.user(user_id).username.strip().casefold()
                self.store.clear_signin_failures(agency_id, name)

    def set_role(
        self, agency_id: int, actor: int | None, user_id: int, role_id: int | None
    ) -> None:
        if role_id is not None and role_id not in self.context(agency_id).directory.roles:
            raise CaseShareError("validation_error", f"Role {role_id} is unknown.")
        self._change_user(agency_id, actor, user_id, "user.role", role_id=role_id)

    def set_permissions(
        self, agency_id: int, actor: int | None, user_id: int, permissions: list[str]
    ) -> None:
        perms = frozenset(permissions)
        if perms - set(PERMISSIONS):
            raise CaseShareError("validation_error", f"Permissions are {', '.join(PERMISSIONS)}.")
        if actor == user_id and "admin" not in perms:
            raise CaseShareError(
                "validation_error",
                "You cannot take away your own admin permission; ask another admin.",
            )
        self._change_user(agency_id, actor, user_id, "user.permissions", permissions=perms)

    def set_locations(
        self, agency_id: int, actor: int | None, user_id: int, locations: list[int]
    ) -> None:
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            self._mine("users", user_id, agency_id, "User")
            for loc in locations:  # a referenced id of the body: unknown, not "not found"
                if not self.store.belongs("locations", loc, agency_id):
                    raise CaseShareError("validation_error", f"Location {loc} is unknown.")
            self.store.set_user_locations(user_id, agency_id, locations)
            self.store.record(
                agency_id,
                actor_name(actor),
                "user.locations",
                f"user:{user_id}",
                after={"locations": locations},
            )

    # -- groups, locations, roles -----------------------------------------------------------------------

    def create_group(
        self,
        agency_id: int,
        actor: int | None,
        name: str,
        *,
        case_sharing: bool = False,
        kind: str = "group",
    ) -> int:
        if kind not in ("group", "unit"):
            raise CaseShareError("validation_error", "A group's kind is group or unit.")
        name = checked_name(name, "group")
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            group_id = self.store.create_group(agency_id, name, case_sharing, kind)
            self.store.record(
                agency_id,
                actor_name(actor),
                "group.create",
                f"group:{group_id}",
                after={"name": name, "case_sharing": case_sharing, "kind": kind},
            )
        return group_id

    def add_member(
        self, agency_id: int, actor: int | None, group_id: int, member: Principal
    ) -> bool:
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            # two nestings at once (A in B, B in A) are checked one after the other
            self.store.lock_structure(agency_id)
            if not self.store.belongs("agency_groups", group_id, agency_id):
                raise CaseShareError("validation_error", f"group:{group_id} is unknown.")
            table = {"user": "users", "group": "agency_groups"}.get(member.kind)
            if table is None or not self.store.belongs(table, member.id, agency_id):
                raise CaseShareError(
                    "validation_error", f"{member} is not a user or group of this agency."
                )
            if member.kind == "group" and self.store.group_contains(member.id, group_id):
                raise CaseShareError(
                    "validation_error",
                    f"Adding {member} to group:{group_id} would make a group contain itself.",
                )
            added = self.store.add_member(agency_id, group_id, member)
            if added:
                self.store.record(
                    agency_id,
                    actor_name(actor),
                    "group.member.add",
                    f"group:{group_id}",
                    after={"member": str(member)},
                )
        return added

    def remove_member(
        self, agency_id: int, actor: int | None, group_id: int, member: Principal
    ) -> bool:
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            self._mine("agency_groups", group_id, agency_id, "Group")
            removed = self.store.remove_member(agency_id, group_id, member)
            if removed:
                self.store.record(
                    agency_id,
                    actor_name(actor),
                    "group.member.remove",
                    f"group:{group_id}",
                    before={"member": str(member)},
                )
        return removed

    def create_location_type(
        self,
        agency_id: int,
        actor: int | None,
        name: str,
        *,
        shares_cases: bool = False,
        view_descendants: bool = False,
    ) -> int:
        name = checked_name(name, "location type")
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            type_id = self.store.create_location_type(
                agency_id, name, shares_cases, view_descendants
            )
            self.store.record(
                agency_id,
                actor_name(actor),
                "location_type.create",
                f"location_type:{type_id}",
                after={
                    "name": name,
                    "shares_cases": shares_cases,
                    "view_descendants": view_descendants,
                },
            )
        return type_id

    def create_location(
        self,
        agency_id: int,
        actor: int | None,
        name: str,
        type_id: int,
        *,
        parent_id: int | None = None,
        archived: bool = False,
    ) -> int:
        name = checked_name(name, "location")
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            directory = self.context(agency_id).directory
            if type_id not in directory.location_types:
                raise CaseShareError("validation_error", f"Location type {type_id} is unknown.")
            if parent_id is not None and parent_id not in directory.locations:
                raise CaseShareError("validation_error", f"Location {parent_id} is unknown.")
            loc_id = self.store.create_location(agency_id, name, type_id, parent_id, archived)
            self.store.record(
                agency_id,
                actor_name(actor),
                "location.create",
                f"location:{loc_id}",
                after={"name": name, "parent": parent_id},
            )
        return loc_id

    def set_location_archived(
        self, agency_id: int, actor: int | None, loc_id: int, archived: bool
    ) -> None:
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            self._mine("locations", loc_id, agency_id, "Location")
            self.store.set_location_archived(agency_id, loc_id, archived)
            self.store.record(
                agency_id,
                actor_name(actor),
                "location.archive",
                f"location:{loc_id}",
                after={"archived": archived},
            )

    def create_role(
        self, agency_id: int, actor: int | None, name: str, parent_id: int | None = None
    ) -> int:
        name = checked_name(name, "role")
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            if parent_id is not None and parent_id not in self.context(agency_id).directory.roles:
                raise CaseShareError("validation_error", f"Role {parent_id} is unknown.")
            role_id = self.store.create_role(agency_id, name, parent_id)
            self.store.record(
                agency_id,
                actor_name(actor),
                "role.create",
                f"role:{role_id}",
                after={"name": name, "parent": parent_id},
            )
        return role_id

    # -- team roles (S-TEAM-1) -----------------------------------------------------------------------

    def create_team_role(
        self, agency_id: int, actor: int | None, name: str, level: Level | str
    ) -> int:
        lvl = level if isinstance(level, Level) else Level.parse(level)
        if lvl is Level.FULL:
            raise CaseShareError("invalid_access_level", "A team role gives none, read or edit.")
        name = checked_name(name, "team role")
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            if self.store.team_role_named(agency_id, name) is not None:
                raise CaseShareError("validation_error", f"Team role {name!r} exists already.")
            role_id = self.store.create_team_role(agency_id, name, lvl)
            self.store.record(
                agency_id,
                actor_name(actor),
                "team_role.create",
                f"team_role:{role_id}",
                after={"name": name, "level": lvl.label},
            )
        return role_id

    def set_team_role_level(
        self, agency_id: int, actor: int | None, role_id: int, level: Level | str
    ) -> None:
        lvl = level if isinstance(level, Level) else Level.parse(level)
        if lvl is Level.FULL:
            raise CaseShareError("invalid_access_level", "A team role gives none, read or edit.")
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            self._mine("team_roles", role_id, agency_id, "Team role")
            self.store.set_team_role_level(agency_id, role_id, lvl)
            self.store.record(
                agency_id,
                actor_name(actor),
                "team_role.update",
                f"team_role:{role_id}",
                after={"level": lvl.label},
            )

    def delete_team_role(
        self, agency_id: int, actor: int | None, role_id: int, replacement: int | None = None
    ) -> None:
        """A role in use cannot be deleted, only replaced across all cases (S-TEAM-1)."""
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            self._mine("team_roles", role_id, agency_id, "Team role")
            in_use = self.store.team_role_in_use(role_id)
            if in_use and replacement is None:
                raise CaseShareError(
                    "validation_error",
                    f"Team role {role_id} is used on {in_use} case team(s); name a replacement"
                    " role to move them to first.",
                    {"in_use": in_use},
                )
            if replacement is not None:
                if replacement == role_id:
                    raise CaseShareError(
                        "validation_error",
                        f"Team role {role_id} cannot replace itself; name another role to move"
                        " its case teams to.",
                    )
                if not self.store.belongs("team_roles", replacement, agency_id):
                    raise CaseShareError("validation_error", f"Team role {replacement} is unknown.")
                self.store.replace_team_role(role_id, replacement)
            self.store.delete_team_role(agency_id, role_id)
            self.store.record(
                agency_id,
                actor_name(actor),
                "team_role.delete",
                f"team_role:{role_id}",
                after={"replacement": replacement},
            )

    # -- rules (S-RULE-1) -------------------------------------------------------------------------------

    def add_rule(
        self,
        agency_id: int,
        actor: int | None,
        name: str,
        kind: str,
        grantee: Principal | str,
        level: Level | str,
        *,
        owner_in: Principal | str | None = None,
        criteria: Criterion | None = None,
        active: bool = True,
    ) -> int:
        lvl = level if isinstance(level, Level) else Level.parse(level)
        if lvl not in (Level.READ, Level.EDIT):
            raise CaseShareError("invalid_access_level", "A sharing rule gives read or edit.")
        name = checked_name(name, "rule")
        check_texts("A rule's condition", criteria)
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            ctx = self.context(agency_id)
            who = self.resolve_principal(ctx, grantee)
            source = None
            if kind == "owner":
                if owner_in is None:
                    raise CaseShareError("validation_error", "An owner rule names owner_in.")
                source = self.resolve_principal(ctx, owner_in)
            elif kind == "criteria":
                if criteria is None:
                    raise CaseShareError("validation_error", "A criteria rule needs conditions.")
            else:
                raise CaseShareError("validation_error", "A rule's kind is owner or criteria.")
            self.store.lock_structure(agency_id)  # racing creates count one after the other
            check_limits(self.store.rules(agency_id), kind)
            rule = Rule(
                0,
                agency_id,
                name,
                kind,
                who,
                lvl,
                active,
                source,
                criteria if kind == "criteria" else None,
            )
            rule_id = self.store.create_rule(rule)
            self.store.record(
                agency_id,
                actor_name(actor),
                "rule.create",
                f"rule:{rule_id}",
                after={"name": name, "kind": kind, "grantee": str(who), "level": lvl.label},
            )
        return rule_id

    def set_rule_active(
        self, agency_id: int, actor: int | None, rule_id: int, active: bool
    ) -> None:
        with self.store.transaction():
            self.store.lock_structure(agency_id)  # rule writes take turns (change_rule)
            self.require_admin(actor, agency_id)
            self._mine("rules", rule_id, agency_id, "Rule")
            self.store.set_rule_active(agency_id, rule_id, active)
            self.store.record(
                agency_id,
                actor_name(actor),
                "rule.update",
                f"rule:{rule_id}",
                after={"active": active},
            )

    def delete_rule(self, agency_id: int, actor: int | None, rule_id: int) -> None:
        with self.store.transaction():
            self.store.lock_structure(agency_id)  # rule writes take turns (change_rule)
            self.require_admin(actor, agency_id)
            self._mine("rules", rule_id, agency_id, "Rule")
            self.store.delete_rule(agency_id, rule_id)
            self.store.record(agency_id, actor_name(actor), "rule.delete", f"rule:{rule_id}")

    def _mine(self, table: str, row_id: int, agency_id: int, what: str) -> None:
        """Another agency's rows are not found (S-ACC-3)."""
        if not self.store.belongs(table, row_id, agency_id):
            raise CaseShareError("not_found", f"{what} {row_id} was not found.")

    # -- diagnostics (S-CRT-4) ----------------------------------------------------------------------------

    def case_sharing_report(self, agency_id: int) -> list[dict[str, Any]]:
        """Active users not in exactly one case-sharing group or case-owning location."""
        directory = self.context(agency_id).directory
        out = []
        for user in sorted(directory.users.values(), key=lambda u: u.username):
            if not user.active:
                continue
            owners = directory.case_sharing_owners(user.id)
            if len(owners) != 1:
                out.append(
                    {
                        "user_id": user.id,
                        "username": user.username,
                        "owners": [str(p) for p in owners],
                        "problem": "in no case-sharing group or location"
                        if not owners
                        else "in several case-sharing groups or locations",
                    }
                )
        return out

    # -- reads and combined updates for the directory API -------------------------------------------

    def group_members(self, agency_id: int, group_id: int) -> list[Principal]:
        """A group's direct members; another agency's group is not found."""
        self._mine("agency_groups", group_id, agency_id, "Group")
        return self.store.group_members(group_id)

    def user_locations(self, agency_id: int) -> dict[int, list[int]]:
        """The locations assigned to each user of the agency."""
        return self.store.user_locations(agency_id)

    def update_user(
        self, agency_id: int, actor: int | None, user_id: int, changes: dict[str, Any]
    ) -> None:
        """Change any of full_name, email, role_id, permissions, locations — all or none."""
        unknown = set(changes) - {"full_name", "email", "role_id", "permissions", "locations"}
        if unknown:
            raise CaseShareError("validation_error", f"Unknown user field(s) {sorted(unknown)}.")
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            self._mine("users", user_id, agency_id, "User")
            profile = {k: changes[k] for k in ("full_name", "email") if k in changes}
            if "email" in profile:
                profile["email"] = checked_email(profile["email"])
            if "full_name" in profile:
                check_text("The user's full name", profile["full_name"])
            if profile:
                self._change_user(agency_id, actor, user_id, "user.profile", **profile)
            if "role_id" in changes:
                self.set_role(agency_id, actor, user_id, changes["role_id"])
            if "permissions" in changes:
                self.set_permissions(agency_id, actor, user_id, list(changes["permissions"]))
            if "locations" in changes:
                self.set_locations(
                    agency_id, actor, user_id, list(dict.fromkeys(changes["locations"]))
                )


def _plain(value: Any) -> Any:
    if isinstance(value, frozenset):
        return sorted(value)
    return value
