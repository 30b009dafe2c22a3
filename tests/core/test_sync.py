"""S-SYNC-1: the live set against CommCare's 46 case graphs, a brute-force oracle and 10k+ cases."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caseshare.core.sync import SyncNode, live_cases, live_routes, related_cases

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
GRAPHS_FILE = SHARED / "conformance" / "commcare" / "case_relationship_tests.json"
GRAPHS: list[dict[str, Any]] = json.loads(GRAPHS_FILE.read_text(encoding="utf-8"))


def nodes_from_fixture(entry: dict[str, Any]) -> dict[str, SyncNode]:
    """Build the graph the way CommCare's CasePurgeTest does: every named case exists."""
    names: set[str] = set(entry.get("cases", []))
    names |= set(entry.get("owned", [])) | set(entry.get("closed", []))
    names |= set(entry["outcome"])
    indices: dict[str, list[tuple[str, str]]] = {}
    for key, relationship in (("subcases", "child"), ("extensions", "extension")):
        for source, target in entry.get(key, []):
            names |= {source, target}
            indices.setdefault(source, []).append((target, relationship))
    owned, closed = set(entry.get("owned", [])), set(entry.get("closed", []))
    return {
        name: SyncNode(
            case_id=name,
            closed=name in closed,
            owned=name in owned,
            indices=tuple(indices.get(name, ())),
        )
        for name in names
    }


def test_the_fixture_file_holds_46_graphs() -> None:
    assert len(GRAPHS) == 46
    assert len({g["name"] for g in GRAPHS}) == 46


@pytest.mark.parametrize("entry", GRAPHS, ids=[g["name"] for g in GRAPHS])
def test_s_sync_1_live_set_matches_commcare(entry: dict[str, Any]) -> None:
    # Entries with a ``skip`` field run too: see the report on
    # parent_of_host_of_owned_extension_with_other_host (CommCare HQ's reason is its sync log).
    assert live_cases(nodes_from_fixture(entry)) == frozenset(entry["outcome"])


@pytest.mark.parametrize("entry", GRAPHS, ids=[g["name"] for g in GRAPHS])
def test_s_sync_1_routes_reach_exactly_the_live_set_by_valid_steps(entry: dict[str, Any]) -> None:
    """Row cause sync: each live case has a route from an owned case, each step an index."""
    nodes = nodes_from_fixture(entry)
    routes = live_routes(nodes)
    assert frozenset(routes) == live_cases(nodes)
    for case_id, route in routes.items():
        assert route[-1][0] == case_id and route[0][1] == "owned" and nodes[route[0][0]].owned
        for (before, _), (after, how) in itertools.pairwise(route):
            if how == "extension":  # an open extension of the case before
                assert (before, "extension") in nodes[after].indices
                assert not nodes[after].closed
            else:  # the case before indexes this one
                assert (after, "child" if how == "parent" else "extension") in nodes[before].indices


def test_s_sync_1_a_route_is_a_shortest_one() -> None:
    nodes = {
        "me": SyncNode("me", closed=False, owned=True, indices=(("p", "child"),)),
        "p": SyncNode("p", closed=False, owned=False, indices=(("gp", "child"),)),
        "gp": SyncNode("gp", closed=True, owned=False),
        "x": SyncNode("x", closed=False, owned=False, indices=(("p", "extension"),)),
    }
    routes = live_routes(nodes)
    assert routes["gp"] == (("me", "owned"), ("p", "parent"), ("gp", "parent"))
    assert routes["x"] == (("me", "owned"), ("p", "parent"), ("x", "extension"))


WITH_RELATIONS = [g for g in GRAPHS if "relation_outcome" in g]


@pytest.mark.parametrize("entry", WITH_RELATIONS, ids=[g["name"] for g in WITH_RELATIONS])
def test_s_sync_1_related_cases_match_commcare(entry: dict[str, Any]) -> None:
    """``relation_outcome[i]`` is the family of ``outcome[i]`` among the cases the device holds."""
    nodes = nodes_from_fixture(entry)
    related = related_cases(nodes)
    assert len(entry["relation_outcome"]) == len(entry["outcome"])
    for case_id, expected in zip(entry["outcome"], entry["relation_outcome"], strict=True):
        assert related[case_id] == frozenset(expected["related_cases"]), case_id


def test_related_cases_do_not_connect_through_a_case_the_device_drops() -> None:
    # a and b are owned; c is a closed child of both and is not sent, so a and b stay apart.
    nodes = {
        "a": SyncNode("a", closed=False, owned=True, indices=()),
        "b": SyncNode("b", closed=False, owned=True, indices=()),
        "c": SyncNode("c", closed=True, owned=True, indices=(("a", "child"), ("b", "child"))),
    }
    assert live_cases(nodes) == {"a", "b"}
    assert related_cases(nodes) == {"a": frozenset({"a"}), "b": frozenset({"b"})}


def test_a_case_with_a_child_index_is_not_an_extension_for_availability() -> None:
    # x is owned, a child of p and an extension of the closed host h. As x has a child index it
    # is available on its own (SPEC S-SYNC-1), so it is live and pulls p and h along.
    nodes = {
        "p": SyncNode("p", closed=False, owned=False),
        "h": SyncNode("h", closed=True, owned=False),
        "x": SyncNode("x", closed=False, owned=True, indices=(("p", "child"), ("h", "extension"))),
    }
    assert live_cases(nodes) == {"x", "p", "h"}


def test_indices_to_missing_cases_and_self_indices_are_ignored() -> None:
    nodes = {
        "a": SyncNode("a", closed=False, owned=True, indices=(("ghost", "child"), ("a", "child"))),
        "e": SyncNode("e", closed=False, owned=True, indices=(("ghost", "extension"),)),
    }
    # e only indexes a case that does not exist, so it is not an extension of anything.
    assert live_cases(nodes) == {"a", "e"}


def test_empty_world() -> None:
    assert live_cases({}) == frozenset()
    assert related_cases({}) == {}


# --- a brute-force oracle: apply the SPEC sentences literally until nothing changes --------------


def oracle(nodes: dict[str, SyncNode]) -> frozenset[str]:
    edges: dict[str, dict[str, str]] = {}
    for cid, node in nodes.items():
        mine: dict[str, str] = {}
        for target, rel in node.indices:
            if target in nodes and target != cid:
                mine[target] = "child" if "child" in (rel, mine.get(target)) else rel
        edges[cid] = mine

    def is_extension(cid: str) -> bool:
        rels = set(edges[cid].values())
        return "extension" in rels and "child" not in rels

    available: set[str] = set()
    changed = True
    while changed:
        changed = False
        for cid, node in nodes.items():
            if cid in available or node.closed:
                continue
            hosts = [t for t, r in edges[cid].items() if r == "extension"]
            if not is_extension(cid) or any(h in available for h in hosts):
                available.add(cid)
                changed = True
    live: set[str] = set()
    changed = True
    while changed:
        changed = False
        for cid, node in nodes.items():
            if cid in live:
                continue
            has_live_dependant = any(cid in edges[o] for o in live)
            open_extension_of_live = not node.closed and any(
                r == "extension" and t in live for t, r in edges[cid].items()
            )
            if (node.owned and cid in available) or has_live_dependant or open_extension_of_live:
                live.add(cid)
                changed = True
    return frozenset(live)


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, SyncNode]:
    n = draw(st.integers(min_value=0, max_value=9))
    ids = [f"c{i}" for i in range(n)]
    nodes: dict[str, SyncNode] = {}
    for cid in ids:
        indices = draw(
            st.lists(
                st.tuples(
                    st.sampled_from([*ids, "missing"]), st.sampled_from(["child", "extension"])
                ),
                max_size=3,
            )
            if ids
            else st.just([])
        )
        nodes[cid] = SyncNode(cid, draw(st.booleans()), draw(st.booleans()), tuple(indices))
    return nodes


@settings(max_examples=400, deadline=None)
@given(worlds())
def test_live_set_agrees_with_the_literal_definition(nodes: dict[str, SyncNode]) -> None:
    assert live_cases(nodes) == oracle(nodes)


@settings(max_examples=200, deadline=None)
@given(worlds())
def test_related_cases_partition_the_live_set(nodes: dict[str, SyncNode]) -> None:
    live = live_cases(nodes)
    related = related_cases(nodes)
    assert set(related) == live
    for cid, family in related.items():
        assert cid in family and family <= live
        assert all(related[other] == family for other in family)


def test_linear_on_a_large_world() -> None:
    """50k cases in households: 10 open extensions under a host, chains of children, closures."""
    nodes: dict[str, SyncNode] = {}
    for h in range(4_000):
        host = f"h{h}"
        nodes[host] = SyncNode(host, closed=h % 7 == 0, owned=h % 3 == 0)
        for e in range(10):
            ext = f"h{h}e{e}"
            nodes[ext] = SyncNode(ext, closed=e == 9, owned=e == 0, indices=((host, "extension"),))
        child = f"h{h}k"
        nodes[child] = SyncNode(child, closed=False, owned=h % 5 == 0, indices=((host, "child"),))
    chain = 5_000  # one long chain: each case the child of the previous; only the tail owned
    for i in range(chain):
        cid = f"k{i}"
        parent = (("k" + str(i - 1), "child"),) if i else ()
        nodes[cid] = SyncNode(cid, closed=i % 2 == 0, owned=i == chain - 1, indices=parent)
    assert len(nodes) > 50_000
    started = time.perf_counter()
    live = live_cases(nodes)
    elapsed = time.perf_counter() - started
    assert {f"k{i}" for i in range(chain)} <= live  # the tail pulls the whole chain
    assert elapsed < 2.0, f"live_cases took {elapsed:.2f}s on {len(nodes)} cases"


def test_hq_c_a_device_keeps_what_its_own_view_makes_live() -> None:
    from caseshare.core.sync import DeviceCase, device_holds

    view = {
        "open": DeviceCase(False, "user:1", {}),
        "closed": DeviceCase(True, "user:1", {}),
        "given_away": DeviceCase(False, "user:2", {}),
        "host": DeviceCase(True, "group:1", {}),
        "ext": DeviceCase(False, "user:1", {"host": ("host", "extension")}),
        "parent": DeviceCase(True, "user:2", {}),
        "kid": DeviceCase(False, "group:1", {"parent": ("parent", "child")}),
    }
    assert device_holds(view, ["user:1", "group:1"]) == {"open", "kid", "parent"}
    assert device_holds(view, ["user:2"]) == {"given_away"}
