"""SQLite plans of the list's statements that must cost what the user holds, not the database.

SQLite sizes a CTE (the user's direct cases, a recursive walk's queue) as a million rows. Joined
from so big an outer table into ``case_indices``, it first builds a Bloom filter by reading every
row of ``case_indices``, of every agency (or an automatic index over it): at size L that was 37 ms
of a 38 ms walk and 90 ms of a candidate query (issue 12 item 1). ``store.listing.FEW`` sizes
those tables small, so each of their rows probes the index.

A plan, not a time: every statement a user's list, count and check run is explained on an
analyzed world (the bench's XS world: the planner's choice needs ``sqlite_stat1``), for every
sort and filter, with the walk's sparse and dense forms; no step may build a Bloom filter or an
automatic index over ``case_indices`` or ``cases``. The target identifiers' X-Case join (a Bloom
filter on ``cases`` from a handful of identifier rows) is the one exception, and is not listed.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from caseshare.bench.world import SIZES, BenchWorld, build
from caseshare.core.levels import Action
from caseshare.services import CaseFilter, Caseshare
from caseshare.store import Store, caselist, open_store
from caseshare.store.base import Connection

FILTERS = [
    CaseFilter(),
    CaseFilter(sort="name", descending=True),
    CaseFilter(sort="opened_on", status="open"),
    CaseFilter(q="refer"),
    CaseFilter(owned_by_me=True),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, BenchWorld, Path]]:
    path = tmp_path_factory.mktemp("plans") / "caseshare.db"
    store = open_store(f"sqlite:///{path}")
    built = build(store, SIZES["XS"], seed=3, slug="plans")
    yield store, built, path
    store.close()


def _statements(
    store: Store, world: BenchWorld, monkeypatch: pytest.MonkeyPatch
) -> dict[str, list[Any]]:
    """Every distinct statement (with its parameters) of lists, counts and checks."""
    seen: dict[str, list[Any]] = {}
    for name in ("rows", "row", "value"):
        real = getattr(Connection, name)

        def spy(
            self: Connection, sql: str, params: Any = (), *a: Any, _r: Any = real, **k: Any
        ) -> Any:
            seen.setdefault(sql, list(params))
            return _r(self, sql, params, *a, **k)

        monkeypatch.setattr(Connection, name, spy)
    svc = Caseshare(store)
    rng = random.Random(5)
    users = [*rng.sample(world.users, 6), world.top_user]
    monkeypatch.setattr(caselist, "WALK", 60)  # windows that miss at XS as at L
    for sparse in (True, False):
        monkeypatch.setattr(caselist, "SPARSE", sparse)
        caselist._WALK_MISSES.clear()
        for user in users:
            for flt in FILTERS:
                page = svc.list_cases(user, flt, limit=20)
                for _ in range(2):
                    if page.next_cursor is None:
                        break
                    page = svc.list_cases(user, flt, limit=20, cursor=page.next_cursor)
            svc.case_count(user)
            svc.case_count(user, exact=True)
            for case_id in rng.sample(world.case_ids, 5):
                svc.check(user, Action.VIEW, case_id)
    monkeypatch.undo()
    return seen


def test_no_statement_reads_a_whole_table_for_a_bloom_filter_or_an_automatic_index(
    world: tuple[Store, BenchWorld, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, built, path = world
    statements = _statements(store, built, monkeypatch)
    assert any("WITH RECURSIVE up" in sql for sql in statements)  # the live walk ran
    assert any("WITH direct" in sql for sql in statements)  # so did the candidate query
    explain = sqlite3.connect(path)
    try:
        wrong = []
        for sql, params in statements.items():
            if "target_identifiers" in sql or not sql.lstrip().upper().startswith(
                ("SELECT", "WITH")
            ):
                continue
            plan = [row[3] for row in explain.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
            bad = [step for step in plan if "BLOOM FILTER" in step or "AUTOMATIC" in step]
            if bad:
                wrong.append((bad, sql[:200]))
    finally:
        explain.close()
    assert wrong == []
