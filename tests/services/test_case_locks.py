"""Issue 12 item 4, S-TX-6: device forms wait only for writes to the same cases, locked in one
fixed order, so forms naming cases A and B and B and A never deadlock; a write that takes the
agency's lock whole still waits for every form and every form for it."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid

from caseshare.core.errors import CaseShareError
from caseshare.core.principals import Principal
from caseshare.services import Caseshare
from caseshare.store import Store, open_store
from tests.services.forms import block, create, form, update

ROUNDS = 25


def _world(store: Store) -> tuple[int, int]:
    svc = Caseshare(store)
    agency = svc.create_agency(f"lk-{uuid.uuid4().hex[:10]}", "Locks", {"case_sharing": False})
    user = svc.create_user(agency, None, "dev", permissions=["admin"])
    svc.submit(agency, user, form(block("A", create(name="A")), block("B", create(name="B"))))
    return agency, user


def test_s_tx_6_forms_naming_a_then_b_and_b_then_a_never_deadlock(store_url: str) -> None:
    store = open_store(store_url)
    try:
        agency, user = _world(store)
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def send(order: tuple[str, str], tag: str) -> None:
            mine = open_store(store_url)
            try:
                svc = Caseshare(mine)
                start.wait()
                for n in range(ROUNDS):
                    xml = form(*(block(c, update(**{tag: str(n), "last": tag})) for c in order))
                    svc.submit(agency, user, xml)
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                mine.close()

        threads = [
            threading.Thread(target=send, args=(("A", "B"), "ab")),
            threading.Thread(target=send, args=(("B", "A"), "ba")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []  # a deadlock would be refused as invalid_transition
        svc = Caseshare(store)
        for case_id in ("A", "B"):
            txs = store.transactions(agency, case_id)
            assert len(txs) == 1 + 2 * ROUNDS  # nothing lost
            stored = svc.stored_snapshot(agency, case_id)
            assert stored is not None
            props = stored[0]["properties"]
            assert props["ab"] == props["ba"] == str(ROUNDS - 1)
            assert svc.history_snapshot(agency, case_id) == stored  # received order (S-TX-3)
        # both cases end as the same form left them: every form wrote both under both locks
        last = [svc.stored_snapshot(agency, c) for c in ("A", "B")]
        assert last[0] is not None and last[1] is not None
        assert last[0][0]["properties"]["last"] == last[1][0]["properties"]["last"]
    finally:
        store.close()


def test_s_tx_6_a_form_waits_only_for_writes_to_its_own_cases(fresh_postgres_url: str) -> None:
    """PostgreSQL: while another transaction holds case A (as a form on A does), a form on B
    goes through, a form on A waits and then applies, and a write taking the agency's lock
    whole waits too; SQLite admits one writer at a time and has nothing to show here."""
    url = fresh_postgres_url
    store = open_store(url)
    holder = open_store(url)
    try:
        agency, user = _world(store)
        done: dict[str, float] = {}
        errors: list[BaseException] = []

        def later(name: str, work: object) -> threading.Thread:
            def run() -> None:
                mine = open_store(url)
                try:
                    assert callable(work)
                    work(mine)
                    done[name] = time.monotonic()
                except BaseException as exc:  # reported below
                    errors.append(exc)
                finally:
                    mine.close()

            thread = threading.Thread(target=run)
            thread.start()
            return thread

        def whole(mine: Store) -> None:
            with mine.transaction():
                mine.lock_case_transactions(agency)

        with contextlib.ExitStack() as held:
            held.enter_context(holder.transaction())
            holder.lock_cases(agency, ["case:A"])
            on_b = later("B", lambda s: Caseshare(s).submit(agency, user, form(block("B"))))
            on_b.join(timeout=20)
            assert "B" in done, errors  # not held up by the form on A
            on_a = later(
                "A", lambda s: Caseshare(s).submit(agency, user, form(block("A", update(p="1"))))
            )
            agency_whole = later("whole", whole)
            time.sleep(1.0)
            assert "A" not in done and "whole" not in done and errors == []
            released = time.monotonic()
        for t in (on_a, agency_whole):
            t.join(timeout=20)
        assert errors == []
        assert done["A"] >= released and done["whole"] >= released
        stored = Caseshare(store).stored_snapshot(agency, "A")
        assert stored is not None and stored[0]["properties"]["p"] == "1"
    finally:
        holder.close()
        store.close()


def test_s_tx_5_an_edit_and_a_re_created_case_still_apply_whole(store_url: str) -> None:
    """The forms that take the agency's lock whole after looking under their case locks (an
    edit of an earlier version) apply exactly as before."""
    store = open_store(store_url)
    try:
        agency, user = _world(store)
        svc = Caseshare(store)
        first = svc.submit(agency, user, form(block("C", create(name="C")), instance="edit-me"))
        assert first.status == "normal"
        again = svc.submit(
            agency, user, form(block("C", create(name="C2")), block("A"), instance="edit-me")
        )
        assert again.edited and "C" in again.cases
        stored = svc.stored_snapshot(agency, "C")
        assert stored is not None and stored[0]["name"] == "C2"
        for case_id in ("A", "C"):
            assert svc.history_snapshot(agency, case_id) == svc.stored_snapshot(agency, case_id)
    finally:
        store.close()


def test_s_own_2_a_membership_removed_while_a_form_waits_for_its_case_lock_refuses_the_form(
    fresh_postgres_url: str,
) -> None:
    """S-OWN-2, S-TX-6 (PostgreSQL): a form that read the agency's context and then waited for
    its case's lock is checked against the membership as it stands once it holds the lock: a
    removal committed while it waited is in force, never the grant the form read before."""
    url = fresh_postgres_url
    store = open_store(url)
    holder = open_store(url)
    try:
        svc = Caseshare(store)
        agency = svc.create_agency(f"lk-{uuid.uuid4().hex[:10]}", "Locks")
        admin = svc.create_user(agency, None, "admin", permissions=["admin"])
        member = svc.create_user(agency, None, "member")
        group = svc.create_group(agency, admin, "Team", case_sharing=True)
        svc.add_member(agency, admin, group, Principal("user", member))
        svc.create_case(agency, None, "patient", "A", case_id="A", owner=f"group:{group}")
        outcome: list[object] = []

        def send() -> None:
            mine = open_store(url)
            try:
                sent = Caseshare(mine).submit(agency, member, form(block("A", update(p="1"))))
                outcome.append(sent.status)
            except CaseShareError as exc:
                outcome.append(exc.code)
            finally:
                mine.close()

        with holder.transaction():
            holder.lock_cases(agency, ["case:A"])
            thread = threading.Thread(target=send)
            thread.start()
            time.sleep(1.0)  # the form has read the context and waits for case A
            assert outcome == []
            svc.remove_member(agency, admin, group, Principal("user", member))
        thread.join(timeout=20)
        assert outcome and outcome[0] != "normal", outcome
        stored = svc.stored_snapshot(agency, "A")
        assert stored is not None and "p" not in stored[0]["properties"]
    finally:
        holder.close()
        store.close()


def test_s_tx_8_an_admin_permission_taken_away_while_an_archive_waits_refuses_it(
    fresh_postgres_url: str,
) -> None:
    """S-TX-8 (PostgreSQL): archiving a form waits for the agency's lock and then checks the
    admin against the context read under it, not one read before the wait."""
    url = fresh_postgres_url
    store = open_store(url)
    holder = open_store(url)
    try:
        svc = Caseshare(store)
        agency = svc.create_agency(f"lk-{uuid.uuid4().hex[:10]}", "Locks")
        admin = svc.create_user(agency, None, "admin", permissions=["admin"])
        second = svc.create_user(agency, None, "second", permissions=["admin"])
        svc.submit(agency, admin, form(block("A", create(name="A")), instance="f-arch"))
        outcome: list[object] = []

        def archive() -> None:
            mine = open_store(url)
            try:
                outcome.append(Caseshare(mine).archive_submission(agency, second, "f-arch"))
            except CaseShareError as exc:
                outcome.append(exc.code)
            finally:
                mine.close()

        with holder.transaction():
            holder.lock_case_transactions(agency)
            thread = threading.Thread(target=archive)
            thread.start()
            time.sleep(1.0)  # the archive waits for the agency's lock
            assert outcome == []
            svc.set_permissions(agency, admin, second, [])
        thread.join(timeout=20)
        assert outcome == ["insufficient_access"], outcome
        assert store.current_submission(agency, "f-arch").status == "normal"  # type: ignore[union-attr]
    finally:
        holder.close()
        store.close()


def test_s_sync_1_a_membership_removed_while_a_restore_waits_is_in_its_owner_ids(
    fresh_postgres_url: str,
) -> None:
    """S-SYNC-1, S-OWN-2 (PostgreSQL): a restore waits for the agency's case writes and then
    reads who the user is under that lock: a group left meanwhile is neither in the restore's
    owner ids nor in the sync log the next incremental restore compares with."""
    url = fresh_postgres_url
    store = open_store(url)
    holder = open_store(url)
    try:
        svc = Caseshare(store)
        agency = svc.create_agency(f"lk-{uuid.uuid4().hex[:10]}", "Locks")
        admin = svc.create_user(agency, None, "admin", permissions=["admin"])
        member = svc.create_user(agency, None, "member")
        group = svc.create_group(agency, admin, "Team", case_sharing=True)
        svc.add_member(agency, admin, group, Principal("user", member))
        svc.create_case(agency, None, "patient", "A", case_id="A", owner=f"group:{group}")
        outcome: list[object] = []

        def restore() -> None:
            mine = open_store(url)
            try:
                outcome.append(Caseshare(mine).restore(member))
            finally:
                mine.close()

        with holder.transaction():
            holder.lock_case_transactions(agency)
            thread = threading.Thread(target=restore)
            thread.start()
            time.sleep(1.0)  # the restore waits for the agency's lock
            assert outcome == []
            svc.remove_member(agency, admin, group, Principal("user", member))
        thread.join(timeout=20)
        assert len(outcome) == 1
        sent = outcome[0]
        assert f"group:{group}" not in [p for p, _ in sent.groups]  # type: ignore[attr-defined]
        assert [c.case_id for c in sent.cases] == []  # type: ignore[attr-defined]
        log = store.sync_log(sent.token)  # type: ignore[attr-defined]
        assert log is not None and f"group:{group}" not in log.owner_ids
    finally:
        holder.close()
        store.close()
