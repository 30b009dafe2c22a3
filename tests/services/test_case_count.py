"""S-VIEW-1 counts (issue 12, item 2): a list's count is exact when small or asked for, and a
fast estimate from a fixed-size sample ("about 166,000") when large, on both stores.

The sample size and thresholds are module constants; these tests lower them so that a world of
a few hundred cases shows what a world of a million does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from caseshare.core.principals import Principal
from caseshare.services import CaseFilter, Caseshare, access
from caseshare.store import Store, caselist


@pytest.fixture
def small_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caselist, "SAMPLE", 100)
    monkeypatch.setattr(access, "ESTIMATE_FROM", 100)
    monkeypatch.setattr(access, "ESTIMATE_HITS", 20)


class World:
    def __init__(self, store: Store, n: int) -> None:
        self.svc = Caseshare(store)
        self.agency = self.svc.create_agency(f"count-{uuid.uuid4().hex[:8]}", "Count")
        self.admin = self.svc.create_user(self.agency, None, "admin", permissions=["admin"])
        self.worker = self.svc.create_user(self.agency, None, "worker")
        self.other = self.svc.create_user(self.agency, None, "other")
        with store.transaction():
            for i in range(n):
                owner = self.worker if i % 2 == 0 else self.other
                store.insert_case(
                    self.agency,
                    f"c{i:04d}",
                    "patient" if i % 4 < 2 else "visit",
                    f"Case {i}",
                    Principal("user", owner),
                    opened_by=None,
                )


@pytest.fixture
def world(store: Store) -> World:
    return World(store, 400)


def test_s_view_1_a_large_count_is_an_estimate_near_the_exact_one(
    world: World, small_sample: None
) -> None:
    for uid, exact in ((world.admin, 400), (world.worker, 200)):
        assert world.svc.count_cases(uid) == exact
        counted = world.svc.case_count(uid)
        assert not counted.exact
        assert abs(counted.value - exact) <= exact * 0.3, (counted, exact)
        # the same state gives the same estimate: a page reload does not make it jump
        assert world.svc.case_count(uid) == counted
        assert world.svc.case_count(uid, exact=True) == access.CaseCount(exact, exact=True)


def test_s_acc_7_an_estimate_counts_only_what_the_user_may_view(
    world: World, small_sample: None
) -> None:
    nobody = world.svc.create_user(world.agency, None, "nobody")
    assert world.svc.case_count(nobody) == access.CaseCount(0, exact=True)
    # 100 of 400: at the threshold, so exact or estimated by the sample, never far off
    patients = world.svc.case_count(world.worker, CaseFilter(case_type="patient"))
    assert abs(patients.value - 100) <= 40, patients
    assert patients.value == 100 or not patients.exact, patients


def test_s_view_1_small_counts_and_tree_counts_are_exact(world: World, small_sample: None) -> None:
    # few visible cases in the sample: the exact count is cheap, and given
    world.svc.share(world.agency, world.other, "c0001", f"user:{world.worker}", "read")
    few = world.svc.case_count(world.worker, CaseFilter(q="case 1"))
    assert few == access.CaseCount(world.svc.count_cases(world.worker, CaseFilter(q="case 1")))
    assert world.svc.case_count(world.admin, roots=True).exact


def test_s_view_1_a_small_agency_is_counted_exactly(store: Store) -> None:
    w = World(store, 30)  # fewer cases than the sample: never estimated
    assert w.svc.case_count(w.admin) == access.CaseCount(30, exact=True)


class Statements:
    """The SQL the store runs, recorded on its way to the real database (nothing replaced)."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sql: list[str] = []
        run = store._run

        def recorded(sql: str, params: Sequence[Any], *, control: bool = False) -> Any:
            self.sql.append(sql)
            return run(sql, params, control=control)

        monkeypatch.setattr(store, "_run", recorded)

    def counts(self) -> list[str]:
        return [s for s in self.sql if "count(*)" in s]


def test_s_view_1_a_user_who_sees_few_pays_one_count_and_no_sample(
    store: Store, world: World, small_sample: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    few = world.svc.create_user(world.agency, None, "few")
    for case_id in ("c0001", "c0003", "c0005"):
        world.svc.share(world.agency, world.other, case_id, f"user:{few}", "read")
    world.svc.case_count(few)  # the agency context is loaded and cached
    seen = Statements(store, monkeypatch)
    assert world.svc.case_count(few) == access.CaseCount(3, exact=True)
    # one bounded count, which is the exact count: no sample before it
    assert len(seen.counts()) == 1, seen.counts()
    assert "LIMIT" in seen.counts()[0]


def test_s_view_1_big_users_keep_the_estimate_whichever_comes_first(
    store: Store, world: World, small_sample: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.svc.case_count(world.admin)
    seen = Statements(store, monkeypatch)
    # the admin sees every case (a fact of the context): sampled first, never counted
    assert not world.svc.case_count(world.admin).exact
    assert not any("LIMIT" in s for s in seen.counts()), seen.counts()
    # the worker sees half by ownership: counted up to the threshold, then sampled
    assert not world.svc.case_count(world.worker).exact


def test_s_view_1_in_a_big_agency_the_sample_comes_first(
    store: Store,
    world: World,
    small_sample: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # past COUNT_FIRST cases an exact count costs more than the sample: sampled first, for
    # everyone, and a user who sees few is then counted exactly, without a LIMIT
    monkeypatch.setattr(access, "COUNT_FIRST", 200)
    few = world.svc.create_user(world.agency, None, "few")
    world.svc.share(world.agency, world.other, "c0001", f"user:{few}", "read")
    world.svc.case_count(few)
    seen = Statements(store, monkeypatch)
    assert world.svc.case_count(few) == access.CaseCount(1, exact=True)
    assert len(seen.counts()) == 2, seen.counts()
    assert not any("LIMIT" in s for s in seen.counts()), seen.counts()
