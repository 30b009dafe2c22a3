"""Safe YAML reading that remembers the line of every mapping and list entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class LDict(dict[str, Any]):
    """A mapping that knows its line and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]


class LList(list[Any]):
    """A list that knows its line and the line of each item."""

    line: int = 0
    item_lines: list[int]


class ScenarioError(Exception):
    """An invalid scenario file: the line, the SPEC §14 code and the reason."""

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.code}: {self.message}"


def _convert(node: yaml.Node, seen: set[int]) -> Any:
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        # an alias (*name) of a list or mapping is the node it names, met again: expanding each
        # would let nine lines grow into billions of items ("billion laughs")
        if id(node) in seen:
            raise ScenarioError(
                "validation_error",
                "an alias (*name) repeats a list or mapping; write each one out instead.",
                node.start_mark.line + 1,
            )
        seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        out = LDict()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, seen)
            out[str(key)] = _convert(value_node, seen)
            out.key_lines[str(key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = LList(_convert(item, seen) for item in node.value)
        seq.line = node.start_mark.line + 1
        seq.item_lines = [item.start_mark.line + 1 for item in node.value]
        return seq
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


_TOO_DEEP = "lists and mappings are nested too deeply; a scenario needs a few levels."


def load(text: str) -> Any:
    """Parse YAML safely (no tags beyond the standard ones, no aliases of lists or mappings),
    keeping line numbers."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ScenarioError("validation_error", f"not valid YAML: {exc}", line) from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise ScenarioError("validation_error", _TOO_DEEP) from None
    if node is None:
        raise ScenarioError("validation_error", "the file is empty", 1)
    try:
        return _convert(node, set())
    except yaml.YAMLError as exc:
        raise ScenarioError("validation_error", f"not valid YAML: {exc}") from None
    except RecursionError:
        raise ScenarioError("validation_error", _TOO_DEEP) from None


def read_text(path: Path) -> str:
    """A scenario file's text: UTF-8, else ``ScenarioError`` naming the first bad byte."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ScenarioError(
            "validation_error",
            f"the file is not UTF-8 text (byte {exc.start} is not valid UTF-8); save it as UTF-8.",
            line,
        ) from None


def line_of(container: Any, index: int | str | None = None) -> int | None:
    """The line of an entry (by index or key) or of the container itself, when known."""
    if (
        isinstance(container, LList)
        and isinstance(index, int)
        and index < len(container.item_lines)
    ):
        return container.item_lines[index]
    if isinstance(container, LDict) and isinstance(index, str) and index in container.key_lines:
        return container.key_lines[index]
    return getattr(container, "line", None) or None
