"""The live set walked level by level from Python (``store.livesets.LiveGraph``, SQLite) is the
recursive walk's set (``VisibilityQuery.live_walk``) and S-SYNC-1's (``core.sync.live_cases``),
on random case graphs: children, extensions, both at once, cycles, self-free, closed and binned
cases, owned or not. Steps held from one user's walk serve another's under the same stamp."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseshare.core.principals import Principal
from caseshare.services import Caseshare
from caseshare.store import Store, open_store
from caseshare.store.listing import VisibilityQuery
from caseshare.store.livesets import LiveGraph

N = 9
pairs = st.tuples(st.integers(0, N - 1), st.integers(0, N - 1)).filter(lambda p: p[0] != p[1])
graphs = st.fixed_dictionaries(
    {
        "children": st.lists(pairs, max_size=10),
        "extensions": st.lists(pairs, max_size=10),
        "closed": st.sets(st.integers(0, N - 1), max_size=4),
        "binned": st.sets(st.integers(0, N - 1), max_size=2),
        "owned_by": st.lists(st.integers(0, 2), min_size=N, max_size=N),
    }
)


def _store(tmp: Path) -> Store:
    return open_store(f"sqlite:///{tmp / f'{uuid.uuid4().hex}.db'}")


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(graph=graphs)
def test_the_stepwise_walk_is_the_recursive_walk_for_every_user(
    tmp_path: Path, graph: dict[str, Any]
) -> None:
    store = _store(tmp_path)
    try:
        svc = Caseshare(store)
        agency = svc.create_agency(f"g-{uuid.uuid4().hex[:8]}", settings=None)
        users = [svc.create_user(agency, None, f"u{n}") for n in range(3)]
        with store.transaction():
            pks = [
                store.insert_case(
                    agency,
                    f"k{n}",
                    "case",
                    f"k{n}",
                    Principal("user", users[o]),
                    opened_by=users[0],
                )
                for n, o in enumerate(graph["owned_by"])
            ]
            for i, (a, b) in enumerate(graph["children"]):
                store.set_index(pks[a], f"parent{i}", pks[b], "case", "child")
            for i, (a, b) in enumerate(graph["extensions"]):
                store.set_index(pks[a], f"host{i}", pks[b], "case", "extension")
            for n in graph["closed"]:
                store.set_closed(pks[n], True, users[0])
            for n in graph["binned"]:
                store.set_deleted(pks[n], True)
        ctx = svc.context(agency)
        held = LiveGraph()
        stamp = ("test", uuid.uuid4().hex)  # one stamp for the three users: steps are shared
        for user_id in users:
            query = VisibilityQuery(store.dialect, ctx, ctx.directory.users[user_id])
            walk = query.live_walk()
            whole = {int(r[0]) for r in store.rows(walk.sql, walk.params)}
            seeds = query.live_walk(seeds_only=True)
            start = [int(r[0]) for r in store.rows(seeds.sql, seeds.params)]
            stepwise = held.walk(store, start, VisibilityQuery.LIVE_STEP, stamp)
            assert stepwise == whole, (user_id, graph)
            names = {f"k{n}" for n, pk in enumerate(pks) if pk in whole}
            assert names == svc.live_case_ids(user_id), (user_id, graph)
        # every case's step is held now: walking again reads nothing, and gives the same set
        statements = held.statements
        assert held.walk(store, start, VisibilityQuery.LIVE_STEP, stamp) == whole
        assert held.statements == statements
    finally:
        store.close()


def test_a_stamp_that_moves_starts_the_steps_again() -> None:
    held = LiveGraph()
    steps = held.steps(("a",))
    steps[1] = (2,)
    assert held.steps(("a",)) == {1: (2,)}
    assert held.steps(("b",)) == {}
    assert held.steps(("a",)) == {}  # never back to what the old stamp held
