"""YAML loading that remembers the line of every node, so errors can say `file:line`."""

from __future__ import annotations

import re
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: `yes`, `no`, `on`, `off` stay strings (choice names)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class YamlSyntaxError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def load_with_lines(text: str) -> tuple[Any, dict[Path_, int]]:
    """Parse YAML (safe subset) into plain data and a map from node paths to 1-based lines."""
    try:
        node = yaml.compose(text, Loader=_Yaml12Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise YamlSyntaxError(f"YAML syntax: {error.problem or error}", line) from error
    except yaml.YAMLError as error:
        raise YamlSyntaxError(f"YAML syntax: {error}", 1) from error
    lines: dict[Path_, int] = {}
    if node is None:
        return None, lines
    return _construct(node, (), lines), lines


def _construct(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in result:
                raise YamlSyntaxError(f"duplicate key {key!r}", key_node.start_mark.line + 1)
            result[key] = _construct(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, index), lines) for index, item in enumerate(node.value)]
    return _Yaml12Loader("").construct_object(node, deep=True)


def line_of(path: Path_, lines: dict[Path_, int]) -> int:
    """The line of the deepest known node on `path` (a missing key points at its parent)."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1
