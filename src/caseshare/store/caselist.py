"""The case list's SQL (S-VIEW-1): filters, sorts, text search, pages and counts.

The service hands over a typed ``CaseFilter``; everything that becomes SQL is written here. The
visibility condition itself is ``VisibilityQuery`` (one composable fragment per row cause, see
``store.listing``); the filters below only narrow it.

Text search (``CaseFilter.q``) keeps the meaning it always had: a case matches when the case-folded
query is a substring of its case-folded name, external id or one of its property values (the
``cases.search`` column, ``store.cases.search_text``). Each store answers it from an index of its
own (schema version 9): SQLite from the FTS5 table ``cases_fts`` (trigram tokenizer, external
content kept in step with ``cases.search`` by triggers), PostgreSQL from a ``pg_trgm`` GIN index
on ``cases.search``. Both then confirm the substring with ``LIKE`` on the row, so the answer is
the same on both stores, and the same as a scan would give; only queries shorter than three
characters (no trigram) are answered by the scan alone.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from caseshare.core.engine import AgencyContext
from caseshare.core.errors import CaseShareError
from caseshare.core.model import User
from caseshare.core.principals import Principal
from caseshare.store.base import Connection, Row
from caseshare.store.dialect import SQLITE
from caseshare.store.listing import SUMMARY_COLUMNS, Fragment, VisibilityQuery
from caseshare.store.livesets import GRAPH, LIVE, Stamp

#: the sorts a list offers, by name: the column each one walks (then ``pk``)
SORTS = {
    "name": "name",
    "opened_on": "opened_on",
    "modified": "server_modified_on",
    "case_id": "case_id",
}

#: the shortest query the trigram indexes answer; shorter ones are a scan of the agency
TRIGRAM = 3

#: how many cases an estimated count tests (random pks of the agency's pk range)
SAMPLE = 2_000

#: how many cases a page walks in sort order, testing each, before it builds the user's
#: candidate set instead (twice the page when that is more): a user who sees an eighth of the
#: agency or more fills a page of 50 here (testing only the rows up to the page's last); a user
#: who sees less pays this window once before the other plan, which this process then
#: remembers for the user until the agency's version changes
WALK = 400


@dataclass(frozen=True)
class CaseFilter:
    """S-VIEW-1 filters; every one narrows the set of visible cases."""

    created_by_me: bool = False
    assigned_to_me: bool = False
    owned_by_me: bool = False
    shared_with_me: bool = False
    status: str | None = None  # "open" or "closed"
    case_type: str | None = None
    owner: str | None = None
    q: str | None = None
    sort: str = "modified"
    descending: bool = False

    def validate(self) -> None:
        """Refuse what no query can mean (``validation_error``)."""
        if self.sort not in SORTS:
            raise CaseShareError(
                "validation_error", f"sort is one of {', '.join(SORTS)}, not {self.sort!r}."
            )
        if self.status not in (None, "", "all", "open", "closed"):
            raise CaseShareError("validation_error", "status is open, closed or all.")


def like_pattern(q: str) -> str:
    """``%q%`` for ``LIKE … ESCAPE '\\'``, the query case-folded and its wildcards escaped."""
    escaped = q.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def fts_phrase(q: str) -> str:
    """The FTS5 phrase that finds ``q`` as a substring through the trigram tokenizer."""
    return '"' + q.casefold().replace('"', '""') + '"'


#: (agency, version, user, filter, direction) whose walk found too few of the user's cases
_WALK_MISSES: set[tuple[Any, ...]] = set()


def _shape(ctx: AgencyContext, user: User) -> tuple[bool, bool, bool]:
    """What sets users apart in how much of the sort order they see: the walk's form, the
    role tree below them, criteria rules held (which reach cases anywhere in the order)."""
    seat = ctx.seat(user)
    criteria = any(rule.criteria is not None for rule, _ in seat.rules)
    return walks_sparse(ctx, user), seat.manages, criteria


def _remember_miss(missed: tuple[Any, ...]) -> None:
    if len(_WALK_MISSES) > 10_000:
        _WALK_MISSES.clear()
    _WALK_MISSES.add(missed)


class Layouts:
    """How the first pages' walks went for the users of an agency, per filter, direction and
    walk form: where the agency's sort order puts first what such users do not see (a
    bulk-loaded agency's households, at size L), nearly every one of their walks misses, pays
    the window (with the user's live set walked in its statement) and then builds the
    candidate set anyway. Once most of the recent first pages missed, a new user's first page
    goes to the candidate set at once; one in ``probe`` still walks, so a layout that changes
    (cases written since, ``WALK`` set otherwise) is seen again. A plan choice, never an
    answer: both plans list exactly the user's cases, in order."""

    def __init__(self, window: int = 16, least: int = 8, share: float = 0.75, probe: int = 8):
        self.window, self.least, self.share, self.probe = window, least, share, probe
        self._walks: dict[tuple[Any, ...], deque[bool]] = {}
        self._skips: dict[tuple[Any, ...], int] = {}
        self._lock = threading.Lock()

    def skip(self, key: tuple[Any, ...]) -> bool:
        """Whether a first page of this kind should skip its walk (counted when it does)."""
        with self._lock:
            walks = self._walks.get(key)
            if walks is None or len(walks) < self.least:
                return False
            if sum(walks) < self.share * len(walks):
                return False
            skips = self._skips.get(key, 0) + 1
            self._skips[key] = skips
            return skips % self.probe != 0

    def record(self, key: tuple[Any, ...], missed: bool) -> None:
        with self._lock:
            if key not in self._walks and len(self._walks) > 10_000:
                self._walks.clear()
                self._skips.clear()
            self._walks.setdefault(key, deque(maxlen=self.window)).append(missed)


#: the process's record of first-page walks (``Layouts``)
LAYOUTS = Layouts()


#: take users who see much of the agency by their role or permissions apart (tests turn
#: this off to treat everyone so: a search walks, a count samples first)
CHOOSE = True
_REACH: dict[tuple[int, int, int], bool] = {}


def sees_much(ctx: AgencyContext, user: User) -> bool:
    """Whether the user sees a large share of the agency whatever the cases hold: every case
    (a permission, or a default access for every type), or the cases of a quarter or more of
    the agency's users through the role tree (S-HIER-1). A plan choice from the context
    alone: a count samples first for such users, and only they walk for a text search (for
    which a walk reads rows to match the text, where the trigram index finds them for others).
    Plain pages walk for every user (``case_page``)."""
    return True if not CHOOSE else reaches_much(ctx, user)


#: a walk's implicit_parent for users who do not see much: None chooses by ``reaches_much``;
#: tests force True or False to run both forms for every user
SPARSE: bool | None = None


def walks_sparse(ctx: AgencyContext, user: User) -> bool:
    """Whether a walk reaches parents through the user's direct set
    (``VisibilityQuery.visible_row_own(sparse=True)``): for users who do not see much."""
    return not reaches_much(ctx, user) if SPARSE is None else SPARSE


def reaches_much(ctx: AgencyContext, user: User) -> bool:
    """``sees_much`` from the context, whatever ``CHOOSE`` says."""
    key = (ctx.agency_id, ctx.version, user.id)
    found = _REACH.get(key)
    if found is None:
        everything = ctx.settings.default_access.get("*", "private") != "private"
        if everything or user.permissions & {"admin", "modify_all", "view_all"}:
            found = True
        elif ctx.settings.hierarchy_access and user.role_id is not None:
            below = ctx.directory.roles_below(user.role_id)
            users = ctx.directory.users.values()
            managed = sum(1 for u in users if u.role_id in below)
            found = managed * 4 >= len(ctx.directory.users)
        else:
            found = False
        if len(_REACH) > 10_000:
            _REACH.clear()
        _REACH[key] = found
    return found


def _segments(
    column: str,
    after: tuple[Any, int] | None,
    bound: Row | None,
    ascending: bool,
    inclusive: bool = False,
) -> list[Fragment]:
    """The keys strictly after ``after`` (from it, ``inclusive``) and up to ``bound`` (each a
    (sort value, pk) key, None for no limit) in the sort order, as disjoint conditions in that
    order, each a range of the index (agency_id, column, pk): an equal sort value with a pk
    range, or a range of the sort value alone."""
    gt, lt = (">", "<") if ascending else ("<", ">")
    if after is not None and bound is not None and after[0] == bound[0]:
        low = f"{gt}=" if inclusive else gt
        return [Fragment(f"{column} = ? AND c.pk {low} ? AND c.pk {lt}= ?", [*after, bound[1]])]
    parts = []
    if after is not None:
        parts.append(Fragment(f"{column} = ? AND c.pk {gt} ?", list(after)))
    middle = []
    if after is not None:
        middle.append(Fragment(f"{column} {gt} ?", [after[0]]))
    if bound is not None:
        middle.append(Fragment(f"{column} {lt} ?", [bound[0]]))
    parts.append(
        Fragment(
            " AND ".join(m.sql for m in middle) or "1 = 1", [x for m in middle for x in m.params]
        )
    )
    if bound is not None:
        parts.append(Fragment(f"{column} = ? AND c.pk {lt}= ?", [bound[0], bound[1]]))
    return parts


class CaseListQuery:
    """The WHERE clause of one user's case list: visibility, then each filter."""

    def __init__(
        self,
        store: Connection,
        ctx: AgencyContext,
        user: User,
        inbound: Sequence[int] = (),
        *,
        whole: bool = False,
        live: Sequence[int] | None = None,
        shared: bool = False,
    ) -> None:
        self.d = store.dialect
        self.ctx = ctx
        self.user = user
        #: agencies whose shares reach this one today (S-AG-4): their cases sent here list too;
        #: ``live``: the user's live set read under a stamp that still holds (``case_page``);
        #: ``shared``: one text for every user of the agency of a shape (``VisibilityQuery``)
        self.visibility = VisibilityQuery(
            self.d, ctx, user, inbound=inbound, whole=whole, live=live, shared=shared
        )

    def search(self, q: str, *, rowwise: bool = False) -> Fragment:
        """S-VIEW-1 text search: the store's trigram index finds candidates, LIKE confirms.
        ``rowwise`` (a walk that reads each row anyway): LIKE on the row alone."""
        like = Fragment("c.search LIKE ? ESCAPE '\\'", [like_pattern(q)])
        if rowwise or len(q.casefold()) < TRIGRAM or self.d is not SQLITE:
            # PostgreSQL's planner uses the pg_trgm GIN index for this LIKE by itself
            return like
        return Fragment(
            f"c.pk IN (SELECT rowid FROM cases_fts WHERE cases_fts MATCH ?) AND {like.sql}",
            [fts_phrase(q), *like.params],
        )

    def filters(self, flt: CaseFilter, *, rowwise: bool = False) -> list[Fragment]:
        """One fragment per filter set; each narrows the list."""
        d = self.d
        user = self.user
        query = self.visibility
        parts: list[Fragment] = []
        if flt.created_by_me:
            parts.append(Fragment("c.opened_by = ?", [user.id]))
        if flt.assigned_to_me:
            parts.append(
                Fragment(
                    "EXISTS (SELECT 1 FROM grants a WHERE a.case_pk = c.pk AND a.cause = 'assigned'"
                    " AND a.grantee = ? AND a.is_deleted = 0)",
                    [str(Principal("user", user.id))],
                )
            )
        if flt.owned_by_me:
            sql, params = d.in_list("c.owner", query.owner_ids)
            parts.append(Fragment(sql, params))
        if flt.shared_with_me:
            sql, params = d.in_list("s.grantee", query.principals)
            parts.append(
                Fragment(
                    "EXISTS (SELECT 1 FROM grants s WHERE s.case_pk = c.pk AND s.cause = 'manual'"
                    f" AND s.is_deleted = 0 AND {sql})",
                    params,
                )
            )
        if flt.status in ("open", "closed"):
            parts.append(Fragment("c.closed = ?", [int(flt.status == "closed")]))
        if flt.case_type:
            parts.append(Fragment("c.case_type = ?", [flt.case_type]))
        if flt.owner:
            # S-ACC-3: an owner named here is one of this agency's; a case sent here from
            # another agency never answers to its owner principal (the row hides it)
            parts.append(
                Fragment("c.owner = ? AND c.agency_id = ?", [flt.owner, self.ctx.agency_id])
            )
        if flt.q:
            parts.append(self.search(flt.q, rowwise=rowwise))
            # S-AG-4: a case sent here is found by its summary only (the name, the first line
            # of ``cases.search``), never by its properties or external id
            parts.append(
                Fragment(
                    f"(c.agency_id = ? OR {d.first_line('c.search')} LIKE ? ESCAPE '\\')",
                    [self.ctx.agency_id, like_pattern(flt.q)],
                )
            )
        return parts

    def where(self, flt: CaseFilter, *, roots: bool = False, rowwise: bool = False) -> Fragment:
        """With ``rowwise``, visibility is tested row by row (``VisibilityQuery.visible_row``):
        the same set, for a plan that walks rows in order rather than building the set."""
        flt.validate()
        query = self.visibility
        parts = [query.visible_row("c") if rowwise else query.visible("c")]
        if roots:  # the tops of the user's trees: no index to a case the user can see
            parent = query.visible("tp")
            parts.append(
                Fragment(
                    "NOT EXISTS (SELECT 1 FROM case_indices ti JOIN cases tp ON tp.pk = ti.ref_pk"
                    f" WHERE ti.case_pk = c.pk AND {parent.sql})",
                    parent.params,
                )
            )
        parts += self.filters(flt, rowwise=rowwise)
        return Fragment(" AND ".join(p.sql for p in parts), [x for p in parts for x in p.params])


class CaseListStore(Connection):
    """Pages, counts and sets of the cases a user may view (S-VIEW-1, S-ACC-7)."""

    def visible_where(
        self,
        ctx: AgencyContext,
        user: User,
        flt: CaseFilter | None = None,
        *,
        roots: bool = False,
        rowwise: bool = False,
        inbound: Sequence[int] = (),
        whole: bool = False,
        live: Sequence[int] | None = None,
    ) -> Fragment:
        """The condition on ``cases c`` of the user's list with these filters; ``inbound``:
        the agencies whose cases sent here the list holds too (S-AG-4); ``whole``: the query
        reads the whole set (a count), not a page (a plan choice, never an answer); ``live``:
        the user's live set, read under a stamp that still holds (``live_set``)."""
        return CaseListQuery(self, ctx, user, inbound, whole=whole, live=live).where(
            flt or CaseFilter(), roots=roots, rowwise=rowwise
        )

    def case_page(
        self,
        ctx: AgencyContext,
        user: User,
        flt: CaseFilter,
        *,
        limit: int,
        after: tuple[Any, int] | None = None,
        ascending: bool = True,
        roots: bool = False,
        inbound: Sequence[int] = (),
        stamp: Stamp | None = None,
    ) -> list[Row]:
        """Up to ``limit`` rows of ``SUMMARY_COLUMNS`` plus the sort value and the case's
        agency, in keyset order
        (sort column, pk), starting after the ``(value, pk)`` key ``after``.

        Two plans, chosen by what they find: first walk the sort index (``_walk``), which
        costs the page when the user sees an eighth of the agency or more (a typical user of
        an agency whose default access shares a case type, or who holds criteria rules: the
        candidate set would cost what they see, thousands of cases, the sync walk and every
        implicit child among them); when the walk's window holds too few of the user's cases,
        build the user's candidate set from its indexed sources (``VisibilityQuery.visible``),
        which costs what the user sees.

        Outside a transaction the user's live set (row cause ``sync``) is read once per
        ``list_stamp`` (``live_set``) and the page's SQL tests a list of pks instead of the
        recursive walk; a first page whose walk missed reads it before its candidate query,
        which would otherwise run the walk a second time. The stamp is read again after the
        page: when anything was written meanwhile, the page is read again with the walk, so
        every page is read in the one state its live set was read in. ``stamp``: a
        ``list_stamp`` the caller took before any read of the page (with the agency's state,
        ``agency_state_and_stamp``), else read here."""
        if stamp is None:
            stamp = self.list_stamp()
        if stamp is None:
            return self._page(ctx, user, flt, limit, after, ascending, roots, inbound, None)
        held: list[Sequence[int] | None] = [self.live_set(ctx, user, stamp)]

        def read_now() -> Sequence[int] | None:
            held[0] = self.live_set(ctx, user, stamp, now=True)
            return held[0]

        page = self._page(
            ctx, user, flt, limit, after, ascending, roots, inbound, held[0], read_now
        )
        if held[0] is not None and self.list_stamp() != stamp:
            page = self._page(ctx, user, flt, limit, after, ascending, roots, inbound, None)
        return page

    def live_set(
        self, ctx: AgencyContext, user: User, stamp: Stamp, *, now: bool = False
    ) -> tuple[int, ...] | None:
        """The pks of the user's S-SYNC-1 live set from ``LIVE`` when read under ``stamp``
        (taken by the caller before any read); on the second page under the same stamp (or
        ``now``), read now with the walk itself (``VisibilityQuery.live_walk``; on SQLite its
        seeds and then its steps level by level, ``GRAPH``) and kept under that stamp. None
        (the page walks in its own SQL): the first page under a stamp, which marks the user
        only (``store.livesets`` says why), and a user to whom row cause ``sync`` gives nothing
        whatever the cases hold (blocked, or owning as no one)."""
        query = VisibilityQuery(self.dialect, ctx, user)
        if query.blocked or not query.owner_ids:
            return None
        key = (stamp[0], ctx.agency_id, ctx.version, user.id)
        held = LIVE.get(key, stamp)
        if isinstance(held, tuple):  # an empty live set included
            return held
        if held is None and not now:  # the first page under this stamp: mark, walk in the page
            LIVE.put(key, stamp, None)
            return None
        if self.dialect is SQLITE:  # the walk's steps level by level, held per case (GRAPH)
            seeds = query.live_walk(seeds_only=True)
            start = [int(r[0]) for r in self.rows(seeds.sql, seeds.params)]
            pks = tuple(GRAPH.walk(self, start, VisibilityQuery.LIVE_STEP, stamp))
        else:  # SEEN: the second page under it reads the set
            walk = query.live_walk()
            # one text for every user of the agency (arrays for the owner ids): prepared
            pks = tuple(int(r[0]) for r in self.rows(walk.sql, walk.params, hot=True))
        LIVE.put(key, stamp, pks)
        return pks

    def _page(
        self,
        ctx: AgencyContext,
        user: User,
        flt: CaseFilter,
        limit: int,
        after: tuple[Any, int] | None,
        ascending: bool,
        roots: bool,
        inbound: Sequence[int],
        live: Sequence[int] | None,
        read_live: Callable[[], Sequence[int] | None] | None = None,
    ) -> list[Row]:
        """``case_page`` with the live set given (``live``) or walked in its SQL (None);
        ``read_live`` reads it for the candidate query, which would walk it in its SQL (a
        second time when the sort-index walk missed)."""
        # a walk that found too few of this user's cases will again on the next page: this
        # process remembers it until the agency's version changes (a plan choice, never an answer)
        missed = (ctx.agency_id, ctx.version, user.id, flt, ascending)
        # a text search finds its candidates through the store's trigram index: its walk (which
        # reads rows to match the text) pays off only for a user who sees much of the agency
        walk = not flt.q or sees_much(ctx, user)
        walk = walk and not roots and WALK > 0 and missed not in _WALK_MISSES
        # a first page: how the walks of users of its kind went (``Layouts``); one that skips
        # its walk is remembered as a miss, as a walk that missed is
        kind = None
        if walk and after is None:
            kind = (ctx.agency_id, ctx.version, flt, ascending, WALK, *_shape(ctx, user))
            if LAYOUTS.skip(kind):
                walk = False
                kind = None
                _remember_miss(missed)
        if walk:
            walked = self._walk(
                ctx, user, flt, limit=limit, after=after, ascending=ascending, live=live
            )
            if kind is not None:
                LAYOUTS.record(kind, walked is None)
            if walked is not None:
                if not inbound:
                    return walked
                # cases sent here (S-AG-4) are not on this agency's sort index: the page is
                # the first ``limit`` of the walked page and the received cases, in one query
                return self._with_received(ctx, user, flt, walked, limit, after, ascending, inbound)
            _remember_miss(missed)
        if live is None and read_live is not None:  # the candidate query walks it otherwise
            live = read_live()
        where = self.visible_where(ctx, user, flt, roots=roots, inbound=inbound, live=live)
        column = f"c.{SORTS[flt.sort]}"
        op, direction = (">", "ASC") if ascending else ("<", "DESC")
        select = f"SELECT {SUMMARY_COLUMNS}, {column}, c.agency_id FROM cases c WHERE {where.sql}"
        order = f" ORDER BY {column} {direction}, c.pk {direction}"
        if after is None:
            return self.rows(f"{select}{order} LIMIT {int(limit)}", where.params)
        if self.dialect is not SQLITE:
            # a row value, as the walk's: PostgreSQL bounds the sort index's range with it,
            # where it read the expanded OR from the index's start and filtered
            return self.rows(
                f"{select} AND ({column}, c.pk) {op} (?, ?){order} LIMIT {int(limit)}",
                [*where.params, *after],
            )
        # SQLite starts an index range at a row-value bound on its first column only: where
        # many cases share the sort value (a bulk load's server_modified_on) every later page
        # read the index from the first of them, all the pages before it (14-20 ms at page 20
        # at size L). The rows after the key as disjoint ranges in order, each a range of the
        # index (agency_id, column, pk), read until the page is full: the same rows, in order.
        rows: list[Row] = []
        for part in _segments(column, after, None, ascending):
            rows += self.rows(
                f"{select} AND {part.sql}{order} LIMIT {int(limit) - len(rows)}",
                [*where.params, *part.params],
            )
            if len(rows) >= limit:
                break
        return rows

    def _with_received(
        self,
        ctx: AgencyContext,
        user: User,
        flt: CaseFilter,
        walked: list[Row],
        limit: int,
        after: tuple[Any, int] | None,
        ascending: bool,
        inbound: Sequence[int],
    ) -> list[Row]:
        """The walked page merged with the cases sent here that pass the filters, in the
        store's own order (its collation, not Python's)."""
        query = CaseListQuery(self, ctx, user, inbound)
        column = SORTS[flt.sort]
        op, direction = (">", "ASC") if ascending else ("<", "DESC")
        parts = [query.visibility.agency_share("c"), *query.filters(flt)]
        if after is not None:
            parts.append(Fragment(f"(c.{column}, c.pk) {op} (?, ?)", list(after)))
        received = Fragment(
            " AND ".join(p.sql for p in parts), [x for p in parts for x in p.params]
        )
        pks, pk_params = self.dialect.in_list("c.pk", [int(r[0]) for r in walked])
        order = f"c.{column} {direction}, c.pk {direction}"
        return self.rows(
            f"SELECT {SUMMARY_COLUMNS}, c.{column}, c.agency_id FROM cases c"
            f" WHERE {pks} OR ({received.sql}) ORDER BY {order} LIMIT {int(limit)}",
            [*pk_params, *received.params],
        )

    def _walk(
        self,
        ctx: AgencyContext,
        user: User,
        flt: CaseFilter,
        *,
        limit: int,
        after: tuple[Any, int] | None,
        ascending: bool,
        live: Sequence[int] | None = None,
    ) -> list[Row] | None:
        """The page from the first ``WALK`` (or twice ``limit``) cases in sort order
        (the agency's sort index, with the filters), each tested row by row and the walk
        stopping at the page's last row; None when they hold fewer than ``limit`` of the
        user's cases and more cases follow (the page is then not known from them).

        On SQLite the window's end is found first, by the sort index alone (``bound``); the
        page is then the first ``limit`` visible cases up to it, so a user who sees 40% of the
        agency tests some 2.5 rows per row of the page, never the whole window. Every sort
        column is NOT NULL, so the row-value bound orders exactly as the index does. On
        PostgreSQL the window is a subquery of the page's statement, read as far as the
        page's last row; only a short page asks for the window's end."""
        # PostgreSQL, a first page without text search: the page's text is the same for every
        # user of the agency of a shape, prepared and run on its generic plan (``rows_generic``):
        # no planning per first page. Later pages (a keyset bound, the live set held) and text
        # searches keep a text per user, planned for its parameters: their generic plans were
        # not measured to be as good (a LIKE pattern's selectivity, the live set's size)
        generic = after is None and not flt.q
        query = CaseListQuery(self, ctx, user, live=live, shared=generic)
        flt.validate()
        window = max(WALK, 2 * int(limit))
        column = SORTS[flt.sort]
        op, direction = (">", "ASC") if ascending else ("<", "DESC")
        parts = [Fragment("c.agency_id = ? AND c.deleted = 0", [ctx.agency_id])]
        parts += query.filters(flt, rowwise=True)
        head = Fragment(" AND ".join(p.sql for p in parts), [x for p in parts for x in p.params])
        if after is not None:
            parts.append(Fragment(f"(c.{column}, c.pk) {op} (?, ?)", list(after)))
        scan = Fragment(" AND ".join(p.sql for p in parts), [x for p in parts for x in p.params])
        order = f"c.{column} {direction}, c.pk {direction}"
        # the scan holds own cases only; a user who does not see much reaches parents through
        # their (small) direct set, not through every child of every row walked
        visible = query.visibility.visible_row_own("c", sparse=walks_sparse(ctx, user))
        select = f"SELECT {SUMMARY_COLUMNS}, c.{column}, c.agency_id FROM"
        window_end = (
            f"SELECT c.{column}, c.pk FROM cases c WHERE {scan.sql} ORDER BY {order}"
            f" LIMIT 1 OFFSET {window - 1}"
        )
        if self.dialect is not SQLITE:
            # the window as a subquery in the page's own statement: its LIMIT ends the index
            # range where a separate statement found the bound (a round trip less a page), and
            # the outer LIMIT stops pulling rows at the page's last
            page = (
                f"{select} (SELECT * FROM cases c WHERE {scan.sql} ORDER BY {order}"
                f" LIMIT {window}) c WHERE {visible.sql} ORDER BY {order} LIMIT {int(limit)}"
            )
            params = [*scan.params, *visible.params]
            rows = self.rows_generic(page, params) if generic else self.rows(page, params)
            if len(rows) >= limit or self.row(window_end, scan.params) is None:
                return rows  # a full page, or every case left in the order was tested
            return None
        bound = self.row(window_end, scan.params)
        select = f"{select} cases c WHERE"
        # SQLite ends an index range at a row-value bound only on the bound's first column:
        # where many cases share the bound's sort value (a day's opened_on, a bulk load's
        # server_modified_on) a walk that misses read every one of them, the agency at worst
        # (29 ms at size M). Disjoint ranges, each ending where the window does, read in
        # order until the page is full, test the same rows in the same order.
        rows = []
        parts = _segments(f"c.{column}", after, bound, ascending)
        if bound is not None and len(parts) > 1:
            # a window within one sort value (a tie run) is one range: no statement for
            # ranges it cannot reach (each costs a compile of the page's SQL, ~1 ms)
            first = self.row(
                f"SELECT c.{column}, c.pk FROM cases c WHERE {scan.sql} ORDER BY {order} LIMIT 1",
                scan.params,
            )
            if first is not None and first[0] == bound[0]:
                parts = _segments(f"c.{column}", (first[0], first[1]), bound, ascending, True)
        for part in parts:
            rows += self.rows(
                f"{select} {head.sql} AND {part.sql} AND {visible.sql} ORDER BY {order}"
                f" LIMIT {int(limit) - len(rows)}",
                [*head.params, *part.params, *visible.params],
            )
            if len(rows) >= limit:
                break
        if len(rows) >= limit or bound is None:
            return rows
        return None

    def count_visible(
        self,
        ctx: AgencyContext,
        user: User,
        flt: CaseFilter | None = None,
        *,
        roots: bool = False,
        inbound: Sequence[int] = (),
        upto: int | None = None,
    ) -> int:
        """The exact number of cases the list holds; with ``upto``, counting stops there (the
        answer is then ``min(count, upto)``), so a user who sees more costs less than the whole
        count and one who sees fewer costs the same."""
        where = self.visible_where(ctx, user, flt, roots=roots, inbound=inbound, whole=True)
        if upto is None:
            return int(self.value(f"SELECT count(*) FROM cases c WHERE {where.sql}", where.params))
        return int(
            self.value(
                f"SELECT count(*) FROM (SELECT c.pk FROM cases c WHERE {where.sql}"
                f" LIMIT {int(upto)}) upto",
                where.params,
            )
        )

    def pk_range(self, agency_id: int) -> tuple[int, int] | None:
        """The lowest and highest pk of the agency's cases (two index probes), or None."""
        # one aggregate per query: SQLite reads min() or max() alone off the index's end, but
        # both in one SELECT read every case of the agency (112 ms at size L)
        found = self.row(
            "SELECT (SELECT min(pk) FROM cases WHERE agency_id = ?),"
            " (SELECT max(pk) FROM cases WHERE agency_id = ?)",
            (agency_id, agency_id),
        )
        if found is None or found[0] is None:
            return None
        return int(found[0]), int(found[1])

    def estimate_visible(
        self,
        ctx: AgencyContext,
        user: User,
        flt: CaseFilter | None = None,
        *,
        at_least: int = 0,
        inbound: Sequence[int] = (),
    ) -> tuple[int, int] | None:
        """An estimate of ``count_visible`` from a sample: ``SAMPLE`` random pks of the
        agency's pk range (``cases_agency_pk``), each tested row by row with the list's own
        condition; the share of them that is visible, times the range. Returns (estimate, the
        sample's hits), or None when the range is no bigger than the sample (count it).

        Its cost is the sample's, whatever the agency's size or the user's reach; the same
        user, filter and agency state give the same estimate (the sample is seeded by agency).
        With ``at_least`` (the caller counts exactly below it), a quarter of the sample is
        tested first, and a projection under half of ``at_least`` is returned at once.
        """
        found = self.pk_range(ctx.agency_id)
        if found is None:
            return 0, 0
        low, high = found
        span = high - low + 1
        if span <= SAMPLE:
            return None
        pks = random.Random(ctx.agency_id).sample(range(low, high + 1), SAMPLE)
        # the user's live set read once (held under the list stamp, as a page's), where each of
        # the sample's two statements walked it in its SQL: ~50 ms apiece at size L. A write
        # landing between the statements moves the estimate as it moves the count.
        stamp = self.list_stamp()
        live = None if stamp is None else self.live_set(ctx, user, stamp, now=True)
        where = self.visible_where(ctx, user, flt, rowwise=True, inbound=inbound, live=live)

        def hits_in(part: list[int]) -> int:
            sample, params = self.dialect.in_list("c.pk", part)
            return int(
                self.value(
                    f"SELECT count(*) FROM cases c WHERE {sample} AND {where.sql}",
                    [*params, *where.params],
                )
            )

        first = max(1, SAMPLE // 4)
        hits = hits_in(pks[:first])
        if at_least and hits * span / first < at_least / 2:
            return round(hits * span / first), hits
        hits += hits_in(pks[first:])
        return round(hits * span / SAMPLE), hits

    def visible_ids(
        self,
        ctx: AgencyContext,
        user: User,
        flt: CaseFilter | None = None,
        *,
        rowwise: bool = False,
    ) -> set[str]:
        """The ids of the user's own agency's cases the list holds."""
        where = self.visible_where(ctx, user, flt, rowwise=rowwise, whole=True)
        return {
            r[0]
            for r in self.rows(f"SELECT c.case_id FROM cases c WHERE {where.sql}", where.params)
        }

    def visible_pks(
        self,
        ctx: AgencyContext,
        user: User,
        flt: CaseFilter | None = None,
        *,
        rowwise: bool = False,
        inbound: Sequence[int] = (),
    ) -> set[int]:
        """The keys of every case the list holds, cases sent here included (S-AG-4)."""
        where = self.visible_where(ctx, user, flt, rowwise=rowwise, inbound=inbound, whole=True)
        return {
            int(r[0])
            for r in self.rows(f"SELECT c.pk FROM cases c WHERE {where.sql}", where.params)
        }

    def visible_rows(
        self, ctx: AgencyContext, user: User, pks: Sequence[int], inbound: Sequence[int] = ()
    ) -> list[Row]:
        """The ``SUMMARY_COLUMNS`` rows of those of these cases the user may view."""
        if not pks:
            return []
        where = self.visible_where(ctx, user, inbound=inbound)
        marks = ", ".join("?" * len(pks))
        return self.rows(
            f"SELECT {SUMMARY_COLUMNS} FROM cases c WHERE {where.sql} AND c.pk IN ({marks})",
            [*where.params, *pks],
        )
