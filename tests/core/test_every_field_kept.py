"""``apply_block`` and ``prepare_block`` build their result field by field (not with
``dataclasses.replace``, at twice the cost, issue 12 item 4): a field added to ``CaseState`` or
``CaseBlock`` and not passed on would silently fall back to its default. Every field set to a
value other than its default must come through unchanged where the block does not change it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from types import MappingProxyType

from caseshare.core.casestate import CaseState, IndexState, apply_block
from caseshare.core.casexml import AttachmentAction, CaseBlock, CreateAction, IndexAction
from caseshare.core.replay import prepare_block

_WHEN = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def _full_state() -> CaseState:
    state = CaseState(
        case_id="c1",
        case_type="t",
        case_name="n",
        owner_id="user:1",
        external_id="x",
        closed=True,
        opened_on=_WHEN,
        opened_by="5",
        modified_on=_WHEN,
        modified_by="6",
        closed_on=_WHEN,
        closed_by="7",
        properties=MappingProxyType({"p": "1"}),
        indices=MappingProxyType({"parent": IndexState("t", "c0", "child")}),
        attachments=MappingProxyType({"a": AttachmentAction("a", src="f.jpg")}),
    )
    for f in dataclasses.fields(CaseState):  # a new field needs a value here too
        assert getattr(state, f.name) != f.default, f.name
    return state


def test_a_block_without_actions_keeps_every_field_of_the_state() -> None:
    state = _full_state()
    assert apply_block(state, CaseBlock(case_id="c1")) == state


def test_prepare_block_keeps_every_field_it_does_not_fill_in() -> None:
    block = CaseBlock(
        case_id="c1",
        user_id=None,
        date_modified=None,
        create=CreateAction("t", "n", "user:2"),
        update={"p": "2"},
        close=True,
        indices=(IndexAction("parent", "t", "c0", "extension"),),
        attachments=(AttachmentAction("a", src="f.jpg"),),
    )
    prepared = prepare_block(block, "9", _WHEN)
    assert prepared == dataclasses.replace(block, user_id="9", date_modified=_WHEN)
    assert {f.name for f in dataclasses.fields(CaseBlock)} == {
        "case_id",
        "user_id",
        "date_modified",
        "create",
        "update",
        "close",
        "indices",
        "attachments",
    }  # a new field: pass it on in ``prepare_block``
