"""S-TX-6 (concurrent submissions) and S-TX-8 (a rebuild equals the stored state), both stores."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from caseshare.core.casexml import parse_submission
from caseshare.core.errors import CaseShareError
from caseshare.core.replay import fold_transaction, prepare_block
from caseshare.services import Caseshare
from caseshare.services.casehistory import columns_of, parse_time
from caseshare.store import Store, open_store
from tests.services.forms import block, create, form, index, update

THREADS = 16


def _world(
    store: Store, *, case_sharing: bool = False, **settings_: object
) -> tuple[int, list[int]]:
    svc = Caseshare(store)
    agency = svc.create_agency(
        f"tx-{uuid.uuid4().hex[:10]}", "Tx", {"case_sharing": case_sharing, **settings_}
    )
    users = [svc.create_user(agency, None, f"u{n}", permissions=["admin"]) for n in range(2)]
    return agency, users


def test_s_tx_6_concurrent_submissions_apply_one_after_the_other(store_url: str) -> None:
    store = open_store(store_url)
    try:
        agency, (user, _) = _world(store)
        Caseshare(store).submit(agency, user, form(block("hot", create(name="Hot"))))
        forms = [
            form(
                block(
                    "hot",
                    update(**{f"p{n}": str(n), "last": str(n)}) + ("<close/>" if n == 5 else ""),
                    f"2024-01-01T{n % 24:02d}:00:00Z",
                ),
                instance=f"f{n}",
            )
            for n in range(THREADS)
        ]
        errors: list[BaseException] = []
        start = threading.Barrier(THREADS)

        def send(xml: str) -> None:
            mine = open_store(store_url)
            try:
                start.wait()
                Caseshare(mine).submit(agency, user, xml)
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                mine.close()

        threads = [threading.Thread(target=send, args=(xml,)) for xml in forms]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []

        svc = Caseshare(store)
        txs = store.transactions(agency, "hot")
        assert len(txs) == THREADS + 1  # nothing lost
        assert [t.position for t in txs] == sorted({t.position for t in txs})
        # applying the stored forms one by one in received order gives the stored state
        subs = sorted(
            (s for s in store.submissions(agency) if s.status == "normal"), key=lambda s: s.position
        )
        state = None
        for sub in subs:
            received = parse_time(sub.received_on)
            assert received is not None
            blocks = [
                prepare_block(b, str(user), received) for b in parse_submission(sub.xml).blocks
            ]
            state = fold_transaction(state, blocks, f"user:{user}")
        assert state is not None
        stored = svc.stored_snapshot(agency, "hot")
        assert stored is not None
        assert columns_of(state)[0] == stored[0]
        assert stored[0]["closed"]  # sticky: later updates did not reopen it
        assert stored[0]["properties"]["last"] == subs[-1].instance_id.removeprefix("f")
        assert {f"p{n}" for n in range(THREADS)} <= set(stored[0]["properties"])
        assert svc.history_snapshot(agency, "hot") == stored
    finally:
        store.close()


# --- the property: a rebuild of every case equals its stored state -----------------------------

CASES = ("a", "b", "c", "d")

block_st = st.tuples(
    st.sampled_from(CASES),
    st.booleans(),  # create
    st.dictionaries(
        st.sampled_from(["p", "q", "owner_id"]), st.sampled_from(["1", "2"]), max_size=2
    ),
    st.booleans(),  # close
    st.none() | st.tuples(st.sampled_from(CASES), st.sampled_from(["child", "extension"])),
)
op_st = st.one_of(
    st.tuples(
        st.just("submit"),
        st.integers(0, 3),  # instance: repeats are duplicates or edits
        st.integers(0, 1),  # which user
        st.integers(0, 40),  # device hour
        st.lists(block_st, min_size=1, max_size=3),
    ),
    st.tuples(st.sampled_from(["archive", "unarchive"]), st.integers(0, 5)),
)


def _xml(users: list[int], hour: int, instance: str, blocks: list[tuple[object, ...]]) -> str:
    parts = []
    for case_id, creates, props, close, idx in blocks:
        assert isinstance(case_id, str) and isinstance(props, dict)
        props = {
            k: (f"user:{users[int(v) - 1]}" if k == "owner_id" else v) for k, v in props.items()
        }
        body = (create() if creates else "") + (update(**props) if props else "")
        body += "<close/>" if close else ""
        if isinstance(idx, tuple) and idx[0] != case_id:
            body += index("link", str(idx[0]), str(idx[1]))
        moment = datetime(2024, 1, 1, tzinfo=UTC).replace(day=1 + hour // 24, hour=hour % 24)
        parts.append(block(case_id, body, moment.strftime("%Y-%m-%dT%H:%M:%SZ")))
    return form(*parts, instance=instance)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ops=st.lists(op_st, min_size=1, max_size=14),
    cascade=st.booleans(),
    ordering=st.sampled_from(["received", "reconcile"]),
)
def test_s_tx_8_a_rebuild_of_every_case_equals_its_stored_state(
    module_store: Store, ops: list[tuple[object, ...]], cascade: bool, ordering: str
) -> None:
    agency, users = _world(module_store, extension_close_cascade=cascade, ordering=ordering)
    svc = Caseshare(module_store)
    sent: list[str] = []  # archive and unarchive pick among the forms sent so far
    for op in ops:
        try:
            if op[0] == "submit":
                _, inst, who, hour, blocks = op
                assert isinstance(blocks, list) and isinstance(who, int) and isinstance(hour, int)
                sent.append(f"i{inst}")
                svc.submit(agency, users[who], _xml(users, hour, f"i{inst}", blocks))
            elif op[0] == "archive" and sent:
                svc.archive_submission(agency, users[0], sent[int(str(op[1])) % len(sent)])
            elif sent:
                svc.unarchive_submission(agency, users[0], sent[int(str(op[1])) % len(sent)])
            event(f"{op[0]} ok")
        except CaseShareError as exc:
            event(f"{op[0]} refused: {exc.code}")
            # insufficient_access: an edit of the other user's form (same instanceID, S-TX-5)
            assert exc.code in (
                "invalid_index",
                "not_found",
                "invalid_transition",
                "insufficient_access",
            ), exc
    for case_id in CASES:
        assert svc.history_snapshot(agency, case_id) == svc.stored_snapshot(agency, case_id), (
            case_id
        )


# --- §8.4 cascades of a form applied out of received order --------------------------------------


@pytest.mark.parametrize("ordering", ["received", "reconcile"])
def test_s_tx_8_an_edit_closing_a_host_cascades_as_its_place_in_the_history_says(
    module_store: Store, ordering: str
) -> None:
    """An edit is applied at its old version's place (S-TX-5): the host it now closes had no
    extension there yet (``a`` became ``b``'s extension in a form received later), so ``a``
    stays open, as a replay of ``a``'s history says; an extension that was ``b``'s at that place
    is closed. (Found by the property above: the cascade used the indices of today.)"""
    agency, users = _world(module_store, extension_close_cascade=True, ordering=ordering)
    svc = Caseshare(module_store)
    forms: list[tuple[int, int, list[tuple[object, ...]]]] = [
        (5, 0, [("b", False, {}, False, None), ("c", False, {}, False, ("b", "extension"))]),
        (1, 1, [("a", False, {}, False, None)]),
        (0, 0, [("a", False, {}, False, ("b", "extension"))]),
        # i1 again, by its sender, with different content: an edit, at i1's place
        (1, 1, [("a", False, {}, False, None), ("b", False, {}, True, None)]),
    ]
    for instance, who, blocks in forms:
        svc.submit(agency, users[who], _xml(users, 0, f"i{instance}", blocks))
    stored = {c: svc.stored_snapshot(agency, c) for c in ("a", "b", "c")}
    for case_id, snapshot in stored.items():
        assert snapshot is not None
        assert svc.history_snapshot(agency, case_id) == snapshot
    closed = {c: bool(s and s[0]["closed"]) for c, s in stored.items()}
    # c was b's extension before i1's place: closed; a became one after it: open
    assert closed == {"a": False, "b": True, "c": True}


@pytest.mark.parametrize("ordering", ["received", "reconcile"])
def test_s_tx_8_a_new_form_closing_a_host_closes_its_extensions(
    module_store: Store, ordering: str
) -> None:
    """The plain case, on both orderings: the extension was the host's before the closing form,
    so the cascade closes it, and a replay agrees."""
    agency, users = _world(module_store, extension_close_cascade=True, ordering=ordering)
    svc = Caseshare(module_store)
    svc.submit(agency, users[0], _xml(users, 0, "i0", [("b", False, {}, False, None)]))
    svc.submit(
        agency, users[0], _xml(users, 1, "i1", [("a", False, {}, False, ("b", "extension"))])
    )
    svc.submit(agency, users[1], _xml(users, 2, "i2", [("b", False, {}, True, None)]))
    for case_id in ("a", "b"):
        snapshot = svc.stored_snapshot(agency, case_id)
        assert snapshot is not None and snapshot[0]["closed"]
        assert svc.history_snapshot(agency, case_id) == snapshot
