"""The arrows of the architecture hold: each top-level package imports only the packages its row
allows. `qanagat/` composes and nothing imports it; the citizen side (bot/) and the admin side
(admin/) never import each other; scoring and lined_yaml are leaves anyone may read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LEAVES = {"scoring", "lined_yaml"}
ALLOWED = {
    "lined_yaml": set(),
    "scoring": {"lined_yaml"},
    # core/migrate.py locates the Alembic scripts, which are data to it.
    "core": LEAVES | {"migrations"},
    "migrations": {"core"},
    "bot": LEAVES | {"core"},
    "admin": LEAVES | {"core"},
    "results": LEAVES | {"core"},
    "qanagat": LEAVES | {"core", "bot", "admin", "results", "migrations", "survey_definitions"},
}


def _imported_packages(package: str) -> dict[str, set[str]]:
    """Our top-level packages imported by each module of `package` (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: list[str] = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.append(node.module)
        tops = {name.split(".")[0] for name in names} & (set(ALLOWED) | {"survey_definitions"})
        found[str(path.relative_to(ROOT))] = tops - {package}
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_its_row_allows(package: str) -> None:
    wrong = {
        module: sorted(tops - ALLOWED[package])
        for module, tops in _imported_packages(package).items()
        if tops - ALLOWED[package]
    }
    assert wrong == {}
