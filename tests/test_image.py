"""The production image: what it installs, what it leaves out, and the code version it records."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from qanagat import version

ROOT = Path(__file__).parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
DEV_TOOLS = ["playwright", "mypy", "pytest", "schemathesis", "ruff", "zxing-cpp", "hypothesis"]


def pins(lock: str) -> dict[str, str]:
    """name -> version of a hashed lock; every pin must carry hashes."""
    text = (ROOT / lock).read_text()
    entries = re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)((?: \\\n\s+--hash=\S+)+)", text, re.M)
    named = re.findall(r"^([A-Za-z0-9_.\-]+)==", text, re.M)
    assert len(entries) == len(named), f"{lock}: a pin without --hash"
    return {canonicalize_name(name): pinned for name, pinned, _ in entries}


RUNTIME = pins("requirements.lock")
DEV = pins("requirements-dev.lock")


def test_the_runtime_lock_has_no_dev_tool() -> None:
    dev_extra = {
        canonicalize_name(Requirement(r).name)
        for r in PYPROJECT["project"]["optional-dependencies"]["dev"]
    }
    assert set(DEV_TOOLS) <= dev_extra | {"pytest"}
    leaked = sorted((set(DEV_TOOLS) | dev_extra) & set(RUNTIME))
    assert not leaked, f"requirements.lock installs dev tools: {leaked}"


@pytest.mark.parametrize(
    ("lock", "extras"),
    [("requirements.lock", ["dependencies"]), ("requirements-dev.lock", ["dependencies", "dev"])],
)
def test_a_lock_satisfies_pyproject(lock: str, extras: list[str]) -> None:
    locked = pins(lock)
    project = PYPROJECT["project"]
    wanted = [
        Requirement(line)
        for extra in extras
        for line in (
            project[extra] if extra == "dependencies" else project["optional-dependencies"][extra]
        )
    ]
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{lock} lacks {requirement}"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{lock}: {name}=={locked[name]} does not satisfy {requirement}"
        )


def test_both_locks_pin_the_same_versions_and_come_from_one_command() -> None:
    differing = {
        name: (RUNTIME[name], DEV[name]) for name in RUNTIME if DEV.get(name) != RUNTIME[name]
    }
    assert not differing, f"the locks disagree: {differing}"
    makefile = (ROOT / "Makefile").read_text()
    assert "-o requirements.lock" in makefile and "-o requirements-dev.lock" in makefile
    for lock in ("requirements.lock", "requirements-dev.lock"):
        header = (ROOT / lock).read_text().splitlines()[1]
        assert "uv pip compile pyproject.toml --generate-hashes" in header, header


def test_the_image_leaves_out_secrets_environments_history_and_data() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def excluded(path: str) -> bool:
        verdict = False
        for pattern in ignored:
            negated = pattern.startswith("!")
            bare = pattern.lstrip("!").rstrip("/")
            if (
                fnmatch(path, bare)
                or fnmatch(path, bare + "/*")
                or fnmatch(path.split("/")[-1], bare)
            ):
                verdict = not negated
        return verdict

    for path in [
        ".env",
        ".venv/bin/python",
        ".git/HEAD",
        "var/qanagat.sqlite3",
        "tests/artifacts/x.png",
        ".pytest_cache/v",
    ]:
        assert excluded(path), path
    for path in ["core/settings.py", "requirements.lock", "pyproject.toml", ".env.example"]:
        assert not excluded(path), path


def test_the_dockerfile_installs_the_runtime_lock_as_a_plain_user_with_the_commit() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "-r requirements.lock" in dockerfile and "requirements-dev.lock" not in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in {"root", "0"}
    assert "ARG QANAGAT_BUILD_COMMIT" in dockerfile
    assert "ENV QANAGAT_BUILD_COMMIT=${QANAGAT_BUILD_COMMIT}" in dockerfile


def test_a_built_image_records_its_commit_in_the_code_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QANAGAT_BUILD_COMMIT", "0123456789abcdef")
    for cached in (version.build_commit, version.code_version):
        cached.cache_clear()
    try:
        assert version.code_version() == f"{version.release()}+0123456789ab"
    finally:
        for cached in (version.build_commit, version.code_version):
            cached.cache_clear()
