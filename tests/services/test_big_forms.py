"""Big forms (issue 8, fault 7): a documented block limit with a §14 refusal; a form at the limit
is applied whole, in a few statements per form rather than several per block (the time it holds
the write lock is measured by `caseshare bench`, not here)."""

from __future__ import annotations

import pytest

from caseshare.core.casexml import MAX_CASE_BLOCKS
from caseshare.core.errors import CaseShareError
from tests.services.cast import Cast
from tests.services.forms import block, create, form, update


def test_fault_7_a_form_over_the_block_limit_is_refused_whole_and_stored_as_an_error(
    cast: Cast,
) -> None:
    blocks = [block(f"big-{n}", update(p=str(n))) for n in range(MAX_CASE_BLOCKS + 1)]
    with pytest.raises(CaseShareError) as info:
        cast.svc.submit(cast.agency, cast.owner, form(*blocks, instance="too-big"))
    assert info.value.code == "invalid_case_block"
    assert "1,001 case blocks" in info.value.message and "1,000" in info.value.message
    [stored] = cast.store.submissions(cast.agency, "too-big")
    assert stored.status == "error" and stored.problem.startswith("invalid_case_block: ")
    assert cast.store.case_pk(cast.agency, "big-0") is None


def test_fault_7_a_form_at_the_block_limit_is_applied_and_edited_whole(cast: Cast) -> None:
    ids = [f"big-{n}" for n in range(MAX_CASE_BLOCKS)]
    half = MAX_CASE_BLOCKS // 2
    # half the cases exist already (made by an earlier form), half are new
    cast.svc.submit(cast.agency, cast.owner, form(*(block(c, create()) for c in ids[:half])))
    blocks = [block(c, update(p=str(n))) for n, c in enumerate(ids)]
    result = cast.svc.submit(cast.agency, cast.owner, form(*blocks, instance="at-limit"))
    assert len(result.cases) == MAX_CASE_BLOCKS
    rows = cast.store.case_states(cast.agency, ids)
    assert len(rows) == MAX_CASE_BLOCKS
    assert all(rows[c][1]["properties"] == {"p": str(n)} for n, c in enumerate(ids))
    assert rows[ids[-1]][1]["owner"] == str(cast.group_principal)  # S-CRT-2 for the new half
    # an edit rebuilds every case of both versions
    edited = [block(c, update(p="edited")) for c in ids]
    assert cast.svc.submit(cast.agency, cast.owner, form(*edited, instance="at-limit")).edited
    rows = cast.store.case_states(cast.agency, ids)
    assert {rows[c][1]["properties"]["p"] for c in ids} == {"edited"}
    for case_id in (ids[0], ids[half], ids[-1]):
        assert cast.svc.history_snapshot(cast.agency, case_id) == cast.svc.stored_snapshot(
            cast.agency, case_id
        )
