"""Configuration from the environment: every variable is `QANAGAT_<FIELD>`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "dev-only-secret-change-me-in-production-0123456789"  # noqa: S105 (refused outside development, see qanagat serve)


class Settings(BaseSettings):
    """Everything the processes need; defaults give the embedded single-machine setup."""

    model_config = SettingsConfigDict(env_prefix="QANAGAT_", env_file=".env", extra="ignore")

    database_url: str = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'qanagat.sqlite3'}"
    redis_url: str | None = None
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    public_url: str = "http://127.0.0.1:8080"
    host: str = "127.0.0.1"
    port: int = 8080
    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_secret: SecretStr | None = None
    telegram_mode: str = Field(default="polling", pattern="^(polling|webhook)$")
    telegram_bot_username: str = "QanagatBot"
    survey_dir: Path = PROJECT_ROOT / "survey_definitions"
    default_survey: str = "post_service"
    address_retention_days: int = Field(default=30, ge=1)
    worker_interval_s: int = Field(default=3600, ge=1)
    delivery_rate_per_s: float = Field(default=25.0, gt=0, le=1000)
    delivery_per_chat_interval_s: float = Field(default=1.0, ge=0)
    delivery_max_attempts: int = Field(default=8, ge=1)
    delivery_lease_s: float = Field(default=60.0, ge=1)
    delivery_poll_s: float = Field(default=5.0, gt=0)
    log_level: str = "INFO"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def uses_dev_secret(self) -> bool:
        return self.secret_key.get_secret_value() == DEV_SECRET

    def secret_bytes(self) -> bytes:
        return self.secret_key.get_secret_value().encode()
