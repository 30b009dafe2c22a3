"""The sharing decision (SPEC §3–§4): every grant that applies, its path, and the effective level.

Pure: the caller hands in the agency context and the case facts; nothing here does I/O. ``check``
and ``explain`` are the same computation, so they can never disagree (S-ACC-6).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from caseshare.core.directory import Directory
from caseshare.core.levels import (
    OWNERS_POLICY_CAPPED,
    REQUIRED_LEVEL,
    Action,
    Cause,
    Level,
)
from caseshare.core.model import CaseFacts, StoredGrant, TeamRole, User
from caseshare.core.principals import Principal
from caseshare.core.rules import Matcher, Rule, compile_criteria
from caseshare.core.settings import Settings


@dataclass(frozen=True)
class AgencyContext:
    """Everything agency-wide a decision reads: settings, structure, rules and team roles."""

    agency_id: int
    settings: Settings
    directory: Directory
    rules: tuple[Rule, ...] = ()
    team_roles: Mapping[int, TeamRole] = field(default_factory=dict)
    version: int = 0
    _user_rules: dict[int, tuple[tuple[Rule, str, Matcher], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _matchers: dict[int, Matcher] = field(default_factory=dict, compare=False, repr=False)

    def matcher(self, rule: Rule) -> Matcher:
        """The rule's test, built once: an owner rule is membership in ``owners_within`` (the
        same set the listing SQL uses); a criteria rule is its compiled criteria."""
        found = self._matchers.get(rule.id)
        if found is None:
            if rule.kind == "owner" and rule.owner_in is not None:
                owners = self.directory.owners_within(rule.owner_in)
                found = lambda case: case.owner in owners  # noqa: E731 (reason: a closure)
            elif rule.criteria is not None:
                found = compile_criteria(rule.criteria)
            else:
                found = lambda case: False  # noqa: E731 (reason: a closure)
            self._matchers[rule.id] = found
        return found

    def rules_for(self, user_id: int) -> tuple[tuple[Rule, str, Matcher], ...]:
        """The active rules whose grantee the user belongs to, with the path and the test."""
        cached = self._user_rules.get(user_id)
        if cached is None:
            principals = self.directory.principals_of(user_id)
            cached = tuple(
                (rule, principals[rule.grantee], self.matcher(rule))
                for rule in self.rules
                if rule.active and rule.grantee in principals
            )
            self._user_rules[user_id] = cached
        return cached

    def stored_level(self, grant: StoredGrant) -> Level:
        """A stored grant's level now: team grants follow their team role's current level."""
        if grant.cause is Cause.TEAM:
            role = self.team_roles.get(grant.team_role_id or -1)
            return role.level if role is not None else Level.NONE
        return grant.level


@dataclass(frozen=True, slots=True)
class Grant:
    """One way the user reaches the case."""

    cause: Cause
    level: Level  # after the caps of §4
    path: str
    uncapped: Level
    #: for hierarchy grants, the cause of the grant the manager stands above
    source: Cause | None = None
    #: the default grant of a ``transfer`` case type also allows the transfer action
    transfer: bool = False

    def __str__(self) -> str:
        capped = f" (capped from {self.uncapped.label})" if self.uncapped != self.level else ""
        return f"{self.cause.value} {self.level.label}{capped}: {self.path}"


@dataclass(frozen=True)
class Access:
    """A user's access to a case: the grants, the effective level and why."""

    user_id: int
    case_pk: int
    case_id: str
    level: Level
    grants: tuple[Grant, ...] = ()
    #: why there is no access at all, when a blanket rule applies (inactive, other agency, deleted)
    blocked: str | None = None
    transfer_permission: bool = False

    def allows(self, action: Action) -> bool:
        if action is Action.TRANSFER and self.level >= Level.EDIT and self.level < Level.FULL:
            return self.transfer_permission or any(
                g.transfer and g.level >= Level.EDIT for g in self.grants
            )
        return self.level >= REQUIRED_LEVEL[action]

    @property
    def causes(self) -> frozenset[Cause]:
        """The causes whose grant reaches the effective level."""
        if self.level is Level.NONE:
            return frozenset()
        return frozenset(g.cause for g in self.grants if g.level == self.level)

    def decide(self, action: Action) -> Decision:
        return Decision(action, self.allows(action), self)


@dataclass(frozen=True)
class Decision:
    """The answer to one (user, action, case) question, with the access that decided it."""

    action: Action
    allowed: bool
    access: Access

    @property
    def reasons(self) -> list[str]:
        if self.access.blocked:
            return [self.access.blocked]
        if not self.access.grants:
            return ["no grant applies"]
        return [str(g) for g in self.access.grants]


def evaluate(ctx: AgencyContext, user: User, case: CaseFacts) -> Access:
    """Compute every grant of ``user`` on ``case`` and the effective level (S-ACC-1, §4)."""
    if user.active and not case.deleted and user.agency_id != case.agency_id:
        received = agency_share_grants(ctx, user, case)
        if received:  # S-ACC-3: across agencies, agency_share is the only way in
            return Access(user.id, case.pk, case.case_id, Level.READ, received)
    blocked = _blocked(ctx, user, case)
    if blocked is not None:
        return Access(user.id, case.pk, case.case_id, Level.NONE, blocked=blocked)
    grants = [*direct_grants(ctx, user, case), *_indirect_grants(ctx, user, case)]
    capped = tuple(_cap(ctx.settings, g) for g in grants if g.uncapped > Level.NONE)
    level = max((g.level for g in capped), default=Level.NONE)
    return Access(
        user.id,
        case.pk,
        case.case_id,
        level,
        capped,
        transfer_permission="transfer" in user.permissions,
    )


def check(ctx: AgencyContext, user: User, action: Action, case: CaseFacts) -> Decision:
    return evaluate(ctx, user, case).decide(action)


def _blocked(ctx: AgencyContext, user: User, case: CaseFacts) -> str | None:
    if not user.active:
        return f"user:{user.id} is inactive (S-ACC-4)"
    if user.agency_id != case.agency_id or ctx.agency_id != case.agency_id:
        return f"case:{case.case_id} belongs to another agency (S-ACC-3)"
    if case.deleted:
        return f"case:{case.case_id} is in the recycle bin (S-SHR-8)"
    return None


def agency_share_grants(ctx: AgencyContext, user: User, case: CaseFacts) -> tuple[Grant, ...]:
    """S-AG-4: the receiving user and members of the receiving units of an active share whose
    agreement lets data flow today read the case (its summary and shared targets only). ``ctx``
    is the user's own agency: units are its groups."""
    if ctx.agency_id != user.agency_id:
        return ()
    grants = []
    principals = ctx.directory.principals_of(user.id) if case.agency_shares else {}
    for share in case.agency_shares:
        if share.status != "active" or not share.flowing or share.to_agency_id != user.agency_id:
            continue
        where = f"agency_share → agency_share:{share.id}"
        if share.receiving_user_id == user.id:
            path = f"{where} → receiving user:{user.id}"
        else:
            unit = next(
                (Principal("group", g) for g in share.units if Principal("group", g) in principals),
                None,
            )
            if unit is None:
                continue
            path = f"{where} → unit {principals[unit]}"
        grants.append(Grant(Cause.AGENCY_SHARE, Level.READ, path, Level.READ))
    return tuple(grants)


def direct_grants(ctx: AgencyContext, user: User, case: CaseFacts) -> list[Grant]:
    """Grants that count as direct for implicit access: owner, hierarchy, stored, rule."""
    if case.deleted or not user.active or user.agency_id != case.agency_id:
        return []
    directory = ctx.directory
    grants: list[Grant] = []
    owner_path = directory.owner_ids(user.id).get(case.owner)
    if owner_path is not None:
        grants.append(Grant(Cause.OWNER, Level.FULL, f"owner → {owner_path}", Level.FULL))
    hierarchy = (
        ctx.settings.hierarchy_access
        and user.role_id is not None
        and directory.has_roles_below(user.role_id)
    )
    if hierarchy and case.owner.kind == "user":
        grants.extend(_above(directory, user, case.owner.id, Level.FULL, Cause.OWNER))
    principals = directory.principals_of(user.id)
    me = Principal("user", user.id)
    for stored in case.grants:
        level = ctx.stored_level(stored)
        if level is Level.NONE:
            continue
        if stored.grantee in principals:
            where = principals[stored.grantee]
            path = f"{stored.cause.value} → {where}"
            if stored.cause is Cause.MANUAL or stored.grantee == me:
                grants.append(Grant(stored.cause, level, path, level))
        if hierarchy and stored.grantee.kind == "user":
            grants.extend(_above(directory, user, stored.grantee.id, level, stored.cause))
    for rule, via, rule_matches in ctx.rules_for(user.id):
        if rule_matches(case):
            grants.append(Grant(Cause.RULE, rule.level, f"rule {rule.name!r} → {via}", rule.level))
    return grants


def _above(
    directory: Directory, user: User, named: int, level: Level, source: Cause
) -> list[Grant]:
    other = directory.users.get(named)
    if other is None or other.id == user.id or not directory.is_above(user.role_id, other.role_id):
        return []
    path = (
        f"hierarchy → role:{user.role_id} above role:{other.role_id} of user:{other.id}"
        f" ({source.value})"
    )
    return [Grant(Cause.HIERARCHY, level, path, level, source=source)]


def _indirect_grants(ctx: AgencyContext, user: User, case: CaseFacts) -> list[Grant]:
    grants: list[Grant] = []
    settings = ctx.settings
    default = settings.default_for(case.case_type)
    if default != "private":
        level = settings.default_level(case.case_type)
        grants.append(
            Grant(
                Cause.DEFAULT,
                level,
                f"default → {default} for case type {case.case_type!r} ∋ user:{user.id}",
                level,
                transfer=default == "transfer",
            )
        )
    perms = user.permissions
    if perms & {"admin", "modify_all"}:
        which = "admin" if "admin" in perms else "modify_all"
        grants.append(Grant(Cause.PERMISSION, Level.FULL, f"permission → {which}", Level.FULL))
    elif "view_all" in perms:
        grants.append(Grant(Cause.PERMISSION, Level.READ, "permission → view_all", Level.READ))
    child_level = settings.child_level
    if child_level > Level.NONE:
        for parent in case.parents:
            best = _best(direct_grants(ctx, user, parent))
            if best is not None:
                level = min(child_level, best.uncapped)
                path = f"implicit_child → parent case:{parent.case_id} ({best.path})"
                grants.append(Grant(Cause.IMPLICIT_CHILD, level, path, level))
    for child in case.children:  # one child suffices: implicit_parent is always read
        best = _best(direct_grants(ctx, user, child))
        if best is not None:
            path = f"implicit_parent → child case:{child.case_id} ({best.path})"
            grants.append(Grant(Cause.IMPLICIT_PARENT, Level.READ, path, Level.READ))
            break
    return grants


def _best(grants: list[Grant]) -> Grant | None:
    return max(grants, key=lambda g: g.uncapped, default=None)


def _cap(settings: Settings, grant: Grant) -> Grant:
    """S-ACC-5: under edit_policy ``owners`` only the owner side keeps edit."""
    if settings.edit_policy != "owners" or grant.uncapped <= Level.READ:
        return grant
    capped = grant.cause in OWNERS_POLICY_CAPPED or (
        grant.cause is Cause.HIERARCHY and grant.source in (Cause.MANUAL, Cause.TEAM)
    )
    if not capped:
        return grant
    return Grant(grant.cause, Level.READ, grant.path, grant.uncapped, grant.source, grant.transfer)
