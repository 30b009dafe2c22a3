"""Property test (S-ACC-1…6): the decision's look-up of a case's grants by grantee (its fast
path, taken on cases that many grants reach) gives exactly the access a test of every grant
gives, on random valid worlds (tests/strategies.py): every user of every agency, every case."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings

from caseshare.core import engine
from caseshare.core.engine import Access, evaluate
from caseshare.scenario.world import World
from caseshare.store import open_store
from tests.strategies import worlds


def _every_decision(world: World, indexed_from: int) -> list[Access]:
    store, svc = world.store, world.svc
    facts = []
    for agency_id, case_id in world.cases.values():
        row = store.case_row(agency_id, case_id)
        assert row is not None
        facts.append(store.facts(row))  # fresh facts: nothing looked up before
    out = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "INDEXED_FROM", indexed_from)
        for principal in world.names:
            if principal.kind != "user":
                continue
            user = store.user(principal.id)
            ctx = svc.context(user.agency_id)
            out += [evaluate(ctx, ctx.directory.users.get(user.id, user), f) for f in facts]
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=worlds())
def test_grants_by_grantee_decide_as_a_test_of_every_grant(data: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory(prefix="caseshare-decision-") as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'caseshare.db'}")
        try:
            world = World.load(store, copy.deepcopy(data))
            scanned = _every_decision(world, indexed_from=1_000_000)
            looked_up = _every_decision(world, indexed_from=0)
            note(f"{len(scanned)} decisions")
            assert looked_up == scanned
        finally:
            store.close()
