"""S-AG-1: every transition checks the current status in one atomic step. Real threads, each
with its own connection, race on SQLite and PostgreSQL; each race has exactly one winner."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from caseshare.core.agreements import Status
from caseshare.core.errors import CaseShareError
from caseshare.services import Caseshare
from caseshare.store import open_store

ROUNDS = 6


def _world(url: str) -> dict[str, Any]:
    store = open_store(url)
    svc = Caseshare(store)
    tag = uuid.uuid4().hex[:8]
    north = svc.create_agency(f"north-{tag}", "North")
    south = svc.create_agency(f"south-{tag}", "South")
    people = {
        "ada": svc.create_user(north, None, "ada", email="ada@n.example", permissions=["admin"]),
        "fred": svc.create_user(south, None, "fred", email="f@s.example", permissions=["admin"]),
        "sue": svc.create_user(south, None, "sue", email="s@s.example", permissions=["admin"]),
    }
    store.close()
    return {"north": north, "south": south, "south_slug": f"south-{tag}", **people}


def _race(url: str, calls: list[Callable[..., object]]) -> list[object]:
    """Run each call on its own connection at the same instant; each outcome is the value or
    the §14 code it was refused with."""
    start = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        store = open_store(url, migrate=False)
        try:
            svc = Caseshare(store)
            start.wait()
            try:
                outcomes[i] = calls[i](svc)
            except CaseShareError as exc:
                outcomes[i] = exc.code
        finally:
            store.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def _propose(url: str, w: dict[str, Any]) -> int:
    store = open_store(url, migrate=False)
    try:
        flags = {"outbound_sharing": True}
        return Caseshare(store).propose_agreement(w["north"], w["ada"], w["south_slug"], flags).id
    finally:
        store.close()


def _status(url: str, agreement_id: int) -> Status:
    store = open_store(url, migrate=False)
    try:
        row = store.agreement_row(agreement_id)
        assert row is not None
        return row.status
    finally:
        store.close()


def test_s_ag_1_approve_and_withdraw_race_has_exactly_one_winner(store_url: str) -> None:
    url = store_url
    w = _world(url)
    winners: dict[str, int] = {"approve": 0, "withdraw": 0}
    for _ in range(ROUNDS):
        agreement_id = _propose(url, w)
        outcomes = _race(
            url,
            [
                lambda s, a=agreement_id: s.answer_agreement(
                    w["south"], w["fred"], a, approve=True
                ),
                lambda s, a=agreement_id: s.withdraw_agreement(w["north"], w["ada"], a),
            ],
        )
        refused = [o for o in outcomes if isinstance(o, str)]
        assert refused == ["invalid_transition"], outcomes
        final = _status(url, agreement_id)
        if isinstance(outcomes[0], str):
            assert final is Status.WITHDRAWN
            winners["withdraw"] += 1
        else:
            assert final is Status.APPROVED
            winners["approve"] += 1
            store = open_store(url, migrate=False)
            try:  # end it, so the next round may propose again
                Caseshare(store).end_agreement(w["north"], w["ada"], agreement_id)
            finally:
                store.close()
    assert sum(winners.values()) == ROUNDS


def test_s_ag_1_two_admins_answering_at_once_never_both_succeed(store_url: str) -> None:
    url = store_url
    w = _world(url)
    for _ in range(ROUNDS):
        agreement_id = _propose(url, w)
        outcomes = _race(
            url,
            [
                lambda s, a=agreement_id: s.answer_agreement(
                    w["south"], w["fred"], a, approve=True
                ),
                lambda s, a=agreement_id: s.answer_agreement(w["south"], w["sue"], a, approve=True),
                lambda s, a=agreement_id: s.answer_agreement(
                    w["south"], w["sue"], a, approve=False, reason="No"
                ),
            ],
        )
        assert sorted(o for o in outcomes if isinstance(o, str)) == ["invalid_transition"] * 2
        store = open_store(url, migrate=False)
        try:
            events = [
                e.action
                for e in store.audit_events(w["north"], limit=10_000)
                if e.subject == f"agreement:{agreement_id}"
            ]
            answers = [
                m
                for m in store.outbox_page(w["north"], limit=500)
                if m.about == f"agreement:{agreement_id}"
            ]
            assert len([e for e in events if e in ("agreement.approve", "agreement.reject")]) == 1
            assert len(answers) == 1  # the proposer hears one answer, never two
            if _status(url, agreement_id) is Status.APPROVED:
                Caseshare(store).end_agreement(w["north"], w["ada"], agreement_id)
        finally:
            store.close()


def test_s_ag_1_two_proposals_at_once_make_one_pending_agreement(store_url: str) -> None:
    url = store_url
    w = _world(url)
    north_slug = w["south_slug"].replace("south", "north")
    outcomes = _race(
        url,
        [
            lambda s: s.propose_agreement(w["north"], w["ada"], w["south_slug"]).id,
            lambda s: s.propose_agreement(w["south"], w["fred"], north_slug).id,
            lambda s: s.propose_agreement(w["north"], w["ada"], w["south_slug"]).id,
        ],
    )
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["invalid_transition"] * 2
    store = open_store(url, migrate=False)
    try:
        assert len(store.agreements_of(w["north"], status="pending")) == 1
    finally:
        store.close()


def test_s_not_1_a_change_rolled_back_at_the_top_sends_nothing(tmp_path: Any) -> None:
    """No outer test transaction here: the service's own transaction is the outermost."""
    url = f"sqlite:///{tmp_path / 'rollback.db'}"
    w = _world(url)
    store = open_store(url, migrate=False)
    try:
        svc = Caseshare(store)
        with pytest.raises(RuntimeError), store.transaction():
            svc.propose_agreement(w["north"], w["ada"], w["south_slug"])
            raise RuntimeError("the request fails after the change")
        assert store.outbox_page(None) == []
        assert store.agreements_of(w["north"]) == []
    finally:
        store.close()
