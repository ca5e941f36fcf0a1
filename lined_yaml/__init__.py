"""YAML 1.2 loading that remembers the line of every node, so errors can say `file:line`.

The one reader of the project's own YAML files (methodologies, survey definitions): a leaf that
imports nothing of the project, so scoring and the survey engine may both use it and read a
number the same way.

Safe subset only (no tags that build objects). Booleans are YAML 1.2's `true`/`false` only, so a key
named `no` or `on` stays a string; integers are plain decimals (`010` is ten, not eight; no
sexagesimal `1:20`); floats accept exponents without a dot (`1e-4`). Weights written as fractions
(`1/3`) stay strings and are read by the formula language.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_REPLACED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema booleans, integers and floats."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _REPLACED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
_Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789"))


def _scalar_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    value = loader.construct_scalar(node)  # type: ignore[arg-type]
    return str(value)


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    return int(_scalar_text(loader, node), 10)


def _construct_float(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    text = _scalar_text(loader, node).lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text == ".nan":
        return float("nan")
    return float(text)


_Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Yaml12Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)


class YamlSyntaxError(ValueError):
    """The text is not YAML (or repeats a key); `line` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def load_with_lines(text: str) -> tuple[Any, dict[Path_, int]]:
    """Parse YAML into plain data and a map from node paths to 1-based lines.

    A mapping key's path maps to the line of the key itself, so an error about a field points at
    the line where the field is written.
    """
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
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in result:
                raise YamlSyntaxError(f"duplicate key {key!r}", key_node.start_mark.line + 1)
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _construct(value_node, (*path, key), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, index), lines) for index, item in enumerate(node.value)]
    try:
        return _Yaml12Loader("").construct_object(node, deep=True)
    except yaml.YAMLError as error:
        raise YamlSyntaxError(f"YAML: {error}", node.start_mark.line + 1) from error


def line_of(path: Path_, lines: dict[Path_, int]) -> int:
    """The line of the deepest known node on `path` (a missing key points at its parent)."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1
