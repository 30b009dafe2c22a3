"""`make bench-peers` reads caseshare's §16 world back as data and restricts it per peer; this
keeps that harness in step with the store without the peer engines (they live in .venv-peers).

Only ``bench/peers/world.py`` is imported here: it needs caseshare alone."""

from __future__ import annotations

from pathlib import Path

from bench.peers.world import FEATURES, build_restricted, read_world
from caseshare.core.levels import Action
from caseshare.services import Caseshare
from caseshare.store import open_store

PEER_LIKE = frozenset(FEATURES) - {"owner_rules", "criteria_rules", "hierarchy", "implicit"}


def test_bench_peers_restricted_world_holds_only_what_the_peer_expresses(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/peers.db")
    try:
        svc = Caseshare(store)
        small_id = build_restricted(svc, "XS", 1, PEER_LIKE)
        small = read_world(svc, small_id, PEER_LIKE)  # asserts: no indices, hierarchy off

        assert len(small.cases) == 2_000 and len(small.users) == 200
        assert [c.case_id for c in small.cases[:3]] == ["c0", "c1", "c2"]
        assert not small.rules
        assert store.value("SELECT count(*) FROM rules WHERE agency_id = ?", (small_id,)) == 0
        assert {g.cause for g in small.grants} == {"manual", "assigned", "team"}
        assert not svc.context(small_id).settings.hierarchy_access
        # the person at position i is u{i}, whose cases are theirs (what the peers rely on)
        case = next(
            c
            for c in small.cases
            if c.owner.startswith("user:") and small.users[int(c.owner[5:])].active
        )
        owner = small.users[int(case.owner[5:])]
        assert owner.username == f"u{small.user_order.index(owner.id)}"
        assert svc.check(owner.id, Action.VIEW, case.case_id).allowed
    finally:
        store.close()
