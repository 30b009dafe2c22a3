"""Roles and locations as trees: in order, each with its depth, for lists and choices."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Node(Generic[T]):
    item: T
    depth: int


def as_tree(
    items: Iterable[T],
    key: Callable[[T], int],
    parent: Callable[[T], int | None],
    name: Callable[[T], str],
) -> list[Node[T]]:
    """Depth-first, children A→Z below their parent; an item whose parent is unknown is a top."""
    items = list(items)
    known = {key(i) for i in items}
    below: dict[int | None, list[T]] = {}
    for item in items:
        up = parent(item)
        below.setdefault(up if up in known else None, []).append(item)
    out: list[Node[T]] = []

    def walk(up: int | None, depth: int) -> None:
        for item in sorted(below.get(up, []), key=lambda i: name(i).casefold()):
            out.append(Node(item, depth))
            walk(key(item), depth + 1)

    walk(None, 0)
    return out


def indented(
    nodes: list[Node[T]], key: Callable[[T], int], name: Callable[[T], str]
) -> list[tuple[str, str]]:
    """(value, label) choices for a select, the depth shown by leading dashes."""
    return [(str(key(n.item)), "— " * n.depth + name(n.item)) for n in nodes]
