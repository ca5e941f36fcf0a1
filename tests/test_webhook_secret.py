"""Webhook mode never runs unsigned: without a secret of at least 32 characters (that Telegram
can send) the server refuses to start, naming the variable to set; docker-compose requires it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from core.settings import Settings
from qanagat.app import build_app
from qanagat.cli import main
from tests.conftest import SURVEYS

ROOT = Path(__file__).parent.parent
GOOD = "A" * 16 + "b-_9" * 4


def webhook_settings(secret: str | None) -> Settings:
    return Settings(
        telegram_token="100000:TEST-TOKEN",  # type: ignore[arg-type]
        telegram_mode="webhook",
        telegram_webhook_secret=secret,  # type: ignore[arg-type]
        database_url="sqlite+aiosqlite:///:memory:",
    )


@pytest.mark.parametrize(
    "secret", [None, "", "short", "x" * 31, "has spaces in it and is long enough!!", "é" * 40]
)
def test_webhook_mode_without_a_usable_secret_does_not_start(secret: str | None) -> None:
    from bot.telegram.runner import WebhookSecretProblem

    with pytest.raises(WebhookSecretProblem, match="QANAGAT_TELEGRAM_WEBHOOK_SECRET"):
        build_app(webhook_settings(secret), surveys=SURVEYS)


def test_webhook_mode_with_a_long_secret_starts() -> None:
    assert len(GOOD) == 32
    build_app(webhook_settings(GOOD), surveys=SURVEYS)


def test_serve_names_the_variable_and_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QANAGAT_TELEGRAM_TOKEN", "100000:TEST-TOKEN")
    monkeypatch.setenv("QANAGAT_TELEGRAM_MODE", "webhook")
    monkeypatch.setenv("QANAGAT_TELEGRAM_WEBHOOK_SECRET", "too-short")
    monkeypatch.setenv("QANAGAT_DATABASE_URL", "sqlite+aiosqlite:///:memory:")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1
    assert "QANAGAT_TELEGRAM_WEBHOOK_SECRET" in result.output
    assert "does not start" in result.output


def test_docker_compose_requires_the_webhook_secret() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    value = compose["x-qanagat"]["environment"]["QANAGAT_TELEGRAM_WEBHOOK_SECRET"]
    assert value.startswith("${QANAGAT_TELEGRAM_WEBHOOK_SECRET:?"), value
