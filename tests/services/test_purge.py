"""Purging a case for good (S-SHR-8, issue 8 fault 2): nothing of it comes back, on both stores.

A device creates case X (owner A, a property); an admin deletes and purges X; another user makes
a case with the same id. Whatever happens to the new X afterwards — its form edited, archived and
unarchived, a form archived that once indexed the old X — it never regains A's owner, A's
property, A's access or the old X's children.
"""

from __future__ import annotations

import pytest

from caseshare.core.errors import CaseShareError
from tests.services.cast import Cast
from tests.services.forms import block, create, form, index, update


def _purge(cast: Cast, case_id: str) -> None:
    cast.svc.delete_case(cast.agency, cast.admin, case_id)
    cast.svc.purge_case(cast.agency, cast.admin, case_id)


def _old_x(cast: Cast) -> None:
    """Olga's device creates X, private to her, with a secret property; the admin purges it."""
    cast.svc.submit(
        cast.agency,
        cast.owner,
        form(
            block("X", create(owner=f"user:{cast.owner}") + update(secret="olga's")), instance="a1"
        ),
    )
    cast.svc.set_favourite(cast.owner, "X", True)
    pk = cast.store.case_pk(cast.agency, "X")
    assert pk is not None
    cast.svc.note_recent(cast.owner, pk)
    _purge(cast, "X")


def _assert_ritas_clean_x(cast: Cast, **properties: str) -> None:
    found = cast.store.case_state_columns(cast.agency, "X")
    assert found is not None
    assert found[1]["owner"] == f"user:{cast.reader}"
    assert found[1]["properties"] == properties
    assert found[1]["opened_by"] == cast.reader
    assert not cast.svc.check(cast.owner, "view", "X").allowed  # Olga's access did not return
    assert cast.svc.history_snapshot(cast.agency, "X") == cast.svc.stored_snapshot(cast.agency, "X")


def test_fault_2_a_purged_case_does_not_come_back_when_its_id_is_reused_by_a_form(
    cast: Cast,
) -> None:
    _old_x(cast)
    assert cast.store.transactions(cast.agency, "X") == []  # its history went with it
    rita = f"user:{cast.reader}"
    cast.svc.submit(
        cast.agency,
        cast.reader,
        form(block("X", create(owner=rita) + update(colour="blue")), instance="r1"),
    )
    _assert_ritas_clean_x(cast, colour="blue")
    # Rita edits her form: the rebuild replays only the new X's history
    result = cast.svc.submit(
        cast.agency,
        cast.reader,
        form(block("X", create(owner=rita) + update(colour="green")), instance="r1"),
    )
    assert result.edited
    _assert_ritas_clean_x(cast, colour="green")
    # archiving and unarchiving her form never brings Olga's X back either
    cast.svc.archive_submission(cast.agency, cast.admin, "r1")
    assert cast.store.case_pk(cast.agency, "X") is None
    cast.svc.unarchive_submission(cast.agency, cast.admin, "r1")
    _assert_ritas_clean_x(cast, colour="green")


def test_fault_2_a_purged_case_does_not_come_back_when_its_id_is_reused_through_the_api(
    cast: Cast,
) -> None:
    _old_x(cast)
    cast.svc.create_case(
        cast.agency, cast.reader, "patient", "Rita's X", case_id="X", owner=f"user:{cast.reader}"
    )
    cast.svc.submit(cast.agency, cast.reader, form(block("X", update(colour="red")), instance="r2"))
    cast.svc.archive_submission(cast.agency, cast.admin, "r2")  # a rebuild of the new X
    _assert_ritas_clean_x(cast)
    cast.svc.unarchive_submission(cast.agency, cast.admin, "r2")
    _assert_ritas_clean_x(cast, colour="red")


def test_fault_2_purge_removes_every_trace_of_the_case(cast: Cast) -> None:
    olga = f"user:{cast.owner}"
    cast.svc.submit(cast.agency, cast.owner, form(block("X", create(owner=olga)), instance="a1"))
    cast.svc.submit(
        cast.agency,
        cast.owner,
        form(block("Y", create(owner=olga) + index("parent", "X")), instance="a2"),
    )
    cast.svc.set_favourite(cast.owner, "X", True)
    x_pk = cast.store.case_pk(cast.agency, "X")
    assert x_pk is not None
    cast.svc.note_recent(cast.owner, x_pk)
    _purge(cast, "X")

    def count(sql: str, *params: object) -> int:
        return int(cast.store.value(sql, params) or 0)

    assert (
        count(
            "SELECT count(*) FROM case_transactions WHERE agency_id = ? AND case_id = 'X'",
            cast.agency,
        )
        == 0
    )
    assert (
        count(
            "SELECT count(*) FROM transaction_refs WHERE agency_id = ? AND ref_case_id = 'X'",
            cast.agency,
        )
        == 0
    )
    for table in ("favourites", "recent_cases", "grants"):
        assert count(f"SELECT count(*) FROM {table} WHERE case_pk = ?", x_pk) == 0
    assert (
        count("SELECT count(*) FROM case_indices WHERE case_pk = ? OR ref_pk = ?", x_pk, x_pk) == 0
    )
    # Y's link to X was cut, and its history says so: a rebuild of Y does not restore it
    assert cast.svc.stored_snapshot(cast.agency, "Y") == cast.svc.history_snapshot(cast.agency, "Y")
    state = cast.svc.replay_case(cast.agency, "Y")
    assert state is not None and dict(state.indices) == {}


def test_fault_2_children_of_the_purged_case_do_not_attach_to_a_new_case_of_that_id(
    cast: Cast,
) -> None:
    olga = f"user:{cast.owner}"
    cast.svc.submit(cast.agency, cast.owner, form(block("X", create(owner=olga)), instance="a1"))
    cast.svc.submit(
        cast.agency,
        cast.owner,
        form(block("Y", create(owner=olga) + index("parent", "X")), instance="a2"),
    )
    _purge(cast, "X")
    rita = f"user:{cast.reader}"
    cast.svc.submit(cast.agency, cast.reader, form(block("X", create(owner=rita)), instance="r1"))
    # Olga's Y would give her implicit_parent read on Rita's X if it re-attached
    for _ in range(2):
        assert cast.store.case_state_columns(cast.agency, "Y")[2] == []  # type: ignore[index]
        assert not cast.svc.check(cast.owner, "view", "X").allowed
        # a rebuild of Y (its form edited, archived and unarchived) keeps the link cut
        cast.svc.archive_submission(cast.agency, cast.admin, "a2")
        cast.svc.unarchive_submission(cast.agency, cast.admin, "a2")
    found = cast.store.case_state_columns(cast.agency, "Y")
    assert found is not None and found[2] == []


def test_fault_2_a_form_that_touched_only_purged_cases_is_kept_but_never_replayed(
    cast: Cast,
) -> None:
    _old_x(cast)
    [sub] = cast.store.submissions(cast.agency, "a1")
    assert sub.status == "normal"  # kept for the audit trail, with the form as received
    assert cast.store.cases_of_submission(sub.id) == []
    # archiving it changes no case; unarchiving it brings nothing back
    assert cast.svc.archive_submission(cast.agency, cast.admin, "a1") == []
    assert cast.svc.unarchive_submission(cast.agency, cast.admin, "a1") == []
    assert cast.store.case_pk(cast.agency, "X") is None
    # the device resending it (it never heard the answer) is a duplicate, not a new case
    again = form(
        block("X", create(owner=f"user:{cast.owner}") + update(secret="olga's")), instance="a1"
    )
    assert cast.svc.submit(cast.agency, cast.owner, again).status == "duplicate"
    assert cast.store.case_pk(cast.agency, "X") is None


def test_fault_2_an_edit_of_another_form_does_not_need_access_to_a_purged_case(
    cast: Cast,
) -> None:
    """The old version named X; X was purged and Rita now owns a case X. Olga's edit of that
    form is checked against the cases its old version still touches, not against Rita's X."""
    olga = f"user:{cast.owner}"
    cast.svc.submit(
        cast.agency,
        cast.owner,
        form(block("X", create(owner=olga)), block("Z", create(owner=olga)), instance="a1"),
    )
    _purge(cast, "X")
    rita = f"user:{cast.reader}"
    cast.svc.submit(cast.agency, cast.reader, form(block("X", create(owner=rita)), instance="r1"))
    result = cast.svc.submit(
        cast.agency, cast.owner, form(block("Z", update(p="edited")), instance="a1")
    )
    assert result.edited
    _assert_ritas_clean_x(cast)
    with pytest.raises(CaseShareError):  # Olga still cannot touch Rita's X
        cast.svc.submit(cast.agency, cast.owner, form(block("X", update(p="no"))))


def test_fault_2_a_case_without_history_that_indexed_the_purged_case_keeps_its_state(
    cast: Cast,
) -> None:
    """A case made before every API write was a transaction (no history at all) keeps its state
    when the case it indexes is purged: it gets a baseline before its link is cut."""
    olga = f"user:{cast.owner}"
    cast.svc.submit(cast.agency, cast.owner, form(block("X", create(owner=olga)), instance="a1"))
    cast.svc.create_case(
        cast.agency,
        cast.owner,
        "patient",
        "Old",
        case_id="old",
        owner=olga,
        properties={"kept": "yes"},
        indices={"parent": ("X", "child")},
    )
    cast.store.forget_case(cast.agency, "old")  # as a case made before migration 5: no history
    _purge(cast, "X")
    cast.svc.submit(cast.agency, cast.owner, form(block("old", update(more="1"))))
    found = cast.store.case_state_columns(cast.agency, "old")
    assert found is not None and found[1]["name"] == "Old"
    assert found[1]["properties"] == {"kept": "yes", "more": "1"} and found[2] == []
    assert cast.svc.history_snapshot(cast.agency, "old") == cast.svc.stored_snapshot(
        cast.agency, "old"
    )
