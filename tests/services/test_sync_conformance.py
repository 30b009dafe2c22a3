"""S-SYNC-1 on a real store: every CommCare case-relationship graph, built as cases in SQLite and
PostgreSQL, gives exactly the live set CommCare expects (conformance data read from ../shared)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from caseshare.core.levels import Cause
from caseshare.core.principals import Principal
from caseshare.services import Caseshare
from caseshare.store import Store
from caseshare.store.listing import VisibilityQuery

GRAPHS = Path(__file__).resolve().parents[2].parent / "shared/conformance/commcare"
CASES: list[dict[str, Any]] = json.loads(
    (GRAPHS / "case_relationship_tests.json").read_text(encoding="utf-8")
)


def _names(graph: dict[str, Any]) -> set[str]:
    names = set(graph.get("cases", ())) | set(graph.get("owned", ())) | set(graph.get("closed", ()))
    for pair in [*graph.get("subcases", ()), *graph.get("extensions", ())]:
        names.update(pair)
    names.update(graph.get("outcome", ()))
    return names


@pytest.mark.parametrize("graph", CASES, ids=[g["name"] for g in CASES])
def test_s_sync_1_live_set_on_the_store(module_store: Store, graph: dict[str, Any]) -> None:
    store = module_store
    svc = Caseshare(store)
    agency = svc.create_agency(f"sync-{uuid.uuid4().hex[:8]}", settings=None)
    device_user = svc.create_user(agency, None, "device")
    other = svc.create_user(agency, None, "other")
    owned = set(graph.get("owned", ()))
    with store.transaction():
        pks = {}
        for name in sorted(_names(graph)):
            owner = Principal("user", device_user if name in owned else other)
            pks[name] = store.insert_case(agency, name, "case", name, owner, opened_by=other)
        for name in graph.get("closed", ()):
            store.set_closed(pks[name], True, other)
        for i, (child, parent) in enumerate(graph.get("subcases", ())):
            store.set_index(pks[child], f"parent{i}", pks[parent], "case", "child")
        for i, (extension, host) in enumerate(graph.get("extensions", ())):
            store.set_index(pks[extension], f"host{i}", pks[host], "case", "extension")
    assert svc.live_case_ids(device_user) == set(graph["outcome"]), graph["name"]
    # S-SYNC-1 / row cause sync: the listing's SQL twin of the live set gives the same cases …
    ctx, user = svc.user(device_user)
    synced = VisibilityQuery(store.dialect, ctx, user).synced("c")
    rows = store.rows(f"SELECT c.case_id FROM cases c WHERE {synced.sql}", synced.params)
    assert {r[0] for r in rows} == set(graph["outcome"]), graph["name"]
    # … and the list pages, which on SQLite hold that set under the store's read stamp
    # (``store.livesets``), list what the walk lists, the second time from the held set too
    for _ in range(2):
        listed: set[str] = set()
        cursor = None
        while True:
            page = svc.list_cases(device_user, limit=3, cursor=cursor)
            listed.update(item["case_id"] for item in page.items)
            if (cursor := page.next_cursor) is None:
                break
        assert listed == svc.visible_case_ids(device_user) >= set(graph["outcome"]), graph["name"]
    # … and explain and who-has-access name sync on each of them that the user does not own
    # (an owned case has its owner grant), with a route from an owned case
    for name in set(graph["outcome"]) - owned:
        grants = [g for g in svc.explain(device_user, name).grants if g.cause is Cause.SYNC]
        assert len(grants) == 1 and grants[0].path.startswith("sync → case:"), (name, grants)
        who = {a.user_id: a for a in svc.who_has_access(agency, name)}
        assert Cause.SYNC in {g.cause for g in who[device_user].grants}, name
        assert svc.check(device_user, "view", name).allowed, name
