"""Issue 12 item 5: the facts of recently checked cases held in process (``services.factcache``)
are never served once anything was written, by this connection, another connection of this
process, or another process; on PostgreSQL nothing is held (one round trip per check).

Each test runs on a fresh, committed store (SQLite and PostgreSQL): the rolled-back service
fixtures run every check inside a transaction, where the cache is never used.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from caseshare.core.levels import Level
from caseshare.core.principals import Principal
from caseshare.services import Caseshare
from caseshare.services.factcache import FACTS
from tests.services.cast import Cast


def _statements(cast: Cast, fn: object) -> int:
    """How many statements ``fn()`` runs on the cast's connection."""
    store = cast.store
    seen: list[str] = []
    run = store._run

    def counting(sql: str, params: object, *, control: bool = False) -> object:
        seen.append(sql)
        return run(sql, params, control=control)  # type: ignore[arg-type]

    store._run = counting  # type: ignore[method-assign]
    try:
        assert callable(fn)
        fn()
    finally:
        del store._run
    return len(seen)


def test_a_repeated_check_reads_nothing_on_sqlite_and_one_round_trip_on_postgres(
    two: tuple[Cast, Caseshare],
) -> None:
    cast, _ = two
    svc = cast.svc
    assert svc.access(cast.reader, cast.case).level is Level.READ
    assert svc.access(cast.outsider, cast.case).level is Level.NONE
    hits = FACTS.hits
    again = _statements(cast, lambda: svc.access(cast.reader, cast.case))
    none_again = _statements(cast, lambda: svc.access(cast.outsider, cast.case))
    if cast.store.is_postgres:
        assert cast.store.read_stamp() is None
        assert FACTS.hits == hits
        # the agency's state, the facts and the sync probe are one statement
        assert again == 1 and none_again == 1
    else:
        assert (again, none_again) == (0, 0)
        assert FACTS.hits == hits + 2


def test_a_revoke_through_another_connection_is_in_force_at_the_very_next_check(
    two: tuple[Cast, Caseshare],
) -> None:
    cast, other = two
    for _ in range(2):  # the second check is served from the cache
        assert cast.svc.access(cast.reader, cast.case).level is Level.READ
    other.unshare(cast.agency, cast.owner, cast.case, Principal("user", cast.reader))
    assert cast.svc.access(cast.reader, cast.case).level is Level.NONE
    other.share(cast.agency, cast.owner, cast.case, Principal("user", cast.reader), "edit")
    assert cast.svc.access(cast.reader, cast.case).level is Level.EDIT


def test_a_revoke_through_another_process_is_in_force_at_the_very_next_check(
    two: tuple[Cast, Caseshare],
) -> None:
    cast, _ = two
    for _ in range(2):
        assert cast.svc.access(cast.reader, cast.case).level is Level.READ
    code = (
        "import sys\n"
        "from caseshare.services import Caseshare\n"
        "from caseshare.store import open_store\n"
        "store = open_store(sys.argv[1])\n"
        "Caseshare(store).unshare(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4],"
        " 'user:' + sys.argv[5])\n"
        "store.close()\n"
    )
    subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            cast.store.url,
            str(cast.agency),
            str(cast.owner),
            cast.case,
            str(cast.reader),
        ],
        check=True,
        timeout=120,
    )
    assert cast.svc.access(cast.reader, cast.case).level is Level.NONE


def test_a_revoke_through_the_same_connection_is_in_force_even_outside_any_transaction(
    two: tuple[Cast, Caseshare],
) -> None:
    """A write that bypasses ``transaction()`` (an autocommitted statement) still moves the
    stamp: ``total_changes`` counts it."""
    cast, _ = two
    for _ in range(2):
        assert cast.svc.access(cast.reader, cast.case).level is Level.READ
    pk = cast.store.case_pk(cast.agency, cast.case)
    cast.store.execute(
        "DELETE FROM grants WHERE case_pk = ? AND grantee = ?", (pk, f"user:{cast.reader}")
    )
    assert cast.svc.access(cast.reader, cast.case).level is Level.NONE


def test_what_a_rolled_back_transaction_read_is_never_served(two: tuple[Cast, Caseshare]) -> None:
    cast, _ = two
    svc = cast.svc
    assert svc.access(cast.outsider, cast.case).level is Level.NONE
    assert svc.access(cast.reader, cast.case).level is Level.READ

    class Undo(Exception):
        pass

    hits = FACTS.hits
    with pytest.raises(Undo), cast.store.transaction():
        svc.share(cast.agency, cast.owner, cast.case, Principal("user", cast.outsider), "edit")
        svc.unshare(cast.agency, cast.owner, cast.case, Principal("user", cast.reader))
        assert svc.access(cast.outsider, cast.case).level is Level.EDIT
        assert svc.access(cast.reader, cast.case).level is Level.NONE
        raise Undo
    assert FACTS.hits == hits  # inside a transaction the cache is neither used nor filled
    assert svc.access(cast.outsider, cast.case).level is Level.NONE
    assert svc.access(cast.reader, cast.case).level is Level.READ


def test_a_structural_change_through_another_connection_is_in_force_at_the_next_check(
    two: tuple[Cast, Caseshare],
) -> None:
    """The agency's version read is skipped under an unchanged stamp, never after a change."""
    cast, other = two
    for _ in range(2):
        assert cast.svc.access(cast.colleague, cast.case).level is Level.FULL
    other.remove_member(cast.agency, cast.admin, cast.group, Principal("user", cast.colleague))
    assert cast.svc.access(cast.colleague, cast.case).level is Level.NONE
