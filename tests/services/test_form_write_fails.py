"""S-TX-5 (issue 12 item 4): a form whose writes go in one round trip with its COMMIT on
PostgreSQL (``Connection.later``) is still applied whole or not at all. The database refuses the
form's last write (its audit events, through a trigger: the real database, no mock); nothing of
the form is kept, on both stores, for a form of creates and one of updates, and the next form
applies as usual."""

from __future__ import annotations

import uuid

import pytest

from caseshare.services import Caseshare
from caseshare.store import Store, open_store
from tests.services.forms import block, create, form, update

_REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events"
        " WHEN NEW.reason LIKE '%refuse-me%' BEGIN SELECT RAISE(ABORT, 'refused'); END"
    ],
    "postgres": [
        "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.reason LIKE '%refuse-me%' THEN RAISE EXCEPTION 'refused'; END IF;"
        " RETURN NEW; END $$",
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events"
        " FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
    ],
}


def _refusing(store: Store) -> None:
    for statement in _REFUSE["postgres" if store.is_postgres else "sqlite"]:
        store.execute(statement)


def _kept(store: Store, agency: int, instance: str) -> list[tuple[object, ...]]:
    return store.rows(
        "SELECT status FROM submissions WHERE agency_id = ? AND instance_id = ?",
        (agency, instance),
    )


def test_a_form_whose_last_write_fails_leaves_nothing(store_url: str) -> None:
    store = open_store(store_url)
    try:
        svc = Caseshare(store)
        agency = svc.create_agency(f"wf-{uuid.uuid4().hex[:8]}", "Write fails", {})
        user = svc.create_user(agency, None, "dev", permissions=["admin"])
        svc.submit(agency, user, form(block("A", create(name="A") + update(p="0"))))
        _refusing(store)

        # creates: no case, no transaction, no submission
        with pytest.raises(Exception, match="refused"):
            svc.submit(
                agency,
                user,
                form(
                    block("B", create(name="B")),
                    block("C", create(name="C")),
                    instance="refuse-me-1",
                ),
            )
        assert not store.in_transaction
        assert store.case_pks(agency, ["B", "C"]) == {}
        assert store.transactions(agency, "B") == [] and store.transactions(agency, "C") == []
        assert _kept(store, agency, "refuse-me-1") == []

        # updates: the case as it was, its history as it was
        with pytest.raises(Exception, match="refused"):
            svc.submit(agency, user, form(block("A", update(p="1")), instance="refuse-me-2"))
        stored = svc.stored_snapshot(agency, "A")
        assert stored is not None and stored[0]["properties"]["p"] == "0"
        assert len(store.transactions(agency, "A")) == 1
        assert _kept(store, agency, "refuse-me-2") == []

        # and the next form applies whole
        done = svc.submit(agency, user, form(block("A", update(p="2")), block("B", create())))
        assert done.status == "normal" and set(done.cases) == {"A", "B"}
        stored = svc.stored_snapshot(agency, "A")
        assert stored is not None and stored[0]["properties"]["p"] == "2"
        assert svc.history_snapshot(agency, "A") == stored
    finally:
        store.close()
