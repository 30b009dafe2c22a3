"""The sharing decision (SPEC §3–§4): every grant that applies, its path, and the effective level.

Pure: the caller hands in the agency context and the case facts; nothing here does I/O. ``check``
and ``explain`` are the same computation, so they can never disagree (S-ACC-6).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from caseshare.core.directory import Directory
from caseshare.core.levels import (
    OWNERS_POLICY_CAPPED,
    REQUIRED_LEVEL,
    Action,
    Cause,
    Level,
)
from caseshare.core.model import CaseFacts, StoredGrant, SyncRoute, TeamRole, User
from caseshare.core.principals import Principal
from caseshare.core.rules import Matcher, Rule, compile_criteria, compile_on_type
from caseshare.core.settings import Settings

_MANUAL, _TEAM, _NONE = Cause.MANUAL, Cause.TEAM, Level.NONE


@dataclass(slots=True)
class Seat:
    """What a decision reads of one user, gathered once per context: the user's owner ids and
    memberships with their paths, whether hierarchy grants can reach them, the agency settings
    a decision reads, and per case type the user's plan (built on first use of each type)."""

    owners: Mapping[Principal, str]
    principals: Mapping[Principal, str]
    manages: bool
    #: ``child_access`` (implicit_child gives at most this), and whether edit_policy is owners
    child_level: Level = Level.NONE
    owners_policy: bool = False
    #: the active rules whose grantee the user belongs to, each with the grant it gives
    rules: tuple[tuple[Rule, Grant], ...] = ()
    plans: dict[str, Plan] = field(default_factory=dict)
    #: per owner: the owner grant
    owner_grants: dict[Principal, Grant] = field(default_factory=dict)
    #: per (user below, level, cause): the manager's hierarchy grant over it (None: not above)
    above: dict[tuple[int, Level, Cause], Grant | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Plan:
    """One user's grants that depend on the case type alone, built once per context, user and
    type: each applicable rule's test (None: every case of the type meets it) with the grant
    it gives, and the grants the user has on every case of the type (default, permission)."""

    rules: tuple[tuple[Matcher | None, Grant], ...]
    given: tuple[Grant, ...]


@dataclass(frozen=True)
class AgencyContext:
    """Everything agency-wide a decision reads: settings, structure, rules and team roles."""

    agency_id: int
    settings: Settings
    directory: Directory
    rules: tuple[Rule, ...] = ()
    team_roles: Mapping[int, TeamRole] = field(default_factory=dict)
    version: int = 0
    #: how many structural changes of the agency this context includes (the change log's seq)
    change_seq: int = 0
    _matchers: dict[int, Matcher] = field(default_factory=dict, compare=False, repr=False)
    _defaults: dict[str, tuple[str, Level]] = field(default_factory=dict, compare=False, repr=False)
    _managers: dict[int, bool] = field(default_factory=dict, compare=False, repr=False)
    _seats: dict[int, Seat] = field(default_factory=dict, compare=False, repr=False)
    _typed_matchers: dict[tuple[int, str], Matcher | bool] = field(
        default_factory=dict, compare=False, repr=False
    )
    _child_level: list[Level] = field(default_factory=list, compare=False, repr=False)

    def seat(self, user: User) -> Seat:
        found = self._seats.get(user.id)
        if found is None:
            directory = self.directory
            found = Seat(
                directory.owner_ids(user.id),
                directory.principals_of(user.id),
                self.manages(user),
                self.child_level,
                self.settings.edit_policy == "owners",
                self.rules_for(user.id),
            )
            self._seats[user.id] = found
        return found

    def plan(self, seat: Seat, user: User, case_type: str) -> Plan:
        """The user's plan for cases of this type (``Plan``), kept in the seat."""
        found = seat.plans.get(case_type)
        if found is not None:
            return found
        rules = []
        for rule, grant in seat.rules:
            test = self.typed_matcher(rule, case_type)
            if test is not False:  # False: no case of the type can meet the rule
                rules.append((None if test is True else test, grant))
        given: list[Grant] = []
        default, level = self.default_of(case_type)
        if default != "private":
            path = f"default → {default} for case type {case_type!r} ∋ user:{user.id}"
            given.append(Grant(Cause.DEFAULT, level, path, level, transfer=default == "transfer"))
        given.extend(_permission(user.permissions))
        found = seat.plans[case_type] = Plan(tuple(rules), tuple(given))
        return found

    def typed_matcher(self, rule: Rule, case_type: str) -> Matcher | bool:
        """The rule's test (``matcher``) on cases of one type, built once: a criteria rule's
        conditions on the case type are settled here (``compile_on_type``)."""
        key = (rule.id, case_type)
        found = self._typed_matchers.get(key)
        if found is None:
            if rule.criteria is None or (rule.kind == "owner" and rule.owner_in is not None):
                found = self.matcher(rule)  # an owner rule's test reads no case type
            else:
                found = compile_on_type(rule.criteria, case_type)
            self._typed_matchers[key] = found
        return found

    def patched(
        self,
        directory: Directory,
        *,
        version: int,
        change_seq: int,
        settings: Settings | None = None,
        rules: Mapping[int, Rule | None] | None = None,
        team_roles: Mapping[int, TeamRole | None] | None = None,
    ) -> AgencyContext:
        """This context after some structural changes (rows given: None = removed), as a new
        object: the old one stays as it was for whoever still reads it. Criteria tests of
        unchanged rules are kept; everything the directory derives is computed afresh."""
        kept = self.rules
        if rules:
            by_id = {rule.id: rule for rule in self.rules}
            for rule_id, rule in rules.items():
                if rule is None:
                    by_id.pop(rule_id, None)
                else:
                    by_id[rule_id] = rule
            kept = tuple(by_id[k] for k in sorted(by_id))
        roles = dict(self.team_roles)
        for role_id, role in (team_roles or {}).items():
            if role is None:
                roles.pop(role_id, None)
            else:
                roles[role_id] = role
        changed = rules or {}
        # an owner rule's test holds the owners it matches: kept only if the directory is
        same = directory is self.directory
        keep = {r.id for r in kept if r.id not in changed and (same or r.kind != "owner")}
        matchers = {rule_id: t for rule_id, t in list(self._matchers.items()) if rule_id in keep}
        typed = {key: t for key, t in list(self._typed_matchers.items()) if key[0] in keep}
        return AgencyContext(
            self.agency_id,
            settings if settings is not None else self.settings,
            directory,
            kept,
            roles,
            version,
            change_seq,
            _matchers=matchers,
            _typed_matchers=typed,
        )

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

    def rules_for(self, user_id: int) -> tuple[tuple[Rule, Grant], ...]:
        """The active rules whose grantee the user belongs to, each with the grant it gives."""
        principals = self.directory.principals_of(user_id)
        return tuple(
            (rule, Grant(Cause.RULE, rule.level, f"rule {rule.name!r} → {via}", rule.level))
            for rule in self.rules
            if rule.active and (via := principals.get(rule.grantee)) is not None
        )

    def default_of(self, case_type: str) -> tuple[str, Level]:
        """The case type's default access (S-ACC-1 ``default``) and its level, looked up once."""
        found = self._defaults.get(case_type)
        if found is None:
            settings = self.settings
            found = (settings.default_for(case_type), settings.default_level(case_type))
            self._defaults[case_type] = found
        return found

    def manages(self, user: User) -> bool:
        """Whether hierarchy grants can reach the user: hierarchy access is on and someone can
        stand below the user's role (S-HIER-1)."""
        found = self._managers.get(user.id)
        if found is None:
            found = (
                self.settings.hierarchy_access
                and user.role_id is not None
                and self.directory.has_roles_below(user.role_id)
            )
            self._managers[user.id] = found
        return found

    @property
    def child_level(self) -> Level:
        """The level ``implicit_child`` gives at most (``child_access``), parsed once."""
        found = self._child_level
        if not found:
            found.append(self.settings.child_level)
        return found[0]

    def stored_level(self, grant: StoredGrant) -> Level:
        """A stored grant's level now: team grants follow their team role's current level."""
        if grant.cause is Cause.TEAM:
            role = self.team_roles.get(grant.team_role_id or -1)
            return role.level if role is not None else Level.NONE
        return grant.level


class Grant(NamedTuple):
    """One way the user reaches the case (a named tuple, as ``Access``: decisions build them)."""

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


class Access(NamedTuple):
    """A user's access to a case: the grants, the effective level and why.

    A named tuple, as ``Principal``: every decision builds one, and a frozen dataclass's
    ``__init__`` sets each field through ``object.__setattr__`` (about 4× the cost)."""

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
    """Compute every grant of ``user`` on ``case`` and the effective level (S-ACC-1, §4).

    The common question (an active user, a live case of the user's agency) reads the user's
    seat and plan, built once per context: what it builds per call is the grants list and the
    answer (issue 12 item 5: the decision at ≤ 5 µs)."""
    agency = case.agency_id
    if user.agency_id != agency or ctx.agency_id != agency or case.deleted or not user.active:
        return _elsewhere(ctx, user, case)
    seat = ctx._seats.get(user.id) or ctx.seat(user)
    plan = seat.plans.get(case.case_type) or ctx.plan(seat, user, case.case_type)
    grants = _direct(ctx, seat, plan, user, case)
    if plan.given:  # default, permission
        grants.extend(plan.given)
    child_level = seat.child_level
    if child_level and case.parents:
        for parent in case.parents:
            if parent.deleted or parent.agency_id != agency:
                continue
            best = _best(_direct_on(ctx, seat, user, parent))
            if best is not None:
                level = min(child_level, best.uncapped)
                path = f"implicit_child → parent case:{parent.case_id} ({best.path})"
                grants.append(Grant(Cause.IMPLICIT_CHILD, level, path, level))
    if case.sync is not None:  # what the user's device holds they may read (S-SYNC-1)
        synced = sync_path(ctx, user, case.sync)
        if synced is not None:
            grants.append(Grant(Cause.SYNC, Level.READ, synced, Level.READ))
    for child in case.children:  # one child suffices: implicit_parent is always read
        if child.deleted or child.agency_id != agency:
            continue
        best = _best(_direct_on(ctx, seat, user, child))
        if best is not None:
            path = f"implicit_parent → child case:{child.case_id} ({best.path})"
            grants.append(Grant(Cause.IMPLICIT_PARENT, Level.READ, path, Level.READ))
            break
    transfer = "transfer" in user.permissions
    if not grants:
        return Access(user.id, case.pk, case.case_id, _NONE, (), None, transfer)
    if seat.owners_policy:
        capped = tuple(_cap(ctx.settings, g) for g in grants if g.uncapped > _NONE)
        level = max((g.level for g in capped), default=_NONE)
        return Access(user.id, case.pk, case.case_id, level, capped, None, transfer)
    level = _NONE
    every = True  # whether every grant gives something (a rule may give none)
    for grant in grants:
        if grant.uncapped > _NONE:
            if grant.level > level:
                level = grant.level
        else:
            every = False
    kept = tuple(grants) if every else tuple(g for g in grants if g.uncapped > _NONE)
    return Access(user.id, case.pk, case.case_id, level, kept, None, transfer)


def _elsewhere(ctx: AgencyContext, user: User, case: CaseFacts) -> Access:
    """``evaluate`` for an inactive user, a binned case or a case of another agency."""
    if user.active and not case.deleted and user.agency_id != case.agency_id:
        received = agency_share_grants(ctx, user, case)
        if received:  # S-ACC-3: across agencies, agency_share is the only way in
            return Access(user.id, case.pk, case.case_id, Level.READ, received)
    blocked = _blocked(ctx, user, case)
    return Access(user.id, case.pk, case.case_id, Level.NONE, blocked=blocked)


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
    return _direct_on(ctx, ctx.seat(user), user, case)


#: from this many stored grants on a case, a decision looks up the user's principals in the
#: case's grantees (``CaseFacts.grants_to``) instead of testing every grant
INDEXED_FROM = 8


def _direct_on(ctx: AgencyContext, seat: Seat, user: User, case: CaseFacts) -> list[Grant]:
    plan = seat.plans.get(case.case_type) or ctx.plan(seat, user, case.case_type)
    return _direct(ctx, seat, plan, user, case)


def _direct(ctx: AgencyContext, seat: Seat, plan: Plan, user: User, case: CaseFacts) -> list[Grant]:
    """``direct_grants`` for an active user of the case's agency and a live case."""
    grants: list[Grant] = []
    owner = case.owner
    if owner in seat.owners:
        found = seat.owner_grants.get(owner)
        if found is None:
            path = f"owner → {seat.owners[owner]}"
            found = seat.owner_grants[owner] = Grant(Cause.OWNER, Level.FULL, path, Level.FULL)
        grants.append(found)
    hierarchy = seat.manages
    if hierarchy and owner.kind == "user":
        above = _above(ctx.directory, seat, user, owner.id, Level.FULL, Cause.OWNER)
        if above is not None:
            grants.append(above)
    stored_grants = case.grants
    if stored_grants:
        principals = seat.principals
        if not hierarchy and len(stored_grants) >= INDEXED_FROM:
            # only grants to the user's principals can count: the same loop on those alone (a
            # manager's grants over the users below come from any grant: kept in the seat)
            stored_grants = case.grants_to(principals.keys())
        for stored in stored_grants:
            grantee = stored.grantee
            where = principals.get(grantee)
            if where is not None and (
                stored.cause is _MANUAL or (grantee.kind == "user" and grantee.id == user.id)
            ):
                level = stored.level if stored.cause is not _TEAM else ctx.stored_level(stored)
                if level is not _NONE:
                    path = f"{stored.cause.value} → {where}"
                    grants.append(Grant(stored.cause, level, path, level))
            if hierarchy and grantee.kind == "user":
                level = stored.level if stored.cause is not _TEAM else ctx.stored_level(stored)
                if level is not _NONE:
                    above = _above(ctx.directory, seat, user, grantee.id, level, stored.cause)
                    if above is not None:
                        grants.append(above)
    for rule_matches, grant in plan.rules:
        if rule_matches is None or rule_matches(case):
            grants.append(grant)
    return grants


def _above(
    directory: Directory, seat: Seat, user: User, named: int, level: Level, source: Cause
) -> Grant | None:
    """The hierarchy grant of a manager over a grant to (or a case of) user ``named``, if the
    manager's role is above theirs; kept in the seat: a manager meets the same grantees on
    case after case (the hot household's grants, on each of its children)."""
    key = (named, level, source)
    above = seat.above
    if key in above:
        return above[key]
    other = directory.users.get(named)
    found = None
    if (
        other is not None
        and other.id != user.id
        and directory.is_above(user.role_id, other.role_id)
    ):
        path = (
            f"hierarchy → role:{user.role_id} above role:{other.role_id} of user:{other.id}"
            f" ({source.value})"
        )
        found = Grant(Cause.HIERARCHY, level, path, level, source=source)
    if len(above) >= 100_000:  # users × levels × causes: bounded all the same
        above.clear()
    above[key] = found
    return found


def sync_path(ctx: AgencyContext, user: User, route: SyncRoute) -> str | None:
    """``sync → case:A (owner → …) → parent case:B → extension case:C``: from the case the
    user owns to this one. None when the route is the owned case alone (the owner grant says
    it all) or its first case is not the user's (stale facts)."""
    owner_path = ctx.directory.owner_ids(user.id).get(route.owner)
    if owner_path is None or len(route.steps) < 2:
        return None
    first, *rest = route.steps
    parts = [f"case:{first[0]} (owner → {owner_path})"]
    parts += [f"{how} case:{case_id}" for case_id, how in rest]
    return "sync → " + " → ".join(parts)


def _permission(perms: frozenset[str]) -> tuple[Grant, ...]:
    if "admin" in perms or "modify_all" in perms:
        which = "admin" if "admin" in perms else "modify_all"
        return (Grant(Cause.PERMISSION, Level.FULL, f"permission → {which}", Level.FULL),)
    if "view_all" in perms:
        return (Grant(Cause.PERMISSION, Level.READ, "permission → view_all", Level.READ),)
    return ()


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
