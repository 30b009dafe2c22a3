"""Issue 12 item 5: on PostgreSQL a common check is ONE round trip — the agency's state, the
case's facts and the user's ``may_sync`` probe in one statement (``facts_and_state``) — counted
at the connection, not timed. A round trip is a statement sent on its own or a pipeline.

Each test runs on a fresh, committed store: the rolled-back service fixtures check inside a
transaction, where the check reads as usual.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action, Cause, Level
from caseshare.core.principals import Principal
from caseshare.services import Caseshare
from caseshare.store import Store
from caseshare.store.livesets import LIVE
from tests.services.cast import Cast, code_of


@dataclass
class _Counting:
    """The psycopg connection, counting what it sends: each ``execute`` outside a pipeline
    is a round trip, and so is each pipeline, whatever it holds."""

    raw: Any
    trips: int = 0
    statements: list[str] = field(default_factory=list)
    _piped: bool = False

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        self.statements.append(sql)
        if not self._piped:
            self.trips += 1
        return self.raw.execute(sql, *args, **kwargs)

    @contextlib.contextmanager
    def pipeline(self) -> Iterator[Any]:
        self.trips += 1
        self._piped = True
        try:
            with self.raw.pipeline() as pipe:
                yield pipe
        finally:
            self._piped = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def _sent(store: Store, fn: Callable[[], object]) -> _Counting:
    """What ``fn()`` sends to the server on the store's connection."""
    counting = _Counting(store._raw)
    store._raw = counting
    try:
        fn()
    finally:
        store._raw = counting.raw
    return counting


@pytest.fixture
def pg(two: tuple[Cast, Caseshare]) -> Cast:
    cast, _ = two
    if not cast.store.is_postgres:
        pytest.skip("round trips are counted on PostgreSQL (SQLite has none)")
    return cast


def test_a_check_is_one_statement_with_the_sync_probe_in_it(pg: Cast) -> None:
    svc = pg.svc
    # the outsider owns a case of his own, so he has owner ids and the probe runs (S-SYNC-1)
    svc.create_case(pg.agency, pg.outsider, "t", "his", owner=f"user:{pg.outsider}")
    for user in (pg.reader, pg.outsider, pg.owner):  # the context cached, statements prepared
        svc.access(user, pg.case)
    for user, level in ((pg.outsider, Level.NONE), (pg.reader, Level.READ)):
        sent = _sent(pg.store, lambda user=user, level=level: svc.access(user, pg.case))
        assert svc.access(user, pg.case).level is level
        assert sent.trips == 1
        # the agency's state, the facts, and may_sync's walk back from the case
        [statement] = sent.statements
        assert "FROM agencies" in statement and "WITH RECURSIVE" in statement


def test_a_users_first_check_is_one_round_trip_once_the_agency_context_is_cached(
    pg: Cast,
) -> None:
    svc = Caseshare(pg.store)
    svc.access(pg.owner, pg.case)  # caches the agency's context, which lists every user
    for _ in range(2):  # the statements prepared (a fresh service, the same connection)
        Caseshare(pg.store).access(pg.owner, pg.case)
    for user, level in ((pg.outsider, Level.NONE), (pg.reader, Level.READ)):
        sent = _sent(pg.store, lambda user=user: svc.access(user, pg.case))
        assert sent.trips == 1, sent.statements
        assert svc.access(user, pg.case).level is level


def test_a_case_in_the_live_set_is_read_by_sync_through_the_probe_read_with_the_facts(
    two: tuple[Cast, Caseshare],
) -> None:
    cast, other = two
    svc = cast.svc
    assert svc.access(cast.outsider, cast.case).level is Level.NONE  # the context cached
    # another connection gives the outsider an open grandchild of the case (its child is
    # Olga's): the case is in his live set (S-SYNC-1), and only that gives him read (a
    # grandchild's grants do not reach the case as implicit_parent)
    other.create_case(
        cast.agency,
        cast.admin,
        "t",
        "mid",
        case_id="mid",
        owner=f"user:{cast.owner}",
        indices={"up": (cast.case, "child")},
    )
    other.create_case(
        cast.agency,
        cast.admin,
        "t",
        "kid",
        case_id="kid",
        owner=f"user:{cast.outsider}",
        indices={"up": ("mid", "child")},
    )
    found = svc.access(cast.outsider, cast.case)
    assert found.level is Level.READ
    assert found.causes == {Cause.SYNC}
    other.close_case(cast.agency, cast.admin, "kid")
    assert svc.access(cast.outsider, cast.case).level is Level.NONE


def test_a_revoke_through_another_connection_is_in_force_at_the_next_check_read_at_once(
    two: tuple[Cast, Caseshare],
) -> None:
    cast, other = two
    svc = cast.svc
    for _ in range(2):
        assert svc.access(cast.reader, cast.case).level is Level.READ
    other.unshare(cast.agency, cast.owner, cast.case, Principal("user", cast.reader))
    assert svc.access(cast.reader, cast.case).level is Level.NONE


def test_a_missing_case_is_not_found_by_the_check_read_at_once(
    two: tuple[Cast, Caseshare],
) -> None:
    """S-ACC-3: the agency's state comes back without the case's rows; the check says
    not_found, and the next check of a case that is there is answered as usual."""
    cast, _ = two
    svc = cast.svc
    assert svc.access(cast.reader, cast.case).level is Level.READ  # the context cached
    with pytest.raises(CaseShareError) as refused:
        svc.access(cast.reader, "no-such-case")
    assert refused.value.code == "not_found"
    assert svc.access(cast.outsider, cast.case).level is Level.NONE


def test_a_structural_change_that_leaves_the_user_alone_costs_no_second_facts_read(
    two: tuple[Cast, Caseshare],
) -> None:
    """The state moved, the context is patched (its own reads), and the facts read in the
    same statement stand: the user's child filter and owner ids are unchanged. A change that does touch
    them is in force at the next check (S-OWN-1: a member of the owning group works it)."""
    cast, other = two
    if not cast.store.is_postgres:
        pytest.skip("round trips are counted on PostgreSQL (SQLite has none)")
    svc = cast.svc
    for _ in range(2):
        assert svc.access(cast.outsider, cast.case).level is Level.NONE
    team = other.create_group(cast.agency, None, "Elsewhere", case_sharing=True)
    other.add_member(cast.agency, None, team, Principal("user", cast.reader))
    sent = _sent(cast.store, lambda: svc.access(cast.outsider, cast.case))
    # the one statement, then the patch's reads of the change log (no second facts read)
    first, *patch = sent.statements
    assert "WITH RECURSIVE" in first and "FROM agencies" in first
    assert not any("FROM cases" in s or "FROM users" in s for s in patch), patch
    assert svc.access(cast.outsider, cast.case).level is Level.NONE
    other.add_member(cast.agency, None, cast.group, Principal("user", cast.outsider))
    assert svc.access(cast.outsider, cast.case).level is Level.FULL


def test_a_first_page_walks_on_a_generic_plan_and_reads_its_annotations_together(
    pg: Cast,
) -> None:
    """Issue 12 item 1 (h15pgpage): the walk's page statement is set, run and reset in one
    pipeline (its generic plan, ``rows_generic``); the page's sharing states and X-Case
    counts are read in another. The agency's version and the snapshot stamp are one
    statement, and the walk's window is a subquery of the page's: a full page is three round
    trips; a short one asks once more whether cases follow the window (here none do)."""
    svc = pg.svc
    svc.list_cases(pg.owner, limit=5)  # the context cached, the statements prepared
    LIVE.clear()  # a first page under its stamp (a second one would read the live set)
    sent = _sent(pg.store, lambda: svc.list_cases(pg.owner, limit=5))
    assert svc.list_cases(pg.owner, limit=5).items
    modes = [s for s in sent.statements if "plan_cache_mode" in s]
    assert modes == ["SET plan_cache_mode = force_generic_plan", "RESET plan_cache_mode"]
    assert "pg_current_snapshot()" in sent.statements[0]
    assert "FROM agencies" in sent.statements[0]
    assert sent.trips == 4, sent.statements  # the page held fewer than 5 of the owner's cases
    assert len(svc.list_cases(pg.owner, limit=50).items) < 50
    LIVE.clear()
    sent = _sent(pg.store, lambda: svc.list_cases(pg.owner, limit=1))
    assert sent.trips == 3, sent.statements  # a full page: no question about the window


def test_a_request_finds_its_token_or_session_and_its_user_in_one_statement(pg: Cast) -> None:
    """Issue 12 item 7: every API request resolves its bearer token, every browser request its
    session, to an active user (S-ACC-4) in one round trip; a deactivated user's credentials
    resolve to no one, and reactivating restores them."""
    svc = pg.svc
    _, secret = svc.create_token(pg.reader, "program")
    session = svc.start_session(pg.reader)

    def by_token() -> int | None:
        found = svc.token_owner(secret)
        return None if found is None else found[0].id

    def by_session() -> int | None:
        found = svc.session_owner(session.token)
        return None if found is None else found[1].id

    for resolve in (by_token, by_session):
        assert resolve() == pg.reader  # prepared
        sent = _sent(pg.store, resolve)
        assert sent.trips == 1, sent.statements
    svc.set_active(pg.agency, None, pg.reader, False)
    assert svc.token_owner(secret) is None
    assert svc.session_owner(session.token) is None  # deactivating ended it, too
    svc.set_active(pg.agency, None, pg.reader, True)
    assert svc.token_owner(secret) is not None


def test_load_and_authorise_of_a_known_user_is_the_checks_one_statement(pg: Cast) -> None:
    """Issue 12 item 7: ``require`` in the caller's agency (every case read and check of the
    API) reads nothing before the check's own statement once the user's agency is known;
    a deactivated user still gets not_found (S-ACC-4: no access at all), and a user asking
    in another agency's name too (S-ACC-3)."""
    svc = pg.svc
    svc.require(pg.reader, Action.VIEW, pg.case, agency_id=pg.agency)  # agency known, prepared
    sent = _sent(
        pg.store, lambda: svc.require(pg.reader, Action.VIEW, pg.case, agency_id=pg.agency)
    )
    assert sent.trips == 1, sent.statements
    assert code_of(svc.require, pg.reader, Action.VIEW, pg.case, agency_id=pg.agency + 1000) == (
        "not_found"
    )
    svc.set_active(pg.agency, None, pg.reader, False)
    assert code_of(svc.require, pg.reader, Action.VIEW, pg.case, agency_id=pg.agency) == "not_found"
