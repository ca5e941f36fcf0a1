"""Methodology files: find them, read them, refuse them with `file:line: what is wrong`.

    methodology = load_methodology("proposed-s30")         # a shipped file, by name
    methodology = load_methodology("my/draft.yaml")        # or any file, by path
    methodology.hash                                       # sha256 of the file's bytes

The file format is described in docs/methodology.md; the shipped files are in
scoring/methodologies/.
"""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lined_yaml import Path_, YamlSyntaxError, line_of, load_with_lines
from scoring.checks import build
from scoring.model import Methodology, MethodologyError, Problem
from scoring.schema import (
    ConstantSpec,
    GradeBandSpec,
    GradesSpec,
    InputSpecModel,
    MethodologyFile,
    NodeSpec,
    StepSpec,
    TableSpec,
)

__all__ = [
    "METHODOLOGY_DIR",
    "Methodology",
    "MethodologyError",
    "Problem",
    "available_methodologies",
    "load_methodology",
    "methodology_by_hash",
    "methodology_path",
    "parse_methodology",
]

METHODOLOGY_DIR = Path(__file__).parent / "methodologies"
ARCHIVE_DIR = METHODOLOGY_DIR / "archive"  # past versions, `NAME-HASH12.yaml`, byte for byte
_FIELDS: dict[str, set[str]] = {
    model.__name__: {info.alias or name for name, info in model.model_fields.items()}
    for model in (
        MethodologyFile,
        NodeSpec,
        GradesSpec,
        GradeBandSpec,
        InputSpecModel,
        ConstantSpec,
        TableSpec,
        StepSpec,
    )
}


def available_methodologies() -> list[str]:
    """Names of the shipped methodologies (the files in scoring/methodologies/)."""
    return sorted(path.stem for path in METHODOLOGY_DIR.glob("*.yaml"))


def methodology_path(name_or_path: str | Path) -> Path:
    """The file for a shipped methodology's name, or the path itself when it is a file."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        return candidate
    shipped = METHODOLOGY_DIR / f"{name_or_path}.yaml"
    if shipped.exists():
        return shipped
    names = available_methodologies()
    close = difflib.get_close_matches(str(name_or_path), names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; available: {', '.join(names)}"
    raise FileNotFoundError(f"no methodology named {str(name_or_path)!r}{hint}")


def _display(path: Path) -> str:
    """Shipped files are named from the repository root (scoring/methodologies/…)."""
    try:
        return str(path.resolve().relative_to(METHODOLOGY_DIR.parent.parent))
    except ValueError:
        return str(path)


def load_methodology(name_or_path: str | Path) -> Methodology:
    """Read and validate a methodology by shipped name (`kz-2020`) or by path."""
    path = methodology_path(name_or_path)
    return parse_methodology(path.read_bytes(), _display(path))


def methodology_by_hash(name: str, digest: str) -> Methodology | None:
    """The version of methodology `name` whose file hashed to `digest` (a stored run's
    `methodology_hash`): the shipped file, or a past version kept in the archive; None when
    neither has it. Past versions are read by the rules they were written under."""
    shipped = METHODOLOGY_DIR / f"{name}.yaml"
    if shipped.exists() and hashlib.sha256(shipped.read_bytes()).hexdigest() == digest:
        return load_methodology(shipped)
    for path in sorted(ARCHIVE_DIR.glob(f"{name}-{digest[:12]}*.yaml")):
        raw = path.read_bytes()
        if hashlib.sha256(raw).hexdigest() == digest:
            return parse_methodology(raw, _display(path), archived=True)
    return None


def parse_methodology(
    content: bytes | str, file: str = "<methodology>", *, archived: bool = False
) -> Methodology:
    """Validate a methodology file's content; raises MethodologyError listing every problem.

    `archived`: a past version kept to recompute stored runs, read by the rules of its time."""
    raw = content.encode("utf-8") if isinstance(content, str) else content
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MethodologyError([Problem(file, 1, "the file is not UTF-8 text")]) from error
    try:
        data, lines = load_with_lines(text)
    except YamlSyntaxError as error:
        raise MethodologyError([Problem(file, error.line, str(error))]) from error
    if not isinstance(data, dict):
        message = "a methodology file is a mapping with 'methodology', 'grades', 'inputs', 'tree'"
        raise MethodologyError([Problem(file, 1, message)])
    try:
        spec = MethodologyFile.model_validate(data, context={"archived": archived})
    except ValidationError as error:
        problems = [_problem(dict(item), data, lines, file) for item in error.errors()]
        unique = dict.fromkeys(sorted(problems, key=lambda p: (p.line, p.message)))
        raise MethodologyError(list(unique)) from error
    return build(spec, lines, file, digest)


# --- pydantic errors in the file's own words ---------------------------------------------------


def _problem(error: dict[str, Any], data: Any, lines: dict[Path_, int], file: str) -> Problem:
    loc = tuple(error["loc"])
    path = _data_path(loc, data)
    where, field, model = _where(loc)
    message = str(error["msg"]).removeprefix("Value error, ")
    kind = error["type"]
    if kind == "missing":
        text = f"'{field}' is missing"
    elif kind == "extra_forbidden":
        allowed = sorted(_FIELDS.get(model, set()))
        close = difflib.get_close_matches(str(field), allowed, n=1)
        text = f"unknown field '{field}'" + (f"; did you mean '{close[0]}'?" if close else "")
    else:
        message = message.removeprefix("Input ")
        text = f"'{field}' {message[0].lower()}{message[1:]}"
    return Problem(file, line_of(path, lines), f"{where}: {text}" if where else text)


def _tag(item: str) -> bool:
    """pydantic's names for union members and validators inside a location, not data keys."""
    return item.startswith("function-") or "[" in item or item in ("str", "int", "float", "bool")


def _data_path(loc: tuple[Any, ...], data: Any) -> Path_:
    """The longest prefix of a pydantic location that exists in the data (skips union tags)."""
    path: list[str | int] = []
    current = data
    for item in loc:
        inside_dict = isinstance(current, dict) and item in current
        inside_list = (
            isinstance(current, list) and isinstance(item, int) and 0 <= item < len(current)
        )
        if not (inside_dict or inside_list):
            if isinstance(current, dict) and isinstance(item, str) and not _tag(item):
                path.append(item)  # a missing field: line_of falls back to its parent
            break
        current = current[item]
        path.append(item)
    return tuple(path)


def _where(loc: tuple[Any, ...]) -> tuple[str, str, str]:
    """(who, which field, which model) for a pydantic location inside a methodology file."""
    clean = [item for item in loc if not (isinstance(item, str) and _tag(item))]
    if not clean:
        return "", "", "MethodologyFile"
    head = clean[0]
    if head == "tree" and len(clean) >= 2:
        node, rest = clean[1], clean[2:]
        while len(rest) >= 2 and rest[0] == "children":
            node, rest = rest[1], rest[2:]
        return f"node '{node}'", str(rest[0]) if rest else str(node), "NodeSpec"
    if head in ("inputs", "constants", "tables") and len(clean) >= 2:
        model = {"inputs": "InputSpecModel", "constants": "ConstantSpec", "tables": "TableSpec"}
        who = f"{head[:-1]} '{clean[1]}'"
        if head == "tables" and len(clean) >= 4 and clean[2] == "steps":
            return f"{who}, step {int(clean[3]) + 1}", str(clean[-1]), "StepSpec"
        return who, str(clean[2]) if len(clean) > 2 else str(clean[1]), model[head]
    if head == "grades" and len(clean) > 1:
        if len(clean) >= 3 and clean[1] == "bands":
            return f"grade band {int(clean[2]) + 1}", str(clean[-1]), "GradeBandSpec"
        return "grades", str(clean[-1]), "GradesSpec"
    return "", str(clean[-1]), "MethodologyFile"
