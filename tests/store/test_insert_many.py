"""``insert_many`` on both stores: rows go as one JSON parameter on PostgreSQL
(``store.base.rows_as_json``), and come back exactly as written — NULLs, JSON columns, quotes,
backslashes, non-ASCII text and large integers included."""

from __future__ import annotations

import uuid

from caseshare.core.settings import Settings
from caseshare.store import Store
from caseshare.store.base import dumps


def test_insert_many_round_trips_awkward_values(store: Store) -> None:
    with store.transaction():
        agency = store.create_agency(f"many-{uuid.uuid4().hex[:8]}", "Many", Settings())
    awkward = {"quote": 'it\'s "so"', "slash": "a\\b", "text": "Zoë 東京 \u2028", "n": 2**40}
    events = [
        ("case.update", "case:a", None, None, awkward),
        ("case.create", 'case:"b"\\', None, {"k": [1, None, True]}, None),
    ]
    with store.transaction():
        store.record_many(agency, "user:1", events, "reason with 'quotes'")
    found = store.audit_events(agency)
    assert [(e.action, e.subject, e.case_pk, e.before, e.after) for e in found] == [
        (a, s, pk, b, c) for a, s, pk, b, c in events
    ]
    assert {e.reason for e in found} == {"reason with 'quotes'"}
    assert dumps(found[0].after) == dumps(awkward)


def test_insert_many_returns_what_it_was_asked_for(store: Store) -> None:
    with store.transaction():
        agency = store.create_agency(f"many-{uuid.uuid4().hex[:8]}", "Many", Settings())
        made = store.add_form_transactions(
            agency,
            store.insert_submission(agency, "f1", 1, "<x/>", "h", "normal"),
            1,
            [("c1", ["create"], None, ["c2"]), ("c2", ["update"], "2024-01-01", [])],
        )
    assert set(made) == {"c1", "c2"} and len(set(made.values())) == 2
    txs = {t.case_id: t for c in ("c1", "c2") for t in store.transactions(agency, c)}
    assert (txs["c1"].kinds, txs["c2"].client_date) == ("create", "2024-01-01")
