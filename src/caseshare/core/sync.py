"""The S-SYNC-1 live set: which cases a field device holds after a restore (CommCare's rule)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from caseshare.core.casexml import CaseBlock

CHILD: Final = "child"
EXTENSION: Final = "extension"


@dataclass(frozen=True)
class SyncNode:
    """What the live-set computation needs to know about one case.

    ``indices`` holds one ``(referenced case id, relationship)`` pair per index the case has,
    relationship ``"child"`` or ``"extension"``; ``owned`` means the case's owner is one of the
    syncing user's owner ids (S-OWN-1).
    """

    case_id: str
    closed: bool
    owned: bool
    indices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _Graph:
    """Indices resolved once: per case, the cases it points to and the cases pointing at it."""

    #: case -> {referenced case: relationship}, one edge per referenced case (child wins)
    out: dict[str, dict[str, str]]
    #: referenced case -> cases indexing it as their host (extension edges only)
    extensions_of: dict[str, list[str]]


def _resolve(nodes: Mapping[str, SyncNode]) -> _Graph:
    """One edge per (case, referenced case); an index to a case that does not exist is ignored.

    A case indexing the same case both as child and as extension counts only as its child.
    """
    out: dict[str, dict[str, str]] = {}
    for case_id, node in nodes.items():
        edges: dict[str, str] = {}
        for target, relationship in node.indices:
            if target == case_id or target not in nodes:
                continue
            if relationship == CHILD or edges.get(target) == CHILD:
                edges[target] = CHILD
            elif relationship == EXTENSION:
                edges[target] = EXTENSION
        out[case_id] = edges
    extensions_of: dict[str, list[str]] = {}
    for case_id, edges in out.items():
        for target, relationship in edges.items():
            if relationship == EXTENSION:
                extensions_of.setdefault(target, []).append(case_id)
    return _Graph(out=out, extensions_of=extensions_of)


def _available(nodes: Mapping[str, SyncNode], graph: _Graph) -> set[str]:
    """Open and not an extension, or open and the extension of an available case.

    A case with any child index is not an extension here, whatever else it indexes.
    """
    available: set[str] = set()
    queue: deque[str] = deque()
    for case_id, node in nodes.items():
        relationships = graph.out[case_id].values()
        is_extension = EXTENSION in relationships and CHILD not in relationships
        if not node.closed and not is_extension:
            available.add(case_id)
            queue.append(case_id)
    while queue:
        host = queue.popleft()
        for extension in graph.extensions_of.get(host, ()):
            if extension not in available and not nodes[extension].closed:
                available.add(extension)
                queue.append(extension)
    return available


#: how a live case was reached from the one before it on its route (``live_routes``)
OWNED: Final = "owned"  # the route's first case: owned and available
PARENT: Final = "parent"  # the case before indexes this one as its parent (child index)
HOST: Final = "host"  # the case before indexes this one as its host (extension index)
EXTENSION_OF: Final = "extension"  # this case is an open extension of the case before


def _live(
    nodes: Mapping[str, SyncNode], graph: _Graph, available: set[str]
) -> dict[str, tuple[str | None, str]]:
    """The least set closed under the S-SYNC-1 rules, by one breadth-first pass over the edges.

    Each live case maps to the case it was first reached from and how (``OWNED`` for the
    owned cases it starts from): following these back gives a shortest route from a case the
    user owns.
    """
    live: dict[str, tuple[str | None, str]] = {
        case_id: (None, OWNED)
        for case_id, node in nodes.items()
        if node.owned and case_id in available
    }
    queue: deque[str] = deque(live)
    while queue:
        case_id = queue.popleft()
        # Whatever a live case indexes (parent or host, open or closed) is live.
        found: Iterable[tuple[str, str]] = (
            (target, PARENT if relationship == CHILD else HOST)
            for target, relationship in graph.out[case_id].items()
        )
        # An open extension of a live case is live.
        extensions = (
            (e, EXTENSION_OF) for e in graph.extensions_of.get(case_id, ()) if not nodes[e].closed
        )
        for other, step in (*found, *extensions):
            if other not in live:
                live[other] = (case_id, step)
                queue.append(other)
    return live


def live_cases(nodes: Mapping[str, SyncNode]) -> frozenset[str]:
    """The cases a device must hold (S-SYNC-1), in time linear in cases plus indices.

    *available* = open and not an extension, or open and the extension of an available case;
    *live* = owned and available, or has a live child, or has a live extension, or is an open
    extension of a live case. Closed parents and hosts of live cases are live, so they are sent.
    """
    graph = _resolve(nodes)
    return frozenset(_live(nodes, graph, _available(nodes, graph)))


def live_routes(nodes: Mapping[str, SyncNode]) -> dict[str, tuple[tuple[str, str], ...]]:
    """``live_cases`` with, for each live case, a shortest route to it from an owned case:
    ``((owned case, OWNED), (next case, PARENT | HOST | EXTENSION_OF), …, (the case, …))``.

    This is why the case is on the user's device, as explain says it (row cause ``sync``).
    """
    graph = _resolve(nodes)
    came_from = _live(nodes, graph, _available(nodes, graph))
    routes: dict[str, tuple[tuple[str, str], ...]] = {}
    for case_id in came_from:
        route: list[tuple[str, str]] = []
        at: str | None = case_id
        while at is not None:
            before, step = came_from[at]
            route.append((at, step))
            at = before
        routes[case_id] = tuple(reversed(route))
    return routes


def related_cases(
    nodes: Mapping[str, SyncNode], live: Iterable[str] | None = None
) -> dict[str, frozenset[str]]:
    """For each live case, the live cases connected to it through indices (either direction).

    This is the case "family" a device holds together: the cases one cannot be restored or
    dropped without. ``live`` defaults to ``live_cases(nodes)``; indices to cases outside it are
    not followed, and a double child/extension index counts once, as child.
    """
    graph = _resolve(nodes)
    members = set(live_cases(nodes) if live is None else live) & nodes.keys()
    neighbours: dict[str, set[str]] = {case_id: set() for case_id in members}
    for case_id in members:
        for target in graph.out[case_id]:
            if target in members:
                neighbours[case_id].add(target)
                neighbours[target].add(case_id)
    result: dict[str, frozenset[str]] = {}
    for start in members:
        if start in result:
            continue
        component = {start}
        queue: deque[str] = deque([start])
        while queue:
            for other in neighbours[queue.popleft()]:
                if other not in component:
                    component.add(other)
                    queue.append(other)
        frozen = frozenset(component)
        for case_id in component:
            result[case_id] = frozen
    return result


@dataclass(frozen=True)
class DeviceCase:
    """A case as a device knows it: what its last restore sent and its own forms did since.

    ``owner``: the case's owner id; ``indices``: identifier -> (case id, relationship).
    """

    closed: bool
    owner: str
    indices: Mapping[str, tuple[str, str]]


def device_holds(cases: Mapping[str, DeviceCase], owner_ids: Iterable[str]) -> frozenset[str]:
    """The cases a device keeps of those it knows: the S-SYNC-1 live set over its own view, with
    the owner ids of its last restore (its ``user-groups`` fixture).

    This is how CommCare HQ prunes a sync log after the device's own form (and how the device
    purges its own store): a case the form closed, created closed, gave away, or whose host it
    closed leaves, unless a case the device still needs indexes it. Cases another user changed
    meanwhile keep what the device last knew of them, so the next restore tells it about them.
    """
    owners = set(owner_ids)
    nodes = {
        case_id: SyncNode(case_id, c.closed, c.owner in owners, tuple(c.indices.values()))
        for case_id, c in cases.items()
    }
    return live_cases(nodes)


def after_own_form(
    cases: Mapping[str, DeviceCase],
    owner_ids: Iterable[str],
    blocks: Iterable[CaseBlock],
    new_owners: Mapping[str, str],
) -> dict[str, DeviceCase]:
    """What a device holds after its own form (S-SYNC-2, as CommCare HQ updates its sync log):
    each block changes the device's view of its case — closed, the owner it names (canonical
    text), indices added or removed — and then only what ``device_holds`` keeps stays.

    ``new_owners`` gives the owner the server chose (S-CRT-2) for cases the device did not know
    and whose blocks name none.
    """
    view = dict(cases)
    for block in blocks:
        known = view.get(block.case_id)
        owner = known.owner if known is not None else new_owners.get(block.case_id, "")
        for named in (
            block.create.owner_id if block.create else None,
            (block.update or {}).get("owner_id"),
        ):
            if named:
                owner = named
        indices = dict(known.indices) if known is not None else {}
        for index in block.indices:
            if index.deletes:
                indices.pop(index.identifier, None)
            else:
                indices[index.identifier] = (index.referenced_id, index.relationship)
        closed = (known is not None and known.closed) or block.close
        view[block.case_id] = DeviceCase(closed, owner, indices)
    holds = device_holds(view, owner_ids)
    return {case_id: c for case_id, c in view.items() if case_id in holds}
