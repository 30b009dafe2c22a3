"""Changing what an agency is made of after it is made, and opening a new agency.

Groups (name, case-sharing flag, kind), location types (name, flags), locations (name, place in
the tree), roles (name, place in the hierarchy) and sharing rules (all but their kind): each
change is audited with before and after and bumps the agency's version, so the next decision
sees it. A new agency starts with one admin, who does everything else from the screens.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Level
from caseshare.core.principals import Principal
from caseshare.core.rules import Criterion, criteria_to_data
from caseshare.services.accounts import AccountService
from caseshare.services.admin import AdminService
from caseshare.services.base import actor_name
from caseshare.services.names import check_texts, checked_name, checked_username

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class NewAgency:
    """A new agency and its first admin's sign-in (the password is shown once)."""

    agency_id: int
    slug: str
    name: str
    admin_id: int
    username: str
    password: str
    generated: bool


def _unset(changes: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise CaseShareError(
            "validation_error", f"A {what} has no field(s) {', '.join(sorted(unknown))}."
        )


class OrganisationService(AdminService, AccountService):
    """Changes to groups, location types, locations, roles and rules; new agencies."""

    # -- a new agency ---------------------------------------------------------------------------

    def open_agency(
        self,
        slug: str,
        name: str,
        admin_username: str,
        *,
        full_name: str = "",
        email: str = "",
        password: str | None = None,
    ) -> NewAgency:
        """An agency with its default settings and one admin who can sign in: all or nothing."""
        slug = slug.strip()
        if not SLUG.match(slug):
            raise CaseShareError(
                "validation_error",
                "An agency's slug is what people type to sign in: 1 to 63 lower-case letters,"
                " digits and -, starting with a letter or digit, such as “north-district”.",
            )
        title = checked_name(name or slug, "agency")
        username = checked_username(admin_username)
        generated = password is None
        secret = password if password is not None else secrets.token_urlsafe(12)
        with self.store.transaction():
            agency_id = self.create_agency(slug, title)
            user_id = self.create_user(
                agency_id,
                None,
                username,
                full_name=full_name.strip(),
                email=email.strip(),
                permissions=["admin"],
            )
            self.set_password(agency_id, None, user_id, secret)
        return NewAgency(agency_id, slug, title, user_id, username, secret, generated)

    def reset_password(
        self, agency_id: int, actor: int | None, user_id: int, password: str = ""
    ) -> str:
        """An admin sets a user's password (a new random one when none is given) and returns
        it to be shown once; the user's sessions end."""
        secret = password or secrets.token_urlsafe(12)
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            self._mine("users", user_id, agency_id, "User")
            self.set_password(agency_id, actor, user_id, secret)
        return secret

    # -- groups ---------------------------------------------------------------------------------

    def update_group(
        self, agency_id: int, actor: int | None, group_id: int, changes: Mapping[str, Any]
    ) -> None:
        """Any of name, case_sharing and kind (``group`` or ``unit``)."""
        _unset(changes, {"name", "case_sharing", "kind"}, "group")
        with self.store.transaction():
            # a change of its other fields at once waits, and is read here and kept
            self.store.lock_structure(agency_id)
            self.require_admin(actor, agency_id)
            group = self.context(agency_id).directory.groups.get(group_id)
            if group is None:
                raise CaseShareError("not_found", f"Group {group_id} was not found.")
            after = replace(
                group,
                name=checked_name(str(changes.get("name", group.name)), "group"),
                case_sharing=bool(changes.get("case_sharing", group.case_sharing)),
                kind=str(changes.get("kind", group.kind)),
            )
            if after.kind not in ("group", "unit"):
                raise CaseShareError("validation_error", "A group's kind is group or unit.")
            self.store.update_group(agency_id, group_id, after.name, after.case_sharing, after.kind)
            self._changed(agency_id, actor, "group.update", f"group:{group_id}", group, after)

    def set_user_groups(
        self, agency_id: int, actor: int | None, user_id: int, group_ids: list[int]
    ) -> tuple[list[int], list[int]]:
        """Make the user a direct member of exactly these groups: one transaction, each joining
        and leaving audited. Returns the groups joined and left."""
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            self.store.lock_structure(agency_id)  # as add_member: one change after the other
            directory = self.context(agency_id).directory
            if user_id not in directory.users:
                raise CaseShareError("not_found", f"User {user_id} was not found.")
            for group_id in group_ids:
                if group_id not in directory.groups:
                    raise CaseShareError("validation_error", f"Group {group_id} is unknown.")
            member = Principal("user", user_id)
            now = set(self.store.groups_with_member(agency_id, member))
            wanted = set(group_ids)
            joined, left = sorted(wanted - now), sorted(now - wanted)
            for group_id in joined:
                self.add_member(agency_id, actor, group_id, member)
            for group_id in left:
                self.remove_member(agency_id, actor, group_id, member)
        return joined, left

    def user_groups(self, agency_id: int, user_id: int) -> list[int]:
        """The groups the user is a direct member of."""
        return self.store.groups_with_member(agency_id, Principal("user", user_id))

    def owned_cases(self, agency_id: int, owner: Principal) -> int:
        """How many cases (not in the recycle bin) a user, group or location owns."""
        return self.store.owned_case_count(agency_id, owner)

    def team_role_uses(self, agency_id: int, role_id: int) -> int:
        """On how many case teams a team role is used (a role in use is replaced, S-TEAM-1)."""
        self._mine("team_roles", role_id, agency_id, "Team role")
        return self.store.team_role_in_use(role_id)

    # -- locations --------------------------------------------------------------------------------

    def update_location_type(
        self, agency_id: int, actor: int | None, type_id: int, changes: Mapping[str, Any]
    ) -> None:
        """Any of name, shares_cases and view_descendants: every location of the type follows."""
        _unset(changes, {"name", "shares_cases", "view_descendants"}, "location type")
        with self.store.transaction():
            # a change of its other fields at once waits, and is read here and kept
            self.store.lock_structure(agency_id)
            self.require_admin(actor, agency_id)
            kind = self.context(agency_id).directory.location_types.get(type_id)
            if kind is None:
                raise CaseShareError("not_found", f"Location type {type_id} was not found.")
            after = replace(
                kind,
                name=checked_name(str(changes.get("name", kind.name)), "location type"),
                shares_cases=bool(changes.get("shares_cases", kind.shares_cases)),
                view_descendants=bool(changes.get("view_descendants", kind.view_descendants)),
            )
            self.store.update_location_type(
                agency_id, type_id, after.name, after.shares_cases, after.view_descendants
            )
            self._changed(
                agency_id, actor, "location_type.update", f"location_type:{type_id}", kind, after
            )

    def update_location(
        self, agency_id: int, actor: int | None, loc_id: int, changes: Mapping[str, Any]
    ) -> None:
        """Any of name, parent_id (None: a top location) and archived; a location cannot move
        below itself. An archived location owns no cases and grants nothing (S-OWN-1)."""
        _unset(changes, {"name", "parent_id", "archived"}, "location")
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            # a move at once the other way round waits: the cycle check reads what it wrote
            self.store.lock_structure(agency_id)
            directory = self.context(agency_id).directory
            loc = directory.locations.get(loc_id)
            if loc is None:
                raise CaseShareError("not_found", f"Location {loc_id} was not found.")
            parent = changes.get("parent_id", loc.parent_id)
            if parent is not None and parent not in directory.locations:
                raise CaseShareError("validation_error", f"Location {parent} is unknown.")
            if directory.location_would_cycle(loc_id, parent):
                raise CaseShareError(
                    "validation_error",
                    f"location:{loc_id} cannot move below location:{parent}, which is itself or"
                    " one of its own sub-locations.",
                )
            after = replace(loc, name=checked_name(str(changes.get("name", loc.name)), "location"))
            after = replace(
                after, parent_id=parent, archived=bool(changes.get("archived", loc.archived))
            )
            self.store.update_location(agency_id, loc_id, after.name, after.parent_id)
            if after.archived != loc.archived:
                self.store.set_location_archived(agency_id, loc_id, after.archived)
            self._changed(agency_id, actor, "location.update", f"location:{loc_id}", loc, after)

    # -- roles ----------------------------------------------------------------------------------

    def update_role(
        self, agency_id: int, actor: int | None, role_id: int, changes: Mapping[str, Any]
    ) -> None:
        """Any of name and parent_id (None: a top role); a role cannot move below itself."""
        _unset(changes, {"name", "parent_id"}, "role")
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            # a move at once the other way round waits: the cycle check reads what it wrote
            self.store.lock_structure(agency_id)
            directory = self.context(agency_id).directory
            role = directory.roles.get(role_id)
            if role is None:
                raise CaseShareError("not_found", f"Role {role_id} was not found.")
            parent = changes.get("parent_id", role.parent_id)
            if parent is not None and parent not in directory.roles:
                raise CaseShareError("validation_error", f"Role {parent} is unknown.")
            if directory.role_would_cycle(role_id, parent):
                raise CaseShareError(
                    "validation_error",
                    f"role:{role_id} cannot report to role:{parent}, which is itself or one of"
                    " the roles below it.",
                )
            after = replace(role, name=checked_name(str(changes.get("name", role.name)), "role"))
            after = replace(after, parent_id=parent)
            self.store.update_role(agency_id, role_id, after.name, after.parent_id)
            self._changed(agency_id, actor, "role.update", f"role:{role_id}", role, after)

    # -- rules (S-RULE-1) -----------------------------------------------------------------------

    def update_rule(
        self,
        agency_id: int,
        actor: int | None,
        rule_id: int,
        *,
        name: str,
        grantee: Principal | str,
        level: Level | str,
        owner_in: Principal | str | None = None,
        criteria: Criterion | None = None,
        active: bool = True,
    ) -> None:
        """Replace a rule's name, grantee, level, condition and state; its kind stays. The
        access it gives follows at once (rules are evaluated at decision time)."""
        lvl = level if isinstance(level, Level) else Level.parse(level)
        if lvl not in (Level.READ, Level.EDIT):
            raise CaseShareError("invalid_access_level", "A sharing rule gives read or edit.")
        check_texts("A rule's condition", criteria)
        with self.store.transaction():
            self.store.lock_structure(agency_id)  # rule writes take turns (change_rule)
            self.require_admin(actor, agency_id)
            ctx = self.context(agency_id)
            rule = next((r for r in ctx.rules if r.id == rule_id), None)
            if rule is None:
                raise CaseShareError("not_found", f"Rule {rule_id} was not found.")
            who = self.resolve_principal(ctx, grantee)
            if rule.kind == "owner":
                if owner_in is None:
                    raise CaseShareError("validation_error", "An owner rule names owner_in.")
                after = replace(rule, owner_in=self.resolve_principal(ctx, owner_in))
            else:
                if criteria is None:
                    raise CaseShareError("validation_error", "A criteria rule needs conditions.")
                after = replace(rule, criteria=criteria)
            after = replace(
                after, name=checked_name(name, "rule"), grantee=who, level=lvl, active=active
            )
            self.store.update_rule(after)
            self.store.record(
                agency_id,
                actor_name(actor),
                "rule.update",
                f"rule:{rule_id}",
                before=_rule_data(rule),
                after=_rule_data(after),
            )

    def change_rule(
        self, agency_id: int, actor: int | None, rule_id: int, changes: Mapping[str, Any]
    ) -> None:
        """``update_rule`` with only the fields in ``changes`` (name, grantee, level, owner_in,
        criteria, active); the others keep the value they have when the change is applied,
        read under the agency's lock, so a rule deactivated at the same moment stays so."""
        _unset(changes, {"name", "grantee", "level", "owner_in", "criteria", "active"}, "rule")
        with self.store.transaction():
            self.store.lock_structure(agency_id)
            rule = next((r for r in self.context(agency_id).rules if r.id == rule_id), None)
            if rule is None:
                raise CaseShareError("not_found", f"Rule {rule_id} was not found.")
            self.update_rule(
                agency_id,
                actor,
                rule_id,
                name=changes.get("name", rule.name),
                grantee=changes.get("grantee", rule.grantee),
                level=changes.get("level", rule.level),
                owner_in=changes.get("owner_in", rule.owner_in),
                criteria=changes.get("criteria", rule.criteria),
                active=changes.get("active", rule.active),
            )

    # -- shared ---------------------------------------------------------------------------------

    def _changed(
        self, agency_id: int, actor: int | None, action: str, subject: str, old: Any, new: Any
    ) -> None:
        """The audit event of a change: the fields that changed, before and after."""
        before, after = asdict(old), asdict(new)
        keys = [k for k in after if k not in ("id", "agency_id") and before[k] != after[k]]
        self.store.record(
            agency_id,
            actor_name(actor),
            action,
            subject,
            before={k: before[k] for k in keys},
            after={k: after[k] for k in keys},
        )


def _rule_data(rule: Any) -> dict[str, Any]:
    return {
        "name": rule.name,
        "grantee": str(rule.grantee),
        "level": rule.level.label,
        "active": rule.active,
        "owner_in": str(rule.owner_in) if rule.owner_in else None,
        "criteria": criteria_to_data(rule.criteria) if rule.criteria else None,
    }
