"""Command-line and configuration conventions: `qanagat --version` (the release from git tags,
else pyproject's, named in the CHANGELOG), `python -m qanagat`, `.env.example` listing every
setting with its default as the settings class and README's table do, and a pre-commit
configuration running `make lint`'s checks."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from core.settings import PROJECT_ROOT, Settings
from qanagat import version
from qanagat.cli import main

ROOT = Path(__file__).parent.parent
SETTINGS = {f"QANAGAT_{name.upper()}": field for name, field in Settings.model_fields.items()}
REQUIRED_IN_COMPOSE = {
    "QANAGAT_SECRET_KEY",
    "QANAGAT_PUBLIC_URL",
    "QANAGAT_TELEGRAM_WEBHOOK_SECRET",
}


def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    found = [re.fullmatch(r"#? ?(QANAGAT_[A-Z0-9_]+)=(.*)", line) for line in lines]
    names = [m.group(1) for m in found if m]
    assert len(names) == len(set(names)), "a variable listed twice"
    return {m.group(1): m.group(2) for m in found if m}


def shown(default: Any) -> str:
    """A default as .env.example writes it."""
    if default is None:
        return ""
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default)


def test_version_names_the_release_of_the_changelog() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert re.fullmatch(r"qanagat \d+\.\d+\.\d+(\+[0-9a-f]{7,12})?\n", result.output), result.output
    releases = re.findall(r"^## (\d+\.\d+\.\d+)", (ROOT / "CHANGELOG.md").read_text(), re.M)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert releases and releases[0] == pyproject
    assert result.output.split()[1].startswith(version.release())


def test_the_release_comes_from_the_newest_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"describe": "v0.3.1", "rev-parse": "abcdef123456"}
    monkeypatch.setattr(version, "_git", lambda *args: answers[args[0]])
    monkeypatch.setenv("QANAGAT_BUILD_COMMIT", "")
    for cached in (version.release, version.build_commit, version.code_version):
        cached.cache_clear()
    try:
        assert version.code_version() == "0.3.1+abcdef123456"
    finally:
        for cached in (version.release, version.build_commit, version.code_version):
            cached.cache_clear()


def test_python_dash_m_qanagat_is_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qanagat", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("qanagat ")


def test_env_example_lists_every_setting_with_its_default() -> None:
    listed = env_example()
    assert set(listed) == set(SETTINGS), (set(SETTINGS) - set(listed), set(listed) - set(SETTINGS))
    for name, value in listed.items():
        if name in REQUIRED_IN_COMPOSE:
            assert value, name
            continue
        default = SETTINGS[name].default
        expected = shown(default).replace(str(PROJECT_ROOT), "<checkout>")
        assert value == expected, (
            f"{name}: .env.example says {value!r}, the default is {expected!r}"
        )


def test_only_the_required_values_are_set_in_env_example() -> None:
    text = (ROOT / ".env.example").read_text()
    active = set(re.findall(r"(?m)^(QANAGAT_[A-Z_]+)=", text))
    assert active == REQUIRED_IN_COMPOSE
    assert re.search(r"(?m)^POSTGRES_PASSWORD=", text)


def test_readme_s_table_lists_the_same_settings() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Configuration") : readme.index("## Commands")]
    rows = [line for line in section.splitlines() if line.startswith("| `QANAGAT_")]
    named = {
        name for row in rows for name in re.findall(r"`(QANAGAT_[A-Z0-9_]+)`", row.split("|")[1])
    }
    assert named == set(SETTINGS), (set(SETTINGS) - named, named - set(SETTINGS))


def test_pre_commit_runs_the_checks_of_make_lint() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    lint = [
        line.strip().removeprefix("$(BIN)/").removesuffix(" .") for line in recipe.splitlines()[1:]
    ]
    assert lint == ["ruff format --check", "ruff check"]
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    entries = [
        hook["entry"].removeprefix(".venv/bin/")
        for repo in config["repos"]
        for hook in repo["hooks"]
    ]
    for command in [*lint, "mypy"]:
        assert command in entries, command


def test_a_progress_bar_shows_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from qanagat.progress import progress_bar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar("checking the chain", 4) as advance:
        for _ in range(4):
            advance(1)
    assert "checking the chain" in terminal.getvalue()
    assert "100%" in terminal.getvalue()
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    with progress_bar("checking the chain", 4) as advance:
        advance(4)
    assert piped.getvalue() == ""  # scripts reading the output see the same lines as before


async def test_an_import_shows_its_progress_on_a_terminal_and_stores_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import io

    from qanagat.file_import import import_checked

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'import.sqlite3'}")
    stored: list[list[int]] = []

    async def check(_session: object) -> list[int]:
        return [1, 2, 3]

    async def store(_session: object, rows: list[int]) -> int:
        stored.append(rows)
        return len(rows)

    assert await import_checked(settings, "register.csv", check, store) == 3
    assert stored == [[1, 2, 3]]
    assert "importing register.csv" in terminal.getvalue() and "100%" in terminal.getvalue()
