"""Safe YAML reading that remembers the line of every mapping and list entry."""

from __future__ import annotations

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


def _convert(node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        out = LDict()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = _convert(key_node)
            out[str(key)] = _convert(value_node)
            out.key_lines[str(key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = LList(_convert(item) for item in node.value)
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


def load(text: str) -> Any:
    """Parse YAML safely (no tags beyond the standard ones), keeping line numbers."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ScenarioError("validation_error", f"not valid YAML: {exc}", line) from None
    if node is None:
        raise ScenarioError("validation_error", "the file is empty", 1)
    try:
        return _convert(node)
    except yaml.YAMLError as exc:
        raise ScenarioError("validation_error", f"not valid YAML: {exc}") from None


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
