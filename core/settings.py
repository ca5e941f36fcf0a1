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
    # Connections each process may open to PostgreSQL: pool + overflow (docs/operations.md).
    database_pool_size: int = Field(default=20, ge=1, le=200)
    database_max_overflow: int = Field(default=5, ge=0, le=200)
    database_behind_pgbouncer: bool = False
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
    # Days after an invitation expires that its response stays linked to the delivered event.
    event_link_retention_days: int = Field(default=7, ge=0)
    worker_interval_s: int = Field(default=3600, ge=1)
    delivery_rate_per_s: float = Field(default=25.0, gt=0, le=1000)
    delivery_per_chat_interval_s: float = Field(default=1.0, ge=0)
    delivery_max_attempts: int = Field(default=8, ge=1)
    delivery_lease_s: float = Field(default=60.0, ge=1)
    delivery_poll_s: float = Field(default=5.0, gt=0)
    log_level: str = "INFO"
    # `json` in production: one JSON object per line with the request or update id.
    log_format: str = Field(default="text", pattern="^(text|json)$")
    # Where `qanagat worker` serves /healthz and /metrics.
    worker_host: str = "127.0.0.1"
    worker_port: int = Field(default=8090, ge=0, le=65535)  # 0: any free port
    # The commit the image was built from (a build argument; the image has no git).
    build_commit: str = ""
    # Response integrity (core/integrity, core/walk_ins.py)
    anti_gaming_rules: Path = PROJECT_ROOT / "core" / "integrity" / "rules.yaml"
    poster_grace_days: int = Field(default=1, ge=0, le=31)
    walk_in_limit_per_day: int = Field(default=1, ge=1)
    trusted_proxy_hops: int = Field(default=0, ge=0, le=5)
    # The admin web (docs/admin.md): session lifetimes, sign-in throttling, passwords.
    admin_session_idle_minutes: int = Field(default=30, ge=1)
    admin_session_absolute_hours: int = Field(default=12, ge=1)
    admin_login_max_failures: int = Field(default=5, ge=1)
    admin_login_window_minutes: int = Field(default=15, ge=1)
    admin_password_min_length: int = Field(default=12, ge=8)
    # Invitations and the integration API (docs/integration-api.md)
    invitation_cooldown_days: int = Field(default=7, ge=0)
    api_max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # Requests per minute from one network (docs/operations.md, Security): citizen entry pages
    # (/s, /o, /d, /app/session) and the integration API. A service centre's guest Wi-Fi is
    # one network for everyone in the hall: generous on purpose.
    public_requests_per_minute: int = Field(default=120, ge=1)
    api_requests_per_minute: int = Field(default=600, ge=1)
    # Where the open-data packages are kept once built (docs/open-results.md, "Open data").
    open_data_dir: Path = PROJECT_ROOT / "var" / "open-data"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def uses_dev_secret(self) -> bool:
        """The development default, or .env.example's placeholder left unchanged."""
        value = self.secret_key.get_secret_value()
        return value == DEV_SECRET or value.upper().startswith("CHANGE-ME")

    def secret_bytes(self) -> bytes:
        return self.secret_key.get_secret_value().encode()
