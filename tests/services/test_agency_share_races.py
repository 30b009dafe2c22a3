"""S-AG-3: accept and revoke can never both succeed. Real threads, each with its own
connection, race on SQLite and PostgreSQL; every round has exactly one winner, and the share's
status and its audit agree with the winner. Both act on the pending share they saw: the
revoke names that status (as the Send screen does), the accept always starts from pending."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from caseshare.core.agencyshares import Status
from caseshare.services import Caseshare
from caseshare.store import AgencyShareRow, open_store
from tests.services.test_agreement_races import _race

ROUNDS = 8


def _world(url: str) -> dict[str, Any]:
    store = open_store(url)
    try:
        svc = Caseshare(store)
        tag = uuid.uuid4().hex[:8]
        north = svc.create_agency(f"north-{tag}", "North")
        south = svc.create_agency(f"south-{tag}", "South")
        ada = svc.create_user(north, None, "ada", email="ada@n.example", permissions=["admin"])
        fred = svc.create_user(south, None, "fred", email="f@s.example", permissions=["admin"])
        rhea = svc.create_user(south, None, "rhea", email="r@s.example")
        flags = {"outbound_sharing": True, "inbound_sharing": True}
        agreement = svc.propose_agreement(north, ada, f"south-{tag}", flags)
        svc.answer_agreement(south, fred, agreement.id, approve=True)
        case = svc.create_case(north, ada, "patient", "Raced", owner=f"user:{ada}")
        return {
            "north": north,
            "south": south,
            "slug": f"south-{tag}",
            "ada": ada,
            "fred": fred,
            "rhea": rhea,
            "case": case,
        }
    finally:
        store.close()


def _send(url: str, w: dict[str, Any]) -> int:
    store = open_store(url, migrate=False)
    try:
        rows = Caseshare(store).send_case(w["north"], w["ada"], w["case"], [w["slug"]])
        return rows[0].id
    finally:
        store.close()


def test_s_ag_3_accept_and_revoke_race_has_exactly_one_winner(store_url: str) -> None:
    url = store_url
    w = _world(url)
    winners = {"accept": 0, "revoke": 0}
    for _ in range(ROUNDS):
        share_id = _send(url, w)
        outcomes = _race(
            url,
            [
                lambda s, i=share_id: s.accept_agency_share(w["south"], w["fred"], i, w["rhea"]),
                lambda s, i=share_id: s.revoke_agency_share(
                    w["north"], w["ada"], i, expected="pending"
                ),
            ],
        )
        refused = [o for o in outcomes if isinstance(o, str)]
        assert refused == ["invalid_transition"], outcomes
        store = open_store(url, migrate=False)
        try:
            row = store.agency_share(share_id)
            assert row is not None
            events = [
                e.action
                for e in store.audit_events(w["north"], limit=10_000)
                if e.subject == f"agency_share:{share_id}"
            ]
            if isinstance(outcomes[0], str):
                assert row.status is Status.REVOKED and row.local_case_pk is None
                assert events.count("agency_share.accept") == 0
                winners["revoke"] += 1
            else:
                assert row.status is Status.ACTIVE and row.receiving_user_id == w["rhea"]
                assert events.count("agency_share.revoke") == 0
                winners["accept"] += 1
                # revoke it so the next round may send again
                Caseshare(store).revoke_agency_share(w["north"], w["ada"], share_id)
        finally:
            store.close()
    assert sum(winners.values()) == ROUNDS


def _url(kind: str, request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'race.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _rows(outcomes: list[object]) -> list[AgencyShareRow]:
    """The winners; every other outcome must be a §14 code (never a 500, never None)."""
    assert all(isinstance(o, (AgencyShareRow, list, str)) for o in outcomes), outcomes
    return [o for o in outcomes if not isinstance(o, str)]  # type: ignore[misc]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_s_ag_3_two_accepts_have_exactly_one_winner(
    kind: str, request: pytest.FixtureRequest, tmp_path: Any
) -> None:
    url = _url(kind, request, tmp_path)
    w = _world(url)
    for _ in range(ROUNDS // 2):
        share_id = _send(url, w)
        outcomes = _race(
            url,
            [
                lambda s, i=share_id: s.accept_agency_share(w["south"], w["fred"], i, w["rhea"]),
                lambda s, i=share_id: s.accept_agency_share(w["south"], w["fred"], i, w["rhea"]),
            ],
        )
        assert len(_rows(outcomes)) == 1 and "invalid_transition" in outcomes, outcomes
        store = open_store(url, migrate=False)
        try:
            # one local case made, one accept audited
            events = [
                e.action
                for e in store.audit_events(w["south"], limit=10_000)
                if e.subject == f"agency_share:{share_id}"
            ]
            assert events.count("agency_share.accept") == 1
            Caseshare(store).revoke_agency_share(w["north"], w["ada"], share_id)
        finally:
            store.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_s_ag_2_sending_twice_to_one_agency_makes_one_share(
    kind: str, request: pytest.FixtureRequest, tmp_path: Any
) -> None:
    url = _url(kind, request, tmp_path)
    w = _world(url)
    for _ in range(ROUNDS // 2):
        send = lambda s: s.send_case(w["north"], w["ada"], w["case"], [w["slug"]])  # noqa: E731
        outcomes = _race(url, [send, send])
        won = _rows(outcomes)
        assert len(won) == 1 and outcomes.count("invalid_transition") == 1, outcomes
        store = open_store(url, migrate=False)
        try:
            pk = store.case_pk(w["north"], w["case"])
            assert pk is not None
            live = [r for r in store.agency_shares_of_case(pk) if r.status is Status.PENDING]
            assert len(live) == 1
            Caseshare(store).revoke_agency_share(w["north"], w["ada"], live[0].id)
        finally:
            store.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_s_ag_2_edit_and_revoke_race_leaves_a_consistent_share(
    kind: str, request: pytest.FixtureRequest, tmp_path: Any
) -> None:
    url = _url(kind, request, tmp_path)
    w = _world(url)
    for _ in range(ROUNDS // 2):
        share_id = _send(url, w)
        outcomes = _race(
            url,
            [
                lambda s, i=share_id: s.edit_agency_share(
                    w["north"], w["ada"], i, auto_include=True
                ),
                lambda s, i=share_id: s.revoke_agency_share(w["north"], w["ada"], i),
            ],
        )
        won = _rows(outcomes)
        assert isinstance(outcomes[1], AgencyShareRow), outcomes  # a revoke always ends it
        assert len(won) == 2 or outcomes[0] == "invalid_transition", outcomes
        store = open_store(url, migrate=False)
        try:
            row = store.agency_share(share_id)
            assert row is not None and row.status is Status.REVOKED
        finally:
            store.close()
