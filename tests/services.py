"""External services for tests (PostgreSQL), shared by the test modules.

Policy: QANAGAT_TEST_DATABASE_URL unset -> PostgreSQL tests are skipped, unless
QANAGAT_TEST_REQUIRE_SERVICES=1 (CI), then they fail. Set but unreachable -> they fail with a
message naming the server, never skip. Each test gets a throwaway database of its own.

    @pytest.fixture
    async def pg_url() -> AsyncIterator[str]:
        async with postgres_database("qanagat_mytest") as url:
            yield url
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import URL, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

DATABASE_URL_VAR = "QANAGAT_TEST_DATABASE_URL"
REQUIRE_SERVICES_VAR = "QANAGAT_TEST_REQUIRE_SERVICES"
CONNECT_TIMEOUT_SECONDS = 10

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,40}")


def postgres_url() -> str | None:
    """The PostgreSQL test server's URL (its maintenance database), or None when not configured."""
    return os.environ.get(DATABASE_URL_VAR, "").strip() or None


def require_services() -> bool:
    """True when missing test services must fail the tests instead of skipping them (CI)."""
    return os.environ.get(REQUIRE_SERVICES_VAR, "").strip().lower() in {"1", "true", "yes"}


def require_postgres_url() -> str:
    """The PostgreSQL URL, or skip the test (fail it when services are required)."""
    url = postgres_url()
    if url is None:
        message = f"{DATABASE_URL_VAR} is not set: PostgreSQL tests need a server"
        if require_services():
            pytest.fail(f"{message} ({REQUIRE_SERVICES_VAR}=1)", pytrace=False)
        pytest.skip(message)
    return url


def redacted(url: str | URL) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def _admin_engine(url: URL) -> AsyncEngine:
    connect_args: dict[str, object] = {}
    if url.get_driver_name() == "asyncpg":
        connect_args["timeout"] = CONNECT_TIMEOUT_SECONDS
    # NullPool: no connection outlives a call, so create and drop may run on different loops.
    return create_async_engine(
        url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args=connect_args
    )


async def create_database(
    base_url: str, prefix: str = "qanagat_test"
) -> tuple[str, Callable[[], Awaitable[None]]]:
    """Create an empty database `<prefix>_<random>` on the server of `base_url`.

    Returns its URL (same server, user and driver) and an async cleanup that drops it, also
    when connections to it are still open. An unreachable server fails the test.
    """
    if not _IDENTIFIER.fullmatch(prefix):
        raise ValueError(f"database name prefix must be a short lowercase identifier: {prefix!r}")
    base = make_url(base_url)
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = _admin_engine(base)
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL at {redacted(base)} ({DATABASE_URL_VAR}) is unreachable or refused "
            f"CREATE DATABASE: {type(exc).__name__}: {exc}",
            pytrace=False,
        )

    async def drop() -> None:
        async with admin.connect() as connection:
            # WITH (FORCE) (PostgreSQL 13+) ends sessions a test left open.
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return base.set(database=name).render_as_string(hide_password=False), drop


@asynccontextmanager
async def postgres_database(prefix: str = "qanagat_test") -> AsyncIterator[str]:
    """A throwaway PostgreSQL database for one test (skip/fail policy applied), dropped after."""
    url, drop = await create_database(require_postgres_url(), prefix)
    try:
        yield url
    finally:
        await drop()
