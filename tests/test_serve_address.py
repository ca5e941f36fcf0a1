"""`qanagat serve` prints the links of the address it really listens on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from click.testing import CliRunner

from qanagat.cli import main


@pytest.fixture
def listening(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Where the server would listen; `run_app` records instead of serving."""
    seen: dict[str, Any] = {}

    def run_app(_app: web.Application, **kwargs: Any) -> None:
        seen.update(kwargs)

    monkeypatch.setattr(web, "run_app", run_app)
    monkeypatch.setenv("QANAGAT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/x.sqlite3")
    monkeypatch.delenv("QANAGAT_PUBLIC_URL", raising=False)
    monkeypatch.delenv("QANAGAT_TELEGRAM_TOKEN", raising=False)
    return seen


def test_the_printed_links_follow_the_port_of_the_environment(
    listening: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QANAGAT_PORT", "9123")
    result = CliRunner().invoke(main, ["serve", "--no-bot"])
    assert result.exit_code == 0, result.output
    assert listening["port"] == 9123
    assert "http://127.0.0.1:9123/healthz" in result.output
    assert ":8080" not in result.output


def test_the_command_line_port_wins_and_a_public_url_is_kept(
    listening: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    everywhere = "0.0.0.0"  # noqa: S104 (what an operator types in a container)
    result = CliRunner().invoke(main, ["serve", "--no-bot", "--host", everywhere, "--port", "7001"])
    assert result.exit_code == 0, result.output
    assert (listening["host"], listening["port"]) == (everywhere, 7001)
    assert "http://127.0.0.1:7001/healthz" in result.output

    monkeypatch.setenv("QANAGAT_PUBLIC_URL", "https://qanagat.example.kz")
    monkeypatch.setenv("QANAGAT_SECRET_KEY", "x" * 48)
    result = CliRunner().invoke(main, ["serve", "--no-bot", "--port", "7002"])
    assert result.exit_code == 0, result.output
    assert "https://qanagat.example.kz/healthz" in result.output
