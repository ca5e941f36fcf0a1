"""A session factory on each database in one run: SQLite always, PostgreSQL when configured
(skipped without it, failing in CI), for code whose SQL must agree on both.

    from tests.db_backends import both_databases_fixture  # noqa: F401  (fixture both_databases)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from core.db import create_engine, create_session_factory
from core.models import Base
from tests import conftest, services


@pytest.fixture(name="both_databases", params=["sqlite", "postgresql"])
async def both_databases_fixture(
    request: pytest.FixtureRequest, postgres_database: str | None, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'both.sqlite3'}"
        engine = create_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
    else:
        if postgres_database is None:
            services.require_postgres_url()  # skips (or fails in CI)
        url = str(postgres_database)
        cleaner = create_async_engine(url)
        await conftest._truncate(cleaner)
        await cleaner.dispose()
        engine = create_engine(url)
    yield create_session_factory(engine)
    await engine.dispose()
