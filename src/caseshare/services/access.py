"""Checking, explaining and listing access: the engine fed from the store."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field, replace
from typing import Any

from caseshare.core.agencyshares import sharing_state
from caseshare.core.agreements import data_flows
from caseshare.core.directory import Directory
from caseshare.core.engine import Access, AgencyContext, Decision, evaluate
from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action, Level
from caseshare.core.model import CaseFacts, SyncRoute, User
from caseshare.core.principals import Principal
from caseshare.core.sync import SyncNode, live_cases, live_routes
from caseshare.services.context import ContextCache
from caseshare.services.factcache import FACTS, Entry, Stamp
from caseshare.store import Store
from caseshare.store.caselist import SORTS, CaseFilter, sees_much
from caseshare.store.dialect import SQLITE
from caseshare.store.listing import Fragment, VisibilityQuery, summary
from caseshare.store.livesets import Stamp as ListStamp

__all__ = ["SORTS", "AccessService", "CaseCount", "CaseFilter", "Page"]

#: how many children a check loads to find implicit_parent grants (any one suffices for read)
CHILD_SAMPLE = 10


#: an estimated count is shown only from here up; below it, the exact count costs little
ESTIMATE_FROM = 10_000
#: and only when this many sampled cases were visible (a relative error of about 7 % at most)
ESTIMATE_HITS = 200
#: up to this many cases in the agency's pk range, a user who does not see much of it by role or
#: permission is counted (up to ``ESTIMATE_FROM``) before any sample: the exact count of such an
#: agency costs about what the full sample costs; past it, the sample comes first
COUNT_FIRST = 50_000


@dataclass(frozen=True)
class CaseCount:
    """How many cases a list holds: exact, or (``exact=False``) a fast estimate, rounded to
    three significant figures, that a screen shows as "about 166,000"."""

    value: int
    exact: bool = True


def _rounded(n: int) -> int:
    digits = len(str(n))
    step = 10 ** max(0, digits - 3)
    return int(round(n / step) * step)


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None
    limit: int = 50
    extra: dict[str, Any] = field(default_factory=dict)
    #: the cursor of the page before this one (``backwards=True``), None on the first page
    prev_cursor: str | None = None
    #: the directory of the agency context the page was read under (owners' names for a
    #: response, without reading the agency's state again)
    directory: Directory | None = None


class AccessService:
    """Reads only: decisions, explanations, listings."""

    def __init__(self, store: Store, cache: ContextCache | None = None) -> None:
        self.store = store
        self.cache = cache or ContextCache()
        self._agency_of: dict[int, int] = {}  # users never change agency
        self._direct: dict[tuple[int, int, int], Fragment] = {}
        self._inbound: dict[tuple[int, int, dt.date], tuple[int, ...]] = {}

    def context(self, agency_id: int) -> AgencyContext:
        return self.cache.get(self.store, agency_id)

    def recent_context(self, agency_id: int) -> AgencyContext:
        """The agency's context as this process last read it, without reading the agency's
        state again: for names shown beside an answer that was just decided on a context at
        least this old (a decision itself always uses ``context`` or reads the state)."""
        return self.cache.held(self.store, agency_id) or self.context(agency_id)

    def user(self, user_id: int, stamp: Stamp | None = None) -> tuple[AgencyContext, User]:
        agency_id = self._agency_of.get(user_id)
        if agency_id is None:
            agency_id = self._agency_of[user_id] = self.store.user(user_id).agency_id
        ctx = self.cache.get(self.store, agency_id, stamp)
        found = ctx.directory.users.get(user_id)
        if found is None:
            raise CaseShareError("not_found", f"User {user_id} was not found.")
        return ctx, found

    def _known_agency(self, user_id: int) -> int | None:
        """The user's agency without a read, when this process knows it: users never change
        agency, and a context of any age that lists the user names it."""
        agency_id = self._agency_of.get(user_id)
        if agency_id is None:
            agency_id = self.cache.agency_listing(user_id)
            if agency_id is not None:
                self._agency_of[user_id] = agency_id
        return agency_id

    def _listing(self, user_id: int) -> tuple[AgencyContext, User, ListStamp | None]:
        """``user`` for a list page, with the page's ``list_stamp`` read in the same round trip
        as the agency's state on PostgreSQL (``agency_state_and_stamp``); None on SQLite,
        whose stamp costs no round trip (the page reads it)."""
        agency_id = self._known_agency(user_id)
        if agency_id is None or self.store.dialect is SQLITE:
            ctx, user = self.user(user_id)
            return ctx, user, None
        state, stamp = self.store.agency_state_and_stamp(agency_id)
        ctx = self.cache.at(self.store, agency_id, state)
        found = ctx.directory.users.get(user_id)
        if found is None:
            raise CaseShareError("not_found", f"User {user_id} was not found.")
        return ctx, found, stamp

    def case(self, ctx: AgencyContext, case_id: str) -> CaseFacts:
        found = self.store.case_row(ctx.agency_id, case_id)
        if found is None:
            raise CaseShareError("not_found", f"Case {case_id!r} was not found.")
        return found

    def _direct_fragment(self, ctx: AgencyContext, user: User) -> Fragment:
        key = (ctx.agency_id, ctx.version, user.id)
        direct = self._direct.get(key)
        if direct is None:
            if len(self._direct) > 10_000:
                self._direct.clear()
            direct = self._direct[key] = VisibilityQuery(self.store.dialect, ctx, user).direct("c")
        return direct

    def inbound_from(self, agency: int | AgencyContext) -> tuple[int, ...]:
        """The agencies whose case data may flow into this one today (S-AG-1): the senders
        whose active agency shares its users read (S-AG-4). Agreement changes bump both
        agencies' versions, so this is cached by version and day. Given the context a request
        already holds, no version is read again."""
        ctx = agency if isinstance(agency, AgencyContext) else self.context(agency)
        agency_id = ctx.agency_id
        day = dt.datetime.now(dt.UTC).date()
        key = (agency_id, ctx.version, day)
        found = self._inbound.get(key)
        if found is None:
            if len(self._inbound) > 1000:
                self._inbound.clear()
            rows = self.store.agreements_of(agency_id, status="approved", limit=10_000)
            senders = set()
            for row in rows:
                other = row.agreement.other(agency_id)
                if (
                    other is not None
                    and data_flows(row.agreement, other.agency_id, agency_id, day).allowed
                ):
                    senders.add(other.agency_id)
            found = self._inbound[key] = tuple(sorted(senders))
        return found

    def sharing_states(
        self, case_pks: list[int], links: list[tuple[int, str, int, int]] | None = None
    ) -> dict[int, str | None]:
        """S-AG-5 for a page of cases, in one query: ``sending``, ``receiving``, ``both``,
        ``inactive`` (shares exist, but no agreement lets data flow today) or None.
        ``links``: their ``sharing_links``, when already read."""
        flows: dict[tuple[int, int], bool] = {}
        sent: dict[int, list[bool]] = {}
        got: dict[int, list[bool]] = {}
        if links is None:
            links = self.store.sharing_links(case_pks)
        for pk, kind, a, b in links:
            if (a, b) not in flows:
                flows[(a, b)] = a in self.inbound_from(b)
            (sent if kind == "sent" else got).setdefault(pk, []).append(flows[(a, b)])
        return {pk: sharing_state(sent.get(pk, ()), got.get(pk, ())) for pk in case_pks}

    def xcase_counts(
        self, case_pks: list[int], matches: list[tuple[int, str, str, int]] | None = None
    ) -> dict[int, int]:
        """S-XC-1 for a page of cases, in one query over the deconfliction index: how many
        other cases each one's X-Case alert lists (0: no alert). ``matches``: their
        ``xcase_matches``, when already read."""
        found: dict[int, set[int]] = {}
        if matches is None:
            matches = self.store.xcase_matches(case_pks)
        for pk, _, _, other in matches:
            found.setdefault(pk, set()).add(other)
        return {pk: len(found.get(pk, ())) for pk in case_pks}

    def annotations(
        self, case_pks: list[int], own: list[int]
    ) -> tuple[dict[int, str | None], dict[int, int]]:
        """``sharing_states`` of ``case_pks`` and ``xcase_counts`` of ``own`` (those of the
        reader's own agency), both read in one round trip (PostgreSQL's pipeline)."""
        links: list[tuple[int, str, int, int]] | None = None
        matches: list[tuple[int, str, str, int]] | None = None
        if case_pks and own:
            store = self.store
            found = store.rows_together(
                [store.sharing_links_query(case_pks), store.xcase_matches_query(own)]
            )
            links = store.sharing_links_of(found[0])
            matches = store.xcase_matches_of(found[1])
        return self.sharing_states(case_pks, links), self.xcase_counts(own, matches)

    def _list_rows(self, agency_id: int, rows: list[Any]) -> list[dict[str, Any]]:
        """List rows with their sharing state and X-Case alert count; a case sent here from
        another agency shows its summary only (S-AG-4): no owner id, no external id, the
        sender's name and contact."""
        pks = [r[0] for r in rows]
        own = [r[0] for r in rows if r[10] == agency_id]
        states, alerts = self.annotations(pks, own)
        foreign = [r[0] for r in rows if r[10] != agency_id]
        senders = self.store.sender_cards(foreign) if foreign else {}
        items = []
        for r in rows:
            item = summary(r)
            item["sharing_state"] = states.get(r[0])
            item["x_case_alert"] = alerts.get(r[0], 0)
            if r[10] != agency_id:
                item.update(owner=None, external_id="", sharing_state="receiving")
                item["received_from"] = senders.get(r[0])
            items.append(item)
        return items

    def received_facts(self, case_pk: int) -> CaseFacts | None:
        """A case as the receiving side of its agency shares decides on it: the case row and
        its active shares, each marked with whether its agreement lets data flow today."""
        case = self.store.case_by_pk(case_pk)
        if case is None:
            return None
        shares = tuple(
            replace(s, flowing=s.from_agency_id in self.inbound_from(s.to_agency_id))
            for s in self.store.received_shares(case_pk)
        )
        return replace(case, agency_shares=shares)

    def access_received(self, user_id: int, case_pk: int) -> Access:
        """S-AG-4: a user's access to a case of another agency (only ``agency_share`` can
        give any); a case of the user's own agency is decided as usual."""
        ctx, user = self.user(user_id)
        facts = self.received_facts(case_pk)
        if facts is None:
            raise CaseShareError("not_found", "The case was not found.")
        if facts.agency_id == ctx.agency_id:
            return self.access(user_id, facts.case_id)
        return evaluate(ctx, user, facts)

    def access(
        self,
        user_id: int,
        case_id: str,
        *,
        include_deleted: bool = False,
        every_grant: bool = False,
    ) -> Access:
        """The user's access to a case of the user's agency (S-ACC-3: others are not found).

        Only the children on which the user has a direct grant are loaded (a few at most):
        they are the only ones that can give ``implicit_parent``. The user's S-SYNC-1 live set
        (row cause ``sync``, read) is walked only when nothing else gives read, or when
        ``every_grant`` asks for every grant (explain): it cannot change a decision otherwise;
        and only when a walk back from the case meets an open case the user owns (``may_sync``).

        Statements (issue 12 item 5): on SQLite a check outside a transaction reads one stamp
        (``read_stamp``) and, while it holds, nothing else: the context, the facts, the sync
        answer and a plain check's access are held per user and case (``factcache``); a miss
        reads the facts in one statement. On PostgreSQL, with the agency's context cached, the
        agency's state, the facts and the ``may_sync`` probe are one statement, one round trip
        (``facts_and_state``), from a user's first check on; only a user without read whom the
        probe answers "maybe" pays more (``sync_routes``).
        """
        store = self.store
        # SQLite: the stamp of everything this connection can read, taken before any read;
        # what was read under it is used again while it holds (``factcache``). None on
        # PostgreSQL and inside a transaction: then everything is read.
        stamp = None if include_deleted else store.read_stamp()
        at_once = None
        #: ``may_sync``'s answer read with the facts (None: not read yet)
        maybe_sync: bool | None = None
        if stamp is None and not include_deleted and store.is_postgres:
            at_once = self._facts_at_once(user_id, case_id)
        entry = None
        if at_once is not None:
            ctx, user, facts, maybe_sync = at_once
        else:
            ctx, user = self.user(user_id, stamp)
            key = (stamp[0] if stamp else 0, ctx.agency_id, ctx.version, user.id, case_id)
            if stamp is not None:
                entry = FACTS.get(key, stamp)
            if entry is not None:
                if entry.access is not None and not every_grant:
                    return entry.access
                facts = entry.facts
            else:
                facts = self._read_facts(ctx, user, case_id, include_deleted)
                if stamp is not None:
                    entry = Entry(stamp, facts)
                    FACTS.put(key, entry)
        access = evaluate(ctx, user, facts)
        if (every_grant or access.level is Level.NONE) and access.blocked is None:
            if entry is not None and entry.sync_known:
                route = entry.route
            else:
                route = None
                if maybe_sync is None:
                    owners = (str(p) for p in ctx.directory.owner_ids(user.id))
                    maybe_sync = store.may_sync(ctx.agency_id, facts.pk, owners)
                if maybe_sync:
                    route = self.sync_routes(ctx, user).get(facts.case_id)
                if entry is not None:  # read after the entry's stamp: as current as the facts
                    entry.route = route
                    entry.sync_known = True  # last: a reader seeing it sees the route
            if route is not None:
                access = evaluate(ctx, user, replace(facts, sync=route))
        if entry is not None and not every_grant:
            entry.access = access
        return access

    def _read_facts(
        self, ctx: AgencyContext, user: User, case_id: str, include_deleted: bool
    ) -> CaseFacts:
        """The case, its parents, the children on which the user has a direct grant, and all
        their grants: one statement (``facts_by_id``), or the case first when a binned case
        is asked for."""
        direct = self._direct_fragment(ctx, user)
        child_filter = (direct.sql, direct.params)
        if include_deleted:
            case = self.case(ctx, case_id)
            if case.deleted:
                case = _undeleted(case)
            return self.store.facts(case, child_filter=child_filter, child_limit=CHILD_SAMPLE)
        found = self.store.facts_by_id(
            ctx.agency_id, case_id, child_filter=child_filter, child_limit=CHILD_SAMPLE
        )
        if found is None:
            raise CaseShareError("not_found", f"Case {case_id!r} was not found.")
        return found

    def _facts_at_once(
        self, user_id: int, case_id: str
    ) -> tuple[AgencyContext, User, CaseFacts, bool] | None:
        """PostgreSQL, with the user's agency context cached: the agency's state, the
        case's facts and whether the case may be in the user's S-SYNC-1 live set
        (``may_sync``) in one statement (``facts_and_state``), the facts and the probe read
        with the cached context's child filter and owner ids. The probe's answer is wanted
        only when nothing else gives read, but most checks of random pairs are such (issue 12
        item 5): sent after the facts, it was a second round trip for them; read with them, it
        costs the server a walk of the case's family below it on every check instead.

        When the state says the agency moved, the context is brought up to that state
        (``ContextCache.at``); what was read stands if the user's child filter and owner ids
        are the same in it: the statement was made of nothing else, and it read the facts
        under the very snapshot it read that state in. None when there is no cached context
        to start from, or the change touched the user's filter or owner ids (then what was
        read is stale): then the caller reads as usual."""
        store = self.store
        if store.in_transaction:
            return None
        # a user's first check: the agency from a cached context that lists the user (most
        # checks of random pairs are some user's first), not from a read of the user's row
        agency_id = self._agency_of.get(user_id) or self.cache.agency_listing(user_id)
        held = None if agency_id is None else self.cache.held(store, agency_id)
        if agency_id is None or held is None:
            return None
        user = held.directory.users.get(user_id)
        if user is None:
            return None
        direct = self._direct_fragment(held, user)
        owners = {str(p) for p in held.directory.owner_ids(user.id)}
        probe = store.may_sync_query(agency_id, owners, case_id=case_id)
        state, found, probed = store.facts_and_state(
            agency_id,
            case_id,
            child_filter=(direct.sql, direct.params),
            child_limit=CHILD_SAMPLE,
            probe=probe,
        )
        ctx = self.cache.at(store, agency_id, state)
        if ctx is not held:
            now = ctx.directory.users.get(user_id)
            if (
                now is None
                or ctx.version != state[0]
                or self._direct_fragment(ctx, now) != direct
                or {str(p) for p in ctx.directory.owner_ids(user_id)} != owners
            ):
                return None
            user = now
        self._agency_of[user_id] = agency_id
        if found is None:
            raise CaseShareError("not_found", f"Case {case_id!r} was not found.")
        return ctx, user, found, probed

    def sync_routes(self, ctx: AgencyContext, user: User) -> dict[str, SyncRoute]:
        """The user's S-SYNC-1 live set, each case with its route from a case they own."""
        owner_ids = {str(p): p for p in ctx.directory.owner_ids(user.id)}
        nodes, owners = self.store.sync_graph(ctx.agency_id, owner_ids)
        return {
            case_id: SyncRoute(owner_ids[owners[steps[0][0]]], steps)
            for case_id, steps in live_routes(nodes).items()
        }

    def check(self, user_id: int, action: Action | str, case_id: str) -> Decision:
        act = action if isinstance(action, Action) else Action.parse(action)
        return self.access(user_id, case_id).decide(act)

    def explain(self, user_id: int, case_id: str) -> Access:
        return self.access(user_id, case_id, every_grant=True)

    def require(
        self,
        user_id: int,
        action: Action,
        case_id: str,
        *,
        agency_id: int | None = None,
        include_deleted: bool = False,
    ) -> Access:
        """Load-and-authorise: not_found when the user cannot see it, else insufficient_access.

        With ``agency_id``, the case is looked up in that agency, and a user of any other agency
        (or an inactive one) gets not_found, never a decision on a same-named case of their own.
        """
        if agency_id is not None:
            # once known, no read (an inactive user is refused below: S-ACC-4 leaves them no
            # access, and no access is not_found)
            known = self._known_agency(user_id)
            if known is None:
                ctx, user = self.user(user_id)
                known = ctx.agency_id if user.active else None
            if known != agency_id:
                raise CaseShareError("not_found", f"Case {case_id!r} was not found.")
        access = self.access(user_id, case_id, include_deleted=include_deleted)
        if access.level is Level.NONE:
            raise CaseShareError("not_found", f"Case {case_id!r} was not found.")
        if not access.allows(action):
            raise CaseShareError(
                "insufficient_access",
                f"You have {access.level.label} access to case {case_id!r};"
                f" to {action.value} it you need more.",
                {"level": access.level.label, "action": action.value},
            )
        return access

    def who_has_access(self, agency_id: int, case_id: str) -> list[Access]:
        """S-ACC-6 "sharing hierarchy": every user with access to the case, and why."""
        ctx = self.context(agency_id)
        case = self.store.facts(self.case(ctx, case_id))
        # the case's family (every case connected to it by indices) decides every user's
        # ``sync`` grant on it: only users who own one of its cases can have one
        family: dict[str, SyncNode] = {}
        owners: dict[str, str] = {}
        if not case.deleted:
            family, owners = self.store.sync_graph(ctx.agency_id, (), around=case.pk)
        family_owners = set(owners.values())
        # users who own the same cases of the family have the same route: walk once for them
        routes: dict[frozenset[str], tuple[tuple[str, str], ...] | None] = {}
        out = []
        for user in ctx.directory.users.values():
            facts = case
            mine = {str(p): p for p in ctx.directory.owner_ids(user.id)}
            held = frozenset(family_owners.intersection(mine))
            if user.active and held:
                if held not in routes:
                    nodes = {k: replace(n, owned=owners[k] in held) for k, n in family.items()}
                    routes[held] = live_routes(nodes).get(case.case_id)
                steps = routes[held]
                if steps is not None:
                    route = SyncRoute(mine[owners[steps[0][0]]], steps)
                    facts = replace(case, sync=route)
            access = evaluate(ctx, user, facts)
            if access.level > Level.NONE:
                out.append(access)
        out.extend(self._receivers(case.pk))
        return sorted(out, key=lambda a: (-a.level, a.user_id))

    def _receivers(self, case_pk: int) -> list[Access]:
        """Users of other agencies who read the case through its agency shares (S-AG-4)."""
        facts = self.received_facts(case_pk)
        if facts is None or not facts.agency_shares:
            return []
        out = []
        for agency_id in sorted({s.to_agency_id for s in facts.agency_shares}):
            ctx = self.context(agency_id)
            for user in ctx.directory.users.values():
                access = evaluate(ctx, user, facts)
                if access.level > Level.NONE:
                    out.append(access)
        return out

    def owner_ids(self, user_id: int) -> list[Principal]:
        ctx, user = self.user(user_id)
        return sorted(ctx.directory.owner_ids(user.id))

    def live_case_ids(self, user_id: int) -> set[str]:
        """S-SYNC-1: the cases a field device of this user holds after a full restore.

        The store walks the indices from the user's own cases (``sync_graph``); the rule
        itself is ``core.sync``'s, the one the CommCare conformance graphs check."""
        ctx, user = self.user(user_id)
        owners = {str(p) for p in ctx.directory.owner_ids(user.id)}
        nodes, _ = self.store.sync_graph(ctx.agency_id, owners)
        return set(live_cases(nodes))

    # -- listing --------------------------------------------------------------------------------
    # The SQL of every filter, sort and the text search lives in ``store.caselist``.

    def list_cases(
        self,
        user_id: int,
        flt: CaseFilter | None = None,
        *,
        limit: int = 50,
        cursor: str | None = None,
        backwards: bool = False,
        roots: bool = False,
    ) -> Page:
        """One page of the cases the user may view, keyset-paged (stable under writes).

        ``cursor`` is where the page starts: a ``next_cursor`` pages forward; with
        ``backwards``, a ``prev_cursor`` gives the page that ends just before it. With
        ``roots``, only the tops of the user's case trees: cases that index no case the user
        can see (the tree view's first level).
        """
        flt = flt or CaseFilter()
        flt.validate()
        limit = max(1, min(int(limit), 500))
        ctx, user, stamp = self._listing(user_id)
        rows = self.store.case_page(
            ctx,
            user,
            flt,
            limit=limit + 1,
            after=_decode(cursor) if cursor else None,
            ascending=flt.descending == backwards,  # backwards walks the order the other way
            roots=roots,
            inbound=self.inbound_from(ctx),
            stamp=stamp,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        if backwards:
            rows.reverse()
        items = self._list_rows(ctx.agency_id, rows)
        first = _encode(rows[0][9], rows[0][0]) if rows else None
        last = _encode(rows[-1][9], rows[-1][0]) if rows else None
        if backwards:  # "more" lies further back; the cursor came from a page after this one
            next_cursor, prev_cursor = (last if cursor else None), (first if more else None)
        else:
            next_cursor, prev_cursor = (last if more else None), (first if cursor else None)
        return Page(items, next_cursor, limit, prev_cursor=prev_cursor, directory=ctx.directory)

    def visible_case_ids(
        self, user_id: int, flt: CaseFilter | None = None, *, rowwise: bool = False
    ) -> set[str]:
        """Every case the user may view; ``rowwise`` answers it row by row (the same set)."""
        ctx, user = self.user(user_id)
        return self.store.visible_ids(ctx, user, flt, rowwise=rowwise)

    def visible_case_pks(
        self, user_id: int, flt: CaseFilter | None = None, *, rowwise: bool = False
    ) -> set[int]:
        """The keys of every case the listing returns, cases sent here included (S-AG-4)."""
        ctx, user = self.user(user_id)
        inbound = self.inbound_from(ctx)
        return self.store.visible_pks(ctx, user, flt, rowwise=rowwise, inbound=inbound)

    def visible_summaries(self, user_id: int, pks: list[int]) -> dict[int, dict[str, Any]]:
        """The list rows, by pk, of those of these cases the user may view: one query, the
        listing's own condition (the property test holds it equal to the check)."""
        if not pks:
            return {}
        ctx, user = self.user(user_id)
        inbound = self.inbound_from(ctx)
        return {int(r[0]): summary(r) for r in self.store.visible_rows(ctx, user, pks, inbound)}

    def count_cases(
        self, user_id: int, flt: CaseFilter | None = None, *, roots: bool = False
    ) -> int:
        """The exact number of cases the user may view (with ``roots``, of tree tops)."""
        ctx, user = self.user(user_id)
        inbound = self.inbound_from(ctx)
        return self.store.count_visible(ctx, user, flt, roots=roots, inbound=inbound)

    def case_count(
        self,
        user_id: int,
        flt: CaseFilter | None = None,
        *,
        roots: bool = False,
        exact: bool = False,
    ) -> CaseCount:
        """The count a list shows: exact when it is small or ``exact`` is asked for, else an
        estimate from a fixed-size sample (``store.estimate_visible``), whose cost does not
        grow with the agency. The exact count of 100,000 visible cases costs seconds at 1M
        cases; the estimate costs what testing ``SAMPLE`` cases costs.

        Which comes first is chosen from cheap facts before any count: a user who sees much of
        the agency by permission, default access or the role tree (``caselist.sees_much``, from
        the agency context), or any user of an agency whose pk range passes ``COUNT_FIRST``
        (where an exact count costs more than the sample), is sampled first; any other user is
        counted first, stopping at ``ESTIMATE_FROM`` (``count_visible(upto=…)``), so a user who
        sees fewer pays no more than the exact count, and only one who reaches it is then
        sampled."""
        flt = flt or CaseFilter()
        flt.validate()
        ctx, user = self.user(user_id)
        inbound = self.inbound_from(ctx)
        if not exact and not roots:
            span = self.store.pk_range(ctx.agency_id)
            small = span is not None and span[1] - span[0] + 1 <= COUNT_FIRST
            if small and not sees_much(ctx, user):
                upto = self.store.count_visible(ctx, user, flt, inbound=inbound, upto=ESTIMATE_FROM)
                if upto < ESTIMATE_FROM:
                    return CaseCount(upto)
            found = self.store.estimate_visible(
                ctx, user, flt, at_least=ESTIMATE_FROM, inbound=inbound
            )
            if found is not None:
                estimate, hits = found
                if hits >= ESTIMATE_HITS and estimate >= ESTIMATE_FROM:
                    return CaseCount(_rounded(estimate), exact=False)
        return CaseCount(self.store.count_visible(ctx, user, flt, roots=roots, inbound=inbound))


def _encode(value: Any, pk: int) -> str:
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return value, int(pk)
    except (ValueError, TypeError) as exc:
        raise CaseShareError(
            "validation_error", "The page cursor is not valid; start again from the first page."
        ) from exc


def _undeleted(case: CaseFacts) -> CaseFacts:
    return replace(case, deleted=False)
