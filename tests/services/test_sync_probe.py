"""S-SYNC-1 row cause ``sync`` in a check, when the case's family is bigger than the probe walks.

A check settles row cause ``sync`` only for a user nothing else gives read, and only when a walk
back from the case (``may_sync``) meets an open case the user owns; that walk reads at most
``PROBE_CASES`` cases (a household with thousands of extensions cost 2.2 s to walk at size L)
and past them answers "maybe", which the user's own live set settles. Here the household has
more extensions than the probe is allowed (3), so every probe of its family stops short: the
answers must be those of the live set all the same, on both stores.
"""

from __future__ import annotations

import uuid

import pytest

from caseshare.core.levels import Action
from caseshare.core.principals import Principal
from caseshare.services import Caseshare
from caseshare.store import Store, synclogs


@pytest.fixture
def short_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synclogs, "PROBE_CASES", 3)


def test_s_sync_1_a_probe_cut_short_decides_as_the_live_set_does(
    store: Store, short_probe: None
) -> None:
    svc = Caseshare(store)
    agency = svc.create_agency(f"probe-{uuid.uuid4().hex[:8]}", "Probe", {"case_sharing": True})
    admin = svc.create_user(agency, None, "admin", permissions=["admin"])
    kim = svc.create_user(agency, None, "kim")  # owns a child of the household
    lee = svc.create_user(agency, None, "lee")  # owns nothing in the family
    other = Principal("user", admin)
    svc.create_case(agency, admin, "household", "h", case_id="h", owner=other)
    svc.create_case(
        agency,
        admin,
        "patient",
        "k",
        case_id="k",
        owner=Principal("user", kim),
        indices={"parent": ("h", "child")},
    )
    for n in range(10):
        svc.create_case(
            agency,
            admin,
            "visit",
            f"e{n}",
            case_id=f"e{n}",
            owner=other,
            indices={"host": ("h", "extension")},
        )
    svc.close_case(agency, admin, "e9")  # a closed extension is live for no one
    assert store.may_sync(agency, store.case_pk(agency, "e0"), [f"user:{lee}"])  # cut short
    for n in range(9):
        assert svc.check(kim, Action.VIEW, f"e{n}").allowed, n  # by sync alone
        assert not svc.check(lee, Action.VIEW, f"e{n}").allowed, n
    assert not svc.check(kim, Action.VIEW, "e9").allowed
    assert svc.explain(kim, "e0").level.label == "read"
    assert {f"e{n}" for n in range(9)} <= svc.live_case_ids(kim)
    assert "e0" not in svc.live_case_ids(lee)
