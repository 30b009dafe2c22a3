"""'Which cases can this user see' as one SQL query, built from the engine's grant sources.

Each fragment below mirrors one row cause of ``caseshare.core.engine`` (S-ACC-7: list = check).
The property test in ``tests/test_property_consistency.py`` holds the two to the same answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from caseshare.core.engine import AgencyContext
from caseshare.core.levels import Level
from caseshare.core.model import User
from caseshare.core.principals import Principal
from caseshare.core.rules import AllOf, AnyOf, Condition, Criterion, Rule
from caseshare.store.dialect import Dialect


@dataclass
class Fragment:
    """A piece of SQL and its parameters, joined with others by AND / OR."""

    sql: str
    params: list[Any] = field(default_factory=list)


def _or(parts: list[Fragment]) -> Fragment:
    parts = [p for p in parts if p.sql not in ("0", "FALSE")]
    if not parts:
        return Fragment("1 = 0")
    return Fragment(
        "(" + " OR ".join(p.sql for p in parts) + ")", [x for p in parts for x in p.params]
    )


def _and(parts: list[Fragment]) -> Fragment:
    return Fragment(
        "(" + " AND ".join(p.sql for p in parts) + ")", [x for p in parts for x in p.params]
    )


def _in(d: Dialect, expr: str, values: list[Any]) -> Fragment:
    sql, params = d.in_list(expr, values)
    return Fragment(sql, params)


#: SQLite: a WHERE term, always true of the rows it is put on (``{}`` names a pk that is never
#: NULL), that tells the planner the table it names holds few rows. SQLite sizes a CTE (the
#: user's direct cases, a recursive walk's queue) as a million rows, and for a join from so big
#: an outer table into ``case_indices`` it first builds a Bloom filter by reading every row of
#: ``case_indices``, of every agency: 37 ms of a 38 ms walk at size L, growing with the
#: database, for a walk that probes the index a few dozen times (issue 12 item 1). With the
#: outer table sized small, each of its rows probes the index, which costs what it holds.
FEW = "likelihood({} IS NOT NULL, 0.000001)"


#: a shared text (``VisibilityQuery(shared=True)``) holds every criteria rule of the agency,
#: each behind its own guard, up to so many; past it, the user's own rules (a text per user)
SHARED_RULES = 32


def _criteria_rule(rule: Rule) -> bool:
    """Rules ``visible_own`` tests by their criteria (row cause ``rule``, criteria kind)."""
    return rule.kind == "criteria" and rule.criteria is not None


def _direct_criteria(rule: Rule) -> bool:
    """Rules ``direct`` tests by their criteria (``rule``: every rule but an owner rule)."""
    return not (rule.kind == "owner" and rule.owner_in is not None) and rule.criteria is not None


class VisibilityQuery:
    """Builds the SQL condition "user may view case ``alias``" for one user and agency context."""

    def __init__(
        self,
        d: Dialect,
        ctx: AgencyContext,
        user: User,
        *,
        inbound: Sequence[int] = (),
        whole: bool = False,
        live: Sequence[int] | None = None,
        shared: bool = False,
    ) -> None:
        self.d = d
        #: PostgreSQL: the statement's text is the same for every user of the agency with the
        #: same shape (hierarchy or not, rules or not, teams or not), never their number: the
        #: owner rules' owners join the owner ids' array, and every criteria rule of the agency
        #: is in the text behind a parameter saying whether the user holds it. So the text can
        #: be prepared once and run on a generic plan (``CaseListStore._walk``), where a text
        #: per user was planned at every run (2.5-3.5 ms of a first page at S). SQLite keeps
        #: the user's own rules (its statement cache is per text either way).
        self.shared = shared and bool(d.per_row)
        #: the pks of the user's live set as ``live_walk`` found them under a stamp that still
        #: holds (``store.livesets``): row cause ``sync`` is then a list of pks, not the walk
        self.live = None if live is None else sorted(live)
        #: the query reads the user's whole set (a count): a criteria rule's neighbour test may
        #: then be one pass over the agency (PostgreSQL's hashed subplan) rather than a probe
        #: per row; a page, which tests the few rows it walks, always probes
        self.fence = "" if whole else d.per_row
        #: agencies whose data flows into this one today (S-AG-1), for ``agency_share``
        self.inbound = list(inbound)
        self.ctx = ctx
        self.user = user
        directory = ctx.directory
        self.principals = [str(p) for p in directory.principals_of(user.id)]
        self.owner_ids = [str(p) for p in directory.owner_ids(user.id)]
        self.me = str(Principal("user", user.id))
        self.live_team_roles = [r.id for r in ctx.team_roles.values() if r.level > Level.NONE]
        below: list[int] = []
        if ctx.settings.hierarchy_access and user.role_id is not None:
            below = sorted(directory.roles_below(user.role_id))
        self.roles_below = below
        granted = set(directory.principals_of(user.id))
        self.rules = [r for r in ctx.rules if r.active and r.grantee in granted]

    @property
    def blocked(self) -> bool:
        return not self.user.active or self.user.agency_id != self.ctx.agency_id

    # -- the grant sources ------------------------------------------------------------------------

    def direct(self, alias: str) -> Fragment:
        """Owner, hierarchy, stored grants and rules: the direct grants of the engine."""
        d = self.d
        owners = self.owner_ids
        if self.shared:  # the owner rules' owners with the user's own: one array
            owners = sorted(set(owners).union(*(self._rule_owners(r) for r in self.rules)))
        parts = [_in(d, f"{alias}.owner", owners)]
        stored = [
            _and([Fragment("g.cause = 'manual'"), _in(d, "g.grantee", self.principals)]),
            Fragment("(g.cause = 'assigned' AND g.grantee = ?)", [self.me]),
        ]
        if self.live_team_roles:
            stored.append(
                _and(
                    [
                        Fragment("g.cause = 'team' AND g.grantee = ?", [self.me]),
                        _in(d, "g.team_role_id", self.live_team_roles),
                    ]
                )
            )
        hierarchy = self.hierarchy(alias)
        if hierarchy:
            parts.append(hierarchy[0])
        # one EXISTS per source: the grantee's own sources are seeks of the unique index
        # (case_pk, cause, grantee), where one EXISTS of their OR read every grant of the case
        # (a case shared a thousand times cost a thousand rows each time it was walked past)
        for source in stored:
            parts.append(
                Fragment(
                    f"EXISTS (SELECT 1 FROM grants g WHERE g.case_pk = {alias}.pk"
                    f" AND g.is_deleted = 0 AND {source.sql}{self.fence})",
                    source.params,
                )
            )
        parts += hierarchy[1:]
        if not self.shared:
            for rule in self.rules:
                parts.append(self.rule(alias, rule.kind, rule.owner_in, rule.criteria))
            return _or(parts)
        guarded = self._guarded(alias, _direct_criteria)
        if guarded is not None:
            parts.append(guarded)
        return _or(parts)

    def hierarchy(self, alias: str) -> list[Fragment]:
        """S-HIER-1 from the row: the case's owner, then one of its grantees, in a role below
        the user's (none when the agency's hierarchy access is off or no role is below)."""
        if not self.roles_below:
            return []
        d = self.d
        # looked up from the row (the owner's and grantee's role, by primary key): the same
        # cost for the top of the role tree as for a team lead, at any agency size
        managed = _in(d, "hu.role_id", self.roles_below)
        owner = Fragment(
            f"EXISTS (SELECT 1 FROM users hu WHERE hu.id = {alias}.owner_user_id"
            f" AND hu.agency_id = ? AND {managed.sql}{self.fence})",
            [self.ctx.agency_id, *managed.params],
        )
        managed = _in(d, "hg.role_id", self.roles_below)
        team_ok = _or(
            [Fragment("g.cause <> 'team'"), _in(d, "g.team_role_id", self.live_team_roles)]
        )
        source = _and(
            [
                Fragment(
                    "EXISTS (SELECT 1 FROM users hg WHERE hg.id = g.grantee_user_id"
                    f" AND hg.agency_id = ? AND {managed.sql}{self.fence})",
                    [self.ctx.agency_id, *managed.params],
                ),
                team_ok,
            ]
        )
        granted = Fragment(
            f"EXISTS (SELECT 1 FROM grants g WHERE g.case_pk = {alias}.pk"
            f" AND g.is_deleted = 0 AND {source.sql}{self.fence})",
            source.params,
        )
        return [owner, granted]

    def _rule_owners(self, rule: Rule) -> list[str]:
        """The owners an owner rule reads (``rule``), none for any other rule."""
        if rule.kind == "owner" and rule.owner_in is not None:
            return [str(p) for p in self.ctx.directory.owners_within(rule.owner_in)]
        return []

    def _guarded(self, alias: str, pick: Callable[[Rule], bool]) -> Fragment | None:
        """The OR of the criteria of the user's rules that ``pick`` selects (None: none).
        Shared (PostgreSQL): every such rule of the agency, each as ``(? AND criteria)`` with
        the parameter true for the user's own, so the text depends on the agency's rules only;
        a guard that is false never evaluates its criteria."""
        mine = [r for r in self.rules if pick(r)]
        if not mine:
            return None
        every = [r for r in self.ctx.rules if r.active and pick(r)]
        if not self.shared or len(every) > SHARED_RULES:
            return _or([self.criteria(alias, r.criteria) for r in mine if r.criteria])
        held = {id(r) for r in mine}
        parts = []
        for rule in every:
            assert rule.criteria is not None  # ``pick`` selects rules with criteria
            c = self.criteria(alias, rule.criteria)
            parts.append(Fragment(f"(? AND {c.sql})", [id(rule) in held, *c.params]))
        return _or(parts)

    def rule(
        self, alias: str, kind: str, owner_in: Principal | None, criteria: Criterion | None
    ) -> Fragment:
        if kind == "owner" and owner_in is not None:
            owners = sorted(str(p) for p in self.ctx.directory.owners_within(owner_in))
            return _in(self.d, f"{alias}.owner", owners)
        if criteria is None:
            return Fragment("1 = 0")
        return self.criteria(alias, criteria)

    def criteria(self, alias: str, c: Criterion) -> Fragment:
        if isinstance(c, AllOf):
            return _and([self.criteria(alias, x) for x in c.items])
        if isinstance(c, AnyOf):
            return _or([self.criteria(alias, x) for x in c.items])
        return self.condition(alias, c)

    def condition(self, alias: str, c: Condition) -> Fragment:
        d = self.d
        if c.field == "property":
            expr = d.json_get(f"{alias}.properties")
            key = [d.json_key(c.key or "")]
        else:
            expr = f"{alias}.{c.field}"
            key = []
        if c.op == "not_equals":
            return Fragment(f"({expr} IS NULL OR {expr} <> ?)", [*key, *key, c.value])
        if c.op == "exists":
            return Fragment(f"({expr} IS NOT NULL AND {expr} <> '')", [*key, *key])
        if c.op == "equals":
            return Fragment(f"{expr} = ?", [*key, c.value])
        if c.op == "in":
            values = list(c.value or ())
            sql, params = d.in_list(expr, values)
            return Fragment(sql, [*key, *params])
        prefix = str(c.value)
        return Fragment(d.prefix(expr), [*key, len(prefix), prefix])

    def direct_pks(self, *, hierarchy: bool = True) -> Fragment:
        """The pks of live cases the user has a direct grant on, each source from an index;
        without ``hierarchy``, the S-HIER-1 sources left out (the cases of everyone in a role
        below the user's: a tenth of the agency for a district manager)."""
        d = self.d
        agency = self.ctx.agency_id
        live = "c.agency_id = ? AND c.deleted = 0"
        owners = set(self.owner_ids)
        criteria_rules = []
        for rule in self.rules:
            if rule.kind == "owner" and rule.owner_in is not None:
                owners.update(str(p) for p in self.ctx.directory.owners_within(rule.owner_in))
            elif rule.criteria is not None:
                criteria_rules.append(rule.criteria)
        sources: list[Fragment] = []
        owned = _in(d, "c.owner", sorted(owners))
        sources.append(
            Fragment(
                f"SELECT c.pk FROM cases c WHERE {live} AND {owned.sql}", [agency, *owned.params]
            )
        )
        shared = _in(d, "g.grantee", self.principals)
        sources.append(
            Fragment(
                "SELECT g.case_pk FROM grants g WHERE g.agency_id = ? AND g.is_deleted = 0"
                f" AND g.cause = 'manual' AND {shared.sql}",
                [agency, *shared.params],
            )
        )
        mine = "g.agency_id = ? AND g.is_deleted = 0 AND g.grantee = ?"
        sources.append(
            Fragment(
                f"SELECT g.case_pk FROM grants g WHERE {mine} AND g.cause = 'assigned'",
                [agency, self.me],
            )
        )
        if self.live_team_roles:
            roles = _in(d, "g.team_role_id", self.live_team_roles)
            sources.append(
                Fragment(
                    f"SELECT g.case_pk FROM grants g WHERE {mine}"
                    f" AND g.cause = 'team' AND {roles.sql}",
                    [agency, self.me, *roles.params],
                )
            )
        if hierarchy and self.roles_below:
            managed = _in(d, "u.role_id", self.roles_below)
            users = Fragment(
                f"SELECT u.id FROM users u WHERE u.agency_id = ? AND {managed.sql}",
                [agency, *managed.params],
            )
            sources.append(
                Fragment(
                    f"SELECT c.pk FROM cases c WHERE {live} AND c.owner_user_id IN ({users.sql})",
                    [agency, *users.params],
                )
            )
            team_ok = _or(
                [Fragment("g.cause <> 'team'"), _in(d, "g.team_role_id", self.live_team_roles)]
            )
            sources.append(
                Fragment(
                    "SELECT g.case_pk FROM grants g WHERE g.agency_id = ? AND g.is_deleted = 0"
                    f" AND g.grantee_user_id IN ({users.sql}) AND {team_ok.sql}",
                    [agency, *users.params, *team_ok.params],
                )
            )
        del criteria_rules  # tested row by row in visible(): no index helps criteria
        return Fragment(
            " UNION ".join(f.sql for f in sources), [x for f in sources for x in f.params]
        )

    def agency_share(self, alias: str) -> Fragment:
        """S-AG-4: cases of other agencies sent here by an active share whose agreement lets
        data flow today, to this user as the receiving user or as a member of a chosen unit."""
        if not self.inbound:
            return Fragment("1 = 0")
        d = self.d
        senders = _in(d, "s.from_agency_id", self.inbound)
        groups = [p.id for p in self.ctx.directory.principals_of(self.user.id) if p.kind == "group"]
        units = _in(d, "u.group_id", groups)
        return Fragment(
            f"({alias}.deleted = 0 AND {alias}.pk IN (SELECT s.case_pk FROM agency_shares s"
            f" WHERE s.to_agency_id = ? AND s.status = 'active' AND {senders.sql}"
            " AND (s.receiving_user_id = ? OR s.id IN (SELECT u.share_id FROM"
            f" agency_share_units u WHERE {units.sql}))))",
            [self.ctx.agency_id, *senders.params, self.user.id, *units.params],
        )

    def visible(self, alias: str = "c") -> Fragment:
        """Cases of the user's agency the user may view, and cases sent here (S-AG-4)."""
        own = self.visible_own(alias)
        if self.blocked or not self.inbound:
            return own
        return _or([own, self.agency_share(alias)])

    def visible_own(self, alias: str = "c") -> Fragment:
        """The whole condition: default, permission, direct and implicit grants.

        Direct grants come from indexed lookups (``direct_pks``); implicit ones are one hop over
        ``case_indices`` from those cases, so the cost follows what the user can see, not the
        size of the agency.
        """
        if self.blocked:
            return Fragment("1 = 0")
        settings = self.ctx.settings
        base = Fragment(f"{alias}.agency_id = ? AND {alias}.deleted = 0", [self.ctx.agency_id])
        if self.user.permissions & {"admin", "modify_all", "view_all"}:
            return base
        defaults = settings.default_access
        shared_types = [t for t, v in defaults.items() if t != "*" and v != "private"]
        private_types = [t for t, v in defaults.items() if t != "*" and v == "private"]
        parts: list[Fragment] = []
        if defaults.get("*", "private") != "private":  # "*" covers every other type
            private = _in(self.d, f"{alias}.case_type", private_types)
            parts.append(Fragment(f"NOT ({private.sql})", private.params))
        elif shared_types:
            parts.append(_in(self.d, f"{alias}.case_type", shared_types))
        direct = self.direct_pks()
        hops = ["SELECT pk FROM direct"]
        if self.d.per_row:
            # PostgreSQL: one index probe per direct case (LATERAL, fenced), where its planner
            # would otherwise hash the whole of case_indices for a few hundred direct cases
            fence = self.d.per_row
            if settings.child_level > Level.NONE:
                hops.append(
                    "SELECT i.case_pk FROM direct, LATERAL (SELECT i.case_pk FROM case_indices i"
                    f" WHERE i.ref_pk = direct.pk AND i.relationship = 'child'{fence}) i"
                )
            hops.append(
                "SELECT i.ref_pk FROM direct, LATERAL (SELECT i.ref_pk FROM case_indices i"
                f" WHERE i.case_pk = direct.pk{fence}) i"
            )
        else:
            # SQLite: CROSS JOIN keeps the direct cases outside, each probing the index (it knows
            # nothing of a CTE's size, and scanned every index row of the agency instead)
            if settings.child_level > Level.NONE:
                hops.append(
                    "SELECT i.case_pk FROM direct CROSS JOIN case_indices i"
                    " ON i.ref_pk = direct.pk AND i.relationship = 'child'"
                    f" WHERE {FEW.format('direct.pk')}"
                )
            hops.append(
                "SELECT i.ref_pk FROM direct CROSS JOIN case_indices i ON i.case_pk = direct.pk"
                f" WHERE {FEW.format('direct.pk')}"
            )
        parts.append(
            Fragment(
                f"{alias}.pk IN (WITH direct(pk) AS ({direct.sql}) {' UNION '.join(hops)})",
                direct.params,
            )
        )
        parts.append(self.synced(alias))
        mine = self._criteria_any(alias)
        if mine is not None:
            parts.append(mine)
            if settings.child_level > Level.NONE:
                parent = self._criteria_any("p")
                assert parent is not None
                parts.append(
                    Fragment(
                        "EXISTS (SELECT 1 FROM case_indices pi JOIN cases p ON p.pk = pi.ref_pk"
                        f" WHERE pi.case_pk = {alias}.pk AND pi.relationship = 'child'"
                        f" AND p.deleted = 0 AND {parent.sql}{self.fence})",
                        parent.params,
                    )
                )
            child = self._criteria_any("k")
            assert child is not None
            parts.append(
                Fragment(
                    "EXISTS (SELECT 1 FROM case_indices ki JOIN cases k ON k.pk = ki.case_pk"
                    f" WHERE ki.ref_pk = {alias}.pk AND k.deleted = 0 AND {child.sql}"
                    f"{self.fence})",
                    child.params,
                )
            )
        return _and([base, _or(parts)])

    def synced(self, alias: str) -> Fragment:
        """Row cause ``sync``: the user's S-SYNC-1 live set, as a recursive walk from the cases
        they own (the SQL twin of ``core.sync.live_cases``; the property test and the CommCare
        conformance graphs hold the two to the same sets).

        ``ext(x)``: x is an extension — it indexes a live case as extension and none as child.
        Owned cases that are open extensions start the live set only if a chain of open hosts
        reaches an open case that is no extension (they are *available*); every other owned
        open case starts it. From a live case the walk goes to every case it indexes (open or
        closed) and to its open extensions (an index that is child and extension at once is a
        child).
        """
        if self.blocked or not self.owner_ids:
            return Fragment("1 = 0")
        if self.live is not None:
            return _in(self.d, f"{alias}.pk", self.live)
        walk = self.live_walk()
        return Fragment(f"{alias}.pk IN ({walk.sql})", walk.params)

    def live_walk(self, *, seeds_only: bool = False) -> Fragment:
        """The statement of ``synced``'s walk: ``SELECT pk`` of every case of the user's live
        set (only for a user who is not blocked and owns as someone). ``seeds_only``: the
        cases the walk starts from (owned and available), for a walk run step by step
        (``LIVE_STEP``, ``store.livesets.LiveGraph``)."""
        owned = _in(self.d, "c.owner", self.owner_ids)

        fence = self.d.per_row  # a few owned cases: probe each, never hash every extension

        def ext(x: str) -> str:
            return (
                f"(EXISTS (SELECT 1 FROM case_indices xe JOIN cases xt ON xt.pk = xe.ref_pk"
                f" WHERE xe.case_pk = {x}.pk AND xe.relationship = 'extension'"
                f" AND xt.deleted = 0 AND xt.pk <> {x}.pk{fence})"
                f" AND NOT EXISTS (SELECT 1 FROM case_indices xc JOIN cases xt ON xt.pk = xc.ref_pk"
                f" WHERE xc.case_pk = {x}.pk AND xc.relationship = 'child'"
                f" AND xt.deleted = 0 AND xt.pk <> {x}.pk{fence}))"
            )

        mine = f"c.agency_id = ? AND c.deleted = 0 AND c.closed = 0 AND {owned.sql}"
        # no join to ``cases`` inside the recursive steps (EXISTS on the index row's ends
        # instead): on SQLite such a join builds a Bloom filter over every case at each step
        open_case = "NOT EXISTS (SELECT 1 FROM cases h WHERE h.pk = {} AND (h.deleted <> 0 OR h.closed <> 0))"
        not_deleted = "NOT EXISTS (SELECT 1 FROM cases d WHERE d.pk = {} AND d.deleted <> 0)"
        # every case in ``live`` is live (undeleted): a step tests only the end it reaches,
        # the indexed case going up (deleted or not), an open one going down to an extension
        up_step = f"i.ref_pk <> live.pk AND {not_deleted.format('i.ref_pk')}"
        down_step = (
            f"i.case_pk <> live.pk AND {open_case.format('i.case_pk')}"
            " AND NOT EXISTS (SELECT 1 FROM case_indices j WHERE j.case_pk = i.case_pk"
            " AND j.ref_pk = i.ref_pk AND j.relationship = 'child')"
        )
        if fence:
            # PostgreSQL plans a recursive step once, for a guessed work table: LATERAL probes
            # keep it to index lookups from each live case instead of a hash of case_indices
            up_hosts = (
                " UNION SELECT up.seed, i.ref_pk FROM up, LATERAL (SELECT i.ref_pk FROM"
                " case_indices i WHERE i.case_pk = up.pk AND i.relationship = 'extension'"
                f" AND i.ref_pk <> up.pk AND {open_case.format('i.ref_pk')}{fence}) i"
            )
            step = (
                " UNION SELECT n.pk FROM live, LATERAL (SELECT i.ref_pk AS pk FROM case_indices i"
                f" WHERE i.case_pk = live.pk AND {up_step}"
                " UNION ALL SELECT i.case_pk FROM case_indices i WHERE i.ref_pk = live.pk"
                f" AND i.relationship = 'extension' AND {down_step}{fence}) n"
            )
        else:
            up_hosts = (
                " UNION SELECT up.seed, i.ref_pk FROM up"
                " JOIN case_indices i ON i.case_pk = up.pk AND i.relationship = 'extension'"
                f" WHERE {FEW.format('up.pk')} AND i.ref_pk <> up.pk"
                f" AND {open_case.format('i.ref_pk')}"
            )
            step = (
                " UNION SELECT CASE WHEN i.case_pk = live.pk THEN i.ref_pk ELSE i.case_pk END"
                " FROM live JOIN case_indices i ON i.case_pk = live.pk"
                " OR (i.ref_pk = live.pk AND i.relationship = 'extension')"
                f" WHERE (i.case_pk = live.pk AND {up_step}) OR (i.case_pk <> live.pk AND"
                f" {down_step})"
            )
        seeds = (
            "WITH RECURSIVE"
            # owned open extensions, and the open hosts above them
            f" up(seed, pk) AS (SELECT c.pk, c.pk FROM cases c WHERE {mine} AND {ext('c')}"
            f"{up_hosts}),"
            # owned and available
            f" seed(pk) AS (SELECT c.pk FROM cases c WHERE {mine} AND NOT {ext('c')}"
            f" UNION SELECT up.seed FROM up WHERE NOT {ext('up')})"
        )
        agency = self.ctx.agency_id
        params = [agency, *owned.params, agency, *owned.params]
        if seeds_only:
            return Fragment(f"{seeds} SELECT pk FROM seed", params)
        return Fragment(
            f"{seeds}, live(pk) AS (SELECT pk FROM seed{step}) SELECT pk FROM live", params
        )

    #: ``live_walk``'s step from each of a set of live cases (a JSON array of pks, SQLite):
    #: (from, to) for every case it indexes (undeleted) and every open extension of it that
    #: does not also index it as child; the same conditions as the walk's recursive step
    LIVE_STEP = (
        "SELECT i.case_pk, i.ref_pk FROM case_indices i"
        " WHERE i.case_pk IN (SELECT value FROM json_each(?1)) AND i.ref_pk <> i.case_pk"
        " AND NOT EXISTS (SELECT 1 FROM cases d WHERE d.pk = i.ref_pk AND d.deleted <> 0)"
        " UNION ALL SELECT i.ref_pk, i.case_pk FROM case_indices i"
        " WHERE i.ref_pk IN (SELECT value FROM json_each(?1)) AND i.relationship = 'extension'"
        " AND i.case_pk <> i.ref_pk"
        " AND NOT EXISTS (SELECT 1 FROM cases h WHERE h.pk = i.case_pk"
        " AND (h.deleted <> 0 OR h.closed <> 0))"
        " AND NOT EXISTS (SELECT 1 FROM case_indices j WHERE j.case_pk = i.case_pk"
        " AND j.ref_pk = i.ref_pk AND j.relationship = 'child')"
    )

    def visible_row(self, alias: str = "c") -> Fragment:
        """``visible`` tested row by row: the user's own agency's cases (``visible_row_own``)
        and cases sent here (S-AG-4)."""
        own = self.visible_row_own(alias)
        if self.blocked or not self.inbound:
            return own
        return _or([own, self.agency_share(alias)])

    def visible_row_own(self, alias: str = "c", *, sparse: bool = False) -> Fragment:
        """The same condition as ``visible_own``, tested row by row: each source is an indexed
        lookup from the row (its owner, its grants by ``case_pk``, its neighbours through
        ``case_indices``), so testing a row costs the same at any agency size.

        For walking a sort index with a LIMIT when the user sees much of the agency (and for
        sampling), where ``visible`` would first build the user's whole candidate set.

        ``sparse`` (a user who does not see much by role or permission, ``caselist.sees_much``):
        implicit_parent from the owner and grant sources is one set per statement — the
        parents of the cases the user owns or holds a grant on (``direct_pks``, small for such
        a user), probed once per row — instead of a look at every child of every row walked: a
        household with thousands of children the user cannot see cost thousands of probes to
        walk past. What no small set holds stays per row: criteria rules on the children (no
        index answers them) and the role tree's sources (S-HIER-1: the cases of everyone in a
        role below, a tenth of the agency for a district manager, which as a set cost a first
        page 0.1-1.2 s at size L against 10-25 ms tested on the children of the rows walked).
        """
        if self.blocked:
            return Fragment("1 = 0")
        settings = self.ctx.settings
        base = Fragment(f"{alias}.agency_id = ? AND {alias}.deleted = 0", [self.ctx.agency_id])
        if self.user.permissions & {"admin", "modify_all", "view_all"}:
            return base
        defaults = settings.default_access
        shared_types = [t for t, v in defaults.items() if t != "*" and v != "private"]
        private_types = [t for t, v in defaults.items() if t != "*" and v == "private"]
        parts: list[Fragment] = []
        if defaults.get("*", "private") != "private":
            private = _in(self.d, f"{alias}.case_type", private_types)
            parts.append(Fragment(f"NOT ({private.sql})", private.params))
        elif shared_types:
            parts.append(_in(self.d, f"{alias}.case_type", shared_types))
        parts.append(self.direct(alias))
        n = len(alias)  # neighbour aliases of their own, so nested lookups never clash
        parent, child = f"p{n}", f"k{n}"
        if settings.child_level > Level.NONE:  # implicit_child: a parent the user reaches
            up = self.direct(parent)
            parts.append(
                Fragment(
                    f"EXISTS (SELECT 1 FROM case_indices i{parent} JOIN cases {parent}"
                    f" ON {parent}.pk = i{parent}.ref_pk WHERE i{parent}.case_pk = {alias}.pk"
                    f" AND i{parent}.relationship = 'child' AND {parent}.deleted = 0"
                    f" AND {up.sql}{self.fence})",
                    up.params,
                )
            )
        if sparse:  # implicit_parent: the parents of the user's direct cases, as one set
            direct = self.direct_pks(hierarchy=False)
            # PostgreSQL: each direct case's indices by its pk, behind a fence (its estimate
            # of the direct set hashed all of case_indices or cases instead, a scan of the
            # agency's every index row on every page); SQLite's CROSS JOIN keeps them outside
            hop = (
                f"SELECT i{child}.ref_pk FROM direct CROSS JOIN case_indices i{child}"
                f" ON i{child}.case_pk = direct.pk CROSS JOIN cases {child} ON {child}.pk = direct.pk"
                f" WHERE {FEW.format('direct.pk')} AND {child}.deleted = 0"
            )
            if self.d.per_row:
                hop = (
                    f"SELECT u.ref_pk FROM direct, LATERAL (SELECT i{child}.ref_pk"
                    f" FROM case_indices i{child} JOIN cases {child}"
                    f" ON {child}.pk = i{child}.case_pk WHERE i{child}.case_pk = direct.pk"
                    f" AND {child}.deleted = 0{self.d.per_row}) u"
                )
            parts.append(
                Fragment(f"{alias}.pk IN (WITH direct(pk) AS ({direct.sql}) {hop})", direct.params)
            )
            # what no set of the user's holds: criteria rules and the role tree, from the row
            row = self.hierarchy(child)
            criteria = self._criteria_any(child)
            if criteria is not None:
                row.append(criteria)
            down = _or(row) if row else None
        else:
            down = self.direct(child)  # implicit_parent: a child or extension the user reaches
        if down is not None:
            parts.append(
                Fragment(
                    f"EXISTS (SELECT 1 FROM case_indices i{child} JOIN cases {child}"
                    f" ON {child}.pk = i{child}.case_pk WHERE i{child}.ref_pk = {alias}.pk"
                    f" AND {child}.deleted = 0 AND {down.sql}{self.fence})",
                    down.params,
                )
            )
        parts.append(self.synced(alias))  # row cause sync: one walk per statement, not per row
        return _and([base, _or(parts)])

    def _criteria_any(self, alias: str) -> Fragment | None:
        """The user's criteria rules on ``alias``, any of them (None: the user holds none)."""
        return self._guarded(alias, _criteria_rule)


#: the columns of a case list row, ``summary`` reads them in this order (pk first)
SUMMARY_COLUMNS = (
    "c.pk, c.case_id, c.case_type, c.name, c.owner, c.closed, c.opened_on,"
    " c.server_modified_on, c.external_id"
)


def summary(row: Sequence[Any]) -> dict[str, Any]:
    """A case as a list shows it, from a row of ``SUMMARY_COLUMNS``."""
    return {
        "case_id": row[1],
        "case_type": row[2],
        "name": row[3],
        "owner": row[4],
        "closed": bool(row[5]),
        "opened_on": row[6],
        "server_modified_on": row[7],
        "external_id": row[8],
    }
