"""Property test (S-ACC-1…8, S-OWN-1): on random valid worlds the engine agrees with the reference.

Every generated world (tests/strategies.py) is loaded through the scenario loader into a real store,
and for EVERY user, case and action it checks that the engine's single check equals the brute-force
reference model (tests/reference_model.py); that the listing equals the set of cases the check lets
the user view, and the reference's set (S-ACC-7); that explain's effective level and deciding causes
equal the reference's (S-ACC-6); that the user's owner ids equal the reference's (S-OWN-1); and
that what a full restore sends a device of the user (S-SYNC-1) is the reference's live set, every
case of it viewable (row cause ``sync``: restore ⊆ viewable).
A failing example is shrunk and printed as a scenario-file world (YAML) with every disagreement.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings

from caseshare.scenario.world import World
from caseshare.store import Store, caselist, open_store
from tests import reference_model as ref
from tests.strategies import worlds

MAX_REPORTED = 40


@pytest.fixture(scope="module", autouse=True)
def walk_for_everyone() -> Iterator[None]:
    """The list's walk plan for every user, not only those who see much (issue 12): the
    paged listing below then checks the walk on every random world."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(caselist, "CHOOSE", False)
        yield


def dump(data: dict[str, Any]) -> str:
    """The world as a person would write it in a scenario file."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def _why(data: dict[str, Any], user: str, case: str) -> str:
    """The reference's grants for one pair, to read beside a disagreement."""
    found = ref.grants(data, user, case)
    if not found:
        return "reference: no grant"
    shown = []
    for grant in found:
        level = grant.level if grant.level == grant.uncapped else f"{grant.level}<-{grant.uncapped}"
        source = f" ({grant.source})" if grant.source else ""
        shown.append(f"{grant.cause} {level}{source}")
    return "reference grants: " + ", ".join(shown)


def disagreements(world: World, data: dict[str, Any]) -> list[str]:
    """Every place where the engine, its listing or its explanation differs from the reference."""
    problems: list[str] = []
    case_names = [str(case["id"]) for case in data["cases"]]
    for user in (str(u["id"]) for u in data["users"]):
        viewable: set[str] = set()
        for case in case_names:
            for action in ref.ACTIONS:
                got = world.can(user, action, case)
                want = ref.can(data, user, action, case)
                if got != want:
                    problems.append(
                        f"check {user} {action} {case}: engine {'allow' if got else 'deny'}, "
                        f"reference {'allow' if want else 'deny'}; {_why(data, user, case)}"
                    )
                if action == "view" and got:
                    viewable.add(case)
            level, causes = world.explain(user, case)
            want_explain = (ref.level(data, user, case), ref.causes(data, user, case))
            if (level, frozenset(causes)) != want_explain:
                problems.append(
                    f"explain {user} {case}: engine {level} by {sorted(causes)}, reference "
                    f"{want_explain[0]} by {sorted(want_explain[1])}; {_why(data, user, case)}"
                )
        synced = world.syncs(user)
        if not synced <= viewable:
            problems.append(
                f"S-SYNC-1 {user}: the restore holds {sorted(synced - viewable)}, which the"
                " check does not let the user view"
            )
        if synced != ref.live_set(data, user):
            problems.append(
                f"syncs {user}: engine {sorted(synced)}, reference "
                f"{sorted(ref.live_set(data, user))}"
            )
        listed = set(world.sees(user))
        if listed != viewable:
            problems.append(
                f"S-ACC-7 {user}: listing {sorted(listed)} but the check allows view on "
                f"{sorted(viewable)}"
            )
        # the walk's two forms of implicit_parent: per row, and through the user's own set
        # (``caselist.walks_sparse``, chosen by what the user reaches; both for everyone here)
        for sparse in (False, True):
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(caselist, "SPARSE", sparse)
                paged = world.listed(user)
            if sorted(paged) != sorted(listed):
                problems.append(
                    f"S-ACC-7 {user} (sparse={sparse}): the list's pages hold {sorted(paged)},"
                    f" not {sorted(listed)}"
                )
        rowwise = world.sees(user, rowwise=True)
        if rowwise != listed:
            problems.append(
                f"S-ACC-7 {user}: row by row the listing is {sorted(rowwise)}, from the"
                f" candidate set {sorted(listed)}"
            )
        expected = ref.sees(data, user)
        if listed != expected:
            problems.append(f"sees {user}: engine {sorted(listed)}, reference {sorted(expected)}")
        got_ids = set(world.owner_ids(user))
        want_ids = ref.owner_ids(data, user)
        if got_ids != want_ids:
            problems.append(
                f"owner-ids {user}: engine {sorted(got_ids)}, reference {sorted(want_ids)}"
            )
    return problems


def report(problems: list[str]) -> str:
    shown = problems[:MAX_REPORTED]
    more = len(problems) - len(shown)
    lines = [f"{len(problems)} disagreement(s) between the engine and the reference model:"]
    lines += [f"  {problem}" for problem in shown]
    if more:
        lines.append(f"  … and {more} more")
    return "\n".join(lines)


def check_world(store: Store, data: dict[str, Any], *, unique: bool) -> None:
    note("world:\n" + dump(data))
    world = World.load(store, copy.deepcopy(data), unique=unique)
    problems = disagreements(world, data)
    assert not problems, report(problems)


@settings(
    max_examples=150,  # ~20 s on the 2-core CI machine; rare paths need the examples
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=worlds())
def test_engine_agrees_with_reference_on_sqlite(data: dict[str, Any]) -> None:
    # A fresh file per example: function-scoped fixtures are not reset between Hypothesis examples.
    with tempfile.TemporaryDirectory(prefix="caseshare-property-") as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'caseshare.db'}")
        try:
            check_world(store, data, unique=False)
        finally:
            store.close()


@pytest.mark.postgres
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=worlds())
def test_engine_agrees_with_reference_on_postgres(
    postgres_store: Store, data: dict[str, Any]
) -> None:
    check_world(postgres_store, data, unique=True)
