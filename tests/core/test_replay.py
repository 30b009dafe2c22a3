"""Replay helpers (S-TX-1, S-TX-3): block preparation, transaction kinds and ordering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from caseshare.core.casexml import CaseBlock, CreateAction
from caseshare.core.errors import CaseShareError
from caseshare.core.replay import (
    Entry,
    block_kinds,
    canonical_owner,
    fold_transaction,
    prepare_block,
    replay_order,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_received_order_is_kept() -> None:
    entries = [Entry("u", at(0), at(5), "a"), Entry("u", at(1), at(0), "b")]
    assert replay_order(entries) == ["a", "b"]


def test_s_tx_3_reconcile_sorts_one_users_close_run_by_device_time() -> None:
    entries = [
        Entry("u", at(0), at(3), "a"),
        Entry("u", at(1), at(1), "b"),
        Entry("u", at(2), at(2), "c"),
        Entry("v", at(3), at(0), "d"),  # another user ends the run
        Entry("u", at(4), at(-1), "e"),
        Entry("u", at(17), at(-2), "f"),  # more than 12 hours after the one before
    ]
    assert replay_order(entries, "reconcile") == ["b", "c", "a", "d", "e", "f"]


def test_s_tx_3_system_transactions_never_join_a_run() -> None:
    entries = [
        Entry("u", at(0), at(3), "a"),
        Entry(None, at(1), at(0), "cascade"),
        Entry("u", at(2), at(1), "b"),
    ]
    assert replay_order(entries, "reconcile") == ["a", "cascade", "b"]


def test_owner_ids_are_canonical_principals() -> None:
    assert canonical_owner(" group:07 ", "c") == "group:7"
    for bad in ("test_group", "role:1", "agency:1", ""):
        with pytest.raises(CaseShareError) as info:
            canonical_owner(bad, "c")
        assert info.value.code == "invalid_owner"


def test_prepare_block_dates_and_attributes_the_block() -> None:
    raw = CaseBlock("c", user_id="device-claims", create=CreateAction("t", "n", "user:01"))
    ready = prepare_block(raw, "5", T0)
    assert (ready.user_id, ready.date_modified) == ("5", T0)
    assert ready.create is not None and ready.create.owner_id == "user:1"
    assert prepare_block(CaseBlock("c", date_modified=at(1)), "5", T0).date_modified == at(1)


def test_block_kinds_and_the_owner_fallback() -> None:
    assert block_kinds([CaseBlock("c")]) == ["touch"]
    assert block_kinds([CaseBlock("c", close=True), CaseBlock("c", update={})]) == [
        "update",
        "close",
    ]
    state = fold_transaction(None, [CaseBlock("c", update={"p": "1"})], "group:1")
    assert state is not None and state.owner_id == "group:1"
    assert fold_transaction(None, []) is None
